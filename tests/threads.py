"""Real concurrency in tests: one thread per worker, all started, all waited for."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_threads(work: Callable[[int], object], n: int, *, timeout_s: float = 120) -> None:
    """Run ``work(0)`` … ``work(n - 1)`` each in its own thread and wait for them all (at most ``timeout_s``
    each). Workers that must start at the same moment wait at a ``threading.Barrier(n)`` of their own; what
    they saw or raised they keep in the test's lists."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)

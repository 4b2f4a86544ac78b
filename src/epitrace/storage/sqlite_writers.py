"""One writer at a time on a SQLite file, handed over promptly.

SQLite lets one connection write at a time. A connection that finds the lock taken waits in SQLite's
busy handler, which sleeps and polls: 1, 2, 5 ... up to 100 ms between looks. With a team of tracers
every request is a writer (each access is audited), so the lock was often free while every waiter
slept, and a newcomer polling at 1 ms overtook writers that had waited for seconds: 50 tracers saw
p99 latencies of 9 s and stalls of 21 s (issue 11, point 6).

So writers queue before they ask SQLite: the threads of one process on a lock that wakes the next
one as soon as it is released, and the processes of one file (``serve --workers N``, a lab import
from the command line) on an ``flock`` of a lock file beside it, ``<database>-writer``, that only the
queue's head polls. SQLite's own lock still decides; this only orders who asks for it. A writer that
waits longer than the busy timeout is :class:`~epitrace.errors.Unavailable` (503, Retry-After).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from epitrace.errors import Unavailable
from epitrace.files import create_private

RETRY_AFTER_S = 5
_POLL_S = 0.0005


@dataclass
class Turn:
    """A write session's place in the queue: taken at its first BEGIN, given up when the session ends
    (its transaction, and the one that keeps refusals, have committed or rolled back)."""

    queue: WriterQueue | None = None

    def take(self, queue: WriterQueue, timeout_s: float) -> None:
        if self.queue is None:
            queue.enter(timeout_s)
            self.queue = queue

    def give_up(self) -> None:
        if self.queue is not None:
            self.queue.leave()
            self.queue = None


class WriterQueue:
    """The writers of one SQLite file in this process, and this process's place among the others."""

    def __init__(self, lock_path: Path | None) -> None:
        # A Lock, not an RLock: a request's session may begin in one worker thread and end in another.
        self._threads = threading.Lock()
        self._lock_path = lock_path
        self._fd: int | None = None

    def enter(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        if not self._threads.acquire(timeout=timeout_s):
            raise _busy(timeout_s)
        try:
            if self._lock_path is not None:
                self._lock_file(deadline, timeout_s)
        except BaseException:
            self._threads.release()
            raise

    def leave(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock_file(self, deadline: float, timeout_s: float) -> None:
        if self._fd is None:
            if not self._lock_path.exists():  # type: ignore[union-attr]
                create_private(self._lock_path)  # type: ignore[arg-type]
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CLOEXEC)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy(timeout_s) from None
                time.sleep(_POLL_S)  # only one thread per process polls: the head of this process's queue


_queues: dict[str, WriterQueue] = {}
_registry_lock = threading.Lock()


def queue_for(database: str | None) -> WriterQueue:
    """The one queue of this process for the SQLite database ``database`` (a path, or in-memory)."""
    on_disk = bool(database) and database != ":memory:" and not database.startswith("file:")  # type: ignore[union-attr]
    key = str(Path(database).resolve()) if on_disk else f"memory:{database}"  # type: ignore[arg-type]
    with _registry_lock:
        if key not in _queues:
            lock_path = Path(f"{key}-writer") if on_disk and Path(key).parent.is_dir() else None
            _queues[key] = WriterQueue(lock_path)
        return _queues[key]


def _busy(timeout_s: float) -> Unavailable:
    return Unavailable(f"the database is busy with other writers and this request waited {timeout_s:.0f} s for its "
                       "turn: try again in a few seconds", headers={"Retry-After": str(RETRY_AFTER_S)})

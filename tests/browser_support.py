"""A live epitrace server on 127.0.0.1 and Debian's Chromium, for the browser tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download does not work here: drive Debian's Chromium, quietly and offline.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@contextmanager
def live_server(app: FastAPI, *, timeout_s: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread on 127.0.0.1 and a free port; yield the base URL.

    The socket is bound here and handed to uvicorn, so no other process can take the port in between.
    Leaving the block asks the server to exit and waits for the thread.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # h11 and no websockets: the app needs neither extra, and both are picked explicitly so that an optional
    # package installed later cannot change (or warn about) the protocol stack under the tests.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-127.0.0.1:{port}",
                              daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the test server on 127.0.0.1:{port} stopped while starting; see the log above")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test server on 127.0.0.1:{port} did not start within {timeout_s} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the test server on 127.0.0.1:{port} did not stop within {timeout_s} s")


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's headless Chromium; fail in CI and skip elsewhere when it is not installed."""
    if not CHROMIUM.is_file():
        message = f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def assert_png(path: Path) -> None:
    """``path`` exists and holds a non-empty PNG image."""
    assert path.is_file(), f"screenshot {path} was not written"
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000, \
        f"screenshot {path} is not a non-empty PNG image ({len(data)} bytes)"

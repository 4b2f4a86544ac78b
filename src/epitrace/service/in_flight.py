"""How many requests one service process works on at once.

FastAPI runs every sync dependency and route in a pool of worker threads (40 by default). Requests that
wait for the database (SQLite's one writer, PostgreSQL's pool, the audit chain's lock) wait in a
thread; a request holding the database needs a thread again to finish (its route, then its commit).
With more requests waiting than threads, every thread held a waiter and the holder could not get one:
the process stalled until the waiters gave up 30 s later (50 tracers, issue 11, point 6).

:class:`RequestsInFlight` lets ``EPITRACE_MAX_REQUESTS_IN_FLIGHT`` requests in at a time and makes the
thread pool larger than that, so a request inside always finds a thread; the others wait their turn on
the event loop, in the order they came, holding no thread and no connection.
"""

from __future__ import annotations

import asyncio
import weakref

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from epitrace.settings import Settings


class RequestsInFlight:
    """A pure ASGI middleware: at most ``limit`` HTTP requests inside the app at once."""

    def __init__(self, app: ASGIApp, *, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or Settings.from_env().max_requests_in_flight
        # One semaphore per event loop: the server has one, but each test client runs its own.
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def _slots_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.limit)
            threads = anyio.to_thread.current_default_thread_limiter()  # this loop's pool
            threads.total_tokens = max(threads.total_tokens, self.limit + 1)
        return slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._slots_here():
            await self.app(scope, receive, send)

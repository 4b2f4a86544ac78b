"""Writers queue for a SQLite file, and a service process never fills its thread pool with waiters
(issue 11, point 6: 50 tracers once stalled a worker for 30 s)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import text

from epitrace.errors import Unavailable
from epitrace.service.in_flight import RequestsInFlight
from epitrace.storage import db
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.sqlite_writers import queue_for
from tests.backends import needs_sqlite

HOLDER = """
import sys
from epitrace.storage.sqlite_writers import queue_for
queue = queue_for(sys.argv[1])
queue.enter(5)
print("held", flush=True)
sys.stdin.readline()
queue.leave()
"""


@needs_sqlite("the writers' queue of a SQLite file")
def test_a_writer_in_another_process_holds_the_file_until_it_leaves(tmp_path: Path, monkeypatch) -> None:
    database = tmp_path / "queue.db"
    engine = make_engine(f"sqlite:///{database}")
    with write_session(engine) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(database)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:
        _wait_out(holder, engine, monkeypatch)
    engine.dispose()
    assert (tmp_path / "queue.db-writer").stat().st_mode & 0o777 == 0o600


def _wait_out(holder: subprocess.Popen, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
        started = time.monotonic()
        with pytest.raises(Unavailable) as busy, write_session(engine) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert 0.3 <= time.monotonic() - started < 3
        assert busy.value.headers == {"Retry-After": "5"}
        assert "busy with other writers" in str(busy.value)
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=10) == 0
        with write_session(engine) as session:  # its turn comes as soon as the other process left
            session.execute(text("INSERT INTO t VALUES (2)"))
        with write_session(engine) as session:
            assert session.execute(text("SELECT n FROM t")).scalars().all() == [2]  # the refused insert left nothing
    finally:
        holder.kill()


class Overlap:
    """How many threads were inside a block at once, at most."""

    def __init__(self) -> None:
        self.inside = self.most = 0
        self._lock = threading.Lock()

    @contextmanager
    def inside_for(self, seconds: float) -> Iterator[None]:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(seconds)
        yield
        with self._lock:
            self.inside -= 1


@needs_sqlite("the writers' queue of a SQLite file")
def test_threads_of_one_process_write_one_at_a_time_and_all_get_their_turn(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'threads.db'}")
    with write_session(engine) as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    overlap = Overlap()

    def writer(n: int) -> None:
        with write_session(engine) as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})  # its first statement: its turn
            with overlap.inside_for(0.005):
                pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with write_session(engine) as session:
        assert sorted(session.execute(text("SELECT n FROM t")).scalars()) == list(range(16))
    assert overlap.most == 1
    assert queue_for(str(tmp_path / "threads.db")) is queue_for(str(tmp_path / "." / "threads.db"))
    engine.dispose()


def _app_holding_a_lock_across_thread_hops(in_flight: int | None) -> FastAPI:
    """Each request takes one lock in its (threaded) dependency and gives it up in the dependency's
    exit, another thread hop later: the shape of a request's database session on SQLite."""
    app = FastAPI()
    database = threading.Lock()

    def session() -> Iterator[None]:
        database.acquire()
        try:
            yield
        finally:
            database.release()

    @app.get("/work")
    def work(_: None = Depends(session, scope="function")) -> dict:
        time.sleep(0.01)
        return {"ok": True}

    if in_flight is not None:
        app.add_middleware(RequestsInFlight, limit=in_flight)
    return app


async def _many(app: FastAPI, requests: int, *, threads: int) -> list[int]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = await asyncio.gather(*(client.get("/work") for _ in range(requests)))
    return [a.status_code for a in answers]


def test_more_waiting_requests_than_threads_do_not_stall_the_process() -> None:
    async def both() -> tuple[list[int], bool]:
        capped = await asyncio.wait_for(_many(_app_holding_a_lock_across_thread_hops(4), 24, threads=4), 20)
        try:  # the same app without the cap: every thread holds a waiter, the holder cannot finish
            await asyncio.wait_for(_many(_app_holding_a_lock_across_thread_hops(None), 24, threads=4), 3)
            stalled = False
        except TimeoutError:
            stalled = True
        return capped, stalled

    capped, stalled = asyncio.run(both())
    assert capped == [200] * 24
    assert stalled, "without RequestsInFlight the requests should have stalled: the test no longer shows the danger"


def test_the_cap_lets_that_many_requests_in_at_once() -> None:
    app = FastAPI()
    overlap = Overlap()

    @app.get("/work")
    def work() -> dict:
        with overlap.inside_for(0.05):
            return {}

    app.add_middleware(RequestsInFlight, limit=3)
    assert asyncio.run(_many(app, 12, threads=40)) == [200] * 12
    assert overlap.most == 3

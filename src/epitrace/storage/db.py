"""Engines and sessions. SQLite gets WAL, foreign keys, a busy timeout and one writer at a time;
PostgreSQL a pool sized by the settings. A request's statements have a time limit (``statement_timeout_ms``):
on PostgreSQL ``SET LOCAL statement_timeout`` when its transaction begins, on SQLite a progress handler
that interrupts a statement running past its deadline. A statement stopped so, or a request that found no
free connection in the pool, is :class:`~epitrace.errors.Unavailable` (503, with ``Retry-After``), never
a driver traceback (issue 11)."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from epitrace.errors import ConfigurationError, Unavailable
from epitrace.files import create_private
from epitrace.settings import Settings
from epitrace.storage import audit
from epitrace.storage.sqlite_writers import Turn, queue_for

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
TIMEOUT_OPTION = "epitrace_statement_timeout_ms"
"""The execution option that carries a session's statement time limit to the events below."""
PROGRESS_STEPS = 1000
"""SQLite calls the progress handler every this many virtual-machine instructions (as datasette does)."""
RETRY_AFTER_S = 5
TURN_OPTION = "epitrace_writer_turn"
"""The execution option that carries a SQLite write session's place in its file's writer queue."""


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: settings), with SQLite set up for one writer and WAL and
    PostgreSQL's pool sized by ``EPITRACE_DB_POOL_SIZE``, ``…_MAX_OVERFLOW`` and ``…_POOL_TIMEOUT_S``."""
    settings = Settings.from_env()
    url = url or settings.database_url
    try:
        pool = ({"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
                 "pool_timeout": settings.db_pool_timeout_s} if url.startswith("postgresql") else {})
        engine = create_engine(url, **pool)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types for a bad URL
        # Neither the URL nor the driver's message may print a password (issue 11).
        raise ConfigurationError(
            f"EPITRACE_DATABASE_URL {without_password(url)!r} is not a usable database URL "
            f"({without_password(url, str(exc))}); expected e.g. sqlite:///epitrace.db or postgresql+psycopg://user@host/db"
        ) from None
    if engine.dialect.name == "sqlite":
        _create_database_file(engine)
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


def without_password(url: str, text: str | None = None) -> str:
    """``text`` (default ``url`` itself) with the password of ``url`` replaced by ``***``; works for a
    URL too malformed to parse."""
    found = re.search(r"://[^:/@]*:([^@]*)@", url)
    text = url if text is None else text
    return text.replace(found.group(1), "***") if found and found.group(1) else text


def _create_database_file(engine: Engine) -> None:
    """Create a new SQLite database file ``0600`` before SQLite does (it would use the umask, commonly
    giving everyone read access); SQLite gives the -wal, -shm and -journal files the database file's
    mode, so they are owner-only too (issue 10). A missing folder is left for SQLite to report."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:") or engine.url.query.get("uri"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        create_private(path)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: queue queries re-read less of the file
            cursor.execute("PRAGMA mmap_size = 268435456")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers take the write lock up front, so two writers queue instead of failing late; a write
        # session first waits for its turn among this file's writers (storage/sqlite_writers.py).
        options = conn.get_execution_options()
        immediate = options.get("sqlite_immediate", False)
        turn = options.get(TURN_OPTION)
        if immediate and turn is not None:
            turn.take(queue_for(engine.url.database), BUSY_TIMEOUT_MS / 1000)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _time_limit(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        # Each statement gets the whole limit from its start, its fetches included (the deadline stands
        # until the next statement or the end of the transaction); a connection without a limit runs free.
        limit = conn.get_execution_options().get(TIMEOUT_OPTION)
        fairy = conn.connection
        if limit:
            deadline = time.monotonic() + limit / 1000
            fairy.dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            fairy.info[TIMEOUT_OPTION] = True
        elif fairy.info.pop(TIMEOUT_OPTION, False):
            fairy.dbapi_connection.set_progress_handler(None, PROGRESS_STEPS)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _no_time_limit(conn) -> None:  # type: ignore[no-untyped-def]
        # Never interrupt the COMMIT (or ROLLBACK) itself.
        fairy = conn.connection
        if fairy.info.pop(TIMEOUT_OPTION, False):
            fairy.dbapi_connection.set_progress_handler(None, PROGRESS_STEPS)


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # SET LOCAL ends with the transaction, so a pooled connection goes back without the limit.
        limit = conn.get_execution_options().get(TIMEOUT_OPTION)
        if limit:
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(limit)}")


def _is_timeout(exc: OperationalError) -> bool:
    """Whether the driver stopped a statement for running past its time limit."""
    if isinstance(exc.orig, sqlite3.OperationalError):
        return str(exc.orig) == "interrupted"
    return type(exc.orig).__name__ == "QueryCanceled"  # psycopg.errors.QueryCanceled (statement_timeout)


@contextmanager
def _database_limits(statement_timeout_ms: int | None) -> Iterator[None]:
    """Turn a statement stopped by its time limit, and a pool with no free connection, into ``Unavailable``."""
    try:
        yield
    except PoolTimeout:
        raise Unavailable("the database has no free connection for this request right now (all of this process's "
                          "EPITRACE_DB_POOL_SIZE + EPITRACE_DB_MAX_OVERFLOW connections are busy): try again in a few "
                          "seconds", headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    except OperationalError as exc:
        if statement_timeout_ms is None or not _is_timeout(exc):
            raise
        raise Unavailable(f"the database query took too long and was stopped after {statement_timeout_ms:,} ms "
                          "(EPITRACE_DB_STATEMENT_TIMEOUT_MS): narrow the search, filter or date range and try again",
                          headers={"Retry-After": str(RETRY_AFTER_S)}) from None


def _bound(engine: Engine, statement_timeout_ms: int | None, **options: object) -> Engine:
    if statement_timeout_ms is not None:
        if statement_timeout_ms < 1:
            raise ValueError(f"statement_timeout_ms must be >= 1, got {statement_timeout_ms}")
        options[TIMEOUT_OPTION] = statement_timeout_ms
    return engine.execution_options(**options) if options else engine


@contextmanager
def write_session(engine: Engine, *, statement_timeout_ms: int | None = None) -> Iterator[Session]:
    """A session whose work commits as one transaction, or is rolled back whole on any error; with
    ``statement_timeout_ms`` (requests) each statement may run that long (see the module docstring)."""
    turn = Turn()
    bound = _bound(engine, statement_timeout_ms, sqlite_immediate=True, **{TURN_OPTION: turn})
    try:
        with sessionmaker(bound, expire_on_commit=False)() as session:
            try:
                with _database_limits(statement_timeout_ms), session.begin():
                    yield session
                    audit.write_denials(session)
            finally:
                # A refused out-of-scope request fails and is rolled back, but its refusal is kept
                # (issue 10, point 1): the noted denials get a transaction of their own.
                if audit.has_denials(session):
                    with session.begin():
                        audit.write_denials(session)
    finally:
        turn.give_up()  # after COMMIT or ROLLBACK: the next writer of this SQLite file may begin


@contextmanager
def savepoint(session: Session, *, keep: bool = True) -> Iterator[None]:
    """Run a block inside a SAVEPOINT of the session's transaction.

    When the block raises, everything it wrote (audit entries included) is undone and the error
    goes on; with ``keep=False`` (a dry run) it is undone even when the block succeeds. This is the
    one way API routes, pages and commands try a write that may be refused.
    """
    nested = session.begin_nested()
    try:
        yield
    except BaseException:
        nested.rollback()
        raise
    if keep:
        nested.commit()
    else:
        nested.rollback()


@contextmanager
def read_session(engine: Engine, *, statement_timeout_ms: int | None = None) -> Iterator[Session]:
    """A session for reading; anything written through it is rolled back. ``statement_timeout_ms`` as
    for :func:`write_session`."""
    with sessionmaker(_bound(engine, statement_timeout_ms))() as session:
        try:
            with _database_limits(statement_timeout_ms):
                yield session
        finally:
            session.rollback()


def is_initialised(engine: Engine) -> bool:
    """Whether the schema has been created (``epitrace init`` has run); a database that cannot be
    reached is a ``ConfigurationError`` naming it (without its password), not a driver traceback."""
    try:
        return inspect(engine).has_table("alembic_version")
    except OperationalError as exc:  # the driver could not connect (refused, unknown host, bad login)
        url = engine.url.render_as_string(hide_password=True)
        reason = without_password(engine.url.render_as_string(hide_password=False), str(exc.orig)).strip()
        raise ConfigurationError(f"cannot reach the database at {url} ({reason.splitlines()[0]}); check "
                                 "EPITRACE_DATABASE_URL and that the database server is running") from None


def require_initialised(engine: Engine) -> None:
    """Raise a clear error when the database was never initialised."""
    if not is_initialised(engine):
        raise ConfigurationError(
            f"the database at {engine.url.render_as_string(hide_password=True)} has no epitrace "
            "tables; run `epitrace init` first (or set EPITRACE_DATABASE_URL to the right database)"
        )

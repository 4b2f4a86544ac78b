"""Which database the suite runs on, and a fresh database for each test that asks for one.

``make test`` runs on SQLite files under the test's temporary folder. ``make test-pg`` sets
``EPITRACE_TEST_BACKEND=postgresql``: each fresh database is then a new PostgreSQL database on the
server at ``EPITRACE_TEST_DATABASE_URL`` (a URL to a maintenance database on a server the tests may
create databases on), or, when that is not given, on a throw-away server this module starts itself
from Debian's PostgreSQL binaries (``benchmarks/_postgres.py``: a cluster in a temporary folder, loopback only, stopped at exit).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from benchmarks._postgres import INSTALL_HINT, server_binaries, start_throwaway_server

BACKEND = os.environ.get("EPITRACE_TEST_BACKEND", "sqlite")
POSTGRES = BACKEND == "postgresql"
if BACKEND not in ("sqlite", "postgresql"):
    raise SystemExit(f"EPITRACE_TEST_BACKEND={BACKEND!r}: expected sqlite or postgresql")
GIVEN_SERVER = os.environ.get("EPITRACE_TEST_DATABASE_URL")  # read now: tests/conftest.py clears EPITRACE_*
_numbers = itertools.count(1)


def database_url(folder: Path, name: str, *, copy_of: str | None = None) -> str:
    """A URL to a new database: a SQLite file ``name``.db in ``folder``, or a new PostgreSQL database;
    empty, or a copy of the (closed) database at ``copy_of``, which is much cheaper than migrating."""
    if not POSTGRES:
        return sqlite_url(folder, name, copy_of=copy_of)
    return postgresql_url(name, copy_of=copy_of)


def sqlite_url(folder: Path, name: str, *, copy_of: str | None = None) -> str:
    """A new SQLite file ``name``.db in ``folder`` (whatever the suite's backend), empty or a copy of ``copy_of``."""
    path = folder / f"{name}.db"
    if copy_of:
        shutil.copyfile(make_url(copy_of).database, path)  # type: ignore[arg-type]
        path.chmod(0o600)  # as epitrace creates its files
    return f"sqlite:///{path}"


def postgresql_url(name: str, *, copy_of: str | None = None) -> str:
    """A new PostgreSQL database (whatever the suite's backend), on the server the module docstring names."""
    server = make_url(_server_url())
    database = f"t{os.getpid()}_{next(_numbers)}_{''.join(c for c in name if c.isalnum())[:30]}".lower()
    template = f' TEMPLATE "{make_url(copy_of).database}"' if copy_of else ""
    _admin().execute(text(f'CREATE DATABASE "{database}"{template}'))
    return server.set(database=database).render_as_string(hide_password=False)


def postgresql_available() -> bool:
    """Whether :func:`postgresql_url` can make a database here: a server was given, or its binaries are installed."""
    return bool(GIVEN_SERVER) or server_binaries() is not None


def needs_sqlite(reason: str) -> pytest.MarkDecorator:
    """Mark a test that checks something only SQLite has (its file, its pragmas)."""
    return pytest.mark.skipif(POSTGRES, reason=f"SQLite only: {reason}")


@cache
def _admin() -> Connection:
    """One autocommit connection to the server's maintenance database (CREATE DATABASE cannot run in a
    transaction), kept for the run."""
    engine = create_engine(make_url(_server_url()), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    conn = engine.connect()
    atexit.register(conn.close)
    return conn


@cache
def _server_url() -> str:
    return GIVEN_SERVER or _start_server()


def _start_server() -> str:
    if server_binaries() is None:
        message = (f"make test-pg needs PostgreSQL's server binaries: {INSTALL_HINT}, "
                   "or set EPITRACE_TEST_DATABASE_URL to a server the tests may create databases on")
        if os.environ.get("CI") == "true":
            raise SystemExit(message)
        pytest.skip(message, allow_module_level=True)
    return start_throwaway_server()  # durability off: a test server only, gone at exit

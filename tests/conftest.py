"""Shared fixtures: a clean environment, a fresh database, and an in-process CLI."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from epitrace.cli import app
from epitrace.cli._common import console
from epitrace.storage import accounts
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.jurisdictions import add_jurisdiction
from epitrace.storage.migrate import upgrade
from tests.backends import database_url

LAB_HEADER = (
    "lab_id,specimen_id,collected_on,resulted_on,result,test_type,given_name,family_name,"
    "date_of_birth,sex,phone,national_id,address,jurisdiction_code"
)


# Property tests: CI (CI=true) and `make test-all` / `make test-pg` (EPITRACE_TEST_THOROUGH=1) run each
# with its full number of examples; the quick local `make test` runs a quarter of them (at least 20), so
# that every property is still tried there, only less hard.
THOROUGH = os.environ.get("CI") == "true" or os.environ.get("EPITRACE_TEST_THOROUGH") == "1"
settings.register_profile("thorough", settings.default)
settings.register_profile("quick", max_examples=25)
settings.load_profile("thorough" if THOROUGH else "quick")


def examples(full: int) -> int:
    """How many examples a property test with ``full`` examples runs in this run (see THOROUGH)."""
    return full if THOROUGH else max(20, full // 4)


# Cheap argon2id parameters for every account the tests make (before any fixture makes one): a sign-in
# costs milliseconds instead of a second. A stored hash names its own parameters, so nothing else changes;
# tests/test_accounts.py::test_production_password_hashing_is_argon2id_at_the_librarys_cost keeps the real ones.
PRODUCTION_HASHER = accounts.HASHER
accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# Every engine that connected during a test is disposed when the test ends: an app or engine a test made
# and dropped would otherwise leave its pooled connections to the garbage collector, which on PostgreSQL
# warns (psycopg's ResourceWarning, an error under filterwarnings=error) in whichever test runs next.
_connected_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _note_connected(connection) -> None:  # type: ignore[no-untyped-def]
    _connected_engines.add(getattr(connection.engine, "_proxied", connection.engine))


@pytest.fixture(autouse=True)
def dispose_engines() -> Iterator[None]:
    yield
    for engine in list(_connected_engines):
        engine.dispose()
    _connected_engines.clear()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees an EPITRACE_* variable from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("EPITRACE_"):
            monkeypatch.delenv(name)


def city_database(url: str, *, revision: str = "head") -> Engine:
    """An initialised database at ``url`` with the jurisdictions CITY > D1, D2 (the tests' one world),
    migrated to ``revision`` (an older one to test a migration's backfill)."""
    engine = make_engine(url)
    upgrade(engine, revision)
    with write_session(engine) as session:
        add_jurisdiction(session, "CITY", "Synthville")
        add_jurisdiction(session, "D1", "North District", parent_code="CITY")
        add_jurisdiction(session, "D2", "South District", parent_code="CITY")
    return engine


def city_url(folder: Path, name: str) -> str:
    """A URL to a new database holding :func:`city_database` at head: a copy of one migrated once per run
    (migrating costs about half a second; copying a file or a PostgreSQL template, a few milliseconds)."""
    return database_url(folder, name, copy_of=_city_template())


@cache
def _city_template() -> str:
    folder = Path(tempfile.mkdtemp(prefix="epitrace-city-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = database_url(folder, "city_template")
    city_database(url).dispose()  # closed: SQLite has folded its WAL in; PostgreSQL copies only unused templates
    return url


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, initialised database with CITY > D1, D2; the CLI uses it too."""
    url = city_url(tmp_path, "test")
    monkeypatch.setenv("EPITRACE_DATABASE_URL", url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@dataclass
class Cli:
    """Runs epitrace commands in-process."""

    runner: CliRunner
    cwd: Path

    def __call__(self, *args: str):  # type: ignore[no-untyped-def]
        return self.runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    # Rich reads the width when its console is made (at import), from the terminal if there is one: a test
    # worker without a terminal (pytest -n) would get 80 columns and wrap table cells.
    monkeypatch.setattr(console, "width", 200)
    return Cli(CliRunner(), tmp_path)


def lab_line(
    specimen: str,
    *,
    result: str = "positive",
    given: str = "Ana",
    family: str = "Silva",
    dob: str = "1990-04-02",
    collected: str = "2026-03-10",
    resulted: str = "2026-03-11",
    test_type: str = "PCR",
    phone: str = "",
    national_id: str = "",
    jurisdiction: str = "D1",
    lab: str = "LAB-A",
    sex: str = "female",
) -> str:
    """One CSV line of a lab result, with sensible defaults."""
    return ",".join([lab, specimen, collected, resulted, result, test_type, given, family, dob, sex, phone,
                     national_id, "1 Main St", jurisdiction])


def write_labs(path: Path, *lines: str, header: str = LAB_HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path

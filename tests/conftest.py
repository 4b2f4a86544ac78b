"""Shared fixtures: a clean environment, a fresh database, and an in-process CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from typer.testing import CliRunner

from epitrace.cli import app
from epitrace.storage import accounts
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.jurisdictions import add_jurisdiction
from epitrace.storage.migrate import upgrade
from tests.backends import database_url

LAB_HEADER = (
    "lab_id,specimen_id,collected_on,resulted_on,result,test_type,given_name,family_name,"
    "date_of_birth,sex,phone,national_id,address,jurisdiction_code"
)


# Cheap argon2id parameters for every account the tests make (before any fixture makes one): a sign-in
# costs milliseconds instead of a second. A stored hash names its own parameters, so nothing else changes;
# tests/test_accounts.py::test_production_password_hashing_is_argon2id_at_the_librarys_cost keeps the real ones.
PRODUCTION_HASHER = accounts.HASHER
accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


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


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, initialised SQLite database with CITY > D1, D2; the CLI uses it too."""
    url = database_url(tmp_path, "test")
    monkeypatch.setenv("EPITRACE_DATABASE_URL", url)
    city_database(url).dispose()
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

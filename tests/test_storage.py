"""Schema and database set-up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from epitrace.storage.models import Base
from tests.backends import needs_sqlite


def test_migrations_match_the_models(engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


@needs_sqlite("WAL mode and foreign-key pragmas")
def test_sqlite_runs_in_wal_with_foreign_keys(engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_every_setting_is_documented_in_the_readme() -> None:
    from pathlib import Path

    from epitrace.settings import setting_help

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for variable, help_text in setting_help().items():
        assert f"| `{variable}` |" in readme and help_text in readme, variable


def test_bad_setting_is_refused_with_its_name(monkeypatch) -> None:
    import pytest

    from epitrace.errors import ConfigurationError
    from epitrace.settings import Settings

    monkeypatch.setenv("EPITRACE_SMALL_COUNT_THRESHOLD", "five")
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env()
    assert error.value.message == "EPITRACE_SMALL_COUNT_THRESHOLD must be a whole number, got 'five'; unset it to use 5"


def test_a_fork_of_the_audit_chain_is_refused_by_the_database(engine) -> None:
    """A second entry after the same head (what a writer that read a stale head would append)."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from epitrace.storage import audit
    from epitrace.storage.db import write_session
    from epitrace.storage.models import AuditEvent, utcnow

    with write_session(engine) as session:
        audit.record(session, audit.Actor("a"), action="read", record_type="person", record_id=1, person_id=1)
    with pytest.raises(IntegrityError), write_session(engine) as session:
        fork = AuditEvent(at=utcnow(), actor="b", action="read", record_type="person", record_id="2", person_id=2,
                          purpose="outbreak investigation", prev_hash=audit.GENESIS_HASH)
        fork.hash = audit._entry_hash(fork.prev_hash, fork)
        session.add(fork)


def test_concurrent_writers_keep_one_audit_chain(engine) -> None:
    """Eight writers appending at once, each in its own transactions: one unbroken chain, nothing lost."""
    from concurrent.futures import ThreadPoolExecutor

    from epitrace.storage import audit
    from epitrace.storage.db import make_engine, read_session, write_session

    def writer(n: int) -> None:
        own = make_engine(engine.url.render_as_string(hide_password=False))
        try:
            for i in range(25):
                with write_session(own) as session:
                    audit.record(session, audit.Actor(f"w{n}"), action="read", record_type="person", record_id=i,
                                 person_id=None)
                    audit.record_many(session, audit.Actor(f"w{n}"), action="read", record_type="task",
                                      records=[(i, None), (i + 1, None)])
        finally:
            own.dispose()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    with read_session(engine) as session:
        assert audit.verify(session) is None
        assert audit.entry_count(session) == 8 * 25 * 3

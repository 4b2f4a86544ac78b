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

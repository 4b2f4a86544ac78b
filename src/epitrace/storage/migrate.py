"""Create or upgrade the schema with Alembic, then seed reference data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select

from epitrace.domain.profiles import RESPIRATORY, DiseaseProfile
from epitrace.storage.db import MIGRATIONS_DIR, write_session
from epitrace.storage.models import DiseaseProfileRow


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the packaged migrations and ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


MIGRATION_LOCK_KEY = 0x45504D47  # "EPMG": the advisory lock that serialises migrations on PostgreSQL


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the schema to ``revision`` (default the newest; an older one for a migration's tests);
    returns the revision reached. Safe to run from several processes at once (issue 11): they take
    turns, and the later ones find nothing to do."""
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)
        _seed_profiles(engine, [RESPIRATORY])
    if engine.dialect.name == "sqlite":
        # Statistics for the planner (without them it sorts whole jurisdictions for one page).
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize=0x10002")
            conn.commit()
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, a session advisory lock held across the migrations and the seeding (its DDL runs
    in transactions of its own); on SQLite each step takes the single write lock up front instead."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
            conn.commit()


def _seed_profiles(engine: Engine, profiles: list[DiseaseProfile]) -> None:
    with write_session(engine) as session:
        for profile in profiles:
            exists = session.scalar(select(DiseaseProfileRow.id).where(DiseaseProfileRow.name == profile.name))
            if exists is None:
                session.add(DiseaseProfileRow(**profile.__dict__))

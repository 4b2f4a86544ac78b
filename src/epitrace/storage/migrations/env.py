"""Alembic environment: runs migrations on the engine handed over by ``storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from epitrace.settings import Settings
from epitrace.storage.models import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(Settings.from_env().database_url)

# Migrations take the write lock up front (SQLite BEGIN IMMEDIATE; storage.migrate holds an advisory
# lock on PostgreSQL), so concurrent `epitrace init` runs queue: the later ones find the schema current.
with engine.execution_options(sqlite_immediate=True).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

"""person.name_key and person.family_key compare byte by byte on PostgreSQL (COLLATE "C") (issue 11)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00.000000

The name search (``storage.workbench._prefix``) finds a prefix as an index range, ``>= 'jans' AND <
'jant'``, which holds only in byte order. A database created with a language collation (ICU en-US, or
a libc locale) orders punctuation and letters differently ('jan{' before 'janz'), so a search for a
name ending in z, or with a letter like 'ł', found nothing. With the columns in the "C" collation their
comparisons and indexes are in byte order whatever the database's default; PostgreSQL rebuilds the
indexes on them (ix_person_name_key, ix_person_family_key, ix_person_search, ix_person_dob_name).
SQLite compares bytes already: nothing changes there.

Independent of 0013 (record versions, another branch); the two are chained when merged.
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = (('name_key', 402, False), ('family_key', 200, True))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, length, nullable in COLUMNS:
        op.alter_column('person', name, type_=sa.String(length, collation='C'), existing_type=sa.String(length),
                        existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, length, nullable in COLUMNS:
        op.alter_column('person', name, type_=sa.String(length), existing_type=sa.String(length, collation='C'),
                        existing_nullable=nullable)

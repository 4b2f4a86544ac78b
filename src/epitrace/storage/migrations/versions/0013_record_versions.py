"""case, contact and task carry a version and their last writer: no lost updates (issue 11, point 3)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00.000000

``version`` starts at 1 (every existing row is version 1) and goes up by one with every change of
the row (storage/versions.py); a write that names the version it read is refused when the row has
moved on. ``updated_by`` / ``updated_at`` name the last writer and when, so a page can say who changed
it; rows written before this revision have neither.
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TABLES = ('case_record', 'contact', 'task')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
            batch_op.add_column(sa.Column('updated_by', sa.String(length=128), nullable=True))
            batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('updated_at')
            batch_op.drop_column('updated_by')
            batch_op.drop_column('version')

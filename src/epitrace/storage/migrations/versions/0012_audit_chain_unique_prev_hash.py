"""audit_event.prev_hash unique: a fork of the audit chain is refused by the database (issue 11)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:30:00.000000

Every entry names the hash of the one before it; with the constraint no entry can have two
successors, so two writers that read the same chain head cannot both append.
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_audit_event_prev_hash', ['prev_hash'])


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_event_prev_hash', type_='unique')

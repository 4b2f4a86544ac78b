"""task.setting: the board's setting filter without a join to contact (issue 9)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:00:00.000000

Each follow-up task carries the setting of the contact that made it, copied here from contact for the
tasks that exist; storage copies it when it makes a task from then on.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setting', sa.String(length=32), nullable=True))
    op.execute("UPDATE task SET setting = (SELECT contact.setting FROM contact WHERE contact.id = task.contact_id) "
               "WHERE contact_id IS NOT NULL")
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_status_kind_setting_jurisdiction_due',
                              ['status', 'kind', 'setting', 'jurisdiction_id', 'due_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_status_kind_setting_jurisdiction_due')
        batch_op.drop_column('setting')

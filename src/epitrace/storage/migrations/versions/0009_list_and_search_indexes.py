"""list and search indexes: normalised phone, person search, case and done-task orders (issue 9)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000

``phone_key`` is the phone as identity resolution normalises it (``domain.identity.normalise_phone``,
the one rule), filled here for every person who has a phone; the model keeps it in step from then on.
If that rule ever changes, a new migration must fill the column again.
"""

import sqlalchemy as sa
from alembic import op

from epitrace.domain.identity import normalise_phone

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 10_000


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_phone_key'), ['phone_key'], unique=False)
        batch_op.create_index('ix_person_search',
                              ['family_key', 'name_key', 'jurisdiction_id', 'merged_into_id', 'date_of_birth'], unique=False)

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index('ix_case_jurisdiction_reported', ['jurisdiction_id', 'reported_on'], unique=False)
        batch_op.create_index('ix_case_jurisdiction_status_reported', ['jurisdiction_id', 'status', 'reported_on'],
                              unique=False)
        batch_op.create_index('ix_case_status_reported', ['status', 'reported_on'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_status_jurisdiction_completed', ['status', 'jurisdiction_id', 'completed_on'],
                              unique=False)
        batch_op.create_index('ix_task_status_kind_jurisdiction_completed',
                              ['status', 'kind', 'jurisdiction_id', 'completed_on'], unique=False)
        batch_op.create_index('ix_task_status_completed', ['status', 'completed_on'], unique=False)

    bind = op.get_bind()
    person = sa.table('person', sa.column('id', sa.Integer), sa.column('phone', sa.String),
                      sa.column('phone_key', sa.String))
    update = sa.update(person).where(person.c.id == sa.bindparam('person_id')).values(phone_key=sa.bindparam('key'))
    last = 0
    while True:
        rows = bind.execute(sa.select(person.c.id, person.c.phone).where(person.c.id > last, person.c.phone.is_not(None))
                            .order_by(person.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(update, [{'person_id': i, 'key': normalise_phone(phone)} for i, phone in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_status_completed')
        batch_op.drop_index('ix_task_status_kind_jurisdiction_completed')
        batch_op.drop_index('ix_task_status_jurisdiction_completed')

    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_status_reported')
        batch_op.drop_index('ix_case_jurisdiction_status_reported')
        batch_op.drop_index('ix_case_jurisdiction_reported')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_search')
        batch_op.drop_index(batch_op.f('ix_person_phone_key'))
        batch_op.drop_column('phone_key')

"""accounts: approval of personal-data accounts, token expiry, reset links, shared sign-in counters (issue 10)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00.000000

app_user gains the approval fields (an account whose rights its requester lacks waits for an approver
who holds them); api_token gains expires_at (tokens that exist get 90 days from the upgrade, so none
stops working at once); password_reset holds one-time reset links by hash; sign_in_counter holds the
sign-in limiter's counters, shared by every worker.
"""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_approval', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('requested_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=128), nullable=True))

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    expires = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=90)
    op.execute(sa.text("UPDATE api_token SET expires_at = :expires WHERE expires_at IS NULL").bindparams(expires=expires))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)

    op.create_table('password_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_password_reset_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_hash'))
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)

    op.create_table('sign_in_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('retry_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_counter')),
    sa.UniqueConstraint('key', name=op.f('uq_sign_in_counter_key'))
    )
    with op.batch_alter_table('sign_in_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_counter_last_attempt_at'), ['last_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_counter_last_attempt_at'))
    op.drop_table('sign_in_counter')
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))
    op.drop_table('password_reset')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('approved_by')
        batch_op.drop_column('requested_by')
        batch_op.drop_column('pending_approval')

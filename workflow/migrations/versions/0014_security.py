"""security: second factors, recovery codes, the security log, idle sessions

Revision ID: 0014_security
Revises: 0013_rectification_status
Create Date: 2026-12-10

Staff log in with a password and a code from an authenticator app (TOTP) or
a one-time recovery code; every login, failure, logout, lockout and change
of a factor goes to the security log; a login session remembers when it was
last used so that an idle one ends.
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0014_security'
down_revision = '0013_rectification_status'
branch_labels = None
depends_on = None

KINDS = ("login", "login_failed", "logout", "session_idle", "lockout", "unlock",
         "factor_enrolled", "recovery_used", "recovery_regenerated", "factor_reset")


def _quietly():
    """SQLite's batch mode reflects the tables the foreign keys name and warns
    that it skips their expression indexes, which it neither needs nor touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    op.create_table(
        'second_factor',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_step', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_second_factor_user_id_user_account')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_second_factor')),
    )
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_recovery_code_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
        sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_code_user_id')),
    )
    op.create_table(
        'security_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=300), nullable=False),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})",
                           name=op.f('ck_security_event_kind_known')),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'],
                                name=op.f('fk_security_event_actor_id_user_account')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_security_event_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_event')),
    )
    op.create_index('ix_security_event_at', 'security_event', ['at', 'id'])
    op.create_index('ix_security_event_user', 'security_event', ['user_id', 'at', 'id'])
    op.create_index('ix_security_event_kind', 'security_event', ['kind', 'at', 'id'])
    context = _quietly()
    try:
        with op.batch_alter_table('login_session', schema=None) as batch_op:
            batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('must_enrol', sa.Boolean(), nullable=False,
                                          server_default=sa.text('false')))
    finally:
        context.__exit__(None, None, None)


def downgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('login_session', schema=None) as batch_op:
            batch_op.drop_column('must_enrol')
            batch_op.drop_column('last_seen_at')
    finally:
        context.__exit__(None, None, None)
    op.drop_index('ix_security_event_kind', table_name='security_event')
    op.drop_index('ix_security_event_user', table_name='security_event')
    op.drop_index('ix_security_event_at', table_name='security_event')
    op.drop_table('security_event')
    op.drop_table('recovery_code')
    op.drop_table('second_factor')

"""zone audit: the zone's own hash-chained change log

Revision ID: 0012_zone_audit
Revises: 0011_role_names
Create Date: 2026-12-04

Changes outside any project (accounts, roles, groups, tokens, parcels,
chemical tables, definitions) were log lines the web wrote after the commit;
they are now events the engine writes in the same transaction, chained per
zone like a project's events.
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_zone_audit'
down_revision = '0011_role_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'zone_audit_chain',
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('zone', name=op.f('pk_zone_audit_chain')),
    )
    op.create_table(
        'zone_audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint("via IN ('web', 'api', 'cli', 'scheduler', 'system')",
                           name=op.f('ck_zone_audit_event_via')),
        sa.CheckConstraint('seq > 0', name=op.f('ck_zone_audit_event_seq_positive')),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'],
                                name=op.f('fk_zone_audit_event_actor_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_audit_event')),
        sa.UniqueConstraint('zone', 'seq', name=op.f('uq_zone_audit_event_zone')),
    )


def downgrade() -> None:
    op.drop_table('zone_audit_event')
    op.drop_table('zone_audit_chain')

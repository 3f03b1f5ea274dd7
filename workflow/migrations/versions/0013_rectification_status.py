"""rectification status: a rectification's lifecycle in a state column

Revision ID: 0013_rectification_status
Revises: 0012_zone_audit
Create Date: 2026-12-04

Letters, promises and checkpoints had a status column; a rectification was
open or closed only by whether ``closed_at`` was set. It now has a status its
machine moves, like every other lifecycle; answered ones become closed.
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0013_rectification_status'
down_revision = '0012_zone_audit'
branch_labels = None
depends_on = None


def _quietly():
    """SQLite's batch mode copies the table, reflecting the tables its foreign
    keys name; it warns that it skips their expression indexes, which it
    neither needs nor touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('rectification', schema=None) as batch_op:
            batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='open',
                                          nullable=False))
        op.execute("UPDATE rectification SET status = 'closed' WHERE closed_at IS NOT NULL")
        with op.batch_alter_table('rectification', schema=None) as batch_op:
            batch_op.create_check_constraint('status_known', "status IN ('open', 'closed')")
    finally:
        context.__exit__(None, None, None)


def downgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('rectification', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_rectification_status_known'), type_='check')
            batch_op.drop_column('status')
    finally:
        context.__exit__(None, None, None)

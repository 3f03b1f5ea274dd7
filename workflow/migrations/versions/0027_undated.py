"""undated open tasks: an index for the desk's reversed column sorts

Revision ID: 0027_undated
Revises: 0026_delivery
Create Date: 2026-12-04

Sorted the other way round (by state or item, descending), the desk reads
each group's open tasks without a due date first, by id. PostgreSQL's
estimate of how many there are is far off (thousands, against none), so it
walked the primary key backwards through every task of the zone: 1.7 s per
group at 100,000 projects. This partial index holds those few tasks only.
"""

import sqlalchemy as sa
from alembic import op

revision = '0027_undated'
down_revision = '0026_delivery'
branch_labels = None
depends_on = None

WHERE = ("due_on IS NULL AND state IN ('ready', 'assigned', 'in_progress', 'awaiting_enterprise', "
         "'submitted', 'accepted', 'on_hold', 'returned', 'approved', 'suspended')")


def upgrade() -> None:
    op.create_index('ix_item_task_open_undated', 'item_task', ['group_id', 'id'], unique=False,
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('ix_item_task_open_undated', table_name='item_task')

"""provisional dates: an index of the open tasks still on them

Revision ID: 0030_provisional
Revises: 0029_gantt
Create Date: 2026-12-05

The admin's calendar panel counted the open tasks whose dates depend on an
unpublished year with no index: a scan of every task of the zone, 1.2 s at a
million projects, on each view of ``/admin/definitions``. It now counts them
up to a cap on this partial index, which the re-derivation after a published
schedule reads too.
"""

import sqlalchemy as sa
from alembic import op

revision = '0030_provisional'
down_revision = '0029_gantt'
branch_labels = None
depends_on = None

WHERE = "dates_provisional AND state NOT IN ('done', 'covered', 'terminated')"


def upgrade() -> None:
    op.create_index('ix_item_task_provisional', 'item_task', ['id'], unique=False,
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('ix_item_task_provisional', table_name='item_task')

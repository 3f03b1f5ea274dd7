"""lists: saved filters per person, and the desk's sorts by item and state

Revision ID: 0021_lists
Revises: 0020_notify_prefs
Create Date: 2026-12-04

A person saves the filter of the inbox or the desk under a name
(``saved_filter``, at most 20 each). The desk's task table sorts by item and
by state as well as by due date: each is a scan of one group's open tasks in
that order, on its own partial index.
"""

import sqlalchemy as sa
from alembic import op

revision = '0021_lists'
down_revision = '0020_notify_prefs'
branch_labels = None
depends_on = None

DESK_STATES = ("state IN ('ready', 'assigned', 'in_progress', 'awaiting_enterprise', 'submitted', "
               "'accepted', 'on_hold', 'returned', 'approved', 'suspended')")


def upgrade() -> None:
    op.create_table(
        'saved_filter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('page', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("page IN ('inbox', 'desk')", name=op.f('ck_saved_filter_page_known')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_saved_filter_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filter')),
        sa.UniqueConstraint('user_id', 'page', 'name', name=op.f('uq_saved_filter_user_id')),
    )
    for name, column in (('ix_item_task_open_item', 'item_code'),
                         ('ix_item_task_open_state', 'state')):
        op.create_index(name, 'item_task', ['group_id', column, 'due_on', 'id'], unique=False,
                        postgresql_where=sa.text(DESK_STATES), sqlite_where=sa.text(DESK_STATES))


def downgrade() -> None:
    op.drop_index('ix_item_task_open_state', table_name='item_task')
    op.drop_index('ix_item_task_open_item', table_name='item_task')
    op.drop_table('saved_filter')

"""predictions: predicted dates per open item and project, and the handling-time history

Revision ID: 0022_predictions
Revises: 0021_lists
Create Date: 2026-12-04

``item_prediction`` and ``project_prediction`` hold what ``workflow.core.
predict`` expects of each open project (its open items' opening and closing
days, its milestones, the critical path); the sweep recomputes those whose
``basis_seq`` lags the project's ``audit_seq``. ``handling_history`` is the
histogram of how long closed tasks took per item, department and clock,
counted when an item completes. Filled by ``daiban forecast refresh`` (which
rebuilds the history from the closed tasks on its first run).
"""

import sqlalchemy as sa
from alembic import op

revision = '0022_predictions'
down_revision = '0021_lists'
branch_labels = None
depends_on = None

NOT_RELEASED_PG = sa.text("NOT released")
NOT_RELEASED_SQLITE = sa.text("released = 0")


def upgrade() -> None:
    op.create_table(
        'item_prediction',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('item_code', sa.String(length=64), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('released', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('predicted_start', sa.Date(), nullable=False),
        sa.Column('predicted_end', sa.Date(), nullable=False),
        sa.Column('critical', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('provisional', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('basis', sa.String(length=16), nullable=False),
        sa.Column('driver', sa.String(length=80), nullable=True),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("basis IN ('history', 'limit')",
                           name=op.f('ck_item_prediction_basis_known')),
        sa.CheckConstraint('predicted_end >= predicted_start',
                           name=op.f('ck_item_prediction_ends_after_start')),
        sa.ForeignKeyConstraint(['group_id'], ['industry_group.id'],
                                name=op.f('fk_item_prediction_group_id_industry_group')),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                                name=op.f('fk_item_prediction_project_id_project')),
        sa.ForeignKeyConstraint(['task_id'], ['item_task.id'],
                                name=op.f('fk_item_prediction_task_id_item_task')),
        sa.PrimaryKeyConstraint('project_id', 'item_code', name=op.f('pk_item_prediction')),
    )
    op.create_index('ix_item_prediction_arrivals_group', 'item_prediction',
                    ['group_id', 'predicted_start'], unique=False,
                    postgresql_where=NOT_RELEASED_PG, sqlite_where=NOT_RELEASED_SQLITE)
    op.create_index('ix_item_prediction_arrivals_department', 'item_prediction',
                    ['department', 'predicted_start'], unique=False,
                    postgresql_where=NOT_RELEASED_PG, sqlite_where=NOT_RELEASED_SQLITE)
    op.create_index('ix_item_prediction_group_end', 'item_prediction',
                    ['group_id', 'predicted_end'], unique=False)
    op.create_index(op.f('ix_item_prediction_task_id'), 'item_prediction', ['task_id'],
                    unique=False)
    op.create_table(
        'project_prediction',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('ready_to_start_on', sa.Date(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=False),
        sa.Column('completed_on', sa.Date(), nullable=False),
        sa.Column('producing_on', sa.Date(), nullable=False),
        sa.Column('at_capacity_on', sa.Date(), nullable=False),
        sa.Column('reached', sa.String(length=120), server_default='', nullable=False),
        sa.Column('critical_item', sa.String(length=64), nullable=True),
        sa.Column('provisional', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('basis_seq', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['industry_group.id'],
                                name=op.f('fk_project_prediction_group_id_industry_group')),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                                name=op.f('fk_project_prediction_project_id_project')),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_prediction')),
    )
    for name, columns in (('ix_project_prediction_started', ['started_on', 'project_id']),
                          ('ix_project_prediction_completed', ['completed_on', 'project_id']),
                          ('ix_project_prediction_producing', ['producing_on', 'project_id']),
                          ('ix_project_prediction_group_completed',
                           ['group_id', 'completed_on', 'project_id']),
                          ('ix_project_prediction_as_of', ['as_of', 'project_id'])):
        op.create_index(name, 'project_prediction', columns, unique=False)
    op.create_table(
        'handling_history',
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('clock', sa.String(length=16), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.CheckConstraint("clock IN ('service', 'statutory', 'gap')",
                           name=op.f('ck_handling_history_clock_known')),
        sa.CheckConstraint('days >= 0 AND n >= 0',
                           name=op.f('ck_handling_history_counts_nonnegative')),
        sa.PrimaryKeyConstraint('subject', 'department', 'clock', 'days',
                                name=op.f('pk_handling_history')),
    )


def downgrade() -> None:
    op.drop_table('handling_history')
    for name in ('ix_project_prediction_as_of', 'ix_project_prediction_group_completed',
                 'ix_project_prediction_producing', 'ix_project_prediction_completed',
                 'ix_project_prediction_started'):
        op.drop_index(name, table_name='project_prediction')
    op.drop_table('project_prediction')
    for name in ('ix_item_prediction_task_id', 'ix_item_prediction_group_end',
                 'ix_item_prediction_arrivals_department', 'ix_item_prediction_arrivals_group'):
        op.drop_index(name, table_name='item_prediction')
    op.drop_table('item_prediction')

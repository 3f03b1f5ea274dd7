"""workload forecast: the per-day arrivals rollup, agents' capacities, and
the day a stored prediction stays valid until

Revision ID: 0028_workload
Revises: 0027_undated
Create Date: 2026-12-05

``workload_day`` is kept by the prediction store; ``agent_capacity`` holds an
admin's per-agent override of the zone's default; ``project_prediction.
valid_until`` replaces the daily "made before today" rule: a prediction is
recomputed on a new day only when it depends on a day now past.
"""

import sqlalchemy as sa
from alembic import op

revision = '0028_workload'
down_revision = '0027_undated'
branch_labels = None
depends_on = None


COUNT_STORED = """
INSERT INTO workload_day (scope_kind, scope_key, day, arrivals, departures)
SELECT kind, scope, day, SUM(a), SUM(d) FROM (
  SELECT 'group' AS kind, CAST(group_id AS VARCHAR(64)) AS scope, predicted_start AS day,
         1 AS a, 0 AS d FROM item_prediction
  UNION ALL SELECT 'group', CAST(group_id AS VARCHAR(64)), predicted_end, 0, 1 FROM item_prediction
  UNION ALL SELECT 'department', department, predicted_start, 1, 0 FROM item_prediction
  UNION ALL SELECT 'department', department, predicted_end, 0, 1 FROM item_prediction
) AS counted GROUP BY kind, scope, day
"""


def upgrade() -> None:
    op.create_table(
        'workload_day',
        sa.Column('scope_kind', sa.String(length=16), nullable=False),
        sa.Column('scope_key', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('arrivals', sa.Integer(), server_default='0', nullable=False),
        sa.Column('departures', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint("scope_kind IN ('group', 'department')",
                           name=op.f('ck_workload_day_scope_known')),
        sa.PrimaryKeyConstraint('scope_kind', 'scope_key', 'day', name=op.f('pk_workload_day')),
    )
    op.create_table(
        'agent_capacity',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.CheckConstraint('capacity >= 1 AND capacity <= 500',
                           name=op.f('ck_agent_capacity_capacity_in_range')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_agent_capacity_user_id_user_account')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_capacity')),
    )
    op.add_column('project_prediction', sa.Column('valid_until', sa.Date(), nullable=True))
    op.create_index('ix_project_prediction_valid_until', 'project_prediction',
                    ['valid_until', 'project_id'], unique=False)
    # Rows stored before this revision have no valid_until: the sweep
    # recomputes them as stale, subtracting their rows from the rollup, so the
    # rollup starts as the count of the rows stored now.
    op.execute(COUNT_STORED)


def downgrade() -> None:
    op.drop_index('ix_project_prediction_valid_until', table_name='project_prediction')
    # A plain column without constraints: SQLite (3.35+) drops it in place.
    op.drop_column('project_prediction', 'valid_until')
    op.drop_table('agent_capacity')
    op.drop_table('workload_day')

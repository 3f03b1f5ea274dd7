"""agreement misses: projects whose prediction misses their agreement

Revision ID: 0029_gantt
Revises: 0028_workload
Create Date: 2026-12-05

The supervisors' list of projects predicted to miss their investment
agreement compares the prediction's dates with the agreement's: no index can
hold that, and a scan in predicted order read 98,000 on-time rows to find a
page at 100,000 projects (305 ms). ``agreement_miss`` keeps the answer, one
row per late project, rewritten whenever its prediction is stored
(``workflow.reforms.land.forecast``), read most late first on an index.
"""

import sqlalchemy as sa
from alembic import op

revision = '0029_gantt'
down_revision = '0028_workload'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agreement_miss',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('days_late', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['industry_group.id'],
                                name=op.f('fk_agreement_miss_group_id_industry_group')),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                                name=op.f('fk_agreement_miss_project_id_project')),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_agreement_miss')),
    )
    op.create_index('ix_agreement_miss_late', 'agreement_miss', ['days_late', 'project_id'])
    op.create_index('ix_agreement_miss_group_late', 'agreement_miss',
                    ['group_id', 'days_late', 'project_id'])
    # The projects already predicted late: the next refresh of each rewrites its row; a
    # project predicted before this revision is counted by the sweep's next pass
    # (its prediction is from before today, so stale).


def downgrade() -> None:
    op.drop_index('ix_agreement_miss_group_late', table_name='agreement_miss')
    op.drop_index('ix_agreement_miss_late', table_name='agreement_miss')
    op.drop_table('agreement_miss')

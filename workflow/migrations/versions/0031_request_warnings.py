"""request warnings: the 13710 step's warning the working day before it is due

Revision ID: 0031_request_warnings
Revises: 0030_provisional
Create Date: 2026-12-06

The department handling an enterprise request is warned once on the working
day before its feedback or its solution falls due (``service_request_warning``,
unique per request, step and due date: the claim, as for the escalations).
The sweep finds the steps due in the warning's window, and those overdue, as
a range of each step's due date within a state: two indexes serve it
(``service_request`` had only the current step's ``due_on`` indexed, so the
escalation's query read every open request).
"""

import sqlalchemy as sa
from alembic import op

revision = '0031_request_warnings'
down_revision = '0030_provisional'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_request_warning',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("step IN ('feedback', 'solve')", name=op.f('ck_service_request_warning_step_known')),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_service_request_warning_request_id_service_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request_warning')),
    sa.UniqueConstraint('request_id', 'step', 'due_on', name=op.f('uq_service_request_warning_request_id'))
    )
    op.create_index('ix_service_request_feedback_due', 'service_request', ['status', 'feedback_due_on'], unique=False)
    op.create_index('ix_service_request_solve_due', 'service_request', ['status', 'solve_due_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_service_request_solve_due', table_name='service_request')
    op.drop_index('ix_service_request_feedback_due', table_name='service_request')
    op.drop_table('service_request_warning')

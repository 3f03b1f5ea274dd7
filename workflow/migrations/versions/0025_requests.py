"""requests: enterprise requests on the 13710 rhythm, leaders' visits, escalations

Revision ID: 0025_requests
Revises: 0024_plans
Create Date: 2026-12-04

An enterprise (in its portal) or a staff member (after a visit) records a
request (``service_request``) with its three 13710 due dates; a leader's visit
(``enterprise_visit``) links to the requests raised in it; each overdue step
is escalated once (``service_request_escalation``, unique per request, step
and due date).
"""

import sqlalchemy as sa
from alembic import op

revision = '0025_requests'
down_revision = '0024_plans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enterprise_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('companions', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_enterprise_visit_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['leader_id'], ['user_account.id'], name=op.f('fk_enterprise_visit_leader_id_user_account')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_enterprise_visit_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_visit'))
    )
    op.create_index('ix_enterprise_visit_day', 'enterprise_visit', ['visited_on', 'id'], unique=False)
    op.create_index('ix_enterprise_visit_enterprise', 'enterprise_visit', ['enterprise_id', 'visited_on', 'id'], unique=False)
    op.create_table('service_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='submitted', nullable=False),
    sa.Column('complexity', sa.String(length=16), server_default='ordinary', nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('arrange_due_on', sa.Date(), nullable=False),
    sa.Column('feedback_due_on', sa.Date(), nullable=False),
    sa.Column('solve_due_on', sa.Date(), nullable=False),
    sa.Column('solve_from', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('arranged_by_id', sa.Integer(), nullable=True),
    sa.Column('arranged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrangement', sa.Text(), nullable=False),
    sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('solution', sa.Text(), nullable=False),
    sa.Column('reopened_times', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating', sa.String(length=16), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("complexity IN ('ordinary', 'complex')", name=op.f('ck_service_request_complexity_known')),
    sa.CheckConstraint("kind IN ('power', 'utilities', 'road', 'land', 'approval', 'policy', 'financing', 'labour', 'other')", name=op.f('ck_service_request_kind_known')),
    sa.CheckConstraint("rating IS NULL OR rating IN ('satisfied', 'unsatisfied')", name=op.f('ck_service_request_rating_known')),
    sa.CheckConstraint("source IN ('portal', 'visit', 'staff')", name=op.f('ck_service_request_source_known')),
    sa.CheckConstraint("status IN ('submitted', 'arranged', 'feedback_given', 'solved', 'reopened', 'closed', 'withdrawn')", name=op.f('ck_service_request_status_known')),
    sa.CheckConstraint('arrange_due_on <= feedback_due_on', name=op.f('ck_service_request_arrange_before_feedback')),
    sa.ForeignKeyConstraint(['arranged_by_id'], ['user_account.id'], name=op.f('fk_service_request_arranged_by_id_user_account')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_service_request_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_service_request_project_id_project')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_service_request_submitted_by_id_user_account')),
    sa.ForeignKeyConstraint(['visit_id'], ['enterprise_visit.id'], name=op.f('fk_service_request_visit_id_enterprise_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request'))
    )
    op.create_index('ix_service_request_department', 'service_request', ['department', 'submitted_at', 'id'], unique=False)
    op.create_index('ix_service_request_due', 'service_request', ['status', 'due_on'], unique=False)
    op.create_index('ix_service_request_enterprise', 'service_request', ['enterprise_id', 'submitted_at', 'id'], unique=False)
    op.create_index('ix_service_request_open', 'service_request', ['status', 'department', 'submitted_on'], unique=False)
    op.create_index('ix_service_request_recent', 'service_request', ['submitted_at', 'id'], unique=False)
    op.create_index('ix_service_request_status', 'service_request', ['status', 'submitted_at', 'id'], unique=False)
    op.create_index('ix_service_request_visit', 'service_request', ['visit_id'], unique=False)
    op.create_table('service_request_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("step IN ('arrange', 'feedback', 'solve')", name=op.f('ck_service_request_escalation_step_known')),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_service_request_escalation_request_id_service_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request_escalation')),
    sa.UniqueConstraint('request_id', 'step', 'due_on', name=op.f('uq_service_request_escalation_request_id'))
    )


def downgrade() -> None:
    op.drop_table('service_request_escalation')
    op.drop_index('ix_service_request_visit', table_name='service_request')
    op.drop_index('ix_service_request_status', table_name='service_request')
    op.drop_index('ix_service_request_recent', table_name='service_request')
    op.drop_index('ix_service_request_open', table_name='service_request')
    op.drop_index('ix_service_request_enterprise', table_name='service_request')
    op.drop_index('ix_service_request_due', table_name='service_request')
    op.drop_index('ix_service_request_department', table_name='service_request')
    op.drop_table('service_request')
    op.drop_index('ix_enterprise_visit_enterprise', table_name='enterprise_visit')
    op.drop_index('ix_enterprise_visit_day', table_name='enterprise_visit')
    op.drop_table('enterprise_visit')

"""plans: 包联服务, the promotion plan of each project

Revision ID: 0024_plans
Revises: 0023_fees
Create Date: 2026-12-04

A signed project has a promotion plan (``promotion_plan``: its promoting unit,
its dedicated staff member, its earliest open milestone for the leadership
list), the plan's milestones (``plan_milestone``) and the escalations of a late
milestone, each recorded once (``plan_reminder``). Projects signed before this
revision get their plan when the lead opens it.
"""

import sqlalchemy as sa
from alembic import op


revision = '0024_plans'
down_revision = '0023_fees'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promotion_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('promoting_unit', sa.String(length=200), server_default='', nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('next_due_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_promotion_plan_project_id_project')),
    sa.ForeignKeyConstraint(['staff_id'], ['user_account.id'], name=op.f('fk_promotion_plan_staff_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_plan')),
    sa.UniqueConstraint('project_id', name=op.f('uq_promotion_plan_project_id'))
    )
    with op.batch_alter_table('promotion_plan', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_plan_next_due', ['next_due_on', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_plan_staff_id'), ['staff_id'], unique=False)

    op.create_table('plan_milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('achieved_on', sa.Date(), nullable=True),
    sa.Column('achieved_how', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("kind IN ('sign', 'start', 'completion', 'production', 'capacity', 'custom')", name=op.f('ck_plan_milestone_kind_known')),
    sa.CheckConstraint("source IN ('agreement', 'default', 'lead')", name=op.f('ck_plan_milestone_source_known')),
    sa.CheckConstraint('(achieved_on IS NULL) = (achieved_how IS NULL)', name=op.f('ck_plan_milestone_achieved_how_known')),
    sa.ForeignKeyConstraint(['plan_id'], ['promotion_plan.id'], name=op.f('fk_plan_milestone_plan_id_promotion_plan')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_plan_milestone_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_milestone'))
    )
    with op.batch_alter_table('plan_milestone', schema=None) as batch_op:
        batch_op.create_index('ix_plan_milestone_open_planned', ['planned_on', 'id'], unique=False, postgresql_where=sa.text('achieved_on IS NULL'), sqlite_where=sa.text('achieved_on IS NULL'))
        batch_op.create_index('ix_plan_milestone_plan', ['plan_id', 'planned_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_milestone_project_id'), ['project_id'], unique=False)

    op.create_table('plan_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('reached_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('catch_up', sa.Boolean(), nullable=False),
    sa.CheckConstraint("level IN ('red', 'escalate_lead', 'escalate_supervisor', 'escalate_leadership')", name=op.f('ck_plan_reminder_level_known')),
    sa.ForeignKeyConstraint(['milestone_id'], ['plan_milestone.id'], name=op.f('fk_plan_reminder_milestone_id_plan_milestone'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_reminder')),
    sa.UniqueConstraint('milestone_id', 'level', 'planned_on', name=op.f('uq_plan_reminder_milestone_id'))
    )


def downgrade() -> None:
    op.drop_table('plan_reminder')
    with op.batch_alter_table('plan_milestone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_milestone_project_id'))
        batch_op.drop_index('ix_plan_milestone_plan')
        batch_op.drop_index('ix_plan_milestone_open_planned', postgresql_where=sa.text('achieved_on IS NULL'), sqlite_where=sa.text('achieved_on IS NULL'))

    op.drop_table('plan_milestone')
    with op.batch_alter_table('promotion_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_plan_staff_id'))
        batch_op.drop_index('ix_promotion_plan_next_due')

    op.drop_table('promotion_plan')

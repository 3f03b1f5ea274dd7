"""intention pages: the indexes of the intention ledger, the pipeline's step
lists and the stale-intention sweep

Revision ID: 0008_intention_pages
Revises: 0007_history
Create Date: 2026-12-05

- a stage's projects by planned investment (largest first), code and id, and
  the suspended ones by the stage they were suspended from (the pipeline's
  step lists and the open intentions);
- the signing and the termination of an intention in the audit log, newest
  first (the ledger's converted and dropped lists), as partial indexes;
- a project's follow-ups by contact date (replaces the index on project_id);
- the stale-intention reminders per project (the sweep's "once").
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_intention_pages'
down_revision = '0007_history'
branch_labels = None
depends_on = None

INVESTMENT = sa.text('coalesce(investment_wan, 0) DESC')
DROPPED = "action = 'project.terminate' AND from_state = 'intention'"


def _where(clause: str) -> dict:
    return {"postgresql_where": sa.text(clause), "sqlite_where": sa.text(clause)}


def upgrade() -> None:
    op.create_index('ix_project_stage_investment', 'project', ['stage', INVESTMENT, 'code', 'id'])
    op.create_index('ix_project_suspended_investment', 'project',
                    ['suspended_from', INVESTMENT, 'code', 'id'], **_where("stage = 'suspended'"))
    op.create_index('ix_audit_event_signed', 'audit_event', ['at', 'id'],
                    **_where("action = 'project.sign'"))
    op.create_index('ix_audit_event_dropped', 'audit_event', ['at', 'id'], **_where(DROPPED))
    op.create_index('ix_follow_up_project_contacted', 'follow_up', ['project_id', 'contacted_on'])
    op.drop_index('ix_follow_up_project_id', table_name='follow_up')
    op.create_index('ix_notification_intention_stale', 'notification', ['project_id', 'created_at'],
                    **_where("kind = 'intention_stale'"))


def downgrade() -> None:
    op.drop_index('ix_notification_intention_stale', table_name='notification')
    op.create_index('ix_follow_up_project_id', 'follow_up', ['project_id'])
    op.drop_index('ix_follow_up_project_contacted', table_name='follow_up')
    op.drop_index('ix_audit_event_dropped', table_name='audit_event')
    op.drop_index('ix_audit_event_signed', table_name='audit_event')
    op.drop_index('ix_project_suspended_investment', table_name='project')
    op.drop_index('ix_project_stage_investment', table_name='project')

"""calendar: which task dates are provisional, and the holiday schedules put in force

Revision ID: 0016_calendar
Revises: 0015_clocks
Create Date: 2026-12-14

A task remembers whether any of its dates or pause counts depends on a year
whose State Council holiday notice is not published yet (``dates_provisional``;
existing tasks take their due date's flag). ``calendar_schedule`` records each
holiday schedule the engine put in force, so that the scheduler notices a newly
published year once and recomputes those tasks. No row is written here: the
first sweep after the upgrade records the schedule in force and brings the
provisional dates up to it (which now counts 补假).
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0016_calendar'
down_revision = '0015_clocks'
branch_labels = None
depends_on = None


def _quietly():
    """SQLite's batch mode reflects the tables the foreign keys name and warns
    that it skips their expression indexes, which it neither needs nor touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    op.create_table(
        'calendar_schedule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('previous_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('published_years', sa.String(length=200), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('tasks_checked', sa.Integer(), nullable=False),
        sa.Column('tasks_changed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_schedule')),
        sa.UniqueConstraint('previous_id', 'fingerprint',
                            name=op.f('uq_calendar_schedule_previous_id')),
    )
    context = _quietly()
    try:
        with op.batch_alter_table('item_task', schema=None) as batch_op:
            batch_op.add_column(sa.Column('dates_provisional', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    finally:
        context.__exit__(None, None, None)
    op.execute("UPDATE item_task SET dates_provisional = due_provisional")


def downgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('item_task', schema=None) as batch_op:
            batch_op.drop_column('dates_provisional')
    finally:
        context.__exit__(None, None, None)
    op.drop_table('calendar_schedule')

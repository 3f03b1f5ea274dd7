"""land: item deadlines as checkpoints, stoppages and government-caused delays, tall storeys, choices

Revision ID: 0019_land
Revises: 0018_mandate
Create Date: 2026-12-12

- A project records the alternatives it does (``project.choices``: the EIA
  report rather than the report form).
- A checkpoint may belong to an item of the definition (``item_code``): the
  start within 3 months of the construction permit (``item_reach``), the
  enterprise's filing within 15 days of the completion acceptance
  (``item_submit``). The unique key becomes (project, kind, item); the
  agreement's four checks keep ``item_code = ''``.
- A capacity report carries the floor area of storeys higher than 8 m, which
  the floor-area ratio counts twice.
- ``land_stoppage``: construction stopped, with the developed area and the
  investment made (the second criterion of idle land); ``idle_exemption``: a
  delay the government caused, with its cause and reason.
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0019_land'
down_revision = '0018_mandate'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('start', 'completion', 'production', 'capacity')"
NEW_KINDS = ("kind IN ('start', 'completion', 'production', 'capacity', 'item_reach', "
             "'item_submit')")
CAUSES = ("land_not_delivered", "plan_changed", "policy_changed", "petitions",
          "military_or_relics", "other_government", "force_majeure")
RUNNING = sa.text("resumed_on IS NULL")


def _quietly():
    """SQLite's batch mode reflects the tables the foreign keys name and warns
    that it skips their expression indexes, which it neither needs nor touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    # Plain ALTER TABLE on the project (a batch copy on SQLite would lose its
    # expression indexes).
    op.add_column('project', sa.Column('choices', sa.JSON(), nullable=True))
    context = _quietly()
    try:
        with op.batch_alter_table('checkpoint', schema=None) as batch_op:
            batch_op.add_column(sa.Column('item_code', sa.String(length=64), server_default='',
                                          nullable=False))
            batch_op.drop_constraint(op.f('uq_checkpoint_project_id'), type_='unique')
            batch_op.create_unique_constraint(op.f('uq_checkpoint_project_id'),
                                              ['project_id', 'kind', 'item_code'])
            batch_op.drop_constraint(op.f('ck_checkpoint_kind_known'), type_='check')
            batch_op.create_check_constraint('kind_known', NEW_KINDS)
        with op.batch_alter_table('capacity_report', schema=None) as batch_op:
            batch_op.add_column(sa.Column('tall_floor_area_m2', sa.Numeric(precision=16, scale=2),
                                          server_default='0', nullable=False))
    finally:
        context.__exit__(None, None, None)
    op.create_table(
        'land_stoppage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('stopped_on', sa.Date(), nullable=False),
        sa.Column('resumed_on', sa.Date(), nullable=True),
        sa.Column('built_area_mu', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('area_mu', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('invested_wan', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('total_investment_wan', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('idle_warned_on', sa.Date(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("built_area_mu >= 0 AND area_mu > 0 AND built_area_mu <= area_mu",
                           name=op.f('ck_land_stoppage_area_within_parcel')),
        sa.CheckConstraint("invested_wan >= 0 AND total_investment_wan > 0",
                           name=op.f('ck_land_stoppage_investment_known')),
        sa.CheckConstraint("resumed_on IS NULL OR resumed_on >= stopped_on",
                           name=op.f('ck_land_stoppage_resumed_after')),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                                name=op.f('fk_land_stoppage_project_id_project')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'],
                                name=op.f('fk_land_stoppage_recorded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_land_stoppage')),
    )
    op.create_index('ix_land_stoppage_project', 'land_stoppage', ['project_id', 'id'])
    op.create_index('ix_land_stoppage_running', 'land_stoppage', ['stopped_on', 'id'],
                    postgresql_where=RUNNING, sqlite_where=RUNNING)
    op.create_table(
        'idle_exemption',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('cause', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_on', sa.Date(), nullable=True),
        sa.CheckConstraint(f"cause IN ({', '.join(repr(c) for c in CAUSES)})",
                           name=op.f('ck_idle_exemption_cause_known')),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'],
                                name=op.f('fk_idle_exemption_project_id_project')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'],
                                name=op.f('fk_idle_exemption_recorded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idle_exemption')),
    )
    op.create_index('ix_idle_exemption_project', 'idle_exemption', ['project_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_idle_exemption_project', table_name='idle_exemption')
    op.drop_table('idle_exemption')
    op.drop_index('ix_land_stoppage_running', table_name='land_stoppage',
                  postgresql_where=RUNNING, sqlite_where=RUNNING)
    op.drop_index('ix_land_stoppage_project', table_name='land_stoppage')
    op.drop_table('land_stoppage')
    op.execute("DELETE FROM checkpoint WHERE kind IN ('item_reach', 'item_submit')")
    context = _quietly()
    try:
        with op.batch_alter_table('capacity_report', schema=None) as batch_op:
            batch_op.drop_column('tall_floor_area_m2')
        with op.batch_alter_table('checkpoint', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_checkpoint_kind_known'), type_='check')
            batch_op.create_check_constraint('kind_known', OLD_KINDS)
            batch_op.drop_constraint(op.f('uq_checkpoint_project_id'), type_='unique')
            batch_op.create_unique_constraint(op.f('uq_checkpoint_project_id'),
                                              ['project_id', 'kind'])
            batch_op.drop_column('item_code')
    finally:
        context.__exit__(None, None, None)
    op.drop_column('project', 'choices')

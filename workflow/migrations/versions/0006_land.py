"""land and chemicals: the indexes of their paged lists

Revision ID: 0006_land
Revises: 0005_province_scale
Create Date: 2026-12-04

The parcel register, the open checkpoints, the 亩均 figures and the
chemical-entry tables are read a page at a time: the open-checkpoint index
gains the id (its keyset), the projects on a parcel are indexed by code (this
replaces the plain parcel index), and the rule tables, the catalogue, the
regional evaluations and the capacity verdicts get the index of their order.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_land'
down_revision = '0005_province_scale'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('open', 'rectifying')")


def upgrade() -> None:
    with op.batch_alter_table('checkpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_checkpoint_open_due', postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_checkpoint_open_due', ['due_on', 'id'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_checkpoint_kind_status', ['kind', 'status'], unique=False)

    with op.batch_alter_table('hazardous_chemical', schema=None) as batch_op:
        batch_op.create_index('ix_hazardous_chemical_level_name', ['level', 'name', 'id'], unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_parcel_id')
        batch_op.create_index('ix_project_parcel_code', ['parcel_id', 'code', 'id'], unique=False)

    with op.batch_alter_table('regional_evaluation', schema=None) as batch_op:
        batch_op.create_index('ix_regional_evaluation_kind_done', ['kind', 'done_on', 'id'], unique=False)

    with op.batch_alter_table('screening_rule', schema=None) as batch_op:
        batch_op.create_index('ix_screening_rule_kind_code', ['kind', 'code', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('screening_rule', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_rule_kind_code')

    with op.batch_alter_table('regional_evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_regional_evaluation_kind_done')

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_parcel_code')
        batch_op.create_index('ix_project_parcel_id', ['parcel_id'], unique=False)

    with op.batch_alter_table('hazardous_chemical', schema=None) as batch_op:
        batch_op.drop_index('ix_hazardous_chemical_level_name')

    with op.batch_alter_table('checkpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_checkpoint_kind_status')
        batch_op.drop_index('ix_checkpoint_open_due', postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index('ix_checkpoint_open_due', ['due_on'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)

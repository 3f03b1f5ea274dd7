"""fees: what the zone pays for the unified items and the element subsidies

Revision ID: 0023_fees
Revises: 0022_predictions
Create Date: 2026-12-04

The year's budget lines (``fee_budget``), the contracts for the 14 unified
service items with their invoices and payments (a parcel's regional
evaluation contracted once: ``uq_fee_contract_evaluation``), the element
subsidies with their lifecycle, and the finance-office flag on accounts.
"""

import sqlalchemy as sa
from alembic import op


revision = '0023_fees'
down_revision = '0022_predictions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fee_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('line', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen >= 0 AND amount_fen <= 1000000000000', name=op.f('ck_fee_budget_amount_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_fee_budget_year_range')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_fee_budget_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_budget')),
    sa.UniqueConstraint('year', 'line', name=op.f('uq_fee_budget_year'))
    )
    op.create_table('element_subsidy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('market_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('preferential_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name=op.f('ck_element_subsidy_paid_when_paid')),
    sa.CheckConstraint("kind IN ('water', 'power', 'gas', 'heat')", name=op.f('ck_element_subsidy_kind_known')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'paid')", name=op.f('ck_element_subsidy_status_known')),
    sa.CheckConstraint('market_price_fen > preferential_price_fen AND preferential_price_fen >= 0', name=op.f('ck_element_subsidy_price_gap')),
    sa.CheckConstraint('quantity > 0 AND amount_fen > 0 AND amount_fen <= 1000000000000', name=op.f('ck_element_subsidy_amount_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_element_subsidy_year_range')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_element_subsidy_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_element_subsidy_project_id_project')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_element_subsidy_proposed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_element_subsidy'))
    )
    with op.batch_alter_table('element_subsidy', schema=None) as batch_op:
        batch_op.create_index('ix_element_subsidy_paid_on', ['paid_on', 'project_id'], unique=False)
        batch_op.create_index('ix_element_subsidy_project', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_element_subsidy_year_project', ['year', 'project_id'], unique=False)

    op.create_table('fee_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('parcel_id', sa.Integer(), nullable=True),
    sa.Column('evaluation_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0 AND amount_fen <= 1000000000000', name=op.f('ck_fee_contract_amount_range')),
    sa.CheckConstraint('evaluation_id IS NULL OR project_id IS NULL', name=op.f('ck_fee_contract_evaluation_shared')),
    sa.CheckConstraint('project_id IS NULL OR parcel_id IS NULL', name=op.f('ck_fee_contract_one_owner')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_fee_contract_year_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_fee_contract_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['regional_evaluation.id'], name=op.f('fk_fee_contract_evaluation_id_regional_evaluation')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcel.id'], name=op.f('fk_fee_contract_parcel_id_parcel')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_fee_contract_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_contract'))
    )
    with op.batch_alter_table('fee_contract', schema=None) as batch_op:
        batch_op.create_index('ix_fee_contract_project', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_fee_contract_parcel', ['parcel_id', 'id'], unique=False)
        batch_op.create_index('ix_fee_contract_year_item', ['year', 'item_code', 'id'], unique=False)
        batch_op.create_index('ix_fee_contract_year_parcel', ['year', 'parcel_id'], unique=False)
        batch_op.create_index('ix_fee_contract_year_project', ['year', 'project_id'], unique=False)
        batch_op.create_index('uq_fee_contract_evaluation', ['evaluation_id'], unique=True, postgresql_where=sa.text('evaluation_id IS NOT NULL'), sqlite_where=sa.text('evaluation_id IS NOT NULL'))

    op.create_table('fee_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.CheckConstraint('amount_fen > 0 AND amount_fen <= 1000000000000', name=op.f('ck_fee_invoice_amount_range')),
    sa.ForeignKeyConstraint(['contract_id'], ['fee_contract.id'], name=op.f('fk_fee_invoice_contract_id_fee_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_invoice')),
    sa.UniqueConstraint('contract_id', 'number', name=op.f('uq_fee_invoice_contract_id'))
    )
    op.create_table('fee_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.CheckConstraint('amount_fen > 0 AND amount_fen <= 1000000000000', name=op.f('ck_fee_payment_amount_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_fee_payment_year_range')),
    sa.ForeignKeyConstraint(['contract_id'], ['fee_contract.id'], name=op.f('fk_fee_payment_contract_id_fee_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_payment'))
    )
    with op.batch_alter_table('fee_payment', schema=None) as batch_op:
        batch_op.create_index('ix_fee_payment_contract', ['contract_id', 'paid_on'], unique=False)
        batch_op.create_index('ix_fee_payment_year_contract', ['year', 'contract_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finance_office', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('finance_office')

    with op.batch_alter_table('fee_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_fee_payment_year_contract')
        batch_op.drop_index('ix_fee_payment_contract')

    op.drop_table('fee_payment')
    op.drop_table('fee_invoice')
    with op.batch_alter_table('fee_contract', schema=None) as batch_op:
        batch_op.drop_index('uq_fee_contract_evaluation', postgresql_where=sa.text('evaluation_id IS NOT NULL'), sqlite_where=sa.text('evaluation_id IS NOT NULL'))
        batch_op.drop_index('ix_fee_contract_year_project')
        batch_op.drop_index('ix_fee_contract_year_parcel')
        batch_op.drop_index('ix_fee_contract_year_item')
        batch_op.drop_index('ix_fee_contract_parcel')
        batch_op.drop_index('ix_fee_contract_project')

    op.drop_table('fee_contract')
    with op.batch_alter_table('element_subsidy', schema=None) as batch_op:
        batch_op.drop_index('ix_element_subsidy_year_project')
        batch_op.drop_index('ix_element_subsidy_project')
        batch_op.drop_index('ix_element_subsidy_paid_on')

    op.drop_table('element_subsidy')
    op.drop_table('fee_budget')

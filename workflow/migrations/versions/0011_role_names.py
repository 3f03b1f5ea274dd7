"""role names: a role's people by name

Revision ID: 0011_role_names
Revises: 0010_search
Create Date: 2026-12-04

The watch list's agent menu and the choice of a lead handler read one role's
people by name; with one account per enterprise (250,000 at a million
projects) that was a scan of every account.
"""

from alembic import op

revision = '0011_role_names'
down_revision = '0010_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_role_name', ['role', 'display_name', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_role_name')

"""notify prefs: how each person wants to hear of things besides the in-app list

Revision ID: 0020_notify_prefs
Revises: 0019_land
Create Date: 2026-12-04

Email for each message (as before, the default), in one daily bundle, or
never; the webhook on (as before) or off. Existing people keep what they had.
"""

import sqlalchemy as sa
from alembic import op

revision = '0020_notify_prefs'
down_revision = '0019_land'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sa.String(length=10), server_default='now',
                                      nullable=False))
        batch_op.add_column(sa.Column('notify_webhook', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.create_check_constraint(
            'notify_email_known', "notify_email IN ('now', 'digest', 'off')")


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('notify_email_known', type_='check')
        batch_op.drop_column('notify_webhook')
        batch_op.drop_column('notify_email')

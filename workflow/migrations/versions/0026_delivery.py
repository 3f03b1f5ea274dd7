"""delivery: messages a gateway and a mail server trust

Revision ID: 0026_delivery
Revises: 0025_requests
Create Date: 2026-12-04

The outbox records when a message was last tried and whether a failed one may
have reached its receiver anyway (a timeout after the whole message was sent);
each person gets a mobile number an admin verified, for the SMS gateway, and
the secret of the one-click unsubscribe link of digest emails.
"""

import sqlalchemy as sa
from alembic import op

revision = '0026_delivery'
down_revision = '0025_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_attempt_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('in_doubt', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('mobile_verified_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('unsubscribe_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_unsubscribe_token'),
                                          ['unsubscribe_token'])


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_unsubscribe_token'), type_='unique')
        batch_op.drop_column('unsubscribe_token')
        batch_op.drop_column('mobile_verified_at')
        batch_op.drop_column('mobile')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('in_doubt')
        batch_op.drop_column('last_attempt_at')

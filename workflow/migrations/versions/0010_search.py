"""search and lookups: trigram indexes for the lists' text search
(PostgreSQL), and an enterprise's accounts by enterprise

Revision ID: 0010_search
Revises: 0009_accounts
Create Date: 2026-12-04

The lists search a fragment of a project's code or name, an enterprise's
name, a user's username or name (``ILIKE '%…%'``), which no B-tree serves. On
PostgreSQL, pg_trgm's GIN indexes do (pg_trgm is a trusted extension: the
database's owner may create it). SQLite has nothing of the kind and scans.

Every notice to an enterprise looks up its accounts (``user_account.enterprise_id``),
which scanned the accounts table: a zone has one account per enterprise.
"""

from alembic import op

revision = '0010_search'
down_revision = '0009_accounts'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_enterprise_name_trgm", "enterprise", "name"),
    ("ix_project_code_trgm", "project", "code"),
    ("ix_project_name_trgm", "project", "name"),
    ("ix_user_account_username_trgm", "user_account", "username"),
    ("ix_user_account_display_name_trgm", "user_account", "display_name"),
)


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_enterprise_id'), ['enterprise_id'],
                              unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _ in INDEXES:
            op.drop_index(name, table_name=table)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_enterprise_id'))

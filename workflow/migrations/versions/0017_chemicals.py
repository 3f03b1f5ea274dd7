"""chemicals: classes of chemicals, aliases, the provincial substances

Revision ID: 0017_chemicals
Revises: 0016_calendar
Create Date: 2026-12-12

The provincial conditions ban classes (cyanides, chlorates, highly toxic and
specially controlled chemicals) and name substances that go by other names
(液氯 for chlorine). A catalogue row now carries its aliases, the classes it
belongs to and whether the provincial text names it; the classes are a table
of their own (name patterns, exclusions, level). ``daiban init`` installs the
shipped classes and the provincial substances into the upgraded tables.
"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0017_chemicals'
down_revision = '0016_calendar'
branch_labels = None
depends_on = None


def _quietly():
    """SQLite's batch mode copies the table and warns that it skips the
    expression indexes of the tables it reflects, which it never touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    op.create_table(
        'chemical_class',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('patterns', sa.JSON(), nullable=False),
        sa.Column('excludes', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('provincial', sa.Boolean(), nullable=False),
        sa.CheckConstraint("level IN ('prohibited', 'restricted', 'controlled')",
                           name=op.f('ck_chemical_class_level_known')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chemical_class')),
        sa.UniqueConstraint('code', name=op.f('uq_chemical_class_code')),
        sa.UniqueConstraint('name', name='uq_chemical_class_name'),
    )
    context = _quietly()
    try:
        with op.batch_alter_table('hazardous_chemical', schema=None) as batch_op:
            batch_op.add_column(sa.Column('aliases', sa.JSON(), nullable=False,
                                          server_default=sa.text("'[]'")))
            batch_op.add_column(sa.Column('classes', sa.JSON(), nullable=False,
                                          server_default=sa.text("'[]'")))
            batch_op.add_column(sa.Column('provincial', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    finally:
        context.__exit__(None, None, None)


def downgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('hazardous_chemical', schema=None) as batch_op:
            batch_op.drop_column('provincial')
            batch_op.drop_column('classes')
            batch_op.drop_column('aliases')
    finally:
        context.__exit__(None, None, None)
    op.drop_table('chemical_class')

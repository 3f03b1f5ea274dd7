"""mandate: the enterprise signs or declines the mandate and a change of its scope

Revision ID: 0018_mandate
Revises: 0017_chemicals
Create Date: 2026-12-20

The 代办服务委托书 and a continuation mandate that changes its scope wait for
the enterprise's answer (DB14/T 2233: agents act on the applicant's mandate):
signed in the portal (typed name, consent, the SHA-256 of the text shown) or
on paper (recorded by a lead handler with its scan), or declined with a reason.

Old data: before this revision the engine issued the mandate only when the
project was mandated, which its operation recorded as the enterprise signing
it (in practice on paper, at the counter), and a change of scope printed
"经委托方同意". Treating those as unsigned would stop every running project
overnight for a signature that was in fact given. So every mandate and every
change of scope already issued is recorded as signed on paper on its issue
day (``signed_via = 'paper'``, ``signed_on`` = the document's ``issued_on``,
``answered_at`` = its ``issued_at``) with no signatory, no scan and no user
who recorded it: the pages say it was signed before online signatures
existed. A change of agent (a handoff continuation) and the slips are not the
enterprise's to sign and get no answer.
"""

import warnings
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0018_mandate'
down_revision = '0017_chemicals'
branch_labels = None
depends_on = None

DOCUMENTS = sa.table(
    "agency_document", sa.column("id", sa.Integer), sa.column("kind", sa.String),
    sa.column("data", sa.JSON), sa.column("issued_at", sa.DateTime(timezone=True)),
    sa.column("status", sa.String), sa.column("signed_via", sa.String),
    sa.column("signed_on", sa.Date), sa.column("answered_at", sa.DateTime(timezone=True)))


def _quietly():
    """SQLite's batch mode reflects the tables the foreign keys name and warns
    that it skips their expression indexes, which it neither needs nor touches."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    return context


def upgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('agency_document', schema=None) as batch_op:
            batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column('signed_via', sa.String(length=8), nullable=True))
            batch_op.add_column(sa.Column('signed_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('signatory', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('signed_sha256', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('scan_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True),
                                          nullable=True))
            batch_op.add_column(sa.Column('decline_reason', sa.Text(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_agency_document_scan_id_attachment'),
                                        'attachment', ['scan_id'], ['id'])
            batch_op.create_foreign_key(batch_op.f('fk_agency_document_answered_by_id_user_account'),
                                        'user_account', ['answered_by_id'], ['id'])
        _sign_what_was_issued()
        with op.batch_alter_table('agency_document', schema=None) as batch_op:
            batch_op.create_check_constraint(
                'status_known', "status IS NULL OR status IN ('awaiting', 'signed', 'declined')")
            batch_op.create_check_constraint(
                'signed_via_known', "signed_via IS NULL OR signed_via IN ('portal', 'paper')")
            batch_op.create_check_constraint(
                'signed_has_how_and_when',
                "status <> 'signed' OR (signed_via IS NOT NULL AND signed_on IS NOT NULL)")
    finally:
        context.__exit__(None, None, None)


def _sign_what_was_issued() -> None:
    """Mandates and changes of scope issued before signatures: signed on paper
    on their issue day (see the module's docstring)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(DOCUMENTS.c.id, DOCUMENTS.c.kind, DOCUMENTS.c.data,
                                  DOCUMENTS.c.issued_at)
                        .where(DOCUMENTS.c.kind.in_(("mandate", "continuation")))).all()
    for row in rows:
        data = row.data or {}
        if row.kind == "continuation" and data.get("change") != "scope":
            continue  # a change of agent: not the enterprise's to sign
        issued_on = data.get("issued_on")
        day = date.fromisoformat(issued_on) if issued_on else row.issued_at.date()
        bind.execute(DOCUMENTS.update().where(DOCUMENTS.c.id == row.id).values(
            status="signed", signed_via="paper", signed_on=day, answered_at=row.issued_at))


def downgrade() -> None:
    context = _quietly()
    try:
        with op.batch_alter_table('agency_document', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_agency_document_signed_has_how_and_when'),
                                     type_='check')
            batch_op.drop_constraint(op.f('ck_agency_document_signed_via_known'), type_='check')
            batch_op.drop_constraint(op.f('ck_agency_document_status_known'), type_='check')
            batch_op.drop_constraint(op.f('fk_agency_document_answered_by_id_user_account'),
                                     type_='foreignkey')
            batch_op.drop_constraint(op.f('fk_agency_document_scan_id_attachment'),
                                     type_='foreignkey')
            for column in ('decline_reason', 'answered_at', 'answered_by_id', 'scan_id',
                           'signed_sha256', 'signatory', 'signed_on', 'signed_via', 'status'):
                batch_op.drop_column(column)
    finally:
        context.__exit__(None, None, None)

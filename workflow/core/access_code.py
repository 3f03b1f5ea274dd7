"""Issuing an access code (查询码): generated, its argon2id hash stored on the
project, an audit event that says a code was issued (never the code). Here in
the core so that the mandate, which prints the code, can issue one in the same
transaction; ``workflow.accounts.access_codes`` checks codes and limits lookups.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import audit
from workflow.core.models import AuditEvent, Project
from workflow.core.operations import flush, utc
from workflow.kernel.models import User
from workflow.kernel.passwords import hash_password

# No I, L, O, 0, 1: nothing a reader can mistake for something else.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8  # 31^8 ≈ 8.5e11 codes; with a slow hash and the rate limit, enough.
ISSUED = "project.access_code_issued"


def display(code: str) -> str:
    """``ABCDEFGH`` → ``ABCD-EFGH`` (easier to read out and to type)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == LENGTH else code


def renew(session: Session, project: Project, *, actor: User | None, now: datetime) -> str:
    """A new code for the (locked, permitted) project, replacing any previous
    one; the plain code is returned (formatted ``ABCD-EFGH``) and only its
    hash is stored on the project."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    replaced = project.access_code_hash is not None
    project.access_code_hash = hash_password(code)
    audit.record(session, project, actor=actor, now=utc(now), action=ISSUED,
                 data={"replaced": replaced}, public=False)
    flush(session)
    return display(code)


def last_issued_seq(session: Session, project_id: int) -> int | None:
    """The project's audit sequence number of its current code's issue (None: never)."""
    return session.scalar(select(AuditEvent.seq).where(
        AuditEvent.project_id == project_id, AuditEvent.action == ISSUED)
        .order_by(AuditEvent.seq.desc()).limit(1))

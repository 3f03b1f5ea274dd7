"""Bearer tokens for the JSON API (``Authorization: Bearer <token>``).

A token is shown once, when it is issued (``daiban token create USERNAME``);
only its SHA-256 is stored, so a copy of the database does not yield working
tokens. Revoking a token stamps ``revoked_at``; the row stays for the record.
Like every operation these take the session and the time and only flush: the
caller commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.operations import flush, utc
from workflow.kernel import zone_audit
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import ApiToken, User

PREFIX = "dbn_"  # recognisable in logs and by secret scanners
NAME_MAX = 100


def token_hash(token: str) -> str:
    """What the database keeps of a token — a bearer token here, a login
    session's token in the web — its SHA-256, hex-encoded."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, name: str = "",
                now: datetime) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``. Returns the row and the plain token,
    which exists nowhere else afterwards: show it once. An inactive user gets
    no token (their existing ones stop working with the account anyway)."""
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise ValidationError("A token name is at most {limit} characters.", limit=NAME_MAX)
    if not user.active:
        raise ValidationError("User {user} is not active; no token issued.",
                              user=user.username)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), name=name,
                   created_at=utc(now))
    session.add(row)
    flush(session)
    zone_audit.record(session, actor=None, now=now, action="token.issued",
                      subject=f"user:{user.username}", data={"token": row.id, "name": name})
    return row, token


def issue_token_for(session: Session, username: str, *, name: str = "",
                    now: datetime) -> tuple[ApiToken, str]:
    """``issue_token`` for the user called ``username`` (the CLI's entry)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("There is no user '{user}'.", user=username)
    return issue_token(session, user, name=name, now=now)


def revoke_token(session: Session, token_id: int, *, now: datetime) -> tuple[ApiToken, bool]:
    """Revoke token ``token_id``. Returns the row and whether this call revoked
    it (False: it was revoked already — revoking is idempotent)."""
    row = session.get(ApiToken, token_id, with_for_update=True)
    if row is None:
        raise NotFound("There is no API token #{token}.", token=token_id)
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = utc(now)
    flush(session)
    zone_audit.record(session, actor=None, now=now, action="token.revoked",
                      subject=f"user:{row.user.username}", data={"token": row.id, "name": row.name})
    return row, True

"""Accounts locked out by the login limit, for the admin to see and lift.

The limit itself is the web's (``web.support.security``): a username with
``failures`` failed logins within ``window`` is refused until the oldest of
them leaves the window. This module reads the same ``login_attempt`` rows to
say until when, and an unlock forgets the username's failures (each one stays
in the security log), so the limit counts from zero again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow.accounts import security_log
from workflow.accounts.security_log import NOBODY, Client
from workflow.accounts.users import AdminChange, _load_user, _recorded, _require_admin
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import LoginAttempt, User
from workflow.kernel.moments import aware


@dataclass(frozen=True)
class Limit:
    """The login limit per username: ``failures`` within ``window``."""

    failures: int = 5
    window: timedelta = timedelta(minutes=15)


def locked_until(session: Session, username: str, *, now: datetime,
                 limit: Limit) -> datetime | None:
    return locked_users(session, [username], now=now, limit=limit).get(username)


def locked_users(session: Session, usernames: Iterable[str], *, now: datetime,
                 limit: Limit) -> dict[str, datetime]:
    """The usernames among ``usernames`` that the limit refuses at ``now``,
    each with the moment it lets them try again (one query for a page of users,
    on ``ix_login_attempt_username_at``)."""
    names = list(dict.fromkeys(usernames))
    if not names or limit.failures < 1:
        return {}
    since = now.astimezone(UTC) - limit.window
    failures: dict[str, list[datetime]] = defaultdict(list)
    for name, at in session.execute(select(LoginAttempt.username, LoginAttempt.at).where(
            LoginAttempt.username.in_(names), LoginAttempt.success.is_(False),
            LoginAttempt.at >= since)):
        failures[name].append(aware(at))
    locked = {}
    for name, moments in failures.items():
        if len(moments) >= limit.failures:
            moments.sort(reverse=True)
            # Free again once fewer than ``failures`` remain in the window.
            locked[name] = moments[limit.failures - 1] + limit.window
    return locked


def just_locked(session: Session, username: str, *, now: datetime, limit: Limit) -> bool:
    """Whether the failure just recorded for ``username`` is the one that
    reached the limit (so the lockout is logged once, not at every refusal)."""
    since = now.astimezone(UTC) - limit.window
    count = len(session.scalars(select(LoginAttempt.id).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False),
        LoginAttempt.at >= since).limit(limit.failures + 1)).all())
    return count == limit.failures


def unlock(session: Session, user_id: int, *, actor: User, now: datetime, limit: Limit,
           client: Client = NOBODY) -> AdminChange:
    """Lift a lockout: the username's failed logins no longer count against
    it. Written to the zone's change log and the security log."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    until = locked_until(session, user.username, now=now, limit=limit)
    if until is None:
        raise ValidationError("{user} is not locked out.", field="locked", user=user.display_name)
    forgotten = session.execute(delete(LoginAttempt).where(
        LoginAttempt.username == user.username, LoginAttempt.success.is_(False))
        .execution_options(synchronize_session=False)).rowcount or 0
    security_log.record(session, "unlock", now=now, user=user, actor=actor, client=client,
                        detail=f"until={until.isoformat()}")
    session.flush()
    return _recorded(session, actor, now, AdminChange(
        user, "user.unlocked", {"locked_until": until.isoformat(), "failures_forgotten": forgotten}))

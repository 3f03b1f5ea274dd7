"""The security log (等保 2.0 安全审计): who logged in, from where, who failed,
who logged out or was logged out for idleness, lockouts and unlocks, and every
change to a second factor.

A row is written by whoever sees the event, in the transaction of that event:
the login page for logins and failures, the account operations for factors,
unlocks and resets. The admin reads it newest first, by user or by kind, and
exports it. The zone's change log (``workflow.kernel.zone_audit``) keeps the
admins' changes to accounts; this log keeps what happened at the door.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.kernel import paging, validate
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import SECURITY_EVENTS, SecurityEvent, User


@dataclass(frozen=True)
class Client:
    """Where a request came from: its address and its browser's own words."""

    ip: str = ""
    user_agent: str = ""


NOBODY = Client()


def record(session: Session, kind: str, *, now: datetime, user: User | None = None,
           username: str | None = None, client: Client = NOBODY, actor: User | None = None,
           detail: str = "") -> SecurityEvent:
    """Add one event (flushed with the caller's transaction). ``username`` is
    the name typed at the door; it defaults to the user's."""
    if kind not in SECURITY_EVENTS:
        raise ValueError(f"Unknown security event {kind!r}")
    name = username if username is not None else (user.username if user is not None else "")
    event = SecurityEvent(at=now.astimezone(UTC), kind=kind,
                          user_id=user.id if user is not None else None, username=name[:80],
                          actor_id=actor.id if actor is not None else None,
                          ip=(client.ip or "")[:64], user_agent=(client.user_agent or "")[:300],
                          detail=detail[:300])
    session.add(event)
    return event


@dataclass(frozen=True)
class EventFilter:
    """The admin page's filters: a username (exact) and a kind; ``None`` is
    any. The web parses its query arguments into these; checked again here."""

    username: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.username is not None and (len(self.username) > 80
                                          or not validate.typeable(self.username)):
            raise ValidationError("A username has at most 80 typeable characters.",
                                  field="user")
        if self.kind is not None and self.kind not in SECURITY_EVENTS:
            raise ValidationError("Unknown kind of event '{kind}'.", field="kind",
                                  kind=self.kind[:40])


_KEYS = (paging.Key(SecurityEvent.at, datetime, descending=True),
         paging.Key(SecurityEvent.id, int, descending=True))
_NEWEST_FIRST = paging.Order.by("security-events", *_KEYS)


def _query(session: Session, filters: EventFilter):
    """The filtered events: one user's by ``ix_security_event_user`` when the
    name is an account, else by the name typed (a failed login of a name that
    is no account); one kind's by ``ix_security_event_kind``."""
    query = select(SecurityEvent)
    if filters.username:
        user_id = session.scalar(select(User.id).where(User.username == filters.username))
        if user_id is not None:
            query = query.where(SecurityEvent.user_id == user_id)
        else:
            query = query.where(SecurityEvent.username == filters.username)
    if filters.kind:
        query = query.where(SecurityEvent.kind == filters.kind)
    return query


def page(session: Session, filters: EventFilter = EventFilter(), *, cursor: str | None = None,
         limit: int | None = None) -> paging.Page[SecurityEvent]:
    """A page of the log, newest first."""
    return paging.fetch(session, _query(session, filters), _NEWEST_FIRST, cursor=cursor,
                        limit=limit)


def every(session: Session, filters: EventFilter = EventFilter()) -> Iterator[SecurityEvent]:
    """Every event matching ``filters``, newest first, read in batches (the export)."""
    yield from paging.pages_of(session, _query(session, filters), _NEWEST_FIRST, end_reads=True)

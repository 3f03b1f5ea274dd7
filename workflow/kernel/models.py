"""The kernel's tables: definitions in force, groups, people and their logins, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("enterprise", "agent", "lead", "supervisor", "admin")
EMAIL_CHOICES = ("now", "digest", "off")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _trigram(name: str, column: str) -> Index:
    """A PostgreSQL trigram index (pg_trgm, GIN) serving ``ILIKE '%fragment%'``:
    the text searches of the lists (a project's code or name, an enterprise,
    a user). SQLite has no such index and scans; it is the single-process
    embedded database, not the province's."""
    index = Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                  info={"dialects": ("postgresql",)})
    return index.ddl_if(dialect="postgresql")


def _partial(name: str, states: tuple[str, ...], *columns: str) -> Index:
    """An index over the tasks in ``states`` only (both databases): the lists
    name the same state list, literally, so that SQLite sees it applies."""
    where = text(_in("state", states) if len(states) > 1 else f"state = '{states[0]}'")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON}


class DefinitionVersion(Base):
    """A loaded zone definition, stored whole so that running projects keep the
    version they started under even after the files on disk change."""

    __tablename__ = "definition_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64), unique=True)
    # The whole definition: loaded only when a version is first built (it is
    # large and every operation touches the version row).
    source: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)


class IndustryGroup(Base):
    """One of the zone's five industry groups (产业专班)."""

    __tablename__ = "industry_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    memberships: Mapped[list[GroupMembership]] = relationship(back_populates="group")


class Enterprise(Base):
    __tablename__ = "enterprise"
    __table_args__ = (_trigram("ix_enterprise_name_trgm", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint(_in("notify_email", EMAIL_CHOICES), name="notify_email_known"),
        # The admin's user list: by role then username, one range per active
        # flag (and per role when filtered), e.g. the zone's enterprise accounts.
        Index("ix_user_account_list", "active", "role", "username", "id"),
        # A role's people by name (the filter menus' agents, the leads to
        # choose from): a zone has tens of thousands of enterprise accounts.
        Index("ix_user_account_role_name", "role", "display_name", "id"),
        # Its search by a fragment of the username or the name.
        _trigram("ix_user_account_username_trgm", "username"),
        _trigram("ix_user_account_display_name_trgm", "display_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64))  # agents: home department
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # How the person wants to hear of things besides the in-app list (always on):
    # email for each message ("now"), bundled once a working day ("digest") or
    # never ("off"); the webhook (an SMS or chat gateway) on or off.
    notify_email: Mapped[str] = mapped_column(String(10), default="now", server_default="now")
    notify_webhook: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # The finance office (财政/财务): a staff account so flagged keeps the zone's
    # fees, budgets and subsidies (workflow.reforms.fees) beside its own role.
    finance_office: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The person's own mobile number for the SMS gateway (the webhook's
    # ``recipient.phone``), used only once an admin verified it with the person
    # (``workflow.accounts.mobile``); never the company's landline.
    mobile: Mapped[str | None] = mapped_column(String(20))
    mobile_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The secret in the one-click unsubscribe link of digest emails (RFC 8058),
    # made when the first digest is written.
    unsubscribe_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    enterprise: Mapped[Enterprise | None] = relationship()
    substitute: Mapped[User | None] = relationship(remote_side=[id])
    memberships: Mapped[list[GroupMembership]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class GroupMembership(Base):
    __tablename__ = "group_membership"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    group: Mapped[IndustryGroup] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


SAVED_FILTER_PAGES = ("inbox", "desk")


class SavedFilter(Base):
    """A filter of a list page a person saved under a name (``page``: which
    list). ``query`` is the page's query string as its own input model parsed
    and wrote it back (``web.views.saved_filters``), checked again before use."""

    __tablename__ = "saved_filter"
    __table_args__ = (
        CheckConstraint(_in("page", SAVED_FILTER_PAGES), name="page_known"),
        # One name per person and page; their filters by page and name.
        UniqueConstraint("user_id", "page", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    page: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- accounts: sessions, login throttling, API tokens ----------------------------------


class LoginSession(Base):
    """A server-side login session: logging out revokes the row, so a copied
    cookie is worthless afterwards."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last request seen on it (kept to the minute): a staff session idle
    # longer than the app's limit ends (``web.support.security``).
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Opened by a password alone for a user who must enrol a second factor
    # first: it reaches nothing but the enrolment page until they do.
    must_enrol: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful logins, shared by every worker for rate limiting."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    success: Mapped[bool] = mapped_column(Boolean)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
class SecondFactor(Base):
    """A user's authenticator app (TOTP, RFC 6238): its secret sealed with a
    key derived from the app's secret (``workflow.accounts.twofactor``), and
    the last time step accepted so the same code is never taken twice. A row
    without ``confirmed_at`` is an enrolment begun and not yet confirmed."""

    __tablename__ = "second_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Base):
    """A one-time recovery code: only its keyed SHA-256 is kept."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


SECURITY_EVENTS = ("login", "login_failed", "logout", "session_idle", "lockout", "unlock",
                   "factor_enrolled", "recovery_used", "recovery_regenerated", "factor_reset")


class SecurityEvent(Base):
    """The security log (等保 安全审计): logins, failures, logouts, second
    factors, lockouts. ``username`` is the name typed (there may be no such
    user); ``user_id`` the account, when there is one."""

    __tablename__ = "security_event"
    __table_args__ = (
        CheckConstraint(_in("kind", SECURITY_EVENTS), name="kind_known"),
        # The admin's page, newest first: all, one user's, one kind's.
        Index("ix_security_event_at", "at", "id"),
        Index("ix_security_event_user", "user_id", "at", "id"),
        Index("ix_security_event_kind", "kind", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    username: Mapped[str] = mapped_column(String(80), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


OUTBOX_CHANNELS = ("email", "webhook")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    """A message to send after the commit (email, webhook), with its retries.

    ``pending`` rows are due at ``next_attempt_at`` (a retry is pending again,
    later); a sender claims a row by setting ``sending`` and ``locked_until``;
    ``failed`` is final and shown to admins."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        CheckConstraint(_in("channel", OUTBOX_CHANNELS), name="channel_known"),
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        # The sender's claim query: due rows by status and time.
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # The admin's list of failed deliveries, newest first.
        Index("ix_outbox_message_failed", "created_at", "id",
              postgresql_where=text("status = 'failed'"), sqlite_where=text("status = 'failed'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None]
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When it was last tried (the admin's list shows it), and whether the last
    # attempt may have reached the receiver although no answer came back (a
    # timeout after the whole message was sent): such a row is ``failed`` and
    # is not retried on its own, so a slow receiver never gets it twice.
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


# =====================================================================================
# The zone's own record of who changed what outside any project: accounts, roles,
# groups, tokens, parcels, chemical tables, definitions (``workflow.kernel.zone_audit``).
# =====================================================================================

ZONE_AUDIT_CHANNELS = ("web", "api", "cli", "scheduler", "system")


class ZoneAuditChain(Base):
    """The head of a zone's change log: appending locks this row, so
    sequence numbers never race and the chain never forks."""

    __tablename__ = "zone_audit_chain"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(64))


class ZoneAuditEvent(Base):
    """Append-only, hash-chained per zone like a project's events: ``hash``
    covers the content and the previous hash, so an edit or a deletion breaks
    the chain ``daiban audit verify`` walks."""

    __tablename__ = "zone_audit_event"
    __table_args__ = (
        # The chain in order (the verifier; the admin's page, newest first).
        UniqueConstraint("zone", "seq"),
        CheckConstraint(_in("via", ZONE_AUDIT_CHANNELS), name="via"),
        CheckConstraint("seq > 0", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))  # "user:agent01", "parcel:ZY-2024-01", …
    data: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


# =====================================================================================
# The holiday schedules the engine has put in force (``workflow.core.calendar_refresh``).
# =====================================================================================

class CalendarSchedule(Base):
    """One holiday schedule put in force: when the clock's fingerprint
    (``clock.schedule_source()``) differs from the last row's, the first process
    that notices inserts the next row and recomputes the provisional dates in
    the same transaction. (previous_id, fingerprint) is unique, so a second
    scheduler process noticing the same change inserts nothing and does nothing."""

    __tablename__ = "calendar_schedule"
    __table_args__ = (UniqueConstraint("previous_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    previous_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: the first one recorded
    fingerprint: Mapped[str] = mapped_column(String(64))
    published_years: Mapped[str] = mapped_column(String(200))  # "2004–2027"
    source: Mapped[str] = mapped_column(Text)  # the readable description
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(16))  # scheduler, cli
    tasks_checked: Mapped[int] = mapped_column(Integer, default=0)
    tasks_changed: Mapped[int] = mapped_column(Integer, default=0)

"""Typed SQLAlchemy 2 models of the engine.

State columns are written only by ``workflow.machines`` (through the
transitions library) and by the operations in ``workflow.operations``; the
indexes serving the queries users wait on (inbox, queue, overdue sweep) are
declared beside the models they read. Invariants that a row must always hold
are CHECK constraints too, so a hand-written UPDATE cannot break them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("enterprise", "agent", "lead", "supervisor", "admin")

# Item task states. OPEN_STATES are those on the statutory clock's watch.
TASK_STATES = (
    "blocked",
    "ready",
    "assigned",
    "in_progress",
    "awaiting_enterprise",
    "submitted",
    "returned",
    "approved",
    "done",
    "covered",
    "suspended",
    "terminated",
)
CLOSED_STATES = ("done", "covered", "terminated")
OPEN_STATES = tuple(s for s in TASK_STATES if s not in CLOSED_STATES and s != "blocked")
# States in which the clock runs (a due date is watched by the overdue sweep).
CLOCK_STATES = ("ready", "assigned", "in_progress", "submitted", "returned", "approved")
PAUSED_STATES = ("awaiting_enterprise", "suspended")
# An agent's own open work, as the inbox lists it.
INBOX_STATES = ("assigned", "in_progress", "awaiting_enterprise", "submitted", "returned",
                "approved", "suspended")


# The states a lead handler's desk lists: in the queue or in someone's hands.
DESK_STATES = ("ready",) + INBOX_STATES


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


class Project(Base):
    """An investment project carried from signing to capacity (一项目一档)."""

    __tablename__ = "project"
    __table_args__ = (
        # A lead handler's projects by code (the desk), the intention ledger
        # and the pipeline's steps: a stage's projects, largest investment first.
        Index("ix_project_lead_code", "lead_id", "code", "id"),
        # The projects standing on a parcel, by code (the parcel register and
        # the parcel's page); also serves the parcel foreign key.
        Index("ix_project_parcel_code", "parcel_id", "code", "id"),
        # The enterprise portal: an enterprise's projects, newest first.
        Index("ix_project_enterprise_created", "enterprise_id", "created_at", "id"),
        # The lists' search by a fragment of a project's code or name.
        _trigram("ix_project_code_trgm", "code"),
        _trigram("ix_project_name_trgm", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 项目代码
    name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    industry: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    parcel: Mapped[str | None] = mapped_column(String(64))  # label shown before a Parcel row exists
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"))
    # 意向项目台账: why the enterprise hesitates and what it asks for (latest).
    hesitation: Mapped[str | None] = mapped_column(Text)
    asks: Mapped[str | None] = mapped_column(Text)
    is_chemical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    investment_wan: Mapped[int | None] = mapped_column(Integer)  # 万元
    stage: Mapped[str] = mapped_column(String(32))
    suspended_from: Mapped[str | None] = mapped_column(String(32))
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"),
                                                       index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Head of the per-project audit hash chain: lets the verifier detect a
    # deleted last event, not only edited or missing middle ones.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    # Hash of the access code printed on the mandate, for the public status
    # lookup by project code without an account.
    access_code_hash: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise: Mapped[Enterprise] = relationship()
    group: Mapped[IndustryGroup] = relationship()
    lead: Mapped[User | None] = relationship()
    definition_version: Mapped[DefinitionVersion] = relationship()
    tasks: Mapped[list[ItemTask]] = relationship(
        back_populates="project", order_by="ItemTask.id"
    )

    __mapper_args__ = {"version_id_col": version}


class ItemTask(Base):
    """One service item of one project (one row per project and item)."""

    __tablename__ = "item_task"
    __table_args__ = (
        UniqueConstraint("project_id", "item_code"),
        CheckConstraint(_in("state", TASK_STATES), name="state_known"),
        CheckConstraint("paused_working_days >= 0", name="pause_nonnegative"),
        CheckConstraint("extension_days >= 0", name="extension_nonnegative"),
        CheckConstraint(
            "state NOT IN ('assigned', 'in_progress', 'submitted') OR assignee_id IS NOT NULL",
            name="worked_tasks_have_assignee",
        ),
        CheckConstraint(
            "state <> 'covered' OR covered_ref IS NOT NULL", name="covered_has_reference"
        ),
        # The task lists of the pages, each a keyset over (…, due_on, id) or
        # (closed_on, id) within one assignee or group (``workflow.queries``).
        # Inbox: my tasks by due date, item or state; queue: my group's
        # unclaimed by due date or item; archive: what I closed, newest first.
        _partial("ix_item_task_inbox_due", INBOX_STATES, "assignee_id", "due_on", "id"),
        _partial("ix_item_task_inbox_item", INBOX_STATES, "assignee_id", "item_code", "due_on", "id"),
        _partial("ix_item_task_inbox_state", INBOX_STATES, "assignee_id", "state", "due_on", "id"),
        _partial("ix_item_task_queue_due", ("ready",), "group_id", "due_on", "id"),
        _partial("ix_item_task_queue_item", ("ready",), "group_id", "item_code", "due_on", "id"),
        _partial("ix_item_task_archive", CLOSED_STATES, "assignee_id", "closed_on", "id"),
        # A lead handler's desk: every open task of a group by due date.
        _partial("ix_item_task_open_due", DESK_STATES, "group_id", "due_on", "id"),
        # Overdue / near-due sweep and the supervisors' watch list over tasks
        # whose clock runs, by due date, whole or per department or item.
        _partial("ix_item_task_clock_due", CLOCK_STATES, "due_on", "id"),
        _partial("ix_item_task_clock_department", CLOCK_STATES, "department", "due_on", "id"),
        _partial("ix_item_task_clock_item", CLOCK_STATES, "item_code", "due_on", "id"),
        _partial("ix_item_task_clock_warn", CLOCK_STATES, "warn_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    item_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="blocked")
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"))
    department: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_on: Mapped[date | None] = mapped_column(Date)  # 受理日: does not count
    due_on: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # First day the task turns yellow (computed with the due date), so the
    # reminder sweep finds near-due work with an indexed range query.
    warn_on: Mapped[date | None] = mapped_column(Date)
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[date | None] = mapped_column(Date)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    covered_ref: Mapped[str | None] = mapped_column(String(300))
    suspended_from: Mapped[str | None] = mapped_column(String(32))
    closed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    project: Mapped[Project] = relationship(back_populates="tasks")
    assignee: Mapped[User | None] = relationship()
    group: Mapped[IndustryGroup] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<ItemTask {self.id} {self.item_code} {self.state}>"


class Pause(Base):
    """A stretch of time the clock did not run (补正, expert review, suspension)."""

    __tablename__ = "pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    working_days: Mapped[int | None] = mapped_column(Integer)


class MaterialRequest(Base):
    """一次性告知: one written notice listing everything missing, with a deadline."""

    __tablename__ = "material_request"
    __table_args__ = (
        # A task's requests, newest first (the task page).
        Index("ix_material_request_task_id_id", "task_id", "id"),
        # A project's open requests by deadline (the portal), through its tasks.
        Index("ix_material_request_open_task", "task_id", "deadline", "id",
              postgresql_where=text("fulfilled_at IS NULL"),
              sqlite_where=text("fulfilled_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"))
    items: Mapped[dict[str, Any]]  # {"materials": [{"code":..., "name":..., "note":...}]}
    note: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date] = mapped_column(Date)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExtensionRequest(Base):
    """An agent's request for +N working days; a lead handler decides."""

    __tablename__ = "extension_request"
    __table_args__ = (
        CheckConstraint("days > 0", name="days_positive"),
        # The desk's requests waiting for a decision, oldest first.
        Index("ix_extension_request_pending", "requested_at", "id",
              postgresql_where=text("decided_at IS NULL"), sqlite_where=text("decided_at IS NULL")),
        # A task's requests, newest first (the task page).
        Index("ix_extension_request_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decision_note: Mapped[str | None] = mapped_column(Text)


class Comment(Base):
    __tablename__ = "comment"
    __table_args__ = (
        # A project's and a task's comments, newest first (their pages).
        Index("ix_comment_project_id_id", "project_id", "id"),
        Index("ix_comment_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # visible to the enterprise
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    author: Mapped[User] = relationship()


class Attachment(Base):
    """Metadata of an uploaded file; the bytes live under ``storage_name``."""

    __tablename__ = "attachment"
    __table_args__ = (
        # A project's and a task's files, newest first (their pages).
        Index("ix_attachment_project_id_id", "project_id", "id"),
        Index("ix_attachment_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Append-only, hash-chained per project: ``hash`` covers the event's
    content and the previous event's hash, so an edit or a deletion breaks
    the chain that ``workflow.audit.verify`` walks."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The project's chain in order (the audit page, either way, and the verifier).
        UniqueConstraint("project_id", "seq"),
        # A task's history (the task page, the audit page filtered to a task).
        Index("ix_audit_event_task_id_seq", "task_id", "seq"),
        # The enterprise's timeline: the project's public events only.
        Index("ix_audit_event_public", "project_id", "seq",
              postgresql_where=text("public"), sqlite_where=text("public = 1")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # on the enterprise timeline
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


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


# =====================================================================================
# Deadlines, notifications and supervision (督办): reminders recorded once per task,
# level and due date; in-app notifications; the outbox that email and webhooks are
# sent from after the commit; supervision notices; the daily digest's run log.
# =====================================================================================

# Levels a sweep records, in the order it records them. ``materials_deadline`` is
# the enterprise's reminder before a materials request's deadline (keyed on the
# request, not the task: one task may see several requests).
REMINDER_LEVELS = (
    "yellow",
    "red",
    "escalate_lead",
    "escalate_supervisor",
    "escalate_leadership",
    "materials_deadline",
)
NOTICE_LEVELS = ("lead", "supervisor", "leadership", "manual")
OUTBOX_CHANNELS = ("email", "webhook")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class Reminder(Base):
    """One reminder or escalation, recorded at most once per subject, level and
    due date. The due date belongs to the key so that an approved extension (a
    new due date) can warn again, while the same deadline never repeats — not
    after a second sweep, a second scheduler process or a restart."""

    __tablename__ = "reminder"
    __table_args__ = (
        # subject_key: "task:<id>" for the task levels, "materials:<id>" for the
        # enterprise's reminder of one materials request.
        UniqueConstraint("subject_key", "level", "due_on"),
        CheckConstraint(_in("level", REMINDER_LEVELS), name="level_known"),
        CheckConstraint(
            "(level = 'materials_deadline') = (material_request_id IS NOT NULL)",
            name="materials_level_has_request",
        ),
        # The sweep's anti-join: "not yet recorded for this task, level and due date".
        Index("ix_reminder_task_level_due", "task_id", "level", "due_on"),
        Index("ix_reminder_material_request_id", "material_request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"))
    material_request_id: Mapped[int | None] = mapped_column(ForeignKey("material_request.id"))
    due_on: Mapped[date] = mapped_column(Date)  # the task's due date, or the materials deadline
    reached_on: Mapped[date] = mapped_column(Date)  # the day the level was first due
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Recorded on a later day than ``reached_on``: the sweep caught up after downtime.
    catch_up: Mapped[bool] = mapped_column(Boolean, default=False)

    task: Mapped[ItemTask] = relationship()


class Notification(Base):
    """An in-app message to one user (the badge, the list, mark as read)."""

    __tablename__ = "notification"
    __table_args__ = (
        # Badge (unread count) and list, newest first, per user.
        Index("ix_notification_inbox", "user_id", "read_at", "created_at"),
        # The list of every notification of a user, newest first.
        Index("ix_notification_user_created", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
    project: Mapped[Project | None] = relationship()
    task: Mapped[ItemTask | None] = relationship()


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


class SupervisionNotice(Base):
    """督办单: a written demand to act on an overdue (or otherwise stuck) item.

    The addressee acknowledges it the same working day (``ack_due``) and
    reports progress within 3 working days (``report_due``); it stays in their
    inbox until the report closes it (or the item itself closes)."""

    __tablename__ = "supervision_notice"
    __table_args__ = (
        CheckConstraint(_in("level", NOTICE_LEVELS), name="level_known"),
        CheckConstraint("reported_at IS NULL OR (report IS NOT NULL AND acknowledged_at IS NOT NULL)",
                        name="report_complete"),
        # Inbox: my open notices, oldest first.
        Index(
            "ix_supervision_notice_open",
            "addressee_id",
            "issued_at",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index("ix_supervision_notice_task_id", "task_id"),
        # Every notice issued, newest first (the supervisors' list).
        Index("ix_supervision_notice_issued", "issued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    level: Mapped[str] = mapped_column(String(16))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))  # escalation that issued it
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the system
    addressee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ack_due: Mapped[date] = mapped_column(Date)
    report_due: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    task: Mapped[ItemTask] = relationship()
    project: Mapped[Project] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    addressee: Mapped[User] = relationship(foreign_keys=[addressee_id])


class DigestRun(Base):
    """The daily digest sent to one user on one day (at most once)."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date] = mapped_column(Date)
    items: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The materials-deadline reminder looks for open requests by deadline.
Index(
    "ix_material_request_open_deadline",
    MaterialRequest.deadline,
    postgresql_where=MaterialRequest.fulfilled_at.is_(None),
    sqlite_where=MaterialRequest.fulfilled_at.is_(None),
)


# -- the three reforms: commitments, standard land, lifecycle checks, intentions,
# -- chemical entry, agency paperwork and ratings ----------------------------------------

COMMITMENT_STATES = ("issued", "signed", "kept", "rectifying", "broken", "false", "withdrawn")
GAP_STATES = ("open", "fulfilled", "expired")
CREDIT_SEVERITIES = ("minor", "serious")
CHECKPOINT_KINDS = ("start", "completion", "production", "capacity")
CHECKPOINT_STATES = ("open", "passed", "rectifying", "failed", "breached")
RULE_KINDS = ("provincial", "admission", "prohibited_type")
CHEMICAL_LEVELS = ("prohibited", "restricted", "controlled")
SCREENING_VERDICTS = ("pass", "restricted", "prohibited")
DOCUMENT_KINDS = ("mandate", "suspension", "termination", "continuation", "completion")
RATING_LEVELS = ("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
                 "very_dissatisfied")


class CommitmentLetter(Base):
    """承诺制: the enterprise commits to an item's standards instead of waiting
    for the prior approval; the department checks compliance afterwards."""

    __tablename__ = "commitment_letter"
    __table_args__ = (
        CheckConstraint(_in("status", COMMITMENT_STATES), name="status_known"),
        Index("ix_commitment_letter_check_due", "check_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)  # the letter as generated from the standards
    standards: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="issued")
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signature: Mapped[str | None] = mapped_column(String(200))  # the signatory's typed name
    text_sha256: Mapped[str | None] = mapped_column(String(64))  # what was signed
    check_due: Mapped[date | None] = mapped_column(Date)  # the department's compliance check
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_note: Mapped[str | None] = mapped_column(Text)
    rectify_by: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship()
    task: Mapped[ItemTask] = relationship()


class GapAcceptance(Base):
    """容缺受理: accepted with secondary materials missing, against the
    enterprise's written promise to supply them by a deadline."""

    __tablename__ = "gap_acceptance"
    __table_args__ = (
        CheckConstraint(_in("status", GAP_STATES), name="status_known"),
        Index("ix_gap_acceptance_open_deadline", "deadline",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    missing: Mapped[dict[str, Any]]  # {"materials": [{"code", "name"}]}
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    accepted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    promise_text: Mapped[str] = mapped_column(Text)
    promised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    promised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()
    task: Mapped[ItemTask] = relationship()


class CreditRecord(Base):
    """A bad-credit record (失信) on an enterprise. A serious one bars the
    enterprise from commitments and 容缺 until an admin clears it."""

    __tablename__ = "credit_record"
    __table_args__ = (
        CheckConstraint(_in("severity", CREDIT_SEVERITIES), name="severity_known"),
        # The admin's list, newest first: all records (a severity filter reads
        # on), one enterprise's, the records in force and the cleared ones.
        Index("ix_credit_record_created", "created_at", "id"),
        Index("ix_credit_record_enterprise", "enterprise_id", "created_at", "id"),
        Index("ix_credit_record_in_force", "created_at", "id",
              postgresql_where=text("cleared_at IS NULL"), sqlite_where=text("cleared_at IS NULL")),
        Index("ix_credit_record_cleared", "created_at", "id",
              postgresql_where=text("cleared_at IS NOT NULL"),
              sqlite_where=text("cleared_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40))  # commitment_broken, commitment_false, ...
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clear_note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()


class RegionalEvaluation(Base):
    """A regional evaluation (区域评估) the zone has done, shared by every
    project later placed on a parcel it covers. ``kind`` is an evaluation code
    of the definition (mineral_overlay, regional_eia, ...)."""

    __tablename__ = "regional_evaluation"
    # The register's list of evaluations: by kind, then the oldest first.
    __table_args__ = (Index("ix_regional_evaluation_kind_done", "kind", "done_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. 左开评〔2025〕3号
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    done_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)


class Parcel(Base):
    """A standard-land parcel (标准地) with its servicing and control indicators."""

    __tablename__ = "parcel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    park: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    area_mu: Mapped[float] = mapped_column(Numeric(12, 2))  # 亩 (1 公顷 = 15 亩)
    servicing: Mapped[str] = mapped_column(String(40), default="")  # 三通一平 / 五通一平
    land_price_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    transferred_on: Mapped[date | None] = mapped_column(Date)

    indicators: Mapped[list[ParcelIndicator]] = relationship(
        back_populates="parcel", order_by="ParcelIndicator.id", cascade="all, delete-orphan")
    evaluations: Mapped[list[RegionalEvaluation]] = relationship(
        secondary="parcel_evaluation", order_by="RegionalEvaluation.id")


class ParcelEvaluation(Base):
    __tablename__ = "parcel_evaluation"
    __table_args__ = (UniqueConstraint("parcel_id", "evaluation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("regional_evaluation.id"))


class ParcelIndicator(Base):
    """A control indicator of a parcel: investment intensity (万元/亩),
    floor-area ratio, tax per 亩, or a zone-defined extra. ``bound`` says
    whether the value is a minimum or a maximum."""

    __tablename__ = "parcel_indicator"
    __table_args__ = (UniqueConstraint("parcel_id", "code"),
                      CheckConstraint("bound IN ('min', 'max')", name="bound_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(40))
    bound: Mapped[str] = mapped_column(String(3), default="min")
    value: Mapped[float] = mapped_column(Numeric(16, 4))

    parcel: Mapped[Parcel] = relationship(back_populates="indicators")


class InvestmentAgreement(Base):
    """投资建设协议: the committed indicators and dates of a project on its parcel."""

    __tablename__ = "investment_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    signed_on: Mapped[date] = mapped_column(Date)
    land_price_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    indicators: Mapped[dict[str, Any]]  # {code: {"name", "unit", "bound", "value"}}
    start_by: Mapped[date] = mapped_column(Date)
    complete_by: Mapped[date] = mapped_column(Date)
    produce_by: Mapped[date] = mapped_column(Date)
    capacity_by: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    parcel: Mapped[Parcel] = relationship()


class Checkpoint(Base):
    """A lifecycle check with a deadline: start, completion acceptance against
    the standard, production, and the 达产复核 capacity review."""

    __tablename__ = "checkpoint"
    __table_args__ = (
        UniqueConstraint("project_id", "kind"),
        CheckConstraint(_in("kind", CHECKPOINT_KINDS), name="kind_known"),
        CheckConstraint(_in("status", CHECKPOINT_STATES), name="status_known"),
        # The open checkpoints, earliest due first (the checkpoint list, the sweep).
        Index("ix_checkpoint_open_due", "due_on", "id",
              postgresql_where=text("status IN ('open', 'rectifying')"),
              sqlite_where=text("status IN ('open', 'rectifying')")),
        # The zone's capacity verdicts counted by status (亩均 figures).
        Index("ix_checkpoint_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    kind: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    rectify_by: Mapped[date | None] = mapped_column(Date)
    result: Mapped[dict[str, Any] | None]  # computed indicators and verdicts
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idle_warned_on: Mapped[date | None] = mapped_column(Date)  # start one year late: idle land
    recovery_warned_on: Mapped[date | None] = mapped_column(Date)  # two years: land taken back

    project: Mapped[Project] = relationship()


class CapacityReport(Base):
    """What the enterprise reports for the 达产复核 (or a production check)."""

    __tablename__ = "capacity_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id"), index=True)
    investment_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # fixed-asset investment
    floor_area_m2: Mapped[float] = mapped_column(Numeric(16, 2))
    tax_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # annual tax
    output_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # annual output value
    energy_tce: Mapped[float] = mapped_column(Numeric(16, 2))  # tonnes of standard coal
    extras: Mapped[dict[str, Any] | None]
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FollowUp(Base):
    """A contact with an intention project's enterprise (意向项目台账)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    contacted_on: Mapped[date] = mapped_column(Date)
    contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(40), default="")  # visit, call, meeting, ...
    summary: Mapped[str] = mapped_column(Text)
    hesitation: Mapped[str] = mapped_column(Text, default="")  # 观望原因
    asks: Mapped[str] = mapped_column(Text, default="")  # 企业要求
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    recorded_by: Mapped[User] = relationship()


# The intention ledger (意向项目台账) and the pipeline (项目全景), ``workflow.intentions``:
# every list is a keyset page on one of these. Constants are written as literals,
# and the queries write them so too, so that both planners match the expression
# and the partial indexes (a bound parameter would not match).
_INVESTMENT = func.coalesce(Project.investment_wan, literal_column("0"))
# A stage's projects, largest planned investment first, then by code: the open
# intentions and each lifecycle stage of a pipeline step.
Index("ix_project_stage_investment", Project.stage, _INVESTMENT.desc(), Project.code, Project.id)
# Suspended projects by the stage they were suspended from (they count there).
Index("ix_project_suspended_investment", Project.suspended_from, _INVESTMENT.desc(), Project.code,
      Project.id, postgresql_where=text("stage = 'suspended'"), sqlite_where=text("stage = 'suspended'"))
# Intentions signed (converted) and intentions terminated (dropped), newest first:
# a project is signed at most once (only an intention is) and terminated at most once.
Index("ix_audit_event_signed", AuditEvent.at, AuditEvent.id,
      postgresql_where=text("action = 'project.sign'"), sqlite_where=text("action = 'project.sign'"))
_DROPPED = "action = 'project.terminate' AND from_state = 'intention'"
Index("ix_audit_event_dropped", AuditEvent.at, AuditEvent.id,
      postgresql_where=text(_DROPPED), sqlite_where=text(_DROPPED))
# A project's contacts by date: its last contact, "contacted since" (stale intentions).
Index("ix_follow_up_project_contacted", FollowUp.project_id, FollowUp.contacted_on)
# The stale-intention reminders already sent for a project (the sweep's "once").
Index("ix_notification_intention_stale", Notification.project_id, Notification.created_at,
      postgresql_where=text("kind = 'intention_stale'"), sqlite_where=text("kind = 'intention_stale'"))


class ScreeningRule(Base):
    """A chemical-entry rule: provincial conditions, the zone's admission
    rules, or a prohibited project type; ``params`` drive the check."""

    __tablename__ = "screening_rule"
    __table_args__ = (UniqueConstraint("code"),
                      CheckConstraint(_in("kind", RULE_KINDS), name="kind_known"),
                      # One table of rules per kind, by code.
                      Index("ix_screening_rule_kind_code", "kind", "code", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    check: Mapped[str] = mapped_column(String(40))  # which test the engine applies
    params: Mapped[dict[str, Any]]
    verdict: Mapped[str] = mapped_column(String(16), default="prohibited")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(300), default="")


class HazardousChemical(Base):
    """The 禁限控 catalogue: prohibited, restricted or controlled chemicals."""

    __tablename__ = "hazardous_chemical"
    __table_args__ = (UniqueConstraint("name"),
                      CheckConstraint(_in("level", CHEMICAL_LEVELS), name="level_known"),
                      # The catalogue level by level (prohibited first), by name.
                      Index("ix_hazardous_chemical_level_name", "level", "name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cas: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[bool] = mapped_column(Boolean, default=False)


class Screening(Base):
    """A chemical project's entry screening: every rule hit with its reason."""

    __tablename__ = "screening"
    __table_args__ = (CheckConstraint(_in("verdict", SCREENING_VERDICTS), name="verdict_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    inputs: Mapped[dict[str, Any]]
    hits: Mapped[dict[str, Any]]  # {"hits": [{"rule", "kind", "verdict", "reason"}]}
    verdict: Mapped[str] = mapped_column(String(16))
    screened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    screened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    review: Mapped[dict[str, Any] | None]  # expert review of a restricted result
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgencyDocument(Base):
    """A generated agency document (DB14/T 2233): mandate, suspension slip,
    termination slip, continuation mandate, completion slip. ``data`` is the
    snapshot it was generated from, so it prints the same forever."""

    __tablename__ = "agency_document"
    __table_args__ = (CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()


class Rating(Base):
    """好差评: the enterprise rates the service on an item or the project."""

    __tablename__ = "rating"
    __table_args__ = (CheckConstraint(_in("level", RATING_LEVELS), name="level_known"),
                      UniqueConstraint("project_id", "task_id", "rated_by_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    level: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Rectification(Base):
    """A bad rating's follow-up: the lead handler rectifies by a deadline."""

    __tablename__ = "rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    response: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    rating: Mapped[Rating] = relationship()


# -- rollups: what the figure pages read instead of every task and project --------------------
# (``workflow.rollups``). ``agent_id`` / ``lead_id`` 0 stands for "nobody", so that
# the unique keys hold (NULLs are distinct in a unique constraint).


class FigureClosedDay(Base):
    """Done items per closing day, group, last assignee, department and item,
    written in the transaction that completes each one: the figures of any
    closing range are sums over its days, whatever the number of closed tasks."""

    __tablename__ = "figure_closed_day"
    __table_args__ = (
        UniqueConstraint("day", "group_id", "agent_id", "department", "item_code",
                         name="uq_figure_closed_day_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    closed: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    days_used_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_n: Mapped[int] = mapped_column(Integer, default=0)


class FigureClosedTotal(Base):
    """The same sums over every day (the figures without a closing range)."""

    __tablename__ = "figure_closed_total"
    __table_args__ = (
        UniqueConstraint("group_id", "agent_id", "department", "item_code",
                         name="uq_figure_closed_total_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    closed: Mapped[int] = mapped_column(BigInteger, default=0)
    with_due: Mapped[int] = mapped_column(BigInteger, default=0)
    on_time: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_n: Mapped[int] = mapped_column(BigInteger, default=0)


class FigureOpen(Base):
    """Open items with a due date, and those red and yellow, per group,
    assignee, department and item, as of the scheduler's last refresh."""

    __tablename__ = "figure_open"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    red: Mapped[int] = mapped_column(Integer, default=0)
    yellow: Mapped[int] = mapped_column(Integer, default=0)


class PipelineTotal(Base):
    """Projects and their planned investment per lifecycle stage, industry
    group and lead handler, as of the scheduler's last refresh."""

    __tablename__ = "pipeline_total"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    suspended_from: Mapped[str | None] = mapped_column(String(32))
    group_id: Mapped[int] = mapped_column(Integer)
    lead_id: Mapped[int] = mapped_column(Integer)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    investment_wan: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupState(Base):
    """When a refreshed rollup was last computed, and for which zone day."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[date] = mapped_column(Date)

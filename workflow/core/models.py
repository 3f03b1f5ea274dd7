"""The task engine's tables: projects, item tasks and what hangs on them (pauses, materials,
extensions, comments, files, the audit chain), reminders, notifications, 督办 notices and the
figures' rollups."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models import (
    Base,
    DefinitionVersion,
    Enterprise,
    IndustryGroup,
    User,
    _in,
    _partial,
    _trigram,
)

# Item task states. OPEN_STATES are those not yet closed (blocked ones aside).
#
# Two clocks run on an item, one after the other (行政许可法 Art. 42): the
# zone's service clock while its agent prepares the application (ready …
# in_progress, returned: 代办's time) and the department's statutory clock
# from its 受理 to its decision (submitted, accepted: 部门's time). While the
# application waits for the 受理 to be recorded (submitted) the statutory
# clock counts from the submission (Art. 32: a department that does not
# refuse or ask for 补正 within 5 days has accepted on receipt).
TASK_STATES = (
    "blocked",
    "ready",
    "assigned",
    "in_progress",
    "awaiting_enterprise",
    "submitted",
    "accepted",  # 受理: the department's statutory clock runs
    "on_hold",  # the statutory clock stops: expert review, hearing, testing (Art. 45)
    "returned",
    "approved",
    "done",
    "covered",
    "suspended",
    "terminated",
)
CLOSED_STATES = ("done", "covered", "terminated")
PROVISIONAL = "dates_provisional AND state NOT IN (" + ", ".join(f"'{s}'" for s in CLOSED_STATES) + ")"
OPEN_STATES = tuple(s for s in TASK_STATES if s not in CLOSED_STATES and s != "blocked")
# States in which a clock runs (a due date is watched by the overdue sweep):
# the service clock in the agent's states, the statutory one in the
# department's. Once the department has decided (approved) neither runs.
CLOCK_STATES = ("ready", "assigned", "in_progress", "submitted", "accepted", "returned")
PAUSED_STATES = ("awaiting_enterprise", "on_hold", "suspended")
# An agent's own open work, as the inbox lists it.
INBOX_STATES = ("assigned", "in_progress", "awaiting_enterprise", "submitted", "accepted",
                "on_hold", "returned", "approved", "suspended")
# The clocks (``ItemTask.clock``), and whose time each counts.
CLOCKS = ("service", "statutory")
WHOSE_CLOCK = {"service": "agent", "statutory": "department"}


# The states a lead handler's desk lists: in the queue or in someone's hands.
DESK_STATES = ("ready",) + INBOX_STATES


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
    # The alternatives it does (choice → item code, e.g. {"eia": "eia_report"}).
    choices: Mapped[dict[str, Any] | None]
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
        CheckConstraint("statutory_paused_days >= 0", name="pause_nonnegative"),
        CheckConstraint("service_paused_days >= 0", name="service_pause_nonnegative"),
        CheckConstraint("extension_days >= 0", name="extension_nonnegative"),
        CheckConstraint("service_extension_days >= 0", name="service_extension_nonnegative"),
        CheckConstraint("clock IS NULL OR " + _in("clock", CLOCKS), name="clock_known"),
        CheckConstraint(
            "state NOT IN ('assigned', 'in_progress', 'submitted') OR assignee_id IS NOT NULL",
            name="worked_tasks_have_assignee",
        ),
        CheckConstraint(
            "state <> 'covered' OR covered_ref IS NOT NULL", name="covered_has_reference"
        ),
        # The task lists of the pages, each a keyset over (…, due_on, id) or
        # (closed_on, id) within one assignee or group (``workflow.core.queries``).
        # ``due_on`` is the current due date: that of the clock that runs now
        # (``clock``), so one indexed column serves every list on either clock.
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
        # … and by item or state (the desk's column sorts).
        _partial("ix_item_task_open_item", DESK_STATES, "group_id", "item_code", "due_on", "id"),
        _partial("ix_item_task_open_state", DESK_STATES, "group_id", "state", "due_on", "id"),
        # … and its undated open tasks, read first by a reversed sort (migration 0027).
        Index("ix_item_task_open_undated", "group_id", "id", **dict.fromkeys(
            ("postgresql_where", "sqlite_where"), text(f"due_on IS NULL AND {_in('state', DESK_STATES)}"))),
        # Open tasks on provisional dates (``calendar_refresh``, migration 0030).
        Index("ix_item_task_provisional", "id", **dict.fromkeys(
            ("postgresql_where", "sqlite_where"), text(PROVISIONAL))),
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
    # The service clock (代办): from the release to the group queue (the day
    # does not count) to the submission to the department, on the item's
    # service limit, plus its pauses and service extensions.
    released_on: Mapped[date | None] = mapped_column(Date)
    service_due_on: Mapped[date | None] = mapped_column(Date)
    service_paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    service_extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    submitted_on: Mapped[date | None] = mapped_column(Date)
    # The statutory clock (部门): from the department's 受理 (the day does not
    # count; until it is recorded, from the submission) to its decision, on
    # the legal limit, plus its pauses (补正, expert review, hearing, testing)
    # and extensions.
    accepted_on: Mapped[date | None] = mapped_column(Date)  # 受理日
    statutory_due_on: Mapped[date | None] = mapped_column(Date)
    statutory_paused_days: Mapped[int] = mapped_column(Integer, default=0)
    decided_on: Mapped[date | None] = mapped_column(Date)
    # Which clock ``due_on``, ``warn_on`` and ``due_provisional`` follow: the
    # one running (or, once both stopped, the last one that ran).
    clock: Mapped[str | None] = mapped_column(String(16))
    due_on: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # Some date or pause count of the task depends on an unpublished year: the
    # calendar recompute re-derives it once the year's schedule is published.
    dates_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # First day the task turns yellow (computed with the due date), so the
    # reminder sweep finds near-due work with an indexed range query.
    warn_on: Mapped[date | None] = mapped_column(Date)
    # Pauses and extensions count in the unit of the clock's limit (working
    # or calendar days).
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

    @property
    def clock_start(self) -> date | None:
        """The first day (not counted) of the clock ``due_on`` follows: the
        release for the service clock; the 受理 for the statutory one, or the
        submission while the 受理 is not recorded (行政许可法 Art. 32)."""
        if self.clock == "service":
            return self.released_on
        return self.accepted_on or self.submitted_on

    def __repr__(self) -> str:
        return f"<ItemTask {self.id} {self.item_code} {self.state}>"


# Why a clock stops (行政许可法 Art. 45 and the agency rules): materials asked
# of the enterprise (补正), the department's expert review, hearing, testing
# (检验检测鉴定), the project's suspension, the days the department held an
# application it returned (the service clock's), anything else with its reason.
PAUSE_KINDS = ("materials", "expert_review", "hearing", "testing", "suspension", "department",
               "other")


class Pause(Base):
    """A stretch of time one clock did not run, with its reason; ``days`` is
    its length in the unit of that clock's limit (calendar days for a
    calendar-day limit), written when it ends."""

    __tablename__ = "pause"
    __table_args__ = (
        CheckConstraint("clock IS NULL OR " + _in("clock", CLOCKS), name="clock_known"),
        CheckConstraint("kind IS NULL OR " + _in("kind", PAUSE_KINDS), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    clock: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    days: Mapped[int | None] = mapped_column(Integer)


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
    the chain that ``workflow.core.audit.verify`` walks."""

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


class Reminder(Base):
    """One reminder or escalation, recorded at most once per subject, level and
    due date. The due date belongs to the key so that an approved extension (a
    new due date) can warn again, while the same deadline never repeats — not
    after a second sweep, a second scheduler process or a restart. A task's
    two clocks are two subjects (``task:<id>:service``, ``task:<id>:statutory``):
    each warns and escalates on its own due date."""

    __tablename__ = "reminder"
    __table_args__ = (
        # subject_key: "task:<id>:<clock>" for the task levels, "materials:<id>"
        # for the enterprise's reminder of one materials request.
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
    clock: Mapped[str | None] = mapped_column(String(16))  # the task's clock (None: materials)
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


# The intention ledger (意向项目台账) and the pipeline (项目全景), ``workflow.reforms.intentions``:
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
# The stale-intention reminders already sent for a project (the sweep's "once").
Index("ix_notification_intention_stale", Notification.project_id, Notification.created_at,
      postgresql_where=text("kind = 'intention_stale'"), sqlite_where=text("kind = 'intention_stale'"))


# The rollups the figure pages read (``workflow.core.rollups``) have their own module.
from workflow.core.figure_models import (  # noqa: E402, F401
    FigureClosedDay,
    FigureClosedTotal,
    FigureOpen,
    PipelineTotal,
    RollupState,
)

# The predicted dates and the handling-time history (``workflow.core.predict``).
from workflow.core.prediction_models import (  # noqa: E402, F401
    AgentCapacity,
    HandlingHistory,
    ItemPrediction,
    ProjectPrediction,
    WorkloadDay,
)

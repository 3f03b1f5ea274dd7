"""意向项目台账: intention projects before signing, and the zone's pipeline.

An intention is a ``Project`` in the stage ``intention``: the enterprise,
its industry, the planned investment, the leader in charge, and every
follow-up contact (``FollowUp``) with why the enterprise hesitates (观望原因)
and what it asks for (企业要求); the project keeps the latest of both.
Converting an intention signs the same project row (``operations.sign_project``),
so its history and its audit chain simply continue.

The pipeline groups the zone's live projects by lifecycle step — intention →
signed → started → producing → at capacity — with counts and investment
totals per step, per industry group and per responsible leader.

Every list is read a page at a time in the database (``workflow.kernel.paging``), on
an index: the open intentions and a step's projects by planned investment
(``ix_project_stage_investment``, ``ix_project_suspended_investment``), the
converted and dropped ones by the audit event that moved them (partial indexes
``ix_audit_event_signed`` and ``ix_audit_event_dropped``: the audit log is the
record of when an intention was signed or dropped, so nothing is copied onto
the project row to be kept in step). Who sees what is a SQL condition
(``permissions.visible_projects``, ``ledger_scope``); the pipeline's totals
come from the rollup the scheduler refreshes (``rollups.PipelineTotal``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import islice
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session, contains_eager, joinedload

from workflow.core import audit, notify, operations, permissions, rollups
from workflow.core.models import AuditEvent, Notification, PipelineTotal, Project
from workflow.core.operations import flush, lock_project, utc, zone_today
from workflow.kernel import paging, validate
from workflow.kernel.errors import InvalidTransition, NotFound, NotPermitted, ValidationError
from workflow.kernel.models import Enterprise, IndustryGroup, User
from workflow.kernel.moments import ZONE_TZ, aware, parse_day, stored_day
from workflow.kernel.paging import Key, Order, Segment
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.chemicals.models import Screening
from workflow.reforms.intentions.models import FollowUp

CHANNELS = ("visit", "call", "meeting", "online", "other")
# The pipeline's steps and the lifecycle stages each one gathers.
PIPELINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("intention", ("intention",)),
    ("signed", ("signed", "mandated", "approving", "ready_to_start")),
    ("started", ("started", "completed")),
    ("producing", ("producing",)),
    ("at_capacity", ("at_capacity", "verified")),
)
STEP_OF = {stage: step for step, stages in PIPELINE for stage in stages}
# An intention nobody contacted for this long is reminded to its leader.
STALE_AFTER_DAYS = 30
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


# Ledger fields are optional unless a call says otherwise.
_text = partial(validate.text, required=False, limit=2000)


def _wan(value: Any, what: str = "planned investment (万元)") -> int:
    if isinstance(value, bool):
        raise ValidationError(f"The {what} is a whole number of 万元.")
    try:
        amount = int(str(value).replace(",", "").strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValidationError(f"The {what} is a whole number of 万元.") from None
    if amount < 0:
        raise ValidationError(f"The {what} cannot be negative.")
    return amount




def _require(allowed: bool, actor: User | None, what: str) -> None:
    if actor is not None and not allowed:
        raise NotPermitted(f"{actor.username} ({actor.role}) may not {what}.")


# -- registering an intention ------------------------------------------------------------------

def provisional_code(session: Session, now: datetime) -> str:
    """A placeholder code (意向-year-number) until the filing issues the real
    项目代码: YX-2026-0001, YX-2026-0002, …"""
    prefix = f"YX-{zone_today(now).year}-"
    taken = set(session.scalars(select(Project.code).where(Project.code.like(f"{prefix}%"))))
    n = len(taken) + 1
    while f"{prefix}{n:04d}" in taken:
        n += 1
    return f"{prefix}{n:04d}"


def _enterprise(session: Session, enterprise_id: int | None, name: str, credit_code: str,
                contact_name: str, contact_phone: str) -> tuple[Enterprise, bool]:
    if enterprise_id:
        found = session.get(Enterprise, int(enterprise_id))
        if found is None:
            raise NotFound(f"Enterprise {enterprise_id} does not exist.")
        return found, False
    name = _text(name, "enterprise's name", required=True, limit=200)
    credit_code = _text(credit_code, "unified social credit code", limit=18).upper()
    if credit_code and not _CREDIT_CODE.match(credit_code):
        raise ValidationError(f"{credit_code} is not a unified social credit code (统一社会信用代码).")
    if session.scalar(select(Enterprise.id).where(Enterprise.name == name)) is not None:
        raise ValidationError(f"{name} is already registered: choose it from the list.")
    if credit_code and session.scalar(select(Enterprise.id).where(
            Enterprise.credit_code == credit_code)) is not None:
        raise ValidationError(f"The credit code {credit_code} is already registered.")
    row = Enterprise(name=name, credit_code=credit_code or None,
                     contact_name=_text(contact_name, "contact", limit=100) or None,
                     contact_phone=_text(contact_phone, "phone", limit=40) or None)
    session.add(row)
    session.flush()
    return row, True


def create_intention(session: Session, *, name: str, industry: str, investment_wan: Any,
                     actor: User | None, now: datetime, enterprise_id: int | None = None,
                     enterprise_name: str = "", credit_code: str = "", contact_name: str = "",
                     contact_phone: str = "", lead: User | None = None, code: str = "",
                     hesitation: str = "", asks: str = "", is_chemical: bool = False,
                     enterprise_ref: str = "") -> Project:
    """Register an intention project (意向项目) for a new or an existing
    enterprise (``enterprise_id``, or ``enterprise_ref``: its credit code or
    exact name). The leader in charge is the one given, else the lead handler
    registering it, else the group's least-loaded lead. Projects of a chemical
    industry are chemical projects (screened before signing)."""
    _require(actor is None or permissions.can_keep_intentions(actor), actor,
             "register intention projects")
    # Everything is checked before the enterprise row is added: a refusal adds nothing.
    name = _text(name, "project name", required=True, limit=200)
    if industry not in definition_of(current_version(session)).industries:
        raise ValidationError(f"Unknown industry '{industry}'.", industry=industry)
    investment = _wan(investment_wan)
    hesitation = _text(hesitation, "hesitation (观望原因)")
    asks = _text(asks, "asks (企业要求)")
    if not enterprise_id and (enterprise_ref or "").strip():
        enterprise_id = find_enterprise(session, enterprise_ref).id
    company, new = _enterprise(session, enterprise_id, enterprise_name, credit_code,
                               contact_name, contact_phone)
    if lead is None and actor is not None and actor.role == "lead":
        lead = actor
    project = operations.create_project(
        session, code=_text(code, "project code", limit=40) or provisional_code(session, now),
        name=name, enterprise=company, industry=industry, actor=actor, now=now, lead=lead,
        investment_wan=investment, stage="intention")
    project.hesitation, project.asks = hesitation or None, asks or None
    project.is_chemical = bool(is_chemical) or project.is_chemical  # its industry's flag
    audit.record(session, project, actor=actor, now=utc(now), action="intention.recorded",
                 data={"enterprise": company.name, "new_enterprise": new,
                       "investment_wan": investment, "hesitation": hesitation, "asks": asks,
                       "is_chemical": project.is_chemical})
    if project.lead is not None and (actor is None or project.lead_id != actor.id):
        notify.tell(session, [project.lead], notify.Message(
            "intention", f"【意向项目】{project.name}",
            f"您负责跟进意向项目「{project.name}」（{company.name}，计划投资 {investment:,} 万元）。"),
            now=now, key=f"intention:{project.id}:lead", project=project)
    flush(session)
    return project


def _intention(session: Session, project_id: int) -> Project:
    project = lock_project(session, project_id)
    if project.stage != "intention":
        raise InvalidTransition(f"Project {project.code} is no longer an intention "
                                f"(it is {project.stage}).", state=project.stage)
    return project


def record_follow_up(session: Session, project_id: int, *, contacted_on: date | str, summary: str,
                     actor: User, now: datetime, contact: str = "", channel: str = "",
                     hesitation: str | None = None, asks: str | None = None) -> FollowUp:
    """Record a contact with the enterprise: when (not in the future), how,
    with whom, what was said (required), and — when given — why it still
    hesitates and what it asks for, which become the project's latest."""
    project = _intention(session, project_id)
    _require(permissions.can_follow_up(actor, project), actor,
             f"follow up project {project.code}")
    day = parse_day(contacted_on, "date of the contact")
    if day > zone_today(now):
        raise ValidationError("The date of the contact cannot be in the future.")
    summary = _text(summary, "summary of the contact", required=True, limit=5000)
    channel = (channel or "").strip()
    if channel and channel not in CHANNELS:
        raise ValidationError(f"Unknown channel '{channel}'.", channel=channel)
    row = FollowUp(project_id=project.id, contacted_on=day, summary=summary, channel=channel,
                   contact=_text(contact, "contact person", limit=200),
                   hesitation=_text(hesitation, "hesitation (观望原因)"),
                   asks=_text(asks, "asks (企业要求)"),
                   recorded_by_id=actor.id, recorded_at=utc(now))
    session.add(row)
    if hesitation is not None:
        project.hesitation = row.hesitation or None
    if asks is not None:
        project.asks = row.asks or None
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="intention.follow_up",
                 data={"follow_up": row.id, "contacted_on": day, "channel": channel,
                       "summary": summary, "hesitation": row.hesitation, "asks": row.asks})
    if project.lead is not None and project.lead_id != actor.id:
        notify.tell(session, [project.lead], notify.Message(
            "intention", f"【意向跟进】{project.name}",
            f"{actor.display_name} 记录了 {day.isoformat()} 与{project.enterprise.name}的接洽："
            f"{summary[:200]}"),
            now=now, key=f"follow-up:{row.id}", project=project)
    flush(session)
    return row


def update_intention(session: Session, project_id: int, *, actor: User, now: datetime,
                     investment_wan: Any = None, lead: User | None = None) -> Project:
    """Change an intention's planned investment or the leader in charge."""
    project = _intention(session, project_id)
    _require(permissions.can_follow_up(actor, project), actor, f"change project {project.code}")
    changes: dict[str, Any] = {}
    if investment_wan is not None and str(investment_wan).strip() != "":
        amount = _wan(investment_wan)
        if amount != project.investment_wan:
            changes["investment_wan"] = [project.investment_wan, amount]
            project.investment_wan = amount
    if lead is not None and lead.id != project.lead_id:
        if lead.role != "lead" or not lead.active:
            raise ValidationError(f"{lead.display_name} is not an active lead handler.")
        changes["lead"] = [project.lead.username if project.lead else None, lead.username]
        project.lead_id = lead.id
        notify.tell(session, [lead], notify.Message(
            "intention", f"【意向项目】{project.name}",
            f"您已被指定为意向项目「{project.name}」的负责领导。"),
            now=now, key=f"intention:{project.id}:lead:{project.audit_seq + 1}", project=project)
    if not changes:
        return project
    audit.record(session, project, actor=actor, now=utc(now), action="intention.updated",
                 data=changes)
    flush(session)
    session.refresh(project, ["lead"])
    return project


def convert_intention(session: Session, project_id: int, *, actor: User, now: datetime) -> Project:
    """Sign an intention (签约): the same project row goes on, with its
    follow-ups and its audit chain; a chemical project must have cleared its
    entry screening (the guard is inside ``sign_project``)."""
    _intention(session, project_id)
    return operations.sign_project(session, project_id, actor=actor, now=now)


# -- who sees what, in SQL ----------------------------------------------------------------------

def _lit(value: str):
    """A constant written into the SQL text rather than bound: the planners
    match a partial index's WHERE and an expression index only against literals
    (SQLite always, PostgreSQL once psycopg prepares the statement)."""
    return literal(value, literal_execute=True)


# The pipeline's and the open ledger's sort key: the planned investment, none as 0
# (``ix_project_stage_investment`` indexes this very expression).
INVESTMENT = func.coalesce(Project.investment_wan, literal_column("0"))


def ledger_scope(user: User):
    """The projects of the ledger ``user`` may read: none unless they read the
    ledger at all (``permissions.can_read_ledger``), then those they may view."""
    return permissions.visible_projects(user) if permissions.can_read_ledger(user) else false()


def viewable_ids(session: Session, user: User, project_ids: Iterable[int]) -> set[int]:
    """Which of ``project_ids`` (a page of them) ``user`` may open."""
    ids = sorted(set(project_ids))
    if not ids:
        return set()
    return set(session.scalars(select(Project.id).where(Project.id.in_(ids),
                                                        permissions.visible_projects(user))))


# -- the ledger --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFilter:
    """The ledger's filters: an industry group (by code), the leader in charge,
    and a text found in the project's name or code, the enterprise's name, the
    hesitation or the asks (case-insensitive)."""

    group: str | None = None
    lead_id: int | None = None
    text: str | None = None

    @classmethod
    def parse(cls, args) -> LedgerFilter:
        """The filters in query arguments (``group``, ``lead``, ``q``), checked."""
        return cls(group=validate.code(args.get("group"), "group"),
                   lead_id=validate.number(args.get("lead"), "lead", low=1, high=2**31 - 1),
                   text=validate.code(args.get("q"), "search", limit=100))

    def clauses(self) -> list:
        where = []
        if self.group:
            where.append(Project.group_id == select(IndustryGroup.id).where(
                IndustryGroup.code == self.group).scalar_subquery())
        if self.lead_id:
            where.append(Project.lead_id == self.lead_id)
        if self.text:
            pattern = validate.like_pattern(self.text)
            named = select(Enterprise.id).where(Enterprise.name.ilike(pattern, escape="\\"))
            where.append(or_(*(column.ilike(pattern, escape="\\") for column in (
                Project.name, Project.code, Project.hesitation, Project.asks)),
                Project.enterprise_id.in_(named)))
        return where


@dataclass
class LedgerLine:
    project: Project
    follow_ups: int = 0  # how many contacts were recorded
    last_contact: date | None = None
    screening: Screening | None = None
    moved_at: datetime | None = None  # signed or dropped

    def stale(self, today: date) -> bool:
        """No contact for more than ``STALE_AFTER_DAYS`` (counting from the
        registration day before the first one), as ``silent_before`` says in SQL."""
        since = self.last_contact or stored_day(self.project.created_at)
        return (today - since).days > STALE_AFTER_DAYS


@dataclass(frozen=True)
class LedgerSummary:
    """The ledger's figures for the viewer and the filters: open intentions and
    their planned investment (exact, one aggregate), and the stale, converted
    and dropped ones counted up to ``paging.COUNT_CAP``."""

    open: int
    open_investment_wan: int
    stale: paging.Count
    converted: paging.Count
    dropped: paging.Count


@dataclass
class Ledger:
    open: paging.Page[LedgerLine]
    converted: paging.Page[LedgerLine]
    dropped: paging.Page[LedgerLine]
    summary: LedgerSummary


# Open intentions: largest planned investment first, then by code (ix_project_stage_investment).
STAGE_KEYS = (Key(INVESTMENT, int, descending=True), Key(Project.code, str), Key(Project.id, int))
OPEN = Order.by("intentions", *STAGE_KEYS)
# Converted and dropped: newest first, on the partial indexes of their audit events.
MOVED_KEYS = (Key(AuditEvent.at, datetime, descending=True), Key(AuditEvent.id, int, descending=True))
CONVERTED = Order.by("intentions-converted", *MOVED_KEYS)
DROPPED = Order.by("intentions-dropped", *MOVED_KEYS)
LINE_OPTIONS = (joinedload(Project.enterprise), joinedload(Project.lead), joinedload(Project.group))


def _is_open():
    return Project.stage == _lit("intention")


def _signed():
    """The signing of an intention (at most once per project: only an intention is signed)."""
    return (AuditEvent.action == _lit("project.sign"),)


def _dropped():
    """The termination of an intention (at most once per project)."""
    return AuditEvent.action == _lit("project.terminate"), AuditEvent.from_state == _lit("intention")


def _open_query(viewer: User, filters: LedgerFilter) -> Select:
    return select(Project).where(_is_open(), ledger_scope(viewer), *filters.clauses())


def _moved_query(viewer: User, filters: LedgerFilter, event: tuple) -> Select:
    return (select(Project, AuditEvent.at).join(AuditEvent, AuditEvent.project_id == Project.id)
            .where(*event, ledger_scope(viewer), *filters.clauses()))


def open_intentions(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
                    cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the open intentions ``viewer`` may read, largest planned
    investment first, then by code."""
    page = paging.fetch(session, _open_query(viewer, filters), OPEN, cursor=cursor, limit=limit,
                        options=LINE_OPTIONS)
    page.rows = _lines(session, [(p, None) for p in page.rows])
    return page


def converted(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
              cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the intentions signed since (whatever their stage now), newest first."""
    page = paging.fetch(session, _moved_query(viewer, filters, _signed()), CONVERTED, cursor=cursor,
                        limit=limit, options=LINE_OPTIONS)
    page.rows = _lines(session, [(row[0], row[1]) for row in page.rows])
    return page


def dropped(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
            cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the intentions terminated (the enterprise dropped them), newest first."""
    page = paging.fetch(session, _moved_query(viewer, filters, _dropped()), DROPPED, cursor=cursor,
                        limit=limit, options=LINE_OPTIONS)
    page.rows = _lines(session, [(row[0], row[1]) for row in page.rows])
    return page


def silent_before(cutoff: date):
    """Intentions nobody contacted on or after ``cutoff``: their last contact
    is before it, or, never contacted, they were registered before it."""
    contacts = select(FollowUp.id).where(FollowUp.project_id == Project.id)
    return and_(~contacts.where(FollowUp.contacted_on >= cutoff).exists(),
                or_(contacts.exists(), Project.created_at < _zone_midnight(cutoff)))


def _zone_midnight(day: date) -> datetime:
    """The instant ``day`` begins in the zone, in UTC (as moments are stored)."""
    return datetime.combine(day, time.min, tzinfo=ZONE_TZ).astimezone(UTC)


def summary(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
            today: date, cap: int = paging.COUNT_CAP) -> LedgerSummary:
    """The ledger's figures (``LedgerSummary``): one aggregate over the open
    intentions in scope, and three capped counts in one round trip."""
    where = (ledger_scope(viewer), *filters.clauses())
    count, total = session.execute(
        select(func.count(Project.id), func.coalesce(func.sum(INVESTMENT), literal_column("0")))
        .where(_is_open(), *where)).one()
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    counts = paging.counts_upto(session, {
        "stale": select(Project.id).where(_is_open(), silent_before(cutoff), *where),
        "converted": select(AuditEvent.id).join(Project, Project.id == AuditEvent.project_id)
        .where(*_signed(), *where),
        "dropped": select(AuditEvent.id).join(Project, Project.id == AuditEvent.project_id)
        .where(*_dropped(), *where),
    }, cap)
    return LedgerSummary(count or 0, int(total or 0), counts["stale"], counts["converted"],
                         counts["dropped"])


def ledger(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *, today: date,
           cursors: dict[str, str | None] | None = None, limit: int | None = None) -> Ledger:
    """The intention ledger ``viewer`` may read: a page each of the open
    intentions (largest planned investment first), those converted into signed
    projects and those the enterprise dropped (newest first), each line with
    its contacts and latest screening; ``cursors`` holds each list's cursor
    (``open``, ``converted``, ``dropped``)."""
    cursors = cursors or {}
    return Ledger(
        open_intentions(session, viewer, filters, cursor=cursors.get("open"), limit=limit),
        converted(session, viewer, filters, cursor=cursors.get("converted"), limit=limit),
        dropped(session, viewer, filters, cursor=cursors.get("dropped"), limit=limit),
        summary(session, viewer, filters, today=today))


def open_lines(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
               batch: int = 500, end_reads: bool = False) -> Iterator[LedgerLine]:
    """Every open intention ``viewer`` may read, in the ledger's order, read
    ``batch`` at a time (the Excel export: memory for one batch, not the list;
    ``end_reads`` as ``paging.pages_of``)."""
    rows = paging.pages_of(session, _open_query(viewer, filters), OPEN, batch=batch,
                           options=LINE_OPTIONS, end_reads=end_reads)
    while chunk := list(islice(rows, batch)):
        yield from _lines(session, [(p, None) for p in chunk])


def _lines(session: Session, rows: list[tuple[Project, datetime | None]]) -> list[LedgerLine]:
    """Ledger lines for a page of projects: their contacts (how many, the last)
    and the latest screening of the chemical ones, two queries for the page."""
    ids = [p.id for p, _ in rows]
    contacts = _contacts(session, ids)
    screenings = _latest_screenings(session, [p.id for p, _ in rows if p.is_chemical])
    lines = []
    for project, moved_at in rows:
        n, last = contacts.get(project.id, (0, None))
        lines.append(LedgerLine(project, n, last, screenings.get(project.id), moved_at))
    return lines


def _contacts(session: Session, project_ids: list[int]) -> dict[int, tuple[int, date]]:
    if not project_ids:
        return {}
    return {pid: (n, last) for pid, n, last in session.execute(
        select(FollowUp.project_id, func.count(FollowUp.id), func.max(FollowUp.contacted_on))
        .where(FollowUp.project_id.in_(sorted(set(project_ids)))).group_by(FollowUp.project_id))}


def _follow_ups(session: Session, project_ids: list[int]) -> dict[int, list[FollowUp]]:
    found: dict[int, list[FollowUp]] = {}
    if not project_ids:
        return found
    for row in session.scalars(select(FollowUp).where(FollowUp.project_id.in_(project_ids))
                               .options(joinedload(FollowUp.recorded_by))
                               .order_by(FollowUp.contacted_on.desc(), FollowUp.id.desc())):
        found.setdefault(row.project_id, []).append(row)
    return found


def _latest_screenings(session: Session, project_ids: list[int]) -> dict[int, Screening]:
    found: dict[int, Screening] = {}
    if not project_ids:
        return found
    for row in session.scalars(select(Screening).where(Screening.project_id.in_(project_ids))
                               .order_by(Screening.screened_at, Screening.id)):
        found[row.project_id] = row
    return found


def follow_ups_of(session: Session, project_id: int) -> list[FollowUp]:
    """A project's follow-up contacts, newest first (kept after signing)."""
    return _follow_ups(session, [project_id]).get(project_id, [])


def find_enterprise(session: Session, ref: str) -> Enterprise:
    """A registered enterprise by its credit code or its exact name."""
    ref = _text(ref, "enterprise (credit code or name)", required=True, limit=200)
    found = session.scalar(select(Enterprise).where(
        or_(Enterprise.credit_code == ref.upper(), Enterprise.name == ref)).order_by(Enterprise.id))
    if found is None:
        raise ValidationError(f"No registered enterprise has the credit code or name '{ref}'.",
                              field="enterprise")
    return found


def lead_handlers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == "lead", User.active.is_(True))
                                .order_by(User.display_name, User.id)))


# -- the pipeline ------------------------------------------------------------------------------

@dataclass
class Total:
    count: int = 0
    investment_wan: int = 0

    def add(self, count: int, investment_wan: int) -> None:
        self.count += count
        self.investment_wan += investment_wan


@dataclass
class Row:
    """Totals per step for one industry group or one leader."""

    key: Any
    steps: dict[str, Total]
    total: Total


@dataclass
class Pipeline:
    """The pipeline's totals as of the scheduler's last refresh
    (``refreshed_at`` ``None``: not counted yet, every total 0)."""

    steps: dict[str, Total]
    groups: list[Row]
    leads: list[Row]
    total: Total
    refreshed_at: datetime | None = None


STEPS = tuple(step for step, _ in PIPELINE)


def step_of(project: Project) -> str | None:
    """The pipeline step of a project; a suspended one counts where it stopped,
    a terminated one nowhere (``step_column`` is the same rule in SQL)."""
    stage = project.suspended_from if project.stage == "suspended" else project.stage
    return STEP_OF.get(stage or "")


def step_column(stage, suspended_from):
    """The pipeline step of a row with these stage columns, in SQL: the stage
    it was suspended from for a suspended one; NULL for a terminated one."""
    where = case((stage == _lit("suspended"), suspended_from), else_=stage)
    return case(*((where.in_([_lit(s) for s in stages]), _lit(step)) for step, stages in PIPELINE),
                else_=null())


def pipeline(session: Session) -> Pipeline:
    """The zone's projects from intention to capacity: counts and planned
    investment per step, per industry group and per responsible leader, read
    from the rollup the scheduler refreshes with each sweep
    (``rollups.PipelineTotal``): a few hundred rows, whatever the zone's size."""
    state = rollups.as_of(session, rollups.PIPELINE)
    rolled = select(step_column(PipelineTotal.stage, PipelineTotal.suspended_from).label("step"),
                    PipelineTotal.group_id, PipelineTotal.lead_id, PipelineTotal.projects,
                    PipelineTotal.investment_wan).subquery()
    rows = session.execute(
        select(rolled.c.step, rolled.c.group_id, rolled.c.lead_id, func.sum(rolled.c.projects),
               func.sum(rolled.c.investment_wan))
        .where(rolled.c.step.is_not(None))
        .group_by(rolled.c.step, rolled.c.group_id, rolled.c.lead_id)).all()
    steps = {step: Total() for step in STEPS}
    total = Total()
    groups: dict[int, Row] = {g.id: _row(g) for g in session.scalars(
        select(IndustryGroup).order_by(IndustryGroup.id))}
    lead_ids = sorted({lead for _, _, lead, _, _ in rows if lead})
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(lead_ids)))} \
        if lead_ids else {}
    leads: dict[int, Row] = {}
    for step, group_id, lead_id, count, investment in rows:
        count, investment = int(count or 0), int(investment or 0)
        for bucket in (steps[step], total):
            bucket.add(count, investment)
        if group_id not in groups:  # a group no longer in the table (not expected)
            groups[group_id] = _row(session.get(IndustryGroup, group_id))
        if (lead_id or 0) not in leads:
            leads[lead_id or 0] = _row(users.get(lead_id))
        for row in (groups[group_id], leads[lead_id or 0]):
            row.steps[step].add(count, investment)
            row.total.add(count, investment)
    lead_rows = sorted(leads.values(), key=lambda r: (r.key is None, -r.total.investment_wan,
                                                      r.key.username if r.key else ""))
    return Pipeline(steps, list(groups.values()), lead_rows, total, state.refreshed_at)


def _row(key: Any) -> Row:
    return Row(key, {step: Total() for step in STEPS}, Total())


def step_order(step: str) -> Order:
    """A step's projects, largest planned investment first, then by code: one
    index range per lifecycle stage of the step (``ix_project_stage_investment``)
    and one per stage its suspended projects stopped at
    (``ix_project_suspended_investment``), merged. No branch reads a
    terminated project."""
    stages = dict(PIPELINE).get(step)
    if stages is None:
        raise ValidationError(f"Unknown pipeline step '{step}'; choose one of {', '.join(STEPS)}.",
                              field="step")
    branches = (*(Project.stage == _lit(s) for s in stages),
                *(and_(Project.stage == _lit("suspended"), Project.suspended_from == _lit(s))
                  for s in stages))
    return Order(f"pipeline-{step}", (Segment(paging.Keyset(*STAGE_KEYS), (), branches),))


def step_projects(session: Session, step: str, *, cursor: str | None = None,
                  limit: int | None = None) -> paging.Page[Project]:
    """A page of the projects of a pipeline step, with enterprise, group and leader."""
    return paging.fetch(session, select(Project), step_order(step), cursor=cursor, limit=limit,
                        options=LINE_OPTIONS)


# -- the periodic reminder ----------------------------------------------------------------------

SWEEP_BATCH = 500


def sweep(session: Session, *, now: datetime, batch: int = SWEEP_BATCH) -> list[str]:
    """Remind the leader of every intention nobody contacted for more than
    ``STALE_AFTER_DAYS`` days, once per silence: a reminder is not repeated
    until a new contact is recorded and goes stale again.

    Only the silent intentions of active leaders are read (``silent_before``,
    in SQL), ``batch`` at a time in the ledger's order, each batch with one
    look-up of the reminders already sent (``ix_notification_intention_stale``)."""
    today = zone_today(now)
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    last = (select(func.max(FollowUp.contacted_on)).where(FollowUp.project_id == Project.id)
            .scalar_subquery())
    query = (select(Project, last.label("last_contact"))
             .join(User, User.id == Project.lead_id)
             .where(_is_open(), User.active.is_(True), silent_before(cutoff)))
    rows = paging.pages_of(session, query, OPEN, batch=batch, options=(contains_eager(Project.lead),))
    recorded = []
    while chunk := list(islice(rows, batch)):
        sent = _last_reminded(session, [row[0].id for row in chunk])
        for project, last_contact, *_ in chunk:
            since = last_contact or stored_day(project.created_at)
            if since >= cutoff:
                continue
            reminded = sent.get(project.id)
            if reminded is not None and aware(reminded) >= _zone_midnight(since + timedelta(days=1)):
                continue  # already reminded of this silence
            key = f"intention-stale:{project.id}:{since.isoformat()}"
            notify.tell(session, [project.lead], notify.Message(
                "intention_stale", f"【意向跟进提醒】{project.name}",
                f"意向项目「{project.name}」自 {since.isoformat()} 以来已超过 {STALE_AFTER_DAYS} 天未跟进，"
                "请及时联系企业并记录观望原因和企业要求。"), now=now, key=key, project=project)
            recorded.append(f"intention {project.code}: no contact since {since.isoformat()}, "
                            f"{project.lead.username} reminded")
        session.flush()
    return recorded


def _last_reminded(session: Session, project_ids: list[int]) -> dict[int, datetime]:
    """When each project's last stale reminder was sent (if ever)."""
    return dict(session.execute(
        select(Notification.project_id, func.max(Notification.created_at))
        .where(Notification.kind == _lit("intention_stale"),
               Notification.project_id.in_(sorted(set(project_ids))))
        .group_by(Notification.project_id)).all())

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from workflow import audit, notify, operations, permissions, validate
from workflow.chemicals import CHEMICAL_INDUSTRIES
from workflow.errors import InvalidTransition, NotFound, NotPermitted, ValidationError
from workflow.models import (
    AuditEvent,
    Enterprise,
    FollowUp,
    IndustryGroup,
    Notification,
    Project,
    Screening,
    User,
)
from workflow.moments import parse_day, stored_day
from workflow.operations import flush, lock_project, utc, zone_today
from workflow.registry import current_version, definition_of

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
                     hesitation: str = "", asks: str = "", is_chemical: bool = False) -> Project:
    """Register an intention project (意向项目) for a new or an existing
    enterprise. The leader in charge is the one given, else the lead handler
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
    company, new = _enterprise(session, enterprise_id, enterprise_name, credit_code,
                               contact_name, contact_phone)
    if lead is None and actor is not None and actor.role == "lead":
        lead = actor
    project = operations.create_project(
        session, code=_text(code, "project code", limit=40) or provisional_code(session, now),
        name=name, enterprise=company, industry=industry, actor=actor, now=now, lead=lead,
        investment_wan=investment, stage="intention")
    project.hesitation, project.asks = hesitation or None, asks or None
    project.is_chemical = bool(is_chemical) or industry in CHEMICAL_INDUSTRIES
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


# -- the ledger --------------------------------------------------------------------------------

@dataclass
class LedgerLine:
    project: Project
    follow_ups: list[FollowUp] = field(default_factory=list)  # newest first
    screening: Screening | None = None
    moved_at: datetime | None = None  # signed or dropped

    @property
    def last_contact(self) -> date | None:
        return self.follow_ups[0].contacted_on if self.follow_ups else None

    def stale(self, today: date) -> bool:
        since = self.last_contact or self.project.created_at.date()
        return (today - since).days > STALE_AFTER_DAYS


@dataclass
class Ledger:
    open: list[LedgerLine]
    converted: list[LedgerLine]
    dropped: list[LedgerLine]

    @property
    def open_investment_wan(self) -> int:
        return sum(line.project.investment_wan or 0 for line in self.open)


def _moved(session: Session, action: str, from_state: str | None = None) -> dict[int, datetime]:
    """Projects that left the intention stage by ``action``, with when."""
    query = select(AuditEvent.project_id, func.min(AuditEvent.at)).where(AuditEvent.action == action)
    if from_state is not None:
        query = query.where(AuditEvent.from_state == from_state)
    return dict(session.execute(query.group_by(AuditEvent.project_id)).all())


def ledger(session: Session, viewer: User, *, group: str | None = None, lead_id: int | None = None,
           text: str | None = None) -> Ledger:
    """The intention ledger ``viewer`` may see: open intentions (largest
    planned investment first), those converted into signed projects and those
    the enterprise dropped, each with its follow-ups and latest screening."""
    signed = _moved(session, "project.sign")
    dropped = _moved(session, "project.terminate", "intention")
    ids = set(signed) | set(dropped)
    query = (select(Project).options(joinedload(Project.enterprise), joinedload(Project.lead),
                                     joinedload(Project.group))
             .where((Project.stage == "intention") | Project.id.in_(ids)))
    if group:
        query = query.join(IndustryGroup, IndustryGroup.id == Project.group_id).where(
            IndustryGroup.code == group)
    if lead_id:
        query = query.where(Project.lead_id == lead_id)
    projects = [p for p in session.scalars(query).unique()
                if permissions.can_view_project(viewer, p) and _matches(p, text)]
    follow_ups = _follow_ups(session, [p.id for p in projects])
    screenings = _latest_screenings(session, [p.id for p in projects if p.is_chemical])
    result = Ledger([], [], [])
    for project in projects:
        line = LedgerLine(project, follow_ups.get(project.id, []), screenings.get(project.id))
        if project.stage == "intention":
            result.open.append(line)
        elif project.id in signed:
            line.moved_at = signed[project.id]
            result.converted.append(line)
        elif project.id in dropped:
            line.moved_at = dropped[project.id]
            result.dropped.append(line)
    result.open.sort(key=lambda line: (-(line.project.investment_wan or 0), line.project.code))
    for moved in (result.converted, result.dropped):
        moved.sort(key=lambda line: (line.moved_at, line.project.id), reverse=True)
    return result


def _matches(project: Project, text: str | None) -> bool:
    text = (text or "").strip()
    if not text:
        return True
    return any(text in (value or "") for value in (project.name, project.code, project.enterprise.name,
                                                   project.hesitation, project.asks))


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


def enterprises(session: Session) -> list[Enterprise]:
    return list(session.scalars(select(Enterprise).order_by(Enterprise.name)))


def lead_handlers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == "lead", User.active.is_(True))
                                .order_by(User.display_name, User.id)))


# -- the pipeline ------------------------------------------------------------------------------

@dataclass
class Total:
    count: int = 0
    investment_wan: int = 0

    def add(self, project: Project) -> None:
        self.count += 1
        self.investment_wan += project.investment_wan or 0


@dataclass
class Row:
    """Totals per step for one industry group or one leader."""

    key: Any
    steps: dict[str, Total]
    total: Total


@dataclass
class Pipeline:
    steps: dict[str, Total]
    projects: dict[str, list[Project]]
    groups: list[Row]
    leads: list[Row]
    total: Total


def step_of(project: Project) -> str | None:
    """The pipeline step of a project; a suspended one counts where it stopped,
    a terminated one nowhere."""
    stage = project.suspended_from if project.stage == "suspended" else project.stage
    return STEP_OF.get(stage or "")


def pipeline(session: Session) -> Pipeline:
    """The zone's projects from intention to capacity: counts and investment
    totals per step, per industry group and per responsible leader, and the
    projects of each step (largest first) with their leader."""
    projects = session.scalars(
        select(Project).options(joinedload(Project.lead), joinedload(Project.group),
                                joinedload(Project.enterprise))
        .where(Project.stage != "terminated")).unique().all()
    steps = {step: Total() for step, _ in PIPELINE}
    listed: dict[str, list[Project]] = {step: [] for step, _ in PIPELINE}
    groups: dict[int, Row] = {g.id: _row(g) for g in session.scalars(
        select(IndustryGroup).order_by(IndustryGroup.id))}
    leads: dict[int | None, Row] = {}
    total = Total()
    for project in projects:
        step = step_of(project)
        if step is None:
            continue
        for bucket in (steps[step], total):
            bucket.add(project)
        listed[step].append(project)
        for row in (groups.setdefault(project.group_id, _row(project.group)),
                    leads.setdefault(project.lead_id, _row(project.lead))):
            row.steps[step].add(project)
            row.total.add(project)
    for step_projects in listed.values():
        step_projects.sort(key=lambda p: (-(p.investment_wan or 0), p.code))
    lead_rows = sorted(leads.values(), key=lambda r: (r.key is None, -r.total.investment_wan))
    return Pipeline(steps, listed, list(groups.values()), lead_rows, total)


def _row(key: Any) -> Row:
    return Row(key, {step: Total() for step, _ in PIPELINE}, Total())


# -- the periodic reminder ----------------------------------------------------------------------

def sweep(session: Session, *, now: datetime) -> list[str]:
    """Remind the leader of every intention nobody contacted for more than
    ``STALE_AFTER_DAYS`` days, once per silence: a reminder is not repeated
    until a new contact is recorded and goes stale again."""
    today = zone_today(now)
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    last = (select(FollowUp.project_id, func.max(FollowUp.contacted_on).label("last"))
            .group_by(FollowUp.project_id).subquery())
    rows = session.execute(
        select(Project, last.c.last).outerjoin(last, last.c.project_id == Project.id)
        .where(Project.stage == "intention", Project.lead_id.is_not(None))
        .order_by(Project.id)).all()
    recorded = []
    for project, last_contact in rows:
        since = last_contact or stored_day(project.created_at)
        if since >= cutoff:
            continue
        key = f"intention-stale:{project.id}:{since.isoformat()}"
        if _reminded(session, project.id, since):
            continue
        notify.tell(session, [project.lead], notify.Message(
            "intention_stale", f"【意向跟进提醒】{project.name}",
            f"意向项目「{project.name}」自 {since.isoformat()} 以来已超过 {STALE_AFTER_DAYS} 天未跟进，"
            "请及时联系企业并记录观望原因和企业要求。"), now=now, key=key, project=project)
        recorded.append(f"intention {project.code}: no contact since {since.isoformat()}, "
                        f"{project.lead.username} reminded")
    session.flush()
    return recorded


def _reminded(session: Session, project_id: int, since: date) -> bool:
    """A stale reminder for this project was already sent after ``since``."""
    after = datetime.combine(since + timedelta(days=1), datetime.min.time(), tzinfo=UTC) \
        - timedelta(hours=8)
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.project_id == project_id, Notification.kind == "intention_stale",
        Notification.created_at >= after)) > 0

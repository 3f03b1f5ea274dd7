"""The promotion plan (推进方案) of a project and its team: seeded when the
project is signed, dated from the investment agreement, followed through the
lifecycle, edited by the project's leadership member (its lead handler).

Every change is an event of the project's audit chain, written by the
operation under the project's row lock; the operations only flush."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from definitions import Definition
from workflow.core import audit, hooks
from workflow.core import operations as ops
from workflow.core.deadlines import add_months
from workflow.core.models import Project
from workflow.core.permissions import can_read_plans  # noqa: F401 - the area's rules in one place
from workflow.kernel import clock
from workflow.kernel.errors import InvalidTransition, NotFound, NotPermitted, ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.moments import parse_day
from workflow.reforms.baolian.models import PLAN_DONE, PlanMilestone, PromotionPlan
from workflow.reforms.land.models import InvestmentAgreement

# The lifecycle's milestones (签约 → 开工 → 竣工 → 投产 → 达产): kind, the stage
# that achieves it, its name, the agreement's date for it, and the months
# after signing a plan assumes until the agreement is recorded.
STAGE_MILESTONES: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("sign", "signed", "签约", None, 0),
    ("start", "started", "开工", "start_by", 3),
    ("completion", "completed", "竣工", "complete_by", 15),
    ("production", "producing", "投产", "produce_by", 18),
    ("capacity", "at_capacity", "达产", "capacity_by", 30),
)
# The audit's name of each stage milestone's date (the agreement's own words).
_FIELD = {kind: field or "signed_on" for kind, _, _, field, _ in STAGE_MILESTONES}
# A milestone due within this many working days (and not achieved) puts the plan at risk.
AT_RISK_WORKING_DAYS = 10
STAFF_ROLES = ("agent", "lead")
STATUSES = ("late", "at_risk", "on_track", "done")


# -- who may --------------------------------------------------------------------------------

def can_edit_plan(user: User, project: Project) -> bool:
    """The plan and its team: the project's leadership member (its lead
    handler), and admins as the zone's leadership."""
    return user.active and (user.role == "admin"
                            or (user.role == "lead" and project.lead_id == user.id))


def _require_edit(actor: User | None, project: Project) -> None:
    if actor is not None and not can_edit_plan(actor, project):
        raise NotPermitted("{user} ({role}) may not change the promotion plan "
                           "of project {project}.", project=project.code, user=actor.username,
                           role=actor.role)


# -- reading --------------------------------------------------------------------------------

def plan_of(session: Session, project_id: int) -> PromotionPlan | None:
    return session.scalar(select(PromotionPlan).where(PromotionPlan.project_id == project_id))


def risk_bound(today: date) -> date:
    """The last planned date that puts an open milestone at risk today."""
    return clock.add_working_days(today, AT_RISK_WORKING_DAYS).date


def status_of(next_due_on: date, today: date, risk_by: date | None = None) -> str:
    """late (a milestone past its date), at risk (one due within
    ``AT_RISK_WORKING_DAYS``), on track, or done (every milestone achieved)."""
    if next_due_on >= PLAN_DONE:
        return "done"
    if next_due_on < today:
        return "late"
    return "at_risk" if next_due_on <= (risk_by or risk_bound(today)) else "on_track"


def milestone_status(milestone: PlanMilestone, today: date, risk_by: date | None = None) -> str:
    if milestone.achieved_on is not None:
        return "done"
    return status_of(milestone.planned_on, today, risk_by)


# -- seeding ----------------------------------------------------------------------------------

def _dated(day: date) -> date:
    """A planned date on a working day (a weekend or holiday moves to the next one)."""
    try:
        return clock.roll_forward(day)
    except clock.CalendarRangeError:
        return day


def _refresh(plan: PromotionPlan) -> None:
    open_days = [m.planned_on for m in plan.milestones if m.achieved_on is None]
    plan.next_due_on = min(open_days, default=PLAN_DONE)


def _reached(definition: Definition, project: Project, stage: str) -> bool:
    current = definition.stages.get(project.stage)
    target = definition.stages.get(stage)
    return (current is not None and target is not None and not current.side
            and current.order >= target.order)


def seed_plan(session: Session, project: Project, *, actor: User | None, now: datetime) -> PromotionPlan:
    """The project's plan, created with the lifecycle's milestones when it is
    signed: dated from its investment agreement, or, until one is recorded,
    the zone's default months after signing. Stages already reached are
    achieved. Does nothing if the project has a plan."""
    plan = plan_of(session, project.id)
    if plan is not None:
        return plan
    today = ops.zone_today(now)
    agreement = session.scalar(select(InvestmentAgreement)
                               .where(InvestmentAgreement.project_id == project.id))
    plan = PromotionPlan(project_id=project.id, promoting_unit="", next_due_on=PLAN_DONE,
                         created_at=ops.utc(now))
    session.add(plan)
    definition = ops.definition_for(project)
    for kind, stage, name, field, months in STAGE_MILESTONES:
        if agreement is not None and field is not None:
            planned, source = getattr(agreement, field), "agreement"
        else:
            planned, source = (_dated(add_months(today, months)) if months else today), "default"
        milestone = PlanMilestone(project_id=project.id, kind=kind, stage=stage, name=name,
                                  planned_on=planned, source=source, note="")
        if _reached(definition, project, stage):
            milestone.achieved_on, milestone.achieved_how = today, "stage"
        plan.milestones.append(milestone)
    _refresh(plan)
    session.flush()
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.plan_seeded",
                 data={"dated_by": "agreement" if agreement is not None else "default",
                       **{_FIELD[m.kind]: m.planned_on for m in plan.milestones}})
    return plan


@hooks.consequence("project.signed")
def _seed_on_signing(session: Session, project: Project, *, actor: User | None, now: datetime) -> None:
    seed_plan(session, project, actor=actor, now=now)


@hooks.consequence("project.agreement")
def _date_from_agreement(session: Session, project: Project, agreement: InvestmentAgreement, *,
                         actor: User | None, now: datetime) -> None:
    """The agreement's dates replace the default ones (never the lead's own)."""
    plan = seed_plan(session, project, actor=actor, now=now)
    changed: dict[str, Any] = {}
    for milestone in plan.milestones:
        field = next((f for k, _, _, f, _ in STAGE_MILESTONES if k == milestone.kind), None)
        if field is None or milestone.source != "default" or milestone.achieved_on is not None:
            continue
        milestone.planned_on, milestone.source = getattr(agreement, field), "agreement"
        changed[field] = milestone.planned_on
    if changed:
        _refresh(plan)
        audit.record(session, project, actor=actor, now=ops.utc(now),
                     action="baolian.plan_from_agreement", data=changed)


@hooks.consequence("project.advanced")
def _achieve_on_stage(session: Session, project: Project, *, actor: User | None, now: datetime) -> None:
    """The milestones of the stage the project reached (and of any it passed) are achieved."""
    plan = plan_of(session, project.id)
    if plan is None:
        return
    definition, today = ops.definition_for(project), ops.zone_today(now)
    for milestone in plan.milestones:
        if (milestone.achieved_on is None and milestone.stage is not None
                and _reached(definition, project, milestone.stage)):
            milestone.achieved_on, milestone.achieved_how = today, "stage"
            audit.record(session, project, actor=actor, now=ops.utc(now),
                         action="baolian.milestone_achieved",
                         data={"milestone": milestone.name, "planned_on": milestone.planned_on,
                               "achieved_on": today, "how": "stage"})
    _refresh(plan)


def start_plan(session: Session, project_id: int, *, actor: User | None, now: datetime) -> PromotionPlan:
    """The plan of a project signed before plans were kept (the lead opens it)."""
    project = ops.lock_project(session, project_id)
    _require_edit(actor, project)
    if project.stage in ("intention", "terminated"):
        raise InvalidTransition("Project {project} has no plan at stage {state}.",
                                state=project.stage, project=project.code)
    plan = seed_plan(session, project, actor=actor, now=now)
    ops.flush(session)
    return plan


# -- the lead's edits -------------------------------------------------------------------------

def _text(value: Any, what: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationError("The {field} is required.", field=what)
    if len(text) > limit:
        raise ValidationError("The {field} is longer than {limit} characters.", field=what,
                              limit=limit)
    return text


def _day(value: Any, what: str) -> date:
    day = parse_day(value, what)
    first, last = clock.supported_range()
    if not first <= day <= last:
        raise ValidationError("The {field} must lie between {first} and {last}.", field=what,
                              first=first, last=last)
    return day


def _locked_plan(session: Session, project_id: int, actor: User | None) -> tuple[Project, PromotionPlan]:
    project = ops.lock_project(session, project_id)
    _require_edit(actor, project)
    plan = plan_of(session, project.id)
    if plan is None:
        raise InvalidTransition("Project {project} has no promotion plan: it is not signed yet.",
                                state=project.stage, project=project.code)
    if project.stage == "terminated":
        raise InvalidTransition("Project {project} is terminated.", state=project.stage,
                                project=project.code)
    return project, plan


def _milestone(session: Session, milestone_id: int, actor: User | None
               ) -> tuple[Project, PromotionPlan, PlanMilestone]:
    project_id = session.scalar(select(PlanMilestone.project_id).where(PlanMilestone.id == milestone_id))
    if project_id is None:
        raise NotFound("No milestone {milestone}.", milestone=milestone_id)
    project, plan = _locked_plan(session, project_id, actor)
    milestone = next(m for m in plan.milestones if m.id == milestone_id)
    return project, plan, milestone


def set_team(session: Session, project_id: int, *, promoting_unit: Any, staff: User | None,
             actor: User | None, now: datetime) -> PromotionPlan:
    """The promoting unit (推进单位) and the dedicated staff member (专职人员, an
    active agent or lead handler) of the project."""
    project, plan = _locked_plan(session, project_id, actor)
    unit = _text(promoting_unit, term("promoting unit"), 200, required=False)
    if staff is not None and (not staff.active or staff.role not in STAFF_ROLES):
        raise ValidationError("{user} is not an active agent or lead handler.",
                              field="staff", user=staff.username)
    before = (plan.promoting_unit, plan.staff.username if plan.staff else None)
    after = (unit, staff.username if staff else None)
    if before == after:
        return plan
    plan.promoting_unit, plan.staff_id = unit, staff.id if staff else None
    plan.staff = staff
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.team_set",
                 data={"promoting_unit": after[0], "staff": after[1], "previous_unit": before[0],
                       "previous_staff": before[1]})
    ops.flush(session)
    return plan


def add_milestone(session: Session, project_id: int, *, name: Any, planned_on: Any, reason: Any,
                  actor: User | None, now: datetime) -> PlanMilestone:
    """A milestone of the lead's own (a road finished, power connected), done when he marks it."""
    project, plan = _locked_plan(session, project_id, actor)
    name, reason = _text(name, term("milestone"), 200), _text(reason, term("reason"), 1000)
    day = _day(planned_on, term("planned date"))
    milestone = PlanMilestone(project_id=project.id, kind="custom", stage=None, name=name,
                              planned_on=day, source="lead", note="")
    plan.milestones.append(milestone)
    _refresh(plan)
    session.flush()
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.milestone_added",
                 data={"milestone": name, "planned_on": day, "reason": reason})
    ops.flush(session)
    return milestone


def edit_milestone(session: Session, milestone_id: int, *, planned_on: Any, reason: Any,
                   actor: User | None, now: datetime, name: Any = None) -> PlanMilestone:
    """Reschedule a milestone not yet achieved (and rename one of the lead's own)."""
    project, plan, milestone = _milestone(session, milestone_id, actor)
    if milestone.achieved_on is not None:
        raise InvalidTransition("The milestone {milestone} is already achieved.",
                                milestone=milestone.name)
    reason = _text(reason, term("reason"), 1000)
    day = _day(planned_on, term("planned date"))
    new_name = milestone.name
    if name is not None and str(name).strip():
        if milestone.kind != "custom":
            raise ValidationError("A lifecycle milestone keeps its name.", field="name")
        new_name = _text(name, term("milestone"), 200)
    if day == milestone.planned_on and new_name == milestone.name:
        return milestone
    data = {"milestone": new_name, "previous_date": milestone.planned_on, "planned_on": day,
            "reason": reason}
    if new_name != milestone.name:
        data["renamed_from"] = milestone.name
    milestone.planned_on, milestone.source, milestone.name = day, "lead", new_name
    _refresh(plan)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.milestone_changed",
                 data=data)
    ops.flush(session)
    return milestone


def remove_milestone(session: Session, milestone_id: int, *, reason: Any, actor: User | None,
                     now: datetime) -> None:
    """Take a milestone not yet achieved out of the plan (its escalations go with it)."""
    project, plan, milestone = _milestone(session, milestone_id, actor)
    if milestone.achieved_on is not None:
        raise InvalidTransition("The milestone {milestone} is already achieved.",
                                milestone=milestone.name)
    reason = _text(reason, term("reason"), 1000)
    plan.milestones.remove(milestone)
    _refresh(plan)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.milestone_removed",
                 data={"milestone": milestone.name, "planned_on": milestone.planned_on,
                       "reason": reason})
    ops.flush(session)


def mark_done(session: Session, milestone_id: int, *, achieved_on: Any, note: Any,
              actor: User | None, now: datetime) -> PlanMilestone:
    """The lead records a milestone achieved on a day (not in the future)."""
    project, plan, milestone = _milestone(session, milestone_id, actor)
    if milestone.achieved_on is not None:
        raise InvalidTransition("The milestone {milestone} is already achieved.",
                                milestone=milestone.name)
    day = _day(achieved_on, term("date achieved"))
    if day > ops.zone_today(now):
        raise ValidationError("A milestone cannot be achieved in the future.", field="achieved_on")
    milestone.achieved_on, milestone.achieved_how = day, "lead"
    milestone.note = _text(note, term("note"), 1000, required=False)
    _refresh(plan)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="baolian.milestone_achieved",
                 data={"milestone": milestone.name, "planned_on": milestone.planned_on,
                       "achieved_on": day, "how": "lead", "note": milestone.note})
    ops.flush(session)
    return milestone


def count_plans(session: Session) -> int:
    return session.scalar(select(func.count(PromotionPlan.id))) or 0

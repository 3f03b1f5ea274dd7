"""Idle land (闲置土地处置办法, 2012) beyond the missed start the agreement's
start check watches:

- **The second criterion** (第二条): construction started, but the developed
  area is under a third of the area to develop, or the investment made is
  under 25 % of the total, and construction then stopped (中止开发建设) for a
  year. The lead records a stoppage with those figures (``record_stoppage``)
  and its end (``resume_construction``); the sweep warns once when a year has
  passed (``sweep_stoppages``), with the idle fee.
- **The exemption** (第八条): a delay the government caused — the land not
  delivered as agreed, a plan or policy changed, petitions, military control
  or relics, another act of a government body — or force majeure. Recorded
  with its cause and reason (``record_exemption``), it stops the idle-land
  and recovery warnings of both criteria until withdrawn; the land is then
  dealt with under 第十二条 (an extended start, a changed use …), not charged.

Shares are compared exactly: built × 3 < area, invested × 4 < total."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import audit, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.reforms.land.agreements import _agreement, _reached
from workflow.reforms.land.indicators import (
    RULES,
    LandRules,
    _date,
    _text,
    add_years,
    rounded,
    to_decimal,
)
from workflow.reforms.land.models import (
    EXEMPTION_CAUSES,
    IdleExemption,
    InvestmentAgreement,
    LandStoppage,
)

# The causes of 第八条, as the page names them.
CAUSE_NAMES = {
    "land_not_delivered": "未按约定期限、条件交付土地",
    "plan_changed": "土地利用总体规划、城乡规划依法修改",
    "policy_changed": "国家出台相关政策需修改规划和建设条件",
    "petitions": "处置土地上相关群众信访事项",
    "military_or_relics": "军事管制、文物保护",
    "other_government": "政府、政府有关部门的其他行为",
    "force_majeure": "自然灾害等不可抗力",
}
assert tuple(CAUSE_NAMES) == EXEMPTION_CAUSES


def idle_share(stoppage: LandStoppage) -> dict[str, Any]:
    """Which part of the second criterion holds: the developed area under a
    third of the area to develop, the investment under 25 % of the total."""
    built, area = Decimal(stoppage.built_area_mu), Decimal(stoppage.area_mu)
    invested, total = Decimal(stoppage.invested_wan), Decimal(stoppage.total_investment_wan)
    by_area, by_investment = built * 3 < area, invested * 4 < total
    return {"by_area": by_area, "by_investment": by_investment,
            "idle": by_area or by_investment}


def idle_fee(agreement: InvestmentAgreement, rules: LandRules = RULES) -> Decimal | None:
    """The idle-land fee: ``idle_fee_rate`` (20 %) of the land price, in 万元."""
    price = agreement.land_price_wan
    if price is None and agreement.parcel is not None:
        price = agreement.parcel.land_price_wan
    return rounded(Decimal(price) * rules.idle_fee_rate) if price is not None else None


def idle_due(start_by: date) -> tuple[date, date]:
    """The first days on which the idle-land and recovery warnings are due: a
    one-year (two-year) period from the agreed start ends on its corresponding
    day (民法典 第二百零一、二百零二条), so "满一年" is reached the day after."""
    return add_years(start_by, 1) + timedelta(days=1), add_years(start_by, 2) + timedelta(days=1)


def stoppage_idle_from(stoppage: LandStoppage) -> date:
    """The first day the stoppage has lasted a full year (满一年: the day after
    the corresponding day, as for a missed start)."""
    return idle_due(stoppage.stopped_on)[0]


def standing_exemption(session: Session, project_id: int) -> IdleExemption | None:
    return session.scalar(select(IdleExemption).where(
        IdleExemption.project_id == project_id, IdleExemption.withdrawn_on.is_(None))
        .order_by(IdleExemption.id.desc()).limit(1))


def running_stoppage(session: Session, project_id: int) -> LandStoppage | None:
    return session.scalar(select(LandStoppage).where(
        LandStoppage.project_id == project_id, LandStoppage.resumed_on.is_(None))
        .order_by(LandStoppage.id.desc()).limit(1))


def stoppages(session: Session, project_id: int) -> list[LandStoppage]:
    """The project's stoppages, newest first (``ix_land_stoppage_project``)."""
    return list(session.scalars(select(LandStoppage).where(LandStoppage.project_id == project_id)
                                .order_by(LandStoppage.id.desc())))


def record_stoppage(session: Session, project_id: int, *, stopped_on: Any, built_area_mu: Any,
                    invested_wan: Any, actor: User | None, now: datetime, note: str = "",
                    total_investment_wan: Any = None) -> LandStoppage:
    """Record that construction stopped on a started project, with the area
    developed (亩) and the investment made (万元). The area to develop is the
    parcel's; the total investment is the one given, else the project's."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    agreement = _agreement(session, project.id)
    if agreement is None:
        raise InvalidTransition("Record the investment agreement before a stoppage.")
    if not _reached(ops.definition_for(project), project, "started"):
        raise InvalidTransition("Project {project} has not started: a late start is the "
                                "start check's matter, not a stoppage.", state=project.stage,
                                project=project.code)
    if running_stoppage(session, project.id) is not None:
        raise Conflict("Construction of {project} is already recorded as stopped.",
                       project=project.code)
    today = ops.zone_today(now)
    stopped = _date(stopped_on, term("stopped on"))
    if stopped > today:
        raise ValidationError("A stoppage is recorded once it happened, not ahead.",
                              field="stopped_on")
    area = Decimal(agreement.parcel.area_mu)
    built = to_decimal(built_area_mu, term("developed area (亩)"))
    if built > area:
        raise ValidationError("The developed area ({built} 亩) exceeds the parcel ({area} 亩).",
                              field="built_area_mu", built=built, area=area)
    invested = to_decimal(invested_wan, term("investment made (万元)"))
    total = (to_decimal(total_investment_wan, term("total investment (万元)"), positive=True)
             if total_investment_wan not in (None, "") else None)
    if total is None:
        if not project.investment_wan:
            raise ValidationError("Give the total investment (万元): the project has none.",
                                  field="total_investment_wan")
        total = Decimal(project.investment_wan)
    if built.adjusted() >= 10 or invested.adjusted() >= 12 or total.adjusted() >= 12:
        raise ValidationError("A figure is too large.")
    row = LandStoppage(project_id=project.id, stopped_on=stopped, built_area_mu=built, area_mu=area,
                       invested_wan=invested, total_investment_wan=total,
                       note=_text(note, term("note"), limit=2000, required=False),
                       recorded_by_id=actor.id if actor else None, recorded_at=ops.utc(now))
    session.add(row)
    share = idle_share(row)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.stoppage_recorded",
                 data={"stopped_on": stopped, "built_area_mu": str(built), "area_mu": str(area),
                       "invested_wan": str(invested), "total_investment_wan": str(total),
                       **share}, public=True)
    ops.flush(session)
    return row


def resume_construction(session: Session, project_id: int, *, resumed_on: Any,
                        actor: User | None, now: datetime) -> LandStoppage:
    """Construction resumed: the stoppage ends (and no longer counts)."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    row = running_stoppage(session, project.id)
    if row is None:
        raise NotFound("Construction of {project} is not recorded as stopped.",
                       project=project.code)
    resumed = _date(resumed_on, term("resumed on"))
    if resumed < row.stopped_on or resumed > ops.zone_today(now):
        raise ValidationError("Construction resumes between {stopped_on} and today.",
                              field="resumed_on", stopped_on=row.stopped_on)
    row.resumed_on = resumed
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.construction_resumed",
                 data={"stopped_on": row.stopped_on, "resumed_on": resumed}, public=True)
    ops.flush(session)
    return row


def record_exemption(session: Session, project_id: int, *, cause: str, reason: str, since: Any,
                     actor: User | None, now: datetime) -> IdleExemption:
    """A delay the government caused (第八条), with its cause and reason: from
    now on the project is not warned of idle land nor of recovery."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    if cause not in EXEMPTION_CAUSES:
        raise ValidationError("Unknown cause '{cause}' (闲置土地处置办法 第八条).", field="cause",
                              cause=cause)
    reason = _text(reason, term("reason"), limit=2000)
    began = _date(since, term("since"))
    if began > ops.zone_today(now):
        raise ValidationError("The delay began on a past day or today.", field="since")
    if standing_exemption(session, project.id) is not None:
        raise Conflict("Project {project} already has a standing exemption: withdraw it "
                       "first.", project=project.code)
    row = IdleExemption(project_id=project.id, cause=cause, reason=reason, since=began,
                        recorded_by_id=actor.id if actor else None, recorded_at=ops.utc(now))
    session.add(row)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.idle_exempted",
                 data={"cause": cause, "reason": reason, "since": began}, public=True)
    ops.flush(session)
    return row


def withdraw_exemption(session: Session, project_id: int, *, actor: User | None,
                       now: datetime) -> IdleExemption:
    """The government's delay is over: the exemption stops standing."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    row = standing_exemption(session, project.id)
    if row is None:
        raise NotFound("Project {project} has no standing exemption.", project=project.code)
    row.withdrawn_on = ops.zone_today(now)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.exemption_withdrawn",
                 data={"cause": row.cause, "since": row.since}, public=True)
    ops.flush(session)
    return row


def sweep_stoppages(session: Session, *, now: datetime, rules: LandRules = RULES) -> list[str]:
    """Running stoppages that lasted a year on a project that had built under
    a third of its area or invested under 25 %: the idle-land warning with
    the fee, once, unless an exemption stands."""
    today = ops.zone_today(now)
    at = ops.utc(now)
    lines = []
    rows = session.execute(select(LandStoppage.id, LandStoppage.project_id).where(
        LandStoppage.resumed_on.is_(None), LandStoppage.idle_warned_on.is_(None))
        .order_by(LandStoppage.stopped_on, LandStoppage.id)).all()
    for stoppage_id, project_id in rows:
        project = ops.lock_project(session, project_id)
        row = session.get(LandStoppage, stoppage_id, with_for_update=True, populate_existing=True)
        if (row.resumed_on is not None or row.idle_warned_on is not None
                or project.stage == "terminated" or today < stoppage_idle_from(row)
                or not idle_share(row)["idle"] or standing_exemption(session, project.id)):
            continue
        row.idle_warned_on = today
        fee = idle_fee(_agreement(session, project.id), rules)
        lines.append(_warn(session, project, row, fee, at, rules))
    ops.flush(session)
    return lines


def _warn(session: Session, project: Project, row: LandStoppage, fee: Decimal | None,
          at: datetime, rules: LandRules) -> str:
    share = idle_share(row)
    why = "、".join(w for w, on in (
        (f"开发面积 {row.built_area_mu} 亩不足应开发面积 {row.area_mu} 亩的三分之一", share["by_area"]),
        (f"已投资 {row.invested_wan} 万元不足总投资 {row.total_investment_wan} 万元的25%",
         share["by_investment"])) if on)
    amount = (f"按出让价款的 {rules.idle_fee_rate * 100:.0f}% 征缴土地闲置费 {fee} 万元"
              if fee is not None else "按出让价款的 20% 征缴土地闲置费（出让价款未登记）")
    entry = audit.record(session, project, actor=None, now=at, action="land.idle_warning",
                         data={"criterion": "stopped", "stopped_on": row.stopped_on,
                               "fee_wan": str(fee) if fee is not None else None, **share},
                         public=True)
    people = ([project.lead] if project.lead is not None else []) + \
        notify.enterprise_users(session, project)
    notify.tell(session, people, notify.Message(
        "idle_land", f"【闲置土地预警】{project.name}",
        f"项目「{project.name}」（{project.code}）已动工开发，但{why}，自 {row.stopped_on} "
        f"中止开发建设已满一年。依据《闲置土地处置办法》第二条、第十四条，可{amount}。"),
        now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    return f"{project.code}: idle-land warning (stopped since {row.stopped_on}, fee {fee} 万元)"

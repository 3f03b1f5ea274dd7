"""The plan's escalation (``sweep``): a milestone past its planned date and
not achieved is escalated on the 13710 rhythm, like an overdue item
(``workflow.core.deadlines``):

=======================  ============================  ===========================================
level                    due when                      told
=======================  ============================  ===========================================
red                      planned_on < today            the dedicated staff member and the lead
escalate_lead            late 3 working days           the same, as the lead's 督办 to the staff
escalate_supervisor      late 7 working days           every supervisor, the lead and the staff
escalate_leadership      late 1 month                  every admin (the zone's leadership), too
=======================  ============================  ===========================================

"Late N working days" counts on the zone's working-day calendar, so a step
falls on a working day; the month step moves off a weekend or holiday. Each
level is one ``plan_reminder`` row keyed by (milestone, level, planned date),
inserted with ``INSERT … ON CONFLICT DO NOTHING``: only the transaction whose
insert succeeded writes the audit event and the notifications, so a second
sweep, a concurrent one or a restart never repeats one, and a sweep after
downtime records each level due once, marked ``catch_up``. Projects are
locked in id order. A suspended or terminated project's plan is not chased.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session

from workflow.core import audit, notify
from workflow.core import operations as ops
from workflow.core.deadlines import Bounds, add_months
from workflow.core.models import Project
from workflow.kernel import clock
from workflow.kernel.config import DeadlinePolicy
from workflow.kernel.db import dialect_insert
from workflow.kernel.models import User
from workflow.reforms.baolian.models import PLAN_LEVELS, PlanMilestone, PlanReminder, PromotionPlan

NOT_CHASED = ("suspended", "terminated")
LEVEL_TITLES = {"red": "【推进方案节点逾期】", "escalate_lead": "【领导督办·推进节点】",
                "escalate_supervisor": "【升级督查·推进节点】",
                "escalate_leadership": "【升级领导·推进节点】"}


def reached_on(level: str, planned_on: date, policy: DeadlinePolicy) -> date:
    """The first day ``level`` is due for a milestone planned on ``planned_on``."""
    if level == "red":
        return date.fromordinal(planned_on.toordinal() + 1)
    if level == "escalate_lead":
        return clock.add_working_days(planned_on, policy.lead_after_working_days).date
    if level == "escalate_supervisor":
        return clock.add_working_days(planned_on, policy.supervisor_after_working_days).date
    return clock.roll_forward(add_months(planned_on, policy.leadership_after_months))


def levels_due(planned_on: date, bounds: Bounds) -> list[str]:
    checks = {"red": planned_on < bounds.today, "escalate_lead": planned_on <= bounds.lead,
              "escalate_supervisor": planned_on <= bounds.supervisor,
              "escalate_leadership": planned_on <= bounds.leadership}
    return [level for level in PLAN_LEVELS if checks[level]]


def _candidates(bounds: Bounds):
    """(project_id, milestone_id) of open milestones with a due level not yet
    recorded for their planned date: per level a range scan of
    ``ix_plan_milestone_open_planned`` probing the reminder's unique key."""
    def not_recorded(level: str):
        return ~exists().where(PlanReminder.milestone_id == PlanMilestone.id,
                               PlanReminder.level == level,
                               PlanReminder.planned_on == PlanMilestone.planned_on)

    bound = {"red": PlanMilestone.planned_on < bounds.today,
             "escalate_lead": PlanMilestone.planned_on <= bounds.lead,
             "escalate_supervisor": PlanMilestone.planned_on <= bounds.supervisor,
             "escalate_leadership": PlanMilestone.planned_on <= bounds.leadership}
    return union(*(
        select(PlanMilestone.project_id, PlanMilestone.id)
        .where(PlanMilestone.achieved_on.is_(None), bound[level], not_recorded(level))
        for level in PLAN_LEVELS))


def sweep(session: Session, *, now: datetime, policy: DeadlinePolicy | None = None) -> list[str]:
    """Record and announce every escalation of a late milestone due at ``now``
    and not recorded yet; one line per escalation recorded."""
    policy = policy or DeadlinePolicy()
    today = ops.zone_today(now)
    bounds = Bounds.on(today, policy)
    by_project: dict[int, set[int]] = defaultdict(set)
    for project_id, milestone_id in session.execute(_candidates(bounds)):
        by_project[project_id].add(milestone_id)
    lines: list[str] = []
    for project_id in sorted(by_project):
        project = ops.lock_project(session, project_id)
        if project.stage in NOT_CHASED:
            continue
        plan = session.scalar(select(PromotionPlan).where(PromotionPlan.project_id == project_id)
                              .execution_options(populate_existing=True))
        milestones = session.scalars(
            select(PlanMilestone).where(PlanMilestone.id.in_(sorted(by_project[project_id])))
            .order_by(PlanMilestone.id).execution_options(populate_existing=True)).all()
        for milestone in milestones:
            if milestone.achieved_on is not None:
                continue
            for level in levels_due(milestone.planned_on, bounds):
                reached = reached_on(level, milestone.planned_on, policy)
                claimed = session.execute(
                    dialect_insert(session)(PlanReminder)
                    .values(milestone_id=milestone.id, level=level, planned_on=milestone.planned_on,
                            reached_on=reached, recorded_at=ops.utc(now), catch_up=today > reached)
                    .on_conflict_do_nothing().returning(PlanReminder.id)).scalar_one_or_none()
                if claimed is not None:
                    lines.append(_announce(session, project, plan, milestone, level, claimed,
                                           policy, today, now))
    session.flush()
    return lines


def _announce(session: Session, project: Project, plan: PromotionPlan, milestone: PlanMilestone,
              level: str, reminder_id: int, policy: DeadlinePolicy, today: date,
              now: datetime) -> str:
    late = clock.working_days_between(milestone.planned_on, today).days
    audit.record(session, project, actor=None, now=ops.utc(now), action="baolian.milestone_escalated",
                 data={"milestone": milestone.name, "planned_on": milestone.planned_on,
                       "level": level, "late_working_days": late})
    people: list[User | None] = [plan.staff, project.lead]
    if level == "escalate_supervisor":
        people += notify.users_with_role(session, "supervisor")
    elif level == "escalate_leadership":
        people += notify.users_with_role(session, "supervisor") + notify.users_with_role(session, "admin")
    steps = {"red": "请专职人员立即跟进并说明原因。",
             "escalate_lead": f"已逾期 {policy.lead_after_working_days} 个工作日，班子成员督办，"
                              "请当日安排，3 个工作日内报告进展。",
             "escalate_supervisor": f"已逾期 {policy.supervisor_after_working_days} 个工作日，"
                                    "按 13710 机制升级至督查。",
             "escalate_leadership": f"已逾期 {policy.leadership_after_months} 个月，"
                                    "按 13710 机制升级至园区领导。"}
    unit = f"（推进单位：{plan.promoting_unit}）" if plan.promoting_unit else ""
    told = notify.tell(session, people, notify.Message(
        "plan_overdue", f"{LEVEL_TITLES[level]}{project.name}：{milestone.name}",
        f"项目「{project.name}」（{project.code}）推进方案的节点「{milestone.name}」计划于 "
        f"{milestone.planned_on.isoformat()} 完成，至今未完成{unit}。{steps[level]}"),
        now=now, key=f"plan_reminder:{reminder_id}", project=project)
    return (f"plan {level} {project.code} {milestone.name} planned {milestone.planned_on.isoformat()}"
            f" -> {', '.join(u.username for u in told) or 'nobody'}")

"""The demo's 包联 plans: every signed project has its promotion plan (seeded
by the engine when it was signed, dated by its agreement where one was
recorded), its promoting unit and its dedicated staff member; the lead has
added a milestone of his own to some, and the plans show every status on any
day the demo is seeded — a third late (their next milestone twelve working
days overdue, so escalated up to the supervisors), a third at risk (due in
five working days), the rest on track. Last evening's sweep recorded the
escalations."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.models import Project
from workflow.reforms import baolian

if TYPE_CHECKING:
    from demo.seed import Seeder

PROMOTING_UNITS = ("园区经济发展局", "园区规划建设局", "园区招商服务中心", "左云县发展和改革局",
                   "左云县工业和信息化局")
OWN_MILESTONES = ("10千伏双回路电力接入", "园区道路及管网接通", "环评验收", "首条生产线设备进场")
REASONS = {"late": "企业融资未到位，节点延后（待协调）", "at_risk": "按协调会议纪要调整节点",
           "on_track": "按企业最新施工计划调整"}


def add_plans(seeder: Seeder) -> None:
    """Team, own milestones and dated next milestones for every signed project's plan."""
    session = seeder.session
    moment = datetime.combine(seeder.day(1), time(16, 0), tzinfo=ops.ZONE_TZ)
    today = seeder.today
    projects = session.scalars(select(Project).where(Project.stage.notin_(("intention", "terminated")))
                               .order_by(Project.code)).all()
    for n, project in enumerate(projects):
        lead = project.lead or seeder.users["admin"]
        plan = baolian.start_plan(session, project.id, actor=lead, now=moment)
        agents = seeder.groups[project.group.code]
        baolian.set_team(session, project.id, promoting_unit=PROMOTING_UNITS[n % len(PROMOTING_UNITS)],
                         staff=agents[n % len(agents)], actor=lead, now=moment)
        if n % 4 == 0:
            baolian.add_milestone(session, project.id, name=OWN_MILESTONES[n // 4 % len(OWN_MILESTONES)],
                                  planned_on=today + timedelta(days=90), reason="企业提出的要素保障需求",
                                  actor=lead, now=moment)
        waiting = next((m for m in plan.milestones if m.achieved_on is None), None)
        if waiting is None:
            continue
        status = ("late", "at_risk", "on_track")[n % 3]
        planned = {"late": seeder.day(12), "at_risk": clock.add_working_days(today, 5).date,
                   "on_track": clock.add_working_days(today, 60).date}[status]
        # The later milestones keep their order after the one rescheduled.
        for later in [m for m in plan.milestones if m.achieved_on is None and m is not waiting]:
            if later.planned_on <= planned:
                baolian.edit_milestone(session, later.id, planned_on=planned + timedelta(days=180),
                                       reason=REASONS[status], actor=lead, now=moment)
        baolian.edit_milestone(session, waiting.id, planned_on=planned, reason=REASONS[status],
                               actor=lead, now=moment)
    evening = datetime.combine(seeder.day(1), time(20, 0), tzinfo=ops.ZONE_TZ)
    baolian.sweep(session, now=evening)

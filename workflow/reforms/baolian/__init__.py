"""包联服务: the "five ones" of a project (一个项目、一个班子成员、一个推进单位、
一名专职人员、一套推进方案).

- **The leadership member** (班子成员) is the project's lead handler
  (``Project.lead``), responsible from signing to capacity.
- **The team**: the promoting unit (推进单位) and the dedicated staff member
  (专职人员), set by the lead (``set_team``).
- **The promotion plan** (推进方案): milestones with planned dates, seeded when
  the project is signed (the ``project.signed`` consequence) — 签约, 开工, 竣工,
  投产, 达产 — dated from the investment agreement (投资建设协议) once it is
  recorded (``project.agreement``), the zone's default months until then;
  each achieved when the project reaches its stage (``project.advanced``) or
  marked done by the lead; the lead adds, reschedules and removes
  milestones, each with a reason, in the project's audit chain.
- **The sweep** escalates a milestone past its date on the 13710 rhythm,
  each level once (``periodic``).
- **The leadership view**: each member's projects and their plan status,
  paged on an index (``leadership``).

Importing the package plugs its consequences into the core.
"""

from __future__ import annotations

from workflow.reforms.baolian.leadership import (
    MEMBER_ORDER,
    PLAN_ORDER,
    MemberLine,
    members,
    next_milestones,
    plan_page,
)
from workflow.reforms.baolian.models import (
    DATE_SOURCES,
    MILESTONE_KINDS,
    PLAN_DONE,
    PLAN_LEVELS,
    PlanMilestone,
    PlanReminder,
    PromotionPlan,
)
from workflow.reforms.baolian.periodic import levels_due, reached_on, sweep
from workflow.reforms.baolian.plan import (
    AT_RISK_WORKING_DAYS,
    STAFF_ROLES,
    STAGE_MILESTONES,
    STATUSES,
    add_milestone,
    can_edit_plan,
    can_read_plans,
    edit_milestone,
    mark_done,
    milestone_status,
    plan_of,
    remove_milestone,
    risk_bound,
    seed_plan,
    set_team,
    start_plan,
    status_of,
)
from workflow.reforms.baolian.timeline import Planned, planned_milestones

__all__ = [
    "AT_RISK_WORKING_DAYS", "DATE_SOURCES", "MILESTONE_KINDS", "PLAN_DONE", "PLAN_LEVELS",
    "MEMBER_ORDER", "PLAN_ORDER", "STAFF_ROLES", "STAGE_MILESTONES", "STATUSES", "MemberLine",
    "PlanMilestone",
    "PlanReminder", "PromotionPlan", "add_milestone", "can_edit_plan", "can_read_plans",
    "edit_milestone", "levels_due", "mark_done", "members", "milestone_status", "plan_of",
    "plan_page", "reached_on", "remove_milestone", "risk_bound", "seed_plan", "set_team",
    "start_plan", "status_of", "sweep", "next_milestones", "Planned", "planned_milestones",
]

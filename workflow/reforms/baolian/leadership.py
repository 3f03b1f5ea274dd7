"""The leadership view (班子成员包联): each member's projects and the status of
their plans, read a page at a time.

A plan's status follows from ``PromotionPlan.next_due_on`` (its earliest open
milestone, kept by every change): late before today, at risk within
``AT_RISK_WORKING_DAYS``, on track after, done at ``PLAN_DONE``. So each
status is a range of that column and the list is one keyset scan of
``ix_promotion_plan_next_due`` (most urgent first) joined to its project;
one member's list is a scan of their projects on ``ix_project_lead_code``;
the members' counts are one GROUP BY."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from workflow.core.models import Project
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import User
from workflow.reforms.baolian.models import PLAN_DONE, PlanMilestone, PromotionPlan
from workflow.reforms.baolian.plan import STATUSES, risk_bound

PLAN_ORDER = paging.Order.by("plans", paging.Key(PromotionPlan.next_due_on, date),
                             paging.Key(PromotionPlan.project_id, int))
# One member's plans by project code: a range of ``ix_project_lead_code``, so a
# member's page never scans the other members' plans.
MEMBER_ORDER = paging.Order.by("member_plans", paging.Key(Project.code, str), paging.Key(Project.id, int))


def _status_range(status: str, today: date, risk_by: date):
    due = PromotionPlan.next_due_on
    return {"late": (due < today,),
            "at_risk": (due >= today, due <= risk_by),
            "on_track": (due > risk_by, due < PLAN_DONE),
            "done": (due >= PLAN_DONE,)}[status]


def plan_page(session: Session, *, today: date, member_id: int | None = None,
              status: str | None = None, cursor: str | None = None,
              limit: int | None = None) -> paging.Page:
    """A page of plans (with their projects), most urgent first — or, for one
    leadership member, that member's projects by code — optionally of one status."""
    if status is not None and status not in STATUSES:
        raise ValidationError("Unknown plan status '{status}'.", field="status", status=status)
    risk_by = risk_bound(today)
    query = (select(PromotionPlan).join(PromotionPlan.project)
             .where(Project.stage != "terminated"))
    if member_id is not None:
        query = query.where(Project.lead_id == member_id)
    if status is not None:
        query = query.where(*_status_range(status, today, risk_by))
    options = (contains_eager(PromotionPlan.project),)
    order = PLAN_ORDER if member_id is None else MEMBER_ORDER
    page = paging.fetch(session, query, order, cursor=cursor, limit=limit, options=options)
    page.extras["risk_by"] = risk_by
    return page


@dataclass(frozen=True)
class MemberLine:
    member_id: int | None
    name: str
    late: int
    at_risk: int
    on_track: int
    done: int

    @property
    def total(self) -> int:
        return self.late + self.at_risk + self.on_track + self.done


def members(session: Session, *, today: date) -> list[MemberLine]:
    """Each leadership member with the number of their projects' plans in each status."""
    risk_by = risk_bound(today)
    due = PromotionPlan.next_due_on
    counts = (select(Project.lead_id,
                     func.count().filter(due < today),
                     func.count().filter(due >= today, due <= risk_by),
                     func.count().filter(due > risk_by, due < PLAN_DONE),
                     func.count().filter(due >= PLAN_DONE))
              .select_from(PromotionPlan).join(Project, Project.id == PromotionPlan.project_id)
              .where(Project.stage != "terminated").group_by(Project.lead_id).subquery())
    rows = session.execute(
        select(counts, User.display_name).outerjoin(User, User.id == counts.c.lead_id)
        .order_by(User.display_name, counts.c.lead_id)).all()
    return [MemberLine(row[0], row[5] or "", row[1], row[2], row[3], row[4]) for row in rows]


def next_milestones(session: Session, plans: list[PromotionPlan]) -> dict[int, PlanMilestone]:
    """The open milestone each plan of a page waits for next (one query for the page)."""
    due = {p.id: p.next_due_on for p in plans if p.next_due_on < PLAN_DONE}
    if not due:
        return {}
    found: dict[int, PlanMilestone] = {}
    for row in session.scalars(select(PlanMilestone).where(
            PlanMilestone.plan_id.in_(sorted(due)), PlanMilestone.achieved_on.is_(None))
            .order_by(PlanMilestone.plan_id, PlanMilestone.planned_on, PlanMilestone.id)):
        found.setdefault(row.plan_id, row)
    return found

"""The zone's pipeline: the lifecycle steps (intention → signed → started →
producing → at capacity) and the stages each gathers, the totals per step,
industry group and leader read from the scheduler's rollup, and a step's
projects a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, null, select
from sqlalchemy.orm import Session

from workflow.core import rollups
from workflow.core.models import PipelineTotal, Project
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import IndustryGroup, User
from workflow.kernel.paging import Order, Segment
from workflow.reforms.intentions.ledger_pages import LINE_OPTIONS, STAGE_KEYS, _lit

# The pipeline's steps and the lifecycle stages each one gathers.
PIPELINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("intention", ("intention",)),
    ("signed", ("signed", "mandated", "approving", "ready_to_start")),
    ("started", ("started", "completed")),
    ("producing", ("producing",)),
    ("at_capacity", ("at_capacity", "verified")),
)
STEP_OF = {stage: step for step, stages in PIPELINE for stage in stages}


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
        raise ValidationError("Unknown pipeline step '{step}'; choose one of {choices}.",
                              field="step", step=step, choices=", ".join(STEPS))
    branches = (*(Project.stage == _lit(s) for s in stages),
                *(and_(Project.stage == _lit("suspended"), Project.suspended_from == _lit(s))
                  for s in stages))
    return Order(f"pipeline-{step}", (Segment(paging.Keyset(*STAGE_KEYS), (), branches),))


def step_projects(session: Session, step: str, *, cursor: str | None = None,
                  limit: int | None = None) -> paging.Page[Project]:
    """A page of the projects of a pipeline step, with enterprise, group and leader."""
    return paging.fetch(session, select(Project), step_order(step), cursor=cursor, limit=limit,
                        options=LINE_OPTIONS)

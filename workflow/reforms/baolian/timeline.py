"""The planned dates a project's timeline (Gantt) sets its predictions
against: the promotion plan's milestones (包联推进方案, dated from the
investment agreement, the zone's defaults or the lead's edits), or, for a
project without a plan, the investment agreement's four dates. No item has a
planned date of its own: the plan is by milestone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.reforms.baolian.plan import plan_of
from workflow.reforms.land.models import InvestmentAgreement

# The plan's milestone kinds as the lifecycle's (``workflow.core.predict.MILESTONES``).
KIND_MILESTONE = {"sign": "signed", "start": "started", "completion": "completed",
                  "production": "producing", "capacity": "at_capacity"}
# The agreement's dates by milestone.
AGREEMENT_DATES = {"started": "start_by", "completed": "complete_by", "producing": "produce_by",
                   "at_capacity": "capacity_by"}


@dataclass(frozen=True)
class Planned:
    """One planned milestone: ``milestone`` the lifecycle's code (None for a
    milestone the lead added), ``kind`` the plan's, ``source`` where its date
    came from (``agreement``, ``default``, ``lead``)."""

    kind: str
    milestone: str | None
    name: str
    day: date
    source: str
    achieved_on: date | None = None


def planned_milestones(session: Session, project_id: int) -> list[Planned]:
    """The project's planned milestones, earliest first: its plan's, else its
    agreement's; none without either."""
    plan = plan_of(session, project_id)
    if plan is not None:
        return [Planned(m.kind, KIND_MILESTONE.get(m.kind), m.name, m.planned_on, m.source,
                        m.achieved_on) for m in plan.milestones]
    agreement = session.scalar(select(InvestmentAgreement)
                               .where(InvestmentAgreement.project_id == project_id))
    if agreement is None:
        return []
    kinds = {v: k for k, v in KIND_MILESTONE.items()}
    return sorted((Planned(kinds[m], m, "", getattr(agreement, column), "agreement")
                   for m, column in AGREEMENT_DATES.items()), key=lambda p: p.day)

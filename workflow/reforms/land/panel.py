"""The project's land panel: its parcel, what the parcel covers, the
agreement, the checkpoints and the idle fee, the items' deadlines, the
stoppages and a government-caused delay, read in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.models import Project
from workflow.reforms.land.agreements import CHECK_KINDS, _agreement
from workflow.reforms.land.coverage import CoverageRow, coverage_rows
from workflow.reforms.land.deadlines import item_checkpoints
from workflow.reforms.land.idle import idle_fee, standing_exemption, stoppages
from workflow.reforms.land.indicators import report_inputs
from workflow.reforms.land.models import (
    Checkpoint,
    IdleExemption,
    InvestmentAgreement,
    LandStoppage,
    Parcel,
)


@dataclass(frozen=True)
class ProjectLand:
    """Everything the project's land panel shows."""

    parcel: Parcel | None
    coverage: list[CoverageRow]
    agreement: InvestmentAgreement | None
    checkpoints: dict[str, Checkpoint]
    inputs: list[tuple[str, str, str]]  # extra report inputs the agreement needs
    idle_fee: Decimal | None
    deadlines: list[Checkpoint] = field(default_factory=list)  # the items' deadlines
    stoppages: list[LandStoppage] = field(default_factory=list)  # newest first
    exemption: IdleExemption | None = None  # a delay the government caused

    @property
    def capacity(self) -> Checkpoint | None:
        return self.checkpoints.get("capacity")

    @property
    def pending(self) -> dict | None:
        cp = self.capacity
        return (cp.result or {}).get("pending") if cp is not None else None

    @property
    def last_review(self) -> dict | None:
        cp = self.capacity
        reviews = (cp.result or {}).get("reviews") if cp is not None else None
        return reviews[-1] if reviews else None


def project_land(session: Session, project: Project, today: date) -> ProjectLand:
    parcel = session.get(Parcel, project.parcel_id) if project.parcel_id else None
    agreement = _agreement(session, project.id)
    checkpoints = {c.kind: c for c in session.scalars(
        select(Checkpoint).where(Checkpoint.project_id == project.id))}
    return ProjectLand(parcel, coverage_rows(project, parcel, today), agreement,
                       {k: checkpoints[k] for k in CHECK_KINDS if k in checkpoints},
                       report_inputs(agreement.indicators) if agreement else [],
                       idle_fee(agreement) if agreement else None,
                       item_checkpoints(session, project), stoppages(session, project.id),
                       standing_exemption(session, project.id))

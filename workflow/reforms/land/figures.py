"""The zone's standard-land figures: the headline counts (parcels and 亩,
agreements, capacity verdicts) and the 亩均论英雄 table, every committed
indicator against the latest decided review, a page at a time or streamed
for the export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, joinedload

from workflow.core.models import Project
from workflow.kernel import paging
from workflow.reforms.land.indicators import HEADLINE, rounded
from workflow.reforms.land.models import Checkpoint, InvestmentAgreement, Parcel


@dataclass(frozen=True)
class FigureLine:
    code: str
    name: str
    unit: str
    bound: str
    committed: Decimal
    actual: Decimal | None
    met: bool | None


@dataclass(frozen=True)
class FigureRow:
    project: Project
    parcel: Parcel
    agreement: InvestmentAgreement
    status: str  # the capacity checkpoint's status
    reviewed_on: str | None
    rectify_by: date | None
    lines: dict[str, FigureLine]

    @property
    def extras(self) -> list[FigureLine]:
        return [line for code, line in self.lines.items() if code not in HEADLINE]


@dataclass(frozen=True)
class ZoneFigures:
    parcels: int
    parcels_transferred: int
    mu_total: Decimal
    mu_transferred: Decimal
    agreements: int
    passed: int
    rectifying: int
    breached: int


VERDICTS = ("passed", "rectifying", "breached")


def zone_figures(session: Session) -> ZoneFigures:
    """The zone's standard-land headline figures, each counted in the
    database: parcels and their 亩 by whether they were transferred (one
    GROUP BY over the parcels), the investment agreements, and the decided
    capacity reviews by verdict (``ix_checkpoint_kind_status``; a capacity
    checkpoint is passed, rectifying or breached only once a review was
    decided)."""
    moved = Parcel.transferred_on.is_not(None)
    land_rows = session.execute(select(moved, func.count(Parcel.id), func.sum(Parcel.area_mu))
                                .group_by(moved)).all()
    parcels = {bool(transferred): (count, _decimal(mu)) for transferred, count, mu in land_rows}
    count_moved, mu_moved = parcels.get(True, (0, Decimal(0)))
    count_kept, mu_kept = parcels.get(False, (0, Decimal(0)))
    agreements = session.scalar(select(func.count(InvestmentAgreement.id))) or 0
    verdicts = dict(session.execute(
        select(Checkpoint.status, func.count(Checkpoint.id))
        .where(Checkpoint.kind == "capacity", Checkpoint.status.in_(VERDICTS))
        .group_by(Checkpoint.status)).all())
    return ZoneFigures(count_moved + count_kept, count_moved, rounded(mu_moved + mu_kept),
                       rounded(mu_moved), agreements, verdicts.get("passed", 0),
                       verdicts.get("rectifying", 0), verdicts.get("breached", 0))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


FIGURE_ORDER = paging.Order.by("land-figures", paging.Key(Project.code, str),
                               paging.Key(Project.id, int))
FIGURE_OPTIONS = (joinedload(InvestmentAgreement.parcel), joinedload(Project.enterprise))


def _figure_query():
    capacity = and_(Checkpoint.project_id == Project.id, Checkpoint.kind == "capacity")
    return (select(InvestmentAgreement, Project, Checkpoint)
            .join(Project, Project.id == InvestmentAgreement.project_id)
            .outerjoin(Checkpoint, capacity))


def figure_page(session: Session, *, cursor: str | None = None,
                limit: int | None = None) -> paging.Page[FigureRow]:
    """A page of the 亩均论英雄 table by project code (``uq_project_code``):
    per project with an agreement, every committed indicator against the
    actual value of its latest decided capacity review."""
    page = paging.fetch(session, _figure_query(), FIGURE_ORDER, cursor=cursor, limit=limit,
                        options=FIGURE_OPTIONS)
    page.rows = [_figure_row(row[0], row[1], row[2]) for row in page.rows]
    return page


def figure_rows(session: Session, *, batch: int = 500, end_reads: bool = False
                ) -> Iterator[FigureRow]:
    """Every row of the 亩均 table, by project code, read ``batch`` rows at a
    time (the export; ``end_reads`` as ``paging.pages_of``)."""
    for row in paging.pages_of(session, _figure_query(), FIGURE_ORDER, batch=batch,
                               options=FIGURE_OPTIONS, end_reads=end_reads):
        yield _figure_row(row[0], row[1], row[2])


def _figure_row(agreement: InvestmentAgreement, project: Project,
                checkpoint: Checkpoint | None) -> FigureRow:
    reviews = ((checkpoint.result or {}).get("reviews") or []) if checkpoint else []
    last = reviews[-1] if reviews else None
    actual = {i["code"]: i for i in (last or {}).get("indicators", [])}
    lines = {}
    for code, spec in agreement.indicators.items():
        got = actual.get(code)
        lines[code] = FigureLine(code, spec.get("name", code), spec.get("unit", ""), spec["bound"],
                                 Decimal(spec["value"]), Decimal(got["actual"]) if got else None,
                                 got["met"] if got else None)
    return FigureRow(project, agreement.parcel, agreement, checkpoint.status if checkpoint else "open",
                     last["decided_on"] if last else None,
                     checkpoint.rectify_by if checkpoint else None, lines)

"""Projects predicted to miss their investment agreement (投资建设协议): a
milestone not reached yet (start, completion, production) predicted
(``project_prediction``, kept by the core's sweep) after the agreement's
``start_by`` / ``complete_by`` / ``produce_by``, with the item that holds the
project up (``critical_item``) and how many working days late.

The comparison of two tables' dates cannot sit in an index, so the answer is
kept: whenever predictions are stored or dropped (the core's
``predictions.stored``), ``recount`` rewrites the ``agreement_miss`` rows of
those projects (one delete, one joined read, one insert per batch). The
supervisors' list is then a keyset page on ``ix_agreement_miss_late`` (every
group) or ``ix_agreement_miss_group_late`` (one index range per group,
merged), most working days late first, whatever the share of late projects.
A milestone already reached late is no longer a prediction: the land area's
checkpoint deals with it, and no open item causes it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, delete, false, or_, select
from sqlalchemy.orm import Session, joinedload

from workflow.core import hooks
from workflow.core.models import Project
from workflow.core.prediction_models import ProjectPrediction
from workflow.kernel import clock as wd
from workflow.kernel import paging
from workflow.reforms.land.models import AgreementMiss, InvestmentAgreement

# The milestones an agreement dates, with its column (达产 is reviewed, not predicted late here:
# no item decides the ramp-up).
MISSABLE = (("started", "start_by"), ("completed", "complete_by"), ("producing", "produce_by"))

MISS_ORDER_NAME = "agreement_misses"


@dataclass(frozen=True)
class Miss:
    """A project predicted to miss its agreement: ``late`` the working days
    late per milestone predicted to be missed (not reached yet)."""

    project: Project
    prediction: ProjectPrediction
    agreement: InvestmentAgreement
    late: dict[str, int]

    @property
    def days_late(self) -> int:
        return max(self.late.values(), default=0)


def _late() -> object:
    """A milestone not reached yet predicted after the agreement's date. No
    milestone's code is part of another's (``ready_to_start`` does not
    contain ``started``)."""
    pp, ag = ProjectPrediction, InvestmentAgreement
    return or_(*(and_(getattr(pp, f"{m}_on") > getattr(ag, column), ~pp.reached.contains(m))
                 for m, column in MISSABLE))


def late_days(prediction: ProjectPrediction, agreement: InvestmentAgreement) -> dict[str, int]:
    """Working days late per milestone predicted after the agreement's date."""
    late = {}
    reached = set(prediction.reached.split(","))
    for milestone, column in MISSABLE:
        predicted, agreed = getattr(prediction, f"{milestone}_on"), getattr(agreement, column)
        if predicted > agreed and milestone not in reached:
            late[milestone] = wd.working_days_between(agreed, predicted).days
    return late


@hooks.consequence("predictions.stored")
def recount(session: Session, project_ids: Sequence[int]) -> None:
    """Rewrite the ``agreement_miss`` rows of these projects from their
    predictions and agreements (in the transaction that stored them)."""
    ids = list(project_ids)
    if not ids:
        return
    session.execute(delete(AgreementMiss).where(AgreementMiss.project_id.in_(ids)))
    rows = session.execute(
        select(ProjectPrediction, InvestmentAgreement)
        .join(InvestmentAgreement, InvestmentAgreement.project_id == ProjectPrediction.project_id)
        .where(ProjectPrediction.project_id.in_(ids), _late())).all()
    values = [dict(project_id=p.project_id, group_id=p.group_id,
                   days_late=max(late_days(p, a).values(), default=0)) for p, a in rows]
    if values:
        session.execute(AgreementMiss.__table__.insert(), values)


def misses_query(group_ids: Iterable[int] | None = None) -> tuple[Select, paging.Order]:
    """The late projects' ``agreement_miss`` rows and their order, most
    working days late first; ``group_ids``: only these groups (None: every
    group; empty: none). Only this table is paged, on its index; the page's
    predictions, agreements and projects are read after it by primary key
    (``_with_projects``): joined into the paged query, PostgreSQL hashed
    every stored prediction instead (173 ms at 1 M projects, growing with N)."""
    am = AgreementMiss
    query = select(am)
    branches: tuple = ()
    if group_ids is not None:
        ids = sorted(set(group_ids))
        if not ids:
            query = query.where(false())
        branches = tuple(am.group_id == g for g in ids)
    order = paging.Order.by(MISS_ORDER_NAME, paging.Key(am.days_late, int, descending=True),
                            paging.Key(am.project_id, int, descending=True), branches=branches)
    return query, order


def _with_projects(session: Session, rows: list[AgreementMiss]) -> list[Miss]:
    """The misses of these ``agreement_miss`` rows, in their order: their
    predictions with agreements and their projects, one read each."""
    ids = [r.project_id for r in rows]
    if not ids:
        return []
    pp, ag = ProjectPrediction, InvestmentAgreement
    found = {p.project_id: (p, a) for p, a in session.execute(
        select(pp, ag).join(ag, ag.project_id == pp.project_id).where(pp.project_id.in_(ids)))}
    projects = {p.id: p for p in session.scalars(
        select(Project).where(Project.id.in_(ids))
        .options(joinedload(Project.enterprise), joinedload(Project.group),
                 joinedload(Project.lead)))}
    # A row is written from its prediction and agreement in one transaction:
    # within one read they are there together.
    return [Miss(projects[i], *found[i], late_days(*found[i])) for i in ids if i in found]


def agreement_misses(session: Session, *, group_ids: Iterable[int] | None = None,
                     cursor: str | None = None, limit: int | None = None) -> paging.Page[Miss]:
    """A page of the projects predicted to miss their agreement, most late first."""
    query, order = misses_query(group_ids)
    page = paging.fetch(session, query, order, cursor=cursor, limit=limit)
    page.rows = _with_projects(session, page.rows)
    return page


def all_misses(session: Session, *, group_ids: Iterable[int] | None = None,
               end_reads: bool = False) -> Iterator[Miss]:
    """Every late project, in the page's order, a batch at a time (the export)."""
    query, order = misses_query(group_ids)
    batch: list = []
    for row in paging.pages_of(session, query, order, end_reads=end_reads):
        batch.append(row)
        if len(batch) >= 500:
            yield from _with_projects(session, batch)
            batch = []
    yield from _with_projects(session, batch)

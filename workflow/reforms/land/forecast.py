"""Projects predicted to miss their investment agreement (投资建设协议): the
predicted start, completion or production (``project_prediction``, kept by
the core's sweep) later than the agreement's ``start_by`` / ``complete_by`` /
``produce_by``, with the item that holds the project up (``critical_item``)
and how many working days late.

The list is a keyset page in predicted-completion order, read on
``ix_project_prediction_completed`` (every group) or
``ix_project_prediction_group_completed`` (one index range per group, merged),
each prediction joined to its agreement by the agreement's unique
``project_id``. The comparison of the two tables' dates cannot sit in an
index: a page reads prediction rows in order until it has its rows, so it
costs in proportion to the on-time projects between two late ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session, joinedload

from workflow.core.models import Project
from workflow.core.prediction_models import ProjectPrediction
from workflow.kernel import clock as wd
from workflow.kernel import paging
from workflow.reforms.land.models import InvestmentAgreement

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
    """A milestone not reached yet predicted after the agreement's date (one
    already reached late is the land area's checkpoint's business, and no
    open item causes it any more). No milestone's code is part of another's
    (``ready_to_start`` does not contain ``started``)."""
    pp, ag = ProjectPrediction, InvestmentAgreement
    return or_(*(and_(getattr(pp, f"{m}_on") > getattr(ag, column), ~pp.reached.contains(m))
                 for m, column in MISSABLE))


def misses_query(group_ids: Iterable[int] | None = None) -> tuple[Select, paging.Order]:
    """The late projects' (prediction, agreement) rows and their order;
    ``group_ids``: only these groups (None: every group; empty: none)."""
    pp, ag = ProjectPrediction, InvestmentAgreement
    query = select(pp, ag).join(ag, ag.project_id == pp.project_id).where(_late())
    branches: tuple = ()
    if group_ids is not None:
        ids = sorted(set(group_ids))
        if not ids:
            query = query.where(false())
        branches = tuple(pp.group_id == g for g in ids)
    order = paging.Order.by(MISS_ORDER_NAME, paging.Key(pp.completed_on, date),
                            paging.Key(pp.project_id, int), branches=branches)
    return query, order


def miss_of(prediction: ProjectPrediction, agreement: InvestmentAgreement,
            project: Project) -> Miss:
    late = {}
    reached = set(prediction.reached.split(","))
    for milestone, column in MISSABLE:
        predicted, agreed = getattr(prediction, f"{milestone}_on"), getattr(agreement, column)
        if predicted > agreed and milestone not in reached:
            late[milestone] = wd.working_days_between(agreed, predicted).days
    return Miss(project, prediction, agreement, late)


def _with_projects(session: Session, rows: list) -> list[Miss]:
    ids = [r[0].project_id for r in rows]
    projects = {p.id: p for p in session.scalars(
        select(Project).where(Project.id.in_(ids))
        .options(joinedload(Project.enterprise), joinedload(Project.group),
                 joinedload(Project.lead)))} if ids else {}
    return [miss_of(r[0], r[1], projects[r[0].project_id]) for r in rows]


def agreement_misses(session: Session, *, group_ids: Iterable[int] | None = None,
                     cursor: str | None = None, limit: int | None = None) -> paging.Page[Miss]:
    """A page of the projects predicted to miss their agreement, earliest
    predicted completion first."""
    query, order = misses_query(group_ids)
    page = paging.fetch(session, query, order, cursor=cursor, limit=limit, scalars=False)
    page.rows = _with_projects(session, page.rows)
    return page


def all_misses(session: Session, *, group_ids: Iterable[int] | None = None,
               end_reads: bool = False) -> Iterator[Miss]:
    """Every late project, in the page's order, a batch at a time (the export)."""
    query, order = misses_query(group_ids)
    batch: list = []
    for row in paging.pages_of(session, query, order, scalars=False, end_reads=end_reads):
        batch.append(row)
        if len(batch) >= 500:
            yield from _with_projects(session, batch)
            batch = []
    yield from _with_projects(session, batch)

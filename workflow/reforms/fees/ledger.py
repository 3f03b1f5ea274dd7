"""The fee ledger (费用台账): budget, committed and paid per budget line (the
unified items and the element subsidies), per project, per parcel and per
year, every figure a ``GROUP BY`` in the database.

What counts where:

- *committed* in a year: the contracts charged to that year's budget (their
  ``year``) and the subsidies of that year once approved (approved or paid);
- *paid* in a year: the payments dated in that year (a contract of one year
  paid in January of the next counts as paid in the next) and the subsidies
  paid in that year;
- a contract belongs to a project, to a parcel (done once for the parcel and
  shared by every project on it: a regional evaluation) or to the zone. A
  parcel's contracts count in the parcel's line and never in the lines of the
  projects on the parcel, so a shared evaluation is counted once however
  many projects stand on it.

The project and parcel lists are keyset pages (by project code, by parcel
code) over the projects and parcels that have fees in the year; their sums are
read for the page's rows only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, selectinload

from workflow.core.models import Project
from workflow.kernel import paging
from workflow.reforms.fees.models import (
    SUBSIDY_LINES,
    ElementSubsidy,
    FeeBudget,
    FeeContract,
    FeeInvoice,
    FeePayment,
)
from workflow.reforms.fees.operations import budget_lines, unified_items
from workflow.reforms.land.models import Parcel, ParcelEvaluation
from workflow.reforms.land.register import PARCEL_ORDER

PROJECT_ORDER = paging.Order.by("fee_projects", paging.Key(Project.code, str),
                                paging.Key(Project.id, int))
CONTRACT_ORDER = paging.Order.by("fee_contracts", paging.Key(FeeContract.item_code, str),
                                 paging.Key(FeeContract.id, int))
SUBSIDY_ORDER = paging.Order.by("fee_subsidies", paging.Key(ElementSubsidy.project_id, int),
                                paging.Key(ElementSubsidy.id, int))
COMMITTED_SUBSIDY = ("approved", "paid")


@dataclass
class Figures:
    """Budget, committed and paid of one line of the ledger, in fen."""

    budget: int = 0
    committed: int = 0
    paid: int = 0

    @property
    def available(self) -> int:
        """Budget not yet committed (negative: over budget)."""
        return self.budget - self.committed

    @property
    def unpaid(self) -> int:
        return self.committed - self.paid

    def add(self, other: Figures) -> None:
        self.budget += other.budget
        self.committed += other.committed
        self.paid += other.paid


@dataclass
class LedgerLine:
    key: str  # a budget line, a project code, a parcel code or a year
    figures: Figures
    subject: object = None  # the Project or Parcel of the line


def _year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _subsidy_paid_in(year: int):
    first, last = _year_range(year)
    return (ElementSubsidy.status == "paid", ElementSubsidy.paid_on >= first,
            ElementSubsidy.paid_on <= last)


def _into(table: dict, rows, attribute: str, key=lambda k: k) -> None:
    for k, amount in rows:
        figures = table.setdefault(key(k), Figures())
        setattr(figures, attribute, getattr(figures, attribute) + int(amount or 0))


def by_line(session: Session, year: int) -> list[LedgerLine]:
    """Every budget line of ``year`` (the unified items in the definition's
    order, then the subsidies, then any other line that holds money)."""
    table: dict[str, Figures] = {}
    _into(table, session.execute(select(FeeBudget.line, FeeBudget.amount_fen)
                                 .where(FeeBudget.year == year)), "budget")
    _into(table, session.execute(select(FeeContract.item_code, func.sum(FeeContract.amount_fen))
                                 .where(FeeContract.year == year).group_by(FeeContract.item_code)),
          "committed")
    _into(table, session.execute(
        select(FeeContract.item_code, func.sum(FeePayment.amount_fen))
        .join(FeeContract, FeeContract.id == FeePayment.contract_id)
        .where(FeePayment.year == year).group_by(FeeContract.item_code)), "paid")
    line = lambda kind: f"subsidy_{kind}"  # noqa: E731
    _into(table, session.execute(
        select(ElementSubsidy.kind, func.sum(ElementSubsidy.amount_fen))
        .where(ElementSubsidy.year == year, ElementSubsidy.status.in_(COMMITTED_SUBSIDY))
        .group_by(ElementSubsidy.kind)), "committed", line)
    _into(table, session.execute(
        select(ElementSubsidy.kind, func.sum(ElementSubsidy.amount_fen))
        .where(*_subsidy_paid_in(year)).group_by(ElementSubsidy.kind)), "paid", line)
    order = budget_lines(session)
    order += sorted(k for k in table if k not in order)
    return [LedgerLine(k, table.get(k, Figures())) for k in order]


def total(lines: list[LedgerLine]) -> Figures:
    figures = Figures()
    for line in lines:
        figures.add(line.figures)
    return figures


def by_year(session: Session) -> list[LedgerLine]:
    """The zone's totals per year, newest first (a handful of years)."""
    table: dict[int, Figures] = {}
    _into(table, session.execute(select(FeeBudget.year, func.sum(FeeBudget.amount_fen))
                                 .group_by(FeeBudget.year)), "budget")
    _into(table, session.execute(select(FeeContract.year, func.sum(FeeContract.amount_fen))
                                 .group_by(FeeContract.year)), "committed")
    _into(table, session.execute(select(FeePayment.year, func.sum(FeePayment.amount_fen))
                                 .group_by(FeePayment.year)), "paid")
    _into(table, session.execute(
        select(ElementSubsidy.year, func.sum(ElementSubsidy.amount_fen))
        .where(ElementSubsidy.status.in_(COMMITTED_SUBSIDY)).group_by(ElementSubsidy.year)),
        "committed")
    paid_year = func.extract("year", ElementSubsidy.paid_on)
    _into(table, session.execute(
        select(paid_year, func.sum(ElementSubsidy.amount_fen))
        .where(ElementSubsidy.status == "paid").group_by(paid_year)), "paid", int)
    return [LedgerLine(str(y), table[y]) for y in sorted(table, reverse=True)]


# -- per project and per parcel, a page at a time ----------------------------------------------

def _projects_with_fees(year: int):
    first, last = _year_range(year)
    return union(
        select(FeeContract.project_id).where(FeeContract.year == year,
                                             FeeContract.project_id.is_not(None)),
        select(FeeContract.project_id).join(FeePayment, FeePayment.contract_id == FeeContract.id)
        .where(FeePayment.year == year, FeeContract.project_id.is_not(None)),
        select(ElementSubsidy.project_id).where(ElementSubsidy.year == year),
        select(ElementSubsidy.project_id).where(ElementSubsidy.paid_on >= first,
                                                ElementSubsidy.paid_on <= last),
    ).subquery()


def _parcels_with_fees(year: int):
    return union(
        select(FeeContract.parcel_id).where(FeeContract.year == year,
                                            FeeContract.parcel_id.is_not(None)),
        select(FeeContract.parcel_id).join(FeePayment, FeePayment.contract_id == FeeContract.id)
        .where(FeePayment.year == year, FeeContract.parcel_id.is_not(None)),
    ).subquery()


def _contract_figures(session: Session, column, ids: list[int], year: int) -> dict[int, Figures]:
    table: dict[int, Figures] = {}
    if not ids:
        return table
    _into(table, session.execute(select(column, func.sum(FeeContract.amount_fen))
                                 .where(FeeContract.year == year, column.in_(ids))
                                 .group_by(column)), "committed")
    _into(table, session.execute(
        select(column, func.sum(FeePayment.amount_fen))
        .join(FeeContract, FeeContract.id == FeePayment.contract_id)
        .where(FeePayment.year == year, column.in_(ids)).group_by(column)), "paid")
    return table


def _project_figures(session: Session, ids: list[int], year: int) -> dict[int, Figures]:
    table = _contract_figures(session, FeeContract.project_id, ids, year)
    if ids:
        _into(table, session.execute(
            select(ElementSubsidy.project_id, func.sum(ElementSubsidy.amount_fen))
            .where(ElementSubsidy.year == year, ElementSubsidy.status.in_(COMMITTED_SUBSIDY),
                   ElementSubsidy.project_id.in_(ids)).group_by(ElementSubsidy.project_id)),
            "committed")
        _into(table, session.execute(
            select(ElementSubsidy.project_id, func.sum(ElementSubsidy.amount_fen))
            .where(*_subsidy_paid_in(year), ElementSubsidy.project_id.in_(ids))
            .group_by(ElementSubsidy.project_id)), "paid")
    return table


def project_page(session: Session, year: int, *, cursor: str | None = None,
                 limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the projects with fees or subsidies in ``year``, by project
    code, each with its committed and paid (its own contracts and subsidies:
    what its parcel shares is in the parcel's line)."""
    ids = select(_projects_with_fees(year).c.project_id)
    page = paging.fetch(session, select(Project).where(Project.id.in_(ids)), PROJECT_ORDER,
                        cursor=cursor, limit=limit)
    figures = _project_figures(session, [p.id for p in page.rows], year)
    page.rows = [LedgerLine(p.code, figures.get(p.id, Figures()), p) for p in page.rows]
    return page


def parcel_page(session: Session, year: int, *, cursor: str | None = None,
                limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the parcels with shared contracts in ``year``, by parcel
    code, each with its committed and paid and how many projects share it
    (``extras['sharing']``: parcel id → number of projects on it)."""
    ids = select(_parcels_with_fees(year).c.parcel_id)
    page = paging.fetch(session, select(Parcel).where(Parcel.id.in_(ids)), PARCEL_ORDER,
                        cursor=cursor, limit=limit)
    parcel_ids = [p.id for p in page.rows]
    figures = _contract_figures(session, FeeContract.parcel_id, parcel_ids, year)
    if parcel_ids:
        page.extras["sharing"] = dict(session.execute(
            select(Project.parcel_id, func.count()).where(Project.parcel_id.in_(parcel_ids))
            .group_by(Project.parcel_id)).all())
    page.rows = [LedgerLine(p.code, figures.get(p.id, Figures()), p) for p in page.rows]
    return page


def all_pages(fetch, session: Session, year: int) -> Iterator[LedgerLine]:
    """Every line of ``project_page`` or ``parcel_page``, a page at a time (the export)."""
    cursor = None
    while True:
        page = fetch(session, year, cursor=cursor, limit=paging.MAX_LIMIT)
        yield from page.rows
        if page.next is None:
            return
        cursor = page.next


# -- the registers behind the figures --------------------------------------------------------------

def contract_page(session: Session, year: int, *, item_code: str | None = None,
                  cursor: str | None = None, limit: int | None = None) -> paging.Page[FeeContract]:
    """A page of ``year``'s contracts by item then id (``ix_fee_contract_year_item``)."""
    query = select(FeeContract).where(FeeContract.year == year)
    if item_code:
        query = query.where(FeeContract.item_code == item_code)
    page = paging.fetch(session, query, CONTRACT_ORDER, cursor=cursor, limit=limit,
                        options=(selectinload(FeeContract.project), selectinload(FeeContract.parcel),
                                 selectinload(FeeContract.evaluation),
                                 selectinload(FeeContract.payments)))
    return page


def subsidy_page(session: Session, year: int, *, cursor: str | None = None,
                 limit: int | None = None) -> paging.Page[ElementSubsidy]:
    """A page of ``year``'s element subsidies by project (``ix_element_subsidy_year_project``)."""
    return paging.fetch(session, select(ElementSubsidy).where(ElementSubsidy.year == year),
                        SUBSIDY_ORDER, cursor=cursor, limit=limit,
                        options=(selectinload(ElementSubsidy.project),))


def project_fees(session: Session, project_id: int) -> tuple[list[FeeContract], list[ElementSubsidy]]:
    """A project's own contracts and subsidies, every year (its panel)."""
    contracts = session.scalars(select(FeeContract).where(FeeContract.project_id == project_id)
                                .order_by(FeeContract.id).limit(paging.MAX_LIMIT)).all()
    subsidies = session.scalars(select(ElementSubsidy).where(ElementSubsidy.project_id == project_id)
                                .order_by(ElementSubsidy.id).limit(paging.MAX_LIMIT)).all()
    return list(contracts), list(subsidies)


@dataclass
class ContractSums:
    """A contract with what was invoiced and paid on it, in fen; ``shared``:
    the parcel's (or a regional evaluation covering the parcel), shown on the
    project's page but counted in the parcel's line, never the project's."""

    contract: FeeContract
    invoiced: int
    paid: int
    shared: bool


@dataclass
class FeePanel:
    """The fees of a project page (its own contracts, and the shared ones of
    its parcel) or of a parcel page (shared only)."""

    own: list[ContractSums]
    shared: list[ContractSums]

    @property
    def totals(self) -> tuple[int, int, int]:
        """(contracted, invoiced, paid) of the own contracts only."""
        return _sums(self.own)

    @property
    def shared_totals(self) -> tuple[int, int, int]:
        return _sums(self.shared)


def _sums(rows: list[ContractSums]) -> tuple[int, int, int]:
    return (sum(c.contract.amount_fen for c in rows), sum(c.invoiced for c in rows),
            sum(c.paid for c in rows))


def fee_panel(session: Session, *, project_id: int | None = None,
              parcel_id: int | None = None) -> FeePanel:
    """The contracts of a project and/or a parcel, each with its invoiced
    and paid sums, in one query (two correlated sums on the invoice and
    payment indexes by contract). The parcel's are its own contracts
    (``parcel_id``) and those of the regional evaluations covering it; they
    are listed as shared, not added to the project's figures."""
    invoiced = (select(func.coalesce(func.sum(FeeInvoice.amount_fen), 0))
                .where(FeeInvoice.contract_id == FeeContract.id).scalar_subquery())
    paid = (select(func.coalesce(func.sum(FeePayment.amount_fen), 0))
            .where(FeePayment.contract_id == FeeContract.id).scalar_subquery())
    # The contracts' ids, each kind of owner read on its own index.
    owners = []
    if project_id is not None:
        owners.append(select(FeeContract.id).where(  # ix_fee_contract_project
            FeeContract.project_id == project_id))
    if parcel_id is not None:
        owners.append(select(FeeContract.id).where(  # ix_fee_contract_parcel
            FeeContract.parcel_id == parcel_id))
        owners.append(select(FeeContract.id).join(  # uq_fee_contract_evaluation
            ParcelEvaluation, ParcelEvaluation.evaluation_id == FeeContract.evaluation_id)
            .where(ParcelEvaluation.parcel_id == parcel_id))
    if not owners:
        return FeePanel([], [])
    rows = session.execute(
        select(FeeContract, invoiced, paid).where(FeeContract.id.in_(union(*owners)))
        .options(selectinload(FeeContract.evaluation))
        .order_by(FeeContract.year.desc(), FeeContract.item_code, FeeContract.id)
        .limit(paging.MAX_LIMIT)).all()
    panel = FeePanel([], [])
    for contract, invoiced_fen, paid_fen in rows:
        shared = project_id is None or contract.project_id != project_id
        (panel.shared if shared else panel.own).append(
            ContractSums(contract, int(invoiced_fen or 0), int(paid_fen or 0), shared))
    return panel


def line_names(session: Session) -> dict[str, str]:
    """Budget line → its Chinese name (the subsidies named by the web's labels)."""
    return {**unified_items(session), **{k: k for k in SUBSIDY_LINES}}

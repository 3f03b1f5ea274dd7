"""The parcel register a page at a time: parcels with the first projects
standing on them, the projects on a parcel, the regional evaluations, the
suggestions a form offers and the lookup of a parcel or an evaluation by what
a user types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from workflow.core.models import Project
from workflow.kernel import paging, validate
from workflow.kernel.errors import ValidationError, term
from workflow.reforms.land.models import Parcel, ParcelEvaluation, RegionalEvaluation

PARCEL_ORDER = paging.Order.by("parcels", paging.Key(Parcel.code, str), paging.Key(Parcel.id, int))
EVALUATION_ORDER = paging.Order.by(
    "evaluations", paging.Key(RegionalEvaluation.kind, str),
    paging.Key(RegionalEvaluation.done_on, date), paging.Key(RegionalEvaluation.id, int))
PLACED_ORDER = paging.Order.by("placed", paging.Key(Project.code, str), paging.Key(Project.id, int))
# The register shows the first projects beside each parcel; the parcel's own
# page lists them all, a page at a time.
SHOWN_PER_PARCEL = 5
# Suggestions a form offers (the parcel to place a project on, the evaluation
# to link to a parcel); any other one is typed by its code or reference.
CHOICES = paging.MAX_LIMIT


@dataclass(frozen=True)
class ParcelLine:
    """A parcel of the register with the first projects standing on it."""

    parcel: Parcel
    projects: list[Project]
    more: bool  # more projects stand on it than are shown


def parcel_page(session: Session, *, cursor: str | None = None,
                limit: int | None = None) -> paging.Page[ParcelLine]:
    """A page of the parcel register by code (``uq_parcel_code``): each parcel
    with its indicators, its evaluations and the first ``SHOWN_PER_PARCEL``
    projects standing on it."""
    page = paging.fetch(session, select(Parcel), PARCEL_ORDER, cursor=cursor, limit=limit,
                        options=(selectinload(Parcel.indicators), selectinload(Parcel.evaluations)))
    placed = _first_placed(session, [p.id for p in page.rows], SHOWN_PER_PARCEL + 1)
    page.rows = [ParcelLine(p, placed.get(p.id, [])[:SHOWN_PER_PARCEL],
                            len(placed.get(p.id, [])) > SHOWN_PER_PARCEL) for p in page.rows]
    return page


def _first_placed(session: Session, parcel_ids: list[int], n: int) -> dict[int, list[Project]]:
    """The first ``n`` projects by code on each parcel of a page, in one
    statement (``ix_project_parcel_code``)."""
    if not parcel_ids:
        return {}
    rank = func.row_number().over(partition_by=Project.parcel_id,
                                  order_by=(Project.code, Project.id)).label("rank")
    ranked = select(Project, rank).where(Project.parcel_id.in_(parcel_ids)).subquery()
    placed = aliased(Project, ranked)
    found: dict[int, list[Project]] = {}
    for project in session.scalars(select(placed).where(ranked.c.rank <= n)
                                   .order_by(placed.parcel_id, placed.code, placed.id)):
        found.setdefault(project.parcel_id, []).append(project)
    return found


def projects_on(session: Session, parcel_id: int, *, cursor: str | None = None,
                limit: int | None = None) -> paging.Page[Project]:
    """A page of the projects standing on a parcel, by project code
    (``ix_project_parcel_code``)."""
    return paging.fetch(session, select(Project).where(Project.parcel_id == parcel_id), PLACED_ORDER,
                        cursor=cursor, limit=limit)


def evaluation_page(session: Session, *, cursor: str | None = None,
                    limit: int | None = None) -> paging.Page[RegionalEvaluation]:
    """A page of the zone's regional evaluations by kind, oldest first
    (``ix_regional_evaluation_kind_done``)."""
    return paging.fetch(session, select(RegionalEvaluation), EVALUATION_ORDER, cursor=cursor,
                        limit=limit)


def parcel_choices(session: Session) -> list[Parcel]:
    """Parcels no project stands on yet, by code: the suggestions of the form
    that places a project (at most ``CHOICES``; any parcel can be typed)."""
    taken = select(Project.id).where(Project.parcel_id == Parcel.id).exists()
    return list(session.scalars(select(Parcel).where(~taken).order_by(Parcel.code, Parcel.id)
                                .limit(CHOICES)))


def evaluation_choices(session: Session, parcel_id: int, today: date) -> list[RegionalEvaluation]:
    """Evaluations still valid on ``today`` that the parcel does not carry, in
    the register's order: the suggestions of the form that links one (at most
    ``CHOICES``; any evaluation can be typed by its reference)."""
    carried = (select(ParcelEvaluation.id)
               .where(ParcelEvaluation.parcel_id == parcel_id,
                      ParcelEvaluation.evaluation_id == RegionalEvaluation.id).exists())
    return list(session.scalars(
        select(RegionalEvaluation).where(RegionalEvaluation.valid_until >= today, ~carried)
        .order_by(*EVALUATION_ORDER.segments[0].keyset.ordering()).limit(CHOICES)))


def _typed_key(value: Any, what: str, limit: int) -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValidationError("A {field} is required.", field=what)
    if len(text) > limit or not validate.typeable(text):
        raise ValidationError("That is not a {field} (at most {limit} printable characters).",
                              field=what, limit=limit)
    return text


def parcel_id_of(session: Session, code: Any) -> int:
    """The id of the parcel with ``code`` (as typed in a form)."""
    code = _typed_key(code, term("parcel code"), 64)
    found = session.scalar(select(Parcel.id).where(Parcel.code == code))
    if found is None:
        raise ValidationError("No parcel has the code '{code}'.", field="parcel code", code=code)
    return found


def evaluation_id_of(session: Session, reference: Any) -> int:
    """The id of the regional evaluation with ``reference`` (文号, as typed)."""
    reference = _typed_key(reference, term("reference (文号)"), 64)
    found = session.scalar(select(RegionalEvaluation.id).where(RegionalEvaluation.reference == reference))
    if found is None:
        raise ValidationError("No regional evaluation has the reference '{reference}'.",
                              field="reference", reference=reference)
    return found

"""Standard land (标准地), the investment agreement and the lifecycle checks.

- **Parcels** carry their area in 亩, park and location, servicing level, the
  regional evaluations (区域评估) done on them and their control indicators;
  an admin edits all of it (``save_parcel``, ``set_indicator``,
  ``save_evaluation``, ``attach_evaluation`` …).
- **Assigning a parcel** to a project covers every item whose
  ``coverage.evaluation`` the parcel carries *valid on that day*, each with the
  evaluation's reference (``assign_parcel``); an expired evaluation covers
  nothing and the item stays to be done.
- **The investment-and-construction agreement** (投资建设协议) fixes the committed
  indicators and four dates; each date becomes a ``Checkpoint`` with a deadline:
  the start check, the completion acceptance against the standard (a failure
  blocks the step to production: ``ensure_may_produce``), the production check
  and the capacity review (达产复核).
- **The capacity review**: the enterprise (or the lead) reports investment,
  floor area, tax, output and energy; ``assess`` computes each indicator with
  ``Decimal`` arithmetic, compares it with the commitment, and the lead's
  decision records pass, rectification by a deadline, or breach with a credit
  record (失信).
- **The sweep** passes start/production checks the project has reached, warns of
  idle land one and two years after a missed start (闲置土地处置办法 第十四条), and
  tells the lead once when a checkpoint passes its due date still open.

Rounding: every indicator is computed exactly, then rounded half-up to two
decimal places (``CENT``); the rounded value is the one shown *and* the one
judged, so a page never shows "3.00 < 3.00". Areas convert with
1 亩 = 10 000 / 15 m² exactly (1 公顷 = 15 亩), not a rounded 666.67.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from definitions import Definition
from workflow.core import audit, hooks, notify, permissions
from workflow.core import operations as ops
from workflow.core.machines import item_machine
from workflow.core.models import Project
from workflow.kernel import paging, validate
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
)
from workflow.kernel.models import User
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.commitments.models import CreditRecord
from workflow.reforms.land.models import (
    CapacityReport,
    Checkpoint,
    InvestmentAgreement,
    Parcel,
    ParcelEvaluation,
    ParcelIndicator,
    RegionalEvaluation,
)

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
SERVICING_LEVELS = ("三通一平", "五通一平", "七通一平")
BOUNDS = ("min", "max")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
CHECK_KINDS = ("start", "completion", "production", "capacity")
# The stage a project must have reached before each check can pass.
CHECK_STAGE = {"start": "started", "completion": "started", "production": "producing",
               "capacity": "at_capacity"}


@dataclass(frozen=True)
class LandRules:
    """The zone's knobs for the lifecycle checks (configuration, not law).

    ``rectify_months``: the rectification period a first missed capacity review
    grants. ``breach_shortfall``: a miss by this share of the commitment or more
    (0.50: the actual value is half the committed one, or worse) is a breach at
    once, without a rectification period. ``idle_fee_rate``: the idle-land fee
    as a share of the land price (闲置土地处置办法 第十四条: 20 %)."""

    rectify_months: int = 6
    breach_shortfall: Decimal = Decimal("0.50")
    idle_fee_rate: Decimal = Decimal("0.20")


RULES = LandRules()


# -- indicators -----------------------------------------------------------------------------

@dataclass(frozen=True)
class IndicatorKind:
    """A standard indicator the engine computes from a capacity report."""

    code: str
    name: str
    unit: str
    needs: tuple[str, ...]  # reported figures it is computed from


STANDARD_INDICATORS: dict[str, IndicatorKind] = {k.code: k for k in (
    IndicatorKind("investment_intensity", "固定资产投资强度", "万元/亩", ("investment_wan",)),
    IndicatorKind("floor_area_ratio", "容积率", "", ("floor_area_m2",)),
    IndicatorKind("tax_per_mu", "亩均税收", "万元/亩", ("tax_wan",)),
    IndicatorKind("output_per_mu", "亩均产值", "万元/亩", ("output_wan",)),
    IndicatorKind("output_per_tce", "单位能耗产值", "万元/吨标准煤", ("output_wan", "energy_tce")),
    IndicatorKind("value_added_per_tce", "单位能耗工业增加值", "万元/吨标准煤",
                  ("value_added_wan", "energy_tce")),
)}
# The headline columns of the zone's 亩均 table.
HEADLINE = ("investment_intensity", "floor_area_ratio", "tax_per_mu", "output_per_mu")

REPORT_FIELDS = {
    "investment_wan": ("固定资产投资", "万元"),
    "floor_area_m2": ("总建筑面积", "平方米"),
    "tax_wan": ("年度税收", "万元"),
    "output_wan": ("年度产值", "万元"),
    "energy_tce": ("年综合能耗", "吨标准煤"),
}
# Figures beyond the five columns of a report, reported only when an
# indicator needs them (kept in ``CapacityReport.extras``).
EXTRA_FIGURES = {"value_added_wan": ("工业增加值", "万元")}


def plain(value: Any) -> str:
    """A decimal as text without exponent or trailing zeros (15.0000 → "15"),
    so a committed value reads the same however it was stored."""
    return format(Decimal(str(value)).normalize(), "f")


def rounded(value: Decimal) -> Decimal:
    """Half-up to two decimal places: the rounding of every indicator."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, what: str, *, positive: bool = False) -> Decimal:
    """Parse a user's number (text or number) into a finite, non-negative
    ``Decimal``; ``positive`` also refuses zero. Floats go through ``str`` so
    0.1 stays 0.1."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{what} is required.", field=what)
    text = str(value).strip().replace(",", "").replace("，", "")
    if not text:
        raise ValidationError(f"{what} is required.", field=what)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(f"{what} must be a number (got '{text}').", field=what) from exc
    if not number.is_finite():
        raise ValidationError(f"{what} must be a finite number.", field=what)
    if number < 0:
        raise ValidationError(f"{what} cannot be negative.", field=what)
    if positive and number == 0:
        raise ValidationError(f"{what} must be greater than zero.", field=what)
    if number.adjusted() >= 12:
        raise ValidationError(f"{what} is too large.", field=what)
    return number


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    return to_decimal(value, what)


def _date(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        raise ValidationError(f"{what} must be a date, not a moment.")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise ValidationError(f"{what} must be a date (YYYY-MM-DD).", field=what) from exc


def _optional_date(value: Any, what: str) -> date | None:
    if value is None or (not isinstance(value, date) and str(value).strip() == ""):
        return None
    return _date(value, what)


_text = validate.text


def add_years(day: date, years: int) -> date:
    """The corresponding day ``years`` later; 29 February becomes 28 February
    (民法典 第二百零二条: no corresponding day → the month's last day)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    """The corresponding day ``months`` later, clamped to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def met(bound: str, committed: Decimal, actual: Decimal) -> bool:
    return actual >= committed if bound == "min" else actual <= committed


def shortfall(bound: str, committed: Decimal, actual: Decimal) -> Decimal:
    """How far ``actual`` misses ``committed``, as a share of the commitment
    (0 when met; 1 when a committed maximum of 0 is exceeded)."""
    if met(bound, committed, actual):
        return Decimal(0)
    if committed == 0:
        return Decimal(1)
    gap = committed - actual if bound == "min" else actual - committed
    return (gap / committed).quantize(RATIO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    """What an enterprise reports for a capacity review (all ``Decimal``)."""

    investment_wan: Decimal
    floor_area_m2: Decimal
    tax_wan: Decimal
    output_wan: Decimal
    energy_tce: Decimal
    extras: Mapping[str, Decimal] = field(default_factory=dict)

    def get(self, name: str) -> Decimal | None:
        if name in REPORT_FIELDS:
            return getattr(self, name)
        return self.extras.get(name)


def parse_figures(values: Mapping[str, Any], extras: Mapping[str, Any] | None = None) -> Figures:
    """Validate a report: the five figures, each a non-negative number, plus the
    ``extras`` (extra figures such as ``value_added_wan``, or a zone extra
    indicator's value by its code)."""
    parsed = {name: to_decimal(values.get(name), label) for name, (label, _unit) in REPORT_FIELDS.items()}
    more = {}
    for code, value in (extras or {}).items():
        if not CODE.match(str(code)):
            raise ValidationError(f"Unknown reported figure '{code}'.")
        if value is None or str(value).strip() == "":
            continue
        more[str(code)] = to_decimal(value, EXTRA_FIGURES.get(code, (code,))[0])
    return Figures(**parsed, extras=more)


def compute(code: str, figures: Figures, area_mu: Decimal) -> Decimal:
    """One indicator of a report on a parcel of ``area_mu`` 亩, rounded.

    investment_intensity = investment ÷ area (万元/亩); floor_area_ratio =
    floor area ÷ (area × 10 000/15 m²); tax_per_mu = tax ÷ area; output_per_mu
    = output ÷ area; output_per_tce = output ÷ energy; value_added_per_tce =
    value added ÷ energy. A zone extra (any other code) is reported directly."""
    if area_mu <= 0:
        raise ValidationError("The parcel's area must be greater than zero.")
    per_mu = {"investment_intensity": "investment_wan", "tax_per_mu": "tax_wan",
              "output_per_mu": "output_wan"}
    if code in per_mu:
        return rounded(figures.get(per_mu[code]) / area_mu)
    if code == "floor_area_ratio":
        return rounded(figures.floor_area_m2 * 15 / (area_mu * 10000))
    if code in ("output_per_tce", "value_added_per_tce"):
        numerator = "output_wan" if code == "output_per_tce" else "value_added_wan"
        if figures.energy_tce == 0:
            raise ValidationError("The energy consumption must be greater than zero to compute "
                                  f"{STANDARD_INDICATORS[code].name}.")
        value = figures.get(numerator)
        if value is None:
            raise ValidationError(f"Report the {EXTRA_FIGURES[numerator][0]} (万元) to compute "
                                  f"{STANDARD_INDICATORS[code].name}.")
        return rounded(value / figures.energy_tce)
    value = figures.extras.get(code)
    if value is None:
        raise ValidationError(f"The agreement commits to indicator '{code}': report its value.",
                              indicator=code)
    return rounded(value)


def report_inputs(committed: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Inputs a report needs beyond the five figures: (code, name, unit)."""
    inputs: list[tuple[str, str, str]] = []
    for code, spec in committed.items():
        if code == "value_added_per_tce":
            inputs.append(("value_added_wan", *EXTRA_FIGURES["value_added_wan"]))
        elif code not in STANDARD_INDICATORS:
            inputs.append((code, spec.get("name", code), spec.get("unit", "")))
    return inputs


def assess(committed: Mapping[str, Mapping[str, Any]], figures: Figures, area_mu: Decimal) -> dict:
    """Each committed indicator computed from ``figures`` and compared with
    the commitment: a JSON-ready dict (numbers as exact decimal strings)."""
    lines = []
    worst = Decimal(0)
    for code, spec in committed.items():
        target = Decimal(str(spec["value"]))
        actual = compute(code, figures, area_mu)
        miss = shortfall(spec["bound"], target, actual)
        worst = max(worst, miss)
        lines.append({"code": code, "name": spec.get("name", code), "unit": spec.get("unit", ""),
                      "bound": spec["bound"], "committed": plain(target), "actual": str(actual),
                      "met": miss == 0, "shortfall": str(miss)})
    return {"area_mu": str(area_mu), "indicators": lines,
            "all_met": all(line["met"] for line in lines), "worst_shortfall": str(worst)}


def verdict_for(assessment: Mapping[str, Any], checkpoint: Checkpoint, today: date,
                rules: LandRules = RULES) -> tuple[str, date | None]:
    """The capacity review's verdict and rectification deadline.

    All met → ``passed``. A miss of ``breach_shortfall`` or more → ``breached``.
    Otherwise a first review → ``rectifying`` until ``today + rectify_months``;
    a re-review from the rectification deadline on that still misses →
    ``breached``; one before it stays ``rectifying`` with the same deadline."""
    if assessment["all_met"]:
        return "passed", None
    if Decimal(assessment["worst_shortfall"]) >= rules.breach_shortfall:
        return "breached", checkpoint.rectify_by
    if checkpoint.status == "rectifying" and checkpoint.rectify_by is not None:
        if today >= checkpoint.rectify_by:
            return "breached", checkpoint.rectify_by
        return "rectifying", checkpoint.rectify_by
    return "rectifying", add_months(today, rules.rectify_months)


# -- admin: parcels, indicators, evaluations -----------------------------------------------

def _require_admin(actor: User | None) -> None:
    if actor is not None and not permissions.can_edit_land(actor):
        raise NotPermitted("Only an administrator may edit parcels and regional evaluations.")


def _parcel(session: Session, parcel_id: int, lock: bool = False) -> Parcel:
    parcel = session.get(Parcel, parcel_id, with_for_update=lock)
    if parcel is None:
        raise NotFound(f"Parcel {parcel_id} does not exist.")
    return parcel


def save_parcel(session: Session, *, actor: User | None, now: datetime, code: str, name: str,
                area_mu: Any, park: str = "", location: str = "", servicing: str = "",
                land_price_wan: Any = None, transferred_on: Any = None,
                parcel_id: int | None = None) -> Parcel:
    """Create a parcel (``parcel_id`` None) or change one. The code is unique,
    the area a positive number of 亩, the servicing level a known one."""
    _require_admin(actor)
    ops.utc(now)
    code = _text(code, "parcel code", limit=64)
    name = _text(name, "parcel name", limit=200)
    area = to_decimal(area_mu, "area (亩)", positive=True)
    if area != area.quantize(CENT):
        raise ValidationError("The area is recorded to 0.01 亩.")
    servicing = _text(servicing, "servicing level", limit=40, required=False)
    if servicing and servicing not in SERVICING_LEVELS:
        raise ValidationError(f"Unknown servicing level '{servicing}' "
                              f"(one of {', '.join(SERVICING_LEVELS)}).")
    price = _optional_decimal(land_price_wan, "land price (万元)")
    clash = session.scalar(select(Parcel.id).where(Parcel.code == code))
    if clash is not None and clash != parcel_id:
        raise ValidationError(f"Parcel code {code} is already used.", code=code)
    parcel = _parcel(session, parcel_id, lock=True) if parcel_id is not None else Parcel()
    parcel.code, parcel.name, parcel.area_mu, parcel.servicing = code, name, area, servicing
    parcel.park = _text(park, "park", limit=200, required=False)
    parcel.location = _text(location, "location", limit=300, required=False)
    parcel.land_price_wan = price
    parcel.transferred_on = _optional_date(transferred_on, "transfer date")
    session.add(parcel)
    try:
        ops.flush(session)
    except IntegrityError as exc:
        raise ValidationError(f"Parcel code {code} is already used.", code=code) from exc
    return parcel


def set_indicator(session: Session, parcel_id: int, *, code: str, name: str, unit: str,
                  bound: str, value: Any, actor: User | None, now: datetime) -> ParcelIndicator:
    """Add or change a control indicator of a parcel (one per code)."""
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    code = _text(code, "indicator code", limit=64)
    if not CODE.match(code):
        raise ValidationError("An indicator code is lower-case letters, digits and _ "
                              "(e.g. tax_per_mu).", code=code)
    if bound not in BOUNDS:
        raise ValidationError("An indicator's bound is 'min' or 'max'.", bound=bound)
    standard = STANDARD_INDICATORS.get(code)
    name = _text(name or (standard.name if standard else ""), "indicator name", limit=100)
    unit = _text(unit or (standard.unit if standard else ""), "unit", limit=40, required=False)
    number = to_decimal(value, f"value of {code}")
    row = next((i for i in parcel.indicators if i.code == code), None)
    if row is None:
        row = ParcelIndicator(code=code)
        parcel.indicators.append(row)
    row.name, row.unit, row.bound, row.value = name, unit, bound, number
    ops.flush(session)
    return row


def remove_indicator(session: Session, parcel_id: int, code: str, *, actor: User | None,
                     now: datetime) -> None:
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    row = next((i for i in parcel.indicators if i.code == code), None)
    if row is None:
        raise NotFound(f"Parcel {parcel.code} has no indicator '{code}'.")
    parcel.indicators.remove(row)
    ops.flush(session)


def save_evaluation(session: Session, *, actor: User | None, now: datetime, reference: str,
                    kind: str, title: str, done_on: Any, valid_until: Any,
                    evaluation_id: int | None = None) -> RegionalEvaluation:
    """Record a regional evaluation (区域评估): its reference number (unique),
    the kind (an evaluation code of the definition), its date and validity."""
    _require_admin(actor)
    reference = _text(reference, "reference (文号)", limit=64)
    title = _text(title, "title", limit=300)
    codes = definition_of(current_version(session)).evaluation_codes()
    if kind not in codes:
        raise ValidationError(f"Unknown kind of regional evaluation '{kind}' "
                              f"(one of {', '.join(codes)}).", kind=kind)
    done, until = _date(done_on, "date of the evaluation"), _date(valid_until, "valid until")
    if until < done:
        raise ValidationError("An evaluation cannot expire before it was done.")
    clash = session.scalar(select(RegionalEvaluation.id).where(RegionalEvaluation.reference == reference))
    if clash is not None and clash != evaluation_id:
        raise ValidationError(f"Evaluation {reference} is already recorded.", reference=reference)
    if evaluation_id is None:
        row = RegionalEvaluation()
        session.add(row)
    else:
        row = session.get(RegionalEvaluation, evaluation_id, with_for_update=True)
        if row is None:
            raise NotFound(f"Regional evaluation {evaluation_id} does not exist.")
    row.reference, row.kind, row.title, row.done_on, row.valid_until = reference, kind, title, done, until
    ops.flush(session)
    return row


def attach_evaluation(session: Session, parcel_id: int, evaluation_id: int, *,
                      actor: User | None, now: datetime) -> Parcel:
    """The evaluation covers the parcel (a regional result shared by every
    project later placed on it)."""
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    evaluation = session.get(RegionalEvaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(f"Regional evaluation {evaluation_id} does not exist.")
    if any(e.id == evaluation.id for e in parcel.evaluations):
        raise ValidationError(f"Parcel {parcel.code} already carries {evaluation.reference}.")
    session.add(ParcelEvaluation(parcel_id=parcel.id, evaluation_id=evaluation.id))
    ops.flush(session)
    session.expire(parcel, ["evaluations"])
    return parcel


def detach_evaluation(session: Session, parcel_id: int, evaluation_id: int, *,
                      actor: User | None, now: datetime) -> Parcel:
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    link = session.scalar(select(ParcelEvaluation).where(
        ParcelEvaluation.parcel_id == parcel.id, ParcelEvaluation.evaluation_id == evaluation_id))
    if link is None:
        raise NotFound(f"Parcel {parcel.code} does not carry evaluation {evaluation_id}.")
    session.delete(link)
    ops.flush(session)
    session.expire(parcel, ["evaluations"])
    return parcel


# -- parcel assignment and coverage ---------------------------------------------------------

def valid_evaluation(parcel: Parcel, kind: str, today: date) -> RegionalEvaluation | None:
    """The parcel's evaluation of ``kind`` valid on ``today`` (done, not
    expired: ``valid_until >= today``), the longest-valid one if several."""
    valid = [e for e in parcel.evaluations
             if e.kind == kind and e.done_on <= today <= e.valid_until]
    return max(valid, key=lambda e: (e.valid_until, e.id)) if valid else None


def _latest_evaluation(parcel: Parcel, kind: str) -> RegionalEvaluation | None:
    found = [e for e in parcel.evaluations if e.kind == kind]
    return max(found, key=lambda e: (e.valid_until, e.id)) if found else None


def evaluation_reference(evaluation: RegionalEvaluation) -> str:
    return f"{evaluation.reference} {evaluation.title}"


@dataclass(frozen=True)
class CoverageRow:
    """One item a regional evaluation could cover, and why it is or is not.

    ``status``: covered (by the parcel, ``reference``), coverable (a valid
    evaluation, task still open: apply it), expired (only an expired one:
    the item is done normally), missing (the parcel carries none), closed
    (done otherwise), no_task (no task yet: the mandate is not signed)."""

    item_code: str
    evaluation_kind: str
    status: str
    evaluation: RegionalEvaluation | None
    task_state: str | None
    reference: str | None = None


def coverage_rows(project: Project, parcel: Parcel | None, today: date) -> list[CoverageRow]:
    """For every item the definition lets an evaluation cover, what the
    project's parcel does for it on ``today``."""
    definition = ops.definition_for(project)
    tasks = {t.item_code: t for t in project.tasks}
    machine = item_machine(definition.version)
    rows = []
    for item in definition.items.values():
        kind = item.coverage.evaluation
        if kind is None:
            continue
        task = tasks.get(item.code)
        valid = valid_evaluation(parcel, kind, today) if parcel is not None else None
        latest = valid or (_latest_evaluation(parcel, kind) if parcel is not None else None)
        if task is not None and task.state == "covered" and (task.covered_ref or "").startswith("evaluation"):
            status = "covered"
        elif task is not None and task.state in ("done", "covered", "terminated"):
            status = "closed"
        elif valid is not None:
            status = "coverable" if task is not None and machine.can(task, "cover") else (
                "no_task" if task is None else "closed")
        elif latest is not None:
            status = "expired"
        else:
            status = "missing"
        rows.append(CoverageRow(item.code, kind, status, latest,
                                task.state if task is not None else None,
                                task.covered_ref if task is not None else None))
    return rows


@dataclass(frozen=True)
class CoverageResult:
    """What assigning a parcel (or re-applying it) did."""

    project: Project
    parcel: Parcel
    covered: tuple[tuple[str, str], ...]  # (item code, reference)
    expired: tuple[tuple[str, str, date], ...]  # (item code, reference, expired on)


def assign_parcel(session: Session, project_id: int, parcel_id: int, *, actor: User | None,
                  now: datetime) -> CoverageResult:
    """Place the project on a standard-land parcel and let the parcel's valid
    regional evaluations cover the items they cover, each with its reference.
    A parcel fixed by a recorded agreement cannot be changed."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    parcel = _parcel(session, parcel_id)
    if project.stage in ("intention", "terminated", "verified"):
        raise InvalidTransition(f"A parcel cannot be assigned to a project at stage {project.stage}.",
                                state=project.stage)
    agreement = _agreement(session, project.id)
    if agreement is not None and agreement.parcel_id != parcel.id:
        raise InvalidTransition("The investment agreement fixes the project's parcel "
                                f"({agreement.parcel.code}).")
    before = project.parcel_id
    project.parcel_id, project.parcel = parcel.id, f"{parcel.code} {parcel.name}"[:64]
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.parcel_assigned",
                 data={"parcel": parcel.code, "area_mu": str(parcel.area_mu),
                       "previous": before}, public=True)
    ops.flush(session)
    return _cover_from(session, project, parcel, actor=actor, now=now)


def apply_parcel_coverage(session: Session, project_id: int, *, actor: User | None,
                          now: datetime) -> CoverageResult:
    """Cover again from the project's parcel: for tasks created after the
    parcel was assigned (the mandate came later) or evaluations added since."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    if project.parcel_id is None:
        raise InvalidTransition(f"Project {project.code} has no standard-land parcel yet.")
    return _cover_from(session, project, _parcel(session, project.parcel_id), actor=actor, now=now)


@hooks.consequence("project.mandated")
def _cover_after_mandate(session: Session, project: Project, *, actor: User | None,
                         now: datetime) -> None:
    """标准地: the parcel was assigned before the mandate, when no task existed
    yet; its valid regional evaluations cover their items now."""
    if project.parcel_id is not None:
        apply_parcel_coverage(session, project.id, actor=actor, now=now)


def _cover_from(session: Session, project: Project, parcel: Parcel, *, actor: User | None,
                now: datetime) -> CoverageResult:
    today = ops.zone_today(now)
    covered, expired = [], []
    for row in coverage_rows(project, parcel, today):
        if row.status == "coverable":
            reference = evaluation_reference(row.evaluation)
            task = next(t for t in project.tasks if t.item_code == row.item_code)
            ops.cover_task(session, task.id, reference=reference, kind="evaluation",
                           actor=actor, now=now)
            covered.append((row.item_code, reference))
        elif row.status == "expired":
            expired.append((row.item_code, row.evaluation.reference, row.evaluation.valid_until))
    return CoverageResult(project, parcel, tuple(covered), tuple(expired))


# -- the investment agreement and its checkpoints -----------------------------------------

def _agreement(session: Session, project_id: int) -> InvestmentAgreement | None:
    return session.scalar(select(InvestmentAgreement).where(InvestmentAgreement.project_id == project_id))


def committed_indicators(parcel: Parcel, overrides: Mapping[str, Mapping[str, Any]] | None
                         ) -> dict[str, dict[str, str]]:
    """The agreement's indicators: the parcel's control indicators, each
    possibly raised (a min) or lowered (a max) by ``overrides`` — never made
    looser than the parcel's standard — plus extra ones the agreement adds."""
    result: dict[str, dict[str, str]] = {
        i.code: {"name": i.name, "unit": i.unit, "bound": i.bound, "value": plain(i.value)}
        for i in parcel.indicators}
    for code, spec in (overrides or {}).items():
        if not CODE.match(str(code)):
            raise ValidationError(f"Unknown indicator code '{code}'.")
        base = result.get(code)
        bound = spec.get("bound") or (base["bound"] if base else "")
        if bound not in BOUNDS:
            raise ValidationError(f"Indicator {code}: the bound is 'min' or 'max'.", bound=bound)
        value = to_decimal(spec.get("value"), f"committed value of {code}")
        if base is not None:
            floor = Decimal(base["value"])
            if bound != base["bound"]:
                raise ValidationError(f"Indicator {code} is a {base['bound']} on the parcel.")
            if not met(bound, floor, value):
                raise ValidationError(
                    f"The commitment for {base['name']} ({value}) is looser than the parcel's "
                    f"control indicator ({'≥' if bound == 'min' else '≤'} {floor}).", indicator=code)
        standard = STANDARD_INDICATORS.get(code)
        name = spec.get("name") or (base or {}).get("name") or (standard.name if standard else "")
        unit = spec.get("unit")
        if unit is None:
            unit = (base or {}).get("unit", standard.unit if standard else "")
        result[code] = {"name": _text(name, f"name of indicator {code}", limit=100),
                        "unit": str(unit)[:40], "bound": bound, "value": plain(value)}
    return result


def record_agreement(session: Session, project_id: int, *, signed_on: Any, start_by: Any,
                     complete_by: Any, produce_by: Any, capacity_by: Any, actor: User | None,
                     now: datetime, land_price_wan: Any = None,
                     indicators: Mapping[str, Mapping[str, Any]] | None = None
                     ) -> InvestmentAgreement:
    """Record the 投资建设协议 on the project's parcel: the committed indicators
    (the parcel's standard, optionally stricter) and the four dates, each of
    which becomes a checkpoint with its deadline."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    if project.parcel_id is None:
        raise InvalidTransition("Assign a standard-land parcel before recording the agreement.")
    if project.stage in ("intention", "terminated"):
        raise InvalidTransition(f"No agreement can be recorded at stage {project.stage}.",
                                state=project.stage)
    if _agreement(session, project.id) is not None:
        raise Conflict(f"Project {project.code} already has an investment agreement.")
    dates = {name: _date(value, name.replace("_", " ")) for name, value in (
        ("signed_on", signed_on), ("start_by", start_by), ("complete_by", complete_by),
        ("produce_by", produce_by), ("capacity_by", capacity_by))}
    order = list(dates.values())
    if any(a > b for a, b in zip(order, order[1:], strict=False)):
        raise ValidationError("The dates must follow each other: signed ≤ start ≤ completion "
                              "≤ production ≤ capacity.")
    parcel = _parcel(session, project.parcel_id)
    committed = committed_indicators(parcel, indicators)
    if not committed:
        raise ValidationError(f"Parcel {parcel.code} has no control indicators and none were given.")
    price = _optional_decimal(land_price_wan, "land price (万元)")
    if price is None and parcel.land_price_wan is not None:
        price = Decimal(parcel.land_price_wan)
    agreement = InvestmentAgreement(
        project_id=project.id, parcel_id=parcel.id, land_price_wan=price, indicators=committed,
        created_by_id=actor.id if actor else None, created_at=ops.utc(now), **dates)
    session.add(agreement)
    for kind, due in (("start", dates["start_by"]), ("completion", dates["complete_by"]),
                      ("production", dates["produce_by"]), ("capacity", dates["capacity_by"])):
        session.add(Checkpoint(project_id=project.id, kind=kind, due_on=due, status="open"))
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.agreement_recorded",
                 data={"parcel": parcel.code, "indicators": committed, **dates,
                       "land_price_wan": str(price) if price is not None else None}, public=True)
    try:
        ops.flush(session)
    except IntegrityError as exc:
        raise Conflict(f"Project {project.code} already has an investment agreement.") from exc
    return agreement


def _checkpoint(session: Session, project: Project, kind: str) -> Checkpoint:
    if kind not in CHECK_KINDS:
        raise NotFound(f"Unknown checkpoint '{kind}'.")
    row = session.scalar(select(Checkpoint).where(Checkpoint.project_id == project.id,
                                                  Checkpoint.kind == kind)
                         .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise NotFound(f"Project {project.code} has no {kind} checkpoint: record the investment "
                       "agreement first.")
    return row


def _reached(definition: Definition, project: Project, stage: str) -> bool:
    current = definition.stages.get(project.stage)
    return current is not None and not current.side and current.order >= definition.stages[stage].order


def _result(checkpoint: Checkpoint) -> dict[str, Any]:
    """A copy of the checkpoint's JSON bag (assigned back whole, so the ORM
    sees the change)."""
    return dict(checkpoint.result or {})


def record_check(session: Session, project_id: int, kind: str, *, actor: User | None,
                 now: datetime, note: str = "", checked: Mapping[str, bool] | None = None
                 ) -> Checkpoint:
    """The lead records the start, completion or production check.

    The start and production checks pass once the project has reached
    "started" / "producing" (lateness is what the sweep's warnings are for).
    The completion acceptance against the standard marks each committed
    indicator met or not (``checked``, a missing mark is "not met"); it passes
    only if all are met, and a failure — with a note saying what failed —
    blocks the step to production until a later acceptance passes."""
    if kind not in ("start", "completion", "production"):
        raise ValidationError("The capacity review is recorded with its reported figures.")
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    checkpoint = _checkpoint(session, project, kind)
    if checkpoint.status == "passed":
        raise InvalidTransition(f"The {kind} check of {project.code} has already passed.")
    definition = ops.definition_for(project)
    if not _reached(definition, project, CHECK_STAGE[kind]):
        raise InvalidTransition(
            f"The {kind} check needs the project to have reached {CHECK_STAGE[kind]} "
            f"(it is {project.stage}).", state=project.stage)
    note = _text(note, "note", limit=2000, required=False)
    result = _result(checkpoint)
    passed = True
    if kind == "completion":
        agreement = _agreement(session, project.id)
        codes = list(agreement.indicators)
        given = {str(k): bool(v) for k, v in (checked or {}).items()}
        unknown = set(given) - set(codes)
        if unknown:
            raise ValidationError(f"Not an indicator of the agreement: {', '.join(sorted(unknown))}.")
        marks = {code: given.get(code, False) for code in codes}
        passed = all(marks.values())
        result["checked"] = marks
        if not passed and not note:
            raise ValidationError("Say what failed the completion acceptance (note).")
    status = "passed" if passed else "failed"
    before = checkpoint.status
    checkpoint.status, checkpoint.note, checkpoint.result = status, note or None, result
    checkpoint.decided_by_id = actor.id if actor else None
    checkpoint.decided_at = ops.utc(now)
    audit.record(session, project, actor=actor, now=ops.utc(now), action=f"land.{kind}_check",
                 from_state=before, to_state=status,
                 data={"note": note, "checked": result.get("checked")}, public=True)
    ops.flush(session)
    return checkpoint


@hooks.guard("project.produce")
def ensure_may_produce(session: Session, project: Project) -> None:
    """Guard of the step to production: a failed completion acceptance against
    the standard (竣工验收不达标) blocks it, with the reason."""
    failed = session.scalar(select(Checkpoint).where(
        Checkpoint.project_id == project.id, Checkpoint.kind == "completion",
        Checkpoint.status == "failed"))
    if failed is not None:
        missed = [code for code, ok in ((failed.result or {}).get("checked") or {}).items() if not ok]
        raise InvalidTransition(
            f"Project {project.code} cannot go into production: the completion acceptance "
            f"against the standard failed ({failed.note or ', '.join(missed)}).",
            missed=missed, state=project.stage)


# -- the capacity review (达产复核) -----------------------------------------------------------

def _may_report(actor: User | None, project: Project) -> None:
    if actor is not None and not permissions.can_report_capacity(actor, project):
        raise NotPermitted(f"{actor.username} may not report figures for {project.code}.")


def report_capacity(session: Session, project_id: int, figures: Figures | Mapping[str, Any], *,
                    actor: User | None, now: datetime,
                    extras: Mapping[str, Any] | None = None) -> CapacityReport:
    """The enterprise (or its lead) reports the actual figures for the 达产复核:
    the engine computes each indicator and keeps the assessment pending until
    the lead confirms it (``confirm_capacity``)."""
    project = ops.lock_project(session, project_id)
    _may_report(actor, project)
    report, _checkpoint_row = _report(session, project, figures, extras, actor=actor, now=now)
    if actor is None or actor.role == "enterprise":
        lead = [project.lead] if project.lead is not None else []
        notify.tell(session, lead, notify.Message(
            "capacity_reported", f"【达产复核】{project.name}：企业已报送数据",
            f"项目「{project.name}」（{project.code}）的企业已报送达产复核数据，系统已计算各项指标，"
            "请核对后确认复核结论。"), now=ops.utc(now), key=f"land:report:{report.id}",
            project=project)
    return report


def _report(session: Session, project: Project, figures: Figures | Mapping[str, Any],
            extras: Mapping[str, Any] | None, *, actor: User | None,
            now: datetime) -> tuple[CapacityReport, Checkpoint]:
    if actor is None:
        raise ValidationError("A capacity report is made by a person (the enterprise or its lead).")
    checkpoint = _checkpoint(session, project, "capacity")
    if checkpoint.status not in ("open", "rectifying"):
        raise InvalidTransition(f"The capacity review of {project.code} is closed ({checkpoint.status}).",
                                status=checkpoint.status)
    if not _reached(ops.definition_for(project), project, "at_capacity"):
        raise InvalidTransition(f"The capacity review needs the project at capacity (达产); "
                                f"it is {project.stage}.", state=project.stage)
    if not isinstance(figures, Figures):
        figures = parse_figures(figures, extras)
    agreement = _agreement(session, project.id)
    assessment = assess(agreement.indicators, figures, Decimal(agreement.parcel.area_mu))
    report = CapacityReport(
        checkpoint_id=checkpoint.id, investment_wan=figures.investment_wan,
        floor_area_m2=figures.floor_area_m2, tax_wan=figures.tax_wan, output_wan=figures.output_wan,
        energy_tce=figures.energy_tce, extras={k: str(v) for k, v in figures.extras.items()},
        reported_by_id=actor.id, reported_at=ops.utc(now))
    session.add(report)
    ops.flush(session)
    today = ops.zone_today(now)
    assessment.update(report=report.id, reported_on=today.isoformat(),
                      reported_by=actor.display_name,
                      figures={name: str(figures.get(name)) for name in REPORT_FIELDS}
                      | {k: str(v) for k, v in figures.extras.items()})
    proposal, rectify_by = verdict_for(assessment, checkpoint, today)
    assessment.update(proposal=proposal, rectify_by=rectify_by.isoformat() if rectify_by else None)
    result = _result(checkpoint)
    result["pending"] = assessment
    checkpoint.result = result
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.capacity_reported",
                 data={"report": report.id, "figures": assessment["figures"],
                       "indicators": assessment["indicators"], "proposal": proposal}, public=True)
    ops.flush(session)
    return report, checkpoint


def confirm_capacity(session: Session, project_id: int, *, actor: User | None, now: datetime,
                     note: str = "", rules: LandRules = RULES) -> Checkpoint:
    """The lead confirms the pending assessment: the verdict is recorded —
    passed, rectifying (with its deadline) or breached (a serious credit
    record on the enterprise) — and the enterprise is told."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    checkpoint = _checkpoint(session, project, "capacity")
    return _decide(session, project, checkpoint, actor=actor, now=now, note=note, rules=rules)


def review_capacity(session: Session, project_id: int, figures: Figures | Mapping[str, Any], *,
                    actor: User | None, now: datetime, extras: Mapping[str, Any] | None = None,
                    note: str = "", rules: LandRules = RULES) -> Checkpoint:
    """The lead records the reported figures and decides in one step."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    _report_row, checkpoint = _report(session, project, figures, extras, actor=actor, now=now)
    return _decide(session, project, checkpoint, actor=actor, now=now, note=note, rules=rules)


VERDICT_WORDS = {"passed": "通过", "rectifying": "限期整改", "breached": "违约"}


def _decide(session: Session, project: Project, checkpoint: Checkpoint, *, actor: User | None,
            now: datetime, note: str, rules: LandRules) -> Checkpoint:
    result = _result(checkpoint)
    pending = result.get("pending")
    if not pending:
        raise InvalidTransition("There is no reported figure to decide on: the enterprise reports first.")
    if checkpoint.status not in ("open", "rectifying"):
        raise InvalidTransition(f"The capacity review is closed ({checkpoint.status}).")
    today = ops.zone_today(now)
    verdict, rectify_by = verdict_for(pending, checkpoint, today, rules)
    before = checkpoint.status
    decision = dict(pending, verdict=verdict, decided_on=today.isoformat(),
                    decided_by=actor.display_name if actor else None,
                    rectify_by=rectify_by.isoformat() if rectify_by else None,
                    note=_text(note, "note", limit=2000, required=False))
    result["reviews"] = [*result.get("reviews", []), decision]
    result["pending"] = None
    result.pop("notified", None)  # a new deadline may need a new reminder
    checkpoint.result = result
    checkpoint.status = {"passed": "passed", "rectifying": "rectifying", "breached": "breached"}[verdict]
    checkpoint.rectify_by = rectify_by if verdict != "passed" else checkpoint.rectify_by
    checkpoint.decided_by_id = actor.id if actor else None
    checkpoint.decided_at = ops.utc(now)
    checkpoint.note = decision["note"] or None
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="land.capacity_decided",
                         from_state=before, to_state=checkpoint.status,
                         data={"verdict": verdict, "rectify_by": rectify_by,
                               "indicators": pending["indicators"]}, public=True)
    missed = [f"{i['name']} {i['actual']}（承诺{'≥' if i['bound'] == 'min' else '≤'}{i['committed']}）"
              for i in pending["indicators"] if not i["met"]]
    if verdict == "breached":
        session.add(CreditRecord(
            enterprise_id=project.enterprise_id, project_id=project.id, severity="serious",
            source="capacity_breach", reference=f"{project.code} 达产复核"[:200],
            reason=f"达产复核未达到投资建设协议约定指标：{'；'.join(missed)}",
            created_by_id=actor.id if actor else None, created_at=ops.utc(now)))
    body = {"passed": "各项指标均达到投资建设协议的约定。",
            "rectifying": f"未达标指标：{'；'.join(missed)}。请于 {rectify_by} 前完成整改并重新报送。",
            "breached": f"未达标指标：{'；'.join(missed)}。已按协议认定违约并记入企业信用记录，"
                        "将依约取消相关优惠政策，必要时回购土地。"}[verdict]
    notify.tell(session, notify.enterprise_users(session, project), notify.Message(
        f"capacity_{verdict}", f"【达产复核】{project.name}：{VERDICT_WORDS[verdict]}",
        f"您的项目「{project.name}」（{project.code}）达产复核结论：{VERDICT_WORDS[verdict]}。{body}"),
        now=ops.utc(now), key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    ops.flush(session)
    if verdict == "passed" and project.stage == "at_capacity":
        # 达产复核通过 is the project's last lifecycle step.
        ops.advance_project(session, project.id, actor=actor, now=now)
    return checkpoint


# -- the sweep ---------------------------------------------------------------------------------

def idle_fee(agreement: InvestmentAgreement, rules: LandRules = RULES) -> Decimal | None:
    """The idle-land fee: ``idle_fee_rate`` (20 %) of the land price, in 万元."""
    price = agreement.land_price_wan
    if price is None and agreement.parcel is not None:
        price = agreement.parcel.land_price_wan
    return rounded(Decimal(price) * rules.idle_fee_rate) if price is not None else None


def idle_due(start_by: date) -> tuple[date, date]:
    """The first days on which the idle-land and recovery warnings are due: a
    one-year (two-year) period from the agreed start ends on its corresponding
    day (民法典 第二百零一、二百零二条), so "满一年" is reached the day after."""
    return add_years(start_by, 1) + timedelta(days=1), add_years(start_by, 2) + timedelta(days=1)


def sweep(session: Session, *, now: datetime, rules: LandRules = RULES) -> list[str]:
    """Periodic work of standard land; one line per thing recorded, nothing
    twice (each status or marker is checked under the project's lock):

    - an open start / production check whose project reached "started" /
      "producing" passes;
    - a start not made a year after the agreed date: the idle-land warning
      with the fee; two years: the recovery warning (each once);
    - a checkpoint still open after its due date (or a rectification after
      its deadline): the lead is told once per deadline."""
    today = ops.zone_today(now)
    lines: list[str] = []
    # Open checkpoints past their date (a rectification deadline is later
    # than its due date, so it is among them), and start/production checks
    # that pass as soon as the project gets there.
    candidates = session.execute(
        select(Checkpoint.id, Checkpoint.project_id)
        .where(Checkpoint.status.in_(("open", "rectifying")),
               or_(Checkpoint.due_on < today, Checkpoint.kind.in_(("start", "production"))))
        .order_by(Checkpoint.project_id, Checkpoint.id)).all()
    for checkpoint_id, project_id in candidates:
        project = ops.lock_project(session, project_id)
        checkpoint = session.get(Checkpoint, checkpoint_id, with_for_update=True, populate_existing=True)
        if checkpoint.status not in ("open", "rectifying") or project.stage == "terminated":
            continue
        lines.extend(_sweep_one(session, project, checkpoint, today, now, rules))
    ops.flush(session)
    return lines


def _sweep_one(session: Session, project: Project, checkpoint: Checkpoint, today: date,
               now: datetime, rules: LandRules) -> list[str]:
    definition = ops.definition_for(project)
    at = ops.utc(now)
    if checkpoint.kind in ("start", "production") and checkpoint.status == "open" and _reached(
            definition, project, CHECK_STAGE[checkpoint.kind]):
        checkpoint.status, checkpoint.decided_at = "passed", at
        checkpoint.note = f"项目已进入「{notify.stage_name(project, project.stage)}」阶段"
        audit.record(session, project, actor=None, now=at, action=f"land.{checkpoint.kind}_check",
                     from_state="open", to_state="passed", data={"auto": True}, public=True)
        return [f"{project.code}: {checkpoint.kind} check passed ({project.stage})"]
    lines = []
    if checkpoint.kind == "start":
        lines.extend(_idle_warnings(session, project, checkpoint, today, at, rules))
    due = checkpoint.rectify_by if checkpoint.status == "rectifying" and checkpoint.rectify_by else \
        checkpoint.due_on
    result = _result(checkpoint)
    notified = dict(result.get("notified") or {})
    if due < today and notified.get("overdue") != due.isoformat():
        notified["overdue"] = due.isoformat()
        result["notified"] = notified
        checkpoint.result = result
        what = CHECK_NAMES[checkpoint.kind]
        entry = audit.record(session, project, actor=None, now=at, action="land.checkpoint_overdue",
                             data={"checkpoint": checkpoint.kind, "due_on": due,
                                   "status": checkpoint.status})
        lead = [project.lead] if project.lead is not None else []
        notify.tell(session, lead, notify.Message(
            "checkpoint_overdue", f"【节点逾期】{project.name}：{what}",
            f"项目「{project.name}」（{project.code}）的{what}已于 {due} 到期，仍未完成，请跟进。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: {checkpoint.kind} checkpoint overdue since {due}")
    return lines


CHECK_NAMES = {"start": "开工核查", "completion": "竣工验收（对标）", "production": "投产核查",
               "capacity": "达产复核"}


def _idle_warnings(session: Session, project: Project, checkpoint: Checkpoint, today: date,
                   at: datetime, rules: LandRules) -> list[str]:
    idle_day, recovery_day = idle_due(checkpoint.due_on)
    agreement = _agreement(session, project.id)
    people = ([project.lead] if project.lead is not None else []) + notify.enterprise_users(session, project)
    lines = []
    if today >= idle_day and checkpoint.idle_warned_on is None:
        checkpoint.idle_warned_on = today
        fee = idle_fee(agreement, rules)
        amount = (f"按出让价款的 {rules.idle_fee_rate * 100:.0f}% 征缴土地闲置费 {fee} 万元"
                  if fee is not None else "按出让价款的 20% 征缴土地闲置费（出让价款未登记）")
        entry = audit.record(session, project, actor=None, now=at, action="land.idle_warning",
                             data={"start_by": checkpoint.due_on,
                                   "fee_wan": str(fee) if fee is not None else None}, public=True)
        notify.tell(session, people, notify.Message(
            "idle_land", f"【闲置土地预警】{project.name}",
            f"项目「{project.name}」（{project.code}）约定 {checkpoint.due_on} 前动工，已满一年未动工开发。"
            f"依据《闲置土地处置办法》第十四条，可{amount}。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: idle-land warning (fee {fee} 万元)")
    if today >= recovery_day and checkpoint.recovery_warned_on is None:
        checkpoint.recovery_warned_on = today
        entry = audit.record(session, project, actor=None, now=at, action="land.recovery_warning",
                             data={"start_by": checkpoint.due_on}, public=True)
        notify.tell(session, people, notify.Message(
            "land_recovery", f"【土地收回预警】{project.name}",
            f"项目「{project.name}」（{project.code}）约定 {checkpoint.due_on} 前动工，已满两年未动工开发。"
            "依据《闲置土地处置办法》第十四条，可无偿收回国有建设用地使用权。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: land-recovery warning")
    return lines


# -- reading: the project's land panel ---------------------------------------------------------

@dataclass(frozen=True)
class ProjectLand:
    """Everything the project's land panel shows."""

    parcel: Parcel | None
    coverage: list[CoverageRow]
    agreement: InvestmentAgreement | None
    checkpoints: dict[str, Checkpoint]
    inputs: list[tuple[str, str, str]]  # extra report inputs the agreement needs
    idle_fee: Decimal | None

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
                       idle_fee(agreement) if agreement else None)


# -- the parcel register: parcels, evaluations and the projects on a parcel, a page at a time --

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
        raise ValidationError(f"A {what} is required.", field=what)
    if len(text) > limit or not validate.typeable(text):
        raise ValidationError(f"That is not a {what} (at most {limit} printable characters).",
                              field=what)
    return text


def parcel_id_of(session: Session, code: Any) -> int:
    """The id of the parcel with ``code`` (as typed in a form)."""
    code = _typed_key(code, "parcel code", 64)
    found = session.scalar(select(Parcel.id).where(Parcel.code == code))
    if found is None:
        raise ValidationError(f"No parcel has the code '{code}'.", field="parcel code")
    return found


def evaluation_id_of(session: Session, reference: Any) -> int:
    """The id of the regional evaluation with ``reference`` (文号, as typed)."""
    reference = _typed_key(reference, "reference (文号)", 64)
    found = session.scalar(select(RegionalEvaluation.id).where(RegionalEvaluation.reference == reference))
    if found is None:
        raise ValidationError(f"No regional evaluation has the reference '{reference}'.",
                              field="reference")
    return found


# -- the open checkpoints --------------------------------------------------------------------

OPEN_CHECKS = ("open", "rectifying")
CHECKPOINT_ORDER = paging.Order.by("checkpoints", paging.Key(Checkpoint.due_on, date),
                                   paging.Key(Checkpoint.id, int))


def _is_open() -> ColumnElement[bool]:
    """``status IN ('open', 'rectifying')`` with the states inlined, as the
    partial index ``ix_checkpoint_open_due`` names them (SQLite uses a partial
    index only for a query that repeats its condition)."""
    return Checkpoint.status.in_(bindparam("open_checks", list(OPEN_CHECKS), expanding=True,
                                           literal_execute=True, unique=True))


def open_checkpoints(session: Session, user: User, *, cursor: str | None = None,
                     limit: int | None = None) -> paging.Page[tuple[Checkpoint, Project]]:
    """A page of the open checkpoints (or rectifications) of the live projects
    ``user`` may see, earliest due first (``ix_checkpoint_open_due``); who may
    see a project is part of the query."""
    query = (select(Checkpoint, Project).join(Project, Project.id == Checkpoint.project_id)
             .where(_is_open(), Project.stage != "terminated",
                    permissions.visible_projects(user)))
    page = paging.fetch(session, query, CHECKPOINT_ORDER, cursor=cursor, limit=limit,
                        options=(joinedload(Project.enterprise),))
    page.rows = [(row[0], row[1]) for row in page.rows]
    return page


# -- the zone's figures and the 亩均 table ------------------------------------------------------

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

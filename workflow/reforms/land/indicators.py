"""The arithmetic of standard land: the zone's knobs (``LandRules``), the
standard indicators and the figures a capacity report carries, each indicator
computed with ``Decimal`` and rounded half-up to ``CENT``, the comparison with
a commitment (``assess``) and the capacity review's verdict (``verdict_for``);
also the parsing of a user's numbers and dates and the calendar arithmetic
(``add_years``, ``add_months``) the other land modules share."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from workflow.kernel import validate
from workflow.kernel.errors import ValidationError, term
from workflow.reforms.land.models import Checkpoint

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
BOUNDS = (term("min"), term("max"))
CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


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
# Of the floor area, the storeys higher than 8 m: counted twice in the
# floor-area ratio (工业项目建设用地控制指标, 国土资发〔2008〕24号); 0 when none.
TALL_STOREYS = ("tall_floor_area_m2", ("其中层高超过8米的建筑面积", "平方米"))
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
        raise ValidationError("{field} is required.", field=what)
    text = str(value).strip().replace(",", "").replace("，", "")
    if not text:
        raise ValidationError("{field} is required.", field=what)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError("{field} must be a number (got '{text}').", field=what,
                              text=text) from exc
    if not number.is_finite():
        raise ValidationError("{field} must be a finite number.", field=what)
    if number < 0:
        raise ValidationError("{field} cannot be negative.", field=what)
    if positive and number == 0:
        raise ValidationError("{field} must be greater than zero.", field=what)
    if number.adjusted() >= 12:
        raise ValidationError("{field} is too large.", field=what)
    return number


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    return to_decimal(value, what)


def _date(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        raise ValidationError("{what} must be a date, not a moment.", what=what)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise ValidationError("{field} must be a date (YYYY-MM-DD).", field=what) from exc


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
    tall_floor_area_m2: Decimal = Decimal(0)

    def get(self, name: str) -> Decimal | None:
        if name in REPORT_FIELDS or name == TALL_STOREYS[0]:
            return getattr(self, name)
        return self.extras.get(name)

    @property
    def counted_floor_area_m2(self) -> Decimal:
        """The floor area the floor-area ratio counts: a storey higher than
        8 m counts twice."""
        return self.floor_area_m2 + self.tall_floor_area_m2


def parse_figures(values: Mapping[str, Any], extras: Mapping[str, Any] | None = None) -> Figures:
    """Validate a report: the five figures, each a non-negative number, the
    optional area of storeys higher than 8 m (no more than the floor area), plus
    the ``extras`` (extra figures such as ``value_added_wan``, or a zone extra
    indicator's value by its code)."""
    parsed = {name: to_decimal(values.get(name), label) for name, (label, _unit) in REPORT_FIELDS.items()}
    tall_name, (tall_label, _unit) = TALL_STOREYS
    tall = _optional_decimal(values.get(tall_name), tall_label) or Decimal(0)
    if tall > parsed["floor_area_m2"]:
        raise ValidationError("{label} ({tall} m²) is part of the floor area "
                              "({floor} m²): it cannot exceed it.", field=tall_name,
                              label=tall_label, tall=tall, floor=parsed["floor_area_m2"])
    parsed[tall_name] = tall
    more = {}
    for code, value in (extras or {}).items():
        if not CODE.match(str(code)):
            raise ValidationError("Unknown reported figure '{code}'.", code=code)
        if value is None or str(value).strip() == "":
            continue
        more[str(code)] = to_decimal(value, EXTRA_FIGURES.get(code, (code,))[0])
    return Figures(**parsed, extras=more)


def compute(code: str, figures: Figures, area_mu: Decimal) -> Decimal:
    """One indicator of a report on a parcel of ``area_mu`` 亩, rounded.

    investment_intensity = investment ÷ area (万元/亩); floor_area_ratio =
    counted floor area ÷ (area × 10 000/15 m²), where a storey higher than
    8 m counts twice (工业项目建设用地控制指标); tax_per_mu = tax ÷ area; output_per_mu
    = output ÷ area; output_per_tce = output ÷ energy; value_added_per_tce =
    value added ÷ energy. A zone extra (any other code) is reported directly."""
    if area_mu <= 0:
        raise ValidationError("The parcel's area must be greater than zero.")
    per_mu = {"investment_intensity": "investment_wan", "tax_per_mu": "tax_wan",
              "output_per_mu": "output_wan"}
    if code in per_mu:
        return rounded(figures.get(per_mu[code]) / area_mu)
    if code == "floor_area_ratio":
        return rounded(figures.counted_floor_area_m2 * 15 / (area_mu * 10000))
    if code in ("output_per_tce", "value_added_per_tce"):
        numerator = "output_wan" if code == "output_per_tce" else "value_added_wan"
        if figures.energy_tce == 0:
            raise ValidationError("The energy consumption must be greater than zero to compute "
                                  "{indicator_name}.", indicator_name=STANDARD_INDICATORS[code].name)
        value = figures.get(numerator)
        if value is None:
            raise ValidationError("Report the {figure} (万元) to compute {indicator_name}.",
                                  figure=EXTRA_FIGURES[numerator][0],
                                  indicator_name=STANDARD_INDICATORS[code].name)
        return rounded(value / figures.energy_tce)
    value = figures.extras.get(code)
    if value is None:
        raise ValidationError("The agreement commits to indicator '{indicator}': report its value.",
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

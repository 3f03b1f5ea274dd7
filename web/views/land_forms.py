"""The declared inputs of the land pages (``web.views.land``): every form
field and query argument they read, with ranges that fit the columns — areas
in 亩 as ``Numeric(12, 2)``, amounts in 万元 as ``Numeric(14, 2)``, indicator
values as ``Numeric(16, 4)``, reported figures below the engine's 10^12 — and
texts of the columns' lengths. A bad value is an ``InputError`` (400) naming
the field; nothing is changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask import request
from flask_babel import gettext as _
from pydantic import BeforeValidator, Field, StringConstraints

from web.support.inputs import Day, Id, Input, InputError, Line, Maybe, Text, parse
from workflow.models import EXEMPTION_CAUSES
from workflow.reforms import land


def _number_text(value):
    """A number as people type it: thousands separated by commas (also the
    full-width ，) are read without them."""
    if isinstance(value, str):
        return value.strip().replace(",", "").replace("，", "")
    return value


def Number(digits: int, places: int):  # noqa: N802 - a type, read as one
    """A non-negative decimal below 10^digits with at most ``places`` decimals:
    a ``Numeric(digits + places, places)`` column (the engine keeps its figures
    below 10^12 whatever the column)."""
    return Annotated[Decimal, BeforeValidator(_number_text),
                     Field(ge=0, lt=10 ** digits, decimal_places=places, allow_inf_nan=False)]


Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]  # an indicator's code
Area = Number(10, 2)  # 亩, Numeric(12, 2)
Wan = Number(12, 2)  # 万元, Numeric(14, 2)
Figure = Number(12, 2)  # a reported figure, Numeric(16, 2) (the engine: below 10^12)
IndicatorValue = Number(12, 4)  # Numeric(16, 4)


class ParcelForm(Input):
    """A parcel's own fields (``land/_parcel_fields.html``)."""

    code: Line(64) = ""
    name: Line(200) = ""
    area_mu: Maybe(Area) = None
    park: Line(200) = ""
    location: Line(300) = ""
    servicing: Line(40) = ""
    land_price_wan: Maybe(Wan) = None
    transferred_on: Maybe(Day) = None


class IndicatorForm(Input):
    code: Line(64) = ""
    name: Line(100) = ""
    unit: Line(40) = ""
    bound: Literal["min", "max"] = "min"
    value: Maybe(IndicatorValue) = None


class AttachForm(Input):
    evaluation_id: Maybe(Id) = None
    reference: Line(64) = ""  # the evaluation typed by its reference (文号)


class EvaluationForm(Input):
    reference: Line(64) = ""
    kind: Line(64) = ""
    title: Line(300) = ""
    done_on: Maybe(Day) = None
    valid_until: Maybe(Day) = None


class AgreementForm(Input):
    """The agreement's dates and price; the committed values come as
    ``ind_<code>`` fields and one extra indicator as ``extra_*``."""

    signed_on: Maybe(Day) = None
    start_by: Maybe(Day) = None
    complete_by: Maybe(Day) = None
    produce_by: Maybe(Day) = None
    capacity_by: Maybe(Day) = None
    land_price_wan: Maybe(Wan) = None
    extra_code: Maybe(Code) = None
    extra_name: Line(100) = ""
    extra_unit: Line(40) = ""
    extra_bound: Literal["min", "max"] = "min"
    extra_value: Maybe(IndicatorValue) = None


class Prefixed(Input):
    """One field of a family named ``<prefix><code>`` (``ind_tax_per_mu``,
    ``x_value_added_wan``): its code and its number."""

    code: Code
    value: Maybe(IndicatorValue) = None


class CheckForm(Input):
    note: Text(2000) = ""
    met: Annotated[list[Code], Field(max_length=100)] = []  # the indicators marked met


class NoteForm(Input):
    note: Text(2000) = ""


class FiguresForm(Input):
    """A capacity report's figures (``REPORT_FIELDS``), the area of storeys
    higher than 8 m, and the review's note."""

    investment_wan: Maybe(Figure) = None
    floor_area_m2: Maybe(Figure) = None
    tall_floor_area_m2: Maybe(Figure) = None
    tax_wan: Maybe(Figure) = None
    output_wan: Maybe(Figure) = None
    energy_tce: Maybe(Figure) = None
    note: Text(2000) = ""


assert set(land.REPORT_FIELDS) | {land.TALL_STOREYS[0], "note"} == set(FiguresForm.model_fields)


class StoppageForm(Input):
    stopped_on: Maybe(Day) = None
    built_area_mu: Maybe(Area) = None
    invested_wan: Maybe(Wan) = None
    total_investment_wan: Maybe(Wan) = None
    note: Text(2000) = ""


class ResumeForm(Input):
    resumed_on: Maybe(Day) = None


class ExemptionForm(Input):
    cause: Literal[EXEMPTION_CAUSES]  # type: ignore[valid-type]
    reason: Text(2000) = ""
    since: Maybe(Day) = None


class ExtensionForm(Input):
    reason: Text(2000) = ""


MAX_PREFIXED = 50  # more indicators than a parcel or an agreement carries


def prefixed(prefix: str) -> dict[str, Decimal | None]:
    """The ``<prefix><code>`` fields of the form, each parsed by ``Prefixed``;
    a bad one is an ``InputError`` naming the field as the form names it."""
    values = {}
    for key, value in request.form.items():
        if not key.startswith(prefix):
            continue
        if len(values) >= MAX_PREFIXED:
            raise InputError(_("字段过多"), field=key[:64])
        try:
            entry = parse(Prefixed, {"code": key[len(prefix):], "value": value})
        except InputError as exc:
            raise InputError(str(exc).replace("'code'", f"'{key[:64]}'").replace(
                "'value'", f"'{key[:64]}'"), field=key[:64]) from None
        values[entry.code] = entry.value
    return values


class ParcelChoice(Input):
    """The parcel a project lands on: chosen by id, or typed by its code."""

    parcel_id: Maybe(Id) = None
    parcel_code: Line(64) = ""

"""An administrator's register of standard land: parcels (area in 亩, park,
location, servicing level, land price), their control indicators, the
zone's regional evaluations (区域评估) and which parcel carries which."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import operations as ops
from workflow.core import permissions
from workflow.kernel import zone_audit
from workflow.kernel.errors import NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.land.indicators import (
    BOUNDS,
    CENT,
    CODE,
    STANDARD_INDICATORS,
    _date,
    _optional_date,
    _optional_decimal,
    _text,
    to_decimal,
)
from workflow.reforms.land.models import Parcel, ParcelEvaluation, ParcelIndicator, RegionalEvaluation

SERVICING_LEVELS = ("三通一平", "五通一平", "七通一平")


def _require_admin(actor: User | None) -> None:
    permissions.require_that(actor, permissions.can_edit_land, permissions.NotPermitted(
        "Only an administrator may edit parcels and regional evaluations."))


def _parcel(session: Session, parcel_id: int, lock: bool = False) -> Parcel:
    parcel = session.get(Parcel, parcel_id, with_for_update=lock)
    if parcel is None:
        raise NotFound("Parcel {parcel_id} does not exist.", parcel_id=parcel_id)
    return parcel


def save_parcel(session: Session, *, actor: User | None, now: datetime, code: str, name: str,
                area_mu: Any, park: str = "", location: str = "", servicing: str = "",
                land_price_wan: Any = None, transferred_on: Any = None,
                parcel_id: int | None = None) -> Parcel:
    """Create a parcel (``parcel_id`` None) or change one. The code is unique,
    the area a positive number of 亩, the servicing level a known one."""
    _require_admin(actor)
    ops.utc(now)
    code = _text(code, term("parcel code"), limit=64)
    name = _text(name, term("parcel name"), limit=200)
    area = to_decimal(area_mu, term("area (亩)"), positive=True)
    if area != area.quantize(CENT):
        raise ValidationError("The area is recorded to 0.01 亩.", field="area_mu")
    servicing = _text(servicing, term("servicing level"), limit=40, required=False)
    if servicing and servicing not in SERVICING_LEVELS:
        raise ValidationError("Unknown servicing level '{servicing}' (one of {levels}).",
                              field="servicing", servicing=servicing, levels=", ".join(SERVICING_LEVELS))
    price = _optional_decimal(land_price_wan, term("land price (万元)"))
    clash = session.scalar(select(Parcel.id).where(Parcel.code == code))
    if clash is not None and clash != parcel_id:
        raise ValidationError("Parcel code {code} is already used.", field="code", code=code)
    parcel = _parcel(session, parcel_id, lock=True) if parcel_id is not None else Parcel()
    parcel.code, parcel.name, parcel.area_mu, parcel.servicing = code, name, area, servicing
    parcel.park = _text(park, term("park"), limit=200, required=False)
    parcel.location = _text(location, term("location"), limit=300, required=False)
    parcel.land_price_wan = price
    parcel.transferred_on = _optional_date(transferred_on, term("transfer date"))
    session.add(parcel)
    try:
        ops.flush(session)
    except IntegrityError as exc:
        raise ValidationError("Parcel code {code} is already used.", field="code",
                              code=code) from exc
    zone_audit.record(session, actor=actor, now=now,
                      action="parcel.created" if parcel_id is None else "parcel.updated",
                      subject=f"parcel:{code}",
                      data={"name": name, "area_mu": str(area), "servicing": servicing,
                            "park": parcel.park, "location": parcel.location,
                            "land_price_wan": None if price is None else str(price),
                            "transferred_on": parcel.transferred_on})
    return parcel


def set_indicator(session: Session, parcel_id: int, *, code: str, name: str, unit: str,
                  bound: str, value: Any, actor: User | None, now: datetime) -> ParcelIndicator:
    """Add or change a control indicator of a parcel (one per code)."""
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    code = _text(code, term("indicator code"), limit=64)
    if not CODE.match(code):
        raise ValidationError("An indicator code is lower-case letters, digits and _ "
                              "(e.g. tax_per_mu).", field="code", code=code)
    if bound not in BOUNDS:
        raise ValidationError("An indicator's bound is 'min' or 'max'.", field="bound",
                              bound=bound)
    standard = STANDARD_INDICATORS.get(code)
    name = _text(name or (standard.name if standard else ""), term("indicator name"), limit=100)
    unit = _text(unit or (standard.unit if standard else ""), term("unit"), limit=40, required=False)
    number = to_decimal(value, f"value of {code}")
    row = next((i for i in parcel.indicators if i.code == code), None)
    if row is None:
        row = ParcelIndicator(code=code)
        parcel.indicators.append(row)
    row.name, row.unit, row.bound, row.value = name, unit, bound, number
    ops.flush(session)
    zone_audit.record(session, actor=actor, now=now, action="parcel.indicator_set",
                      subject=f"parcel:{parcel.code}",
                      data={"code": code, "name": name, "unit": unit, "bound": bound,
                            "value": str(number)})
    return row


def remove_indicator(session: Session, parcel_id: int, code: str, *, actor: User | None,
                     now: datetime) -> None:
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    row = next((i for i in parcel.indicators if i.code == code), None)
    if row is None:
        raise NotFound("Parcel {parcel} has no indicator '{code}'.", parcel=parcel.code, code=code)
    parcel.indicators.remove(row)
    ops.flush(session)
    zone_audit.record(session, actor=actor, now=now, action="parcel.indicator_removed",
                      subject=f"parcel:{parcel.code}", data={"code": code})


def save_evaluation(session: Session, *, actor: User | None, now: datetime, reference: str,
                    kind: str, title: str, done_on: Any, valid_until: Any,
                    evaluation_id: int | None = None) -> RegionalEvaluation:
    """Record a regional evaluation (区域评估): its reference number (unique),
    the kind (an evaluation code of the definition), its date and validity."""
    _require_admin(actor)
    reference = _text(reference, term("reference (文号)"), limit=64)
    title = _text(title, term("title"), limit=300)
    codes = definition_of(current_version(session)).evaluation_codes()
    if kind not in codes:
        raise ValidationError("Unknown kind of regional evaluation '{kind}' (one of {codes}).",
                              field="kind", kind=kind, codes=", ".join(codes))
    done, until = (_date(done_on, term("date of the evaluation")),
                   _date(valid_until, term("valid until")))
    if until < done:
        raise ValidationError("An evaluation cannot expire before it was done.")
    clash = session.scalar(select(RegionalEvaluation.id).where(RegionalEvaluation.reference == reference))
    if clash is not None and clash != evaluation_id:
        raise ValidationError("Evaluation {reference} is already recorded.", field="reference",
                              reference=reference)
    if evaluation_id is None:
        row = RegionalEvaluation()
        session.add(row)
    else:
        row = session.get(RegionalEvaluation, evaluation_id, with_for_update=True)
        if row is None:
            raise NotFound("Regional evaluation {evaluation_id} does not exist.",
                           evaluation_id=evaluation_id)
    row.reference, row.kind, row.title, row.done_on, row.valid_until = reference, kind, title, done, until
    ops.flush(session)
    zone_audit.record(session, actor=actor, now=now,
                      action="evaluation.recorded" if evaluation_id is None else "evaluation.updated",
                      subject=f"evaluation:{reference}",
                      data={"kind": kind, "title": title, "done_on": done, "valid_until": until})
    return row


def attach_evaluation(session: Session, parcel_id: int, evaluation_id: int, *,
                      actor: User | None, now: datetime) -> Parcel:
    """The evaluation covers the parcel (a regional result shared by every
    project later placed on it)."""
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    evaluation = session.get(RegionalEvaluation, evaluation_id)
    if evaluation is None:
        raise NotFound("Regional evaluation {evaluation_id} does not exist.",
                           evaluation_id=evaluation_id)
    if any(e.id == evaluation.id for e in parcel.evaluations):
        raise ValidationError("Parcel {parcel} already carries {reference}.", parcel=parcel.code,
                              reference=evaluation.reference)
    session.add(ParcelEvaluation(parcel_id=parcel.id, evaluation_id=evaluation.id))
    ops.flush(session)
    zone_audit.record(session, actor=actor, now=now, action="parcel.evaluation_attached",
                      subject=f"parcel:{parcel.code}", data={"evaluation": evaluation.reference})
    session.expire(parcel, ["evaluations"])
    return parcel


def detach_evaluation(session: Session, parcel_id: int, evaluation_id: int, *,
                      actor: User | None, now: datetime) -> Parcel:
    _require_admin(actor)
    parcel = _parcel(session, parcel_id, lock=True)
    link = session.scalar(select(ParcelEvaluation).where(
        ParcelEvaluation.parcel_id == parcel.id, ParcelEvaluation.evaluation_id == evaluation_id))
    if link is None:
        raise NotFound("Parcel {parcel} does not carry evaluation {evaluation_id}.",
                       parcel=parcel.code, evaluation_id=evaluation_id)
    session.delete(link)
    ops.flush(session)
    zone_audit.record(session, actor=actor, now=now, action="parcel.evaluation_detached",
                      subject=f"parcel:{parcel.code}", data={"evaluation": evaluation_id})
    session.expire(parcel, ["evaluations"])
    return parcel

"""The investment-and-construction agreement (投资建设协议) and its lifecycle
checkpoints: the committed indicators and four dates, the start, completion
and production checks the lead records, the guard that a failed completion
acceptance puts on the step to production (``project.produce``), and the
page of open checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from definitions import Definition
from workflow.core import audit, hooks, permissions
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel import paging
from workflow.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.reforms.land.indicators import (
    BOUNDS,
    CODE,
    STANDARD_INDICATORS,
    _date,
    _optional_decimal,
    _text,
    met,
    plain,
    to_decimal,
)
from workflow.reforms.land.lifecycle import CHECKPOINTS
from workflow.reforms.land.models import Checkpoint, InvestmentAgreement, Parcel
from workflow.reforms.land.parcels import _parcel

# The checks' words in the catalogue under the detail that names them ("kind"):
# "start" is also a task's event, in other words.
CHECK_KINDS = (term("start", "kind"), term("completion", "kind"), term("production", "kind"),
               term("capacity", "kind"))
# The stage a project must have reached before each check can pass.
CHECK_STAGE = {"start": term("started"), "completion": term("started"),
               "production": term("producing"), "capacity": term("at_capacity")}


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
            raise ValidationError("Unknown indicator code '{code}'.", code=code)
        base = result.get(code)
        bound = spec.get("bound") or (base["bound"] if base else "")
        if bound not in BOUNDS:
            raise ValidationError("Indicator {code}: the bound is 'min' or 'max'.", bound=bound,
                                  code=code)
        value = to_decimal(spec.get("value"), f"committed value of {code}")
        if base is not None:
            floor = Decimal(base["value"])
            if bound != base["bound"]:
                raise ValidationError("Indicator {code} is a {parcel_bound} on the parcel.", code=code,
                                      parcel_bound=base["bound"])
            if not met(bound, floor, value):
                if bound == "min":
                    raise ValidationError(
                        "The commitment for {name} ({value}) is looser than the parcel's "
                        "control indicator (≥ {floor}).", indicator=code, name=base["name"],
                        value=value, floor=floor)
                raise ValidationError(
                    "The commitment for {name} ({value}) is looser than the parcel's "
                    "control indicator (≤ {floor}).", indicator=code, name=base["name"],
                    value=value, floor=floor)
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
    if project.stage in (term("intention"), term("terminated")):
        raise InvalidTransition("No agreement can be recorded at stage {state}.",
                                state=project.stage)
    if _agreement(session, project.id) is not None:
        raise Conflict("Project {project} already has an investment agreement.",
                       project=project.code)
    dates = {name: _date(value, what) for name, value, what in (
        ("signed_on", signed_on, term("signed on")), ("start_by", start_by, term("start by")),
        ("complete_by", complete_by, term("complete by")),
        ("produce_by", produce_by, term("produce by")),
        ("capacity_by", capacity_by, term("capacity by")))}
    order = list(dates.values())
    if any(a > b for a, b in zip(order, order[1:], strict=False)):
        raise ValidationError("The dates must follow each other: signed ≤ start ≤ completion "
                              "≤ production ≤ capacity.")
    parcel = _parcel(session, project.parcel_id)
    committed = committed_indicators(parcel, indicators)
    if not committed:
        raise ValidationError("Parcel {parcel} has no control indicators and none were given.",
                              parcel=parcel.code)
    price = _optional_decimal(land_price_wan, term("land price (万元)"))
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
        raise Conflict("Project {project} already has an investment agreement.",
                       project=project.code) from exc
    # The areas' consequences (包联: the plan takes the agreement's dates).
    hooks.run("project.agreement", session, project, agreement, actor=actor, now=now)
    return agreement


def _checkpoint(session: Session, project: Project, kind: str) -> Checkpoint:
    if kind not in CHECK_KINDS:
        raise NotFound("Unknown checkpoint '{kind}'.", kind=kind)
    row = session.scalar(select(Checkpoint).where(Checkpoint.project_id == project.id,
                                                  Checkpoint.kind == kind)
                         .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise NotFound("Project {project} has no {kind} checkpoint: record the investment "
                       "agreement first.", project=project.code, kind=kind)
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
        raise InvalidTransition("The {kind} check of {project} has already passed.", kind=kind,
                                project=project.code)
    definition = ops.definition_for(project)
    if not _reached(definition, project, CHECK_STAGE[kind]):
        raise InvalidTransition(
            "The {kind} check needs the project to have reached {stage} (it is {state}).",
            state=project.stage, kind=kind, stage=CHECK_STAGE[kind])
    note = _text(note, term("note"), limit=2000, required=False)
    result = _result(checkpoint)
    passed = True
    if kind == "completion":
        agreement = _agreement(session, project.id)
        codes = list(agreement.indicators)
        given = {str(k): bool(v) for k, v in (checked or {}).items()}
        unknown = set(given) - set(codes)
        if unknown:
            raise ValidationError("Not an indicator of the agreement: {codes}.",
                                  codes=", ".join(sorted(unknown)))
        marks = {code: given.get(code, False) for code in codes}
        passed = all(marks.values())
        result["checked"] = marks
        if not passed and not note:
            raise ValidationError("Say what failed the completion acceptance (note).",
                                  field="note")

    before = checkpoint.status
    CHECKPOINTS.fire(checkpoint, "pass" if passed else "fail")
    checkpoint.note, checkpoint.result = note or None, result
    checkpoint.decided_by_id = actor.id if actor else None
    checkpoint.decided_at = ops.utc(now)
    audit.record(session, project, actor=actor, now=ops.utc(now), action=f"land.{kind}_check",
                 from_state=before, to_state=checkpoint.status,
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
            "Project {project} cannot go into production: the completion acceptance "
            "against the standard failed ({why}).",
            missed=missed, state=project.stage, project=project.code,
            why=failed.note or ", ".join(missed))


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

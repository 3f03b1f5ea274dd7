"""Placing a project on a parcel and what the parcel's regional evaluations
cover: every item whose ``coverage.evaluation`` the parcel carries valid on
the day is covered with the evaluation's reference, on assignment and again
after the mandate (the ``project.mandated`` consequence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from workflow.core import audit, hooks, permissions
from workflow.core import operations as ops
from workflow.core.machines import item_machine
from workflow.core.models import Project
from workflow.kernel.errors import InvalidTransition, term
from workflow.kernel.models import User
from workflow.reforms.land.agreements import _agreement
from workflow.reforms.land.models import Parcel, RegionalEvaluation
from workflow.reforms.land.parcels import _parcel


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


def parcel_label(code: str, name: str) -> str:
    """The project's parcel label: the parcel's name when it already says the
    code (``ZY2023-01标准地``), else code and name (``ZY2023-01 东区一号``)."""
    return (name if code in name else f"{code} {name}")[:64]


def assign_parcel(session: Session, project_id: int, parcel_id: int, *, actor: User | None,
                  now: datetime) -> CoverageResult:
    """Place the project on a standard-land parcel and let the parcel's valid
    regional evaluations cover the items they cover, each with its reference.
    A parcel fixed by a recorded agreement cannot be changed."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    parcel = _parcel(session, parcel_id)
    if project.stage in (term("intention"), term("terminated"), term("verified")):
        raise InvalidTransition("A parcel cannot be assigned to a project at stage {state}.",
                                state=project.stage)
    agreement = _agreement(session, project.id)
    if agreement is not None and agreement.parcel_id != parcel.id:
        raise InvalidTransition("The investment agreement fixes the project's parcel "
                                "({parcel}).", parcel=agreement.parcel.code)
    before = project.parcel_id
    project.parcel_id, project.parcel = parcel.id, parcel_label(parcel.code, parcel.name)
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
        raise InvalidTransition("Project {project} has no standard-land parcel yet.",
                                project=project.code)
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

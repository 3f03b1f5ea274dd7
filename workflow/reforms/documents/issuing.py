"""Issuing each kind of document for a project as it stands: the mandate, the
suspension and termination slips, the continuation mandate of a handoff or a
change of scope, and the completion slip of the items in the mandate's scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import access_code, permissions
from workflow.core import operations as ops
from workflow.core.models import AuditEvent, ItemTask, Project
from workflow.kernel import validate
from workflow.kernel.errors import InvalidTransition, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.reforms.documents.models import DOCUMENT_KINDS, AgencyDocument
from workflow.reforms.documents.paperwork import (
    _day,
    _item_line,
    _ordered_tasks,
    _person,
    documents_of,
    store,
)
from workflow.reforms.documents.signing import ENDED, awaiting, signed_scope

CLOSED_OK = ("done", "covered")

_require_text = partial(validate.text, limit=2000)


def current_scope(session: Session, project: Project) -> list[str]:
    """The item codes the mandate covers now: those of the signed mandate as
    its signed changes of scope left them (none while it waits for the
    enterprise's signature); every item of a project mandated before the
    paperwork existed."""
    scope = signed_scope(session, project)
    return [t.item_code for t in _ordered_tasks(project)] if scope is None else scope


def issue_document(session: Session, project_id: int, kind: str, *, actor: User | None,
                   now: datetime, **details: Any) -> AgencyDocument:
    """Issue a document of ``kind`` for the project as it stands (lead side).

    The project must be in the matching condition: a mandate once the project
    is mandated (again only when the enterprise declined the last one), a
    suspension or termination slip for a suspended or terminated project
    (``reason`` required), a completion slip once every item of the mandate's
    scope is done or covered (only once). Continuations come from
    ``handoff_with_continuation`` and ``change_scope``."""
    if kind not in DOCUMENT_KINDS:
        raise ValidationError("Unknown kind of document '{kind}'.", kind=kind)
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    builders = {"mandate": mandate, "suspension": suspension, "termination": termination,
                "completion": completion}
    if kind not in builders:
        raise ValidationError("A continuation mandate is issued by a handoff or a scope change.")
    return builders[kind](session, project, actor=actor, now=now, **details)


def mandate(session: Session, project: Project, *, actor: User | None, now: datetime,
            scope: Iterable[str] | None = None) -> AgencyDocument:
    """The 代办服务委托书 listing the items in scope, for the enterprise's signature.

    It carries a new access code (查询码) for the public status lookup, issued
    in the same transaction (replacing any earlier one): only the code's hash
    is kept on the project, so the mandate is where the code stays readable,
    for the enterprise and the lead side who may read the document."""
    if not project.tasks:
        raise InvalidTransition("Project {project} has no mandate yet: sign it first.",
                                state=project.stage, project=project.code)
    if any(d.status != "declined" for d in documents_of(session, project.id, "mandate")):
        raise InvalidTransition("The mandate of {project} was already issued; a change "
                                "of agent or scope is a continuation mandate.",
                                project=project.code)
    codes = [t.item_code for t in _ordered_tasks(project)]
    chosen = codes if scope is None else [c for c in codes if c in set(scope)]
    unknown = set(scope or ()) - set(codes)
    if unknown or not chosen:
        raise ValidationError("The mandate's scope must list items of this project.",
                              unknown=sorted(unknown))
    items = [_item_line(project, t) for t in _ordered_tasks(project) if t.item_code in chosen]
    code = access_code.renew(session, project, actor=actor, now=now)
    return store(session, project, "mandate", actor=actor, now=now, items=items,
                 details={"scope": chosen, "access_code": code})


def current_access_code(session: Session, project: Project) -> str | None:
    """The access code printed on the project's latest mandate, while it is the
    project's current one (a code issued since replaced it: None)."""
    mandates = [d for d in documents_of(session, project.id, "mandate")
                if d.data.get("access_code")]
    if not mandates:
        return None
    latest = mandates[-1]
    issued = access_code.last_issued_seq(session, project.id)
    with_mandate = [e.seq for e in session.scalars(select(AuditEvent).where(
        AuditEvent.project_id == project.id, AuditEvent.action == "document.issued"))
        if (e.data or {}).get("document") == latest.id]
    if issued is None or not with_mandate or issued > with_mandate[0]:
        return None
    return latest.data["access_code"]


def suspension(session: Session, project: Project, *, actor: User | None, now: datetime,
               reason: str = "") -> AgencyDocument:
    reason = _require_text(reason, term("reason for the suspension"))
    if project.stage != "suspended":
        raise InvalidTransition("Project {project} is not suspended.", state=project.stage,
                                project=project.code)
    items = [_item_line(project, t, suspended_from=t.suspended_from,
                        paused_since=_day(t.paused_since))
             for t in _ordered_tasks(project) if t.state == "suspended"]
    return store(session, project, "suspension", actor=actor, now=now, items=items,
                 details={"reason": reason, "suspended_from": project.suspended_from,
                          "suspended_on": ops.zone_today(now).isoformat()})


def termination(session: Session, project: Project, *, actor: User | None, now: datetime,
                reason: str = "", terminated: Iterable[str] | None = None) -> AgencyDocument:
    reason = _require_text(reason, term("reason for the termination"))
    if project.stage != "terminated":
        raise InvalidTransition("Project {project} is not terminated.", state=project.stage,
                                project=project.code)
    today = ops.zone_today(now)
    ended = set(terminated) if terminated is not None else {
        t.item_code for t in project.tasks if t.state == "terminated" and t.closed_on == today}
    items = [_item_line(project, t, closed_on=_day(t.closed_on))
             for t in _ordered_tasks(project) if t.item_code in ended]
    kept = [_item_line(project, t, closed_on=_day(t.closed_on))
            for t in _ordered_tasks(project) if t.state in CLOSED_OK]
    return store(session, project, "termination", actor=actor, now=now, items=items,
                 details={"reason": reason, "terminated_on": today.isoformat(),
                          "closed_before": kept})


def results_of(session: Session, project: Project) -> dict[int, tuple[str, str]]:
    """Each closed item's result as (how, reference): the approval number
    recorded with the department's approval (the last one), or what covered
    the item (a regional evaluation or a commitment, with its reference)."""
    refs: dict[int, tuple[str, str]] = {}
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.project_id == project.id, AuditEvent.action == "task.approve")
        .order_by(AuditEvent.seq))
    for event in events:
        reference = (event.data or {}).get("reference") or ""
        if event.task_id is not None and reference:
            refs[event.task_id] = ("approval", reference)
    for task in project.tasks:
        if task.state == "covered" and task.covered_ref:
            how, _sep, reference = task.covered_ref.partition(": ")
            refs[task.id] = (how, reference) if reference else ("covered", task.covered_ref)
    return refs


def in_scope(session: Session, project: Project) -> list[ItemTask]:
    """The project's tasks of the items in the mandate's scope, in the definition's order."""
    scope = set(current_scope(session, project))
    return [t for t in _ordered_tasks(project) if t.item_code in scope]


def completion(session: Session, project: Project, *, actor: User | None,
               now: datetime) -> AgencyDocument:
    """办结单: the items of the mandate's scope (not every item of the
    definition: an item the enterprise kept or took back is not the agency's
    to hand over), each done or covered, with its result."""
    tasks = in_scope(session, project)
    open_items = [t.item_code for t in tasks if t.state not in CLOSED_OK]
    if not tasks or open_items:
        if open_items:
            raise InvalidTransition(
                "Project {project} still has items of its mandate not done or covered: {items}.",
                open=open_items, project=project.code, items=", ".join(open_items))
        raise InvalidTransition(
            "Project {project} still has items of its mandate not done or covered: "
            "no signed mandate with items yet.", open=open_items, project=project.code)
    if documents_of(session, project.id, "completion"):
        raise InvalidTransition("The completion slip of {project} was already issued.",
                                project=project.code)
    refs = results_of(session, project)
    items = [_item_line(project, t, result=refs.get(t.id, ("", ""))[1],
                        result_kind=refs.get(t.id, ("approval", ""))[0], closed_on=_day(t.closed_on))
             for t in tasks]
    return store(session, project, "completion", actor=actor, now=now, items=items,
                 details={"handed_over_on": ops.zone_today(now).isoformat()})


def handoff_with_continuation(session: Session, task_id: int, to: User, *, reason: str,
                              actor: User, now: datetime,
                              expected_version: int | None = None) -> AgencyDocument:
    """续办: the item passes to another agent — by its assignee's handoff or by
    a lead's reassignment — and the continuation mandate names the previous
    and the new agent and the reason (the zone's own change: the enterprise
    does not sign it)."""
    reason = _require_text(reason, term("reason for the handoff"))
    task = ops.load_task(session, task_id, expected_version)
    previous = task.assignee
    if previous is None:
        raise ValidationError("The item has no agent yet: assign it instead of handing it over.")
    if actor.role == "agent":
        ops.handoff_task(session, task_id, to, actor=actor, now=now, reason=reason)
    else:
        ops.assign_task(session, task_id, to, actor=actor, now=now, reason=reason)
    task = ops.load_task(session, task_id)
    project = task.project
    return store(session, project, "continuation", actor=actor, now=now,
                 items=[_item_line(project, task)],
                 details={"change": "handoff", "reason": reason,
                          "task": {"id": task.id, "code": task.item_code},
                          "previous_agent": _person(previous), "new_agent": _person(task.assignee),
                          "substitute_for": _person(to) if to.id != task.assignee_id else None})


def change_scope(session: Session, project_id: int, *, reason: str, actor: User | None,
                 now: datetime, add: Iterable[str] = (), remove: Iterable[str] = ()
                 ) -> AgencyDocument:
    """续办 on a change of scope: the continuation mandate lists the items
    added to and removed from the signed mandate and the new scope, and waits
    for the enterprise's signature; only once signed does the scope change
    (removed items' open tasks end then). One change waits at a time."""
    reason = _require_text(reason, term("reason for the change of scope"))
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    scope = signed_scope(session, project)
    if scope is None:
        raise InvalidTransition("Issue the mandate before changing its scope.")
    if not scope:
        raise InvalidTransition("The enterprise has not signed the mandate yet: its scope changes "
                                "once it is signed.")
    pending = awaiting(session, project.id, "continuation")
    if pending is not None:
        raise InvalidTransition("The change of scope {number} waits for the enterprise's "
                                "signature; one change at a time.", number=pending.number)
    if project.stage in ENDED:
        raise InvalidTransition("Project {project} is {state}.", state=project.stage,
                                project=project.code)
    by_code = {t.item_code: t for t in project.tasks}
    codes = [t.item_code for t in _ordered_tasks(project)]
    added, removed = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if not added and not removed:
        raise ValidationError("Add or remove at least one item.")
    if any(c not in by_code for c in added + removed):
        raise ValidationError("Only items of this project can change scope.")
    if any(c in scope for c in added) or any(c not in scope for c in removed):
        raise ValidationError("Add only items outside the mandate and remove only items in it.")
    if any(by_code[c].state == "terminated" for c in added):
        raise ValidationError("A terminated item cannot be mandated again.")
    if any(by_code[c].state in CLOSED_OK for c in removed):
        raise ValidationError("An item already done or covered stays in the mandate.")
    new_scope = [c for c in codes if (c in scope or c in added) and c not in removed]
    if not new_scope:
        raise ValidationError("The mandate must keep at least one item; terminate instead.")
    signed = [d for d in documents_of(session, project.id, "mandate") if d.status == "signed"]
    items = [_item_line(project, by_code[c]) for c in new_scope]
    return store(session, project, "continuation", actor=actor, now=now, items=items,
                 details={"change": "scope", "reason": reason, "scope": new_scope,
                          "mandate": signed[-1].number if signed else None,
                          "added": [_item_line(project, by_code[c]) for c in added],
                          "removed": [_item_line(project, by_code[c]) for c in removed]})


def issue_completion(session: Session, project_id: int, *, actor: User | None,
                     now: datetime) -> AgencyDocument:
    """办结: every item of the mandate's scope is done or covered; the
    completion slip lists each one's result (approval number or covering
    reference) as handed over."""
    return issue_document(session, project_id, "completion", actor=actor, now=now)


def get_document(session: Session, document_id: int) -> AgencyDocument:
    document = session.get(AgencyDocument, document_id)
    if document is None:
        raise NotFound("Document {document} does not exist.", document=document_id)
    return document


def user_by_username(session: Session, username: str) -> User | None:
    """The agent picked in a handoff form (the engine checks who may take the item)."""
    return session.scalar(select(User).where(User.username == (username or "").strip()))

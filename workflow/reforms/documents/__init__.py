"""Agency paperwork (DB14/T 2233—2020 政务服务帮(代)办服务规范).

Five documents accompany the full agency service (全代办): the mandate
(代办服务委托书) that starts it and lists the items in scope, the suspension
slip (中止单), the termination slip (终止单), the continuation mandate
(续办委托书: a handoff to another agent or a change of scope) and the
completion slip (办结单: the results handed over).

Each document is a snapshot of the project's data at issue time, stored in
``AgencyDocument.data`` with the SHA-256 of its canonical JSON, so it prints
the same forever and an edited row is detectable. Numbers run per kind and
year without gaps (左开代委〔2026〕0001号): the next number is the highest
committed one plus one, and a concurrent transaction that took the same number
first makes the insert fail on the unique index, which is retried with the
next one. A number taken by a transaction that rolls back is never committed,
so no gap opens.

Mandating, suspending and terminating a project issue their document inside
the engine operation itself (``workflow.core.operations`` runs this area's
consequences), so there is no way to make the change without its paperwork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import audit, hooks, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import AuditEvent, ItemTask, Project
from workflow.kernel import validate
from workflow.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationError
from workflow.kernel.models import User
from workflow.reforms.documents.models import DOCUMENT_KINDS, AgencyDocument

# 标准依据 printed on every document.
STANDARD = "DB14/T 2233—2020"
# The trustee (受托方): the zone's agency service on behalf of the administration.
TRUSTEE_SUFFIX = "管理委员会（项目代办服务中心）"
TITLES = {
    "mandate": "代办服务委托书",
    "suspension": "代办服务中止单",
    "termination": "代办服务终止单",
    "continuation": "续办委托书",
    "completion": "代办服务办结单",
}
# 文号 prefixes: 左开 (左云经开区) + 代办 + the kind.
NUMBER_PREFIX = {
    "mandate": "左开代委",
    "suspension": "左开代中",
    "termination": "左开代终",
    "continuation": "左开代续",
    "completion": "左开代结",
}
CLOSED_OK = ("done", "covered")
NUMBER_ATTEMPTS = 5


# -- numbers and hashes -------------------------------------------------------------------

def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON (printed in small type)."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def verify(document: AgencyDocument) -> bool:
    """True while the stored snapshot still matches the hash it was issued with."""
    return content_hash(document.data) == document.sha256


def number_head(kind: str, year: int) -> str:
    return f"{NUMBER_PREFIX[kind]}〔{year}〕"


def next_number(session: Session, kind: str, year: int) -> str:
    """The next free number of ``kind`` in ``year``: the highest committed (or
    this transaction's own) sequence plus one."""
    head = number_head(kind, year)
    taken = session.scalars(select(AgencyDocument.number).where(
        AgencyDocument.kind == kind, AgencyDocument.number.like(f"{head}%")))
    seqs = [int(n[len(head):-1]) for n in taken if n[len(head):-1].isdigit()]
    return f"{head}{max(seqs, default=0) + 1:04d}号"


# -- the snapshot -------------------------------------------------------------------------

def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.display_name, "department": user.department}


def _ordered_tasks(project: Project) -> list[ItemTask]:
    order = list(ops.definition_for(project).items)
    return sorted(project.tasks, key=lambda t: (order.index(t.item_code)
                                                if t.item_code in order else len(order), t.id))


def _item_line(project: Project, task: ItemTask, **extra: Any) -> dict[str, Any]:
    definition = ops.definition_for(project)
    item = definition.items.get(task.item_code)
    department = definition.departments.get(task.department)
    line = {
        "code": task.item_code,
        "name": item.name_zh if item else task.item_code,
        "department": task.department,
        "department_name": department.name_zh if department else task.department,
        "limit": ({"amount": item.limit.amount, "unit": item.limit.unit} if item else None),
        "state": task.state,
        "agent": task.assignee.display_name if task.assignee else None,
        "accepted_on": _day(task.accepted_on),
        "due_on": _day(task.due_on),
    }
    line.update(extra)
    return line


def _agents(session: Session, project: Project) -> list[dict[str, Any]]:
    """The agents working the project's items; before anyone took an item, the
    group's agents who will (the mandate names the team)."""
    seen: dict[int, User] = {}
    for task in _ordered_tasks(project):
        if task.assignee is not None and task.state != "terminated":
            seen.setdefault(task.assignee.id, task.assignee)
    team = list(seen.values()) or notify.group_agents(session, project.group_id)
    return [_person(u) for u in team]


def snapshot(session: Session, project: Project, kind: str, *, number: str, today: date,
             items: Iterable[dict[str, Any]], details: dict[str, Any]) -> dict[str, Any]:
    """What the document says: the parties, the project, the items and the
    particulars of the kind (reasons, agents, scope, results). JSON only."""
    definition = ops.definition_for(project)
    company = project.enterprise
    industry = definition.industries.get(project.industry)
    return {
        "kind": kind,
        "title": TITLES[kind],
        "number": number,
        "standard": STANDARD,
        "issued_on": today.isoformat(),
        "zone": definition.name_zh,
        "trustee": f"{definition.name_zh}{TRUSTEE_SUFFIX}",
        "enterprise": {"name": company.name, "credit_code": company.credit_code,
                       "contact_name": company.contact_name,
                       "contact_phone": company.contact_phone},
        "project": {"code": project.code, "name": project.name, "industry": project.industry,
                    "industry_name": industry.name_zh if industry else project.industry,
                    "group": project.group.code, "group_name": project.group.name_zh,
                    "lead": _person(project.lead), "investment_wan": project.investment_wan,
                    "stage": project.stage},
        "agents": _agents(session, project),
        "items": list(items),
        **details,
    }


# -- issuing ------------------------------------------------------------------------------

def documents_of(session: Session, project_id: int, kind: str | None = None) -> list[AgencyDocument]:
    """A project's documents in issue order."""
    query = select(AgencyDocument).where(AgencyDocument.project_id == project_id)
    if kind is not None:
        query = query.where(AgencyDocument.kind == kind)
    return list(session.scalars(query.order_by(AgencyDocument.issued_at, AgencyDocument.id)))


def current_scope(session: Session, project: Project) -> list[str]:
    """The item codes the mandate covers now: the latest mandate or scope change,
    else every item of the project."""
    for document in reversed(documents_of(session, project.id)):
        if document.kind in ("mandate", "continuation") and "scope" in document.data:
            return list(document.data["scope"])
    return [t.item_code for t in _ordered_tasks(project)]


def _store(session: Session, project: Project, kind: str, *, actor: User | None, now: datetime,
           items: list[dict[str, Any]], details: dict[str, Any]) -> AgencyDocument:
    """Number, hash and insert the document (retrying on a number taken by a
    concurrent transaction), record it in the audit chain and tell the enterprise."""
    today = ops.zone_today(now)
    for _attempt in range(NUMBER_ATTEMPTS):
        number = next_number(session, kind, today.year)
        data = snapshot(session, project, kind, number=number, today=today, items=items, details=details)
        document = AgencyDocument(project_id=project.id, kind=kind, number=number, data=data,
                                  sha256=content_hash(data),
                                  issued_by_id=actor.id if actor else None, issued_at=ops.utc(now))
        try:
            with session.begin_nested():
                session.add(document)
                session.flush()
        except IntegrityError:
            continue  # another transaction committed this number first: take the next
        break
    else:
        raise Conflict(f"Could not number the {TITLES[kind]}; try again.", kind=kind)
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="document.issued",
                         data={"document": document.id, "kind": kind, "number": number,
                               "sha256": document.sha256})
    message = notify.Message("document_issued", f"【{TITLES[kind]}】{project.name}",
                             f"您的项目「{project.name}」（{project.code}）的{TITLES[kind]}"
                             f"（{number}）已出具，可在项目页面查看和下载。")
    notify.tell(session, notify.enterprise_users(session, project), message, now=now,
                key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    ops.flush(session)
    return document


_require_text = partial(validate.text, limit=2000)


def issue_document(session: Session, project_id: int, kind: str, *, actor: User | None,
                   now: datetime, **details: Any) -> AgencyDocument:
    """Issue a document of ``kind`` for the project as it stands (lead side).

    The project must be in the matching condition: a mandate once the project
    is mandated (and only once), a suspension or termination slip for a
    suspended or terminated project (``reason`` required), a completion slip
    once every item is done or covered (only once). Continuations come from
    ``handoff_with_continuation`` and ``change_scope``."""
    if kind not in DOCUMENT_KINDS:
        raise ValidationError(f"Unknown kind of document '{kind}'.", kind=kind)
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    builders = {"mandate": _mandate, "suspension": _suspension, "termination": _termination,
                "completion": _completion}
    if kind not in builders:
        raise ValidationError("A continuation mandate is issued by a handoff or a scope change.")
    return builders[kind](session, project, actor=actor, now=now, **details)


def _mandate(session: Session, project: Project, *, actor: User | None, now: datetime,
             scope: Iterable[str] | None = None) -> AgencyDocument:
    if not project.tasks:
        raise InvalidTransition(f"Project {project.code} has no mandate yet: sign it first.",
                                state=project.stage)
    if documents_of(session, project.id, "mandate"):
        raise InvalidTransition(f"The mandate of {project.code} was already issued; a change "
                                "of agent or scope is a continuation mandate.")
    codes = [t.item_code for t in _ordered_tasks(project)]
    chosen = codes if scope is None else [c for c in codes if c in set(scope)]
    unknown = set(scope or ()) - set(codes)
    if unknown or not chosen:
        raise ValidationError("The mandate's scope must list items of this project.",
                              unknown=sorted(unknown))
    items = [_item_line(project, t) for t in _ordered_tasks(project) if t.item_code in chosen]
    return _store(session, project, "mandate", actor=actor, now=now, items=items,
                  details={"scope": chosen})


def _suspension(session: Session, project: Project, *, actor: User | None, now: datetime,
                reason: str = "") -> AgencyDocument:
    reason = _require_text(reason, "reason for the suspension")
    if project.stage != "suspended":
        raise InvalidTransition(f"Project {project.code} is not suspended.", state=project.stage)
    items = [_item_line(project, t, suspended_from=t.suspended_from,
                        paused_since=_day(t.paused_since))
             for t in _ordered_tasks(project) if t.state == "suspended"]
    return _store(session, project, "suspension", actor=actor, now=now, items=items,
                  details={"reason": reason, "suspended_from": project.suspended_from,
                           "suspended_on": ops.zone_today(now).isoformat()})


def _termination(session: Session, project: Project, *, actor: User | None, now: datetime,
                 reason: str = "", terminated: Iterable[str] | None = None) -> AgencyDocument:
    reason = _require_text(reason, "reason for the termination")
    if project.stage != "terminated":
        raise InvalidTransition(f"Project {project.code} is not terminated.", state=project.stage)
    today = ops.zone_today(now)
    ended = set(terminated) if terminated is not None else {
        t.item_code for t in project.tasks if t.state == "terminated" and t.closed_on == today}
    items = [_item_line(project, t, closed_on=_day(t.closed_on))
             for t in _ordered_tasks(project) if t.item_code in ended]
    kept = [_item_line(project, t, closed_on=_day(t.closed_on))
            for t in _ordered_tasks(project) if t.state in CLOSED_OK]
    return _store(session, project, "termination", actor=actor, now=now, items=items,
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


def _completion(session: Session, project: Project, *, actor: User | None,
                now: datetime) -> AgencyDocument:
    open_items = [t.item_code for t in project.tasks if t.state not in CLOSED_OK]
    if not project.tasks or open_items:
        raise InvalidTransition(
            f"Project {project.code} still has items not done or covered: "
            f"{', '.join(open_items) or 'no items yet'}.", open=open_items)
    if documents_of(session, project.id, "completion"):
        raise InvalidTransition(f"The completion slip of {project.code} was already issued.")
    refs = results_of(session, project)
    items = [_item_line(project, t, result=refs.get(t.id, ("", ""))[1],
                        result_kind=refs.get(t.id, ("approval", ""))[0], closed_on=_day(t.closed_on))
             for t in _ordered_tasks(project)]
    return _store(session, project, "completion", actor=actor, now=now, items=items,
                  details={"handed_over_on": ops.zone_today(now).isoformat()})


# -- the lifecycle with its paperwork -----------------------------------------------------
#
# One door: the engine's own operations (``ops.mandate_project``,
# ``suspend_project``, ``terminate_project``) issue the document, through these
# consequences, in the same transaction, whoever calls them (a page, the API,
# the CLI, a sweep). They run after the other areas' consequences (order 90),
# so the document records what those left (items a parcel covered at mandate).

@hooks.consequence("project.mandated", order=90)
def _on_mandate(session: Session, project: Project, *, actor: User | None,
                now: datetime) -> None:
    if not documents_of(session, project.id, "mandate"):
        _mandate(session, project, actor=actor, now=now)


def _mandated(session: Session, project: Project) -> bool:
    """The paperwork follows the mandate: a project that never signed one (an
    intention dropped, a project stopped before its mandate) gets no slip."""
    return bool(documents_of(session, project.id, "mandate")) or bool(project.tasks)


@hooks.consequence("project.suspended", order=90)
def _on_suspend(session: Session, project: Project, *, actor: User | None, now: datetime,
                reason: str) -> None:
    if _mandated(session, project):
        _suspension(session, project, actor=actor, now=now, reason=reason)


@hooks.consequence("project.terminated", order=90)
def _on_terminate(session: Session, project: Project, *, actor: User | None, now: datetime,
                  reason: str, items: Iterable[str]) -> None:
    if _mandated(session, project):
        _termination(session, project, actor=actor, now=now, reason=reason, terminated=items)


def _require_mandated(session: Session, project_id: int) -> None:
    project = ops.lock_project(session, project_id)
    if not _mandated(session, project):
        raise InvalidTransition(f"Project {project.code} has no mandate, so no slip is issued; "
                                "suspend or terminate it without one.", state=project.stage)


def _latest(session: Session, project_id: int, kind: str) -> AgencyDocument:
    return documents_of(session, project_id, kind)[-1]


def mandate_with_document(session: Session, project_id: int, *, actor: User | None,
                          now: datetime, begin: bool = True) -> AgencyDocument:
    """The enterprise signs the mandate: the project is mandated (one task per
    item, approvals begin) and the 代办服务委托书 listing every item is issued."""
    ops.mandate_project(session, project_id, actor=actor, now=now, begin=begin)
    return _latest(session, project_id, "mandate")


def suspend_with_slip(session: Session, project_id: int, *, reason: str, actor: User | None,
                      now: datetime) -> AgencyDocument:
    """中止: the project and every open item stop, every clock pauses, and the
    suspension slip records the reason and the items paused."""
    _require_mandated(session, project_id)
    ops.suspend_project(session, project_id, actor=actor, now=now, reason=reason)
    return _latest(session, project_id, "suspension")


def terminate_with_slip(session: Session, project_id: int, *, reason: str, actor: User | None,
                        now: datetime) -> AgencyDocument:
    """终止: the project ends, every item not yet closed is terminated, and the
    termination slip lists them with the reason."""
    _require_mandated(session, project_id)
    ops.terminate_project(session, project_id, actor=actor, now=now, reason=reason)
    return _latest(session, project_id, "termination")


def handoff_with_continuation(session: Session, task_id: int, to: User, *, reason: str,
                              actor: User, now: datetime,
                              expected_version: int | None = None) -> AgencyDocument:
    """续办: the item passes to another agent — by its assignee's handoff or by
    a lead's reassignment — and the continuation mandate names the previous
    and the new agent and the reason."""
    reason = _require_text(reason, "reason for the handoff")
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
    return _store(session, project, "continuation", actor=actor, now=now,
                  items=[_item_line(project, task)],
                  details={"change": "handoff", "reason": reason,
                           "task": {"id": task.id, "code": task.item_code},
                           "previous_agent": _person(previous), "new_agent": _person(task.assignee),
                           "substitute_for": _person(to) if to.id != task.assignee_id else None})


def change_scope(session: Session, project_id: int, *, reason: str, actor: User | None,
                 now: datetime, add: Iterable[str] = (), remove: Iterable[str] = ()) -> AgencyDocument:
    """续办 on a change of scope: items are added to or removed from the
    mandate; the continuation mandate records both lists and the new scope."""
    reason = _require_text(reason, "reason for the change of scope")
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    if not documents_of(session, project.id, "mandate"):
        raise InvalidTransition("Issue the mandate before changing its scope.")
    if project.stage in ("terminated", "verified"):
        raise InvalidTransition(f"Project {project.code} is {project.stage}.", state=project.stage)
    codes = [t.item_code for t in _ordered_tasks(project)]
    scope = current_scope(session, project)
    added, removed = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if not added and not removed:
        raise ValidationError("Add or remove at least one item.")
    if any(c not in codes for c in added + removed):
        raise ValidationError("Only items of this project can change scope.")
    if any(c in scope for c in added) or any(c not in scope for c in removed):
        raise ValidationError("Add only items outside the mandate and remove only items in it.")
    new_scope = [c for c in codes if (c in scope or c in added) and c not in removed]
    if not new_scope:
        raise ValidationError("The mandate must keep at least one item; terminate instead.")
    by_code = {t.item_code: t for t in project.tasks}
    items = [_item_line(project, by_code[c]) for c in new_scope]
    return _store(session, project, "continuation", actor=actor, now=now, items=items,
                  details={"change": "scope", "reason": reason, "scope": new_scope,
                           "added": [_item_line(project, by_code[c]) for c in added],
                           "removed": [_item_line(project, by_code[c]) for c in removed]})


def issue_completion(session: Session, project_id: int, *, actor: User | None,
                     now: datetime) -> AgencyDocument:
    """办结: every item is done or covered; the completion slip lists each
    item's result (approval number or covering reference) as handed over."""
    return issue_document(session, project_id, "completion", actor=actor, now=now)


def get_document(session: Session, document_id: int) -> AgencyDocument:
    document = session.get(AgencyDocument, document_id)
    if document is None:
        raise NotFound(f"Document {document_id} does not exist.")
    return document


def user_by_username(session: Session, username: str) -> User | None:
    """The agent picked in a handoff form (the engine checks who may take the item)."""
    return session.scalar(select(User).where(User.username == (username or "").strip()))

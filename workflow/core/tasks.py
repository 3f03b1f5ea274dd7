"""Item-task operations: routing (claim, assign, hand off, unassign,
automatic assignment), the work itself (start, materials requested and
supplied, submit, approve, return, rework, complete, cover),
comments and attachments, one item terminated or opened on request, and
the actions a user may take on a task now. Extensions: ``workflow.core.extensions``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session, selectinload

from workflow.core import audit, extensions, hooks, permissions, rollups, workload
from workflow.core.clocks import pause_length
from workflow.core.lifecycle import _auto_advance, _stage_reached, release_ready_tasks
from workflow.core.models import (
    Attachment,
    Comment,
    ItemTask,
    MaterialRequest,
    Pause,
    Project,
)
from workflow.core.taskstep import _end_pause, _require_text, _start_pause, _transition, recompute_due
from workflow.core.unitofwork import (
    definition_for,
    flush,
    load_task,
    lock_project,
    machine_for,
)
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NoEligibleAgent,
    NotFound,
    ValidationError,
    term,
)
from workflow.kernel.models import GroupMembership, User
from workflow.kernel.moments import utc, zone_today


def claim_task(session: Session, task_id: int, *, actor: User, now: datetime,
               expected_version: int | None = None) -> ItemTask:
    """An agent of the task's group takes it from the group queue."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "claim", task)
    if task.state == "assigned" and task.assignee_id not in (None, actor.id):
        raise Conflict("Task {task} was already taken by {holder}.", task=task.id,
                       holder=task.assignee.display_name)
    _transition(session, task, "claim", actor=actor, now=now, data={"assignee": actor.username})
    task.assignee_id = actor.id
    flush(session)
    return task


def _resolve_assignee(session: Session, task: ItemTask, assignee: User) -> tuple[User, User | None]:
    """An away agent's work goes to their substitute (returned second: the
    original) — the substitute must also be able to take the task."""
    original = None
    if assignee.away:
        if assignee.substitute is None:
            raise ValidationError("{name} is away and has no substitute.",
                                  name=assignee.display_name)
        original, assignee = assignee, assignee.substitute
    if not permissions.can_be_assigned(assignee, task):
        raise ValidationError(
            "{name} is not an active agent of this task's group.",
            assignee=assignee.username, name=assignee.display_name)
    return assignee, original


def assign_task(session: Session, task_id: int, assignee: User, *, actor: User, now: datetime,
                expected_version: int | None = None, reason: str = "",
                expected_state: str | None = None) -> ItemTask:
    """A lead handler assigns a queued task, or reassigns a task in work (also
    to a substitute when the agent is away). Reassigning requires a reason.

    ``expected_state="ready"`` is an assign (the web's and the API's
    ``assign``): if an agent claimed the task meanwhile it is a ``Conflict``
    naming the agent, never a reassignment away from them."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "assign", task)
    if expected_state is not None and task.state != expected_state:
        if task.assignee is not None:
            raise Conflict(
                "Task {task} is no longer {expected_state}: it is {state}, with {holder} "
                "({assignee}); reload and reassign it if you must.",
                task=task_id, expected_state=expected_state, state=task.state,
                assignee=task.assignee.username, holder=task.assignee.display_name)
        raise Conflict(
            "Task {task} is no longer {expected_state}: it is {state}; reload and reassign it "
            "if you must.",
            task=task_id, expected_state=expected_state, state=task.state, assignee=None)
    target, original = _resolve_assignee(session, task, assignee)
    event = "assign" if task.state == "ready" else "reassign"
    if event == "reassign":
        if task.assignee_id == target.id:
            raise ValidationError("Task {task} is already assigned to {name}.", task=task.id,
                                  name=target.display_name)
        reason = _require_text(reason, term("reason for the reassignment"))
    previous = task.assignee.username if task.assignee else None
    _transition(session, task, event, actor=actor, now=now, data={
        "assignee": target.username, "previous": previous, "reason": reason,
        "substitute_for": original.username if original else None})
    task.assignee_id = target.id
    flush(session)
    return task


def handoff_task(session: Session, task_id: int, to: User, *, actor: User, now: datetime,
                 reason: str, expected_version: int | None = None) -> ItemTask:
    """The assignee hands the task to another agent of the group, with a reason
    (recorded for the continuation mandate, 续办委托书)."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    reason = _require_text(reason, term("reason for the handoff"))
    target, original = _resolve_assignee(session, task, to)
    if target.id == task.assignee_id:
        raise ValidationError("The task is already with that agent.", field="to")
    _transition(session, task, "reassign", actor=actor, now=now, data={
        "assignee": target.username, "previous": task.assignee.username if task.assignee else None,
        "reason": reason, "handoff": True,
        "substitute_for": original.username if original else None})
    task.assignee_id = target.id
    flush(session)
    return task


def unassign_task(session: Session, task_id: int, *, actor: User, now: datetime,
                  expected_version: int | None = None) -> ItemTask:
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "unassign", task)
    _transition(session, task, "unassign", actor=actor, now=now,
                data={"previous": task.assignee.username if task.assignee else None})
    task.assignee_id = None
    flush(session)
    return task


def open_work_counts(session: Session, user_ids: Sequence[int]) -> dict[int, int]:
    open_states = [s for s in ("assigned", "in_progress", "awaiting_enterprise", "submitted",
                               "accepted", "on_hold", "returned", "approved")]
    rows = session.execute(
        select(ItemTask.assignee_id, func.count())
        .where(ItemTask.assignee_id.in_(list(user_ids)), ItemTask.state.in_(open_states))
        .group_by(ItemTask.assignee_id)
    )
    counts = {uid: 0 for uid in user_ids}
    counts.update({uid: n for uid, n in rows})
    return counts


def auto_assign(session: Session, task_id: int, *, actor: User | None, now: datetime,
                expected_version: int | None = None) -> ItemTask:
    """Assign a queued task to the group member of the item's department with
    the least open work (ties: lowest id); away agents are skipped. A group has
    a handful of agents and cannot staff every department, so when none of the
    item's department is available, the least-loaded agent of the group takes it."""
    task = load_task(session, task_id, expected_version)
    if actor is not None:
        permissions.require(actor, "assign", task)
    available = session.scalars(
        select(User).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == task.group_id, User.role == "agent",
               User.active.is_(True), User.away.is_(False))
        .order_by(User.id)
    ).all()
    candidates = [u for u in available if u.department == task.department] or list(available)
    if not candidates:
        raise NoEligibleAgent("No available agent in this task's group.",
                              department=task.department)
    counts = open_work_counts(session, [u.id for u in candidates])
    # The most spare capacity over the forecast's horizon first (workflow.core.
    # workload: capacity − open work − the growth of their share of the
    # groups' expected load); then the least open work, the lowest id.
    spare = workload.spare_capacity(session, zone_today(now), task.group_id, counts)
    chosen = min(candidates, key=lambda u: (-spare.get(u.id, float("-inf")), counts[u.id], u.id))
    _transition(session, task, "assign", actor=actor, now=now,
                data={"assignee": chosen.username, "auto": True, "open_work": counts[chosen.id],
                      "spare": round(spare.get(chosen.id, 0.0), 1),
                      "same_department": chosen.department == task.department})
    task.assignee_id = chosen.id
    flush(session)
    return task


# -- tasks: work ------------------------------------------------------------------------

def start_task(session: Session, task_id: int, *, actor: User, now: datetime,
               expected_version: int | None = None) -> ItemTask:
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "start", actor=actor, now=now, public=True)
    flush(session)
    return task


@dataclass(frozen=True)
class MissingMaterial:
    code: str
    name: str
    note: str = ""


def request_materials(session: Session, task_id: int, materials: Iterable[MissingMaterial | dict],
                      *, deadline: date, actor: User, now: datetime, note: str = "",
                      expected_version: int | None = None) -> MaterialRequest:
    """一次性告知: one written notice listing everything missing, with a deadline.
    The running clock pauses until the enterprise supplies them: the service
    clock while the agent prepares, the statutory one when the department
    asks for 补正 after its 受理."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    listed = [m if isinstance(m, MissingMaterial) else MissingMaterial(**m) for m in materials]
    if not listed:
        raise ValidationError("List every missing material (at least one).", field="materials")
    if any(not m.name.strip() for m in listed):
        raise ValidationError("Each missing material needs a name.", field="materials")
    today = zone_today(now)
    if not isinstance(deadline, date) or deadline <= today:
        raise ValidationError("The deadline for the materials must be a date after today.",
                              field="deadline")
    _transition(session, task, "request_materials", actor=actor, now=now, public=True,
                data={"materials": [m.name for m in listed], "deadline": deadline})
    _start_pause(session, task, today, "materials requested (补正)", kind="materials")
    request = MaterialRequest(
        task_id=task.id, note=note.strip(), deadline=deadline, requested_by_id=actor.id,
        requested_at=utc(now),
        items={"materials": [{"code": m.code, "name": m.name, "note": m.note} for m in listed]})
    session.add(request)
    flush(session)
    return request


def supply_materials(session: Session, task_id: int, *, actor: User, now: datetime,
                     note: str = "", expected_version: int | None = None) -> ItemTask:
    """The requested materials arrived: the paused clock runs again, extended
    by the days it was paused (in its limit's unit), and the task goes back to
    the agent (service clock) or the department (statutory clock)."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "supply_materials", task)
    item = definition_for(task.project).items[task.item_code]
    _transition(session, task, "supply_materials", actor=actor, now=now, public=True,
                data={"note": note})
    lasted = _end_pause(session, task, item, zone_today(now))
    for request in session.scalars(select(MaterialRequest).where(
            MaterialRequest.task_id == task.id, MaterialRequest.fulfilled_at.is_(None))):
        request.fulfilled_at = utc(now)
    audit.record(session, task.project, actor=actor, now=utc(now), action="task.clock_resumed",
                 task=task, data={"clock": task.clock, "paused_days": lasted,
                                  "due_on": task.due_on})
    flush(session)
    return task


def submit_task(session: Session, task_id: int, *, actor: User, now: datetime, note: str = "",
                expected_version: int | None = None) -> ItemTask:
    """Record the submission of the application to the handling department:
    the service clock stops; the statutory clock counts from today until the
    department's 受理 is recorded (``accept_task``)."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    item = definition_for(task.project).items[task.item_code]
    today = zone_today(now)
    on_time = task.service_due_on is None or today <= task.service_due_on
    _transition(session, task, "submit", actor=actor, now=now, public=True,
                data={"department": task.department, "note": note,
                      "service_due_on": task.service_due_on, "service_on_time": on_time})
    task.submitted_on, task.clock = today, "statutory"
    recompute_due(task, item)
    flush(session)
    return task


def approve_task(session: Session, task_id: int, *, actor: User, now: datetime,
                 reference: str = "", expected_version: int | None = None) -> ItemTask:
    """Record the department's approval (with the document number, if any):
    the statutory clock stops. Approved straight from ``submitted``, the 受理
    was on the spot: it is recorded as the day of the submission."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    today = zone_today(now)
    _transition(session, task, "approve", actor=actor, now=now, public=True,
                data={"reference": reference, "statutory_due_on": task.statutory_due_on,
                      "statutory_on_time": task.statutory_due_on is None
                      or today <= task.statutory_due_on})
    if task.accepted_on is None:
        task.accepted_on = task.submitted_on
    task.decided_on = today
    flush(session)
    return task


def return_task(session: Session, task_id: int, *, actor: User, now: datetime, reason: str,
                expected_version: int | None = None) -> ItemTask:
    """The department sends the application back, with its reason: its
    statutory clock ends, and the agent's service clock runs again, paused
    for the days the department held the application (a new submission
    starts a new statutory clock)."""
    reason = _require_text(reason, term("reason for the return"))
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "department_return", actor=actor, now=now, public=True,
                data={"reason": reason})
    item = definition_for(task.project).items[task.item_code]
    today = zone_today(now)
    if task.submitted_on is not None:
        held = pause_length(task.submitted_on, today, item.service_limit)
        session.add(Pause(task_id=task.id, clock="service", kind="department",
                          reason=f"with the department: {reason}", started_on=task.submitted_on,
                          ended_on=today, days=held))
        task.service_paused_days = (task.service_paused_days or 0) + held
    task.submitted_on = task.accepted_on = task.decided_on = None
    task.statutory_paused_days, task.clock = 0, "service"
    recompute_due(task, item)
    flush(session)
    return task


def rework_task(session: Session, task_id: int, *, actor: User, now: datetime,
                expected_version: int | None = None) -> ItemTask:
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "rework", actor=actor, now=now)
    flush(session)
    return task


def _close_and_release(session: Session, task: ItemTask, *, actor: User | None, now: datetime) -> None:
    task.closed_on = zone_today(now)
    release_ready_tasks(session, task.project, actor=actor, now=now)
    _auto_advance(session, task.project, actor=actor, now=now)


def complete_task(session: Session, task_id: int, *, actor: User, now: datetime,
                  expected_version: int | None = None) -> ItemTask:
    """The result is handed over: the item is done, its dependants enter their
    group's queue and automatic milestones are reached, all in this transaction."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    # The areas' guards (容缺受理: an item accepted with materials missing
    # completes only after they were supplied).
    hooks.run("task.complete", session, task)
    _transition(session, task, "complete", actor=actor, now=now, public=True)
    _close_and_release(session, task, actor=actor, now=now)
    # The areas' consequences (施工许可: the start checkpoint; 竣工验收: the
    # enterprise's filing deadline).
    hooks.run("task.completed", session, task, actor=actor, now=now)
    flush(session)
    rollups.task_done(session, task)
    return task


def cover_task(session: Session, task_id: int, *, reference: str, kind: str, actor: User | None,
               now: datetime, expected_version: int | None = None) -> ItemTask:
    """Waive an item: a parcel's valid regional evaluation (``kind='evaluation'``)
    or a signed commitment (``kind='commitment'``) covers it, with its reference."""
    reference = _require_text(reference, term("reference of what covers the item"))
    task = load_task(session, task_id, expected_version)
    if actor is not None:
        permissions.require(actor, "assign", task)
    item = definition_for(task.project).items[task.item_code]
    if kind == "evaluation" and item.coverage.evaluation is None:
        raise InvalidTransition("Item {item} cannot be covered by a regional evaluation.",
                                item=item.code)
    if kind == "commitment" and not item.coverage.commitment:
        raise InvalidTransition("Item {item} is not on the commitment list (承诺制).",
                                item=item.code)
    if kind not in ("evaluation", "commitment"):
        raise ValidationError("Unknown kind of coverage '{kind}'.", field="kind", kind=kind)
    if task.paused_since is not None:
        _end_pause(session, task, item, zone_today(now))
    _transition(session, task, "cover", actor=actor, now=now, public=True,
                data={"kind": kind, "reference": reference})
    task.covered_ref = f"{kind}: {reference}"
    _close_and_release(session, task, actor=actor, now=now)
    flush(session)
    return task


# -- comments -------------------------------------------------------------------------

def add_comment(session: Session, project_id: int, body: str, *, actor: User, now: datetime,
                task_id: int | None = None, public: bool | None = None) -> Comment:
    """A comment on a project (or one of its tasks). ``public`` (visible to
    the enterprise) defaults to the author's side: staff write internal notes,
    an enterprise writes to the zone and always sees its own words, so an
    internal comment from an enterprise is refused, not silently made public."""
    if actor.role == "enterprise" and public is False:
        raise permissions.NotPermitted(
            "{user} writes as the enterprise: its comments are not internal.", user=actor.username)
    public = actor.role == "enterprise" if public is None else public
    body = _require_text(body, term("comment text"))
    if len(body) > 5000:
        raise ValidationError("A comment is at most 5000 characters.", field="body")
    project = lock_project(session, project_id)
    if not permissions.can_comment(actor, project):
        raise permissions.NotPermitted("{user} may not comment on {project}.", user=actor.username,
                                       project=project.code)
    if task_id is not None and session.scalar(select(ItemTask.project_id).where(
            ItemTask.id == task_id)) != project.id:
        raise NotFound("Task {task} is not part of project {project}.", task=task_id,
                       project=project.code)
    comment = Comment(project_id=project.id, task_id=task_id, author_id=actor.id, body=body,
                      public=public, created_at=utc(now))
    session.add(comment)
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="comment.added",
                 data={"comment": comment.id, "task": task_id}, public=comment.public)
    flush(session)
    return comment


def project_with_tasks(session: Session, code: str) -> Project:
    project = session.scalar(select(Project).where(Project.code == code)
                             .options(selectinload(Project.tasks)))
    if project is None:
        raise NotFound("Project {code} does not exist.", code=code)
    return project


# -- what an actor may do now ------------------------------------------------------------

# Task events a user triggers, with the permission rule each needs.
ACTION_RULES: dict[str, str] = {
    "claim": "claim", "assign": "assign", "reassign": "assign", "handoff": "work",
    "unassign": "unassign", "start": "work", "request_materials": "work",
    "supply_materials": "supply_materials", "submit": "work", "accept": "work",
    "department_pause": "work", "department_resume": "work", "approve": "work",
    "department_return": "work", "rework": "work", "complete": "work", "cover": "assign",
    "request_extension": "work",
}
_ACTION_EVENT = {"handoff": "reassign"}


def available_actions(task: ItemTask, actor: User, *, pending: set[int] | None = None) -> list[str]:
    """The task actions ``actor`` may take on ``task`` now: its state allows
    the event, the actor the rule, and the engine's own predicates the rest
    (an extension: ``extensions.can_request_extension``). ``pending`` is the
    set of task ids with an extension request waiting (a list computes it once,
    ``extensions.pending_extensions``); None looks this task up when needed.
    The areas' guards are asked too, as a dry run (``hooks.refusal``): what
    the operation would refuse is not offered. A list asks inside
    ``hooks.offering(session, tasks)``, which reads their look-ups at once."""
    with hooks.offering():
        return [action for action in _permitted_actions(task, actor, pending)
                if _guards_allow(task, actor, action)]


def _guards_allow(task: ItemTask, actor: User, action: str) -> bool:
    """The areas' guards, as a dry run: offered only if the operation's own
    checks would let it through (a mandate not yet signed, an item accepted
    with its materials still missing)."""
    if action == "request_item":
        return True
    session = object_session(task)
    if not hooks.allows("task.act", session, task, actor=actor,
                        event=_ACTION_EVENT.get(action, action)):
        return False
    return action != "complete" or hooks.allows("task.complete", session, task)


def _permitted_actions(task: ItemTask, actor: User, pending: set[int] | None) -> list[str]:
    machine = machine_for(task.project)
    actions = []
    item = definition_for(task.project).items.get(task.item_code)
    if (item is not None and item.opens_on_request and task.state == "blocked"
            and _stage_reached(definition_for(task.project), task.project, item.available_from)
            and (permissions.can_manage_project(actor, task.project)
                 or permissions.can_supply_materials(actor, task))):
        actions.append("request_item")
    for action, rule in ACTION_RULES.items():
        if not machine.can(task, _ACTION_EVENT.get(action, action)):
            continue
        if action == "handoff" and (actor.role != "agent" or task.assignee_id != actor.id):
            continue
        if action == "reassign" and task.state == "ready":
            continue
        if action == "cover":
            item = definition_for(task.project).items[task.item_code]
            if not (item.coverage.evaluation or item.coverage.commitment):
                continue
        if not permissions.RULES[rule](actor, task):
            continue
        if action == "request_extension" and not _extension_offered(task, pending):
            continue
        actions.append(action)
    return actions


def _extension_offered(task: ItemTask, pending: set[int] | None) -> bool:
    item = definition_for(task.project).items[task.item_code]
    if item.max_extension_days == 0:  # decided without a look at the requests
        return False
    if pending is None:
        waiting = extensions.has_pending_extension(object_session(task), task)
    else:
        waiting = task.id in pending
    return extensions.can_request_extension(task, item, pending=waiting)


def record_attachment(session: Session, project_id: int, *, actor: User, now: datetime,
                      original_name: str, storage_name: str, content_type: str, size: int,
                      sha256: str, task_id: int | None = None) -> Attachment:
    """Record an uploaded file (the bytes are already stored under ``storage_name``)."""
    project = lock_project(session, project_id)
    if not permissions.can_comment(actor, project):
        raise permissions.NotPermitted("{user} may not add files to {project}.",
                                       user=actor.username, project=project.code)
    if task_id is not None and session.scalar(select(ItemTask.project_id).where(
            ItemTask.id == task_id)) != project.id:
        raise NotFound("Task {task} is not part of project {project}.", task=task_id,
                       project=project.code)
    row = Attachment(project_id=project.id, task_id=task_id, uploaded_by_id=actor.id,
                     original_name=original_name[:255], storage_name=storage_name,
                     content_type=content_type, size=size, sha256=sha256, created_at=utc(now))
    session.add(row)
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="attachment.added",
                 data={"attachment": row.id, "task": task_id, "name": row.original_name,
                       "sha256": sha256}, public=actor.role == "enterprise")
    flush(session)
    return row


# -- one item terminated (commitments area: a missed 容缺 deadline) -------------------

def terminate_task(session: Session, task_id: int, *, actor: User | None, now: datetime,
                   reason: str, expected_version: int | None = None) -> ItemTask:
    """终止 one item (e.g. 容缺受理 materials not supplied by the promised
    deadline): it closes as terminated, its open pause ends and its dependants
    stay blocked; the rest of the project goes on."""
    reason = _require_text(reason, term("reason for the termination"))
    task = load_task(session, task_id, expected_version)
    if actor is not None:
        permissions.require(actor, "assign", task)
    if task.paused_since is not None:
        _end_pause(session, task, definition_for(task.project).items[task.item_code],
                   zone_today(now))
    _transition(session, task, "terminate", actor=actor, now=now, public=True,
                data={"reason": reason})
    task.closed_on = zone_today(now)
    flush(session)
    return task


def request_item(session: Session, task_id: int, *, actor: User, now: datetime,
                 expected_version: int | None = None) -> ItemTask:
    """The applicant asks for an item that opens on request (竣工验收 when the
    building is finished): it enters its group's queue and its clock starts,
    once its prerequisites are closed and the project has reached its stage."""
    task = load_task(session, task_id, expected_version)
    project = task.project
    if not (permissions.can_manage_project(actor, project) or permissions.can_supply_materials(
            actor, task)):
        raise permissions.NotPermitted("{user} may not request {item}.", user=actor.username,
                                       item=task.item_code)
    item = definition_for(project).items[task.item_code]
    if not item.opens_on_request:
        raise InvalidTransition("Item {item} opens by itself, not on request.", item=item.code)
    if task.state != "blocked":
        raise InvalidTransition("Item {item} is already {state}.", state=task.state,
                                item=item.code)
    released = release_ready_tasks(session, project, actor=actor, now=now,
                                   requested=frozenset({task.id}))
    if task not in released:
        raise InvalidTransition(
            "Item {item} cannot open yet: its prerequisites are not closed or the project has "
            "not reached {stage}.", state=project.stage, item=item.code,
            stage=item.available_from)
    flush(session)
    return task

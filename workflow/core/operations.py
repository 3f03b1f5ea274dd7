"""Engine operations: every change to a project or an item task goes through here.

Each operation takes the session, the actor and the time as arguments, checks
permission and input, fires the state machine, writes the audit event and the
consequences (dependants released, milestones reached) and only flushes: the
caller commits once, so state, version, audit and dependants land together or
not at all. Locks are taken in one order — project row, then task row — and a
caller may pass the ``expected_version`` it showed the user; a mismatch is a
``Conflict``, never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from definitions import Definition, Item
from workflow.core import audit, fastflush, hooks, lights, notify, permissions, rollups
from workflow.core.machines import item_machine, project_machine
from workflow.core.models import (
    CLOSED_STATES,
    Attachment,
    Comment,
    ExtensionRequest,
    ItemTask,
    MaterialRequest,
    Pause,
    Project,
)
from workflow.kernel import clock, validate
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NoEligibleAgent,
    NotFound,
    ValidationError,
)
from workflow.kernel.models import Enterprise, GroupMembership, User
from workflow.kernel.moments import ZONE_TZ, utc, zone_today  # noqa: F401 - re-exported
from workflow.kernel.registry import current_version, definition_by_id, definition_of, group_by_code

# -- time ------------------------------------------------------------------------

# utc() and zone_today() live in workflow.kernel.moments; the operations' callers
# keep importing them from here.


# -- loading and locking ------------------------------------------------------------

def definition_for(project: Project) -> Definition:
    """The definition the project started under (cached per process)."""
    session = object_session(project)
    if session is None or project.definition_version_id is None:
        return definition_of(project.definition_version)
    return definition_by_id(session, project.definition_version_id)


def machine_for(project: Project):
    """The item machine of the project's definition version."""
    return item_machine(definition_for(project).version)


def lock_project(session: Session, project_id: int) -> Project:
    """Load the project with its row locked (``FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    project = _locked_get(session, Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    return project


def _locked_get(session: Session, model: type, row_id: int):
    """Get a row under a row lock, refreshed from the database. An object this
    session loaded earlier whose row someone else changed meanwhile is a lost
    race: a ``Conflict``, not a silent reload."""
    try:
        return session.get(model, row_id, with_for_update=True, populate_existing=True)
    except StaleDataError as exc:
        raise Conflict(f"This {model.__name__} was changed by someone else since it was "
                       "loaded; reload and try again.", id=row_id) from exc


# Built once: every task operation runs it.
_LOAD_TASK = (select(ItemTask, Project).join(Project, Project.id == ItemTask.project_id)
              .where(ItemTask.id == bindparam("task_id")).with_for_update(of=Project)
              .execution_options(populate_existing=True))


# A caller may watch the tasks an operation loads, as they are before it
# changes them: ``session.info[TASK_LOADED] = callable(task)`` (the web checks
# that the user may see the task without loading it a second time).
TASK_LOADED = "daiban.task_loaded"


def load_task(session: Session, task_id: int, expected_version: int | None = None) -> ItemTask:
    """Lock the task's project and load the task with it, in one statement,
    and check the caller's version.

    The project row lock serialises every operation on the project and its
    tasks (each operation takes it first), so the task row needs no lock of
    its own. A caller that waited for the lock may read the task as it was
    before the winner committed; its write then fails the version check and
    the loser gets a ``Conflict``, never an overwrite."""
    try:
        row = session.execute(_LOAD_TASK, {"task_id": task_id}).first()
    except StaleDataError as exc:
        raise Conflict("This task was changed by someone else since it was loaded; "
                       "reload and try again.", task=task_id) from exc
    if row is None:
        raise NotFound(f"Task {task_id} does not exist.")
    task, project = row
    # Keep the locked project as the task's project (no second load).
    set_committed_value(task, "project", project)
    observer = session.info.get(TASK_LOADED)
    if observer is not None:
        observer(task)
    if expected_version is not None and task.version != expected_version:
        raise Conflict(
            f"Task {task_id} was changed by someone else (version {expected_version} → "
            f"{task.version}, now {task.state}); reload and try again.",
            task=task_id, expected=expected_version, actual=task.version, state=task.state,
        )
    return task


def load_project_by_code(session: Session, code: str) -> Project:
    project = session.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise NotFound(f"Project {code} does not exist.")
    return project


def flush(session: Session) -> None:
    """Flush (the lean path when the changes allow it, see ``workflow.core.fastflush``)
    and translate a lost optimistic-lock race into ``Conflict``."""
    try:
        if fastflush.can_fast_flush(session):
            fastflush.fast_flush(session)
        else:
            session.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed this record at the same time; reload and try again.") from exc


# -- due dates ------------------------------------------------------------------------

def recompute_due(task: ItemTask, item: Item) -> None:
    """Due date = the limit counted from acceptance, plus the working days the
    clock was paused and the extensions granted (both added as working days)."""
    if task.accepted_on is None:
        task.due_on, task.due_provisional, task.warn_on = None, False, None
        return
    base = clock.due_date(task.accepted_on, item.limit.amount,
                          calendar_days=item.limit.calendar_days)
    extra = task.paused_working_days + task.extension_days
    shifted = clock.add_working_days(base.date, extra) if extra else base
    task.due_on = shifted.date
    task.due_provisional = base.provisional or shifted.provisional
    task.warn_on = lights.first_yellow_day(task.accepted_on, task.due_on)


def _start_pause(session: Session, task: ItemTask, today: date, reason: str) -> None:
    task.paused_since = today
    session.add(Pause(task_id=task.id, reason=reason, started_on=today))


def _end_pause(session: Session, task: ItemTask, item: Item, today: date) -> int:
    """Close the open pause and add the working days it lasted to the clock."""
    if task.paused_since is None:
        return 0
    lasted = max(clock.working_days_between(task.paused_since, today).days, 0)
    pause = session.scalar(
        select(Pause).where(Pause.task_id == task.id, Pause.ended_on.is_(None))
        .order_by(Pause.id.desc())
    )
    if pause is not None:
        pause.ended_on, pause.working_days = today, lasted
    task.paused_working_days += lasted
    task.paused_since = None
    recompute_due(task, item)
    return lasted


# -- the transition step every task operation shares ----------------------------------

def _transition(session: Session, task: ItemTask, event: str, *, actor: User | None,
                now: datetime, data: dict[str, Any] | None = None,
                public: bool = False) -> str:
    project = task.project
    before = task.state
    machine_for(project).fire(task, event)
    task.updated_at = utc(now)
    entry = audit.record(session, project, actor=actor, now=utc(now), action=f"task.{event}",
                         task=task, from_state=before, to_state=task.state,
                         data={"item": task.item_code, **(data or {})}, public=public)
    notify.task_event(session, task, entry)
    return before


# Required text from the user (a reason, a name).
_require_text = validate.text


# -- projects -------------------------------------------------------------------------

def create_project(session: Session, *, code: str, name: str, enterprise: Enterprise,
                   industry: str, actor: User | None, now: datetime,
                   lead: User | None = None, parcel: str | None = None,
                   investment_wan: int | None = None, stage: str = "signed") -> Project:
    """Register a project and route it: the group of its industry and a lead
    handler (given, or the group's lead with the fewest live projects)."""
    code = _require_text(code, "project code (项目代码)")
    name = _require_text(name, "project name")
    version = current_version(session)
    definition = definition_of(version)
    if industry not in definition.industries:
        raise ValidationError(f"Unknown industry '{industry}'.", industry=industry)
    if stage not in ("intention", "signed"):
        raise ValidationError("A new project starts as an intention or as signed.")
    if investment_wan is not None and investment_wan < 0:
        raise ValidationError("Investment cannot be negative.")
    if session.scalar(select(Project.id).where(Project.code == code)) is not None:
        raise ValidationError(f"Project code {code} is already registered.", code=code)
    group = group_by_code(session, definition.group_for_industry(industry).code)
    if lead is None:
        lead = pick_lead(session, group.id)
    elif lead.role != "lead":
        raise ValidationError(f"{lead.username} is not a lead handler.")
    project = Project(code=code, name=name, enterprise_id=enterprise.id, industry=industry,
                      is_chemical=definition.industries[industry].chemical,
                      group_id=group.id, lead_id=lead.id if lead else None, parcel=parcel,
                      investment_wan=investment_wan, stage=stage,
                      definition_version_id=version.id, created_at=utc(now),
                      audit_seq=0, audit_head="")
    project.definition_version = version
    session.add(project)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ValidationError(f"Project code {code} is already registered.") from exc
    audit.record(session, project, actor=actor, now=utc(now), action="project.created",
                 to_state=stage, data={"group": group.code, "lead": lead.username if lead else None,
                                       "definition": version.version}, public=True)
    return project


def pick_lead(session: Session, group_id: int) -> User | None:
    """The group's lead handler with the fewest live projects (ties: lowest id)."""
    live = func.count(Project.id).filter(Project.stage.notin_(("verified", "terminated")))
    rows = session.execute(
        select(User, live)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .outerjoin(Project, Project.lead_id == User.id)
        .where(GroupMembership.group_id == group_id, User.role == "lead", User.active.is_(True))
        .group_by(User.id).order_by(live, User.id)
    ).first()
    return rows[0] if rows else None


def _fire_project(session: Session, project: Project, event: str, *, actor: User | None,
                  now: datetime, data: dict[str, Any] | None = None) -> str:
    before = project.stage
    project_machine(definition_for(project)).fire(project, event)
    entry = audit.record(session, project, actor=actor, now=utc(now), action=f"project.{event}",
                         from_state=before, to_state=project.stage, data=data or {}, public=True)
    notify.project_event(session, project, entry)
    return before


def sign_project(session: Session, project_id: int, *, actor: User | None, now: datetime) -> Project:
    """An intention project becomes a signed one (签约), keeping its history."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    # The areas' guards (化工项目准入: a chemical project is signed only after
    # its entry screening cleared it).
    hooks.run("project.sign", session, project)
    _fire_project(session, project, "sign", actor=actor, now=now)
    flush(session)
    return project


def mandate_project(session: Session, project_id: int, *, actor: User | None, now: datetime,
                    begin: bool = True) -> Project:
    """The enterprise signs the agency mandate (代办服务委托书): one task per item
    is created; with ``begin`` approvals start and items without prerequisites
    enter their group's queue."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    definition = definition_for(project)
    _fire_project(session, project, "mandate", actor=actor, now=now,
                  data={"items": list(definition.items)})
    for item in definition.items.values():
        session.add(ItemTask(project=project, item_code=item.code, state="blocked",
                             group_id=project.group_id, department=item.department,
                             paused_working_days=0, extension_days=0))
    flush(session)
    if begin:
        _fire_project(session, project, "begin_approvals", actor=actor, now=now)
        release_ready_tasks(session, project, actor=actor, now=now)
    flush(session)
    # The areas' consequences (标准地: the parcel's evaluations cover their items).
    hooks.run("project.mandated", session, project, actor=actor, now=now)
    return project


def _stage_reached(definition: Definition, project: Project, stage: str | None) -> bool:
    if stage is None:
        return True
    current = definition.stages[project.stage]
    return not current.side and current.order >= definition.stages[stage].order


def release_ready_tasks(session: Session, project: Project, *, actor: User | None,
                        now: datetime, requested: frozenset[int] = frozenset()) -> list[ItemTask]:
    """Release every blocked task whose prerequisites are closed and whose
    opening stage the project has reached: it enters its group's queue and its
    clock starts (the day of release is the day of acceptance). Items that
    open on request wait until ``request_item`` names them in ``requested``."""
    definition = definition_for(project)
    by_code = {t.item_code: t for t in project.tasks}
    released = []
    for task in project.tasks:
        item = definition.items.get(task.item_code)
        if task.state != "blocked" or item is None:
            continue
        if not _stage_reached(definition, project, item.available_from):
            continue
        if item.opens_on_request and task.id not in requested:
            continue
        if all(by_code[r].state in ("done", "covered") for r in item.requires if r in by_code):
            task.accepted_on = zone_today(now)
            recompute_due(task, item)
            _transition(session, task, "release", actor=actor, now=now,
                        data={"due_on": task.due_on}, public=True)
            released.append(task)
    return released


def gating_items_open(definition: Definition, project: Project, stage: str) -> list[str]:
    states = {t.item_code: t.state for t in project.tasks}
    return [i.code for i in definition.items_gating(stage)
            if states.get(i.code) not in ("done", "covered")]


def advance_project(session: Session, project_id: int, *, actor: User | None,
                    now: datetime) -> Project:
    """Move the project to its next lifecycle step, guarded by the items that gate it."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    _advance(session, project, actor=actor, now=now)
    flush(session)
    return project


def _advance(session: Session, project: Project, *, actor: User | None, now: datetime,
             auto: bool = False) -> None:
    definition = definition_for(project)
    if project.stage == "mandated":
        # A mandate signed without starting approvals: advancing starts them.
        _fire_project(session, project, "begin_approvals", actor=actor, now=now)
        release_ready_tasks(session, project, actor=actor, now=now)
        return
    target = definition.next_stage(project.stage)
    if target is None or project.stage in ("intention", "signed"):
        raise InvalidTransition(f"Project {project.code} cannot advance from {project.stage}.",
                                state=project.stage)
    if target.code == "producing":
        # The areas' guards (标准地: a failed completion acceptance blocks production).
        hooks.run("project.produce", session, project)
    missing = gating_items_open(definition, project, target.code)
    if missing:
        raise InvalidTransition(
            f"Project {project.code} cannot reach {target.code}: items still open: "
            f"{', '.join(missing)}.", missing=missing, state=project.stage)
    _fire_project(session, project, "advance", actor=actor, now=now, data={"auto": auto})
    release_ready_tasks(session, project, actor=actor, now=now)


def _auto_advance(session: Session, project: Project, *, actor: User | None, now: datetime) -> None:
    """Advance while the next step is automatic and its gating items are closed."""
    definition = definition_for(project)
    while True:
        target = definition.next_stage(project.stage)
        if (target is None or not target.auto_advance or project.stage in ("intention", "signed", "mandated")
                or gating_items_open(definition, project, target.code)):
            return
        _advance(session, project, actor=actor, now=now, auto=True)


def suspend_project(session: Session, project_id: int, *, actor: User | None, now: datetime,
                    reason: str) -> Project:
    """中止: the project and every open task stop; every clock pauses."""
    reason = _require_text(reason, "reason for the suspension")
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    project.suspended_from = project.stage
    _fire_project(session, project, "suspend", actor=actor, now=now, data={"reason": reason})
    today = zone_today(now)
    for task in project.tasks:
        if machine_for(project).can(task, "suspend"):
            task.suspended_from = task.state
            if task.paused_since is None and task.accepted_on is not None:
                _start_pause(session, task, today, f"project suspended: {reason}")
            _transition(session, task, "suspend", actor=actor, now=now, data={"reason": reason})
    flush(session)
    return project


def resume_project(session: Session, project_id: int, *, actor: User | None, now: datetime) -> Project:
    """The suspension ends: tasks return to where they were; clocks add the pause."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    _fire_project(session, project, "resume", actor=actor, now=now)
    project.suspended_from = None
    definition = definition_for(project)
    today = zone_today(now)
    for task in project.tasks:
        if task.state != "suspended":
            continue
        _transition(session, task, "resume", actor=actor, now=now)
        task.suspended_from = None
        # A task suspended while awaiting the enterprise stays paused.
        if task.state != "awaiting_enterprise":
            _end_pause(session, task, definition.items[task.item_code], today)
    flush(session)
    return project


def terminate_project(session: Session, project_id: int, *, actor: User | None, now: datetime,
                      reason: str) -> Project:
    """终止: the project ends; every task not yet closed is terminated."""
    reason = _require_text(reason, "reason for the termination")
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    _fire_project(session, project, "terminate", actor=actor, now=now, data={"reason": reason})
    for task in project.tasks:
        if task.state not in CLOSED_STATES:
            task.closed_on = zone_today(now)
            _transition(session, task, "terminate", actor=actor, now=now, data={"reason": reason})
    flush(session)
    return project


# -- tasks: routing -------------------------------------------------------------------

def claim_task(session: Session, task_id: int, *, actor: User, now: datetime,
               expected_version: int | None = None) -> ItemTask:
    """An agent of the task's group takes it from the group queue."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "claim", task)
    if task.state == "assigned" and task.assignee_id not in (None, actor.id):
        raise Conflict(f"Task {task.id} was already taken by {task.assignee.display_name}.",
                       task=task.id)
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
            raise ValidationError(f"{assignee.display_name} is away and has no substitute.")
        original, assignee = assignee, assignee.substitute
    if not permissions.can_be_assigned(assignee, task):
        raise ValidationError(
            f"{assignee.display_name} is not an active agent of this task's group.",
            assignee=assignee.username)
    return assignee, original


def assign_task(session: Session, task_id: int, assignee: User, *, actor: User, now: datetime,
                expected_version: int | None = None, reason: str = "") -> ItemTask:
    """A lead handler assigns a queued task, or reassigns a task in work (also
    to a substitute when the agent is away). Reassigning requires a reason."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "assign", task)
    target, original = _resolve_assignee(session, task, assignee)
    event = "assign" if task.state == "ready" else "reassign"
    if event == "reassign":
        if task.assignee_id == target.id:
            raise ValidationError(f"Task {task.id} is already assigned to {target.display_name}.")
        reason = _require_text(reason, "reason for the reassignment")
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
    reason = _require_text(reason, "reason for the handoff")
    target, original = _resolve_assignee(session, task, to)
    if target.id == task.assignee_id:
        raise ValidationError("The task is already with that agent.")
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
                               "returned", "approved")]
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
    chosen = min(candidates, key=lambda u: (counts[u.id], u.id))
    _transition(session, task, "assign", actor=actor, now=now,
                data={"assignee": chosen.username, "auto": True, "open_work": counts[chosen.id],
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
    The clock pauses until the enterprise supplies them."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    listed = [m if isinstance(m, MissingMaterial) else MissingMaterial(**m) for m in materials]
    if not listed:
        raise ValidationError("List every missing material (at least one).")
    if any(not m.name.strip() for m in listed):
        raise ValidationError("Each missing material needs a name.")
    today = zone_today(now)
    if not isinstance(deadline, date) or deadline <= today:
        raise ValidationError("The deadline for the materials must be a date after today.")
    _transition(session, task, "request_materials", actor=actor, now=now, public=True,
                data={"materials": [m.name for m in listed], "deadline": deadline})
    _start_pause(session, task, today, "materials requested (补正)")
    request = MaterialRequest(
        task_id=task.id, note=note.strip(), deadline=deadline, requested_by_id=actor.id,
        requested_at=utc(now),
        items={"materials": [{"code": m.code, "name": m.name, "note": m.note} for m in listed]})
    session.add(request)
    flush(session)
    return request


def supply_materials(session: Session, task_id: int, *, actor: User, now: datetime,
                     note: str = "", expected_version: int | None = None) -> ItemTask:
    """The requested materials arrived: the clock runs again, extended by the
    working days it was paused."""
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
                 task=task, data={"paused_working_days": lasted, "due_on": task.due_on})
    flush(session)
    return task


def submit_task(session: Session, task_id: int, *, actor: User, now: datetime, note: str = "",
                expected_version: int | None = None) -> ItemTask:
    """Record the submission of the application to the handling department."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "submit", actor=actor, now=now, public=True,
                data={"department": task.department, "note": note})
    flush(session)
    return task


def approve_task(session: Session, task_id: int, *, actor: User, now: datetime,
                 reference: str = "", expected_version: int | None = None) -> ItemTask:
    """Record the department's approval (with the document number, if any)."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "approve", actor=actor, now=now, public=True,
                data={"reference": reference})
    flush(session)
    return task


def return_task(session: Session, task_id: int, *, actor: User, now: datetime, reason: str,
                expected_version: int | None = None) -> ItemTask:
    """The department sends the application back, with its reason."""
    reason = _require_text(reason, "reason for the return")
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "department_return", actor=actor, now=now, public=True,
                data={"reason": reason})
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
    flush(session)
    rollups.task_done(session, task)
    return task


def cover_task(session: Session, task_id: int, *, reference: str, kind: str, actor: User | None,
               now: datetime, expected_version: int | None = None) -> ItemTask:
    """Waive an item: a parcel's valid regional evaluation (``kind='evaluation'``)
    or a signed commitment (``kind='commitment'``) covers it, with its reference."""
    reference = _require_text(reference, "reference of what covers the item")
    task = load_task(session, task_id, expected_version)
    if actor is not None:
        permissions.require(actor, "assign", task)
    item = definition_for(task.project).items[task.item_code]
    if kind == "evaluation" and item.coverage.evaluation is None:
        raise InvalidTransition(f"Item {item.code} cannot be covered by a regional evaluation.")
    if kind == "commitment" and not item.coverage.commitment:
        raise InvalidTransition(f"Item {item.code} is not on the commitment list (承诺制).")
    if kind not in ("evaluation", "commitment"):
        raise ValidationError(f"Unknown kind of coverage '{kind}'.")
    if task.paused_since is not None:
        _end_pause(session, task, item, zone_today(now))
    _transition(session, task, "cover", actor=actor, now=now, public=True,
                data={"kind": kind, "reference": reference})
    task.covered_ref = f"{kind}: {reference}"
    _close_and_release(session, task, actor=actor, now=now)
    flush(session)
    return task


# -- extensions -----------------------------------------------------------------------

def request_extension(session: Session, task_id: int, days: int, *, reason: str, actor: User,
                      now: datetime, expected_version: int | None = None) -> ExtensionRequest:
    """Ask for +N working days; a lead handler decides."""
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise ValidationError("An extension is a whole number of working days above zero.")
    reason = _require_text(reason, "reason for the extension")
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    item = definition_for(task.project).items[task.item_code]
    if item.max_extension_days == 0:
        raise ValidationError(f"The limit of item {item.code} cannot be extended.",
                              limit=0)
    if task.extension_days + days > item.max_extension_days:
        raise ValidationError(
            f"Item {item.code} may be extended by at most {item.max_extension_days} working days "
            f"in all ({task.extension_days} granted already).", limit=item.max_extension_days)
    pending = session.scalar(select(ExtensionRequest.id).where(
        ExtensionRequest.task_id == task.id, ExtensionRequest.decided_at.is_(None)))
    if pending is not None:
        raise ValidationError("An extension request for this task is already waiting for a decision.")
    _transition(session, task, "request_extension", actor=actor, now=now,
                data={"days": days, "reason": reason})
    request = ExtensionRequest(task_id=task.id, days=days, reason=reason,
                               requested_by_id=actor.id, requested_at=utc(now))
    session.add(request)
    flush(session)
    return request


def decide_extension(session: Session, request_id: int, *, approve: bool, actor: User,
                     now: datetime, note: str = "") -> ExtensionRequest:
    """A lead handler approves (the due date moves by N working days) or refuses."""
    request = session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound(f"Extension request {request_id} does not exist.")
    task = load_task(session, request.task_id)
    session.refresh(request, with_for_update=True)
    permissions.require(actor, "decide_extension", task)
    if request.decided_at is not None:
        raise Conflict("This extension request was already decided.")
    if not approve:
        _require_text(note, "reason for refusing the extension")
    item = definition_for(task.project).items[task.item_code]
    _transition(session, task, "decide_extension", actor=actor, now=now,
                data={"days": request.days, "approved": approve, "note": note})
    request.approved, request.decided_by_id = approve, actor.id
    request.decided_at, request.decision_note = utc(now), note
    if approve:
        task.extension_days += request.days
        recompute_due(task, item)
    flush(session)
    return request


# -- comments -------------------------------------------------------------------------

def add_comment(session: Session, project_id: int, body: str, *, actor: User, now: datetime,
                task_id: int | None = None, public: bool = False) -> Comment:
    body = _require_text(body, "comment text")
    if len(body) > 5000:
        raise ValidationError("A comment is at most 5000 characters.")
    project = lock_project(session, project_id)
    if not permissions.can_comment(actor, project):
        raise permissions.NotPermitted(f"{actor.username} may not comment on {project.code}.")
    if task_id is not None and session.scalar(select(ItemTask.project_id).where(
            ItemTask.id == task_id)) != project.id:
        raise NotFound(f"Task {task_id} is not part of project {project.code}.")
    comment = Comment(project_id=project.id, task_id=task_id, author_id=actor.id, body=body,
                      public=public or actor.role == "enterprise", created_at=utc(now))
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
        raise NotFound(f"Project {code} does not exist.")
    return project


# -- what an actor may do now ------------------------------------------------------------

# Task events a user triggers, with the permission rule each needs.
ACTION_RULES: dict[str, str] = {
    "claim": "claim", "assign": "assign", "reassign": "assign", "handoff": "work",
    "unassign": "unassign", "start": "work", "request_materials": "work",
    "supply_materials": "supply_materials", "submit": "work", "approve": "work",
    "department_return": "work", "rework": "work", "complete": "work", "cover": "assign",
    "request_extension": "work",
}
_ACTION_EVENT = {"handoff": "reassign"}


def available_actions(task: ItemTask, actor: User) -> list[str]:
    """The task actions ``actor`` may take on ``task`` in its current state."""
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
        if permissions.RULES[rule](actor, task):
            actions.append(action)
    return actions


def record_attachment(session: Session, project_id: int, *, actor: User, now: datetime,
                      original_name: str, storage_name: str, content_type: str, size: int,
                      sha256: str, task_id: int | None = None) -> Attachment:
    """Record an uploaded file (the bytes are already stored under ``storage_name``)."""
    project = lock_project(session, project_id)
    if not permissions.can_comment(actor, project):
        raise permissions.NotPermitted(f"{actor.username} may not add files to {project.code}.")
    if task_id is not None and session.scalar(select(ItemTask.project_id).where(
            ItemTask.id == task_id)) != project.id:
        raise NotFound(f"Task {task_id} is not part of project {project.code}.")
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
    reason = _require_text(reason, "reason for the termination")
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
        raise permissions.NotPermitted(f"{actor.username} may not request {task.item_code}.")
    item = definition_for(project).items[task.item_code]
    if not item.opens_on_request:
        raise InvalidTransition(f"Item {item.code} opens by itself, not on request.")
    if task.state != "blocked":
        raise InvalidTransition(f"Item {item.code} is already {task.state}.", state=task.state)
    released = release_ready_tasks(session, project, actor=actor, now=now,
                                   requested=frozenset({task.id}))
    if task not in released:
        raise InvalidTransition(
            f"Item {item.code} cannot open yet: its prerequisites are not closed or the "
            f"project has not reached {item.available_from}.", state=project.stage)
    flush(session)
    return task

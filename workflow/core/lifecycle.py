"""Project lifecycle operations: registering and routing a project, signing
(签约), the agency mandate that creates the item tasks, the release of the
tasks whose prerequisites and stage are reached, advancing through the
lifecycle (guarded by the gating items and the areas' hooks), and
suspending, resuming and terminating the project."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from definitions import Definition, Item
from workflow.core import audit, hooks, notify, permissions, predict
from workflow.core.machines import project_machine
from workflow.core.models import CLOCK_STATES, CLOSED_STATES, PAUSED_STATES, ItemTask, Project
from workflow.core.taskstep import _end_pause, _require_text, _start_pause, _transition, recompute_due
from workflow.core.unitofwork import definition_for, flush, lock_project, machine_for
from workflow.kernel import validate
from workflow.kernel.errors import InvalidTransition, ValidationError, term
from workflow.kernel.models import Enterprise, GroupMembership, User
from workflow.kernel.moments import utc, zone_today
from workflow.kernel.registry import current_version, definition_of, group_by_code


def create_project(session: Session, *, code: str, name: str, enterprise: Enterprise,
                   industry: str, actor: User | None, now: datetime,
                   lead: User | None = None, parcel: str | None = None,
                   investment_wan: int | None = None, stage: str = "signed") -> Project:
    """Register a project and route it: the group of its industry and a lead
    handler (given, or the group's lead with the fewest live projects)."""
    code = _require_text(code, term("project code (项目代码)"))
    if code[:1].isdigit():
        # A code that begins with a digit is a national 项目代码 (the zone's
        # own placeholders begin with letters: YX-2026-0001).
        code = validate.project_code(code, today=zone_today(now))
    name = _require_text(name, term("project name"))
    version = current_version(session)
    definition = definition_of(version)
    if industry not in definition.industries:
        raise ValidationError("Unknown industry '{industry}'.", field="industry",
                              industry=industry)
    if stage not in ("intention", "signed"):
        raise ValidationError("A new project starts as an intention or as signed.")
    if investment_wan is not None and investment_wan < 0:
        raise ValidationError("Investment cannot be negative.", field="investment_wan")
    if session.scalar(select(Project.id).where(Project.code == code)) is not None:
        raise ValidationError("Project code {code} is already registered.", code=code)
    group = group_by_code(session, definition.group_for_industry(industry).code)
    if lead is None:
        lead = pick_lead(session, group.id)
    elif lead.role != "lead":
        raise ValidationError("{user} is not a lead handler.", field="lead", user=lead.username)

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
        raise ValidationError("Project code {code} is already registered.", code=code) from exc
    audit.record(session, project, actor=actor, now=utc(now), action="project.created",
                 to_state=stage, data={"group": group.code, "lead": lead.username if lead else None,
                                       "definition": version.version}, public=True)
    if stage == "signed":
        # The areas' consequences (包联: the promotion plan is seeded).
        hooks.run("project.signed", session, project, actor=actor, now=now)
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
    # The areas' consequences (包联: the promotion plan is seeded).
    hooks.run("project.signed", session, project, actor=actor, now=now)
    return project


def mandate_project(session: Session, project_id: int, *, actor: User | None, now: datetime,
                    begin: bool = True) -> Project:
    """The agency mandate (代办服务委托书): one task per item is created; with
    ``begin`` approvals start and items without prerequisites enter their
    group's queue. The areas' consequences issue the mandate for the
    enterprise's signature (the documents area, whose guard keeps agents from
    acting on the items until it is signed)."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    items = project_items(definition_for(project), project)
    _fire_project(session, project, "mandate", actor=actor, now=now,
                  data={"items": [item.code for item in items]})
    for item in items:
        session.add(ItemTask(project=project, item_code=item.code, state="blocked",
                             group_id=project.group_id, department=item.department,
                             statutory_paused_days=0, service_paused_days=0,
                             extension_days=0, service_extension_days=0))
    flush(session)
    if begin:
        _fire_project(session, project, "begin_approvals", actor=actor, now=now)
        release_ready_tasks(session, project, actor=actor, now=now)
    flush(session)
    # The areas' consequences (标准地: the parcel's evaluations cover their items).
    hooks.run("project.mandated", session, project, actor=actor, now=now)
    return project


def project_items(definition: Definition, project: Project) -> tuple[Item, ...]:
    """The items the project does: chemical-only ones if it is a chemical
    project, of each choice the alternative it chose (else the default)."""
    return definition.items_for(chemical=project.is_chemical, chosen=project.choices or {})


def choose_item(session: Session, project_id: int, item_code: str, *, actor: User | None,
                now: datetime) -> Project:
    """The project does ``item_code`` of its choice (the EIA report rather than
    the report form). Chosen before the mandate creates the tasks; afterwards
    a different alternative is a change of the mandate's scope."""
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    definition = definition_for(project)
    item = definition.items.get(item_code)
    if item is None or item.choice is None:
        raise ValidationError("'{item}' is not an alternative of a choice.", item=item_code)
    chosen = dict(project.choices or {})
    before = chosen.get(item.choice) or definition.default_choice(item.choice)
    if before == item.code:
        return project
    if project.tasks:
        raise InvalidTransition(
            "Project {project} is already mandated with {chosen}: doing {item} instead changes "
            "the mandate's scope (续办委托书).", state=project.stage, project=project.code,
            chosen=before, item=item.code)
    chosen[item.choice] = item.code
    project.choices = chosen
    audit.record(session, project, actor=actor, now=utc(now), action="project.item_chosen",
                 data={"choice": item.choice, "item": item.code, "instead_of": before},
                 public=True)
    flush(session)
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
    service clock starts (the day of release does not count; the department's
    statutory clock starts at its 受理). Items that open on request wait until
    ``request_item`` names them in ``requested``."""
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
            task.released_on, task.clock = zone_today(now), "service"
            recompute_due(task, item)
            _transition(session, task, "release", actor=actor, now=now,
                        data={"due_on": task.due_on}, public=True)
            released.append(task)
    return released


def gating_items_open(definition: Definition, project: Project, stage: str) -> list[str]:
    """The items gating ``stage`` the project does (has a task for) and has
    not closed; an item it does not do (another alternative, a chemical-only
    item of a general project) gates nothing."""
    states = {t.item_code: t.state for t in project.tasks}
    return [i.code for i in definition.items_gating(stage)
            if i.code in states and states[i.code] not in ("done", "covered")]


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
        raise InvalidTransition("Project {project} cannot advance from {state}.",
                                state=project.stage, project=project.code)
    if target.code == "producing":
        # The areas' guards (标准地: a failed completion acceptance blocks production).
        hooks.run("project.produce", session, project)
    missing = gating_items_open(definition, project, target.code)
    if missing:
        raise InvalidTransition(
            "Project {project} cannot reach {target}: items still open: {items}.",
            missing=missing, state=project.stage, project=project.code, target=target.code,
            items=", ".join(missing))
    _fire_project(session, project, "advance", actor=actor, now=now, data={"auto": auto})
    # The zone's lifecycle gaps, for the predictions (a rare step: one audit read).
    predict.record_gap(session, project, project.stage, now=now)
    release_ready_tasks(session, project, actor=actor, now=now)
    # The areas' consequences (包联: the plan's milestone of this stage is achieved).
    hooks.run("project.advanced", session, project, actor=actor, now=now)


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
    """中止: the project and every open task stop; every running clock pauses."""
    reason = _require_text(reason, term("reason for the suspension"))
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    project.suspended_from = project.stage
    _fire_project(session, project, "suspend", actor=actor, now=now, data={"reason": reason})
    today = zone_today(now)
    for task in project.tasks:
        if machine_for(project).can(task, "suspend"):
            task.suspended_from = task.state
            if task.paused_since is None and task.state in CLOCK_STATES:
                _start_pause(session, task, today, f"project suspended: {reason}",
                             kind="suspension")
            _transition(session, task, "suspend", actor=actor, now=now, data={"reason": reason})
    flush(session)
    # The areas' consequences (the suspension slip, 中止告知书).
    hooks.run("project.suspended", session, project, actor=actor, now=now, reason=reason)
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
        # A task suspended while awaiting the enterprise or on hold at the
        # department stays paused.
        if task.state not in PAUSED_STATES:
            _end_pause(session, task, definition.items[task.item_code], today)
    flush(session)
    return project


def terminate_project(session: Session, project_id: int, *, actor: User | None, now: datetime,
                      reason: str) -> Project:
    """终止: the project ends; every task not yet closed is terminated."""
    reason = _require_text(reason, term("reason for the termination"))
    project = lock_project(session, project_id)
    permissions.require_project(actor, project)
    _fire_project(session, project, "terminate", actor=actor, now=now, data={"reason": reason})
    ended = []
    for task in project.tasks:
        if task.state not in CLOSED_STATES:
            task.closed_on = zone_today(now)
            _transition(session, task, "terminate", actor=actor, now=now, data={"reason": reason})
            ended.append(task.item_code)
    flush(session)
    # The areas' consequences (the termination slip, 终止告知书, listing what ended).
    hooks.run("project.terminated", session, project, actor=actor, now=now, reason=reason,
              items=ended)
    return project

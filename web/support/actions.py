"""Task actions shared by the pages and the JSON API.

Each action declares the model of its parameters (``INPUTS``: a page's form
or the API's JSON body, parsed at the edge by ``web.support.inputs``; the
OpenAPI document is generated from them) and calls exactly one engine
operation. Pages and API therefore share the same operations, the same
permission rules and the same errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.support.inputs import Day, Flag, Id, Input, Line, Maybe, Text, Whole, parse
from workflow.core import operations as ops
from workflow.kernel.errors import NotFound, ValidationError
from workflow.models import User


class Versioned(Input):
    version: Maybe(Id) = Field(None, description=(
        "The task version the caller last saw; a different current version answers 409 "
        "`conflict` and changes nothing."))


class AssignBody(Versioned):
    """A lead handler assigns a queued task (to the substitute if the agent is away)."""

    assignee: Line(80, 1) = Field(description="Username of an agent of the task's group.")
    reason: Text(2000) = Field("", description="Why (optional when assigning from the queue).")


class ReassignBody(Versioned):
    """A lead handler gives a task in work to another agent."""

    assignee: Line(80, 1) = Field(description="Username of the new agent.")
    reason: Text(2000) = Field(description="Why the task changes hands.")


class HandoffBody(Versioned):
    """The assignee hands the task to another agent of the group (续办)."""

    to: Line(80, 1) = Field(description="Username of the receiving agent.")
    reason: Text(2000) = Field(description="Why the task is handed off.")


class Material(Input):
    code: Line(64) = Field("", description="Short code of the material (default m1, m2, ...).")
    name: Line(200, 1) = Field(description="What is missing.")
    note: Text(500) = Field("", description="What exactly is wrong or needed.")


class RequestMaterialsBody(Versioned):
    """一次性告知: one notice listing everything missing, with a deadline; the clock pauses."""

    materials: list[Material] | Text(20000, 1) = Field(description=(
        "The missing materials: a list, or text with one material per line."))
    deadline: Day = Field(description="A day after today (zone time).")
    note: Text(2000) = Field("", description="A note to the enterprise.")


class NoteBody(Versioned):
    """A note goes with the step (the materials supplied, the submission)."""

    note: Text(2000) = Field("", description="A note for the record.")


class AcceptBody(Versioned):
    """受理: the department accepted the application; its statutory clock
    (行政许可法 Art. 42) counts from the acceptance date."""

    accepted_on: Maybe(Day) = Field(None, description=(
        "The acceptance date (受理日): not before the submission, not after today "
        "(default today, zone time)."))
    reference: Line(100) = Field("", description="The department's acceptance number, if any.")


class DepartmentPauseBody(Versioned):
    """The department stops its statutory clock for an expert review, a hearing or a
    test (行政许可法 Art. 45)."""

    kind: Literal["expert_review", "hearing", "testing", "other"]
    reason: Text(2000, 1) = Field(description="What the department is doing and why.")


class ApproveBody(Versioned):
    """Record the department's approval."""

    reference: Line(300) = Field("", description="Number of the approval document, if any.")


class DepartmentReturnBody(Versioned):
    """The department sent the application back."""

    reason: Text(2000, 1) = Field(description="The department's reason.")


class CoverBody(Versioned):
    """Waive the item: a regional evaluation or a commitment covers it."""

    reference: Line(300, 1) = Field(description="Reference of what covers the item.")
    kind: Literal["evaluation", "commitment"]


class RequestExtensionBody(Versioned):
    """Ask a lead handler for more days on the item's extension clock (the statutory
    one unless the definition names the service clock), in that limit's unit."""

    days: Whole(1, 3650) = Field(description="Days asked for, in the unit of the limit.")
    reason: Text(2000, 1) = Field(description="Why the extension is needed.")


class DecideExtensionBody(Input):
    """A lead handler approves or refuses an extension request (identified by
    `request_id`; the task version is not checked)."""

    request_id: Id = Field(description="The extension request being decided.")
    approve: Flag = Field(description="true approves, false refuses.")
    note: Text(2000) = Field("", description="Required when refusing.")


class CommentBody(Input):
    """Add a comment to the task's project."""

    body: Text(5000, 1) = Field(description="The comment.")
    public: Flag = Field(False, description="Visible to the enterprise.")


def _user(session: Session, name: str, key: str) -> User:
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise ValidationError(f"There is no user '{name}'.", field=key)
    return user


def _materials(raw: list[Material] | str) -> list[dict[str, str]]:
    """A list of materials, or text with one material per line."""
    if isinstance(raw, str):
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        if any(len(line) > 200 for line in lines):
            raise ValidationError("A material is at most 200 characters.", field="materials")
        return [{"code": f"m{n}", "name": line, "note": ""} for n, line in enumerate(lines, 1)]
    return [{"code": m.code or f"m{n}", "name": m.name, "note": m.note}
            for n, m in enumerate(raw, 1)]


Action = Callable[[Session, int, User, datetime, Any], Any]


def _simple(operation) -> Action:
    def run(session, task_id, actor, now, p):
        return operation(session, task_id, actor=actor, now=now, expected_version=p.version)
    return run


def _simply(name: str, description: str) -> type[Versioned]:
    """The model of an action that takes nothing but the version."""
    title = "".join(part.title() for part in name.split("_")) + "Body"
    return type(title, (Versioned,), {"__doc__": description, "__module__": __name__})


# Each action: the model of its parameters (a page's form or the API's JSON
# body) and what it runs. The OpenAPI document is generated from the models.
INPUTS: dict[str, type[Input]] = {
    "claim": _simply("claim", "An agent of the task's group takes it from the group queue."),
    "start": _simply("start", "The assignee starts work on the item."),
    "unassign": _simply("unassign", "Put the task back into the group queue."),
    "rework": _simply("rework", "Work again on an item the department returned."),
    "complete": _simply("complete",
                        "The result is handed over; dependent items enter their queues."),
    "request_item": _simply("request_item",
                            "Apply for an item that opens on request (completion acceptance "
                            "when the building is finished); its clock starts now."),
    "assign": AssignBody,
    "reassign": ReassignBody,
    "auto_assign": _simply("auto_assign",
                           "Assign to the least-loaded available agent of the item's "
                           "department."),
    "handoff": HandoffBody,
    "request_materials": RequestMaterialsBody,
    "supply_materials": NoteBody,
    "submit": NoteBody,
    "accept": AcceptBody,
    "department_pause": DepartmentPauseBody,
    "department_resume": NoteBody,
    "approve": ApproveBody,
    "department_return": DepartmentReturnBody,
    "cover": CoverBody,
    "request_extension": RequestExtensionBody,
    "decide_extension": DecideExtensionBody,
    "comment": CommentBody,
}

ACTIONS: dict[str, Action] = {
    "claim": _simple(ops.claim_task),
    "start": _simple(ops.start_task),
    "unassign": _simple(ops.unassign_task),
    "rework": _simple(ops.rework_task),
    "complete": _simple(ops.complete_task),
    "request_item": _simple(ops.request_item),
    "assign": lambda s, t, a, n, p: ops.assign_task(
        s, t, _user(s, p.assignee, "assignee"), actor=a, now=n, expected_version=p.version,
        reason=p.reason, expected_state="ready"),
    "reassign": lambda s, t, a, n, p: ops.assign_task(
        s, t, _user(s, p.assignee, "assignee"), actor=a, now=n, expected_version=p.version,
        reason=p.reason),
    "auto_assign": lambda s, t, a, n, p: ops.auto_assign(s, t, actor=a, now=n,
                                                         expected_version=p.version),
    "handoff": lambda s, t, a, n, p: ops.handoff_task(
        s, t, _user(s, p.to, "to"), actor=a, now=n, reason=p.reason,
        expected_version=p.version),
    "request_materials": lambda s, t, a, n, p: ops.request_materials(
        s, t, _materials(p.materials), deadline=p.deadline, actor=a, now=n, note=p.note,
        expected_version=p.version),
    "supply_materials": lambda s, t, a, n, p: ops.supply_materials(
        s, t, actor=a, now=n, note=p.note, expected_version=p.version),
    "submit": lambda s, t, a, n, p: ops.submit_task(
        s, t, actor=a, now=n, note=p.note, expected_version=p.version),
    "accept": lambda s, t, a, n, p: ops.accept_task(
        s, t, actor=a, now=n, accepted_on=p.accepted_on, reference=p.reference,
        expected_version=p.version),
    "department_pause": lambda s, t, a, n, p: ops.pause_statutory(
        s, t, kind=p.kind, reason=p.reason, actor=a, now=n, expected_version=p.version),
    "department_resume": lambda s, t, a, n, p: ops.resume_statutory(
        s, t, actor=a, now=n, note=p.note, expected_version=p.version),
    "approve": lambda s, t, a, n, p: ops.approve_task(
        s, t, actor=a, now=n, reference=p.reference, expected_version=p.version),
    "department_return": lambda s, t, a, n, p: ops.return_task(
        s, t, actor=a, now=n, reason=p.reason, expected_version=p.version),
    "cover": lambda s, t, a, n, p: ops.cover_task(
        s, t, reference=p.reference, kind=p.kind, actor=a, now=n, expected_version=p.version),
    "request_extension": lambda s, t, a, n, p: ops.request_extension(
        s, t, p.days, reason=p.reason, actor=a, now=n, expected_version=p.version),
    "decide_extension": lambda s, t, a, n, p: ops.decide_extension(
        s, _extension_of(s, t, p.request_id), approve=p.approve, actor=a, now=n, note=p.note),
    "comment": lambda s, t, a, n, p: ops.add_comment(
        s, _project_of(s, t), p.body, actor=a, now=n, task_id=t, public=p.public),
}


def _extension_of(session: Session, task_id: int, request_id: int) -> int:
    """The extension request, which must belong to the task in the URL."""
    from workflow.models import ExtensionRequest

    request = session.get(ExtensionRequest, request_id)
    if request is None or request.task_id != task_id:
        raise NotFound(f"Task {task_id} has no extension request {request_id}.")
    return request_id


def _project_of(session: Session, task_id: int) -> int:
    from workflow.models import ItemTask

    project_id = session.scalar(select(ItemTask.project_id).where(ItemTask.id == task_id))
    if project_id is None:
        raise NotFound(f"Task {task_id} does not exist.")
    return project_id


def run_action(session: Session, name: str, task_id: int, actor: User, now: datetime,
               params: Mapping[str, Any] | Input) -> Any:
    """Run action ``name`` on a task with the submitted parameters (a form,
    a JSON object, or its model already parsed). The ``version`` parameter,
    when present, is the task version the user saw."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"There is no task action '{name}'.")
    if not isinstance(params, Input):
        params = parse(INPUTS[name], params)
    return action(session, task_id, actor, now, params)


def act_on_task(session: Session, name: str, task_id: int, actor: User, now: datetime,
                params: Mapping[str, Any] | Input) -> tuple[Any, Any]:
    """Run a task action for a request: ``(task, result)``, the task as the
    operation left it. A task the actor may not see answers 404 whatever the
    refusal would have said (its existence does not leak).

    Whether the actor may see the task is decided on the task as the
    operation loaded it, before changing it (an agent who hands off a task of
    a project outside their groups could not see it afterwards), so a
    permitted action costs no extra statement; only a refusal, or an action
    that loads no task, looks the task up again."""
    from flask import abort

    from web.support.access import task_or_404
    from workflow.core import permissions
    from workflow.core.operations import TASK_LOADED
    from workflow.kernel.errors import WorkflowError
    from workflow.models import ItemTask

    visible: dict[int, bool] = {}

    def seen(task) -> None:
        visible.setdefault(task.id, permissions.can_view_project(actor, task.project))

    session.info[TASK_LOADED] = seen
    try:
        result = run_action(session, name, task_id, actor, now, params)
    except WorkflowError:
        session.rollback()
        task_or_404(task_id)
        raise
    finally:
        session.info.pop(TASK_LOADED, None)
    task = session.get(ItemTask, task_id)
    if task_id not in visible:  # the action loaded no task (a comment)
        visible[task_id] = task is not None and permissions.can_view_project(actor, task.project)
    if task is None or not visible[task_id]:
        session.rollback()
        abort(404)
    return task, result

"""Task actions shared by the pages and the JSON API.

Each action reads its parameters from a plain mapping (a form or a JSON
body), validates them into the engine's types and calls exactly one engine
operation. Pages and API therefore share the same operations, the same
permission rules and the same errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import operations as ops
from workflow.kernel.errors import NotFound, ValidationError
from workflow.models import User


def _text(params: Mapping[str, Any], key: str, default: str = "") -> str:
    value = params.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError(f"'{key}' must be text.")
    return value.strip()


def _int(params: Mapping[str, Any], key: str) -> int:
    value = params.get(key)
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"'{key}' must be a whole number.") from None


def _date(params: Mapping[str, Any], key: str) -> date:
    value = params.get(key)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"'{key}' must be a date as YYYY-MM-DD.") from None


def _bool(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on", "approve"):
        return True
    if str(value).lower() in ("0", "false", "no", "off", "refuse", ""):
        return False
    raise ValidationError(f"'{key}' must be true or false.")


def _user(session: Session, params: Mapping[str, Any], key: str) -> User:
    name = _text(params, key)
    if not name:
        raise ValidationError(f"Choose a user for '{key}'.")
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise ValidationError(f"There is no user '{name}'.")
    return user


def _materials(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """A JSON list of {code, name, note}, or form text with one material per line."""
    raw = params.get("materials")
    if isinstance(raw, list):
        items = raw
    else:
        lines = [line.strip() for line in str(raw or "").splitlines() if line.strip()]
        items = [{"code": f"m{n}", "name": line} for n, line in enumerate(lines, 1)]
    cleaned = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping) or not str(item.get("name", "")).strip():
            raise ValidationError(f"Material #{n} needs a name.")
        cleaned.append({"code": str(item.get("code") or f"m{n}")[:64],
                        "name": str(item["name"]).strip()[:200],
                        "note": str(item.get("note") or "").strip()[:500]})
    return cleaned


Action = Callable[[Session, int, User, datetime, Mapping[str, Any], int | None], Any]


def _simple(operation) -> Action:
    def run(session, task_id, actor, now, params, version):
        return operation(session, task_id, actor=actor, now=now, expected_version=version)
    return run


ACTIONS: dict[str, Action] = {
    "claim": _simple(ops.claim_task),
    "start": _simple(ops.start_task),
    "unassign": _simple(ops.unassign_task),
    "rework": _simple(ops.rework_task),
    "complete": _simple(ops.complete_task),
    "request_item": _simple(ops.request_item),
    "assign": lambda s, t, a, n, p, v: ops.assign_task(
        s, t, _user(s, p, "assignee"), actor=a, now=n, expected_version=v,
        reason=_text(p, "reason"), expected_state="ready"),
    "reassign": lambda s, t, a, n, p, v: ops.assign_task(
        s, t, _user(s, p, "assignee"), actor=a, now=n, expected_version=v,
        reason=_text(p, "reason")),
    "auto_assign": lambda s, t, a, n, p, v: ops.auto_assign(s, t, actor=a, now=n,
                                                            expected_version=v),
    "handoff": lambda s, t, a, n, p, v: ops.handoff_task(
        s, t, _user(s, p, "to"), actor=a, now=n, reason=_text(p, "reason"), expected_version=v),
    "request_materials": lambda s, t, a, n, p, v: ops.request_materials(
        s, t, _materials(p), deadline=_date(p, "deadline"), actor=a, now=n,
        note=_text(p, "note"), expected_version=v),
    "supply_materials": lambda s, t, a, n, p, v: ops.supply_materials(
        s, t, actor=a, now=n, note=_text(p, "note"), expected_version=v),
    "submit": lambda s, t, a, n, p, v: ops.submit_task(
        s, t, actor=a, now=n, note=_text(p, "note"), expected_version=v),
    "approve": lambda s, t, a, n, p, v: ops.approve_task(
        s, t, actor=a, now=n, reference=_text(p, "reference"), expected_version=v),
    "department_return": lambda s, t, a, n, p, v: ops.return_task(
        s, t, actor=a, now=n, reason=_text(p, "reason"), expected_version=v),
    "cover": lambda s, t, a, n, p, v: ops.cover_task(
        s, t, reference=_text(p, "reference"), kind=_text(p, "kind"), actor=a, now=n,
        expected_version=v),
    "request_extension": lambda s, t, a, n, p, v: ops.request_extension(
        s, t, _int(p, "days"), reason=_text(p, "reason"), actor=a, now=n, expected_version=v),
    "decide_extension": lambda s, t, a, n, p, v: ops.decide_extension(
        s, _extension_of(s, t, _int(p, "request_id")), approve=_bool(p, "approve"), actor=a,
        now=n, note=_text(p, "note")),
    "comment": lambda s, t, a, n, p, v: ops.add_comment(
        s, _project_of(s, t), _text(p, "body"), actor=a, now=n, task_id=t,
        public=_bool(p, "public") if "public" in p else None),
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
               params: Mapping[str, Any]) -> Any:
    """Run action ``name`` on a task with the submitted parameters. The
    ``version`` parameter, when present, is the task version the user saw."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"There is no task action '{name}'.")
    version = _int(params, "version") if params.get("version") not in (None, "") else None
    return action(session, task_id, actor, now, params, version)


def act_on_task(session: Session, name: str, task_id: int, actor: User, now: datetime,
                params: Mapping[str, Any]) -> tuple[Any, Any]:
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

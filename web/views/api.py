"""The JSON API under ``/api/v1``: the pages' operations and permission rules
for scripts and other systems.

Authentication is the login session (then CSRF applies: send the token in the
``X-CSRFToken`` header) or ``Authorization: Bearer <token>`` from ``daiban
token create USERNAME`` (no CSRF: no cookie is involved). Unauthenticated
calls get a JSON 401, never the login page. Objects the user may not see
answer 404 exactly as the pages do (``web.support.access``); task actions run through
``web.support.actions.act_on_task`` and their refusals come from ``web.support.errors``.
The document at ``/api/v1/openapi.json`` (``web.views.openapi``) describes it all.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload, object_session

from web.support.access import is_public, me, project_or_404, public, requires
from web.support.actions import INPUTS, act_on_task
from web.support.db import db
from web.support.inputs import Id, Input, Line, Maybe, Whole, json_body, parse, query
from web.support.paging import Page
from web.support.security import now
from web.views.openapi import document
from web.views.requests import ListArgs as RequestListArgs
from web.views.supervision import WatchScope
from workflow.core import clocks, figures, hooks, lights, permissions, queries
from workflow.core.operations import (
    available_actions,
    definition_for,
    pending_extensions,
    zone_today,
)
from workflow.core.predict import MILESTONES
from workflow.core.prediction_store import forecast_of
from workflow.kernel import paging
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.moments import ZONE_TZ, aware
from workflow.models import (
    Comment,
    ExtensionRequest,
    ItemTask,
    MaterialRequest,
    Project,
)
from workflow.reforms import baolian
from workflow.reforms import requests as req

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate():
    """Every route but the document needs a user: a JSON 401 otherwise."""
    if is_public(current_app.view_functions.get(request.endpoint)) or \
            current_user.is_authenticated:
        return None
    response = jsonify(error="unauthorized",
                       message="Log in, or send 'Authorization: Bearer <token>' "
                               "(issued by `daiban token create USERNAME`).")
    response.headers["WWW-Authenticate"] = 'Bearer realm="daiban"'
    return response, 401


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(document())


class OverdueArgs(WatchScope, Page):
    """The overdue list's filters (codes and usernames exactly): the watch
    list's (``web.views.supervision.WatchScope``), red items only."""

    min_days_late: Maybe(Whole(0, figures.MAX_DAYS_LATE)) = Field(
        None, description="Only tasks at least this many working days late.")


class ProjectPath(Input):
    code: Line(40, 1) = Field(description="项目代码")


class RequestArgs(RequestListArgs, Page):
    """The enterprise requests' filters, as the staff's list page reads them
    (``web.views.requests.ListArgs``), and the page."""


class RequestPath(Input):
    request_id: Id = Field(description="The request's number (编号).")


# What each route reads, for the OpenAPI document (web.views.openapi).
QUERIES = {"inbox": Page, "overdue": OverdueArgs, "requests": RequestArgs}
PATHS = {"project": ProjectPath, "request": RequestPath}


@bp.get("/inbox")
@requires(permissions.can_use_inbox)
def inbox():
    args = query(Page)
    cursor, limit = args.cursor, args.limit or paging.DEFAULT_LIMIT
    today = zone_today(now())
    page = queries.inbox_page(db(), me(), cursor=cursor, limit=limit)
    pending = pending_extensions(db(), [t.id for t in page.rows])
    with hooks.offering(db(), page.rows):
        rows = [task_json(t, today, pending) for t in page.rows]
    return jsonify(_listed(rows, page, today))


@bp.get("/projects/<code>")
@requires(permissions.can_sign_in)
def project(code: str):
    project = project_or_404(parse(ProjectPath, {"code": code}).code)
    # Every task's group and assignee in one statement, not one per task.
    db().scalars(select(ItemTask).where(ItemTask.project_id == project.id)
                 .options(joinedload(ItemTask.group), joinedload(ItemTask.assignee))).all()
    return jsonify(project_json(project, zone_today(now())))


@bp.get("/projects/<code>/prediction")
@requires(permissions.can_sign_in)
def prediction(code: str):
    """The project's predicted dates (``workflow.core.predict``) and its planned ones."""
    project = project_or_404(parse(ProjectPath, {"code": code}).code)
    return jsonify(prediction_json(project))


@bp.post("/tasks/<int:task_id>/<action>")
@requires(permissions.can_sign_in)
def act(task_id: int, action: str):
    if action not in INPUTS:
        raise NotFound(f"There is no task action '{action[:64]}'.")
    body = json_body(INPUTS[action])
    task, result = act_on_task(db(), action, task_id, me(), now(), body)
    if isinstance(result, ExtensionRequest) and result.task_id != task.id:
        # decide_extension finds its request by id: keep it to the task in the URL.
        raise ValidationError(f"Extension request {result.id} belongs to another task.")
    db().commit()
    answer = {"task": task_json(task, zone_today(now()))}
    if isinstance(result, (MaterialRequest, ExtensionRequest)):
        answer["request_id"] = result.id
    elif isinstance(result, Comment):
        answer["comment_id"] = result.id
    return jsonify(answer)


@bp.get("/supervision/overdue")
@requires(permissions.can_supervise)
def overdue():
    user, args = me(), query(OverdueArgs)
    cursor, limit = args.cursor, args.limit or paging.DEFAULT_LIMIT
    today = zone_today(now())
    scope = permissions.group_ids(user) if user.role == "lead" else None
    filters = overdue_filter(args, scope)
    page = figures.watch_page(db(), today, filters, scope, cursor=cursor, limit=limit)
    pending = pending_extensions(db(), [r.task.id for r in page.rows])
    with hooks.offering(db(), [r.task for r in page.rows]):
        rows = [dict(task_json(r.task, today, pending), days_late=max(r.days_late, 0))
                for r in page.rows]
    return jsonify(_listed(rows, page, today))


@bp.get("/requests")
@requires(permissions.can_sign_in)
def requests_list():
    """Enterprise requests (企业诉求), newest first, with the staff list's
    filters: staff see what the list page shows them, an enterprise its own."""
    args = query(RequestArgs)
    today = zone_today(now())
    page = req.request_page(db(), me(), args.filters(), today=today, cursor=args.cursor,
                            limit=args.limit or paging.DEFAULT_LIMIT)
    departments = req.departments(db())
    return jsonify(_listed([request_json(r, today, departments) for r in page.rows], page,
                           today, key="requests"))


@bp.get("/requests/<int:request_id>")
@requires(permissions.can_sign_in)
def request_detail(request_id: int):
    """One request, 404 when the caller may not see it (as its pages answer)."""
    row = req.load_for(db(), parse(RequestPath, {"request_id": request_id}).request_id, me())
    return jsonify(request_json(row, zone_today(now()), req.departments(db())))


def _listed(rows: list[dict], page: paging.Page, today: date, key: str = "tasks") -> dict:
    """A page of a list as the API answers it (``TaskList`` in the document;
    ``key`` names the rows)."""
    return {key: rows, "count": len(rows), "today": today.isoformat(), "limit": page.limit,
            "next": page.next, "prev": page.prev}


# -- helpers: request input ----------------------------------------------------------------

def overdue_filter(args: OverdueArgs, scope: set[int] | None) -> figures.WatchFilter:
    """The overdue list's filters: red items only; a group or agent that does
    not exist (or is outside a lead's groups) matches nothing."""
    group_id = agent_id = None
    if args.group is not None:
        group_id = queries.group_id_of(db(), args.group)
        group_id = group_id if group_id is not None and (scope is None or group_id in scope) else -1
    if args.agent is not None:
        agent_id = queries.user_id_of(db(), args.agent)
        agent_id = agent_id if agent_id is not None else -1
    return figures.WatchFilter(
        group_id=group_id, agent_id=agent_id, department=args.department,
        item_code=args.item, light="red", min_days_late=args.min_days_late or None)


# -- helpers: JSON shapes (documented in web.views.openapi) -----------------------------------------

def _named(code: str, obj) -> dict:
    return {"code": code, "name_zh": obj.name_zh if obj else code,
            "name_en": obj.name_en if obj else code}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: datetime | None) -> str | None:
    """A stored moment in the zone's time, with its offset."""
    return aware(value).astimezone(ZONE_TZ).isoformat() if value else None


def request_json(row, today: date, departments: dict) -> dict:
    """One enterprise request as the API shows it (``ServiceRequest`` in the
    document); ``departments``: the zone's, by code, read once for a list."""
    department = (_named(row.department, departments.get(row.department))
                  if row.department else None)
    return {
        "id": row.id, "version": row.version, "title": row.title, "text": row.text,
        "kind": row.kind, "source": row.source, "status": row.status,
        "complexity": row.complexity,
        "enterprise": {"id": row.enterprise_id, "name": row.enterprise.name,
                       "credit_code": row.enterprise.credit_code},
        "department": department,
        "submitted_at": _moment(row.submitted_at), "submitted_on": _day(row.submitted_on),
        "arrange_due_on": _day(row.arrange_due_on),
        "feedback_due_on": _day(row.feedback_due_on),
        "solve_due_on": _day(row.solve_due_on), "due_on": _day(row.due_on),
        "overdue_steps": [step for step, _due in req.overdue_steps(row, today)],
        "arranged_at": _moment(row.arranged_at), "arrangement": row.arrangement,
        "feedback_at": _moment(row.feedback_at), "feedback": row.feedback,
        "solved_at": _moment(row.solved_at), "solution": row.solution,
        "reopened_times": row.reopened_times,
        "rating": row.rating, "rating_comment": row.rating_comment,
        "rated_at": _moment(row.rated_at), "closed_at": _moment(row.closed_at),
    }


def task_json(task: ItemTask, today: date, pending: set[int] | None = None) -> dict:
    """One task as the API shows it; ``pending`` (the tasks of a list with an
    extension request waiting, computed once for the list) decides whether an
    extension is among its actions without a query per row."""
    definition = definition_for(task.project)
    project = task.project
    return {
        "id": task.id,
        "version": task.version,
        "project": {"code": project.code, "name": project.name,
                    "enterprise": project.enterprise.name},
        "item": _named(task.item_code, definition.items.get(task.item_code)),
        "state": task.state,
        "group": _named(task.group.code, task.group),
        "department": _named(task.department, definition.departments.get(task.department)),
        "assignee": task.assignee.username if task.assignee else None,
        "accepted_on": _day(task.accepted_on),
        "due_on": _day(task.due_on),
        "due_provisional": task.due_provisional,
        "clock": task.clock,
        "whose_time": clocks.whose_time(task),
        "clocks": {name: _clock_json(task, name) for name in ("service", "statutory")},
        "light": lights.light(task, today),
        "working_days_left": lights.working_days_left(task, today),
        "closed_on": _day(task.closed_on),
        "actions": available_actions(task, me(), pending=pending),
    }


def _clock_json(task: ItemTask, name: str) -> dict:
    """One clock of a task: started (the release; the 受理, or the submission
    while it is not recorded), due, stopped (the submission; the decision)."""
    return {"started_on": _day(clocks.start_of(task, name)),
            "due_on": _day(task.service_due_on if name == "service" else task.statutory_due_on),
            "stopped_on": _day(clocks.stop_of(task, name)),
            "paused_days": clocks.paused(task, name),
            "extension_days": clocks.extensions(task, name)}


def prediction_json(project: Project) -> dict:
    """The stored prediction with its as-of time (``forecast_of``; null for a
    project that no longer moves), each milestone's planned date (the 包联
    plan's or the agreement's) and each open item's expected dates."""
    session = object_session(project)
    forecast = forecast_of(session, project, now=now())
    planned = {p.milestone: p for p in baolian.planned_milestones(session, project.id)
               if p.milestone}
    milestones = {m: {"planned_on": _day(planned[m].day) if m in planned else None,
                      "planned_source": planned[m].source if m in planned else None,
                      "predicted_on": _day(forecast.milestones[m]) if forecast else None,
                      "reached": bool(forecast and m in forecast.reached)}
                  for m in MILESTONES}
    if forecast is None:
        return {"code": project.code, "as_of": None, "stale": False, "stale_reason": None,
                "provisional": False, "critical_item": None, "milestones": milestones, "items": []}
    order = list(definition_for(project).items)
    items = sorted(forecast.items.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    reason = ("changed" if forecast.changed else "day") if forecast.stale else None
    return {"code": project.code, "as_of": forecast.as_of.isoformat(), "stale": forecast.stale,
            "stale_reason": reason, "provisional": forecast.provisional,
            "critical_item": forecast.critical_item,
            "milestones": milestones,
            "items": [{"item": code, "predicted_start": _day(i.start), "predicted_end": _day(i.end),
                       "released": i.released, "critical": i.critical,
                       "provisional": i.provisional, "basis": i.basis} for code, i in items]}


def project_json(project: Project, today: date) -> dict:
    order = list(definition_for(project).items)
    tasks = sorted(project.tasks, key=lambda t: (order.index(t.item_code)
                                                 if t.item_code in order else len(order), t.id))
    pending = pending_extensions(object_session(project), [t.id for t in tasks])
    with hooks.offering(object_session(project), tasks):
        rows = [task_json(t, today, pending) for t in tasks]
    return {
        "code": project.code,
        "name": project.name,
        "enterprise": project.enterprise.name,
        "industry": project.industry,
        "group": _named(project.group.code, project.group),
        "lead": project.lead.username if project.lead else None,
        "stage": project.stage,
        "definition_version": project.definition_version.version,
        "light": lights.worst([row["light"] for row in rows]),
        "version": project.version,
        "tasks": rows,
        "prediction": prediction_json(project),
    }

"""The lead handler's desk (领办台): the projects they lead, every open task of
their groups with red and yellow first, inline assignment, and the extension
requests waiting for their decision. The forms post to the shared task-action
route (``inbox.act``), so the desk changes nothing by itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, render_template, request

from web.access import me, roles_required
from web.db import db
from web.present import TaskRow, filter_rows, task_row, task_rows
from web.security import now
from workflow import admin_ops, lights, queries, supervision
from workflow.models import CLOSED_STATES, INBOX_STATES, Project
from workflow.operations import available_actions, zone_today

bp = Blueprint("desk", __name__)

QUEUE = "-"  # the agent filter's value for "not yet assigned"
ASSIGN_ACTIONS = ("assign", "reassign")


@dataclass
class ProjectLine:
    project: Project
    light: str
    red: int
    yellow: int
    in_work: int
    open_items: int


@bp.route("/desk")
@roles_required("lead", "admin")
def index():
    session, today, user = db(), zone_today(now()), me()
    groups = admin_ops.desk_groups(session, user)
    group_ids = [g.id for g in groups]
    rows = urgent_first(task_rows(queries.group_tasks(session, group_ids), today))
    extensions = [(e, task_row(e.task, today))
                  for e in admin_ops.pending_extensions(session, group_ids)]
    agents = admin_ops.group_agents(session, group_ids)
    counts = {"red": sum(r.light == "red" for r in rows),
              "yellow": sum(r.light == "yellow" for r in rows), "extensions": len(extensions)}
    shown = filter_desk(rows, request.args)
    return render_template(
        "desk.html", rows=shown, total=len(rows), counts=counts, extensions=extensions,
        projects=project_lines(admin_ops.led_projects(session, user), today), groups=groups,
        agents=agents, agent_list=unique_agents(agents), today=today, args=request.args,
        actions={r.task.id: desk_actions(r) for r in shown}, queue=QUEUE,
        notices=supervision.open_notices_for(session, user))


def urgent_first(rows: list[TaskRow]) -> list[TaskRow]:
    """Red, then yellow, then the rest; within each, the earliest due date first."""
    return sorted(rows, key=lambda r: (-lights.ORDER.get(r.light or "green", 0),
                                       r.task.due_on or date.max, r.task.id))


def filter_desk(rows: list[TaskRow], args) -> list[TaskRow]:
    """The inbox filters (state, item, light, project) plus group and agent."""
    rows = filter_rows(rows, args)
    group, agent = args.get("group", "").strip(), args.get("agent", "").strip()
    if group:
        rows = [r for r in rows if r.task.group.code == group]
    if agent == QUEUE:
        rows = [r for r in rows if r.task.assignee_id is None]
    elif agent:
        rows = [r for r in rows if r.task.assignee and r.task.assignee.username == agent]
    return rows


def desk_actions(row: TaskRow) -> list[str]:
    allowed = available_actions(row.task, me())
    actions = [a for a in ASSIGN_ACTIONS if a in allowed]
    if "assign" in actions:
        actions.insert(1, "auto_assign")
    return actions


def unique_agents(agents: dict[int, list]) -> list:
    seen = {u.id: u for members in agents.values() for u in members}
    return sorted(seen.values(), key=lambda u: (u.display_name, u.username))


def project_lines(projects: list[Project], today: date) -> list[ProjectLine]:
    """One line per project: stage, worst light, red/yellow items, open items."""
    lines = []
    for project in projects:
        shades = [lights.light(t, today) for t in project.tasks]
        lines.append(ProjectLine(
            project=project, light=lights.worst(shades),
            red=shades.count("red"), yellow=shades.count("yellow"),
            in_work=sum(t.state in ("ready",) + INBOX_STATES for t in project.tasks),
            open_items=sum(t.state not in CLOSED_STATES for t in project.tasks)))
    return sorted(lines, key=lambda line: (-lights.ORDER[line.light], -line.red, -line.yellow,
                                           line.project.code))

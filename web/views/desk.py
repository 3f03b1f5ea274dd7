"""The lead handler's desk (领办台): the projects they lead, every open task of
their groups with red and yellow first, inline assignment, and the extension
requests waiting for their decision. Each of the three lists is a page of its
own (cursors ``cursor``, ``pcursor`` and ``xcursor``). The forms post to the
shared task-action route (``inbox.act``), so the desk changes nothing by itself."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from web.support import labels
from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Line, Maybe, query
from web.support.paging import Sorting, page_args
from web.support.present import TaskRow, item_choices, task_row, task_rows
from web.support.saved import saved_links
from web.support.security import now
from web.views.inbox import TaskArgs, filter_query
from web.views.workload import chart_of
from workflow.core import desk as lead_desk
from workflow.core import hooks, permissions, queries, rollups, supervision
from workflow.core import workload as lead_workload
from workflow.core.operations import available_actions, zone_today
from workflow.kernel import paging
from workflow.kernel.registry import current_version, definition_of
from workflow.models import IndustryGroup, User

bp = Blueprint("desk", __name__)

QUEUE = "-"  # the agent filter's value for "not yet assigned"
ASSIGN_ACTIONS = ("assign", "reassign")


class DeskArgs(TaskArgs):
    """The desk's filters: the inbox's, one of the lead's groups (by code) and
    an agent of them (by username, or ``QUEUE``). A group or agent that is not
    the lead's matches nothing (the page shows an empty list, not an error)."""

    group: Maybe(Line(64)) = None
    agent: Maybe(Line(80)) = None
    sort: Maybe(Literal[queries.DESK_SORTS]) = None  # type: ignore[valid-type]
    dir: Maybe(Literal[queries.DIRECTIONS]) = None  # type: ignore[valid-type]


@bp.route("/desk")
@requires(permissions.can_lead)
def index():
    session, today, user = db(), zone_today(now()), me()
    groups = lead_desk.desk_groups(session, user)
    group_ids = [g.id for g in groups]
    agents = lead_desk.group_agents(session, group_ids)
    args = query(DeskArgs)
    cursor, limit = page_args()
    page = queries.group_tasks(session, shown_groups(groups, args.group), today,
                               filters=desk_filter(args, agents), sort=args.sort or "light",
                               direction=args.dir or "asc", cursor=cursor, limit=limit)
    rows = task_rows(page.rows, today)
    extensions = lead_desk.pending_extensions(session, group_ids, cursor=page_args("xcursor")[0],
                                              limit=limit)
    counts = desk_counts(session, group_ids, today)
    definition = definition_of(current_version(session))
    forecast = lead_workload.forecast(session, today, groups=groups, label_of=labels.name_of,
                                      default=definition.agent_capacity)
    return render_template(
        "desk/index.html", rows=rows, page=page, counts=counts, extensions=extensions,
        extension_rows={e.request.id: task_row(e.task, today) for e in extensions},
        projects=lead_desk.led_projects(session, user, today, cursor=page_args("pcursor")[0],
                                        limit=limit),
        groups=groups, agents=agents, agent_list=unique_agents(agents), items=item_choices(definition),
        agent_options=AgentOptions(agents),
        today=today, args=request.args, actions=desk_actions_of(rows),
        forecast=forecast, chart=chart_of,
        queue=QUEUE, notices=supervision.open_notices_for(session, user),
        sorting=Sorting(queries.DESK_SORTS, args.sort or "light", args.dir),
        saved=saved_links(session, user, "desk", DeskArgs, request.query_string.decode()),
        filter_query=filter_query(DeskArgs))


def desk_counts(session, group_ids: list[int], today) -> dict:
    """The desk's figures: red and yellow tasks from the open-item rollup
    (exact, as of the scheduler's last sweep today) or else counted live up
    to the cap; open tasks and pending extensions counted live. One round trip."""
    counts = dict.fromkeys(("red", "yellow", "open", "extensions"), paging.Count(0, True))
    counts["as_of"] = None
    if not group_ids:
        return counts
    live = queries.desk_count_queries(group_ids, today)
    rolled = rollups.light_counts(session, today, group_ids=group_ids)
    if rolled is not None:
        del live["red"], live["yellow"]
        counts |= {"red": paging.Count(rolled.red, True), "yellow": paging.Count(rolled.yellow, True),
                   "as_of": rolled.as_of}
    return counts | paging.counts_upto(session, live | {"extensions": lead_desk.pending_query(group_ids)})


def shown_groups(groups: list[IndustryGroup], group: str | None) -> list[int]:
    """The desk's groups, or the one chosen in the filter (none when the
    chosen code is not one of them)."""
    return [g.id for g in groups if not group or g.code == group]


def desk_filter(args: DeskArgs, agents: dict[int, list[User]]) -> queries.TaskFilter:
    """The inbox filters (state, item, light, project) plus the agent: a
    username of the groups' agents, or ``QUEUE`` for tasks nobody holds."""
    if args.agent == QUEUE:
        return args.task_filter(unassigned=True)
    if args.agent:
        found = next((u.id for members in agents.values() for u in members
                      if u.username == args.agent), -1)  # not one of theirs: nothing matches
        return args.task_filter(assignee_id=found)
    return args.task_filter()


class AgentOptions:
    """The agents of a group as the assignment forms' ``<option>``s, each
    group (and agent left out: the current assignee of a reassignment)
    rendered once per page rather than once per row."""

    def __init__(self, agents: dict[int, list[User]]) -> None:
        self.agents = agents
        self.rendered: dict[tuple[int, int | None], Markup] = {}

    def __call__(self, group_id: int, exclude: int | None = None) -> Markup:
        key = (group_id, exclude)
        if key not in self.rendered:
            options = [Markup('<option value="">{}</option>').format(_("选择代办员"))]
            for agent in self.agents.get(group_id, []):
                if agent.id == exclude:
                    continue
                away = ""
                if agent.away:
                    away = (_("（外出，由%(name)s代理）", name=agent.substitute.display_name)
                            if agent.substitute else _("（外出，无代理人）"))
                options.append(Markup('<option value="{}">{}{}</option>').format(
                    agent.username, agent.display_name, " " + away if away else ""))
            self.rendered[key] = Markup("").join(options)
        return self.rendered[key]


def desk_actions_of(rows: list[TaskRow]) -> dict[int, list[str]]:
    """The rows' actions, the areas' look-ups read once for the page."""
    with hooks.offering(db(), [r.task for r in rows]):
        return {r.task.id: desk_actions(r) for r in rows}


def desk_actions(row: TaskRow) -> list[str]:
    # Only the assignment actions are offered here: no extension request is
    # looked up (an empty ``pending`` spares a query per row).
    allowed = available_actions(row.task, me(), pending=set())
    actions = [a for a in ASSIGN_ACTIONS if a in allowed]
    if "assign" in actions:
        actions.insert(1, "auto_assign")
    return actions


def unique_agents(agents: dict[int, list]) -> list:
    seen = {u.id: u for members in agents.values() for u in members}
    return sorted(seen.values(), key=lambda u: (u.display_name, u.username))

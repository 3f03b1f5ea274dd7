"""The agent's inbox (代办员): my tasks, my group's queue, my archive, and the
task page where the work is done."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.support import labels
from web.support.access import local_target, me, requires, task_or_404
from web.support.actions import act_on_task
from web.support.db import db
from web.support.inputs import Input, Line, Maybe, form, query
from web.support.paging import Sorting, limit_arg, page_args
from web.support.present import item_choices, task_row, task_rows
from web.support.saved import canonical, saved_links
from web.support.security import now
from workflow.core import history, permissions, queries, supervision
from workflow.core.extensions import granted as extension_granted
from workflow.core.models import TASK_STATES
from workflow.core.operations import available_actions, definition_for, zone_today

bp = Blueprint("inbox", __name__)

TABS = ("mine", "queue", "archive")
PAGES = {"mine": queries.my_tasks, "queue": queries.group_queue}


class TaskArgs(Input):
    """The filters of the task lists (the inbox's tabs, the desk): a state, an
    item, a light, a fragment of the project's code or name."""

    state: Maybe(Literal[TASK_STATES]) = None  # type: ignore[valid-type]
    item: Maybe(Line(64)) = None
    light: Maybe(Literal[queries.LIGHTS]) = None  # type: ignore[valid-type]
    project: Maybe(Line(100)) = None

    def task_filter(self, **extra) -> queries.TaskFilter:
        """The engine's filter (``extra``: the desk's agent or queue)."""
        return queries.TaskFilter(state=self.state, item_code=self.item, light=self.light,
                                  project=self.project, **extra)


class InboxArgs(TaskArgs):
    tab: Maybe(Literal[TABS]) = None  # mine when not given
    sort: Maybe(Literal[queries.SORTS]) = None  # type: ignore[valid-type]
    dir: Maybe(Literal[queries.DIRECTIONS]) = None  # type: ignore[valid-type]


# The column sorts of each tab (the queue holds ready tasks only: no state).
TAB_SORTS = {"mine": ("light", "project", "item", "state", "due"),
             "queue": ("light", "project", "item", "due"), "archive": ()}


class NextForm(Input):
    """Where a task action's form returns to (this site's pages only)."""

    next: Line(2000) = ""


@bp.route("/inbox")
@requires(permissions.can_use_inbox)
def index():
    """One page of a tab (mine, my groups' queue, my archive), filtered and
    sorted in the database; the tab counts come from the database too."""
    args = query(InboxArgs)
    tab = args.tab or "mine"
    session, user, today = db(), me(), zone_today(now())
    cursor, limit = page_args()
    filters = args.task_filter()
    if tab == "archive":
        page = queries.archive(session, user, today, filters=filters, cursor=cursor, limit=limit)
    else:
        page = PAGES[tab](session, user, today, filters=filters, cursor=cursor, limit=limit,
                          sort=args.sort or "due", direction=args.dir or "asc")
    sort = "due" if tab == "queue" and args.sort == "state" else args.sort or "due"
    return render_template("inbox/index.html", tab=tab, page=page, rows=task_rows(page.rows, today),
                           counts=queries.inbox_counts(session, user), items=item_choices(),
                           today=today, args=request.args,
                           sorting=Sorting(TAB_SORTS[tab], sort, args.dir),
                           saved=saved_links(session, user, "inbox", InboxArgs,
                                             request.query_string.decode()),
                           filter_query=filter_query(InboxArgs),
                           notices=supervision.open_notices_for(session, user))


def filter_query(model) -> str:
    """The page's filter as its model writes it (what "save this filter" saves)."""
    return canonical(model, request.query_string.decode())


@bp.route("/tasks/<int:task_id>")
@requires(permissions.can_sign_in)
def task(task_id: int):
    """The task's file and the actions its state allows. Its comments,
    materials requests, extension requests and files are pages of their own,
    newest first; its history shows the latest events (the audit page,
    filtered to the task, has them all)."""
    task = task_or_404(task_id)
    if me().role == "enterprise":
        return redirect(url_for("portal.project", code=task.project.code))
    today = zone_today(now())
    definition = definition_for(task.project)
    session, limit = db(), limit_arg()
    return render_template(
        "inbox/task.html", row=task_row(task, today), item=definition.items[task.item_code],
        definition=definition, actions=available_actions(task, me()), today=today,
        comments=history.task_comments(session, task, cursor=page_args("comments")[0],
                                       limit=limit),
        requests=history.task_material_requests(session, task, cursor=page_args("requests")[0],
                                                limit=limit),
        extensions=history.task_extensions(session, task, cursor=page_args("extensions")[0],
                                           limit=limit),
        events=history.task_history(session, task),
        files=history.task_files(session, task, cursor=page_args("files")[0], limit=limit),
        members=_group_agents(task), labels=labels,
        may_decide=permissions.can_decide_extension(me(), task),
        extension_left=max(definition.items[task.item_code].max_extension_days
                           - extension_granted(task, definition.items[task.item_code]), 0))


def _group_agents(task):
    from sqlalchemy import select

    from workflow.models import GroupMembership, User

    return db().scalars(select(User).join(GroupMembership, GroupMembership.user_id == User.id)
                        .where(GroupMembership.group_id == task.group_id, User.role == "agent",
                               User.active.is_(True)).order_by(User.username)).all()


@bp.route("/tasks/<int:task_id>/<action>", methods=["POST"])
@requires(permissions.can_work_as_staff)
def act(task_id: int, action: str):
    target = form(NextForm).next
    task, _result = act_on_task(db(), action, task_id, me(), now(), request.form)
    db().commit()
    flash(_("已完成：%(action)s", action=labels.ACTIONS.get(action, action)), "ok")
    return redirect(local_target(target, url_for("inbox.task", task_id=task.id)))

"""What the list pages share: one search across the projects a person may
see, saved filters of the inbox and the desk, bulk claim (an agent, from the
group queue) and bulk assign (a lead handler, from the desk).

A bulk request is all or nothing: every task goes through the engine's own
claim or assign operation (``workflow.core.bulk``) in the request's one
transaction; the first refusal rolls all of it back and the page says which
task could not be taken and why (a task claimed meanwhile by someone else is
such a refusal, not an error page)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy import select

from web.support import labels
from web.support.access import local_target, me, requires
from web.support.db import db
from web.support.errors import user_message
from web.support.inputs import Id, Input, InputError, Line, Maybe, form, query
from web.support.paging import page_args
from web.support.saved import canonical
from web.support.security import now
from web.views.desk import DeskArgs
from web.views.inbox import InboxArgs
from workflow.accounts import saved_filters
from workflow.core import bulk, permissions, search
from workflow.core.operations import definition_for
from workflow.kernel.errors import NotFound, NotPermitted
from workflow.models import ItemTask, User

bp = Blueprint("lists", __name__)

PAGES = {"inbox": ("inbox.index", InboxArgs), "desk": ("desk.index", DeskArgs)}


# -- search --------------------------------------------------------------------------------

class SearchArgs(Input):
    q: Maybe(Line(search.MAX_LENGTH)) = None


@bp.route("/search")
@requires(permissions.can_sign_in)
def search_page():
    """Projects by a fragment of their code or name or their enterprise's
    name, among those the person may see, by code, a page at a time."""
    text = query(SearchArgs).q
    cursor, limit = page_args()
    page, error = None, None
    if text is not None and len(text) < search.MIN_LENGTH:
        error = _("请至少输入 %(n)s 个字", n=search.MIN_LENGTH)
    elif text:
        page = search.search_projects(db(), me(), text, cursor=cursor, limit=limit)
    return render_template("lists/search.html", q=text or "", page=page, error=error,
                           enterprise=me().role == "enterprise")


# -- saved filters -------------------------------------------------------------------------

class SaveFilterForm(Input):
    page: Literal[tuple(PAGES)]  # type: ignore[valid-type]
    name: Line(saved_filters.NAME_LENGTH, 1)
    query: Line(saved_filters.QUERY_LENGTH) = ""


class DeleteFilterForm(Input):
    page: Literal[tuple(PAGES)]  # type: ignore[valid-type]


@bp.route("/filters", methods=["POST"])
@requires(permissions.can_work_as_staff)
def save_filter():
    """Save the filter shown on the inbox or the desk under a name: the
    query string is parsed by that page's model and stored as it writes it
    back (a bad value is refused, naming the field)."""
    args = form(SaveFilterForm)
    endpoint, model = PAGES[args.page]
    allowed = permissions.can_lead if args.page == "desk" else permissions.can_use_inbox
    if not allowed(me()):
        abort(403)
    text = canonical(model, args.query)
    saved_filters.save_filter(db(), me(), args.page, args.name, text, now=now())
    db().commit()
    flash(_("已保存筛选：%(name)s", name=args.name), "ok")
    return redirect(url_for(endpoint) + (f"?{text}" if text else ""))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@requires(permissions.can_work_as_staff)
def delete_filter(filter_id: int):
    endpoint, _model = PAGES[form(DeleteFilterForm).page]
    saved = saved_filters.delete_filter(db(), me(), filter_id)
    db().commit()
    flash(_("已删除筛选：%(name)s", name=saved.name), "ok")
    return redirect(url_for(endpoint))


# -- bulk claim and assign -----------------------------------------------------------------

Tasks = Annotated[list[Id], Field(min_length=1, max_length=bulk.MAX_TASKS)]


class BulkClaimForm(Input):
    task: Tasks
    next: Line(2000) = ""


class BulkAssignForm(BulkClaimForm):
    assignee: Line(80, 1)


def _named(task_id: int) -> str:
    """How a refusal names a task: its project and item when the person may
    see it, else only its number (its existence does not leak)."""
    task = db().get(ItemTask, task_id)
    if task is None or not permissions.can_view_project(me(), task.project):
        return f"#{task_id}"
    item = definition_for(task.project).items.get(task.item_code)
    return f"#{task_id} {task.project.name} · {labels.name_of(item) if item else task.item_code}"


def _refused(exc: bulk.BulkRefused, message: str) -> None:
    db().rollback()
    cause = exc.cause
    if isinstance(cause, NotFound | NotPermitted):
        reason = _("该任务不存在或您无权办理")
    else:
        reason = user_message(cause)
    flash(message % {"task": _named(exc.task_id), "reason": reason}, "error")


@bp.route("/inbox/claim", methods=["POST"])
@requires(permissions.can_use_inbox)
def bulk_claim():
    """Claim the chosen tasks of the group queue, all or none."""
    args = form(BulkClaimForm)
    back = local_target(args.next, url_for("inbox.index", tab="queue"))
    try:
        done = bulk.claim_tasks(db(), args.task, actor=me(), now=now())
    except bulk.BulkRefused as exc:
        _refused(exc, _("未认领任何任务：%(task)s 无法认领（%(reason)s）"))
        return redirect(back)
    db().commit()
    flash(_("已认领 %(n)s 项任务", n=len(done)), "ok")
    return redirect(back)


@bp.route("/desk/assign", methods=["POST"])
@requires(permissions.can_lead)
def bulk_assign():
    """Assign the chosen queued tasks to one agent, all or none."""
    args = form(BulkAssignForm)
    back = local_target(args.next, url_for("desk.index"))
    assignee = db().scalar(select(User).where(User.username == args.assignee,
                                              User.role == "agent"))
    if assignee is None:
        raise InputError(_("没有这个代办员"), field="assignee")
    try:
        done = bulk.assign_tasks(db(), args.task, assignee, actor=me(), now=now())
    except bulk.BulkRefused as exc:
        _refused(exc, _("未分派任何任务：%(task)s 无法分派（%(reason)s）"))
        return redirect(back)
    db().commit()
    flash(_("已将 %(n)s 项任务分派给 %(name)s", n=len(done), name=assignee.display_name), "ok")
    return redirect(back)

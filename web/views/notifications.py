"""Notifications (the badge and the list) and the 督办 notices addressed to
the signed-in user, which stay in view until answered."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import Field

from web.support.access import local_target, me, requires
from web.support.db import db
from web.support.inputs import BackTo, Flag, Id, Input, Text, form, query
from web.support.paging import page_args
from web.support.security import now
from workflow.core import notify, permissions, supervision
from workflow.kernel.paging import MAX_LIMIT

bp = Blueprint("notifications", __name__)


class ListArgs(Input):
    unread: Flag = False


class MarkReadForm(BackTo):
    """The notifications ticked on a page (``id``, a page at most), or ``all``."""

    id: Annotated[list[Id], Field(max_length=MAX_LIMIT)] = []
    all: Flag = False


class ReportForm(Input):
    report: Text(5000, 1)


@bp.route("/notifications")
@requires(permissions.can_sign_in)
def index():
    """A page of the user's notifications (all or unread, newest first) and a
    page of their open notices (oldest first), each list with its own cursor."""
    unread_only = query(ListArgs).unread
    cursor, limit = page_args()
    notices_cursor = page_args("notices")[0]
    page = notify.notifications_for(db(), me(), unread_only=unread_only, cursor=cursor, limit=limit)
    return render_template(
        "notifications/index.html", unread_only=unread_only, notifications=page.rows, page=page,
        notices=supervision.open_notices_for(db(), me(), cursor=notices_cursor, limit=limit))


@bp.route("/notifications/read", methods=["POST"])
@requires(permissions.can_sign_in)
def mark_read():
    """Mark the ticked notifications (a page at most) read, or all of the user's."""
    f = form(MarkReadForm)
    if f.all:
        changed = notify.mark_all_read(db(), me(), now())
    else:
        changed = notify.mark_read(db(), me(), f.id, now())
    db().commit()
    flash(_("已标记 %(n)s 条为已读", n=changed), "ok")
    return redirect(local_target(f.next, url_for("notifications.index")))


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
@requires(permissions.can_sign_in)
def acknowledge(notice_id: int):
    supervision.acknowledge_notice(db(), notice_id, me(), now())
    db().commit()
    flash(_("已签收督办单"), "ok")
    return redirect(url_for("notifications.index"))


@bp.route("/notices/<int:notice_id>/report", methods=["POST"])
@requires(permissions.can_sign_in)
def report(notice_id: int):
    supervision.report_on_notice(db(), notice_id, form(ReportForm).report, me(), now())
    db().commit()
    flash(_("已反馈督办单"), "ok")
    return redirect(url_for("notifications.index"))

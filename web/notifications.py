"""Notifications (the badge and the list) and the 督办 notices addressed to
the signed-in user, which stay in view until answered."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from web.access import me
from web.db import db
from web.security import now
from workflow import notify, supervision
from workflow.errors import ValidationError

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    return render_template(
        "notifications.html", unread_only=unread_only,
        notifications=notify.notifications_for(db(), me(), unread_only=unread_only, limit=200),
        notices=supervision.open_notices_for(db(), me()))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    if request.form.get("all") == "1":
        ids = [n.id for n in notify.notifications_for(db(), me(), unread_only=True, limit=10000)]
    else:
        try:
            ids = [int(i) for i in request.form.getlist("id")]
        except ValueError:
            raise ValidationError("Notification ids are numbers.") from None
    changed = notify.mark_read(db(), me(), ids, now())
    db().commit()
    flash(_("已标记 %(n)s 条为已读", n=changed), "ok")
    return redirect(url_for("notifications.index"))


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(notice_id: int):
    supervision.acknowledge_notice(db(), notice_id, me(), now())
    db().commit()
    flash(_("已签收督办单"), "ok")
    return redirect(url_for("notifications.index"))


@bp.route("/notices/<int:notice_id>/report", methods=["POST"])
@login_required
def report(notice_id: int):
    supervision.report_on_notice(db(), notice_id, request.form.get("report", ""), me(), now())
    db().commit()
    flash(_("已反馈督办单"), "ok")
    return redirect(url_for("notifications.index"))

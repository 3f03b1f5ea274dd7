"""The signed-in person's own settings: how they hear of things."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Flag, Input, form
from workflow.core import notify, permissions

bp = Blueprint("account", __name__)


class ChannelsForm(Input):
    email: Literal["now", "digest", "off"]
    webhook: Flag = False


@bp.route("/account/notifications")
@requires(permissions.can_sign_in)
def channels():
    return render_template("account/channels.html", person=me())


@bp.route("/account/notifications", methods=["POST"])
@requires(permissions.can_sign_in)
def save_channels():
    chosen = form(ChannelsForm)
    notify.set_channels(db(), me(), email=chosen.email, webhook=chosen.webhook)
    db().commit()
    flash(_("通知方式已保存"), "ok")
    return redirect(url_for("account.channels"))

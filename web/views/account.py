"""The signed-in person's own settings: how they hear of things."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from web.support.access import me, public, requires
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


# -- the one-click unsubscribe of digest emails (RFC 8058) --------------------------------------

@bp.route("/unsubscribe/<token>")
@public
def unsubscribe_page(token: str):
    """The link of a digest's ``List-Unsubscribe``, opened in a browser: ask first
    (a mail scanner that follows links must not unsubscribe anyone)."""
    person = notify.unsubscriber(db(), token) or abort(404)
    return render_template("account/unsubscribe.html", person=person, token=token, done=False)


@bp.route("/unsubscribe/<token>", methods=["POST"])
@public
# The mail client posts it (List-Unsubscribe-Post) without a CSRF token: the
# token in the URL is the secret (web.support.security.CSRF_EXEMPT).
def unsubscribe(token: str):
    person = notify.unsubscribe(db(), token) or abort(404)
    db().commit()
    return render_template("account/unsubscribe.html", person=person, token=token, done=True)

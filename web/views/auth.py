"""Logging in and out, and the interface language."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web.support import security
from web.support.access import local_target, public, requires
from web.support.db import db
from web.support.extensions import LANGUAGES
from workflow.accounts.passwords import verify_password
from workflow.core import permissions
from workflow.models import User

bp = Blueprint("auth", __name__)

HOME = {"agent": "inbox.index", "lead": "desk.index", "enterprise": "portal.index",
        "supervisor": "supervision.index", "admin": "admin.users"}


def home_url(user: User) -> str:
    from flask import current_app

    endpoint = HOME.get(user.role, "inbox.index")
    if endpoint not in current_app.view_functions:
        endpoint = "inbox.index"
    return url_for(endpoint)


@bp.route("/")
@public
def root():
    if current_user.is_authenticated:
        return redirect(home_url(current_user.user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()
    ip = request.remote_addr or "?"
    try:
        security.check_login_allowed(username, ip)
    except security.TooManyAttempts:
        flash(_("登录失败次数过多，请15分钟后再试"), "error")
        return render_template("auth/login.html"), 429
    user = db().scalar(select(User).where(User.username == username))
    ok = (user is not None and user.active
          and verify_password(user.password_hash, request.form.get("password", "")))
    security.record_attempt(username, ip, ok)
    if not ok:
        db().commit()
        flash(_("用户名或密码错误"), "error")
        return render_template("auth/login.html"), 401
    security.start_session(user)
    db().commit()
    return redirect(home_url(user))


@bp.route("/logout", methods=["POST"])
@requires(permissions.can_sign_in)
def logout():
    security.end_session()
    db().commit()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    response = redirect(local_target(request.form.get("next"), url_for("auth.root")))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response

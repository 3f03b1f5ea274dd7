"""Logging in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, login_required, login_user, logout_user
from sqlalchemy import select

from web import login_manager
from web.db import db
from workflow.accounts import verify_password
from workflow.models import User

bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    def __init__(self, user: User) -> None:
        self.user = user
        self.id = str(user.id)


@login_manager.user_loader
def load_user(user_id: str) -> SessionUser | None:
    user = db().get(User, int(user_id)) if user_id.isdigit() else None
    return SessionUser(user) if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        user = db().scalar(select(User).where(User.username == username))
        if user is not None and user.active and verify_password(user.password_hash,
                                                               request.form.get("password", "")):
            login_user(SessionUser(user))
            return redirect(url_for("home.index"))
        flash("用户名或密码错误 / Wrong username or password")
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))

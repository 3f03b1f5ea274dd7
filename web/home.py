"""The landing page: what the signed-in user has to do next."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from web.db import db
from workflow.models import Project
from workflow.operations import zone_today
from workflow.queries import inbox

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user.user
    today = zone_today(datetime.now(UTC))
    tasks = inbox(db(), user) if user.role in ("agent", "lead") else []
    projects = []
    if user.role == "enterprise":
        projects = db().scalars(select(Project).where(
            Project.enterprise_id == user.enterprise_id).order_by(Project.code)).all()
    elif user.role in ("supervisor", "admin", "lead"):
        projects = db().scalars(select(Project).order_by(Project.code)).all()
    return render_template("home.html", user=user, tasks=tasks, projects=projects, today=today)

"""Loading objects for a request with the server-side access check.

An object the user may not see answers 404, so its existence does not leak.
Role gates for whole blueprints live here too.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlparse

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from web.support.db import db
from workflow.core import permissions
from workflow.models import ItemTask, Project, User


def me() -> User:
    return current_user.user


def roles_required(*roles: str):
    """Only users with one of ``roles`` may open the view (others get 403)."""
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(*args, **kwargs):
            if me().role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def local_target(target: str | None, fallback: str) -> str:
    """``target`` when it is a page of this site, else ``fallback``: a redirect
    taken from a form or the referrer never leaves the site ("//host" and
    "/\\host" are other sites to a browser)."""
    if target:
        parsed = urlparse(target)
        if parsed.scheme or parsed.netloc:
            if parsed.netloc != request.host:
                return fallback
            target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if target.startswith("/") and not target.startswith(("//", "/\\")):
            return target
    return fallback


def project_or_404(code: str) -> Project:
    project = db().scalar(select(Project).where(Project.code == code)
                          .options(selectinload(Project.tasks)))
    if project is None or not permissions.can_view_project(me(), project):
        abort(404)
    return project


def task_or_404(task_id: int) -> ItemTask:
    task = db().get(ItemTask, task_id, options=(joinedload(ItemTask.project),))
    if task is None or not permissions.can_view_project(me(), task.project):
        abort(404)
    return task

"""Who may open a view, and loading objects with the server-side access check.

Every view is gated by ``requires(rule)`` with a rule of
``workflow.core.permissions`` (a blueprint by ``require_for_blueprint``), or
marked ``public``; a test walks the URL map so a route with neither fails.
An object the user may not see answers 404, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlparse

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from web.support.db import db
from workflow.core import permissions
from workflow.models import ItemTask, Project, User


def me() -> User:
    return current_user.user


Rule = Callable[[User], bool]


def requires(rule: Rule):
    """The one gate of a view: ``rule`` (a ``workflow.core.permissions``
    predicate) decides. Anonymous requests get the login page (the API answers
    its JSON 401 before any view runs); a signed-in user the rule refuses, 403."""
    def decorator(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not rule(me()):
                abort(403)
            return view(*args, **kwargs)
        gated = login_required(checked)
        gated.access_rule = rule
        return gated
    return decorator


def require_for_blueprint(bp: Blueprint, rule: Rule) -> None:
    """Gate every view of ``bp`` with ``rule`` (as ``requires`` does, before each request)."""
    @requires(rule)
    def _gate():
        return None

    bp.before_request(_gate)
    bp.access_rule = rule


def public(view):
    """Mark a view that anyone may open, signed in or not (the login page, the
    status lookup by access code, the API's own description)."""
    view.access_public = True
    return view


def is_public(view) -> bool:
    return getattr(view, "access_public", False)


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


def row_or_404(model, row_id: int, *, rule=permissions.can_view_project, options=()):
    """Row ``row_id`` of ``model``, a row of a project (a task, a letter, a
    document, a file …), or 404 when there is none or ``rule`` does not let the
    user see its project: the one loader, so its existence never leaks."""
    row = db().get(model, row_id, options=options)
    if row is None or not rule(me(), _project_of(row)):
        abort(404)
    return row


def _project_of(row) -> Project:
    project = getattr(row, "project", None)  # a row without the relationship has the id
    return project if project is not None else db().get(Project, row.project_id)


def task_or_404(task_id: int) -> ItemTask:
    return row_or_404(ItemTask, task_id, options=(joinedload(ItemTask.project),))

"""The project file (一项目一档) for staff: every item with its state and light,
lifecycle steps for the lead side, comments, files and the audit trail, each
list a page of its own (``workflow.core.history``)."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.support import auditview, labels, uploads
from web.support.access import local_target, me, project_or_404, requires, row_or_404
from web.support.actions import CommentBody
from web.support.db import db
from web.support.inputs import File, Id, Input, Line, Maybe, Text, form, query
from web.support.paging import limit_arg, page_args, url_with
from web.support.present import task_rows
from web.support.security import now
from workflow.core import audit, history, lights, permissions
from workflow.core import operations as ops
from workflow.kernel.errors import WorkflowError
from workflow.models import Attachment

bp = Blueprint("cases", __name__)


class AuditArgs(Input):
    """The audit page: one task's events, the direction, the whole chain checked."""

    task: Maybe(Id) = None
    order: Maybe(Literal[tuple(history.AUDIT_ORDERS)]) = None  # type: ignore[valid-type]
    verify: Maybe(Literal["all"]) = None


class ReasonForm(Input):
    """Why the project is suspended or terminated."""

    reason: Text(2000, 1)


class UploadForm(Input):
    file: File
    task_id: Maybe(Id) = None  # the task the file belongs to (the task page's form)
    next: Line(2000) = ""  # the page to return to (this site's only)


# Each lifecycle step: the model of its form (nothing, or the reason) and the operation.
LIFECYCLE = {
    "sign": (Input, lambda s, p, a, n, f: ops.sign_project(s, p, actor=a, now=n)),
    "mandate": (Input, lambda s, p, a, n, f: ops.mandate_project(s, p, actor=a, now=n)),
    "advance": (Input, lambda s, p, a, n, f: ops.advance_project(s, p, actor=a, now=n)),
    "suspend": (ReasonForm, lambda s, p, a, n, f: ops.suspend_project(s, p, actor=a, now=n,
                                                                      reason=f.reason)),
    "resume": (Input, lambda s, p, a, n, f: ops.resume_project(s, p, actor=a, now=n)),
    "terminate": (ReasonForm, lambda s, p, a, n, f: ops.terminate_project(s, p, actor=a, now=n,
                                                                          reason=f.reason)),
}


@bp.route("/projects/<code>")
@requires(permissions.can_sign_in)
def project(code: str):
    """The project file; its comments and files are pages of their own
    (cursors ``comments`` and ``files``), newest first."""
    project = project_or_404(code)
    if me().role == "enterprise":
        return redirect(url_for("portal.project", code=code))
    today = ops.zone_today(now())
    definition = ops.definition_for(project)
    order = list(definition.items)
    rows = sorted(task_rows(project.tasks, today), key=lambda r: order.index(r.task.item_code)
                  if r.task.item_code in order else len(order))
    session, limit = db(), limit_arg()
    return render_template(
        "cases/project.html", project=project, rows=rows, definition=definition, today=today,
        project_light=lights.worst([r.light for r in rows]),
        can_manage=permissions.can_manage_project(me(), project),
        comments=history.project_comments(session, project, cursor=page_args("comments")[0],
                                          limit=limit),
        files=history.project_files(session, project, cursor=page_args("files")[0], limit=limit),
        labels=labels)


@bp.route("/projects/<code>/audit")
@requires(permissions.can_sign_in)
def audit_trail(code: str):
    """A page of the project's audit chain (newest first, or oldest first;
    one task's events with ``task``). Each view checks the events it shows,
    their links to their neighbours and the chain's head (``verify_shown``);
    ``verify=all`` walks the whole chain (``audit.verify``)."""
    project = project_or_404(code)
    if me().role == "enterprise":
        abort(404)
    args = query(AuditArgs)
    task = history.task_of(project, args.task)
    order, whole = args.order or "newest", args.verify == "all"
    cursor, limit = page_args()
    page = history.audit_page(db(), project, task=task, order=order, cursor=cursor, limit=limit)
    findings = (audit.verify(db(), [project.code]) if whole
                else audit.verify_shown(db(), project, [e.seq for e in page]))
    return render_template(
        "cases/audit.html", project=project, page=page, findings=findings, whole=whole, order=order,
        task=task, task_name=_item_name(project, task), labels=labels,
        reader=auditview.Reader(db(), project, page.rows),
        verify_url=url_with(verify="all"), order_urls={
            o: url_with(order=None if o == "newest" else o, cursor=None, verify=None)
            for o in history.AUDIT_ORDERS},
        all_tasks_url=url_with(task=None, cursor=None))


def _item_name(project, task) -> str | None:
    if task is None:
        return None
    item = ops.definition_for(project).items.get(task.item_code)
    return labels.name_of(item) if item else task.item_code


@bp.route("/projects/<code>/lifecycle/<action>", methods=["POST"])
@requires(permissions.can_work_as_staff)
def lifecycle(code: str, action: str):
    project = project_or_404(code)
    if action not in LIFECYCLE:
        abort(404)
    model, step = LIFECYCLE[action]
    step(db(), project.id, me(), now(), form(model))
    db().commit()
    flash(_("已完成：%(action)s", action=labels.ACTIONS.get(action, action)), "ok")
    return redirect(url_for("cases.project", code=code))


@bp.route("/projects/<code>/comments", methods=["POST"])
@requires(permissions.can_work_as_staff)
def comment(code: str):
    project, f = project_or_404(code), form(CommentBody)
    ops.add_comment(db(), project.id, f.body, actor=me(), now=now(), public=f.public)
    db().commit()
    return redirect(local_target(request.referrer, url_for("cases.project", code=code)))


@bp.route("/projects/<code>/files", methods=["POST"])
@requires(permissions.can_work_as_staff)
def upload(code: str):
    project, f = project_or_404(code), form(UploadForm)
    stored = uploads.store(f.file)
    try:
        ops.record_attachment(db(), project.id, actor=me(), now=now(), task_id=f.task_id,
                              **stored)
        db().commit()
    except WorkflowError:
        db().rollback()
        uploads.discard(stored["storage_name"])
        raise
    flash(_("文件已上传"), "ok")
    return redirect(local_target(f.next, url_for("cases.project", code=code)))


@bp.route("/files/<int:file_id>")
@requires(permissions.can_sign_in)
def download(file_id: int):
    return uploads.serve(row_or_404(Attachment, file_id))

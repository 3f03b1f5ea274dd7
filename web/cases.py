"""The project file (一项目一档) for staff: every item with its state and light,
lifecycle steps for the lead side, comments, files and the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from web import labels, uploads
from web.access import local_target, me, project_or_404
from web.db import db
from web.present import task_rows
from web.security import now
from workflow import audit, lights, permissions
from workflow import operations as ops
from workflow.errors import WorkflowError
from workflow.models import Attachment, AuditEvent, Comment, Project

bp = Blueprint("cases", __name__)

LIFECYCLE = {
    "sign": lambda s, p, a, n, f: ops.sign_project(s, p, actor=a, now=n),
    "mandate": lambda s, p, a, n, f: ops.mandate_project(s, p, actor=a, now=n),
    "advance": lambda s, p, a, n, f: ops.advance_project(s, p, actor=a, now=n),
    "suspend": lambda s, p, a, n, f: ops.suspend_project(s, p, actor=a, now=n,
                                                         reason=f.get("reason", "")),
    "resume": lambda s, p, a, n, f: ops.resume_project(s, p, actor=a, now=n),
    "terminate": lambda s, p, a, n, f: ops.terminate_project(s, p, actor=a, now=n,
                                                             reason=f.get("reason", "")),
}


@bp.route("/projects/<code>")
@login_required
def project(code: str):
    project = project_or_404(code)
    if me().role == "enterprise":
        return redirect(url_for("portal.project", code=code))
    today = ops.zone_today(now())
    definition = ops.definition_for(project)
    order = list(definition.items)
    rows = sorted(task_rows(project.tasks, today), key=lambda r: order.index(r.task.item_code)
                  if r.task.item_code in order else len(order))
    session = db()
    return render_template(
        "project.html", project=project, rows=rows, definition=definition, today=today,
        project_light=lights.worst([r.light for r in rows]),
        can_manage=permissions.can_manage_project(me(), project),
        comments=session.scalars(select(Comment).where(Comment.project_id == project.id)
                                 .order_by(Comment.id)).all(),
        files=session.scalars(select(Attachment).where(Attachment.project_id == project.id)
                              .order_by(Attachment.id)).all(),
        labels=labels)


@bp.route("/projects/<code>/audit")
@login_required
def audit_trail(code: str):
    project = project_or_404(code)
    if me().role == "enterprise":
        abort(404)
    events = db().scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                          .order_by(AuditEvent.seq)).all()
    findings = audit.verify(db(), [project.code])
    return render_template("audit.html", project=project, events=events, findings=findings)


@bp.route("/projects/<code>/lifecycle/<action>", methods=["POST"])
@login_required
def lifecycle(code: str, action: str):
    project = project_or_404(code)
    step = LIFECYCLE.get(action)
    if step is None:
        abort(404)
    step(db(), project.id, me(), now(), request.form)
    db().commit()
    flash(_("已完成：%(action)s", action=labels.ACTIONS.get(action, action)), "ok")
    return redirect(url_for("cases.project", code=code))


@bp.route("/projects/<code>/comments", methods=["POST"])
@login_required
def comment(code: str):
    project = project_or_404(code)
    ops.add_comment(db(), project.id, request.form.get("body", ""), actor=me(), now=now(),
                    public=request.form.get("public") == "1")
    db().commit()
    return redirect(local_target(request.referrer, url_for("cases.project", code=code)))


@bp.route("/projects/<code>/files", methods=["POST"])
@login_required
def upload(code: str):
    project = project_or_404(code)
    task_id = request.form.get("task_id", type=int)
    stored = uploads.store(request.files.get("file"))
    try:
        ops.record_attachment(db(), project.id, actor=me(), now=now(), task_id=task_id, **stored)
        db().commit()
    except WorkflowError:
        db().rollback()
        uploads.discard(stored["storage_name"])
        raise
    flash(_("文件已上传"), "ok")
    return redirect(local_target(request.form.get("next"),
                                 url_for("cases.project", code=code)))


@bp.route("/files/<int:file_id>")
@login_required
def download(file_id: int):
    attachment = db().get(Attachment, file_id)
    if attachment is None:
        abort(404)
    project_or_404(db().get(Project, attachment.project_id).code)
    return uploads.serve(attachment)

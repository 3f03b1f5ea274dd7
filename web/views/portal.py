"""The enterprise portal (企业) and the public status lookup (查询码).

- ``/portal``: the enterprise's own projects with stage, light, progress and
  open materials requests, and its latest notifications.
- ``/portal/projects/<code>``: the item-progress picture (dependency graph and
  progress bar), what the enterprise must supply now and by when (一次性告知)
  with an upload per request and "材料已全部提交", the public timeline and
  comments, and the access code printed on its mandate (while it is current).
  Another enterprise's project answers 404.
- ``/projects/<code>/access-code`` (staff, lead side): issue a new access code,
  shown once.
- ``/lookup`` (no login): project code + access code → a minimal status page;
  failures are counted per address and per project code.

Every field, file and query argument is parsed by a declared model at the
edge (the task actions' models of ``web.support.actions`` for the two task
steps); a bad value answers 400 and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from pydantic import Field

from web.support import labels, uploads
from web.support.access import me, project_or_404, public, requires
from web.support.actions import INPUTS, run_action
from web.support.db import db
from web.support.inputs import Id, Input, Line, Maybe, Text, form, parse
from web.support.paging import limit_arg, page_args
from web.support.portal_graph import dependency_graph, progress_bar
from web.support.present import task_rows, zone_time
from web.support.security import now
from workflow.accounts import access_codes
from workflow.core import lights, permissions
from workflow.core import operations as ops
from workflow.core import portal as queries
from workflow.core.queries import project_figures
from workflow.kernel.errors import ValidationError, WorkflowError
from workflow.models import Project
from workflow.reforms import documents as docs

bp = Blueprint("portal", __name__)

FILES_PER_UPLOAD = 20  # files chosen at once for one request
LOOKUP_DEFAULTS = {"LOOKUP_FAILURES_PER_IP": 6, "LOOKUP_FAILURES_PER_CODE": 30,
                   "LOOKUP_WINDOW_MINUTES": 15}


# -- the enterprise's pages ------------------------------------------------------------

@bp.route("/portal")
@requires(permissions.can_act_for_enterprise)
def index():
    """A page of the enterprise's projects, newest first, with their open
    requests counted for the page in one statement."""
    today = ops.zone_today(now())
    cursor, limit = page_args()
    page = queries.enterprise_projects(db(), me(), cursor=cursor, limit=limit)
    ids = [p.id for p in page]
    counts = queries.open_request_counts(db(), ids)
    progress = queries.progress_for(db(), ids)
    figures = project_figures(db(), ids, today)
    empty = queries.Progress(total=0, closed=0, by_state=())
    cards = [ProjectCard(project=p, light=figures[p.id].light if p.id in figures else "green",
                         progress=progress.get(p.id, empty),
                         segments=progress_bar(progress.get(p.id, empty))) for p in page]
    return render_template("portal/index.html", page=page, cards=cards, counts=counts,
                           notices=_notifications(), today=today)


@bp.route("/portal/projects/<code>")
@requires(permissions.can_act_for_enterprise)
def project(code: str):
    """The project file for its enterprise; its open requests, its files and
    its timeline are pages of their own (cursors ``requests``, ``files``,
    ``timeline``)."""
    project = project_or_404(code)
    today = ops.zone_today(now())
    definition = ops.definition_for(project)
    rows = _ordered_rows(project, today)
    limit = limit_arg()
    requests = queries.open_requests(db(), project, cursor=page_args("requests")[0], limit=limit)
    return render_template(
        "portal/project.html", card=_card(project, today, rows), rows=rows, today=today,
        access_code=docs.current_access_code(db(), project),
        graph=dependency_graph(definition, rows, today), by_task={r.task.id: r for r in rows},
        requests=requests, request_files=queries.request_files(db(), project, requests),
        per_request=queries.FILES_PER_REQUEST,
        files=queries.enterprise_files(db(), project, cursor=page_args("files")[0], limit=limit),
        timeline=queries.public_timeline(db(), project, cursor=page_args("timeline")[0],
                                         limit=limit))


class MaterialFiles(Input):
    """The files answering a materials request (one or more ``file`` fields)."""

    file: list[uploads.UploadedFile] = Field(default=[], max_length=FILES_PER_UPLOAD)


class Lookup(Input):
    """The public lookup: the 项目代码 (its column's length) and the access code."""

    project_code: Line(40) = ""
    access_code: Line(32) = ""


@bp.route("/portal/projects/<code>/requests/<int:request_id>/files", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def upload(code: str, request_id: int):
    project = project_or_404(code)
    material_request = queries.request_of(db(), project, request_id)
    stored = _store_all(parse(MaterialFiles, request.files).file)
    try:
        for one in stored:
            ops.record_attachment(db(), project.id, actor=me(), now=now(),
                                  task_id=material_request.task_id, **one)
        db().commit()
    except WorkflowError:
        db().rollback()
        for one in stored:
            uploads.discard(one["storage_name"])
        raise
    flash(_("已上传 %(n)s 个文件", n=len(stored)), "ok")
    return redirect(url_for("portal.project", code=code, _anchor=f"request-{request_id}"))


@bp.route("/portal/projects/<code>/tasks/<int:task_id>/request", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def request_item(code: str, task_id: int):
    """The enterprise applies for an item that waits for its application
    (completion acceptance): its own route, the staff's task actions are not its."""
    project = project_or_404(code)
    if task_id not in {t.id for t in project.tasks}:
        abort(404)
    # The task actions' own model (``web.support.actions.INPUTS``) parses the form.
    run_action(db(), "request_item", task_id, me(), now(), form(INPUTS["request_item"]))
    db().commit()
    flash(_("已完成：%(action)s", action=labels.ACTIONS.get("request_item", "request_item")), "ok")
    return redirect(url_for("portal.project", code=code))


@bp.route("/portal/projects/<code>/requests/<int:request_id>/supplied", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def supplied(code: str, request_id: int):
    project = project_or_404(code)
    material_request = queries.request_of(db(), project, request_id)
    run_action(db(), "supply_materials", material_request.task_id, me(), now(),
               form(INPUTS["supply_materials"]))
    db().commit()
    flash(_("已告知代办员：材料已全部提交，办理计时恢复"), "ok")
    return redirect(url_for("portal.project", code=code))


class EnterpriseComment(Input):
    body: Text(5000) = ""
    task_id: Maybe(Id) = None


@bp.route("/portal/projects/<code>/comments", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def comment(code: str):
    project, f = project_or_404(code), form(EnterpriseComment)
    ops.add_comment(db(), project.id, f.body, actor=me(), now=now(), task_id=f.task_id)
    db().commit()
    flash(_("留言已发送"), "ok")
    return redirect(url_for("portal.project", code=code, _anchor="timeline"))


# -- staff: issue an access code --------------------------------------------------------

@bp.route("/projects/<code>/access-code", methods=["POST"])
@requires(permissions.can_work_as_staff)
def issue_access_code(code: str):
    project = project_or_404(code)
    access_code = access_codes.issue_access_code(db(), project.id, actor=me(), now=now())
    db().commit()
    return render_template("portal/access_code.html", project=project, access_code=access_code)


# -- the public lookup --------------------------------------------------------------------

@bp.route("/lookup", methods=["GET", "POST"])
@public
def lookup():
    if request.method == "GET":
        return render_template("portal/lookup.html")
    f = form(Lookup)
    code = f.project_code
    ip = request.remote_addr or "?"
    if _lookup_blocked(ip, code):
        return render_template("portal/lookup.html", project_code=code, blocked=True), 429
    project = access_codes.check_access_code(db(), code, f.access_code)
    access_codes.record_lookup(db(), ip=ip, project_code=code, success=project is not None,
                               now=now())
    db().commit()
    if project is None:
        return render_template("portal/lookup.html", project_code=code, failed=True), 401
    today = ops.zone_today(now())
    rows = _ordered_rows(project, today)
    return render_template("portal/lookup_status.html", card=_card(project, today, rows), rows=rows,
                           today=today)


def _lookup_blocked(ip: str, code: str) -> bool:
    cfg = {k: current_app.config.get(k, v) for k, v in LOOKUP_DEFAULTS.items()}
    since = now() - timedelta(minutes=cfg["LOOKUP_WINDOW_MINUTES"])
    by_ip, by_code = access_codes.failed_lookups(db(), ip=ip, project_code=code, since=since)
    return by_ip >= cfg["LOOKUP_FAILURES_PER_IP"] or by_code >= cfg["LOOKUP_FAILURES_PER_CODE"]


def _store_all(files) -> list[dict]:
    """Store every chosen file, or none: a refused one removes those before it."""
    files = [f for f in files if f.filename]
    if not files:
        raise ValidationError("Choose a file to upload.")
    stored: list[dict] = []
    try:
        for one in files:
            stored.append(uploads.store(one))
    except WorkflowError:
        for one in stored:
            uploads.discard(one["storage_name"])
        raise
    return stored


# -- presenting ---------------------------------------------------------------------------

@dataclass
class ProjectCard:
    """A project as the enterprise sees it at a glance."""

    project: Project
    light: str
    progress: queries.Progress
    segments: list


def _ordered_rows(project: Project, today: date):
    order = list(ops.definition_for(project).items)
    return sorted(task_rows(project.tasks, today),
                  key=lambda r: (order.index(r.task.item_code) if r.task.item_code in order
                                 else len(order), r.task.id))


def _card(project: Project, today: date, rows=None) -> ProjectCard:
    rows = rows if rows is not None else task_rows(project.tasks, today)
    progress = queries.progress_of(r.task for r in rows)
    return ProjectCard(project=project, light=lights.worst([r.light for r in rows]),
                       progress=progress, segments=progress_bar(progress))


def _notifications():
    """The latest notifications, where the notification module exists."""
    try:
        from workflow.core.notify import notifications_for
    except ImportError:
        return None
    return notifications_for(db(), me(), limit=5)


@bp.app_context_processor
def _helpers():
    if request.blueprint != "portal":
        return {}
    return {"zone_time": zone_time, "event_label": labels.event_label}

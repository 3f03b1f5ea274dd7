"""The printable 一次性告知单 (the materials notice) of a materials request.

An agent's 一次性告知 (``request_materials``) lists at once everything the
enterprise must supply, with a deadline. Besides the screens that show it (the
task page, the enterprise's portal), it has an A4 print view
(``/requests/<id>/notice``) and a PDF (``/requests/<id>/notice.pdf``) built
from the same ``Sheet`` as the agency documents: the materials, the deadline,
the legal basis, the agent's and the lead's contact, and the SHA-256 of what
the notice says. Whoever may see the project (staff, the owning enterprise)
may read it; anyone else gets 404.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, send_file
from flask_babel import gettext as _

from web.support import labels
from web.support.access import requires, task_or_404
from web.support.db import db
from web.support.pdf import Sheet, Table, render_pdf
from web.support.present import zone_time
from workflow.core import operations as ops
from workflow.core import permissions
from workflow.kernel.moments import stored_day
from workflow.kernel.signatures import sha256_of
from workflow.models import ItemTask, MaterialRequest, User
from workflow.reforms.documents import STANDARD, canonical_json

bp = Blueprint("notices", __name__)


def _request_or_404(request_id: int) -> tuple[MaterialRequest, ItemTask]:
    """The request and its task, or 404 unless the reader may see the project."""
    row = db().get(MaterialRequest, request_id)
    if row is None:
        abort(404)
    return row, task_or_404(row.task_id)


@bp.route("/requests/<int:request_id>/notice")
@requires(permissions.can_sign_in)
def show(request_id: int):
    row, task = _request_or_404(request_id)
    return render_template("documents/notice.html", row=row, task=task,
                           sheet=notice_sheet(row, task))


@bp.route("/requests/<int:request_id>/notice.pdf")
@requires(permissions.can_sign_in)
def pdf(request_id: int):
    row, task = _request_or_404(request_id)
    return send_file(io.BytesIO(render_pdf(notice_sheet(row, task))), mimetype="application/pdf",
                     as_attachment=True, download_name=f"notice-{row.id}.pdf")


def _contact(user: User | None, departments) -> str:
    if user is None:
        return "—"
    department = departments.get(user.department) if user.department else None
    parts = [user.display_name, labels.name_of(department) if department else "", user.email or ""]
    return " ".join(p for p in parts if p)


def notice_sheet(row: MaterialRequest, task: ItemTask) -> Sheet:
    """What the notice says, in the reader's language around the request's data."""
    project = task.project
    definition = ops.definition_for(project)
    item = definition.items.get(task.item_code)
    department = definition.departments.get(task.department)
    agent = db().get(User, row.requested_by_id)
    materials = (row.items or {}).get("materials", [])
    content = {"request": row.id, "project": project.code, "item": task.item_code,
               "materials": materials, "deadline": row.deadline.isoformat(), "note": row.note,
               "requested_at": zone_time(row.requested_at), "agent": agent.username if agent else None}
    facts = [
        (_("申请人"), project.enterprise.name),
        (_("项目名称"), project.name),
        (_("项目代码"), project.code),
        (_("事项"), labels.name_of(item) if item else task.item_code),
        (_("办理部门"), labels.name_of(department) if department else task.department),
        (_("告知时间"), zone_time(row.requested_at)),
        (_("补正期限"), _("请于 %(day)s 前提交", day=row.deadline.isoformat())),
        (_("代办员"), _contact(agent, definition.departments)),
        (_("领办人"), _contact(project.lead, definition.departments)),
    ]
    paragraphs = [
        _("依据《中华人民共和国行政许可法》第三十二条，现一次性告知您办理上述事项需要补正的全部材料"
          "（见下表）。请于补正期限前提交；补正期间，办理时限暂停计算（第四十五条），"
          "材料补齐后恢复计时。"),
        _("事项设定依据：%(basis)s", basis=(item.basis if item and item.basis else "—")),
    ]
    if row.note:
        paragraphs.append(_("代办员说明：%(note)s", note=row.note))
    table = Table(_("需要补正的材料"), [_("序号"), _("材料"), _("说明")],
                  [[str(n), m.get("name", ""), m.get("note") or "—"]
                   for n, m in enumerate(materials, 1)], [0.7, 4, 3])
    return Sheet(title=_("一次性告知单"), number=_("告知编号：%(code)s-%(id)s", code=project.code,
                                                   id=row.id),
                 issued_on=stored_day(row.requested_at).isoformat(), standard=STANDARD,
                 sha256=sha256_of(canonical_json(content)), facts=facts, paragraphs=paragraphs,
                 tables=[table], signatures=[_("申请人（签收）"), _("告知人（代办员）")])

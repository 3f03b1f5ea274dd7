"""Agency paperwork and 好差评 on the web.

Staff (lead side) suspend, terminate, issue the mandate or the completion
slip, hand an item over or change the mandate's scope from the project panel
(``documents/_project_panel.html``); each action issues its document. Every
document has a print view (``/documents/<id>``, A4) and a PDF
(``/documents/<id>.pdf``) built from the same ``Sheet`` — the snapshot the
document was issued with — so both show the same content. Whoever may see
the project (staff, the owning enterprise) may read its documents; anyone
else gets 404. The enterprise rates done items and the project on the portal
(``documents/_portal_panel.html``); the lead answers the rectification a bad
rating opens.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from web.support import labels
from web.support.access import me, project_or_404, requires, row_or_404
from web.support.db import db
from web.support.i18n import N_
from web.support.pdf import Sheet, Table, render_pdf
from web.support.present import zone_time
from web.support.security import now
from workflow.core import notify, permissions
from workflow.core import operations as ops
from workflow.kernel.errors import ValidationError
from workflow.models import RATING_LEVELS, AgencyDocument, ItemTask, Project, Rectification, User
from workflow.reforms import documents as docs
from workflow.reforms import ratings

bp = Blueprint("documents", __name__)

LEVELS = {"very_satisfied": N_("非常满意"), "satisfied": N_("满意"),
          "basically_satisfied": N_("基本满意"), "dissatisfied": N_("不满意"),
          "very_dissatisfied": N_("非常不满意")}
KIND_NAMES = {"mandate": N_("代办服务委托书"), "suspension": N_("代办服务中止单"),
              "termination": N_("代办服务终止单"), "continuation": N_("续办委托书"),
              "completion": N_("代办服务办结单")}
HANDOFF_STATES = ("assigned", "in_progress", "awaiting_enterprise", "submitted", "accepted",
                  "on_hold", "returned", "approved")


# -- staff: the lifecycle with its paperwork ---------------------------------------------

def _done(code: str, document: AgencyDocument):
    db().commit()
    flash(_("已出具%(title)s：%(number)s", title=_(KIND_NAMES[document.kind]),
            number=document.number), "ok")
    return redirect(url_for("cases.project", code=code, _anchor="documents"))


@bp.route("/projects/<code>/documents/mandate", methods=["POST"])
@requires(permissions.can_sign_in)
def mandate(code: str):
    project = project_or_404(code)
    if project.stage == "signed":
        document = docs.mandate_with_document(db(), project.id, actor=me(), now=now())
    else:
        document = docs.issue_document(db(), project.id, "mandate", actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/suspend", methods=["POST"])
@requires(permissions.can_sign_in)
def suspend(code: str):
    project = project_or_404(code)
    document = docs.suspend_with_slip(db(), project.id, reason=request.form.get("reason", ""),
                                      actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/terminate", methods=["POST"])
@requires(permissions.can_sign_in)
def terminate(code: str):
    project = project_or_404(code)
    document = docs.terminate_with_slip(db(), project.id, reason=request.form.get("reason", ""),
                                        actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/completion", methods=["POST"])
@requires(permissions.can_sign_in)
def completion(code: str):
    project = project_or_404(code)
    return _done(code, docs.issue_completion(db(), project.id, actor=me(), now=now()))


@bp.route("/projects/<code>/documents/scope", methods=["POST"])
@requires(permissions.can_sign_in)
def scope(code: str):
    project = project_or_404(code)
    document = docs.change_scope(db(), project.id, reason=request.form.get("reason", ""),
                                 add=request.form.getlist("add"),
                                 remove=request.form.getlist("remove"), actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/handoff", methods=["POST"])
@requires(permissions.can_sign_in)
def handoff(code: str):
    project = project_or_404(code)
    task = _task_of(project, request.form.get("task_id", type=int))
    to = docs.user_by_username(db(), request.form.get("to", ""))
    if to is None:
        raise ValidationError("Choose the agent who continues the item.")
    document = docs.handoff_with_continuation(db(), task.id, to, actor=me(), now=now(),
                                              reason=request.form.get("reason", ""))
    return _done(code, document)


def _task_of(project: Project, task_id: int | None) -> ItemTask:
    task = next((t for t in project.tasks if t.id == task_id), None)
    if task is None:
        raise ValidationError("Choose an item of this project.")
    return task


# -- reading: print view and PDF ---------------------------------------------------------

@bp.route("/documents/<int:document_id>")
@requires(permissions.can_sign_in)
def show(document_id: int):
    document = row_or_404(AgencyDocument, document_id, rule=permissions.can_view_document)
    return render_template("documents/print.html", document=document, sheet=sheet(document),
                           intact=docs.verify(document))


@bp.route("/documents/<int:document_id>.pdf")
@requires(permissions.can_sign_in)
def pdf(document_id: int):
    document = row_or_404(AgencyDocument, document_id, rule=permissions.can_view_document)
    return send_file(io.BytesIO(render_pdf(sheet(document))), mimetype="application/pdf",
                     as_attachment=True, download_name=f"{document.kind}-{document.id}.pdf")


# -- 好差评 and rectifications -----------------------------------------------------------

@bp.route("/portal/projects/<code>/ratings", methods=["POST"])
@requires(permissions.can_sign_in)
def rate(code: str):
    project = project_or_404(code)
    ratings.rate(db(), project.id, task_id=request.form.get("task_id", type=int),
                 level=request.form.get("level", ""), comment=request.form.get("comment", ""),
                 actor=me(), now=now())
    db().commit()
    flash(_("感谢您的评价"), "ok")
    return redirect(url_for("portal.project", code=code, _anchor="ratings"))


@bp.route("/rectifications/<int:rectification_id>/answer", methods=["POST"])
@requires(permissions.can_sign_in)
def answer(rectification_id: int):
    row = row_or_404(Rectification, rectification_id)
    project = db().get(Project, row.project_id)
    ratings.answer_rectification(db(), row.id, response=request.form.get("response", ""),
                                 actor=me(), now=now())
    db().commit()
    flash(_("整改答复已提交，整改已关闭"), "ok")
    return redirect(url_for("cases.project", code=project.code, _anchor="documents"))


# -- the panels ---------------------------------------------------------------------------

@dataclass
class StaffPanel:
    documents: list[AgencyDocument]
    rectifications: list
    ratings: list
    can_manage: bool
    scope: list[tuple[str, str, bool]]  # (code, name, in scope)
    handoff_tasks: list[ItemTask]
    agents: list[User]
    mandate_issued: bool
    completion_issued: bool
    all_closed: bool
    answerable: set[int] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)  # task id → item name


@dataclass
class PortalPanel:
    documents: list[AgencyDocument]
    unrated: list[ItemTask]
    may_rate_project: bool
    mine: list
    levels: dict[str, str]
    names: dict[int, str]


@bp.app_context_processor
def _panels():
    return {"documents_panel": documents_panel, "portal_documents_panel": portal_documents_panel,
            "rating_level": lambda level: _(LEVELS.get(level, level)),
            "document_kind": lambda kind: _(KIND_NAMES.get(kind, kind)), "doc_time": zone_time}


def item_names(project: Project) -> dict[int, str]:
    """Each task's item name in the reader's language."""
    items = ops.definition_for(project).items
    return {t.id: labels.name_of(items[t.item_code]) if t.item_code in items else t.item_code
            for t in project.tasks}


def documents_panel(project: Project) -> StaffPanel:
    session, user = db(), me()
    found = docs.documents_of(session, project.id)
    kinds = {d.kind for d in found}
    in_scope = set(docs.current_scope(session, project)) if project.tasks else set()
    rows = ratings.rectifications_of(session, project.id)
    can_manage = permissions.can_manage_project(user, project)
    names = item_names(project)
    return StaffPanel(
        documents=found, rectifications=rows, ratings=ratings.ratings_of(session, project.id),
        can_manage=can_manage,
        scope=[(t.item_code, names[t.id], t.item_code in in_scope) for t in project.tasks],
        handoff_tasks=[t for t in project.tasks if t.state in HANDOFF_STATES and t.assignee_id
                       and (can_manage or t.assignee_id == user.id)],
        agents=notify.group_agents(session, project.group_id),
        mandate_issued="mandate" in kinds, completion_issued="completion" in kinds,
        all_closed=bool(project.tasks) and all(t.state in ("done", "covered")
                                               for t in project.tasks),
        answerable={r.id for r in rows if r.closed_at is None and
                    permissions.can_answer_rectification(user, r.owner_id, project)},
        names=names)


def portal_documents_panel(project: Project) -> PortalPanel:
    session, user = db(), me()
    return PortalPanel(
        documents=docs.documents_of(session, project.id),
        unrated=ratings.unrated_tasks(session, project, user),
        may_rate_project=ratings.may_rate_project(session, project, user),
        mine=[r for r in ratings.ratings_of(session, project.id) if r.rated_by_id == user.id],
        levels={level: _(LEVELS[level]) for level in RATING_LEVELS}, names=item_names(project))


# -- the document's content, shared by the print view and the PDF --------------------------

def _limit(limit: dict | None) -> str:
    if not limit:
        return "—"
    if limit.get("unit") == "calendar_days":
        return _("%(n)s 日（自然日）", n=limit["amount"])
    return _("%(n)s 个工作日", n=limit["amount"])


def _result(item: dict) -> str:
    how = {"evaluation": _("区域评估成果"), "commitment": _("承诺制")}.get(item.get("result_kind", ""))
    reference = item.get("result") or "—"
    return f"{how}：{reference}" if how else reference


def _name(person: dict | None) -> str:
    return person["name"] if person else "—"


def _items_table(caption: str, items: list[dict], columns: list[str]) -> Table:
    heads = {"name": _("事项"), "department": _("办理部门"), "limit": _("法定时限"),
             "agent": _("代办员"), "state": _("状态"), "suspended_from": _("中止前状态"),
             "paused_since": _("暂停计时起"), "result": _("办理结果（文号）"),
             "closed_on": _("办结日期")}
    cells = {"name": lambda i: i["name"], "department": lambda i: i["department_name"],
             "limit": lambda i: _limit(i.get("limit")), "agent": lambda i: i.get("agent") or "—",
             "state": lambda i: labels.state_label(i["state"]),
             "suspended_from": lambda i: labels.state_label(i.get("suspended_from") or "—"),
             "paused_since": lambda i: i.get("paused_since") or "—",
             "result": _result,
             "closed_on": lambda i: i.get("closed_on") or "—"}
    weights = {"name": 3, "department": 2, "result": 2.6}
    rows = [[str(n), *(cells[c](item) for c in columns)] for n, item in enumerate(items, 1)]
    return Table(caption, [_("序号"), *(heads[c] for c in columns)], rows,
                 [0.7, *(weights.get(c, 1.5) for c in columns)])


def sheet(document: AgencyDocument) -> Sheet:
    """What the document says, in the reader's language around the snapshot's data."""
    data = document.data
    company, project = data["enterprise"], data["project"]
    contact = " ".join(x for x in (company.get("contact_name"), company.get("contact_phone")) if x)
    investment = project.get("investment_wan")
    facts = [
        (_("委托方"), company["name"]),
        (_("统一社会信用代码"), company.get("credit_code") or "—"),
        (_("联系人"), contact or "—"),
        (_("受托方"), data["trustee"]),
        (_("项目名称"), project["name"]),
        (_("项目代码"), project["code"]),
        (_("所属行业"), project["industry_name"]),
        (_("产业专班"), project["group_name"]),
        (_("领办人"), _name(project.get("lead"))),
        (_("总投资（万元）"), f"{investment:,}" if investment else "—"),
        (_("代办员"), "、".join(a["name"] for a in data.get("agents", [])) or "—"),
    ]
    build = {"mandate": _mandate_sheet, "suspension": _suspension_sheet,
             "termination": _termination_sheet, "continuation": _continuation_sheet,
             "completion": _completion_sheet}[document.kind]
    extra_facts, paragraphs, tables = build(data)
    return Sheet(title=_(KIND_NAMES[document.kind]), number=document.number,
                 issued_on=data["issued_on"], standard=data["standard"], sha256=document.sha256,
                 facts=facts + extra_facts, paragraphs=paragraphs, tables=tables,
                 signatures=[_("委托方（签章）"), _("受托方（签章）")])


def _mandate_sheet(data):
    return ([], [
        _("委托方自愿委托受托方为上述项目免费提供全程代办服务，代办范围为下列事项。"),
        _("受托方代办员在委托范围内帮办代办，不代替委托方作出决定（帮办代办不包办）；"
          "委托方对所提供材料的真实性、完整性负责。"),
    ], [_items_table(_("代办事项"), data["items"], ["name", "department", "limit", "agent"])])


def _suspension_sheet(data):
    return ([(_("中止原因"), data["reason"]), (_("中止日期"), data["suspended_on"])], [
        _("自中止之日起，下列事项暂停办理，办理时限暂停计算；恢复办理后，时限按暂停的工作日顺延。"),
    ], [_items_table(_("中止事项"), data["items"],
                     ["name", "department", "suspended_from", "paused_since"])])


def _termination_sheet(data):
    tables = [_items_table(_("终止事项"), data["items"], ["name", "department", "state"])]
    if data.get("closed_before"):
        tables.append(_items_table(_("已办结事项（结果继续有效）"), data["closed_before"],
                                   ["name", "department", "closed_on"]))
    return ([(_("终止原因"), data["reason"]), (_("终止日期"), data["terminated_on"])], [
        _("自终止之日起，下列尚未办结的事项终止代办，受托方不再代为办理。"),
    ], tables)


def _continuation_sheet(data):
    if data.get("change") == "handoff":
        return ([(_("续办类型"), _("代办员变更")),
                 (_("原代办员"), _name(data.get("previous_agent"))),
                 (_("新代办员"), _name(data.get("new_agent"))),
                 (_("变更原因"), data["reason"])],
                [_("下列事项自即日起由新代办员续办，原委托书其他内容不变。")],
                [_items_table(_("续办事项"), data["items"], ["name", "department", "agent"])])
    tables = []
    if data.get("added"):
        tables.append(_items_table(_("新增代办事项"), data["added"], ["name", "department"]))
    if data.get("removed"):
        tables.append(_items_table(_("移出代办事项"), data["removed"], ["name", "department"]))
    tables.append(_items_table(_("变更后的代办范围"), data["items"],
                               ["name", "department", "limit"]))
    return ([(_("续办类型"), _("代办范围变更")), (_("变更原因"), data["reason"])],
            [_("经委托方同意，代办范围变更如下，原委托书其他内容不变。")], tables)


def _completion_sheet(data):
    return ([(_("移交日期"), data["handed_over_on"])], [
        _("下列事项已全部办结（或由区域评估成果、承诺制覆盖），办理结果已移交委托方。"),
    ], [_items_table(_("办结事项及结果"), data["items"],
                     ["name", "department", "result", "closed_on"])])

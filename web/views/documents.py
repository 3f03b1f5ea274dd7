"""Agency paperwork and 好差评 on the web.

Staff (lead side) suspend, terminate, issue the mandate or the completion
slip, hand an item over or change the mandate's scope from the project panel
(``documents/_project_panel.html``); each action issues its document. The
mandate and a change of its scope wait for the enterprise: it signs them
(typed name, consent, the digest of the text it was shown) or declines them
from the portal panel (``documents/_portal_panel.html``), or a lead handler of
the project records a paper signature with its scan. Every document has a
print view (``/documents/<id>``, A4) and a PDF (``/documents/<id>.pdf``) built
from the same ``Sheet`` — the snapshot the document was issued with, and the
enterprise's answer beside it — so both show the same content. Whoever may
see the project (staff, the owning enterprise) may read its documents; anyone
else gets 404. The enterprise rates done items and the project on the portal;
the lead answers the rectification a bad rating opens.

Every field these routes read is parsed by a declared model (``…Form``) at
the edge; a bad value answers 400 and changes nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Literal

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import CombinedMultiDict

from web.support import labels, uploads
from web.support.access import me, project_or_404, requires, row_or_404
from web.support.actions import HandoffBody
from web.support.db import db
from web.support.i18n import N_
from web.support.inputs import Day, Flag, Id, Input, Line, Maybe, Text, form, parse
from web.support.pdf import Sheet, Table, render_pdf
from web.support.present import zone_time
from web.support.security import now
from workflow.core import notify, permissions
from workflow.core import operations as ops
from workflow.kernel.errors import ValidationError
from workflow.kernel.signatures import sha256_of
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
# This area's audit events on timelines (added to the shared table).
for _code, _label in {"document.issued": _l("出具代办文书"),
                      "document.signed": _l("企业签署代办文书"),
                      "document.declined": _l("企业拒绝签署代办文书")}.items():
    labels.EVENTS.setdefault(_code, _label)


# -- the forms ------------------------------------------------------------------------------

class ReasonForm(Input):
    """Suspend or terminate: the reason printed on the slip."""

    reason: Text(2000, 1)


class ScopeForm(Input):
    """A change of the mandate's scope: the items added and removed, and why."""

    add: list[Line(64, 1)] = []
    remove: list[Line(64, 1)] = []
    reason: Text(2000, 1)


class HandoffForm(HandoffBody):
    """续办 from the panel: the task's action model, naming the item."""

    task_id: Id


class RateForm(Input):
    """好差评: an item (or, without one, the project as a whole) and the level."""

    task_id: Maybe(Id) = None
    level: Literal[RATING_LEVELS]
    comment: Text(2000) = ""


class AnswerForm(Input):
    """The lead's written answer that closes a rectification."""

    response: Text(2000, 1)


class SignForm(Input):
    """The enterprise signs what it was shown (the engine checks each part)."""

    signatory: Line(200) = ""
    consent: Flag = False
    sha256: Maybe(Line(64)) = None


class DeclineForm(Input):
    reason: Text(2000, 1)


class PaperForm(Input):
    """A paper signature recorded by a lead handler, with the scan of the signed page."""

    signatory: Line(200, 1)
    signed_on: Day
    scan: uploads.UploadedFile


def _with_files(model):
    return parse(model, CombinedMultiDict([request.form, request.files]))


# -- staff: the lifecycle with its paperwork ---------------------------------------------

def _done(code: str, document: AgencyDocument):
    db().commit()
    flash(_("已出具%(title)s：%(number)s", title=_(KIND_NAMES[document.kind]),
            number=document.number), "ok")
    return redirect(url_for("cases.project", code=code, _anchor="documents"))


@bp.route("/projects/<code>/documents/mandate", methods=["POST"])
@requires(permissions.can_sign_in)
def mandate(code: str):
    """Issue the 委托书 for the enterprise's signature: at the mandate (the items
    are created; approvals begin with the signature) or again after a decline."""
    project = project_or_404(code)
    if project.stage == "signed":
        document = docs.mandate_with_document(db(), project.id, actor=me(), now=now())
    else:
        document = docs.issue_document(db(), project.id, "mandate", actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/suspend", methods=["POST"])
@requires(permissions.can_sign_in)
def suspend(code: str):
    project, f = project_or_404(code), form(ReasonForm)
    document = docs.suspend_with_slip(db(), project.id, reason=f.reason, actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/terminate", methods=["POST"])
@requires(permissions.can_sign_in)
def terminate(code: str):
    project, f = project_or_404(code), form(ReasonForm)
    document = docs.terminate_with_slip(db(), project.id, reason=f.reason, actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/completion", methods=["POST"])
@requires(permissions.can_sign_in)
def completion(code: str):
    project = project_or_404(code)
    return _done(code, docs.issue_completion(db(), project.id, actor=me(), now=now()))


@bp.route("/projects/<code>/documents/scope", methods=["POST"])
@requires(permissions.can_sign_in)
def scope(code: str):
    project, f = project_or_404(code), form(ScopeForm)
    document = docs.change_scope(db(), project.id, reason=f.reason, add=f.add, remove=f.remove,
                                 actor=me(), now=now())
    return _done(code, document)


@bp.route("/projects/<code>/documents/handoff", methods=["POST"])
@requires(permissions.can_sign_in)
def handoff(code: str):
    project, f = project_or_404(code), form(HandoffForm)
    task = _task_of(project, f.task_id)
    to = docs.user_by_username(db(), f.to)
    if to is None:
        raise ValidationError("Choose the agent who continues the item.", field="to")
    document = docs.handoff_with_continuation(db(), task.id, to, actor=me(), now=now(),
                                              reason=f.reason, expected_version=f.version)
    return _done(code, document)


def _task_of(project: Project, task_id: int | None) -> ItemTask:
    task = next((t for t in project.tasks if t.id == task_id), None)
    if task is None:
        raise ValidationError("Choose an item of this project.", field="task_id")
    return task


# -- the enterprise's answer: signed in the portal, declined, or signed on paper -----------

@bp.route("/documents/<int:document_id>/sign", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def sign(document_id: int):
    document = row_or_404(AgencyDocument, document_id, rule=permissions.can_view_document)
    f = form(SignForm)
    docs.sign_document(db(), document.id, actor=me(), now=now(), signatory=f.signatory,
                       consent=f.consent, shown_sha256=f.sha256)
    db().commit()
    flash(_("已签署%(title)s %(number)s，代办员将在委托范围内为您办理",
            title=_(KIND_NAMES[document.kind]), number=document.number), "ok")
    return redirect(url_for("portal.project", code=document.project.code, _anchor="documents"))


@bp.route("/documents/<int:document_id>/decline", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def decline(document_id: int):
    document = row_or_404(AgencyDocument, document_id, rule=permissions.can_view_document)
    f = form(DeclineForm)
    docs.decline_document(db(), document.id, actor=me(), now=now(), reason=f.reason)
    db().commit()
    flash(_("已拒绝签署%(title)s %(number)s，领办人将与您联系",
            title=_(KIND_NAMES[document.kind]), number=document.number), "ok")
    return redirect(url_for("portal.project", code=document.project.code, _anchor="documents"))


@bp.route("/documents/<int:document_id>/paper", methods=["POST"])
@requires(permissions.can_lead)
def paper(document_id: int):
    """A lead handler records the enterprise's signature on paper, with the
    scan (stored like every upload: kept only if the signature commits)."""
    document = row_or_404(AgencyDocument, document_id, rule=permissions.can_view_document)
    f = _with_files(PaperForm)
    scan = uploads.store(f.scan)
    docs.record_paper_signature(db(), document.id, actor=me(), now=now(),
                                signatory=f.signatory, signed_on=f.signed_on, scan=scan)
    db().commit()
    flash(_("已登记%(title)s %(number)s 的纸质签署", title=_(KIND_NAMES[document.kind]),
            number=document.number), "ok")
    return redirect(url_for("cases.project", code=document.project.code, _anchor="documents"))


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
    project, f = project_or_404(code), form(RateForm)
    ratings.rate(db(), project.id, task_id=f.task_id, level=f.level, comment=f.comment,
                 actor=me(), now=now())
    db().commit()
    flash(_("感谢您的评价"), "ok")
    return redirect(url_for("portal.project", code=code, _anchor="ratings"))


@bp.route("/rectifications/<int:rectification_id>/answer", methods=["POST"])
@requires(permissions.can_sign_in)
def answer(rectification_id: int):
    row = row_or_404(Rectification, rectification_id)
    project, f = db().get(Project, row.project_id), form(AnswerForm)
    ratings.answer_rectification(db(), row.id, response=f.response, actor=me(), now=now())
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
    scope: list[tuple[str, str, str]]  # (code, name, "add" or "remove"): what may change
    handoff_tasks: list[ItemTask]
    agents: list[User]
    may_issue_mandate: bool
    may_change_scope: bool
    completion_issued: bool
    all_closed: bool
    can_record_paper: bool
    answerable: set[int] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)  # task id → item name


@dataclass
class ToAnswer:
    """A document waiting for the enterprise: its text and the digest the form sends."""

    document: AgencyDocument
    text: str
    sha256: str


@dataclass
class PortalPanel:
    documents: list[AgencyDocument]
    to_answer: list[ToAnswer]
    unrated: list[ItemTask]
    may_rate_project: bool
    mine: list
    levels: dict[str, str]
    names: dict[int, str]


@bp.app_context_processor
def _panels():
    return {"documents_panel": documents_panel, "portal_documents_panel": portal_documents_panel,
            "rating_level": lambda level: _(LEVELS.get(level, level)),
            "document_kind": lambda kind: _(KIND_NAMES.get(kind, kind)), "doc_time": zone_time,
            "document_answer": answer_text}


def item_names(project: Project) -> dict[int, str]:
    """Each task's item name in the reader's language."""
    items = ops.definition_for(project).items
    return {t.id: labels.name_of(items[t.item_code]) if t.item_code in items else t.item_code
            for t in project.tasks}


def _scope_choices(project: Project, in_scope: set[str], names: dict[int, str]):
    """What a change of scope may name: open items of the mandate to remove,
    items outside it (not terminated) to add."""
    choices = []
    for task in project.tasks:
        if task.item_code in in_scope and task.state not in docs.CLOSED_OK:
            choices.append((task.item_code, names[task.id], "remove"))
        elif task.item_code not in in_scope and task.state != "terminated":
            choices.append((task.item_code, names[task.id], "add"))
    return choices


def documents_panel(project: Project) -> StaffPanel:
    session, user = db(), me()
    found = docs.documents_of(session, project.id)
    signed = docs.signed_scope(session, project)
    in_scope = set(docs.current_scope(session, project)) if project.tasks else set()
    scoped = [t for t in project.tasks if t.item_code in in_scope]
    rows = ratings.rectifications_of(session, project.id)
    can_manage = permissions.can_manage_project(user, project)
    live = project.stage not in ("terminated", "verified")
    mandate_issued = any(d.kind == "mandate" and d.status != "declined" for d in found)
    names = item_names(project)
    return StaffPanel(
        documents=found, rectifications=rows, ratings=ratings.ratings_of(session, project.id),
        can_manage=can_manage, scope=_scope_choices(project, in_scope, names),
        handoff_tasks=[t for t in project.tasks if t.state in HANDOFF_STATES and t.assignee_id
                       and (can_manage or t.assignee_id == user.id)],
        agents=notify.group_agents(session, project.group_id),
        may_issue_mandate=can_manage and live and not mandate_issued
        and (project.stage == "signed" or bool(project.tasks)),
        may_change_scope=can_manage and live and bool(signed)
        and not any(d.kind == "continuation" and d.status == "awaiting" for d in found),
        completion_issued=any(d.kind == "completion" for d in found),
        all_closed=bool(scoped) and all(t.state in docs.CLOSED_OK for t in scoped),
        can_record_paper=permissions.can_record_paper_signature(user, project),
        answerable={r.id for r in rows if r.closed_at is None and
                    permissions.can_answer_rectification(user, r.owner_id, project)},
        names=names)


def portal_documents_panel(project: Project) -> PortalPanel:
    session, user = db(), me()
    found = docs.documents_of(session, project.id)
    waiting = [d for d in found if d.status == "awaiting"]
    return PortalPanel(
        documents=found,
        to_answer=[ToAnswer(d, docs.document_text(d), sha256_of(docs.document_text(d)))
                   for d in waiting],
        unrated=ratings.unrated_tasks(session, project, user),
        may_rate_project=ratings.may_rate_project(session, project, user),
        mine=[r for r in ratings.ratings_of(session, project.id) if r.rated_by_id == user.id],
        levels={level: _(LEVELS[level]) for level in RATING_LEVELS}, names=item_names(project))


def answer_text(document: AgencyDocument) -> str:
    """The enterprise's answer to a document, in one line ("" for those it does not sign)."""
    if document.status == "awaiting":
        return _("待委托方签署")
    if document.status == "declined":
        return _("委托方于 %(at)s 拒绝签署：%(reason)s", at=zone_time(document.answered_at),
                 reason=document.decline_reason)
    if document.status != "signed":
        return ""
    if document.signed_via == "portal":
        return _("%(name)s 于 %(day)s 在线签署", name=document.signatory, day=document.signed_on)
    if document.signatory is None:  # issued before signatures existed (migration 0018)
        return _("在线签署上线前出具，视为出具当日（%(day)s）已纸质签署", day=document.signed_on)
    return _("%(name)s 于 %(day)s 纸质签署（扫描件存档）", name=document.signatory,
             day=document.signed_on)


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


def _agent(item: dict) -> str:
    """The item's agent at issue, or the group queue it waited in (its agents take it)."""
    if item.get("agent"):
        return item["agent"]
    if item.get("queue"):
        return _("%(group)s 队列（待认领）", group=item["queue"])
    return "—"


def _items_table(caption: str, items: list[dict], columns: list[str]) -> Table:
    heads = {"name": _("事项"), "department": _("办理部门"), "limit": _("法定时限"),
             "agent": _("代办员"), "state": _("状态"), "suspended_from": _("中止前状态"),
             "paused_since": _("暂停计时起"), "result": _("办理结果（文号）"),
             "closed_on": _("办结日期")}
    cells = {"name": lambda i: i["name"], "department": lambda i: i["department_name"],
             "limit": lambda i: _limit(i.get("limit")), "agent": _agent,
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
    if document.status is not None:
        extra_facts.append((_("委托方签署"), answer_text(document)))
    if document.signed_sha256:
        extra_facts.append((_("签署内容校验码（SHA-256）"), document.signed_sha256))
    return Sheet(title=_(KIND_NAMES[document.kind]), number=document.number,
                 issued_on=data["issued_on"], standard=data["standard"], sha256=document.sha256,
                 facts=facts + extra_facts, paragraphs=paragraphs, tables=tables,
                 signatures=[_("委托方（签章）"), _("受托方（签章）")])


def _mandate_sheet(data):
    code = data.get("access_code")
    facts = [(_("查询码"), _("%(code)s（凭项目代码和查询码在 %(where)s 查询办理进度）",
                           code=code, where=url_for("portal.lookup", _external=True)))] \
        if code else []
    return (facts, [
        _("委托方自愿委托受托方为上述项目免费提供全程代办服务，代办范围为下列事项。"),
        _("受托方代办员在委托范围内帮办代办，不代替委托方作出决定（帮办代办不包办）；"
          "委托方对所提供材料的真实性、完整性负责。"),
        _("本委托书经委托方签署后生效；签署前，代办员不代为办理上述事项。"),
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

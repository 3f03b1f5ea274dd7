"""承诺制, 容缺受理 and credit records on the web.

- Staff (the task's agent or a lead) offer a commitment letter on a
  committable item, withdraw an unsigned one, record the department's
  compliance check; an agent accepts an item with secondary materials missing
  (容缺受理) and records the materials received. All of it from the panel on
  the staff project page (``commitments/_project_panel.html``).
- The enterprise reads and signs letters and 容缺 promises, and marks promised
  materials supplied, from the panel on its portal project page
  (``commitments/_portal_panel.html``); it also sees its own credit records there.
- Admins list credit records (``commitments.credit``) and clear them.

``COMMITMENT_CHECK_DAYS`` (app config) or ``DAIBAN_COMMITMENT_CHECK_DAYS``
(environment) sets the working days from signing to the compliance check
(default 60); the engine gets it as an argument when a letter is offered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Field

from web.support import auditview, labels
from web.support.access import local_target, me, requires, row_or_404, task_or_404
from web.support.db import db
from web.support.inputs import Day, Flag, Id, Input, Line, Maybe, Text, form, query
from web.support.paging import page_args
from web.support.present import zone_time
from web.support.security import now
from workflow.core import permissions
from workflow.core.operations import definition_for, zone_today
from workflow.kernel.validate import CREDIT_CODE
from workflow.models import CommitmentLetter, CreditRecord, GapAcceptance, ItemTask, Project
from workflow.reforms import commitments as cm
from workflow.reforms.commitments.models import CREDIT_SEVERITIES

bp = Blueprint("commitments", __name__)

LETTER_STATUS = {
    "issued": _l("待企业签署"), "signed": _l("已签署，待部门核查"), "kept": _l("核查：已履行承诺"),
    "rectifying": _l("限期整改中"), "broken": _l("核查：未履行承诺"), "false": _l("核查：虚假承诺"),
    "withdrawn": _l("已撤回"),
}
OUTCOMES = {"kept": _l("已履行承诺"), "rectify": _l("限期整改"), "broken": _l("未履行承诺"),
            "false": _l("虚假承诺")}
GAP_STATUS = {"open": _l("待补齐"), "fulfilled": _l("已按期补齐"), "expired": _l("逾期未补齐，事项终止")}
auditview.STATES.update(commitment=LETTER_STATUS, gap=GAP_STATUS)
SEVERITY = {"minor": _l("一般"), "serious": _l("严重")}
SOURCES = {"commitment_broken": _l("未履行承诺"), "commitment_false": _l("虚假承诺"),
           "gap_expired": _l("容缺材料逾期未补齐")}
# Names of this area's audit events on timelines (added to the shared table,
# never replacing another area's label).
EVENTS = {
    "commitment.offered": _l("出具承诺书"), "commitment.withdrawn": _l("撤回承诺书"),
    "commitment.signed": _l("企业签署承诺书"), "commitment.checked": _l("承诺核查"),
    "commitment.check_overdue": _l("承诺核查超期"), "gap.accepted": _l("容缺受理"),
    "gap.promised": _l("企业签署容缺承诺书"), "gap.fulfilled": _l("容缺材料已补齐"),
    "gap.expired": _l("容缺材料逾期未补齐"), "credit.recorded": _l("记入信用记录"),
    "credit.cleared": _l("信用记录已清除"), "task.terminate": _l("事项终止"),
}
for _code, _label in EVENTS.items():
    labels.EVENTS.setdefault(_code, _label)


def check_days() -> int:
    """Working days from signing to the department's compliance check."""
    raw = (current_app.config.get("COMMITMENT_CHECK_DAYS")
           or os.environ.get("DAIBAN_COMMITMENT_CHECK_DAYS") or cm.DEFAULT_CHECK_DAYS)
    return int(raw)


def _back(project: Project):
    if me().role == "enterprise":
        return redirect(url_for("portal.project", code=project.code, _anchor="commitments"))
    return redirect(url_for("cases.project", code=project.code, _anchor="commitments"))


# -- the forms and the filter ----------------------------------------------------------------

class ReasonForm(Input):
    """Why a letter is withdrawn."""

    reason: Text(2000, 1)


class NoteForm(Input):
    """A note with the step (materials received)."""

    note: Text(2000) = ""


class SignForm(Input):
    """The enterprise signs: the signatory's typed name and explicit consent
    (the engine refuses a signature without them, naming what is missing)."""

    signatory: Line(200) = ""  # CommitmentLetter.signature
    consent: Flag = False


class LetterSignForm(SignForm):
    # The SHA-256 of the letter as it was shown (lower-case hex): a different
    # one is a conflict (the letter changed since).
    sha256: Maybe(Annotated[str, Field(pattern="^[0-9a-f]{64}$")]) = None


class CheckForm(Input):
    """The department's compliance check; a rectification has its deadline."""

    outcome: Literal[cm.CHECK_OUTCOMES]  # type: ignore[valid-type]
    note: Text(2000) = ""
    rectify_by: Maybe(Day) = None


class GapForm(Input):
    """容缺受理: the secondary materials missing (their codes) and by when."""

    missing: list[Line(64, 1)] = Field(default_factory=list, max_length=100)
    deadline: Day


class ClearForm(Input):
    """Why an admin clears a credit record, and the page to return to."""

    note: Text(2000, 1)
    next: Line(2000) = ""


def _credit_code(value: str) -> str:
    value = value.upper()
    if not CREDIT_CODE.fullmatch(value):
        raise ValueError("credit_code")  # "格式不正确": 18 digits or capital letters
    return value


class CreditArgs(Input):
    """The credit list's filters: the enterprise (by id, or by its unified
    social credit code), the severity, and whether the record is cleared."""

    enterprise: Maybe(Id) = None
    code: Maybe(Annotated[Line(18), AfterValidator(_credit_code)]) = None
    severity: Maybe(Literal[CREDIT_SEVERITIES]) = None  # type: ignore[valid-type]
    cleared: Maybe(Literal["yes", "no"]) = None

    def credit_filter(self) -> cm.CreditFilter:
        return cm.CreditFilter(enterprise_id=self.enterprise, credit_code=self.code,
                               severity=self.severity,
                               cleared=None if self.cleared is None else self.cleared == "yes")


# -- 承诺制 --------------------------------------------------------------------------------

@bp.route("/commitments/<int:letter_id>")
@requires(permissions.can_sign_in)
def letter(letter_id: int):
    letter = row_or_404(CommitmentLetter, letter_id)
    return render_template("commitments/letter.html", letter=letter, project=letter.project,
                           item_name=_item_name(letter.task), digest=cm.sha256_of(letter.text))


@bp.route("/tasks/<int:task_id>/commitment", methods=["POST"])
@requires(permissions.can_sign_in)
def offer(task_id: int):
    task = task_or_404(task_id)
    letter = cm.offer_commitment(db(), task.id, actor=me(), now=now(), check_days=check_days())
    db().commit()
    flash(_("已出具承诺书 %(number)s，等待企业签署", number=letter.number), "ok")
    return _back(task.project)


@bp.route("/commitments/<int:letter_id>/withdraw", methods=["POST"])
@requires(permissions.can_sign_in)
def withdraw(letter_id: int):
    letter, f = row_or_404(CommitmentLetter, letter_id), form(ReasonForm)
    cm.withdraw_commitment(db(), letter.id, actor=me(), now=now(), reason=f.reason)
    db().commit()
    flash(_("承诺书已撤回"), "ok")
    return _back(letter.project)


@bp.route("/commitments/<int:letter_id>/sign", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def sign(letter_id: int):
    letter, f = row_or_404(CommitmentLetter, letter_id), form(LetterSignForm)
    cm.sign_commitment(db(), letter.id, actor=me(), now=now(), signatory=f.signatory,
                       consent=f.consent, shown_sha256=f.sha256)
    db().commit()
    flash(_("承诺书已签署，该事项已按承诺制办结"), "ok")
    return _back(letter.project)


@bp.route("/commitments/<int:letter_id>/check", methods=["POST"])
@requires(permissions.can_sign_in)
def check(letter_id: int):
    letter, f = row_or_404(CommitmentLetter, letter_id), form(CheckForm)
    cm.record_check(db(), letter.id, outcome=f.outcome, actor=me(), now=now(), note=f.note,
                    rectify_by=f.rectify_by if f.outcome == "rectify" else None)
    db().commit()
    flash(_("已记录承诺核查结果：%(outcome)s", outcome=OUTCOMES[f.outcome]), "ok")
    return _back(letter.project)


# -- 容缺受理 -------------------------------------------------------------------------------

@bp.route("/tasks/<int:task_id>/gap", methods=["POST"])
@requires(permissions.can_sign_in)
def accept_gap(task_id: int):
    task, f = task_or_404(task_id), form(GapForm)
    gap = cm.accept_with_gaps(db(), task.id, f.missing, deadline=f.deadline, actor=me(),
                              now=now())
    db().commit()
    flash(_("已容缺受理，企业须于 %(day)s 前补齐材料", day=gap.deadline.isoformat()), "ok")
    return _back(task.project)


@bp.route("/gaps/<int:gap_id>/promise", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def promise(gap_id: int):
    gap, f = row_or_404(GapAcceptance, gap_id), form(SignForm)
    cm.sign_promise(db(), gap.id, actor=me(), now=now(), signatory=f.signatory,
                    consent=f.consent)
    db().commit()
    flash(_("容缺受理承诺书已签署"), "ok")
    return _back(gap.project)


@bp.route("/gaps/<int:gap_id>/fulfil", methods=["POST"])
@requires(permissions.can_sign_in)
def fulfil(gap_id: int):
    gap, f = row_or_404(GapAcceptance, gap_id), form(NoteForm)
    cm.fulfil_gap(db(), gap.id, actor=me(), now=now(), note=f.note)
    db().commit()
    flash(_("容缺材料已补齐，事项继续办理"), "ok")
    return _back(gap.project)


# -- credit records (admin) -----------------------------------------------------------------

@bp.route("/admin/credit")
@requires(permissions.can_read_credit)
def credit():
    """One page of the credit records, filtered and ordered in the database."""
    filters = query(CreditArgs).credit_filter()
    cursor, limit = page_args()
    page = cm.credit_records(db(), enterprise_id=filters.enterprise_id,
                             credit_code=filters.credit_code, severity=filters.severity,
                             cleared=filters.cleared, cursor=cursor, limit=limit)
    return render_template("commitments/credit.html", rows=page.rows, page=page, args=request.args,
                           enterprise=cm.enterprise_of_filter(db(), filters.enterprise_id,
                                                              filters.credit_code))


@bp.route("/admin/credit/<int:record_id>/clear", methods=["POST"])
@requires(permissions.can_clear_credit)
def clear(record_id: int):
    if db().get(CreditRecord, record_id) is None:
        abort(404)
    f = form(ClearForm)
    cm.clear_credit_record(db(), record_id, actor=me(), now=now(), note=f.note)
    db().commit()
    flash(_("信用记录已清除"), "ok")
    return redirect(local_target(f.next, url_for("commitments.credit")))


# -- the panels on the project pages ---------------------------------------------------------

@dataclass
class GapCandidate:
    task: ItemTask
    item_name: str
    materials: list  # the item's materials (definition objects)


@dataclass
class Panel:
    project: Project
    letters: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    offerable: list = field(default_factory=list)  # (task, item name)
    candidates: list = field(default_factory=list)  # GapCandidate
    records: list = field(default_factory=list)
    serious: bool = False
    today: date | None = None

    @property
    def visible(self) -> bool:
        return bool(self.letters or self.gaps or self.offerable or self.candidates or self.records)


def _item_name(task: ItemTask) -> str:
    item = definition_for(task.project).items.get(task.item_code)
    return labels.name_of(item) if item is not None else task.item_code


def commitments_panel(project: Project) -> Panel:
    """What the panel of this area shows to the current user on a project page."""
    session, user = db(), me()
    definition = definition_for(project)
    panel = Panel(project=project, letters=cm.letters_of_project(session, project.id),
                  gaps=cm.gaps_of_project(session, project.id),
                  records=cm.credit_records(session, enterprise_id=project.enterprise_id),
                  serious=cm.has_serious_record(session, project.enterprise_id),
                  today=zone_today(now()))
    if user.role == "enterprise" or panel.serious:
        return panel
    waiting = {letter.task_id for letter in panel.letters if letter.status == "issued"}
    gapped = {gap.task_id for gap in panel.gaps if gap.status == "open"}
    for task in project.tasks:
        item = definition.items.get(task.item_code)
        if item is None or not permissions.can_work(user, task):
            continue
        if (cm.committable(item) and task.state in cm.OFFERABLE_STATES
                and task.id not in waiting):
            panel.offerable.append((task, labels.name_of(item)))
        if (task.state in cm.GAP_STATES and task.id not in gapped
                and any(m.secondary for m in item.materials)):
            panel.candidates.append(GapCandidate(task, labels.name_of(item), list(item.materials)))
    return panel


@bp.app_context_processor
def _panel_helpers():
    return {"commitments_panel": commitments_panel, "cm_time": zone_time, "cm_letter_status": LETTER_STATUS,
            "cm_outcomes": OUTCOMES, "cm_gap_status": GAP_STATUS, "cm_severity": SEVERITY,
            "cm_sources": SOURCES, "cm_item_name": _item_name, "cm_sha256": cm.sha256_of,
            "cm_can_check": permissions.can_check_commitment,
            "cm_can_offer": permissions.can_offer_commitment}

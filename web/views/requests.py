"""Enterprise requests (入企服务, 政企沟通) and leaders' visits (入企调研).

- ``/portal/requests``: the enterprise raises a request and follows its own
  (another enterprise's answers 404); on a solved one it rates the outcome,
  on an unsolved one it may withdraw it.
- ``/requests``: the staff's paged, filterable list (an agent sees their
  department's and the ones they recorded), and ``/requests.xlsx``: the same
  list with the same filters as an Excel sheet, written as it is read; a request's page with the step
  its viewer may take (arrange and classify: the leadership; feedback and
  solution: the department); ``/requests/figures``: open requests by
  department and age for supervisors and the leadership.
- ``/visits``: the visits, a visit with the requests raised in it.

Every field and query argument is a declared model; the engine
(``workflow.reforms.requests``) checks who may do what again.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field

from web.support import excel, labels
from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Day, Flag, Id, Input, Line, Maybe, Text, form, query
from web.support.paging import page_args
from web.support.present import zone_time
from web.support.security import now
from workflow.core import permissions
from workflow.core import portal as portal_queries
from workflow.core.operations import zone_today
from workflow.kernel.moments import stored_day
from workflow.reforms import requests as req
from workflow.reforms.requests import rules
from workflow.reforms.requests.models import (
    COMPLEXITIES,
    REQUEST_KINDS,
    REQUEST_RATINGS,
    REQUEST_STATES,
)

bp = Blueprint("requests", __name__)

KINDS = {"power": _l("用电接入"), "utilities": _l("水气热接入"), "road": _l("道路配套"),
         "land": _l("用地"), "approval": _l("审批手续"), "policy": _l("政策咨询"),
         "financing": _l("融资"), "labour": _l("用工"), "other": _l("其他")}
STATES = {"submitted": _l("待安排"), "arranged": _l("已安排"), "feedback_given": _l("已反馈"),
          "solved": _l("已办结待评价"), "reopened": _l("重新办理"), "closed": _l("已关闭"),
          "withdrawn": _l("已撤回")}
SOURCES = {"portal": _l("企业提交"), "visit": _l("走访收集"), "staff": _l("工作人员登记")}
COMPLEXITY = {"ordinary": _l("一般问题（7 个工作日）"), "complex": _l("复杂问题（1 个月）")}
RATINGS = {"satisfied": _l("满意"), "unsatisfied": _l("不满意")}
# The 13710 steps, as the export names an overdue one (``req.overdue_steps``).
STEP_NAMES = {"arrange": _l("安排"), "feedback": _l("反馈"), "solve": _l("办结")}
AGE_NAMES = {"within_3": _l("3 个工作日内"), "within_7": _l("3–7 个工作日"),
             "within_month": _l("7 个工作日至 1 个月"), "over_month": _l("超过 1 个月")}
assert set(KINDS) == set(REQUEST_KINDS) and set(STATES) == set(REQUEST_STATES)


# -- inputs --------------------------------------------------------------------------------------

class RaiseForm(Input):
    kind: Literal[REQUEST_KINDS] = "other"  # type: ignore[valid-type]
    title: Line(200, 1)
    text: Text(4000) = ""
    project_id: Maybe(Id) = None


class StaffRaiseForm(RaiseForm):
    enterprise: Line(200) = ""


class ListArgs(Input):
    """The list's filters (``req.RequestFilter``): the page, its export and
    ``GET /api/v1/requests`` read the same arguments."""

    status: Maybe(Literal[(*REQUEST_STATES, "open")]) = Field(  # type: ignore[valid-type]
        None, description="One status, or `open`: not solved yet.")
    department: Maybe(Line(64)) = Field(
        None, description="The responsible department's code (责任部门).")
    kind: Maybe(Literal[REQUEST_KINDS]) = Field(  # type: ignore[valid-type]
        None, description="The kind of problem (问题类型).")
    overdue: Flag = Field(False, description="Only open requests past their current "
                                             "step's due date.")

    def filters(self) -> req.RequestFilter:
        return req.RequestFilter(status=self.status, department=self.department,
                                 kind=self.kind, overdue=self.overdue)


class Versioned(Input):
    version: Maybe(Id) = None


class ArrangeForm(Versioned):
    department: Line(64, 1)
    complexity: Literal[COMPLEXITIES] = "ordinary"  # type: ignore[valid-type]
    note: Text(4000) = ""


class ClassifyForm(Versioned):
    complexity: Literal[COMPLEXITIES]  # type: ignore[valid-type]


class WordsForm(Versioned):
    text: Text(4000, 1)


class RateForm(Versioned):
    rating: Literal[REQUEST_RATINGS]  # type: ignore[valid-type]
    comment: Text(4000) = ""


class VisitForm(Input):
    enterprise: Line(200, 1)
    visited_on: Day
    leader_id: Id
    companions: Line(300) = ""
    notes: Text(4000) = ""


# -- the enterprise's side -----------------------------------------------------------------------

@bp.route("/portal/requests")
@requires(permissions.can_act_for_enterprise)
def portal_list():
    cursor, limit = page_args()
    page = req.request_page(db(), me(), req.RequestFilter(), today=zone_today(now()),
                            cursor=cursor, limit=limit)
    projects = portal_queries.enterprise_projects(db(), me(), cursor=None, limit=100)
    return render_template("requests/portal_list.html", page=page, projects=projects,
                           **_names())


@bp.route("/portal/requests", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def portal_raise():
    f = form(RaiseForm)
    row = req.raise_request(db(), actor=me(), now=now(), kind=f.kind, title=f.title,
                            text=f.text, project_id=f.project_id)
    db().commit()
    flash(_("诉求已提交，园区将于当个工作日安排责任部门办理"), "ok")
    return redirect(url_for("requests.portal_detail", request_id=row.id))


@bp.route("/portal/requests/<int:request_id>")
@requires(permissions.can_act_for_enterprise)
def portal_detail(request_id: int):
    row = req.load_for(db(), request_id, me())
    return render_template("requests/portal_detail.html", r=row, today=zone_today(now()),
                           departments=_department_names(), **_names())


@bp.route("/portal/requests/<int:request_id>/rate", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def portal_rate(request_id: int):
    f = form(RateForm)
    req.rate(db(), request_id, actor=me(), now=now(), rating=f.rating, comment=f.comment,
             expected_version=f.version)
    db().commit()
    flash(_("感谢您的评价") if f.rating == "satisfied" else _("已转回责任部门重新办理"), "ok")
    return redirect(url_for("requests.portal_detail", request_id=request_id))


@bp.route("/portal/requests/<int:request_id>/withdraw", methods=["POST"])
@requires(permissions.can_act_for_enterprise)
def portal_withdraw(request_id: int):
    f = form(Versioned)
    req.withdraw(db(), request_id, actor=me(), now=now(), expected_version=f.version)
    db().commit()
    flash(_("诉求已撤回"), "ok")
    return redirect(url_for("requests.portal_detail", request_id=request_id))


# -- the staff's side -----------------------------------------------------------------------------

@bp.route("/requests")
@requires(permissions.can_work_as_staff)
def index():
    args = query(ListArgs)
    cursor, limit = page_args()
    today = zone_today(now())
    page = req.request_page(db(), me(), args.filters(), today=today, cursor=cursor, limit=limit)
    return render_template("requests/index.html", page=page, args=args, today=today,
                           due_soon=req.due_soon,
                           can_record=rules.can_record_for_enterprise(me()),
                           can_figures=rules.can_read_request_figures(me()),
                           departments=_department_names(), **_names())


EXPORT_COLUMNS = [_l("编号"), _l("标题"), _l("企业"), _l("统一社会信用代码"), _l("问题类型"),
                  _l("问题类别"), _l("来源"), _l("状态"), _l("责任部门"), _l("提出日期"),
                  _l("安排时限"), _l("反馈时限"), _l("办结时限"), _l("办结日期"), _l("是否超期"),
                  _l("超期环节"), _l("企业评价"), _l("评价意见")]
EXPORT_WIDTHS = [8, 36, 28, 20, 12, 20, 12, 12, 16, 12, 12, 12, 12, 12, 8, 16, 10, 30]


class _ExportLine:
    """One request as the export's row: names in the reader's language, dates
    as the zone's calendar days (a stored moment is UTC), the overdue steps
    on the export's day as the escalation sweep counts them."""

    def __init__(self, today, departments: dict[str, str]) -> None:
        self.today, self.departments = today, departments
        self.yes, self.no = _("是"), _("否")

    def __call__(self, r) -> list:
        late = req.overdue_steps(r, self.today)
        return [r.id, r.title, r.enterprise.name, r.enterprise.credit_code or "",
                str(KINDS[r.kind]), str(COMPLEXITY[r.complexity]), str(SOURCES[r.source]),
                str(STATES[r.status]),
                self.departments.get(r.department, r.department) if r.department else "",
                r.submitted_on, r.arrange_due_on, r.feedback_due_on, r.solve_due_on,
                stored_day(r.solved_at), self.yes if late else self.no,
                "、".join(str(STEP_NAMES[step]) for step, _due in late),
                str(RATINGS[r.rating]) if r.rating else "", r.rating_comment or ""]


@bp.route("/requests.xlsx")
@requires(permissions.can_work_as_staff)
def export():
    """The list the page shows (the same filters, the same rows the user may
    see, newest first), written to the sheet as it is read, a batch at a time."""
    args, moment = query(ListArgs), now()
    today = zone_today(moment)
    rows = map(_ExportLine(today, _department_names()),
               req.request_rows(db(), me(), args.filters(), today=today, end_reads=True))
    return excel.download(_("企业诉求"), EXPORT_COLUMNS, rows, EXPORT_WIDTHS,
                          _("企业诉求清单-%(day)s.xlsx", day=today.isoformat()),
                          f"requests-{today.isoformat()}.xlsx",
                          caption=_("企业诉求清单（数据截至 %(at)s，北京时间）",
                                    at=zone_time(moment)))


@bp.route("/requests", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def staff_raise():
    f = form(StaffRaiseForm)
    company = req.find_enterprise(db(), f.enterprise)
    row = req.raise_request(db(), actor=me(), now=now(), kind=f.kind, title=f.title,
                            text=f.text, enterprise_id=company.id)
    db().commit()
    flash(_("已登记企业诉求"), "ok")
    return redirect(url_for("requests.detail", request_id=row.id))


@bp.route("/requests/figures")
@requires(permissions.can_supervise)
def figures():
    today = zone_today(now())
    table = req.open_by_department(db(), today)
    return render_template("requests/figures.html", table=table, today=today,
                           ages=AGE_NAMES, departments=_department_names())


@bp.route("/requests/<int:request_id>")
@requires(permissions.can_work_as_staff)
def detail(request_id: int):
    user, row = me(), req.load_for(db(), request_id, me())
    return render_template(
        "requests/detail.html", r=row, today=zone_today(now()),
        can_arrange=rules.can_arrange(user), can_handle=rules.can_handle(user, row),
        departments=_department_names(), **_names())


def _step(request_id: int, done: str, operation, model, **fields):
    f = form(model)
    operation(db(), request_id, actor=me(), now=now(), expected_version=f.version,
              **{name: getattr(f, attr) for name, attr in fields.items()})
    db().commit()
    flash(done, "ok")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/requests/<int:request_id>/arrange", methods=["POST"])
@requires(permissions.can_lead)
def arrange(request_id: int):
    return _step(request_id, _("已安排责任部门"), req.arrange, ArrangeForm,
                 department="department", complexity="complexity", note="note")


@bp.route("/requests/<int:request_id>/classify", methods=["POST"])
@requires(permissions.can_lead)
def classify(request_id: int):
    return _step(request_id, _("已调整问题类别"), req.classify, ClassifyForm,
                 complexity="complexity")


@bp.route("/requests/<int:request_id>/feedback", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def feedback(request_id: int):
    return _step(request_id, _("已向企业反馈"), req.give_feedback, WordsForm, text="text")


@bp.route("/requests/<int:request_id>/solve", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def solve(request_id: int):
    return _step(request_id, _("已办结，等待企业评价"), req.solve, WordsForm, text="text")


@bp.route("/requests/<int:request_id>/close", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def close(request_id: int):
    return _step(request_id, _("诉求已关闭"), req.close, Versioned)


# -- visits ----------------------------------------------------------------------------------------

@bp.route("/visits")
@requires(permissions.can_work_as_staff)
def visits():
    cursor, limit = page_args()
    page = req.visit_page(db(), cursor=cursor, limit=limit)
    counts = req.request_counts_for_visits(db(), [v.id for v in page])
    can_record = rules.can_record_for_enterprise(me())
    return render_template("requests/visits.html", page=page, counts=counts,
                           can_record=can_record, today=zone_today(now()),
                           leaders=req.leaders(db()) if can_record else [])


@bp.route("/visits", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def record_visit():
    f = form(VisitForm)
    company = req.find_enterprise(db(), f.enterprise)
    visit = req.record_visit(db(), actor=me(), now=now(), enterprise_id=company.id,
                             visited_on=f.visited_on, leader_id=f.leader_id,
                             companions=f.companions, notes=f.notes)
    db().commit()
    flash(_("已记录走访"), "ok")
    return redirect(url_for("requests.visit", visit_id=visit.id))


@bp.route("/visits/<int:visit_id>")
@requires(permissions.can_work_as_staff)
def visit(visit_id: int):
    row = req.get_visit(db(), visit_id)
    if row is None:
        abort(404)
    return render_template("requests/visit.html", v=row,
                           rows=req.requests_of_visit(db(), visit_id),
                           can_record=rules.can_record_for_enterprise(me()), **_names())


@bp.route("/visits/<int:visit_id>/requests", methods=["POST"])
@requires(permissions.can_serve_enterprises)
def visit_request(visit_id: int):
    f = form(RaiseForm)
    row = req.raise_request(db(), actor=me(), now=now(), kind=f.kind, title=f.title,
                            text=f.text, visit_id=visit_id)
    db().commit()
    flash(_("已登记走访中收集的诉求"), "ok")
    return redirect(url_for("requests.visit", visit_id=visit_id, _anchor=f"r{row.id}"))


# -- shared ------------------------------------------------------------------------------------------

def _department_names() -> dict[str, str]:
    return {code: labels.name_of(d) for code, d in req.departments(db()).items()}


def _names() -> dict:
    return {"kinds": KINDS, "states": STATES, "sources": SOURCES, "ratings": RATINGS,
            "complexity": COMPLEXITY, "args_raw": request.args}

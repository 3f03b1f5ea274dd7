"""包联服务 on the web: the leadership view (each leadership member's projects
and their plan status, a page at a time, filtered by member and status) and
the plan panel of the staff project page, where the project's lead (or an
admin) sets the promoting unit and the dedicated staff member, adds,
reschedules and removes milestones with a reason, and marks one done.

Every form field and query argument is parsed by a declared model below; a
bad value answers 400 naming the field and changes nothing. Each form calls
one operation of ``workflow.reforms.baolian`` (which checks the project and
writes the audit event) and commits once."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from web.support import auditview, labels
from web.support.access import me, project_or_404, requires
from web.support.db import db
from web.support.inputs import Day, Id, Input, InputError, Line, Maybe, Text, form, query
from web.support.paging import limit_arg, page_args
from web.support.security import now
from workflow.core import notify, permissions
from workflow.core.operations import zone_today
from workflow.models import PlanMilestone, User
from workflow.reforms import baolian

bp = Blueprint("baolian", __name__)

STATUS_NAMES = {"late": _l("滞后"), "at_risk": _l("预警"), "on_track": _l("正常推进"), "done": _l("已完成")}
assert tuple(STATUS_NAMES) == baolian.STATUSES
KIND_NAMES = {"sign": _l("签约"), "start": _l("开工"), "completion": _l("竣工"),
              "production": _l("投产"), "capacity": _l("达产"), "custom": _l("自定节点")}
SOURCE_NAMES = {"agreement": _l("投资建设协议"), "default": _l("默认（待协议）"), "lead": _l("领导调整")}
labels.EVENTS.update({
    "baolian.plan_seeded": _l("生成推进方案"), "baolian.plan_from_agreement": _l("推进方案按协议定期"),
    "baolian.milestone_achieved": _l("推进节点完成"), "baolian.milestone_added": _l("新增推进节点"),
    "baolian.milestone_changed": _l("调整推进节点"), "baolian.milestone_removed": _l("删除推进节点"),
    "baolian.milestone_escalated": _l("推进节点逾期督办"), "baolian.team_set": _l("确定推进单位和专职人员"),
})

# The fields of this area's audit events, in words.
auditview.KEYS.update({
    "milestone": _l("推进节点"), "planned_on": _l("计划日期"), "previous_date": _l("原计划日期"),
    "renamed_from": _l("原名称"), "achieved_on": _l("完成日期"), "how": _l("完成方式"),
    "dated_by": _l("日期来源"), "promoting_unit": _l("推进单位"), "staff": _l("专职人员"),
    "previous_unit": _l("原推进单位"), "previous_staff": _l("原专职人员"),
    "late_working_days": _l("逾期工作日"),
})
auditview.ENUMS.update({
    "baolian.how": {"stage": _l("项目进入对应阶段"), "lead": _l("领导标记完成")},
    "baolian.dated_by": {"agreement": SOURCE_NAMES["agreement"], "default": SOURCE_NAMES["default"]},
    "baolian.level": {"red": _l("逾期"), "escalate_lead": _l("班子成员督办"),
                      "escalate_supervisor": _l("升级督查"), "escalate_leadership": _l("升级园区领导")},
})
auditview.PEOPLE = (*auditview.PEOPLE, "staff", "previous_staff")


class PlansArgs(Input):
    """The leadership view's filters."""

    member: Maybe(Id) = None
    status: Maybe(Literal[baolian.STATUSES]) = None  # type: ignore[valid-type]


class TeamForm(Input):
    promoting_unit: Line(200) = ""
    staff: Line(64) = ""  # the staff member's username; empty: nobody


class MilestoneForm(Input):
    name: Line(200, 1)
    planned_on: Day
    reason: Text(1000, 1)


class RescheduleForm(Input):
    planned_on: Day
    reason: Text(1000, 1)
    name: Line(200) = ""


class RemoveForm(Input):
    reason: Text(1000, 1)


class DoneForm(Input):
    achieved_on: Day
    note: Text(1000) = ""


@bp.app_context_processor
def _panel():
    return {"baolian_panel": baolian_panel, "baolian_status": STATUS_NAMES,
            "baolian_kind": KIND_NAMES, "baolian_source": SOURCE_NAMES}


def baolian_panel(project):
    """The plan panel's data for the staff project page."""
    session, today = db(), zone_today(now())
    plan = baolian.plan_of(session, project.id)
    can_edit = baolian.can_edit_plan(me(), project)
    risk_by = baolian.risk_bound(today)
    return {"plan": plan, "today": today, "can_edit": can_edit,
            "status": baolian.status_of(plan.next_due_on, today, risk_by) if plan else None,
            "milestones": [(m, baolian.milestone_status(m, today, risk_by)) for m in plan.milestones]
            if plan else [],
            "staff_choices": notify.group_agents(session, project.group_id) if can_edit and plan else [],
            "can_start": can_edit and plan is None and project.stage not in ("intention", "terminated")}


@bp.route("/baolian")
@requires(permissions.can_read_plans)
def plans():
    """The leadership view: the members with their plans by status, and a page of plans."""
    session, today = db(), zone_today(now())
    args = query(PlansArgs)
    page = baolian.plan_page(session, today=today, member_id=args.member, status=args.status,
                             cursor=page_args()[0], limit=limit_arg())
    risk_by = page.extras["risk_by"]
    return render_template(
        "baolian/plans.html", page=page, args=args, today=today, risk_by=risk_by,
        risk_days=baolian.AT_RISK_WORKING_DAYS,
        members=baolian.members(session, today=today),
        next_of=baolian.next_milestones(session, page.rows),
        status_of=lambda plan: baolian.status_of(plan.next_due_on, today, risk_by))


def _done(project, message: str):
    db().commit()
    flash(message, "ok")
    return redirect(url_for("cases.project", code=project.code, _anchor="plan"))


def _milestone_of(project, milestone_id: int) -> PlanMilestone:
    row = db().get(PlanMilestone, milestone_id)
    if row is None or row.project_id != project.id:
        abort(404)
    return row


@bp.route("/projects/<code>/plan", methods=["POST"])
@requires(permissions.can_lead)
def start(code: str):
    project = project_or_404(code)
    baolian.start_plan(db(), project.id, actor=me(), now=now())
    return _done(project, _("已生成推进方案"))


@bp.route("/projects/<code>/plan/team", methods=["POST"])
@requires(permissions.can_lead)
def team(code: str):
    project, f = project_or_404(code), form(TeamForm)
    staff = None
    if f.staff.strip():
        staff = db().scalar(select(User).where(User.username == f.staff.strip()))
        if staff is None:
            raise InputError(_("没有这个用户：%(name)s", name=f.staff), field="staff")
    baolian.set_team(db(), project.id, promoting_unit=f.promoting_unit, staff=staff, actor=me(), now=now())
    return _done(project, _("已保存推进单位和专职人员"))


@bp.route("/projects/<code>/plan/milestones", methods=["POST"])
@requires(permissions.can_lead)
def add(code: str):
    project, f = project_or_404(code), form(MilestoneForm)
    baolian.add_milestone(db(), project.id, name=f.name, planned_on=f.planned_on, reason=f.reason,
                          actor=me(), now=now())
    return _done(project, _("已新增推进节点"))


@bp.route("/projects/<code>/plan/milestones/<int:milestone_id>", methods=["POST"])
@requires(permissions.can_lead)
def reschedule(code: str, milestone_id: int):
    project, f = project_or_404(code), form(RescheduleForm)
    row = _milestone_of(project, milestone_id)
    baolian.edit_milestone(db(), row.id, planned_on=f.planned_on, reason=f.reason, name=f.name or None,
                           actor=me(), now=now())
    return _done(project, _("已调整推进节点"))


@bp.route("/projects/<code>/plan/milestones/<int:milestone_id>/remove", methods=["POST"])
@requires(permissions.can_lead)
def remove(code: str, milestone_id: int):
    project, f = project_or_404(code), form(RemoveForm)
    row = _milestone_of(project, milestone_id)
    baolian.remove_milestone(db(), row.id, reason=f.reason, actor=me(), now=now())
    return _done(project, _("已删除推进节点"))


@bp.route("/projects/<code>/plan/milestones/<int:milestone_id>/done", methods=["POST"])
@requires(permissions.can_lead)
def done(code: str, milestone_id: int):
    project, f = project_or_404(code), form(DoneForm)
    row = _milestone_of(project, milestone_id)
    baolian.mark_done(db(), row.id, achieved_on=f.achieved_on, note=f.note, actor=me(), now=now())
    return _done(project, _("已标记推进节点完成"))

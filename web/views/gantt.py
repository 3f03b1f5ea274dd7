"""Where the predicted dates show (``workflow.core.predict``): the project
page's timeline (Gantt: actual, predicted and planned dates per item and
milestone, the critical path, today), the portal's expected start and
completion, and the supervisors' list of projects predicted to miss their
investment agreement, with its Excel export.

A page reads the stored prediction with its as-of time
(``prediction_store.forecast_of``: stale ones are shown as they are, the
sweep redoes them); only a project never predicted is predicted while the
page renders, and not stored. The planned dates come from the 包联 plan or
the agreement (``baolian.planned_milestones``), the late list from the land
area (``land.forecast``)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.support import excel, gantt, labels
from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Input, Line, Maybe, query
from web.support.paging import page_args
from web.support.present import zone_time
from web.support.security import now
from workflow.core import figures as fig
from workflow.core import permissions
from workflow.core.operations import definition_for, zone_today
from workflow.core.predict import MILESTONES
from workflow.core.prediction_store import Forecast, forecast_of
from workflow.reforms import baolian
from workflow.reforms.land import forecast as land_forecast

bp = Blueprint("gantt", __name__)

CLOSED = ("done", "covered", "terminated")
BASIS_NAMES = {"history": _l("园区历史用时"), "limit": _l("法定时限")}
LATE_NAMES = {"started": _l("开工"), "completed": _l("竣工"), "producing": _l("投产")}


def milestone_name(code: str | None, name: str = "") -> str:
    return labels.stage_label(code) if code else name


def _ordered_tasks(project):
    order = list(definition_for(project).items)
    return sorted(project.tasks, key=lambda t: (order.index(t.item_code)
                                                if t.item_code in order else len(order), t.id))


def timeline(project, *, with_items: bool = True) -> dict:
    """The timeline's data for ``project``: the prediction (None for a
    project that no longer moves), the SVG, and the rows of its table."""
    session, moment = db(), now()
    today = zone_today(moment)
    forecast = forecast_of(session, project, now=moment)
    planned = baolian.planned_milestones(session, project.id)
    definition = definition_for(project)
    rows = []
    for task in _ordered_tasks(project) if with_items else []:
        if task.state in ("covered", "terminated"):
            continue
        item = definition.items.get(task.item_code)
        predicted = forecast.items.get(task.item_code) if forecast else None
        actual = None
        if task.released_on:
            actual = gantt.Span(task.released_on, task.closed_on or max(today, task.released_on))
        rows.append(gantt.Row(
            code=task.item_code, label=labels.name_of(item) if item else task.item_code,
            actual=actual,
            predicted=gantt.Span(predicted.start, predicted.end) if predicted else None,
            critical=bool(predicted and predicted.critical),
            provisional=bool(predicted and predicted.provisional)))
    markers = [gantt.Marker(p.milestone or p.kind, milestone_name(p.milestone, p.name), p.day,
                            "planned") for p in planned]
    if forecast:
        markers += [gantt.Marker(m, labels.stage_label(m), forecast.milestones[m],
                                 "reached" if m in forecast.reached else "predicted")
                    for m in MILESTONES]
    svg = None
    if rows or markers:
        narrow = {} if with_items else {"label_width": 80, "max_plot": 640}
        svg = gantt.gantt(rows, markers, today=today,
                          title=_("%(name)s 的办理时间轴：计划、实际与预计", name=project.name),
                          labels={"planned": _("计划节点"), "predicted": _("预计节点"),
                                  "today": _("今天")}, **narrow)
    return {"forecast": forecast, "svg": svg, "rows": rows, "planned": planned,
            "predicted_items": forecast.items if forecast else {},
            "milestones": milestone_rows(forecast, planned), "today": today,
            "basis_names": BASIS_NAMES,
            "critical_name": _item_name(definition, forecast.critical_item) if forecast else None}


def milestone_rows(forecast: Forecast | None, planned) -> list[dict]:
    """Per lifecycle milestone: its planned and predicted (or actual) dates."""
    by_milestone = {p.milestone: p for p in planned if p.milestone}
    found = []
    for m in MILESTONES:
        plan = by_milestone.get(m)
        day = forecast.milestones[m] if forecast else None
        if plan is None and day is None:
            continue
        found.append({"code": m, "name": labels.stage_label(m), "planned": plan.day if plan else None,
                      "day": day, "reached": bool(forecast and m in forecast.reached),
                      "late": bool(plan and day and day > plan.day)})
    return found


def _item_name(definition, code: str | None) -> str | None:
    if code is None:
        return None
    item = definition.items.get(code)
    return labels.name_of(item) if item else code


@bp.app_context_processor
def _panels():
    return {"gantt_timeline": timeline}


# -- the supervisors' list ----------------------------------------------------------------

class MissesArgs(Input):
    """The list's filter: one industry group (its code)."""

    group: Maybe(Line(64)) = None


def _scope_and_group(args: MissesArgs):
    user = me()
    scope = permissions.group_ids(user) if user.role == "lead" else None
    choices = fig.filter_choices(db(), scope).groups
    group_ids = scope
    if args.group:
        chosen = next((g.id for g in choices if g.code == args.group), None)
        group_ids = {chosen} if chosen is not None else set()
    return group_ids, choices


@bp.route("/supervision/agreement-misses")
@requires(permissions.can_supervise)
def misses():
    """Projects predicted to miss their investment agreement, a page at a time."""
    args = query(MissesArgs)
    group_ids, choices = _scope_and_group(args)
    cursor, limit = page_args()
    page = land_forecast.agreement_misses(db(), group_ids=group_ids, cursor=cursor, limit=limit)
    return render_template("gantt/misses.html", page=page, groups=choices, args=args,
                           late_names=LATE_NAMES, item_name=miss_item, today=zone_today(now()))


def miss_item(miss) -> str:
    return _item_name(definition_for(miss.project), miss.prediction.critical_item) or "—"


MISS_COLUMNS = [_l("项目代码"), _l("项目名称"), _l("企业"), _l("产业组"), _l("领办人"),
                _l("协议开工"), _l("预计开工"), _l("协议竣工"), _l("预计竣工"), _l("协议投产"),
                _l("预计投产"), _l("最多延误（工作日）"), _l("制约事项"), _l("预计含暂定年份"),
                _l("预测时间")]
MISS_WIDTHS = [24, 28, 26, 18, 12, 12, 12, 12, 12, 12, 12, 14, 28, 12, 18]


def miss_cells(m) -> list:
    p, a = m.prediction, m.agreement
    return [m.project.code, m.project.name, m.project.enterprise.name,
            labels.name_of(m.project.group), m.project.lead.display_name if m.project.lead else "",
            a.start_by, p.started_on, a.complete_by, p.completed_on, a.produce_by, p.producing_on,
            m.days_late, miss_item(m), _("是") if p.provisional else "", zone_time(p.as_of)]


@bp.route("/supervision/agreement-misses.xlsx")
@requires(permissions.can_supervise)
def export_misses():
    group_ids, _choices = _scope_and_group(query(MissesArgs))
    moment = now()
    today = zone_today(moment)
    rows = map(miss_cells, land_forecast.all_misses(db(), group_ids=group_ids, end_reads=True))
    return excel.download(_("预计逾期协议"), MISS_COLUMNS, rows, MISS_WIDTHS,
                          _("预计逾期协议项目-%(day)s.xlsx", day=today.isoformat()),
                          f"agreement-misses-{today.isoformat()}.xlsx",
                          caption=_("预计晚于投资建设协议的项目（数据截至 %(at)s，北京时间）",
                                    at=zone_time(moment)))

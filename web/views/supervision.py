"""The supervisors' pages (督查): every overdue and near-due item across the
groups, figures with charts, Excel exports of the watch list and the project
ledger (台账), and supervision notices (督办单).

Supervisors and admins see every group; a lead handler sees their own groups.
Supervisors change nothing here but supervision records: the only form posts a
notice through ``workflow.core.supervision.issue_notice``. The queries and figures
live in ``workflow.core.figures``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Literal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field

from web.support import charts, excel, labels
from web.support.access import local_target, me, requires, task_or_404
from web.support.db import db
from web.support.inputs import Day, Id, Input, Line, Maybe, Text, Whole, form, query
from web.support.paging import page_args
from web.support.present import zone_time
from web.support.security import now
from workflow.core import figures as fig
from workflow.core import permissions, supervision
from workflow.core.operations import definition_for, zone_today
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.registry import current_version, definition_of

bp = Blueprint("supervision", __name__)


@dataclass(frozen=True)
class WatchLine:
    """A watch-list row as pages and exports show it."""

    row: fig.WatchRow
    item_name: str
    department: str
    notices: int

    @property
    def task(self):
        return self.row.task

    @property
    def project(self):
        return self.row.project

    @property
    def light(self) -> str:
        return self.row.light

    @property
    def days_late(self) -> int:
        return self.row.days_late


@bp.route("/supervision")
@requires(permissions.can_supervise)
def index():
    today = zone_today(now())
    choices = fig.filter_choices(db(), scope())
    filters = watch_filter(query(WatchArgs), choices)
    cursor, limit = page_args()
    page = fig.watch_page(db(), today, filters, scope(), cursor=cursor, limit=limit)
    open_notices = fig.open_notice_counts(db(), [r.task.id for r in page.rows])
    page.rows = [watch_line(row, open_notices.get(row.task.id, 0)) for row in page.rows]
    return render_template(
        "supervision/index.html", lines=page.rows, page=page, choices=choices,
        definition=current_definition(), today=today, args=request.args,
        can_issue=permissions.can_issue_notice(me()),
        counts=fig.watch_counts(db(), today, filters, scope()))


@bp.route("/supervision/overdue.xlsx")
@requires(permissions.can_supervise)
def export_overdue():
    moment = now()
    today = zone_today(moment)
    rows = map(overdue_cells, with_notices(
        fig.watch_list(db(), today, watch_filter(query(WatchArgs)), scope(), end_reads=True)))
    return excel.download(_("超期事项"), OVERDUE_COLUMNS, rows, OVERDUE_WIDTHS,
                          _("超期事项清单-%(day)s.xlsx", day=today.isoformat()),
                          f"overdue-{today.isoformat()}.xlsx",
                          caption=_("超期事项清单（数据截至 %(at)s，北京时间）", at=zone_time(moment)))


def with_notices(rows: Iterable[fig.WatchRow]) -> Iterator[WatchLine]:
    """The export's lines with their open 督办 notices, counted by one query
    per batch of rows (as the page does for its page), never one per row."""
    rows = iter(rows)
    while batch := list(islice(rows, paging.MAX_LIMIT)):
        counts = fig.open_notice_counts(db(), [row.task.id for row in batch])
        yield from (watch_line(row, counts.get(row.task.id, 0)) for row in batch)


@bp.route("/supervision/ledger.xlsx")
@requires(permissions.can_supervise)
def export_ledger():
    today = zone_today(now())
    return excel.download(_("项目台账"), LEDGER_COLUMNS,
                          map(ledger_cells, fig.ledger(db(), today, scope(), end_reads=True)),
                          LEDGER_WIDTHS,
                          _("项目台账-%(day)s.xlsx", day=today.isoformat()),
                          f"ledger-{today.isoformat()}.xlsx")


@bp.route("/supervision/figures", endpoint="figures")
@requires(permissions.can_supervise)
def figures_page():
    today = zone_today(now())
    dates = query(RangeArgs)
    closed_from, closed_to = dates.from_, dates.to
    if closed_from and closed_to and closed_from > closed_to:
        raise ValidationError("The start of the range is after its end.")
    result = fig.figures(db(), today, closed_from=closed_from, closed_to=closed_to,
                         group_ids=scope())
    names = figure_names(result)
    return render_template("supervision/figures.html", result=result, names=names,
                           tables=figure_tables(result), charts=figure_charts(result, names),
                           today=today, args=request.args, percent=charts.percent)


@bp.route("/supervision/notices")
@requires(permissions.can_supervise)
def notices():
    status = query(StatusArgs).status
    today = zone_today(now())
    cursor, limit = page_args()
    page = fig.notices(db(), today, status=status, group_ids=scope(), cursor=cursor, limit=limit)
    return render_template("supervision/notices.html", rows=page.rows, page=page, status=status,
                           today=today, statuses=NOTICE_STATUS_LABELS, levels=NOTICE_LEVEL_LABELS,
                           item_name=item_name)


class NoticeForm(Input):
    task_id: Id
    reason: Text(2000) = ""
    next: Line(2000) = ""


class WatchScope(Input):
    """The watch list's filters by code and username, shared by the page and
    the API's overdue list (``web.views.api.OverdueArgs``). A group or agent
    outside the user's scope matches nothing."""

    group: Maybe(Line(64)) = Field(None, description="Industry group code.")
    agent: Maybe(Line(80)) = Field(None, description="Assignee username.")
    department: Maybe(Line(64)) = Field(None, description="Handling department code.")
    item: Maybe(Line(64)) = Field(None, description="Item code.")


class WatchArgs(WatchScope):
    """The watch list's page and export: also the light (both when not given)
    and the working days late."""

    light: Maybe(Literal["red", "yellow"]) = None
    late: Maybe(Whole(0, fig.MAX_DAYS_LATE)) = None


class RangeArgs(Input):
    from_: Maybe(Day) = Field(None, alias="from")
    to: Maybe(Day) = None


class StatusArgs(Input):
    status: Maybe(Literal[fig.NOTICE_STATUSES]) = None  # type: ignore[valid-type]


@bp.route("/supervision/notices", methods=["POST"])
@requires(permissions.can_supervise)
def issue_notice():
    f = form(NoticeForm)
    task = task_or_404(f.task_id)
    supervision.issue_notice(db(), task.id, actor=me(), reason=f.reason, now=now())
    db().commit()
    flash(_("督办单已签发"), "ok")
    return redirect(local_target(f.next, url_for("supervision.index")))


# -- helpers ------------------------------------------------------------------------------

NOTICE_STATUS_LABELS = {"open": _l("待签收"), "acknowledged": _l("已签收，待报告"),
                        "late": _l("逾期未反馈"), "reported": _l("已报告"),
                        "closed": _l("随事项办结关闭")}
NOTICE_LEVEL_LABELS = {"lead": _l("领办人督办"), "supervisor": _l("督查督办"),
                       "leadership": _l("领导督办"), "manual": _l("督查人员签发")}


OVERDUE_COLUMNS = [_l("项目代码"), _l("项目名称"), _l("企业"), _l("产业组"), _l("事项"),
                   _l("办理部门"), _l("代办员"), _l("起算日"), _l("办结时限"), _l("超期工作日"),
                   _l("领办人"), _l("灯色"), _l("计时"), _l("督办中（件）")]
OVERDUE_WIDTHS = [24, 28, 26, 18, 30, 20, 12, 12, 12, 11, 12, 8, 10, 11]
LEDGER_COLUMNS = [_l("项目代码"), _l("项目名称"), _l("企业"), _l("行业"), _l("产业组"), _l("领办人"),
                  _l("总投资(万元)"), _l("阶段"), _l("事项总数"), _l("已办结"), _l("已豁免"),
                  _l("办理中"), _l("超期"), _l("临期"), _l("项目灯色"), _l("签约日期"), _l("委托日期"),
                  _l("地块")]
LEDGER_WIDTHS = [24, 28, 26, 14, 18, 12, 13, 14, 9, 8, 8, 8, 7, 7, 9, 12, 12, 20]


def overdue_cells(x: WatchLine) -> list:
    """One row of the overdue export (``OVERDUE_COLUMNS``); a near-due item is 0 days late."""
    return [x.project.code, x.project.name, x.project.enterprise.name,
            labels.name_of(x.task.group), x.item_name, x.department,
            x.task.assignee.display_name if x.task.assignee else "",
            x.task.clock_start, x.task.due_on, max(x.days_late, 0),
            x.project.lead.display_name if x.project.lead else "", str(labels.LIGHTS[x.light]),
            str(labels.WHOSE[x.row.whose]), x.notices]


def ledger_cells(r: fig.LedgerRow) -> list:
    """One row of the ledger export (``LEDGER_COLUMNS``): 已办结 the items done,
    已豁免 those a regional evaluation or a commitment covered."""
    project = r.project
    return [project.code, project.name, project.enterprise.name, industry_name(project),
            labels.name_of(project.group), project.lead.display_name if project.lead else "",
            project.investment_wan, labels.stage_label(project.stage), r.items,
            r.finished - r.covered, r.covered, r.in_work, r.red, r.yellow,
            str(labels.LIGHTS[r.light]), r.signed_on, r.mandated_on, parcel_text(project.parcel)]


def parcel_text(label: str | None) -> str:
    """A project's parcel label once: labels stored as "code name" whose name
    already starts with the code (``ZY2023-01 ZY2023-01标准地``) lose the repeat."""
    code, _sep, name = (label or "").partition(" ")
    return name if code and name.startswith(code) else (label or "")


def scope() -> set[int] | None:
    """The groups the user may supervise: every group (None) or a lead's own."""
    user = me()
    return permissions.group_ids(user) if user.role == "lead" else None


def current_definition():
    return definition_of(current_version(db()))


def watch_filter(f: WatchArgs, choices: fig.FilterChoices | None = None) -> fig.WatchFilter:
    """The watch list's filters (codes and usernames) as the engine takes
    them; a group or agent outside the user's scope matches nothing."""
    choices = choices or fig.filter_choices(db(), scope())
    group, agent = f.group, f.agent
    group_id = next((g.id for g in choices.groups if g.code == group), -1) if group else None
    agent_id = next((a.id for a in choices.agents if a.username == agent), -1) if agent else None
    return fig.WatchFilter(
        group_id=group_id, agent_id=agent_id, department=f.department, item_code=f.item,
        min_days_late=f.late, light=f.light)


def watch_line(row: fig.WatchRow, notices: int = 0) -> WatchLine:
    definition = definition_for(row.project)
    dept = definition.departments.get(row.task.department)
    return WatchLine(row=row, item_name=item_name(row.task),
                     department=labels.name_of(dept) if dept else row.task.department,
                     notices=notices)


def item_name(task) -> str:
    item = definition_for(task.project).items.get(task.item_code)
    return labels.name_of(item) if item else task.item_code


def industry_name(project) -> str:
    industry = definition_for(project).industries.get(project.industry)
    return labels.name_of(industry) if industry else project.industry


def figure_names(result: fig.Figures) -> dict[str, dict]:
    """Display names per dimension and key."""
    groups, users = fig.names_for(db(), result)
    definition = current_definition()
    unassigned = _("（未分派）")
    return {
        "group": {k: labels.name_of(g) for k, g in groups.items()},
        "agent": {None: unassigned, **{k: u.display_name for k, u in users.items()}},
        "department": {code: labels.name_of(d) for code, d in definition.departments.items()},
        "item": {code: labels.name_of(i) for code, i in definition.items.items()},
    }


def figure_tables(result: fig.Figures) -> dict[str, list[fig.Figure]]:
    """Each dimension's rows; departments and items in the definition's order."""
    definition = current_definition()
    tables = dict(result.by)
    for dim, order in (("department", list(definition.departments)),
                       ("item", list(definition.items))):
        tables[dim] = sorted(result.by[dim], key=lambda f, order=order: (
            order.index(f.key) if f.key in order else len(order), str(f.key)))
    return tables


def figure_charts(result: fig.Figures, names: dict[str, dict]) -> dict:
    on_time = [charts.Bar(names["group"].get(f.key, str(f.key)), f.on_time_rate, "green")
               for f in result.by["group"]]
    overdue = sorted(result.by["department"], key=lambda f: -f.overdue)
    return {
        "on_time": charts.bar_chart(on_time, title=_("各产业组按时办结率"), max_value=1.0,
                                    fmt=charts.percent, css_class="on-time"),
        "overdue": charts.bar_chart(
            [charts.Bar(names["department"].get(f.key, str(f.key)), f.overdue,
                        "red" if f.overdue else "grey") for f in overdue],
            title=_("各部门超期事项数"), css_class="overdue"),
    }

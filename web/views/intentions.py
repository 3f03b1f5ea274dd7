"""The intention ledger (意向项目台账) and the zone's pipeline (项目全景).

Leads (and admins) register intention projects, record each follow-up with
why the enterprise hesitates and what it asks for, and convert an intention
into a signed project (the same project: its history stays). The pipeline
shows intention → signed → started → producing → at capacity with investment
totals per step, per industry group and per responsible leader.

The ledger's three lists are pages of their own (cursor arguments ``cursor``,
``ccursor`` and ``dcursor``; filters ``q``, ``group``, ``lead``); the export
writes the open list as it reads it. The pipeline's totals are the
scheduler's rollup (the page says as of when); its projects are one step at a
time (``step``), a page at a time (``cursor``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.support import auditview, charts, excel, labels
from web.support.access import me, project_or_404, requires
from web.support.db import db
from web.support.inputs import Day, Flag, Id, Input, Line, Maybe, Text, Wan, form, query
from web.support.paging import limit_arg, page_args
from web.support.security import now
from web.views.chemicals import VERDICTS
from workflow.core import permissions
from workflow.core.operations import zone_today
from workflow.kernel.errors import ValidationError
from workflow.kernel.registry import current_version, definition_of
from workflow.models import User
from workflow.reforms import intentions

bp = Blueprint("intentions", __name__)

STEPS = {"intention": _l("意向"), "signed": _l("签约"), "started": _l("开工"),
         "producing": _l("投产"), "at_capacity": _l("达产")}
CHANNELS = {"visit": _l("上门走访"), "call": _l("电话"), "meeting": _l("会议洽谈"),
            "online": _l("线上沟通"), "other": _l("其他")}
auditview.ENUMS["intention.channel"] = CHANNELS
# Names of this area's audit events on the project's trail.
labels.EVENTS.update({
    "intention.recorded": _l("登记意向项目"), "intention.follow_up": _l("意向跟进"),
    "intention.updated": _l("修改意向项目"),
})


@bp.app_template_filter("int_yi")
def yi(wan: int | float | None) -> str:
    """万元 as 亿元 with two decimals (the unit the zone reports in)."""
    return "—" if wan is None else f"{wan / 10000:,.2f}"


@bp.app_template_filter("int_day")
def zone_day(moment: datetime | None) -> str:
    """A stored (UTC) moment as the zone's calendar date."""
    if moment is None:
        return "—"
    return zone_today(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


class LedgerArgs(Input):
    """The ledger's filters (``workflow.reforms.intentions.LedgerFilter``)."""

    group: Maybe(Line(64)) = None
    lead: Maybe(Id) = None
    q: Maybe(Line(100)) = None


class IntentionForm(Input):
    name: Line(200) = ""
    industry: Line(64) = ""
    investment_wan: Maybe(Wan) = None
    enterprise_id: Maybe(Id) = None
    enterprise: Line(200) = ""
    enterprise_name: Line(200) = ""
    credit_code: Line(18) = ""
    contact_name: Line(100) = ""
    contact_phone: Line(40) = ""
    lead: Maybe(Id) = None
    hesitation: Text(5000) = ""
    asks: Text(5000) = ""
    is_chemical: Flag = False


class FollowUpForm(Input):
    contacted_on: Maybe(Day) = None
    summary: Text(5000) = ""
    contact: Line(200) = ""
    channel: Line(40) = ""
    hesitation: Maybe(Text(5000)) = None
    asks: Maybe(Text(5000)) = None


class UpdateForm(Input):
    investment_wan: Maybe(Wan) = None
    lead: Maybe(Id) = None


class StepArgs(Input):
    step: Maybe(Literal[tuple(STEPS)]) = None  # type: ignore[valid-type]


def _ledger_filter() -> intentions.LedgerFilter:
    args = query(LedgerArgs)
    return intentions.LedgerFilter(group=args.group, lead_id=args.lead, text=args.q)


# The ledger's three lists, each paged with its own cursor argument.
LISTS = {"open": "cursor", "converted": "ccursor", "dropped": "dcursor"}


@bp.route("/intentions")
@requires(permissions.can_read_ledger)
def ledger():
    filters = _ledger_filter()
    today = zone_today(now())
    book = intentions.ledger(db(), me(), filters, today=today, limit=limit_arg(),
                             cursors={name: page_args(param)[0] for name, param in LISTS.items()})
    return render_template("intentions/ledger.html", book=book, args=request.args, today=today,
                           lists=LISTS, can_create=permissions.can_keep_intentions(me()),
                           verdicts=VERDICTS, **_choices())


@bp.route("/intentions", methods=["POST"])
@requires(permissions.can_keep_intentions)
def create():
    f = form(IntentionForm)
    project = intentions.create_intention(
        db(), name=f.name, industry=f.industry,
        investment_wan="" if f.investment_wan is None else f.investment_wan, actor=me(),
        now=now(), enterprise_id=f.enterprise_id, enterprise_ref=f.enterprise,
        enterprise_name=f.enterprise_name, credit_code=f.credit_code,
        contact_name=f.contact_name, contact_phone=f.contact_phone, lead=_lead(f.lead),
        hesitation=f.hesitation, asks=f.asks, is_chemical=f.is_chemical)
    db().commit()
    flash(_("已登记意向项目：%(name)s", name=project.name), "ok")
    return redirect(url_for("cases.project", code=project.code))


@bp.route("/projects/<code>/follow-ups", methods=["POST"])
@requires(permissions.can_keep_intentions)
def follow_up(code: str):
    project, f = project_or_404(code), form(FollowUpForm)
    intentions.record_follow_up(
        db(), project.id, contacted_on=f.contacted_on or "", summary=f.summary,
        contact=f.contact, channel=f.channel, hesitation=f.hesitation, asks=f.asks, actor=me(),
        now=now())
    db().commit()
    flash(_("已记录跟进情况"), "ok")
    return redirect(url_for("cases.project", code=code, _anchor="intention"))


@bp.route("/projects/<code>/intention", methods=["POST"])
@requires(permissions.can_keep_intentions)
def update(code: str):
    project, f = project_or_404(code), form(UpdateForm)
    intentions.update_intention(db(), project.id, actor=me(), now=now(),
                                investment_wan=f.investment_wan, lead=_lead(f.lead))
    db().commit()
    flash(_("已保存"), "ok")
    return redirect(url_for("cases.project", code=code, _anchor="intention"))


@bp.route("/projects/<code>/convert", methods=["POST"])
@requires(permissions.can_keep_intentions)
def convert(code: str):
    project = project_or_404(code)
    intentions.convert_intention(db(), project.id, actor=me(), now=now())
    db().commit()
    flash(_("意向项目已转为签约项目，跟进记录和办理留痕均已保留"), "ok")
    return redirect(url_for("cases.project", code=code))


@bp.route("/intentions.xlsx")
@requires(permissions.can_read_ledger)
def export():
    """The open intentions the user may read (with the page's filters), written
    to the sheet as they are read, a batch at a time."""
    filters = _ledger_filter()
    names = _industry_names()
    rows = ([line.project.code, line.project.name, line.project.enterprise.name,
             names.get(line.project.industry, line.project.industry),
             labels.name_of(line.project.group), line.project.investment_wan,
             line.project.lead.display_name if line.project.lead else "",
             line.project.hesitation or "", line.project.asks or "", line.last_contact,
             line.follow_ups] for line in intentions.open_lines(db(), me(), filters,
                                                                   end_reads=True))
    headers = [_("项目代码"), _("项目名称"), _("企业"), _("产业"), _("产业组"), _("计划投资（万元）"),
               _("负责领导"), _("观望原因"), _("企业要求"), _("最近跟进"), _("跟进次数")]
    day = zone_today(now()).isoformat()
    return excel.download(_("意向项目台账"), headers, rows, [18, 30, 28, 12, 18, 14, 10, 36, 36, 12, 8],
                          f"意向项目台账-{day}.xlsx", f"intentions-{day}.xlsx")


@bp.route("/pipeline")
@requires(permissions.can_read_ledger)
def pipeline():
    """The totals from the scheduler's rollup (with when they were counted) and
    one step's projects, a page at a time (``step``, ``cursor``)."""
    session, user = db(), me()
    step = query(StepArgs).step or "intention"
    cursor, limit = page_args()
    view = intentions.pipeline(session)
    page = intentions.step_projects(session, step, cursor=cursor, limit=limit)
    chart = charts.bar_chart(
        [charts.Bar(str(STEPS[s]), total.investment_wan / 10000) for s, total in view.steps.items()],
        title=_("各阶段投资额（亿元）"), fmt=lambda v: "—" if v is None else f"{v:,.2f}")
    return render_template("intentions/pipeline.html", view=view, steps=STEPS, chart=chart,
                           step=step, page=page,
                           links=intentions.viewable_ids(session, user, [p.id for p in page]))


@bp.app_context_processor
def _panel():
    return {"intention_panel": intention_panel}


def intention_panel(project) -> dict | None:
    """What the project page shows of the intention: follow-ups (kept after
    signing) and, while it is an intention, the forms of its lead."""
    follow_ups = intentions.follow_ups_of(db(), project.id)
    if project.stage != "intention" and not follow_ups:
        return None
    open_ = project.stage == "intention" and permissions.can_follow_up(me(), project)
    return {"follow_ups": follow_ups, "can_act": open_, "channels": CHANNELS,
            "leads": intentions.lead_handlers(db()) if open_ else [],
            "today": zone_today(now())}


def _lead(user_id: int | None) -> User | None:
    if not user_id:
        return None
    user = db().get(User, user_id)
    if user is None:
        raise ValidationError(f"There is no user {user_id}.", field="lead")
    return user


def _industry_names() -> dict[str, str]:
    definition = definition_of(current_version(db()))
    return {code: labels.name_of(i) for code, i in definition.industries.items()}


def _choices() -> dict:
    definition = definition_of(current_version(db()))
    return {"industries": [(code, labels.name_of(i)) for code, i in definition.industries.items()],
            "industry_names": _industry_names(),
            "groups": [(g.code, labels.name_of(g)) for g in definition.groups.values()],
            "leads": intentions.lead_handlers(db()), "channels": CHANNELS}

"""Standard land (标准地) on the web: the parcel register (admins edit, leads
and supervisors read), the open lifecycle checkpoints, the zone's 亩均 figures
with their Excel export, and the land panels on the staff project page and
the enterprise's portal page (parcel, coverage, agreement, checkpoints,
达产复核).

Every form field and query argument is parsed by a declared model below
(numbers as decimals within their column, dates, codes, texts of the column's
length); a bad value answers 400 naming the field and changes nothing. Each
form then calls one operation of ``workflow.reforms.land`` and commits once;
the engine's own refusals are 400 too. The project panel also carries the
items' deadlines (施工许可 → 开工, with its extensions; 竣工验收备案 by the
enterprise), the stoppages of construction and a delay the government caused
(闲置土地). Parcel edits belong to no project's audit chain, so they are
logged here after the commit.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.support import auditview, excel, labels
from web.support.access import me, project_or_404, requires
from web.support.db import db
from web.support.inputs import form
from web.support.paging import limit_arg, page_args
from web.support.security import now
from web.views.land_forms import (
    AgreementForm,
    AttachForm,
    CheckForm,
    EvaluationForm,
    ExemptionForm,
    ExtensionForm,
    FiguresForm,
    IndicatorForm,
    NoteForm,
    ParcelChoice,
    ParcelForm,
    ResumeForm,
    StoppageForm,
    prefixed,
)
from workflow.core import permissions
from workflow.core.operations import definition_for, zone_today
from workflow.models import EXEMPTION_CAUSES, Parcel
from workflow.reforms import land

bp = Blueprint("land", __name__)


CHECK_NAMES = {"start": _l("开工核查"), "completion": _l("竣工验收（对标）"),
               "production": _l("投产核查"), "capacity": _l("达产复核")}
CHECK_STATES = {"open": _l("待核查"), "passed": _l("通过"), "rectifying": _l("限期整改"),
                "failed": _l("未通过"), "breached": _l("违约")}
COVERAGE = {
    "covered": _l("已由区域评估覆盖"), "coverable": _l("有有效评估，可覆盖"),
    "expired": _l("评估已过期，需单独办理"), "missing": _l("地块无此评估，需单独办理"),
    "closed": _l("已另行办结"), "no_task": _l("委托代办后自动覆盖"),
}
BOUND_MARKS = {"min": "≥", "max": "≤"}
REPORT_LABELS = {"investment_wan": (_l("固定资产投资"), _l("万元")),
                 "floor_area_m2": (_l("总建筑面积"), _l("平方米")),
                 "tax_wan": (_l("年度税收"), _l("万元")), "output_wan": (_l("年度产值"), _l("万元")),
                 "energy_tce": (_l("年综合能耗"), _l("吨标准煤"))}
TALL_LABEL = (_l("其中层高超过8米的建筑面积（计算容积率时加倍）"), _l("平方米"))
CAUSES = {"land_not_delivered": _l("未按约定期限、条件交付土地"),
          "plan_changed": _l("土地利用总体规划、城乡规划依法修改"),
          "policy_changed": _l("国家出台相关政策需修改规划和建设条件"),
          "petitions": _l("处置土地上相关群众信访事项"), "military_or_relics": _l("军事管制、文物保护"),
          "other_government": _l("政府、政府有关部门的其他行为"), "force_majeure": _l("自然灾害等不可抗力")}
assert tuple(CAUSES) == EXEMPTION_CAUSES
labels.EVENTS.update({
    "land.item_reach_opened": _l("施工许可后开工期限起算"), "land.item_submit_opened": _l("企业报送期限起算"),
    "land.item_reach_met": _l("按期达到"), "land.item_submit_met": _l("按期报送"),
    "land.item_reach_lapsed": _l("期满未开工，施工许可证自行废止"),
    "land.item_submit_overdue": _l("逾期未报送"), "land.deadline_extended": _l("期限延期"),
    "land.stoppage_recorded": _l("登记中止开发建设"), "land.construction_resumed": _l("恢复开发建设"),
    "land.idle_exempted": _l("认定政府原因造成的延迟"), "land.exemption_withdrawn": _l("撤销政府原因认定"),
    "project.item_chosen": _l("选定办理事项"),
    "land.agreement_recorded": _l("签订标准地投资建设协议"), "land.parcel_assigned": _l("确定项目地块"),
    "land.capacity_reported": _l("报送达产数据"), "land.capacity_decided": _l("达产复核结论"),
    "land.checkpoint_overdue": _l("核查逾期"), "land.idle_warning": _l("闲置土地预警"),
    "land.recovery_warning": _l("无偿收回土地预警"),
})
# A checkpoint's events are named by its kind: the check recorded, the period opened, met.
for _kind, _name in CHECK_NAMES.items():
    labels.EVENTS.setdefault(f"land.{_kind}_check", _name)
    labels.EVENTS.setdefault(f"land.{_kind}_opened", _l("核查期限起算"))
    labels.EVENTS.setdefault(f"land.{_kind}_met", _l("按期达到"))
auditview.ENUMS["cause"] = CAUSES
auditview.STATES["land"] = CHECK_STATES


@bp.app_context_processor
def _panels():
    return {"land_panel": land_panel, "land_check_names": CHECK_NAMES,
            "land_check_states": CHECK_STATES, "land_coverage": COVERAGE,
            "land_bound": BOUND_MARKS, "land_report_labels": REPORT_LABELS, "land_plain": land.plain,
            "land_tall": TALL_LABEL, "land_causes": CAUSES, "land_checkpoint_name": checkpoint_name,
            "land_idle_share": land.idle_share}


def checkpoint_name(checkpoint, project) -> str:
    """An agreement check by its kind; an item's deadline by its item."""
    if checkpoint.kind in CHECK_NAMES:
        return str(CHECK_NAMES[checkpoint.kind])
    return land.deadline_name(definition_for(project), checkpoint)


def land_panel(project):
    """The land panel's data for ``project`` (staff page and portal page alike)."""
    today = zone_today(now())
    data = land.project_land(db(), project, today)
    manage = permissions.can_manage_project(me(), project)
    can_place = manage and data.agreement is None
    stages = definition_for(project).stages
    current = stages.get(project.stage)
    started = current is not None and not current.side and current.order >= stages["started"].order
    running = next((s for s in data.stoppages if s.resumed_on is None), None)
    return {"land": data, "today": today, "can_manage": manage, "can_place": can_place,
            "can_report": permissions.can_report_capacity(me(), project),
            "parcels": land.parcel_choices(db()) if can_place else [],
            "started": started, "running": running}


# -- the parcel register ---------------------------------------------------------------------

@bp.route("/land/parcels")
@requires(permissions.can_read_land)
def parcels():
    session, limit = db(), limit_arg()
    return render_template(
        "land/parcels.html",
        parcels=land.parcel_page(session, cursor=page_args("parcels")[0], limit=limit),
        evaluations=land.evaluation_page(session, cursor=page_args("evaluations")[0], limit=limit),
        today=zone_today(now()), kinds=_evaluation_kinds(), can_edit=permissions.can_edit_land(me()),
        servicing=land.SERVICING_LEVELS)


@bp.route("/land/parcels", methods=["POST"])
@requires(permissions.can_edit_land)
def create_parcel():
    parcel = land.save_parcel(db(), actor=me(), now=now(), **form(ParcelForm).model_dump())
    return _saved(parcel, _("已登记地块 %(code)s", code=parcel.code))


@bp.route("/land/parcels/<int:parcel_id>")
@requires(permissions.can_read_land)
def parcel(parcel_id: int):
    session, today = db(), zone_today(now())
    row = session.get(Parcel, parcel_id) or abort(404)
    cursor, limit = page_args()
    can_edit = permissions.can_edit_land(me())
    return render_template(
        "land/parcel.html", parcel=row, placed=land.projects_on(session, row.id, cursor=cursor, limit=limit),
        evaluations=land.evaluation_choices(session, row.id, today) if can_edit else [], today=today,
        can_edit=can_edit, servicing=land.SERVICING_LEVELS, standard=land.STANDARD_INDICATORS)


@bp.route("/land/parcels/<int:parcel_id>", methods=["POST"])
@requires(permissions.can_edit_land)
def update_parcel(parcel_id: int):
    row = land.save_parcel(db(), actor=me(), now=now(), parcel_id=parcel_id,
                           **form(ParcelForm).model_dump())
    return _saved(row, _("已保存地块 %(code)s", code=row.code))


@bp.route("/land/parcels/<int:parcel_id>/indicators", methods=["POST"])
@requires(permissions.can_edit_land)
def set_indicator(parcel_id: int):
    f = form(IndicatorForm)
    row = land.set_indicator(db(), parcel_id, code=f.code, name=f.name, unit=f.unit, bound=f.bound,
                             value=f.value, actor=me(), now=now())
    return _saved(row.parcel, _("已保存控制指标 %(code)s", code=row.code))


@bp.route("/land/parcels/<int:parcel_id>/indicators/<code>/delete", methods=["POST"])
@requires(permissions.can_edit_land)
def remove_indicator(parcel_id: int, code: str):
    land.remove_indicator(db(), parcel_id, code, actor=me(), now=now())
    return _saved(db().get(Parcel, parcel_id), _("已删除控制指标 %(code)s", code=code))


@bp.route("/land/parcels/<int:parcel_id>/evaluations", methods=["POST"])
@requires(permissions.can_edit_land)
def attach_evaluation(parcel_id: int):
    f = form(AttachForm)
    evaluation_id = f.evaluation_id
    if evaluation_id is None:  # typed by its reference (文号)
        evaluation_id = land.evaluation_id_of(db(), f.reference)
    row = land.attach_evaluation(db(), parcel_id, evaluation_id, actor=me(), now=now())
    return _saved(row, _("已关联区域评估"))


@bp.route("/land/parcels/<int:parcel_id>/evaluations/<int:evaluation_id>/detach", methods=["POST"])
@requires(permissions.can_edit_land)
def detach_evaluation(parcel_id: int, evaluation_id: int):
    row = land.detach_evaluation(db(), parcel_id, evaluation_id, actor=me(), now=now())
    return _saved(row, _("已取消关联区域评估"))


@bp.route("/land/evaluations", methods=["POST"])
@requires(permissions.can_edit_land)
def save_evaluation():
    row = land.save_evaluation(db(), actor=me(), now=now(), **form(EvaluationForm).model_dump())
    db().commit()
    flash(_("已登记区域评估 %(ref)s", ref=row.reference), "ok")
    return redirect(url_for("land.parcels") + "#evaluations")


def _saved(parcel, message: str):
    db().commit()
    flash(message, "ok")
    return redirect(url_for("land.parcel", parcel_id=parcel.id))


def _evaluation_kinds() -> list[tuple[str, str]]:
    """(evaluation code, the item name that produces it) of the current definition."""
    from workflow.kernel.registry import current_version, definition_of

    definition = definition_of(current_version(db()))
    names = {}
    for item in definition.items.values():
        code = item.coverage.evaluation
        if code and item.category == "unified_service":
            names[code] = item.name_zh
    return list(names.items())


# -- checkpoints and figures -------------------------------------------------------------------

@bp.route("/land/checkpoints")
@requires(permissions.can_read_land)
def checkpoints():
    cursor, limit = page_args()
    return render_template("land/checkpoints.html",
                           rows=land.open_checkpoints(db(), me(), cursor=cursor, limit=limit),
                           today=zone_today(now()))


@bp.route("/land/figures")
@requires(permissions.can_read_land)
def figures():
    cursor, limit = page_args()
    return render_template("land/figures.html", figures=land.zone_figures(db()),
                           rows=land.figure_page(db(), cursor=cursor, limit=limit),
                           headline=[land.STANDARD_INDICATORS[c] for c in land.HEADLINE])


@bp.route("/land/figures.xlsx")
@requires(permissions.can_read_land)
def export_figures():
    today = zone_today(now())
    headers = figure_headers()
    return excel.download(_("亩均效益"), headers, map(figure_cells, land.figure_rows(db(), end_reads=True)),
                          [24, 26, 24, 16, 10] + [12] * (len(headers) - 5),
                          _("亩均效益-%(day)s.xlsx", day=today.isoformat()),
                          f"land-figures-{today.isoformat()}.xlsx")


def figure_headers() -> list[str]:
    """The columns of the 亩均论英雄 export: per project, each headline
    indicator committed / actual / met, then the other indicators as text."""
    headers = [_("项目代码"), _("项目名称"), _("企业"), _("地块"), _("面积（亩）")]
    for code in land.HEADLINE:
        kind = land.STANDARD_INDICATORS[code]
        unit = f"（{kind.unit}）" if kind.unit else ""
        headers += [_("%(name)s承诺", name=kind.name) + unit, _("%(name)s实际", name=kind.name) + unit,
                    _("%(name)s达标", name=kind.name)]
    return headers + [_("其他指标"), _("复核结论"), _("复核日期"), _("整改期限")]


def figure_cells(row: land.FigureRow) -> list:
    """One project's row of the export, in the columns of ``figure_headers``."""
    cells = [row.project.code, row.project.name, row.project.enterprise.name, row.parcel.code,
             _number(Decimal(row.parcel.area_mu))]
    for code in land.HEADLINE:
        line = row.lines.get(code)
        cells += ([_number(line.committed), _number(line.actual), _mark(line.met)]
                  if line else [None, None, None])
    return cells + ["；".join(f"{x.name} {BOUND_MARKS[x.bound]}{land.plain(x.committed)} / "
                             f"{land.plain(x.actual) if x.actual is not None else '—'} {_mark(x.met)}"
                             for x in row.extras),
                    str(CHECK_STATES[row.status]) if row.reviewed_on else _("未复核"),
                    row.reviewed_on or None, row.rectify_by]


def _number(value: Decimal | None) -> float | None:
    # Excel cells hold binary floats; two decimals are exact enough for display.
    return float(value) if value is not None else None


def _mark(met: bool | None) -> str:
    return "" if met is None else ("✓" if met else "✗")


# -- the project's land (staff) ----------------------------------------------------------------

def _back(code: str):
    return redirect(url_for("cases.project", code=code) + "#land")


@bp.route("/projects/<code>/land/parcel", methods=["POST"])
@requires(permissions.can_sign_in)
def assign(code: str):
    project, f = project_or_404(code), form(ParcelChoice)
    parcel_id = f.parcel_id
    if parcel_id is None:  # typed by its code; who may place the project is checked first
        permissions.require_project(me(), project)
        parcel_id = land.parcel_id_of(db(), f.parcel_code)
    result = land.assign_parcel(db(), project.id, parcel_id, actor=me(), now=now())
    db().commit()
    flash(_("已落地到 %(parcel)s，区域评估覆盖 %(n)s 个事项", parcel=result.parcel.code,
            n=len(result.covered)), "ok")
    if result.expired:
        flash(_("以下评估已过期，对应事项需单独办理：%(refs)s",
                refs="、".join(ref for _code, ref, _day in result.expired)), "warn")
    return _back(code)


@bp.route("/projects/<code>/land/cover", methods=["POST"])
@requires(permissions.can_sign_in)
def cover(code: str):
    project = project_or_404(code)
    result = land.apply_parcel_coverage(db(), project.id, actor=me(), now=now())
    db().commit()
    flash(_("区域评估覆盖 %(n)s 个事项", n=len(result.covered)), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/agreement", methods=["POST"])
@requires(permissions.can_sign_in)
def agreement(code: str):
    project, f = project_or_404(code), form(AgreementForm)
    overrides = {code_: {"value": value} for code_, value in prefixed("ind_").items()
                 if value is not None}
    if f.extra_code:
        overrides[f.extra_code] = {"name": f.extra_name, "unit": f.extra_unit,
                                   "bound": f.extra_bound, "value": f.extra_value}
    land.record_agreement(db(), project.id, actor=me(), now=now(), indicators=overrides,
                          land_price_wan=f.land_price_wan, signed_on=f.signed_on,
                          start_by=f.start_by, complete_by=f.complete_by,
                          produce_by=f.produce_by, capacity_by=f.capacity_by)
    db().commit()
    flash(_("已登记投资建设协议，生成 4 个核查节点"), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/checks/<kind>", methods=["POST"])
@requires(permissions.can_sign_in)
def check(code: str, kind: str):
    project, f = project_or_404(code), form(CheckForm)
    checkpoint = land.record_check(db(), project.id, kind, actor=me(), now=now(), note=f.note,
                                   checked=dict.fromkeys(f.met, True))
    db().commit()
    flash(_("%(what)s：%(state)s", what=CHECK_NAMES.get(kind, kind),
            state=CHECK_STATES[checkpoint.status]), "ok" if checkpoint.status == "passed" else "warn")
    return _back(code)


@bp.route("/projects/<code>/land/capacity", methods=["POST"])
@requires(permissions.can_sign_in)
def review(code: str):
    project, f = project_or_404(code), form(FiguresForm)
    checkpoint = land.review_capacity(db(), project.id, _figures(f), actor=me(), now=now(),
                                      extras=prefixed("x_"), note=f.note)
    db().commit()
    return _verdict(checkpoint, code)


@bp.route("/projects/<code>/land/capacity/confirm", methods=["POST"])
@requires(permissions.can_sign_in)
def confirm(code: str):
    project = project_or_404(code)
    checkpoint = land.confirm_capacity(db(), project.id, actor=me(), now=now(),
                                       note=form(NoteForm).note)
    db().commit()
    return _verdict(checkpoint, code)


def _verdict(checkpoint, code: str):
    flash(_("达产复核结论：%(state)s", state=CHECK_STATES[checkpoint.status]),
          "ok" if checkpoint.status == "passed" else "warn")
    return _back(code)


def _figures(f: FiguresForm) -> dict:
    """The report's figures for the engine (a figure not given is refused there,
    by name; the area of tall storeys not given is none)."""
    return f.model_dump(exclude={"note"})


# -- the items' deadlines and idle land (staff) ----------------------------------------------

@bp.route("/projects/<code>/land/deadlines/<item_code>/extend", methods=["POST"])
@requires(permissions.can_sign_in)
def extend_deadline(code: str, item_code: str):
    project, f = project_or_404(code), form(ExtensionForm)
    row = land.extend_item_checkpoint(db(), project.id, item_code[:64], actor=me(), now=now(),
                                      reason=f.reason)
    db().commit()
    flash(_("已延期至 %(day)s", day=row.due_on), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/stoppages", methods=["POST"])
@requires(permissions.can_sign_in)
def record_stoppage(code: str):
    project, f = project_or_404(code), form(StoppageForm)
    row = land.record_stoppage(db(), project.id, actor=me(), now=now(), **f.model_dump())
    db().commit()
    if land.idle_share(row)["idle"]:
        flash(_("已登记中止开发建设：开发面积不足三分之一或投资不足百分之二十五，"
                "中止满一年将认定为闲置土地"), "warn")
    else:
        flash(_("已登记中止开发建设"), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/stoppages/resume", methods=["POST"])
@requires(permissions.can_sign_in)
def resume(code: str):
    project, f = project_or_404(code), form(ResumeForm)
    land.resume_construction(db(), project.id, resumed_on=f.resumed_on, actor=me(), now=now())
    db().commit()
    flash(_("已登记恢复开发建设"), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/exemption", methods=["POST"])
@requires(permissions.can_sign_in)
def exempt(code: str):
    project, f = project_or_404(code), form(ExemptionForm)
    land.record_exemption(db(), project.id, actor=me(), now=now(), **f.model_dump())
    db().commit()
    flash(_("已认定为政府原因造成的延迟，不作闲置土地处置"), "ok")
    return _back(code)


@bp.route("/projects/<code>/land/exemption/withdraw", methods=["POST"])
@requires(permissions.can_sign_in)
def withdraw(code: str):
    project = project_or_404(code)
    land.withdraw_exemption(db(), project.id, actor=me(), now=now())
    db().commit()
    flash(_("已撤销政府原因认定"), "ok")
    return _back(code)


# -- the enterprise's report (portal) ---------------------------------------------------------

@bp.route("/portal/projects/<code>/land/capacity", methods=["POST"])
@requires(permissions.can_sign_in)
def report(code: str):
    project, f = project_or_404(code), form(FiguresForm)
    land.report_capacity(db(), project.id, _figures(f), actor=me(), now=now(),
                         extras=prefixed("x_"))
    db().commit()
    flash(_("达产复核数据已报送，领办人确认后生效"), "ok")
    return redirect(url_for("portal.project", code=code) + "#land")

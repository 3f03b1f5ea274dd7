"""Chemical-project entry (化工项目准入): the rule tables and the screening.

Admins edit the tables (provincial rules, admission rules, prohibited
project types, the 禁限控 catalogue) row by row or import the zone's own from
CSV or Excel; leads and supervisors read them. A lead screens a chemical
intention before signing and records the expert review a restricted result
requires. Table changes belong to no project's audit chain, so each one is
logged here after the commit, with the acting admin.
"""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.support import labels
from web.support.access import me, project_or_404, requires
from web.support.db import db
from web.support.paging import limit_arg, page_args
from web.support.security import now
from workflow.core import permissions
from workflow.core.operations import zone_today
from workflow.kernel import tabular
from workflow.models import HazardousChemical, ScreeningRule
from workflow.reforms import chemicals
from workflow.reforms.chemicals import ImportRefused, TableChange

bp = Blueprint("chemicals", __name__)

VERDICTS = {"pass": _l("准入"), "restricted": _l("限制（须专家论证）"), "prohibited": _l("禁止"),
            "notice": _l("提示")}
LEVELS = {"prohibited": _l("禁止类"), "restricted": _l("限制类"), "controlled": _l("控制类")}
KINDS = {"provincial": _l("省级准入条件"), "admission": _l("园区准入规则"),
         "prohibited_type": _l("禁止类项目")}
TARGETS = {"admission": _l("园区准入规则"), "prohibited_type": _l("禁止类项目"),
           "catalogue": _l("禁限控危险化学品目录")}
CHECKS = {"in_chemical_park": _l("须位于化工园区"), "min_fixed_investment": _l("固定资产投资下限（万元）"),
          "no_catalogue_level": _l("产品不得列入目录级别"), "no_process": _l("不得采用的工艺"),
          "project_type": _l("项目类型关键词"), "attested": _l("人工确认")}
PROCESSES = {"batch_nitration": _l("间歇硝化"), "semi_batch_nitration": _l("半间歇硝化"),
             "continuous_nitration": _l("连续硝化"), "chlorination": _l("氯化"),
             "fluorination": _l("氟化"), "hydrogenation": _l("加氢"), "oxidation": _l("氧化"),
             "diazotization": _l("重氮化"), "sulfonation": _l("磺化"), "amination": _l("胺基化"),
             "polymerization": _l("聚合"), "cracking": _l("裂解（裂化）"),
             "coal_gasification": _l("煤气化"), "coking": _l("焦化")}
CONCLUSIONS = {"approve": _l("同意"), "refuse": _l("不同意")}
REASONS = {
    "unreadable": _l("文件无法读取（%(value)s）"), "empty": _l("文件中没有数据行"),
    "missing_column": _l("缺少该列"), "required": _l("不能为空"), "too_long": _l("内容过长"),
    "unknown_level": _l("未知级别“%(value)s”（应为禁止、限制或控制）"),
    "unknown_kind": _l("未知规则类别“%(value)s”"),
    "kind_mismatch": _l("本次导入只接受类别为“%(value)s”的行"),
    "unknown_check": _l("未知检查方式“%(value)s”"),
    "unknown_verdict": _l("未知结论“%(value)s”（应为禁止、限制或提示）"),
    "bad_number": _l("“%(value)s”不是正数"), "bad_cas": _l("“%(value)s”不是有效的 CAS 号"),
    "bad_flag": _l("“%(value)s”应为是或否"), "unknown_process": _l("未知工艺“%(value)s”"),
    "duplicate": _l("与第 %(value)s 行重复"), "conflict": _l("与表中已有的行冲突（%(value)s）"),
}
DONE = {"rule.created": _l("已新增规则 %(name)s"), "rule.updated": _l("已保存规则 %(name)s"),
        "rule.deleted": _l("已删除规则 %(name)s"), "chemical.created": _l("已新增 %(name)s"),
        "chemical.updated": _l("已保存 %(name)s"), "chemical.deleted": _l("已删除 %(name)s")}
labels.EVENTS.update({"chemicals.screened": _l("化工项目准入评估"),
                      "chemicals.reviewed": _l("记录专家论证"),
                      "chemicals.marked": _l("标记化工项目")})


# -- the tables -----------------------------------------------------------------------------------

@bp.route("/chemicals/rules")
@requires(permissions.can_read_chemical_rules)
def rules():
    return _tables()


def _tables(import_errors=None, status=200):
    """The four tables, each a page with its own cursor argument (the kind of
    rules, or ``catalogue``)."""
    session, limit = db(), limit_arg()
    pages = {kind: chemicals.rule_page(session, kind, cursor=page_args(kind)[0], limit=limit)
             for kind in KINDS}
    return render_template(
        "chemicals/rules.html", rule_pages=pages,
        catalogue=chemicals.catalogue_page(session, cursor=page_args("catalogue")[0], limit=limit),
        catalogue_size=chemicals.catalogue_size(session), value_of=chemicals.rule_value,
        can_edit=permissions.can_edit_chemical_rules(me()), import_errors=import_errors,
        **_names()), status


@bp.route("/chemicals/rules", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def create_rule():
    return _done(chemicals.save_rule(db(), None, request.form, actor=me(), now=now()))


@bp.route("/chemicals/rules/<int:rule_id>")
@requires(permissions.can_edit_chemical_rules)
def rule(rule_id: int):
    row = db().get(ScreeningRule, rule_id) or abort(404)
    return render_template("chemicals/rule.html", rule=row, value=chemicals.rule_value(row), **_names())


@bp.route("/chemicals/rules/<int:rule_id>", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def save_rule(rule_id: int):
    return _done(chemicals.save_rule(db(), rule_id, request.form, actor=me(), now=now()))


@bp.route("/chemicals/rules/<int:rule_id>/delete", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def delete_rule(rule_id: int):
    return _done(chemicals.delete_rule(db(), rule_id, actor=me(), now=now()))


@bp.route("/chemicals/catalogue", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def create_chemical():
    return _done(chemicals.save_chemical(db(), None, request.form, actor=me(), now=now()))


@bp.route("/chemicals/catalogue/<int:chemical_id>")
@requires(permissions.can_edit_chemical_rules)
def chemical(chemical_id: int):
    row = db().get(HazardousChemical, chemical_id) or abort(404)
    return render_template("chemicals/chemical.html", chemical=row, **_names())


@bp.route("/chemicals/catalogue/<int:chemical_id>", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def save_chemical(chemical_id: int):
    return _done(chemicals.save_chemical(db(), chemical_id, request.form, actor=me(), now=now()))


@bp.route("/chemicals/catalogue/<int:chemical_id>/delete", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def delete_chemical(chemical_id: int):
    return _done(chemicals.delete_chemical(db(), chemical_id, actor=me(), now=now()))


@bp.route("/chemicals/import", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def import_table():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _tables([_("请选择要导入的 CSV 或 Excel 文件")], 400)
    try:
        table = chemicals.read_table(upload.filename, upload.read())
        result = chemicals.import_table(db(), request.form.get("target", ""), table, actor=me(),
                                        now=now(), replace_all=request.form.get("replace_all") == "1")
    except ImportRefused as refused:
        db().rollback()
        return _tables([_error_text(e) for e in refused.errors], 400)
    db().commit()
    flash(_("已导入%(table)s：新增 %(added)s 行，更新 %(updated)s 行，移除 %(removed)s 行",
            table=TARGETS[result.target], added=result.added, updated=result.updated,
            removed=result.removed), "ok")
    return redirect(url_for("chemicals.rules"))


@bp.route("/chemicals/export/<target>.csv")
@requires(permissions.can_read_chemical_rules)
def export(target: str):
    header, rows = chemicals.export_rows(db(), target)  # an unknown table is refused here: 400
    response = Response(stream_with_context(csv_lines(db(), header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="chemicals-{target}.csv"'
    return response


def csv_lines(session, header, rows, batch: int = chemicals.EXPORT_BATCH):
    """The CSV file as it is written: a BOM (Excel then reads UTF-8) and the
    header, then the rows ``batch`` at a time (formula-like text quoted,
    ``tabular.guarded``). Before each batch is sent, the
    read transaction ends (the rows are plain values), so a slow download
    holds no database lock; the next batch starts a new one."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    yield "\ufeff" + _drain(out)
    for n, row in enumerate(rows, start=1):
        writer.writerow([tabular.guarded(v) for v in row])
        if n % batch == 0:
            session.rollback()
            yield _drain(out)
    session.rollback()
    yield _drain(out)


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _done(change: TableChange):
    db().commit()
    flash(str(DONE[change.action]) % {"name": change.subject}, "ok")
    return redirect(url_for("chemicals.rules"))


def _error_text(error) -> str:
    reason = str(REASONS[error.code]) % {"value": error.value}
    if error.row:
        return _("第 %(row)s 行，%(column)s 列：%(reason)s", row=error.row, column=error.column,
                 reason=reason)
    return reason


# -- screening a project -----------------------------------------------------------------------------

@bp.route("/projects/<code>/screening")
@requires(permissions.can_read_screenings)
def screening(code: str):
    project = project_or_404(code)
    session = db()
    history = chemicals.screenings_of(session, project.id)
    return render_template(
        "chemicals/screening.html", project=project, history=history,
        latest=history[0] if history else None, can_screen=permissions.can_screen(me(), project),
        attestable=chemicals.rules(session, active_only=True, check="attested"),
        **_names())


@bp.route("/projects/<code>/screening", methods=["POST"])
@requires(permissions.can_lead)
def screen(code: str):
    project, form = project_or_404(code), request.form
    result = chemicals.screen_project(db(), project.id, {
        "in_chemical_park": {"1": True, "0": False}.get(form.get("in_chemical_park", "")),
        "park_name": form.get("park_name", ""), "fixed_investment_wan": form.get("fixed_investment_wan"),
        "products": chemicals.products_from_text(form.get("products", "")),
        "processes": form.getlist("processes"), "project_type": form.get("project_type", ""),
        "attested": form.getlist("attested")}, actor=me(), now=now())
    db().commit()
    flash(_("准入评估结论：%(verdict)s", verdict=VERDICTS[result.verdict]),
          "ok" if result.verdict == "pass" else "warn")
    return redirect(url_for("chemicals.screening", code=code))


@bp.route("/projects/<code>/screening/<int:screening_id>/review", methods=["POST"])
@requires(permissions.can_lead)
def review(code: str, screening_id: int):
    project, form = project_or_404(code), request.form
    if screening_id not in [s.id for s in chemicals.screenings_of(db(), project.id)]:
        abort(404)
    chemicals.record_review(db(), screening_id, experts=form.get("experts", ""),
                            reviewed_on=form.get("reviewed_on", ""), conclusion=form.get("conclusion", ""),
                            note=form.get("note", ""), actor=me(), now=now())
    db().commit()
    flash(_("已记录专家论证"), "ok")
    return redirect(url_for("chemicals.screening", code=code))


@bp.route("/projects/<code>/chemical", methods=["POST"])
@requires(permissions.can_lead)
def mark(code: str):
    project = project_or_404(code)
    chemicals.mark_chemical(db(), project.id, request.form.get("is_chemical") == "1", actor=me(),
                            now=now(), reason=request.form.get("reason", ""))
    db().commit()
    flash(_("已保存"), "ok")
    return redirect(url_for("cases.project", code=code))


@bp.app_context_processor
def _panel():
    return {"chemical_panel": chemical_panel}


def chemical_panel(project) -> dict | None:
    """The project page's screening box: for chemical projects, and for the
    lead of an intention who may mark one as chemical."""
    can_screen = permissions.can_screen(me(), project)
    if not project.is_chemical and not (project.stage == "intention" and can_screen):
        return None
    return {"latest": chemicals.latest_screening(db(), project.id) if project.is_chemical else None,
            "can_screen": can_screen and project.stage == "intention",
            "fixed": chemicals.of_chemical_industry(project), **_names()}


def _names() -> dict:
    return {"verdicts": VERDICTS, "levels": LEVELS, "kinds": KINDS, "checks": CHECKS,
            "processes": PROCESSES, "conclusions": CONCLUSIONS, "targets": TARGETS,
            "today": zone_today(now())}

"""Chemical-project entry (化工项目准入): the rule tables and the screening.

Admins edit the tables (provincial rules, admission rules, prohibited
project types, the 禁限控 catalogue, the classes of chemicals) row by row or
import the zone's own from CSV or Excel; leads and supervisors read them. A
lead screens a chemical intention before signing and records the expert
review a restricted result requires. Table changes belong to no project's
audit chain: the operations write them to the zone's change log.

Every form field and file a route reads is parsed by the route's declared
model (``web.support.inputs``) and handed to the engine as typed values; a
bad value answers 400 and changes nothing.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated, Any, Literal

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
from pydantic import AfterValidator, BeforeValidator, Field
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from web.support import auditview, labels, rows
from web.support.access import me, project_or_404, requires
from web.support.db import db
from web.support.inputs import Day, Flag, Input, Line, Text, form, parse
from web.support.paging import limit_arg, page_args
from web.support.security import now
from workflow.core import permissions
from workflow.core.operations import zone_today
from workflow.kernel import tabular
from workflow.models import CHEMICAL_LEVELS, ChemicalClass, HazardousChemical, ScreeningRule
from workflow.reforms import chemicals
from workflow.reforms.chemicals import ImportRefused, TableChange

bp = Blueprint("chemicals", __name__)

VERDICTS = {"pass": _l("准入"), "restricted": _l("限制（须专家论证）"), "prohibited": _l("禁止"),
            "notice": _l("提示")}
auditview.ENUMS["chemicals.verdict"] = VERDICTS
LEVELS = {"prohibited": _l("禁止类"), "restricted": _l("限制类"), "controlled": _l("控制类")}
KINDS = {"provincial": _l("省级准入条件"), "admission": _l("园区准入规则"),
         "prohibited_type": _l("禁止类项目")}
TARGETS = {"admission": _l("园区准入规则"), "prohibited_type": _l("禁止类项目"),
           "catalogue": _l("禁限控危险化学品目录")}
CHECKS = {"in_chemical_park": _l("须位于化工园区"), "min_fixed_investment": _l("固定资产投资下限（万元）"),
          "no_phasing": _l("不得分期投入"),
          "no_catalogue_level": _l("产品不得列入目录级别"), "no_process": _l("不得采用的工艺"),
          "project_type": _l("项目类型关键词"), "attested": _l("人工确认")}
PROJECT_KINDS = {"new": _l("新建"), "expansion": _l("改扩建"), "renovation": _l("技术改造")}
MATCHES = {"cas": _l("按 CAS 号"), "name": _l("按名称"), "alias": _l("按别名"), "class": _l("按类别")}
PROCESSES = {"batch_nitration": _l("间歇硝化"), "semi_batch_nitration": _l("半间歇硝化"),
             "continuous_nitration": _l("连续硝化"), "chlorination": _l("氯化"),
             "fluorination": _l("氟化"), "hydrogenation": _l("加氢"), "oxidation": _l("氧化"),
             "diazotization": _l("重氮化"), "sulfonation": _l("磺化"), "amination": _l("胺基化"),
             "polymerization": _l("聚合"), "cracking": _l("裂解（裂化）"),
             "coal_gasification": _l("煤气化"), "coking": _l("焦化")}
CONCLUSIONS = {"approve": _l("同意"), "refuse": _l("不同意")}
DONE = {"rule.created": _l("已新增规则 %(name)s"), "rule.updated": _l("已保存规则 %(name)s"),
        "rule.deleted": _l("已删除规则 %(name)s"), "chemical.created": _l("已新增 %(name)s"),
        "chemical.updated": _l("已保存 %(name)s"), "chemical.deleted": _l("已删除 %(name)s"),
        "class.created": _l("已新增化学品类别 %(name)s"), "class.updated": _l("已保存化学品类别 %(name)s"),
        "class.deleted": _l("已删除化学品类别 %(name)s")}
labels.EVENTS.update({"chemicals.screened": _l("化工项目准入评估"),
                      "chemicals.reviewed": _l("记录专家论证"),
                      "chemicals.marked": _l("标记化工项目")})


# -- the inputs of the routes --------------------------------------------------------------------

YesNo = Literal["1", "0"]  # a radio both ways: neither chosen is a missing answer
Level = Literal[CHEMICAL_LEVELS]  # type: ignore[valid-type]


def _no_separators(value: Any) -> Any:
    return value.replace(",", "").strip() if isinstance(value, str) else value


# An amount in 万元 as typed (5,000 or 4999.5), exact to the yuan.
Amount = Annotated[Decimal, BeforeValidator(_no_separators),
                   Field(ge=0, le=10**9, max_digits=14, decimal_places=4, allow_inf_nan=False)]


def _upload(value: Any) -> FileStorage | None:
    """The uploaded file, or None when the form's file field was left empty."""
    if not isinstance(value, FileStorage):
        raise ValueError("file_type")
    if not value.filename:
        return None
    if not value.filename.isprintable():  # a NUL or another control character in its name
        raise ValueError("control_character")
    return value


class RuleForm(Input):
    """A screening rule as the admin writes it (``value``: the rule's parameter)."""

    code: Line(64, 1)
    kind: Literal[tuple(chemicals.KIND_ORDER)]  # type: ignore[valid-type]
    text: Text(5000, 1)
    check: Literal[chemicals.CHECKS]  # type: ignore[valid-type]
    value: Line(500) = ""
    verdict: Literal[chemicals.RULE_VERDICTS]  # type: ignore[valid-type]
    active: Flag = True
    source: Line(300) = ""


class ChemicalForm(Input):
    """A catalogue row: the other names one per line, the classes by code."""

    name: Line(200, 1)
    cas: Line(40) = ""
    level: Level
    aliases: Text(5000) = ""
    classes: list[Line(40)] = []
    note: Text(5000) = ""


class ClassForm(Input):
    """A class of chemicals: the name fragments that make a member, and those that do not."""

    code: Line(40, 1)
    name: Line(100, 1)
    level: Level
    patterns: Text(5000) = ""
    excludes: Text(5000) = ""
    note: Text(5000) = ""
    source: Line(300) = ""


class ImportForm(Input):
    target: Literal[chemicals.IMPORT_TARGETS]  # type: ignore[valid-type]
    replace_all: Flag = False
    file: Annotated[Any, AfterValidator(_upload)] = None


class ScreeningForm(Input):
    """What a screening is decided on; the fixed investment excluding land is
    the engine's sum (total less land), never typed."""

    in_chemical_park: YesNo
    park_name: Line(200) = ""
    project_kind: Literal[tuple(chemicals.PROJECT_KINDS)]  # type: ignore[valid-type]
    phased: YesNo
    total_investment_wan: Amount
    land_cost_wan: Amount
    products: Text(20000, 1)
    processes: list[Literal[tuple(chemicals.PROCESSES)]] = []  # type: ignore[valid-type]
    project_type: Line(200) = ""
    attested: list[Line(64)] = []


class ReviewForm(Input):
    experts: Text(2000, 1)
    reviewed_on: Day
    conclusion: Literal[chemicals.REVIEW_CONCLUSIONS]  # type: ignore[valid-type]
    note: Text(5000) = ""


class MarkForm(Input):
    is_chemical: YesNo
    reason: Text(2000) = ""


# -- the tables -----------------------------------------------------------------------------------

@bp.route("/chemicals/rules")
@requires(permissions.can_read_chemical_rules)
def rules():
    return _tables()


def _tables(import_errors=None, status=200):
    """The four tables, each a page with its own cursor argument (the kind of
    rules, or ``catalogue``), and the classes of chemicals."""
    session, limit = db(), limit_arg()
    classes = chemicals.chemical_classes(session)
    pages = {kind: chemicals.rule_page(session, kind, cursor=page_args(kind)[0], limit=limit)
             for kind in KINDS}
    return render_template(
        "chemicals/rules.html", rule_pages=pages,
        catalogue=chemicals.catalogue_page(session, cursor=page_args("catalogue")[0], limit=limit),
        catalogue_size=chemicals.catalogue_size(session), value_of=chemicals.rule_value,
        can_edit=permissions.can_edit_chemical_rules(me()), import_errors=import_errors,
        classes=classes, class_names={k.code: k.name for k in classes}, **_names()), status


def _save_rule(rule_id: int | None) -> TableChange:
    f = form(RuleForm)
    return chemicals.save_rule(db(), rule_id, code=f.code, kind=f.kind, text=f.text, check=f.check,
                               value=f.value, verdict=f.verdict, active=f.active, source=f.source,
                               actor=me(), now=now())


def _save_chemical(chemical_id: int | None) -> TableChange:
    f = form(ChemicalForm)
    return chemicals.save_chemical(db(), chemical_id, name=f.name, cas=f.cas, level=f.level,
                                   aliases=f.aliases, classes=f.classes, note=f.note, actor=me(),
                                   now=now())


def _save_class(class_id: int | None) -> TableChange:
    f = form(ClassForm)
    return chemicals.save_class(db(), class_id, code=f.code, name=f.name, level=f.level,
                                patterns=f.patterns, excludes=f.excludes, note=f.note,
                                source=f.source, actor=me(), now=now())


@bp.route("/chemicals/rules", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def create_rule():
    return _done(_save_rule(None))


@bp.route("/chemicals/rules/<int:rule_id>")
@requires(permissions.can_edit_chemical_rules)
def rule(rule_id: int):
    row = db().get(ScreeningRule, rule_id) or abort(404)
    return render_template("chemicals/rule.html", rule=row, value=chemicals.rule_value(row), **_names())


@bp.route("/chemicals/rules/<int:rule_id>", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def save_rule(rule_id: int):
    return _done(_save_rule(rule_id))


@bp.route("/chemicals/rules/<int:rule_id>/delete", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def delete_rule(rule_id: int):
    return _done(chemicals.delete_rule(db(), rule_id, actor=me(), now=now()))


@bp.route("/chemicals/catalogue", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def create_chemical():
    return _done(_save_chemical(None))


@bp.route("/chemicals/catalogue/<int:chemical_id>")
@requires(permissions.can_edit_chemical_rules)
def chemical(chemical_id: int):
    row = db().get(HazardousChemical, chemical_id) or abort(404)
    return render_template("chemicals/chemical.html", chemical=row,
                           classes=chemicals.chemical_classes(db()), **_names())


@bp.route("/chemicals/catalogue/<int:chemical_id>", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def save_chemical(chemical_id: int):
    return _done(_save_chemical(chemical_id))


@bp.route("/chemicals/catalogue/<int:chemical_id>/delete", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def delete_chemical(chemical_id: int):
    return _done(chemicals.delete_chemical(db(), chemical_id, actor=me(), now=now()))


@bp.route("/chemicals/classes", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def create_class():
    return _done(_save_class(None))


@bp.route("/chemicals/classes/<int:class_id>")
@requires(permissions.can_edit_chemical_rules)
def chemical_class(class_id: int):
    row = db().get(ChemicalClass, class_id) or abort(404)
    return render_template("chemicals/class.html", klass=row, **_names())


@bp.route("/chemicals/classes/<int:class_id>", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def save_class(class_id: int):
    return _done(_save_class(class_id))


@bp.route("/chemicals/classes/<int:class_id>/delete", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def delete_class(class_id: int):
    return _done(chemicals.delete_class(db(), class_id, actor=me(), now=now()))


@bp.route("/chemicals/import", methods=["POST"])
@requires(permissions.can_edit_chemical_rules)
def import_table():
    f = parse(ImportForm, CombinedMultiDict([request.form, request.files]))
    if f.file is None:
        return _tables([_("请选择要导入的 CSV 或 Excel 文件")], 400)
    try:
        table = chemicals.read_table(f.file.filename, f.file.read())
        result = chemicals.import_table(db(), f.target, table, actor=me(), now=now(),
                                        replace_all=f.replace_all)
    except ImportRefused as refused:
        db().rollback()
        return _tables([rows.problem(e) for e in refused.errors], 400)
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
    project, f = project_or_404(code), form(ScreeningForm)
    result = chemicals.screen_project(db(), project.id, {
        "in_chemical_park": f.in_chemical_park == "1", "park_name": f.park_name,
        "project_kind": f.project_kind, "phased": f.phased == "1",
        "total_investment_wan": f.total_investment_wan, "land_cost_wan": f.land_cost_wan,
        "products": chemicals.products_from_text(f.products), "processes": f.processes,
        "project_type": f.project_type, "attested": f.attested}, actor=me(), now=now())
    db().commit()
    flash(_("准入评估结论：%(verdict)s", verdict=VERDICTS[result.verdict]),
          "ok" if result.verdict == "pass" else "warn")
    return redirect(url_for("chemicals.screening", code=code))


@bp.route("/projects/<code>/screening/<int:screening_id>/review", methods=["POST"])
@requires(permissions.can_lead)
def review(code: str, screening_id: int):
    project = project_or_404(code)
    if screening_id not in [s.id for s in chemicals.screenings_of(db(), project.id)]:
        abort(404)
    f = form(ReviewForm)
    chemicals.record_review(db(), screening_id, experts=f.experts, reviewed_on=f.reviewed_on,
                            conclusion=f.conclusion, note=f.note, actor=me(), now=now())
    db().commit()
    flash(_("已记录专家论证"), "ok")
    return redirect(url_for("chemicals.screening", code=code))


@bp.route("/projects/<code>/chemical", methods=["POST"])
@requires(permissions.can_lead)
def mark(code: str):
    project, f = project_or_404(code), form(MarkForm)
    chemicals.mark_chemical(db(), project.id, f.is_chemical == "1", actor=me(), now=now(),
                            reason=f.reason)
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
            "project_kinds": PROJECT_KINDS, "matches": MATCHES, "today": zone_today(now())}

"""What the zone pays on the web: the fee ledger (budget, committed, paid per
budget line, project, parcel and year) with its Excel export, the contracts
for the unified items with their invoices and payments, the element subsidies
and their decisions, and the budget lines.

Supervisors read; the finance office and admins change (``can_read_fees``,
``can_keep_fees``). Every form and query argument is a declared model below
(sums in 元 with at most two decimals below ¥10 bn, years 2000–2100, texts of
the columns' lengths); each form calls one operation of
``workflow.reforms.fees`` and commits once; a refusal is 400/409 and changes
nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field

from web.support import excel, labels
from web.support.access import me, requires
from web.support.db import db
from web.support.inputs import Day, Input, Line, Maybe, Text, Whole, form, query
from web.support.paging import limit_arg, page_args
from web.support.security import now
from workflow.core import permissions
from workflow.core.operations import zone_today
from workflow.kernel.registry import current_version, definition_of
from workflow.models import ElementSubsidy, FeeContract, FeePayment
from workflow.reforms import fees, land

bp = Blueprint("fees", __name__)

SUBSIDY_NAMES = {"water": _l("用水补贴"), "power": _l("用电补贴"), "gas": _l("用气补贴"),
                 "heat": _l("用热补贴")}
SUBSIDY_UNITS = {"water": _l("立方米"), "power": _l("千瓦时"), "gas": _l("立方米"), "heat": _l("吉焦")}
SUBSIDY_STATES = {"proposed": _l("待审批"), "approved": _l("已批准"), "rejected": _l("未批准"),
                  "paid": _l("已拨付")}
assert tuple(SUBSIDY_NAMES) == fees.SUBSIDY_KINDS and tuple(SUBSIDY_STATES) == fees.SUBSIDY_STATES
labels.EVENTS.update({
    "fees.contract_recorded": _l("登记统一服务事项合同"),
    "fees.contract_corrected": _l("修改统一服务事项合同"),
    "fees.invoice_recorded": _l("登记发票"), "fees.payment_recorded": _l("登记付款"),
    "fees.payment_removed": _l("撤销付款"), "fees.subsidy_proposed": _l("申报要素补贴"),
    "fees.subsidy_approved": _l("批准要素补贴"), "fees.subsidy_rejected": _l("不予批准要素补贴"),
    "fees.subsidy_paid": _l("拨付要素补贴"), "fees.budget_set": _l("设定预算"),
    "fees.finance_joined": _l("加入财政（财务）办"), "fees.finance_left": _l("退出财政（财务）办"),
})


def _yuan_text(value):
    if isinstance(value, str):
        return value.strip().replace(",", "").replace("，", "").replace("¥", "")
    return value


# A sum in 元 with at most two decimals, below ¥10 bn (whole fen below 10^12).
Yuan = Annotated[Decimal, BeforeValidator(_yuan_text),
                 Field(ge=0, lt=10**10, decimal_places=2, allow_inf_nan=False)]
Year = Whole(fees.models.YEAR_MIN, fees.models.YEAR_MAX)


class YearArgs(Input):
    year: Maybe(Year) = None


class ContractArgs(YearArgs):
    item: Line(64) = ""


class ExportArgs(YearArgs):
    by: Literal["item", "project", "parcel"] = "item"


class BudgetForm(Input):
    year: Maybe(Year) = None
    line: Line(64) = ""
    amount: Maybe(Yuan) = None


class ContractForm(Input):
    year: Maybe(Year) = None
    item_code: Line(64) = ""
    provider: Line(200) = ""
    reference: Line(64) = ""
    amount: Maybe(Yuan) = None
    signed_on: Maybe(Day) = None
    note: Text(2000) = ""


class NewContractForm(ContractForm):
    """A new contract names whose it is: a project (its code), a parcel (its
    code) and, for a regional evaluation, the evaluation's reference (文号)."""

    project: Line(40) = ""
    parcel: Line(64) = ""
    evaluation: Line(64) = ""


class InvoiceForm(Input):
    number: Line(64) = ""
    amount: Maybe(Yuan) = None
    issued_on: Maybe(Day) = None


class PaymentForm(Input):
    amount: Maybe(Yuan) = None
    paid_on: Maybe(Day) = None
    reference: Line(64) = ""


class SubsidyForm(Input):
    project: Line(40) = ""
    kind: Literal["water", "power", "gas", "heat"] = "power"
    year: Maybe(Year) = None
    quantity: Maybe(Whole(1, 10**10)) = None
    market_price: Maybe(Yuan) = None
    preferential_price: Maybe(Yuan) = None
    note: Text(2000) = ""


class DecisionForm(Input):
    event: Literal["approve", "reject", "pay"]
    paid_on: Maybe(Day) = None
    note: Text(2000) = ""


class FinanceForm(Input):
    username: Line(80) = ""
    member: Literal["yes", "no"] = "yes"


@bp.app_template_filter("fen")
def fen_text(fen: int | None) -> str:
    """Whole fen as 元 with thousands separated (``1,234.50``)."""
    return f"{fees.yuan(fen):,.2f}"


@bp.app_context_processor
def _panels():
    return {"fees_panel": fees_panel}


def fees_panel(project=None, parcel=None):
    """The fees of the staff project page or the parcel page, for those who
    may read fees (None for anyone else): the project's contracts with their
    invoiced and paid, and the parcel's shared ones (one query)."""
    if not permissions.can_read_fees(me()):
        return None
    parcel_id = parcel.id if parcel is not None else project.parcel_id
    panel = fees.fee_panel(db(), project_id=project.id if project is not None else None,
                           parcel_id=parcel_id)
    return {"panel": panel, "names": line_names()}


def line_names() -> dict[str, str]:
    """Budget line → its name in the user's language."""
    definition = definition_of(current_version(db()))
    names = {code: labels.name_of(item) for code, item in definition.items.items()
             if item.category == "unified_service"}
    names.update({f"subsidy_{k}": str(v) for k, v in SUBSIDY_NAMES.items()})
    return names


def _year(args: YearArgs) -> int:
    return args.year or zone_today(now()).year


def _common(year: int, tab: str) -> dict:
    return {"year": year, "tab": tab, "names": line_names(),
            "can_keep": permissions.can_keep_fees(me()), "years": fees.by_year(db())}


# -- the ledger --------------------------------------------------------------------------------

@bp.route("/fees")
@requires(permissions.can_read_fees)
def ledger():
    year = _year(query(YearArgs))
    lines = fees.by_line(db(), year)
    return render_template("fees/ledger.html", lines=lines, total=fees.total(lines),
                           can_admin=permissions.can_administer(me()), **_common(year, "ledger"))


@bp.route("/fees/projects")
@requires(permissions.can_read_fees)
def projects():
    year = _year(query(YearArgs))
    rows = fees.project_page(db(), year, cursor=page_args()[0], limit=limit_arg())
    return render_template("fees/projects.html", rows=rows, **_common(year, "projects"))


@bp.route("/fees/parcels")
@requires(permissions.can_read_fees)
def parcels():
    year = _year(query(YearArgs))
    rows = fees.parcel_page(db(), year, cursor=page_args()[0], limit=limit_arg())
    return render_template("fees/parcels.html", rows=rows, sharing=rows.extras.get("sharing", {}),
                           **_common(year, "parcels"))


@bp.route("/fees/ledger.xlsx")
@requires(permissions.can_read_fees)
def export():
    args = query(ExportArgs)
    year, session, names = _year(args), db(), line_names()
    if args.by == "item":
        rows = ([n, names.get(x.key, x.key), *_money(x.figures)] for n, x in
                enumerate(fees.by_line(session, year), 1))
        headers = [_("序号"), _("预算科目"), _("预算（元）"), _("已承诺（元）"), _("已支付（元）"),
                   _("预算余额（元）"), _("未付（元）")]
    else:
        # Budgets are per line: a project or a parcel has committed and paid only.
        fetch = fees.project_page if args.by == "project" else fees.parcel_page
        rows = ([x.key, x.subject.name, *_money(x.figures, budget=False)]
                for x in fees.all_pages(fetch, session, year))
        first = [_("项目代码"), _("项目名称")] if args.by == "project" else [_("地块编号"), _("地块名称")]
        headers = [*first, _("已承诺（元）"), _("已支付（元）"), _("未付（元）")]
    what = {"item": _("按事项"), "project": _("按项目"), "parcel": _("按地块")}[args.by]
    return excel.download(_("费用台账"), headers, rows, [22, 36, 16, 16, 16, 16, 16],
                          _("费用台账-%(year)s-%(by)s.xlsx", year=year, by=what),
                          f"fees-{year}-{args.by}.xlsx",
                          caption=_("%(year)s 年统一服务事项费用及要素补贴台账（%(by)s）",
                                    year=year, by=what))


def _money(figures: fees.Figures, budget: bool = True) -> list[float]:
    values = ((figures.budget, figures.committed, figures.paid, figures.available, figures.unpaid)
              if budget else (figures.committed, figures.paid, figures.unpaid))
    return [float(fees.yuan(v)) for v in values]


@bp.route("/fees/budget", methods=["POST"])
@requires(permissions.can_keep_fees)
def set_budget():
    f = form(BudgetForm)
    row = fees.set_budget(db(), year=f.year, line=f.line, amount=f.amount, actor=me(), now=now())
    db().commit()
    flash(_("已设定 %(year)s 年预算", year=row.year), "ok")
    return redirect(url_for("fees.ledger", year=row.year))


@bp.route("/fees/finance", methods=["POST"])
@requires(permissions.can_administer)
def set_finance():
    f = form(FinanceForm)
    user = fees.set_finance_office(db(), f.username, member=f.member == "yes", actor=me(), now=now())
    db().commit()
    flash(_("已更新 %(name)s 的财政（财务）办身份", name=user.display_name), "ok")
    return redirect(url_for("fees.ledger"))


# -- contracts, invoices, payments ----------------------------------------------------------------

@bp.route("/fees/contracts")
@requires(permissions.can_read_fees)
def contracts():
    args = query(ContractArgs)
    year = _year(args)
    rows = fees.contract_page(db(), year, item_code=args.item or None, cursor=page_args()[0],
                              limit=limit_arg())
    return render_template("fees/contracts.html", rows=rows, item=args.item,
                           **_common(year, "contracts"))


@bp.route("/fees/contracts", methods=["POST"])
@requires(permissions.can_keep_fees)
def create_contract():
    f, session = form(NewContractForm), db()
    owners = {"project_id": fees.project_id_of(session, f.project) if f.project else None,
              "parcel_id": land.parcel_id_of(session, f.parcel) if f.parcel else None,
              "evaluation_id": land.evaluation_id_of(session, f.evaluation) if f.evaluation else None}
    row = fees.save_contract(session, actor=me(), now=now(), **owners,
                             **f.model_dump(exclude={"project", "parcel", "evaluation"}))
    return _saved(row, _("已登记合同"))


@bp.route("/fees/contracts/<int:contract_id>")
@requires(permissions.can_read_fees)
def contract(contract_id: int):
    row = db().get(FeeContract, contract_id) or abort(404)
    return render_template("fees/contract.html", c=row, names=line_names(),
                           can_keep=permissions.can_keep_fees(me()),
                           invoiced=sum(i.amount_fen for i in row.invoices),
                           paid=sum(p.amount_fen for p in row.payments))


@bp.route("/fees/contracts/<int:contract_id>", methods=["POST"])
@requires(permissions.can_keep_fees)
def update_contract(contract_id: int):
    row = fees.save_contract(db(), actor=me(), now=now(), contract_id=contract_id,
                             **form(ContractForm).model_dump())
    return _saved(row, _("已保存合同"))


@bp.route("/fees/contracts/<int:contract_id>/invoices", methods=["POST"])
@requires(permissions.can_keep_fees)
def add_invoice(contract_id: int):
    f = form(InvoiceForm)
    row = fees.add_invoice(db(), contract_id, number=f.number, amount=f.amount,
                           issued_on=f.issued_on, actor=me(), now=now())
    return _saved(row.contract, _("已登记发票 %(n)s", n=row.number))


@bp.route("/fees/contracts/<int:contract_id>/payments", methods=["POST"])
@requires(permissions.can_keep_fees)
def add_payment(contract_id: int):
    f = form(PaymentForm)
    row = fees.add_payment(db(), contract_id, amount=f.amount, paid_on=f.paid_on,
                           reference=f.reference, actor=me(), now=now())
    return _saved(row.contract, _("已登记付款"))


@bp.route("/fees/payments/<int:payment_id>/delete", methods=["POST"])
@requires(permissions.can_keep_fees)
def remove_payment(payment_id: int):
    payment = db().get(FeePayment, payment_id) or abort(404)
    contract_id = payment.contract_id
    fees.remove_payment(db(), payment_id, actor=me(), now=now())
    db().commit()
    flash(_("已撤销付款"), "ok")
    return redirect(url_for("fees.contract", contract_id=contract_id))


def _saved(row: FeeContract, message: str):
    db().commit()
    flash(message, "ok")
    return redirect(url_for("fees.contract", contract_id=row.id))


# -- element subsidies ---------------------------------------------------------------------------

@bp.route("/fees/subsidies")
@requires(permissions.can_read_fees)
def subsidies():
    year = _year(query(YearArgs))
    rows = fees.subsidy_page(db(), year, cursor=page_args()[0], limit=limit_arg())
    return render_template("fees/subsidies.html", rows=rows, kinds=SUBSIDY_NAMES, units=SUBSIDY_UNITS,
                           states=SUBSIDY_STATES, **_common(year, "subsidies"))


@bp.route("/fees/subsidies", methods=["POST"])
@requires(permissions.can_keep_fees)
def propose_subsidy():
    f, session = form(SubsidyForm), db()
    row = fees.propose_subsidy(session, fees.project_id_of(session, f.project), kind=f.kind,
                               year=f.year, quantity=f.quantity, market_price=f.market_price,
                               preferential_price=f.preferential_price, note=f.note, actor=me(),
                               now=now())
    session.commit()
    flash(_("已申报要素补贴"), "ok")
    return redirect(url_for("fees.subsidies", year=row.year))


@bp.route("/fees/subsidies/<int:subsidy_id>", methods=["POST"])
@requires(permissions.can_keep_fees)
def decide_subsidy(subsidy_id: int):
    f = form(DecisionForm)
    db().get(ElementSubsidy, subsidy_id) or abort(404)
    row = fees.decide_subsidy(db(), subsidy_id, event=f.event, paid_on=f.paid_on, note=f.note,
                              actor=me(), now=now())
    db().commit()
    flash(_("要素补贴：%(state)s", state=SUBSIDY_STATES[row.status]), "ok")
    return redirect(url_for("fees.subsidies", year=row.year))

"""The finance office's and the admins' changes to what the zone pays: budget
lines, contracts for the unified items, their invoices and payments, element
subsidies and who belongs to the finance office.

Every operation checks the actor (``permissions.can_keep_fees``), validates
its whole input before it changes anything, only flushes, and writes its
audit record in the same transaction: a change that concerns a project goes to
the project's chain, any other to the zone's log.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import audit, permissions
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel import validate, zone_audit
from workflow.kernel.errors import Conflict, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.fees.lifecycle import SUBSIDIES
from workflow.reforms.fees.models import (
    MAX_FEN,
    SUBSIDY_KINDS,
    SUBSIDY_LINES,
    YEAR_MAX,
    YEAR_MIN,
    ElementSubsidy,
    FeeBudget,
    FeeContract,
    FeeInvoice,
    FeePayment,
)
from workflow.reforms.land.models import Parcel, ParcelEvaluation, RegionalEvaluation

MAX_QUANTITY = 10**10


# -- input checks -----------------------------------------------------------------------------

def to_fen(value: Any, what: str, *, zero_ok: bool = False) -> int:
    """A sum of money in 元 as a user types it (``"12,500.50"``) or as a
    ``Decimal`` as whole fen; refused when not a finite number, negative (or
    zero unless ``zero_ok``), finer than a fen or above ``MAX_FEN``."""
    if isinstance(value, (bool, float)) or value is None:
        raise ValidationError("The {field} (元) is required as a number.", field=what)
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError("The {field} must be a sum in 元 (got '{value}').",
                              field=what, value=text[:40]) from exc
    if not number.is_finite():
        raise ValidationError("The {field} must be a finite sum.", field=what)
    if number.adjusted() > 12:  # before any arithmetic: 1e999999999 would overflow it
        raise ValidationError("The {field} is at most {limit:,} 元.", field=what,
                              limit=MAX_FEN // 100)
    fen = number * 100
    if fen != fen.to_integral_value():
        raise ValidationError("The {field} is recorded to the fen (0.01 元).", field=what)
    if fen < 0 or (fen == 0 and not zero_ok):
        if zero_ok:
            raise ValidationError("The {field} must be at least 0 元.", field=what)
        raise ValidationError("The {field} must be more than 0 元.", field=what)
    if fen > MAX_FEN:
        raise ValidationError("The {field} is at most {limit:,} 元.", field=what,
                              limit=MAX_FEN // 100)
    return int(fen)


def yuan(fen: int | None) -> Decimal:
    """Whole fen as 元 with two decimals (what pages and exports show)."""
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def check_year(value: Any, what: str = term("budget year")) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_MIN <= value <= YEAR_MAX:
        raise ValidationError("The {field} is a year from {first} to {last}.", field=what,
                              first=YEAR_MIN, last=YEAR_MAX)
    return value


def _day(value: Any, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value or "").strip())
        except ValueError as exc:
            raise ValidationError("The {field} must be a date (YYYY-MM-DD).", field=what) from exc
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationError("The {field} is a date from {first} to {last}.", field=what,
                              first=YEAR_MIN, last=YEAR_MAX)
    return value


def _line(value: Any, what: str, *, limit: int, required: bool = True) -> str:
    text = validate.text(value, what, required=required, limit=limit)
    if not validate.typeable(text):
        raise ValidationError("The {field} holds characters that cannot be typed.", field=what)
    return text


def unified_items(session: Session) -> dict[str, str]:
    """The unified service items of the definition in force: code → Chinese name."""
    definition = definition_of(current_version(session))
    return {code: item.name_zh for code, item in definition.items.items()
            if item.category == "unified_service"}


def budget_lines(session: Session) -> list[str]:
    """Every budget line: the unified items in the definition's order, then
    the element subsidies."""
    return [*unified_items(session), *SUBSIDY_LINES]


def _item(session: Session, code: Any) -> str:
    code = _line(code, term("item"), limit=64)
    if code not in unified_items(session):
        raise ValidationError("'{code}' is not a unified service item of the definition in force.",
                              field="item", code=code)
    return code


def _require_keeper(actor: User | None) -> None:
    permissions.require_that(actor, permissions.can_keep_fees, permissions.NotPermitted(
        "Only the finance office or an administrator may change the zone's fees."))


# -- budgets ----------------------------------------------------------------------------------

def set_budget(session: Session, *, year: int, line: str, amount: Any, actor: User | None,
               now: datetime) -> FeeBudget:
    """Set the budget of ``line`` (a unified item's code or ``subsidy_<kind>``)
    for ``year`` in 元; a budget may be 0 but never negative."""
    _require_keeper(actor)
    year = check_year(year)
    line = _line(line, term("budget line"), limit=64)
    if line not in budget_lines(session):
        raise ValidationError("'{line}' is not a budget line (a unified item or an element subsidy).",
                              field="line", line=line)
    fen = to_fen(amount, term("budget"), zero_ok=True)
    row = session.scalar(select(FeeBudget).where(FeeBudget.year == year, FeeBudget.line == line)
                         .with_for_update())
    before = None if row is None else row.amount_fen
    if row is None:
        row = FeeBudget(year=year, line=line)
        session.add(row)
    row.amount_fen, row.updated_by_id, row.updated_at = fen, actor.id if actor else None, ops.utc(now)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("Someone else set this budget line at the same time; try again.") from exc
    zone_audit.record(session, actor=actor, now=now, action="fees.budget_set",
                      subject=f"budget:{year}:{line}", data={"before_fen": before, "amount_fen": fen})
    return row


# -- contracts, invoices, payments --------------------------------------------------------------

def _owner(session: Session, item_code: str, project_id: int | None, parcel_id: int | None,
           evaluation_id: int | None) -> tuple[Project | None, Parcel | None, RegionalEvaluation | None]:
    if project_id is not None and parcel_id is not None:
        raise ValidationError("A contract is a project's or a parcel's, not both: a parcel's "
                              "contract is shared by every project on it.", field="parcel")
    if project_id is not None and evaluation_id is not None:
        raise ValidationError("A regional evaluation is shared: it is paid for the parcel or the "
                              "zone, never for one project.", field="evaluation")
    project = ops.lock_project(session, project_id) if project_id is not None else None
    parcel = session.get(Parcel, parcel_id) if parcel_id is not None else None
    if parcel_id is not None and parcel is None:
        raise NotFound("Parcel {parcel} does not exist.", parcel=parcel_id)
    evaluation = None
    if evaluation_id is not None:
        evaluation = session.get(RegionalEvaluation, evaluation_id)
        if evaluation is None:
            raise NotFound("Regional evaluation {evaluation} does not exist.",
                           evaluation=evaluation_id)
        produces = definition_of(current_version(session)).items[item_code].coverage.evaluation
        if produces != evaluation.kind:
            raise ValidationError("The evaluation {evaluation} is not the result of "
                                  "the item {item}.", field="evaluation",
                                  evaluation=evaluation.reference, item=item_code)
        if parcel is not None and session.scalar(select(ParcelEvaluation.id).where(
                ParcelEvaluation.parcel_id == parcel.id,
                ParcelEvaluation.evaluation_id == evaluation.id)) is None:
            raise ValidationError("Parcel {parcel} does not carry the evaluation "
                                  "{evaluation}.", field="evaluation", parcel=parcel.code,
                                  evaluation=evaluation.reference)
    return project, parcel, evaluation


def _record(session: Session, project: Project | None, *, actor: User | None, now: datetime,
            action: str, subject: str, data: dict[str, Any]) -> None:
    """A project's change in its chain; any other change in the zone's log."""
    if project is not None:
        audit.record(session, project, actor=actor, now=ops.utc(now), action=action,
                     data={"subject": subject, **data})
    else:
        zone_audit.record(session, actor=actor, now=now, action=action, subject=subject, data=data)


def save_contract(session: Session, *, year: int, item_code: str, provider: str, amount: Any,
                  signed_on: Any, actor: User | None, now: datetime, reference: str = "",
                  project_id: int | None = None, parcel_id: int | None = None,
                  evaluation_id: int | None = None, note: str = "",
                  contract_id: int | None = None) -> FeeContract:
    """Record (``contract_id`` None) or correct a contract for a unified item
    with its provider, charged to ``year``'s budget line. A regional
    evaluation's contract is the zone's or a parcel's that carries it, for the
    item that produces it, and exists once; a corrected amount may not fall
    below what was already invoiced or paid."""
    _require_keeper(actor)
    year = check_year(year)
    item_code = _item(session, item_code)
    provider = _line(provider, term("service provider"), limit=200)
    reference = _line(reference, term("contract number"), limit=64, required=False)
    note = validate.text(note, term("note"), required=False, limit=2000)
    if "\x00" in note:
        raise ValidationError("The note holds characters that cannot be typed.", field="note")
    fen = to_fen(amount, term("contract amount"))
    signed = _day(signed_on, term("signing date"))
    row = None
    if contract_id is not None:
        row = session.get(FeeContract, contract_id, with_for_update=True)
        if row is None:
            raise NotFound("Contract {contract} does not exist.", contract=contract_id)
        project_id, parcel_id, evaluation_id = row.project_id, row.parcel_id, row.evaluation_id
    project, parcel, evaluation = _owner(session, item_code, project_id, parcel_id, evaluation_id)
    if evaluation is not None and row is None:
        taken = session.scalar(select(FeeContract.id).where(FeeContract.evaluation_id == evaluation.id))
        if taken is not None:
            raise Conflict("The regional evaluation {evaluation} is already contracted "
                           "(contract {contract}): it is paid once and shared.", contract=taken,
                           evaluation=evaluation.reference)
    if row is not None:
        used = max(_sum(session, FeeInvoice, row.id), _sum(session, FeePayment, row.id))
        if fen < used:
            raise Conflict("The contract amount cannot fall below the {used} 元 already "
                           "invoiced or paid.", used=yuan(used))
    before = None if row is None else {"amount_fen": row.amount_fen, "provider": row.provider,
                                       "year": row.year, "item": row.item_code}
    if row is None:
        row = FeeContract(project_id=project_id, parcel_id=parcel_id, evaluation_id=evaluation_id,
                          created_by_id=actor.id if actor else None, created_at=ops.utc(now))
        session.add(row)
    row.year, row.item_code, row.provider, row.reference = year, item_code, provider, reference
    row.amount_fen, row.signed_on, row.note = fen, signed, note
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("This regional evaluation is already contracted: it is paid once.") from exc
    _record(session, project, actor=actor, now=now,
            action="fees.contract_recorded" if before is None else "fees.contract_corrected",
            subject=_subject(row, parcel),
            data={"contract": row.id, "year": year, "item": item_code, "provider": provider,
                  "reference": reference, "amount_fen": fen, "signed_on": signed.isoformat(),
                  "evaluation": evaluation.reference if evaluation else None, "before": before})
    return row


def _subject(row: FeeContract, parcel: Parcel | None) -> str:
    if parcel is not None:
        return f"parcel:{parcel.code}:contract:{row.id}"
    if row.evaluation is not None:
        return f"evaluation:{row.evaluation.reference}:contract:{row.id}"
    return f"contract:{row.id}"


def _sum(session: Session, model, contract_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(model.amount_fen), 0))
                          .where(model.contract_id == contract_id)) or 0


def _contract(session: Session, contract_id: int) -> tuple[FeeContract, Project | None]:
    row = session.get(FeeContract, contract_id)
    if row is None:
        raise NotFound("Contract {contract} does not exist.", contract=contract_id)
    # The project's row lock first (the audit chain's order), then the contract's.
    project = ops.lock_project(session, row.project_id) if row.project_id is not None else None
    session.refresh(row, with_for_update=True)
    return row, project


def add_invoice(session: Session, contract_id: int, *, number: str, amount: Any, issued_on: Any,
                actor: User | None, now: datetime) -> FeeInvoice:
    """Record the provider's invoice; invoices together stay within the contract."""
    _require_keeper(actor)
    number = _line(number, term("invoice number"), limit=64)
    fen = to_fen(amount, term("invoice amount"))
    issued = _day(issued_on, term("invoice date"))
    row, project = _contract(session, contract_id)
    invoiced = _sum(session, FeeInvoice, row.id)
    if invoiced + fen > row.amount_fen:
        raise Conflict("Invoices would reach {total} 元, more than the contract's "
                       "{amount} 元.", total=yuan(invoiced + fen), amount=yuan(row.amount_fen))
    if session.scalar(select(FeeInvoice.id).where(FeeInvoice.contract_id == row.id,
                                                  FeeInvoice.number == number)) is not None:
        raise Conflict("Invoice {number} is already recorded on this contract.", number=number)
    invoice = FeeInvoice(contract_id=row.id, number=number, amount_fen=fen, issued_on=issued)
    session.add(invoice)
    ops.flush(session)
    _record(session, project, actor=actor, now=now, action="fees.invoice_recorded",
            subject=_subject(row, row.parcel),
            data={"contract": row.id, "invoice": number, "amount_fen": fen,
                  "issued_on": issued.isoformat()})
    return invoice


def add_payment(session: Session, contract_id: int, *, amount: Any, paid_on: Any,
                actor: User | None, now: datetime, reference: str = "") -> FeePayment:
    """Record a payment on a contract: it counts as paid in the year of its
    date, and payments together stay within the contract amount."""
    _require_keeper(actor)
    fen = to_fen(amount, term("payment amount"))
    paid = _day(paid_on, term("payment date"))
    reference = _line(reference, term("payment reference"), limit=64, required=False)
    row, project = _contract(session, contract_id)
    if paid < row.signed_on:
        raise ValidationError("A payment cannot precede the contract's signing.", field="paid_on")
    total = _sum(session, FeePayment, row.id)
    if total + fen > row.amount_fen:
        raise Conflict("Payments would reach {total} 元, more than the contract's "
                       "{amount} 元.", total=yuan(total + fen), amount=yuan(row.amount_fen))
    payment = FeePayment(contract_id=row.id, amount_fen=fen, paid_on=paid, year=paid.year,
                         reference=reference)
    session.add(payment)
    ops.flush(session)
    _record(session, project, actor=actor, now=now, action="fees.payment_recorded",
            subject=_subject(row, row.parcel),
            data={"contract": row.id, "amount_fen": fen, "paid_on": paid.isoformat(),
                  "reference": reference})
    return payment


def remove_payment(session: Session, payment_id: int, *, actor: User | None,
                   now: datetime) -> None:
    """Take back a payment recorded in error (the audit keeps what it was)."""
    _require_keeper(actor)
    payment = session.get(FeePayment, payment_id)
    if payment is None:
        raise NotFound("Payment {payment} does not exist.", payment=payment_id)
    row, project = _contract(session, payment.contract_id)
    data = {"contract": row.id, "payment": payment.id, "amount_fen": payment.amount_fen,
            "paid_on": payment.paid_on.isoformat()}
    session.delete(payment)
    ops.flush(session)
    _record(session, project, actor=actor, now=now, action="fees.payment_removed",
            subject=_subject(row, row.parcel), data=data)


# -- element subsidies --------------------------------------------------------------------------

def propose_subsidy(session: Session, project_id: int, *, kind: str, year: int, quantity: Any,
                    market_price: Any, preferential_price: Any, actor: User | None,
                    now: datetime, note: str = "") -> ElementSubsidy:
    """Propose an element subsidy for a project: ``quantity`` units of water,
    power, gas or heat at the market and the preferential unit price (元);
    the zone pays the difference, charged to ``year``'s ``subsidy_<kind>`` line."""
    _require_keeper(actor)
    if kind not in SUBSIDY_KINDS:
        raise ValidationError("Unknown element '{kind}' (one of {kinds}).",
                              field="kind", kind=kind, kinds=", ".join(SUBSIDY_KINDS))
    year = check_year(year)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
        raise ValidationError("The quantity is a whole number of units from 1 to {limit:,}.",
                              field="quantity", limit=MAX_QUANTITY)
    market = to_fen(market_price, term("market price"))
    preferential = to_fen(preferential_price, term("preferential price"), zero_ok=True)
    if preferential >= market:
        raise ValidationError("The preferential price must be below the market price.",
                              field="preferential_price")
    amount = (market - preferential) * quantity
    if amount > MAX_FEN:
        raise ValidationError("The subsidy would exceed {limit:,} 元.", field="quantity",
                              limit=MAX_FEN // 100)
    note = _line(note, term("note"), limit=2000, required=False)
    project = ops.lock_project(session, project_id)
    row = ElementSubsidy(project_id=project.id, kind=kind, year=year, quantity=quantity,
                         market_price_fen=market, preferential_price_fen=preferential,
                         amount_fen=amount, status="proposed", note=note,
                         proposed_by_id=actor.id if actor else None, proposed_at=ops.utc(now))
    session.add(row)
    ops.flush(session)
    audit.record(session, project, actor=actor, now=ops.utc(now), action="fees.subsidy_proposed",
                 to_state="proposed",
                 data={"subsidy": row.id, "kind": kind, "year": year, "quantity": quantity,
                       "market_price_fen": market, "preferential_price_fen": preferential,
                       "amount_fen": amount})
    return row


def decide_subsidy(session: Session, subsidy_id: int, *, event: str, actor: User | None,
                   now: datetime, note: str = "", paid_on: Any = None) -> ElementSubsidy:
    """Approve or reject a proposed subsidy, or record an approved one paid
    (``event`` approve / reject / pay; paying needs ``paid_on``)."""
    _require_keeper(actor)
    if event not in ("approve", "reject", "pay"):
        raise ValidationError("Unknown decision '{event}'.", field="event", event=event)
    note = _line(note, term("note"), limit=2000, required=False)
    paid = _day(paid_on, term("payment date")) if event == "pay" else None
    row = session.get(ElementSubsidy, subsidy_id)
    if row is None:
        raise NotFound("Element subsidy {subsidy} does not exist.", subsidy=subsidy_id)
    project = ops.lock_project(session, row.project_id)
    session.refresh(row, with_for_update=True)
    before = row.status
    SUBSIDIES.fire(row, event)  # InvalidTransition when the subsidy is not where the event starts
    if event == "pay":
        row.paid_on = paid
    else:
        row.decided_by_id, row.decided_at = (actor.id if actor else None), ops.utc(now)
    if note:
        row.note = note
    ops.flush(session)
    audit.record(session, project, actor=actor, now=ops.utc(now), action=f"fees.subsidy_{row.status}",
                 from_state=before, to_state=row.status,
                 data={"subsidy": row.id, "kind": row.kind, "amount_fen": row.amount_fen,
                       "note": note, "paid_on": paid.isoformat() if paid else None})
    return row


# -- the finance office ---------------------------------------------------------------------------

def set_finance_office(session: Session, username: str, *, member: bool, actor: User | None,
                       now: datetime) -> User:
    """Admit a staff account to the finance office or take it out (admins)."""
    permissions.require_that(actor, permissions.can_administer, permissions.NotPermitted(
        "Only an administrator may change who belongs to the finance office."))
    username = _line(username, term("username"), limit=80)
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        raise NotFound("No account is named '{username}'.", username=username)
    if user.role == "enterprise":
        raise ValidationError("An enterprise account cannot belong to the finance office.",
                              field="username")
    if user.finance_office != member:
        user.finance_office = member
        ops.flush(session)
        zone_audit.record(session, actor=actor, now=now,
                          action="fees.finance_joined" if member else "fees.finance_left",
                          subject=f"user:{user.username}", data={"finance_office": member})
    return user


def project_id_of(session: Session, code: Any) -> int:
    """The id of the project with the 项目代码 ``code`` as typed in a form."""
    code = _line(code, term("project code"), limit=40)
    found = session.scalar(select(Project.id).where(Project.code == code))
    if found is None:
        raise ValidationError("No project has the code '{code}'.", field="project", code=code)
    return found

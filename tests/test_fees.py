"""What the zone pays: the budget lines, the contracts for the unified items
with their invoices and payments, the element subsidies and the ledger's
arithmetic (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow.core import permissions
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import AuditEvent, ElementSubsidy, FeeContract, FeePayment, ZoneAuditEvent
from workflow.reforms import fees, land

NOW = at("2026-03-02")


@pytest.fixture
def team(session):
    company = f.enterprise(session, "左云县恒达装备制造有限公司")
    finance = f.user(session, "finance_f", "supervisor")
    finance.finance_office = True
    session.flush()
    return {
        "admin": f.user(session, "admin_f", "admin"),
        "finance": finance,
        "supervisor": f.user(session, "sup_f", "supervisor"),
        "lead": f.user(session, "lead_f", "lead", groups=("equipment",)),
        "agent": f.user(session, "agent_f", "agent", groups=("equipment",),
                        department="nature_resources"),
        "owner": f.user(session, "ent_f", "enterprise", company=company),
        "company": company,
    }


def parcel_with_evaluation(session, admin, code="ZY2026-01", kind="geo_hazard", ref="左开评〔2025〕1号"):
    parcel = land.save_parcel(session, actor=admin, now=NOW, code=code, name=f"{code}标准地",
                              area_mu="150.00", park="装备制造园", servicing="五通一平")
    evaluation = land.save_evaluation(session, actor=admin, now=NOW, reference=ref, kind=kind,
                                      title="地质灾害危险性区域评估", done_on="2025-06-01",
                                      valid_until="2027-05-31")
    land.attach_evaluation(session, parcel.id, evaluation.id, actor=admin, now=NOW)
    return parcel, evaluation


def contract(session, actor, *, year=2026, item="u01_survey", amount="10000.00", **kw):
    return fees.save_contract(session, year=year, item_code=item,
                              provider=kw.pop("provider", "大同市勘测设计院"),
                              amount=amount, signed_on=kw.pop("signed_on", f"{year}-02-01"),
                              actor=actor, now=NOW, **kw)


def line(lines, key):
    return next(x.figures for x in lines if x.key == key)


def test_a_parcels_evaluation_is_paid_once_however_many_projects_stand_on_it(session, team):
    admin = team["admin"]
    parcel, evaluation = parcel_with_evaluation(session, admin)
    projects = [f.project(session, NOW, company=team["company"], lead=team["lead"]) for _ in range(3)]
    for project in projects:
        land.assign_parcel(session, project.id, parcel.id, actor=admin, now=NOW)
    shared = contract(session, team["finance"], item="u04_geo_hazard", amount="86,000.00",
                      parcel_id=parcel.id, evaluation_id=evaluation.id)
    fees.add_payment(session, shared.id, amount="50000", paid_on="2026-04-01", actor=team["finance"],
                     now=NOW)
    # A second contract for the same evaluation is refused, whoever asks and for whichever parcel.
    with pytest.raises(Conflict):
        contract(session, admin, item="u04_geo_hazard", parcel_id=parcel.id, evaluation_id=evaluation.id)
    with pytest.raises(ValidationError):  # a project's contract cannot also be the parcel's
        contract(session, admin, project_id=projects[0].id, parcel_id=parcel.id)
    with pytest.raises(ValidationError):  # nor can an evaluation be one project's
        contract(session, admin, item="u04_geo_hazard", project_id=projects[0].id,
                 evaluation_id=evaluation.id)

    lines = fees.by_line(session, 2026)
    assert line(lines, "u04_geo_hazard").committed == 8_600_000
    assert line(lines, "u04_geo_hazard").paid == 5_000_000
    assert fees.total(lines).committed == 8_600_000
    parcels = fees.parcel_page(session, 2026)
    assert [(x.key, x.figures.committed, x.figures.paid) for x in parcels] == \
        [("ZY2026-01", 8_600_000, 5_000_000)]
    assert parcels.extras["sharing"][parcel.id] == 3
    # No project carries the shared evaluation in its own line.
    assert list(fees.project_page(session, 2026)) == []
    assert fees.by_year(session)[0].figures.committed == 8_600_000


def test_a_regional_evaluation_covering_several_parcels_is_the_zones_contract(session, team):
    admin = team["admin"]
    north, evaluation = parcel_with_evaluation(session, admin, code="ZY-N")
    south = land.save_parcel(session, actor=admin, now=NOW, code="ZY-S", name="南地块", area_mu="80")
    land.attach_evaluation(session, south.id, evaluation.id, actor=admin, now=NOW)
    with pytest.raises(ValidationError):  # the evaluation is the result of u04, not of u05
        contract(session, admin, item="u05_seismic", evaluation_id=evaluation.id)
    row = contract(session, admin, item="u04_geo_hazard", amount="120000", evaluation_id=evaluation.id)
    assert (row.parcel_id, row.project_id) == (None, None)
    with pytest.raises(Conflict):  # and it is not paid again for one of its parcels
        contract(session, admin, item="u04_geo_hazard", parcel_id=north.id, evaluation_id=evaluation.id)
    assert line(fees.by_line(session, 2026), "u04_geo_hazard").committed == 12_000_000
    assert session.scalar(select(ZoneAuditEvent.subject).where(
        ZoneAuditEvent.action == "fees.contract_recorded")) == \
        f"evaluation:左开评〔2025〕1号:contract:{row.id}"


def test_budget_committed_and_paid_per_line_and_project(session, team):
    keeper = team["finance"]
    one = f.project(session, NOW, company=team["company"], lead=team["lead"])
    two = f.project(session, NOW, company=team["company"], lead=team["lead"])
    fees.set_budget(session, year=2026, line="u01_survey", amount="100000", actor=keeper, now=NOW)
    fees.set_budget(session, year=2026, line="subsidy_power", amount="500000", actor=keeper, now=NOW)
    fees.set_budget(session, year=2026, line="u01_survey", amount="120000.50", actor=keeper, now=NOW)
    a = contract(session, keeper, amount="40000", project_id=one.id)
    b = contract(session, keeper, amount="30000", project_id=two.id)
    fees.add_invoice(session, a.id, number="INV-1", amount="40000", issued_on="2026-03-01",
                     actor=keeper, now=NOW)
    fees.add_payment(session, a.id, amount="40000", paid_on="2026-03-05", actor=keeper, now=NOW)
    fees.add_payment(session, b.id, amount="10000", paid_on="2026-03-05", actor=keeper, now=NOW)
    # Power at ¥0.62 market against ¥0.42 preferential for a million kWh: ¥200,000.
    subsidy = fees.propose_subsidy(session, one.id, kind="power", year=2026, quantity=1_000_000,
                                   market_price="0.62", preferential_price="0.42", actor=keeper,
                                   now=NOW)
    lines = fees.by_line(session, 2026)
    assert line(lines, "subsidy_power").committed == 0  # proposed: not yet committed
    fees.decide_subsidy(session, subsidy.id, event="approve", actor=keeper, now=NOW)
    lines = fees.by_line(session, 2026)
    survey, power = line(lines, "u01_survey"), line(lines, "subsidy_power")
    assert (survey.budget, survey.committed, survey.paid) == (12_000_050, 7_000_000, 5_000_000)
    assert survey.available == 5_000_050 and survey.unpaid == 2_000_000
    assert (power.budget, power.committed, power.paid) == (50_000_000, 20_000_000, 0)
    fees.decide_subsidy(session, subsidy.id, event="pay", paid_on="2026-06-30", actor=keeper, now=NOW)
    assert line(fees.by_line(session, 2026), "subsidy_power").paid == 20_000_000
    rows = {x.key: (x.figures.committed, x.figures.paid) for x in fees.project_page(session, 2026)}
    assert rows == {one.code: (24_000_000, 24_000_000), two.code: (3_000_000, 1_000_000)}
    total = fees.total(fees.by_line(session, 2026))
    assert (total.budget, total.committed, total.paid) == (62_000_050, 27_000_000, 25_000_000)


def test_a_payment_counts_in_the_year_of_its_date(session, team):
    keeper = team["finance"]
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    row = contract(session, keeper, year=2026, amount="9000", project_id=project.id)
    fees.add_payment(session, row.id, amount="1000", paid_on="2026-12-31", actor=keeper, now=NOW)
    fees.add_payment(session, row.id, amount="2000", paid_on="2027-01-01", actor=keeper, now=NOW)
    y26 = line(fees.by_line(session, 2026), "u01_survey")
    y27 = line(fees.by_line(session, 2027), "u01_survey")
    assert (y26.committed, y26.paid) == (900_000, 100_000)
    assert (y27.committed, y27.paid) == (0, 200_000)
    assert [(x.key, x.figures.committed, x.figures.paid) for x in fees.by_year(session)] == \
        [("2027", 0, 200_000), ("2026", 900_000, 100_000)]
    assert [x.key for x in fees.project_page(session, 2027)] == [project.code]
    assert list(fees.project_page(session, 2025)) == []


def test_payments_and_invoices_stay_within_the_contract(session, team):
    keeper = team["finance"]
    row = contract(session, keeper, amount="1000")
    fees.add_payment(session, row.id, amount="600", paid_on="2026-03-01", actor=keeper, now=NOW)
    with pytest.raises(Conflict):
        fees.add_payment(session, row.id, amount="400.01", paid_on="2026-03-02", actor=keeper, now=NOW)
    with pytest.raises(Conflict):
        fees.add_invoice(session, row.id, number="A", amount="1000.01", issued_on="2026-03-01",
                         actor=keeper, now=NOW)
    with pytest.raises(Conflict):  # the amount cannot fall below what was paid
        contract(session, keeper, amount="599.99", contract_id=row.id)
    with pytest.raises(ValidationError):  # before the signing
        fees.add_payment(session, row.id, amount="1", paid_on="2026-01-31", actor=keeper, now=NOW)
    assert session.scalar(select(func.sum(FeePayment.amount_fen))) == 60_000


@pytest.mark.parametrize("amount", ["", "abc", "-1", "0", "1.001", "NaN", "Infinity", "1e20",
                                    "1e999999999", "-1e999999999", "1e-999999999",
                                    "10000000001", None, 1.5, True])
def test_bad_amounts_are_refused_and_change_nothing(session, team, amount):
    before = session.scalar(select(func.count()).select_from(FeeContract))
    with pytest.raises(ValidationError):
        contract(session, team["finance"], amount=amount)
    assert session.scalar(select(func.count()).select_from(FeeContract)) == before


def test_other_bad_input_is_refused(session, team):
    keeper = team["finance"]
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    with pytest.raises(ValidationError):  # not a unified item
        contract(session, keeper, item="p01_filing")
    with pytest.raises(ValidationError):
        contract(session, keeper, year=1999)
    with pytest.raises(ValidationError):
        fees.set_budget(session, year=2026, line="nothing", amount="1", actor=keeper, now=NOW)
    with pytest.raises(ValidationError):
        fees.set_budget(session, year=2026, line="u01_survey", amount="-5", actor=keeper, now=NOW)
    with pytest.raises(ValidationError):  # preferential price not below the market price
        fees.propose_subsidy(session, project.id, kind="gas", year=2026, quantity=10,
                             market_price="3.00", preferential_price="3.00", actor=keeper, now=NOW)
    with pytest.raises(ValidationError):
        fees.propose_subsidy(session, project.id, kind="coal", year=2026, quantity=10,
                             market_price="3.00", preferential_price="2.00", actor=keeper, now=NOW)
    with pytest.raises(ValidationError):
        fees.propose_subsidy(session, project.id, kind="gas", year=2026, quantity=0,
                             market_price="3.00", preferential_price="2.00", actor=keeper, now=NOW)
    with pytest.raises(ValidationError):
        contract(session, keeper, provider="坏\x00名字")
    assert session.scalar(select(func.count()).select_from(ElementSubsidy)) == 0


def test_a_subsidy_moves_only_along_its_lifecycle_and_each_step_is_in_the_projects_audit(session, team):
    keeper = team["finance"]
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    row = fees.propose_subsidy(session, project.id, kind="heat", year=2026, quantity=1000,
                               market_price="45", preferential_price="30", actor=keeper, now=NOW)
    assert row.amount_fen == 1_500_000
    with pytest.raises(InvalidTransition):  # not approved yet
        fees.decide_subsidy(session, row.id, event="pay", paid_on="2026-04-01", actor=keeper, now=NOW)
    fees.decide_subsidy(session, row.id, event="reject", note="不符合条件", actor=keeper, now=NOW)
    with pytest.raises(InvalidTransition):
        fees.decide_subsidy(session, row.id, event="approve", actor=keeper, now=NOW)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.project_id == project.id,
                                                              AuditEvent.action.like("fees.%"))
                              .order_by(AuditEvent.seq)).all()
    assert actions == ["fees.subsidy_proposed", "fees.subsidy_rejected"]
    assert line(fees.by_line(session, 2026), "subsidy_heat").committed == 0


def test_who_may_change_and_read_the_fees(session, team):
    for who in ("agent", "lead", "supervisor", "owner"):
        with pytest.raises(NotPermitted):
            contract(session, team[who])
        with pytest.raises(NotPermitted):
            fees.set_budget(session, year=2026, line="u01_survey", amount="1", actor=team[who], now=NOW)
    assert contract(session, team["admin"]).id and contract(session, team["finance"]).id
    readers = {k for k in ("admin", "finance", "supervisor", "lead", "agent", "owner")
               if permissions.can_read_fees(team[k])}
    keepers = {k for k in ("admin", "finance", "supervisor", "lead", "agent", "owner")
               if permissions.can_keep_fees(team[k])}
    assert readers == {"admin", "finance", "supervisor"}
    assert keepers == {"admin", "finance"}
    team["owner"].finance_office = True  # an enterprise never counts as the finance office
    assert not permissions.can_keep_fees(team["owner"])


def test_only_an_admin_admits_to_the_finance_office_and_it_is_logged(session, team):
    with pytest.raises(NotPermitted):
        fees.set_finance_office(session, "sup_f", member=True, actor=team["finance"], now=NOW)
    with pytest.raises(ValidationError):
        fees.set_finance_office(session, "ent_f", member=True, actor=team["admin"], now=NOW)
    fees.set_finance_office(session, "sup_f", member=True, actor=team["admin"], now=NOW)
    assert permissions.can_keep_fees(team["supervisor"])
    assert session.scalar(select(ZoneAuditEvent.action).where(
        ZoneAuditEvent.subject == "user:sup_f")) == "fees.finance_joined"


def test_changes_are_audited_where_they_belong(session, team):
    keeper = team["finance"]
    parcel, evaluation = parcel_with_evaluation(session, team["admin"])
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    own = contract(session, keeper, project_id=project.id)
    fees.add_payment(session, own.id, amount="10", paid_on="2026-03-01", actor=keeper, now=NOW)
    shared = contract(session, keeper, item="u04_geo_hazard", parcel_id=parcel.id,
                      evaluation_id=evaluation.id)
    fees.set_budget(session, year=2026, line="u01_survey", amount="1", actor=keeper, now=NOW)
    project_actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.project_id == project.id, AuditEvent.action.like("fees.%"))
        .order_by(AuditEvent.seq)).all()
    assert project_actions == ["fees.contract_recorded", "fees.payment_recorded"]
    zone = session.execute(select(ZoneAuditEvent.action, ZoneAuditEvent.subject).where(
        ZoneAuditEvent.action.like("fees.%")).order_by(ZoneAuditEvent.seq)).all()
    assert [tuple(r) for r in zone] == [
        ("fees.contract_recorded", f"parcel:ZY2026-01:contract:{shared.id}"),
        ("fees.budget_set", "budget:2026:u01_survey")]


def test_the_project_ledger_pages_by_code(session, team):
    keeper = team["finance"]
    projects = [f.project(session, NOW, company=team["company"], lead=team["lead"]) for _ in range(5)]
    for project in projects:
        contract(session, keeper, amount="100", project_id=project.id)
    first = fees.project_page(session, 2026, limit=2)
    seen = [x.key for x in first]
    cursor = first.next
    while cursor:
        page = fees.project_page(session, 2026, cursor=cursor, limit=2)
        seen += [x.key for x in page]
        cursor = page.next
    assert seen == sorted(p.code for p in projects)
    assert [x.key for x in fees.all_pages(fees.project_page, session, 2026)] == seen


def test_a_payment_taken_back_leaves_the_ledger_and_stays_in_the_audit(session, team):
    keeper = team["finance"]
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    row = contract(session, keeper, amount="500", project_id=project.id)
    payment = fees.add_payment(session, row.id, amount="500", paid_on="2026-03-01", actor=keeper,
                               now=NOW)
    with pytest.raises(NotPermitted):
        fees.remove_payment(session, payment.id, actor=team["supervisor"], now=NOW)
    fees.remove_payment(session, payment.id, actor=keeper, now=NOW)
    assert line(fees.by_line(session, 2026), "u01_survey").paid == 0
    corrected = contract(session, keeper, amount="450", contract_id=row.id)
    assert corrected.amount_fen == 45_000
    data = session.scalars(select(AuditEvent.data).where(
        AuditEvent.project_id == project.id, AuditEvent.action.in_(
            ("fees.payment_removed", "fees.contract_corrected"))).order_by(AuditEvent.seq)).all()
    assert data[0]["amount_fen"] == 50_000 and data[1]["before"]["amount_fen"] == 50_000


def test_a_projects_panel_counts_its_own_contracts_and_lists_its_parcels_as_shared(session, team):
    """The project page's fees: its own contracts with invoiced and paid; the
    parcel's contract and the zone's evaluation covering the parcel shown as
    shared and left out of its totals; another project's contract absent."""
    admin = team["admin"]
    parcel, evaluation = parcel_with_evaluation(session, admin)
    other = land.save_parcel(session, actor=admin, now=NOW, code="ZY-X", name="别的地块", area_mu="50")
    zone, _ = parcel_with_evaluation(session, admin, code="ZY-Z", kind="regional_energy",
                                     ref="左开评〔2025〕9号")
    energy = zone.evaluations[0]
    land.attach_evaluation(session, parcel.id, energy.id, actor=admin, now=NOW)
    mine, theirs = (f.project(session, NOW, company=team["company"], lead=team["lead"]) for _ in range(2))
    for project in (mine, theirs):
        land.assign_parcel(session, project.id, parcel.id, actor=admin, now=NOW)
    own = contract(session, admin, amount="12000", project_id=mine.id)
    fees.add_invoice(session, own.id, number="FP-1", amount="12000", issued_on="2026-02-02",
                     actor=admin, now=NOW)
    fees.add_payment(session, own.id, amount="4000", paid_on="2026-02-03", actor=admin, now=NOW)
    fees.add_payment(session, own.id, amount="2000", paid_on="2027-01-03", actor=admin, now=NOW)
    geo = contract(session, admin, item="u04_geo_hazard", amount="86000", parcel_id=parcel.id,
                   evaluation_id=evaluation.id)
    zone_wide = contract(session, admin, year=2025, item="u13_regional_energy", amount="40000",
                         evaluation_id=energy.id)
    theirs_own = contract(session, admin, amount="999", project_id=theirs.id)
    contract(session, admin, amount="777", parcel_id=other.id)

    panel = fees.fee_panel(session, project_id=mine.id, parcel_id=parcel.id)
    assert [r.contract.id for r in panel.own] == [own.id]
    assert panel.totals == (1_200_000, 1_200_000, 600_000)  # every year's payments
    assert sorted(r.contract.id for r in panel.shared) == sorted([geo.id, zone_wide.id])
    assert all(r.shared for r in panel.shared)
    parcel_only = fees.fee_panel(session, parcel_id=parcel.id)
    assert parcel_only.own == [] and parcel_only.shared_totals == (12_600_000, 0, 0)
    assert fees.fee_panel(session) == fees.FeePanel([], [])
    alone = fees.fee_panel(session, project_id=theirs.id)  # a project off any parcel
    assert [r.contract.id for r in alone.own] == [theirs_own.id] and alone.shared == []


def test_the_panels_query_uses_the_contract_indexes(session, team):
    from tests.pages import first_select, plan

    parcel, _ = parcel_with_evaluation(session, team["admin"])
    project = f.project(session, NOW, company=team["company"], lead=team["lead"])
    statement, params = first_select(
        session, lambda: fees.fee_panel(session, project_id=project.id, parcel_id=parcel.id),
        "fee_contract")
    shown = plan(session, statement, params)
    for index in ("ix_fee_contract_project", "ix_fee_contract_parcel"):
        assert index in shown, shown

"""What the zone pays on the web: who reads and who changes the fee ledger,
the forms' refusals, and the Excel export's rows."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.factories import at
from workflow.models import ElementSubsidy, FeeBudget, FeeContract, FeePayment, Project, User
from workflow.reforms import fees, land

NOW = at("2026-03-02", 10)
READ_PAGES = ("/fees", "/fees/projects", "/fees/parcels", "/fees/contracts", "/fees/subsidies",
              "/fees/ledger.xlsx")


def count(db, model) -> int:
    value = db.scalar(select(func.count()).select_from(model))
    db.commit()
    return value


@pytest.fixture
def finance(db, world):
    """The supervisor ``sup`` stays a reader; ``fin`` (a supervisor of the finance office) keeps."""
    from tests import factories as f
    from tests.web.conftest import password_hash

    user = f.user(db, "fin", "supervisor")
    user.password_hash, user.finance_office = password_hash(), True
    db.commit()
    return user


@pytest.fixture
def shared(db, world):
    """A parcel with a regional evaluation paid once, and three projects on it."""
    admin = world["users"]["admin"]
    parcel = land.save_parcel(db, actor=admin, now=NOW, code="ZY2026-01", name="装备园一号地",
                              area_mu="150", park="装备制造园", servicing="五通一平")
    evaluation = land.save_evaluation(db, actor=admin, now=NOW, reference="左开区评〔2025〕2号",
                                      kind="geo_hazard", title="地质灾害危险性区域评估",
                                      done_on="2025-01-10", valid_until="2027-01-09")
    land.attach_evaluation(db, parcel.id, evaluation.id, actor=admin, now=NOW)
    for project in (world["project"], world["rival"]):
        land.assign_parcel(db, project.id, parcel.id, actor=admin, now=NOW)
    row = fees.save_contract(db, year=2026, item_code="u04_geo_hazard", provider="山西省地质勘查院",
                             amount="86000", signed_on="2026-01-15", parcel_id=parcel.id,
                             evaluation_id=evaluation.id, actor=admin, now=NOW)
    fees.add_payment(db, row.id, amount="86000", paid_on="2026-02-20", actor=admin, now=NOW)
    own = fees.save_contract(db, year=2026, item_code="u01_survey", provider="大同市勘测设计院",
                             amount="12000", signed_on="2026-01-10", project_id=world["project"].id,
                             actor=admin, now=NOW)
    fees.set_budget(db, year=2026, line="u04_geo_hazard", amount="100000", actor=admin, now=NOW)
    db.commit()
    return {"parcel": parcel, "contract": row, "own": own}


@pytest.mark.parametrize("who", ["alice", "lead", "acme"])
def test_agents_leads_and_enterprises_may_not_open_the_ledger(as_user, world, who):
    client, token = as_user(who)
    for path in READ_PAGES:
        assert client.get(path).status_code == 403, path
    response = client.post("/fees/budget", data={"csrf_token": token, "year": "2026",
                                                 "line": "u01_survey", "amount": "1"})
    assert response.status_code == 403


def test_a_supervisor_reads_the_ledger_but_changes_nothing(as_user, db, world, shared):
    client, token = as_user("sup")
    page = client.get("/fees?year=2026").get_data(as_text=True)
    assert 'data-kpi="committed">98,000.00<' in page and 'data-kpi="paid">86,000.00<' in page
    assert 'data-kpi="budget">100,000.00<' in page
    assert 'name="amount"' not in page  # no budget form for a reader
    parcels = client.get("/fees/parcels?year=2026").get_data(as_text=True)
    assert 'data-parcel="ZY2026-01"' in parcels and 'data-col="sharing">2<' in parcels
    projects = client.get("/fees/projects?year=2026").get_data(as_text=True)
    assert 'data-project="P-ACME-1"' in projects and 'data-project="P-OTHER-1"' not in projects
    for path, data in (("/fees/budget", {"year": "2026", "line": "u01_survey", "amount": "5"}),
                       (f"/fees/contracts/{shared['own'].id}/payments",
                        {"amount": "1", "paid_on": "2026-03-01"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    assert count(db, FeePayment) == 1


def test_the_finance_office_records_a_contract_an_invoice_and_a_payment(as_user, db, world, finance):
    client, token = as_user("fin")
    response = client.post("/fees/contracts", data={
        "csrf_token": token, "year": "2026", "item_code": "u07_soil_water", "provider": "朔州水保站",
        "reference": "HT-7", "amount": "30,000.50", "signed_on": "2026-02-01", "project": "P-ACME-1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = db.scalar(select(FeeContract))
    db.commit()
    assert (row.amount_fen, row.project_id) == (3_000_050, world["project"].id)
    base = f"/fees/contracts/{row.id}"
    assert client.post(f"{base}/invoices", data={"csrf_token": token, "number": "FP001",
                                                 "amount": "30000.50", "issued_on": "2026-02-10"}
                       ).status_code == 302
    assert client.post(f"{base}/payments", data={"csrf_token": token, "amount": "20000",
                                                 "paid_on": "2026-02-12"}).status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert 'data-paid>20,000.00' in page and 'data-invoice="FP001"' in page
    ledger = client.get("/fees?year=2026").get_data(as_text=True)
    assert 'data-kpi="paid">20,000.00<' in ledger
    # The budget line is set from the ledger page.
    assert client.post("/fees/budget", data={"csrf_token": token, "year": "2026",
                                             "line": "u07_soil_water", "amount": "50000"}
                       ).status_code == 302
    assert db.scalar(select(FeeBudget.amount_fen)) == 5_000_000


@pytest.mark.parametrize("field,value", [
    ("amount", "-1"), ("amount", "1.001"), ("amount", "abc"), ("amount", "NaN"), ("amount", "1e12"),
    ("amount", ""), ("year", "1999"), ("year", "99999999999"), ("signed_on", "2026-13-01"),
    ("provider", "x\x00y"), ("provider", "名" * 201), ("item_code", "p01_filing"),
    ("project", "P-NOPE"), ("parcel", "ZY-NOPE"),
])
def test_a_bad_contract_is_refused_with_a_clear_400_and_changes_nothing(as_user, db, world, finance,
                                                                       field, value):
    client, token = as_user("fin")
    data = {"csrf_token": token, "year": "2026", "item_code": "u01_survey", "provider": "测绘院",
            "amount": "100", "signed_on": "2026-02-01", field: value}
    response = client.post("/fees/contracts", data=data)
    assert response.status_code == 400, (field, value, response.status_code)
    assert count(db, FeeContract) == 0


def test_a_second_contract_for_a_shared_evaluation_is_a_conflict(as_user, db, world, finance, shared):
    client, token = as_user("fin")
    response = client.post("/fees/contracts", data={
        "csrf_token": token, "year": "2026", "item_code": "u04_geo_hazard", "provider": "另一家",
        "amount": "100", "signed_on": "2026-02-01", "parcel": "ZY2026-01",
        "evaluation": "左开区评〔2025〕2号"})
    assert response.status_code == 409
    assert count(db, FeeContract) == 2


def test_subsidies_are_proposed_approved_and_paid_on_the_page(as_user, db, world, finance):
    client, token = as_user("fin")
    assert client.post("/fees/subsidies", data={
        "csrf_token": token, "project": "P-ACME-1", "kind": "power", "year": "2026",
        "quantity": "100000", "market_price": "0.62", "preferential_price": "0.42"}).status_code == 302
    row = db.scalar(select(ElementSubsidy))
    db.commit()
    assert row.amount_fen == 2_000_000
    path = f"/fees/subsidies/{row.id}"
    assert client.post(path, data={"csrf_token": token, "event": "pay", "paid_on": "2026-03-01"}
                       ).status_code == 409  # not approved yet
    assert client.post(path, data={"csrf_token": token, "event": "approve"}).status_code == 302
    assert client.post(path, data={"csrf_token": token, "event": "explode"}).status_code == 400
    assert client.post(path, data={"csrf_token": token, "event": "pay", "paid_on": "2026-03-01"}
                       ).status_code == 302
    page = client.get("/fees/subsidies?year=2026").get_data(as_text=True)
    assert f'data-subsidy="{row.id}" data-status="paid"' in page
    assert client.post("/fees/subsidies", data={
        "csrf_token": token, "project": "P-ACME-1", "kind": "power", "year": "2026",
        "quantity": "10", "market_price": "0.42", "preferential_price": "0.62"}).status_code == 400
    assert count(db, ElementSubsidy) == 1


def test_the_export_streams_the_rows_of_each_breakdown(as_user, db, world, shared):
    client, _ = as_user("sup")

    def sheet(by):
        response = client.get(f"/fees/ledger.xlsx?year=2026&by={by}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
        return rows[1], rows[2:]  # the caption line, then the header row

    headers, rows = sheet("item")
    assert headers[:2] == ("序号", "预算科目") and len(rows) == 18  # 14 items and 4 subsidies
    geo = next(r for r in rows if r[1] == "地质灾害危险性评估")
    assert geo[2:] == (100000, 86000, 86000, 14000, 0)
    _, rows = sheet("parcel")
    assert rows == [("ZY2026-01", "装备园一号地", 86000, 86000, 0)]
    _, rows = sheet("project")
    assert rows == [("P-ACME-1", world["project"].name, 12000, 0, 12000)]
    assert client.get("/fees/ledger.xlsx?by=nothing").status_code == 400


def test_only_an_admin_admits_someone_to_the_finance_office(as_user, db, world, finance):
    client, token = as_user("fin")
    assert client.post("/fees/finance", data={"csrf_token": token, "username": "sup"}).status_code == 403
    client, token = as_user("admin")
    assert client.post("/fees/finance", data={"csrf_token": token, "username": "sup",
                                              "member": "yes"}).status_code == 302
    assert db.scalar(select(User.finance_office).where(User.username == "sup")) is True
    db.commit()
    assert client.post("/fees/finance", data={"csrf_token": token, "username": "acme"}).status_code == 400
    assert db.scalar(select(func.count()).select_from(Project)) == 2


# -- the panels on the project page and the parcel page (issue 14, item 1) --------------------

def _table(page: str, kind: str) -> str:
    start = page.index(f'data-fees="{kind}"')
    return page[start:page.index("</table>", start)]


@pytest.fixture
def billed(db, world, shared):
    """The project's own survey invoiced in part and paid in part; a zone-level
    evaluation covering the parcel (no parcel of its own) paid once."""
    admin = world["users"]["admin"]
    fees.add_invoice(db, shared["own"].id, number="FP-001", amount="5000", issued_on="2026-02-01",
                     actor=admin, now=NOW)
    fees.add_payment(db, shared["own"].id, amount="3000", paid_on="2026-02-10", actor=admin, now=NOW)
    energy = land.save_evaluation(db, actor=admin, now=NOW, reference="左开区评〔2025〕5号",
                                  kind="regional_energy", title="区域节能评估", done_on="2025-03-01",
                                  valid_until="2027-02-28")
    land.attach_evaluation(db, shared["parcel"].id, energy.id, actor=admin, now=NOW)
    zone_wide = fees.save_contract(db, year=2025, item_code="u13_regional_energy",
                                   provider="山西省节能中心", amount="40000", signed_on="2025-02-01",
                                   evaluation_id=energy.id, actor=admin, now=NOW)
    db.commit()
    return {**shared, "zone_wide": zone_wide}


@pytest.mark.parametrize("who", ["sup", "fin"])
def test_the_project_page_shows_its_fees_and_its_parcels_shared_ones(as_user, world, billed, finance,
                                                                       who):
    page = as_user(who)[0].get(f"/projects/{world['project'].code}").get_data(as_text=True)
    assert 'id="fees"' in page
    own = _table(page, "own")
    assert f'data-contract="{billed["own"].id}"' in own
    assert 'data-col="invoiced">5,000.00<' in own and 'data-col="paid">3,000.00<' in own
    # The totals are the project's own: the shared evaluations are listed, not added.
    total = own[own.index("data-fees-total"):]
    assert 'data-col="contracted">12,000.00<' in total and 'data-col="paid">3,000.00<' in total
    assert f'data-contract="{billed["contract"].id}"' not in own
    shared = _table(page, "shared")
    for contract in (billed["contract"], billed["zone_wide"]):
        assert f'data-contract="{contract.id}"' in shared
    assert "data-fees-total" not in shared and 'data-col="paid">86,000.00<' in shared


@pytest.mark.parametrize("who", ["alice", "lead"])
def test_those_who_may_not_read_fees_see_no_fees_panel(as_user, world, billed, who):
    client = as_user(who)[0]
    page = client.get(f"/projects/{world['project'].code}")
    assert page.status_code == 200
    assert 'id="fees"' not in page.get_data(as_text=True)
    parcel = client.get(f"/land/parcels/{billed['parcel'].id}")
    if parcel.status_code == 200:  # a lead reads the parcel, not its fees
        assert "data-fees=" not in parcel.get_data(as_text=True)


def test_the_parcel_page_lists_its_shared_contracts(as_user, billed):
    page = as_user("sup")[0].get(f"/land/parcels/{billed['parcel'].id}").get_data(as_text=True)
    shared = _table(page, "shared")
    for contract in (billed["contract"], billed["zone_wide"]):
        assert f'data-contract="{contract.id}"' in shared
    assert f'data-contract="{billed["own"].id}"' not in shared  # a project's own stays its own
    total = shared[shared.index("data-fees-total"):]
    assert 'data-col="contracted">126,000.00<' in total and 'data-col="paid">86,000.00<' in total


def test_the_panel_reads_every_contract_with_its_sums_in_two_queries_at_most(db, world, billed):
    from sqlalchemy import event

    engine = db.get_bind()
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        panel = fees.fee_panel(db, project_id=world["project"].id, parcel_id=billed["parcel"].id)
        rows = panel.own + panel.shared
        [(r.contract.evaluation, r.invoiced, r.paid) for r in rows]  # what the page reads
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    db.commit()
    assert len(rows) == 3 and len(seen) <= 2, seen
    assert panel.totals == (1_200_000, 500_000, 300_000)

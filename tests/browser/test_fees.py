"""A supervisor reads the fee ledger in a real browser: the year's budget,
committed and paid per item, the parcel whose regional evaluation three
projects share (paid once), the projects' own fees, the Excel export; and on a
390 px phone no ledger page scrolls sideways."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.models import FeeContract
from workflow.reforms import fees, land

pytestmark = pytest.mark.browser

SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"
PAGES = ("/fees?year=2026", "/fees/projects?year=2026", "/fees/parcels?year=2026",
         "/fees/contracts?year=2026", "/fees/subsidies?year=2026")


@pytest.fixture
def ledger(live):
    db, now = live["db"], f.at("2026-03-02")
    add_user(db, "sup", "supervisor", display="周明辉")
    add_user(db, "fin", "supervisor", display="刘静").finance_office = True
    lead = add_user(db, "lead01", "lead", groups=("equipment",))
    admin = add_user(db, "admin", "admin")
    company = f.enterprise(db, "左云县恒达装备制造有限公司")
    parcel = land.save_parcel(db, actor=admin, now=now, code="ZY2024-01", name="装备园标准地",
                              area_mu="210.75", park="装备制造园", servicing="五通一平")
    evaluation = land.save_evaluation(db, actor=admin, now=now, reference="左开区评〔2025〕2号",
                                      kind="geo_hazard", title="地质灾害危险性区域评估",
                                      done_on="2025-06-01", valid_until="2030-05-31")
    land.attach_evaluation(db, parcel.id, evaluation.id, actor=admin, now=now)
    projects = []
    for n, name in enumerate(("风电装备制造基地项目", "精密铸件项目", "智能装备研发中心"), 1):
        project = f.project(db, now, company=company, lead=lead, code=f"2026-140226-34-03-00010{n}")
        project.name = name
        land.assign_parcel(db, project.id, parcel.id, actor=admin, now=now)
        projects.append(project)
    shared = fees.save_contract(db, year=2026, item_code="u04_geo_hazard",
                                provider="山西省地质勘查局二一七地质队", amount="238000",
                                signed_on="2026-01-12", parcel_id=parcel.id,
                                evaluation_id=evaluation.id, actor=admin, now=now)
    fees.add_payment(db, shared.id, amount="238000", paid_on="2026-02-10", actor=admin, now=now)
    own = fees.save_contract(db, year=2026, item_code="u07_soil_water", provider="朔州市水土保持监测站",
                             amount="68000", signed_on="2026-01-20", project_id=projects[0].id,
                             actor=admin, now=now)
    fees.add_payment(db, own.id, amount="34000", paid_on="2026-02-25", actor=admin, now=now)
    fees.set_budget(db, year=2026, line="u04_geo_hazard", amount="260000", actor=admin, now=now)
    fees.set_budget(db, year=2026, line="u07_soil_water", amount="300000", actor=admin, now=now)
    subsidy = fees.propose_subsidy(db, projects[1].id, kind="power", year=2026, quantity=4_800_000,
                                   market_price="0.62", preferential_price="0.45", actor=admin,
                                   now=now)
    fees.decide_subsidy(db, subsidy.id, event="approve", actor=admin, now=now)
    db.commit()
    return projects


def test_a_supervisor_reads_the_ledger(page, live, ledger):
    base = live["url"]
    log_in(page, base, "sup")
    page.click("header details.more summary")  # a reader finds the ledger under 更多
    page.click("header nav a:visible:has-text('费用台账')")
    page.wait_for_selector("table.fees-ledger")
    # 238,000 + 68,000 + 816,000 (4.8 M kWh × ¥0.17) committed; 238,000 + 34,000 paid.
    assert page.inner_text("[data-kpi=budget]") == "560,000.00"
    assert page.inner_text("[data-kpi=committed]") == "1,122,000.00"
    assert page.inner_text("[data-kpi=paid]") == "272,000.00"
    geo = page.locator("tr[data-line=u04_geo_hazard]")
    assert geo.locator("[data-col=available]").inner_text() == "22,000.00"
    assert page.locator("input[name=amount]").count() == 0  # a reader sets no budget
    shoot(page, "fees-ledger")

    page.click("nav.fees-tabs a:has-text('按地块')")
    row = page.locator("tr[data-parcel=ZY2024-01]")
    assert row.locator("[data-col=sharing]").inner_text() == "3"
    assert row.locator("[data-col=committed]").inner_text() == "238,000.00"  # once, not three times

    page.click("nav.fees-tabs a:has-text('按项目')")
    rows = page.locator("table.fees-ledger tbody tr[data-project]")
    assert rows.count() == 2  # the third project has no fees of its own
    first = page.locator(f"tr[data-project='{ledger[0].code}']")
    assert first.locator("[data-col=committed]").inner_text() == "68,000.00"
    assert first.locator("[data-col=unpaid]").inner_text() == "34,000.00"

    with page.expect_download() as download:
        page.click("[data-export=project]")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    data = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in data] == sorted(p.code for p in ledger[:2])


@pytest.mark.parametrize("width", [1360, 390])
@pytest.mark.parametrize("who", ["sup", "fin"])  # the reader, and the finance office with its forms
def test_the_ledger_pages_fit_the_screen(browser, live, ledger, width, who):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        log_in(page, live["url"], who)
        contract = live["db"].scalar(select(FeeContract.id).order_by(FeeContract.id))
        live["db"].commit()
        for path in (*PAGES, f"/fees/contracts/{contract}"):
            response = page.goto(f"{live['url']}{path}")
            assert response.status == 200, path
            assert page.evaluate(SIDEWAYS) <= 0, f"{path} scrolls sideways at {width} px"
            forms = page.locator("form.admin-form").count()
            assert (forms > 0) is (who == "fin" and "projects" not in path and "parcels" not in path
                                   and path != "/fees?year=2026"), (path, who, forms)
        if width == 390 and who == "sup":
            page.goto(f"{live['url']}/fees?year=2026")
            shoot(page, "fees-ledger-phone")
    finally:
        context.close()

"""A lead handler records a 达产复核 in a real browser: the project stands on a
standard-land parcel with its investment agreement and has reached capacity;
the lead enters the reported figures and sees each computed indicator against
the commitment and the verdict."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from tests.test_land import walk_to
from workflow.models import Checkpoint
from workflow.reforms import land

pytestmark = pytest.mark.browser


@pytest.fixture
def project_at_capacity(live):
    db, now = live["db"], f.at("2026-03-02")
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国（领办人）")
    agent = add_user(db, "agent01", "agent", groups=("equipment",), department="nature_resources")
    admin = add_user(db, "admin", "admin")
    company = f.enterprise(db, "左云县恒达装备制造有限公司")
    add_user(db, "ent01", "enterprise", company=company)
    project = f.project(db, now, company=company, lead=lead, code="2026-140226-34-03-000101")
    project.name = "风电装备制造基地项目"
    parcel = land.save_parcel(db, actor=admin, now=now, code="ZY2024-01", name="装备园标准地",
                              area_mu="210.75", park="装备制造园", servicing="五通一平",
                              land_price_wan="4200", transferred_on="2024-05-20")
    for code, value in (("investment_intensity", "300"), ("floor_area_ratio", "1.2"),
                        ("tax_per_mu", "15"), ("output_per_mu", "400")):
        land.set_indicator(db, parcel.id, code=code, name="", unit=None, bound="min", value=value,
                           actor=admin, now=now)
    land.assign_parcel(db, project.id, parcel.id, actor=lead, now=now)
    land.record_agreement(db, project.id, actor=lead, now=now, signed_on="2024-05-20",
                          start_by="2024-09-30", complete_by="2025-09-30", produce_by="2025-12-31",
                          capacity_by="2026-06-30")
    walk_to(db, project, "at_capacity", {"lead": lead, "agent": agent}, now=now)
    db.commit()
    live["clock"].moment = f.at("2026-03-04", 10)
    return project


def test_a_lead_records_a_capacity_review_and_sees_the_verdict(page, live, project_at_capacity):
    base, project = live["url"], project_at_capacity
    log_in(page, base, "lead01")
    page.goto(f"{base}/projects/{project.code}")
    form = page.locator("form[data-action=review_capacity]")
    assert form.count() == 1
    # 210.75 亩: investment 65 000 万元 → 308.42 万元/亩; floor area 180 000 m² → 1.28;
    # tax 2 800 万元 → 13.29 万元/亩 (short of 15); output 90 000 万元 → 427.05 万元/亩.
    for name, value in (("investment_wan", "65000"), ("floor_area_m2", "180000"), ("tax_wan", "2800"),
                        ("output_wan", "90000"), ("energy_tce", "15000")):
        form.locator(f"input[name={name}]").fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    review = page.locator("[data-review]")
    assert review.count() == 1
    cells = {code: page.locator(f"[data-review] tr[data-indicator={code}] td").all_inner_texts()
             for code in ("investment_intensity", "floor_area_ratio", "tax_per_mu", "output_per_mu")}
    assert cells["investment_intensity"][1:3] == ["≥ 300", "308.42"]
    assert cells["floor_area_ratio"][2] == "1.28"
    assert cells["tax_per_mu"][1:3] == ["≥ 15", "13.29"] and "未达标" in cells["tax_per_mu"][3]
    assert "达标" in cells["output_per_mu"][3] and "未达标" not in cells["output_per_mu"][3]
    assert page.locator("[data-capacity-status=rectifying]").count() == 1
    assert "限期整改" in review.inner_text() and "2026-09-04" in review.inner_text()
    shoot(page, "lead-capacity-review")

    status = live["db"].scalar(select(Checkpoint.status).where(
        Checkpoint.project_id == project.id, Checkpoint.kind == "capacity")
        .execution_options(populate_existing=True))
    live["db"].commit()
    assert status == "rectifying"


def test_the_register_the_checkpoints_and_the_figures_as_users_see_them(page, live, project_at_capacity):
    base, project = live["url"], project_at_capacity
    log_in(page, base, "lead01")
    page.goto(f"{base}/projects/{project.code}")
    form = page.locator("form[data-action=review_capacity]")
    for name, value in (("investment_wan", "70000"), ("floor_area_m2", "300000"), ("tax_wan", "3500"),
                        ("output_wan", "90000"), ("energy_tce", "15000")):
        form.locator(f"input[name={name}]").fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("[data-capacity-status=passed]").count() == 1
    page.goto(f"{base}/land/checkpoints")
    shoot(page, "lead-land-checkpoints")
    page.click("header form[action='/logout'] button")

    log_in(page, base, "admin")
    page.goto(f"{base}/land/parcels")
    new = page.locator("form[data-action=create_parcel]")
    new.locator("input[name=code]").fill("ZY2026-05")
    new.locator("input[name=name]").fill("物流园二号地")
    new.locator("input[name=area_mu]").fill("96.30")
    new.locator("select[name=servicing]").select_option("三通一平")
    with page.expect_navigation():
        new.locator("button[type=submit]").click()
    assert "ZY2026-05" in page.locator("h1").inner_text()
    shoot(page, "admin-land-parcel")
    page.goto(f"{base}/land/parcels")
    assert page.locator("tr[data-parcel]").count() == 2
    shoot(page, "admin-land-parcels")
    page.goto(f"{base}/land/figures")
    assert page.locator("[data-kpi=mu]").inner_text() == "210.75"
    assert page.locator(f"tr[data-project='{project.code}'] .land-state.passed").count() == 1
    shoot(page, "land-figures")
    page.click("header form[action='/logout'] button")

    log_in(page, base, "ent01")
    page.goto(f"{base}/portal/projects/{project.code}")
    assert page.locator("#land [data-verdict=passed]").count() == 1
    shoot(page, "enterprise-land")

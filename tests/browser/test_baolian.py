"""包联 in a real browser, at desktop and phone sizes: the lead reschedules a
milestone of a project's promotion plan (with its reason) and adds one of his
own on the project page; a supervisor reads the leadership view and filters
it to the late plans. Neither page scrolls sideways on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.models import PlanMilestone

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def plans(live):
    db, now = live["db"], f.at("2026-03-02")
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国（班子成员）")
    add_user(db, "agent01", "agent", groups=("equipment",), department="nature_resources",
             display="李明（专职人员）")
    add_user(db, "sup01", "supervisor", display="赵督查")
    company = f.enterprise(db, "左云县恒达装备制造有限公司")
    late = f.project(db, now, company=company, lead=lead, code="2026-140226-34-03-000201", mandate=False)
    late.name = "风电装备制造基地项目"
    fresh = f.project(db, f.at("2026-05-11"), company=company, lead=lead, code="2026-140226-34-03-000202",
                      mandate=False)
    fresh.name = "精密铸件项目"
    db.commit()
    live["clock"].moment = f.at("2026-06-10", 10)  # the first project's start (2 June) is late
    return late, fresh


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_lead_reschedules_and_adds_milestones(browser, live, plans, viewport):
    base, (project, _) = live["url"], plans
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, base, "lead01")
        page.goto(f"{base}/projects/{project.code}#plan")
        start = page.locator("#plan [data-kind=start]")
        assert start.get_attribute("class").split()[-1] == "late"
        start.locator("summary").click()
        form = start.locator("form[data-action=reschedule]")
        form.locator("input[name=planned_on]").fill("2026-06-30")
        form.locator("input[name=reason]").fill("施工许可证办理推迟，按协调会纪要调整")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        start = page.locator("#plan [data-kind=start]")
        assert "2026-06-30" in start.inner_text()
        assert start.get_attribute("class").split()[-1] == "on_track"
        assert page.evaluate(SIDEWAYS) <= 0
        add = page.locator("#plan form[data-action=add_milestone]")
        add.locator("input[name=name]").fill("10千伏双回路电力接入")
        add.locator("input[name=planned_on]").fill("2026-06-15")
        add.locator("input[name=reason]").fill("企业用电负荷提前")
        with page.expect_navigation():
            add.locator("button[type=submit]").click()
        assert page.locator("#plan [data-kind=custom]").inner_text().startswith("10千伏双回路电力接入")
        assert page.locator("#plan h2 [data-status]").get_attribute("data-status") == "at_risk"
        assert page.evaluate(SIDEWAYS) <= 0, "the project page scrolls sideways"
        shoot(page, f"baolian-plan-{viewport['width']}")
    finally:
        context.close()
    db = live["db"]
    # A fresh read of what the app wrote: end the transaction (and its snapshot,
    # and the identity map's copies) that reading the fixture's rows began.
    db.rollback()
    moved = db.scalar(select(PlanMilestone).where(PlanMilestone.project_id == project.id,
                                                  PlanMilestone.kind == "start")
                      .execution_options(populate_existing=True))
    assert (str(moved.planned_on), moved.source) == ("2026-06-30", "lead")
    db.rollback()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_a_supervisor_reads_the_leadership_view_and_filters_the_late_plans(browser, live, plans, viewport):
    base, (late, fresh) = live["url"], plans
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        log_in(page, base, "sup01")
        page.goto(f"{base}/baolian")
        member = page.locator("table[data-list=members] tbody tr").first
        assert "王建国（班子成员）" in member.inner_text()
        rows = page.locator("table[data-list=plans] tbody tr[data-project]")
        assert [rows.nth(n).get_attribute("data-project") for n in range(rows.count())] == [
            late.code, fresh.code]  # the most urgent first
        assert page.evaluate(SIDEWAYS) <= 0, "the leadership view scrolls sideways"
        page.select_option("select[name=status]", "late")
        with page.expect_navigation():
            page.locator("form.filters button[type=submit]").click()
        rows = page.locator("table[data-list=plans] tbody tr[data-project]")
        assert rows.count() == 1 and rows.first.get_attribute("data-project") == late.code
        assert rows.first.locator("[data-status]").inner_text() == "滞后"
        assert page.evaluate(SIDEWAYS) <= 0
        shoot(page, f"baolian-leadership-{viewport['width']}")
    finally:
        context.close()

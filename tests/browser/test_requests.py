"""An enterprise raises a request in its portal and follows it on the 13710
rhythm (issue 14, 3), in Chromium at desktop and phone sizes: the form, the
progress with its due dates, the department's feedback and solution, the
rating that closes it — and no page scrolls sideways on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from tests.browser.test_layout import DESKTOP, PHONE, SIDEWAYS
from workflow.models import ServiceRequest
from workflow.reforms import requests as req

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_an_enterprise_raises_a_request_and_sees_its_progress(browser, live, viewport):
    db, url = live["db"], live["url"]
    company = f.enterprise(db, "大同恒信重工装备有限公司")
    add_user(db, "hengxin", "enterprise", display="王志刚", company=company)
    lead = add_user(db, "lead_wang", "lead", display="王建国", groups=("equipment",))
    agent = add_user(db, "agent_power", "agent", display="韩立新", groups=("equipment",),
                     department="power_supply")
    project = f.project(db, live["clock"].moment, company=company, lead=lead,
                        code="2026-140226-34-03-000777")
    project_name = project.name
    db.commit()

    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, url, "hengxin")
    page.click("header nav a[href='/portal/requests']")
    assert page.locator("details#new[open]").count() == 1  # nothing raised yet: the form is open
    page.select_option("select[name=kind]", "power")
    page.select_option("select[name=project_id]", label=f"{project_name}（{project.code}）")
    page.fill("input[name=title]", "新厂房 10kV 专线接入滞后")
    page.fill("textarea[name=text]", "变压器已到货，供电公司尚未排期接电，影响设备调试。")
    with page.expect_navigation():
        page.click("form[data-form=raise] button[type=submit]")
    assert "诉求已提交" in page.content()
    steps = page.locator("ol.req-steps")
    assert steps.locator("li[data-step=submitted].done").count() == 1
    assert "2026-03-02" in steps.locator("li[data-step=arranged]").inner_text()  # the same day
    assert "2026-03-05" in steps.locator("li[data-step=feedback]").inner_text()  # 3 working days
    assert "2026-03-11" in steps.locator("li[data-step=solved]").inner_text()  # 7 working days
    assert page.evaluate(SIDEWAYS) <= 0
    shoot(page, f"request-raised-{viewport['width']}")

    # The zone handles it (the staff's pages have their own tests).
    row = db.scalar(select(ServiceRequest).where(ServiceRequest.title == "新厂房 10kV 专线接入滞后"))
    assert row.project_id == project.id and row.status == "submitted"
    now = live["clock"].moment
    req.arrange(db, row.id, actor=lead, now=now, department="power_supply",
                note="请供电公司三日内排期")
    req.give_feedback(db, row.id, actor=agent, now=now, text="已约供电公司 3 月 4 日现场勘查")
    req.solve(db, row.id, actor=agent, now=f.at("2026-03-05", 16), text="3 月 5 日已送电")
    db.commit()

    page.reload()
    assert page.locator("li[data-step=arranged].done").count() == 1
    progress = page.locator("ol.req-steps").inner_text()
    assert "供电" in progress and "已约供电公司 3 月 4 日现场勘查" in progress
    assert "3 月 5 日已送电" in progress
    assert page.locator("span.req-state[data-state=solved]").count() == 1
    assert page.evaluate(SIDEWAYS) <= 0
    # The enterprise comes back the next morning (a new login) to rate the outcome.
    live["clock"].moment = f.at("2026-03-06", 9)
    detail = page.url
    log_in(page, url, "hengxin")
    page.goto(detail)
    page.check("input[name=rating][value=satisfied]")
    with page.expect_navigation():
        page.click("form[data-form=rate] button[type=submit]")
    assert page.locator("span.req-state[data-state=closed]").count() == 1
    assert "企业评价：满意" in page.locator("ol.req-steps").inner_text()
    shoot(page, f"request-closed-{viewport['width']}")

    page.click("a[href='/portal/requests']")
    card = page.locator(f"article[data-request='{row.id}']")
    assert card.count() == 1 and "已关闭" in card.inner_text()
    assert page.evaluate(SIDEWAYS) <= 0
    db.rollback()
    context.close()


def test_the_staff_pages_fit_a_phone(browser, live):
    """The list, a request with its forms, the figures and the visits at 390 px."""
    db, url = live["db"], live["url"]
    company = f.enterprise(db, "山西晋云风电装备有限公司")
    owner = add_user(db, "jinyun", "enterprise", company=company)
    lead = add_user(db, "lead_li", "lead", display="李文华", groups=("equipment",))
    now = live["clock"].moment
    visit = req.record_visit(db, actor=lead, now=now, enterprise_id=company.id,
                             visited_on=now.date(), leader_id=lead.id, companions="住建局、发改局",
                             notes="走访晋云风电，了解二期扩产计划和厂区配套需求。" * 3)
    raised = req.raise_request(db, actor=owner, now=now, kind="road",
                               title="厂区南侧道路未贯通，大件运输车辆无法进出厂区南门" * 2)
    req.raise_request(db, actor=lead, now=now, kind="utilities", title="天然气管道报装",
                      visit_id=visit.id)
    db.commit()
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, url, "lead_li")
    for path in ("/requests", f"/requests/{raised.id}", "/requests/figures", "/visits",
                 f"/visits/{visit.id}"):
        response = page.goto(f"{url}{path}")
        assert response.status == 200, path
        assert page.evaluate(SIDEWAYS) <= 0, path
    assert page.locator("form[data-form=visit-request]").count() == 1
    db.rollback()
    context.close()

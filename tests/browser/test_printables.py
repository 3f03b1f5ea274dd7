"""In a real browser (issue 12, items 9 and 10): the enterprise's project page
puts the materials it must supply before the rating, whose levels start
unchosen (the browser refuses the form until one is picked); the 一次性告知单
opens from the task page and from the portal as an A4 print view that prints
without the page's toolbar, with its PDF beside it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.core import operations as ops
from workflow.models import ItemTask

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def zone(live):
    """A project with one item covered (so it may be rated) and materials asked
    for another (一次性告知)."""
    db = live["db"]
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国")
    agent = add_user(db, "agent01", "agent", groups=("equipment",),
                     department="nature_resources", display="李娜")
    acme = f.enterprise(db, "左云县恒达装备制造有限公司")
    add_user(db, "ent01", "enterprise", company=acme, display="刘恒达")
    project = f.project(db, f.at("2026-03-02"), company=acme, lead=lead,
                        code="2026-140226-34-03-000101")
    now = live["clock"].moment

    def task(code):
        return db.scalar(select(ItemTask).where(ItemTask.project_id == project.id,
                                                ItemTask.item_code == code))

    ops.cover_task(db, task("u03_mineral").id, reference="左开评〔2025〕3号", kind="evaluation",
                   actor=lead, now=now)
    survey = task("u01_survey")
    ops.claim_task(db, survey.id, actor=agent, now=now)
    ops.start_task(db, survey.id, actor=agent, now=now)
    request = ops.request_materials(
        db, survey.id, [{"code": "m1", "name": "宗地界址图"},
                        {"code": "m2", "name": "营业执照副本", "note": "加盖公章"}],
        deadline=date(2026, 3, 9), actor=agent, now=now, note="请扫描为PDF后上传")
    db.commit()
    return {"project": project, "survey": survey, "request": request}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_materials_come_before_the_rating_which_has_no_default(page, live, zone, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    log_in(page, live["url"], "ent01")
    page.goto(f"{live['url']}/portal/projects/{zone['project'].code}")
    requests = page.locator("#requests").bounding_box()
    rating = page.locator("form[data-action=rate]").bounding_box()
    assert requests["y"] + requests["height"] <= rating["y"]
    assert "需要您现在提供的材料" in page.locator("#requests h2").inner_text()
    levels = page.locator("form[data-action=rate] input[name=level]")
    assert levels.count() == 5
    assert page.locator("form[data-action=rate] input[name=level]:checked").count() == 0
    # Sent without a choice, the browser keeps the form and says a level is missing.
    url = page.url
    page.click("form[data-action=rate] button[type=submit]")
    assert page.url == url
    assert levels.first.evaluate("e => e.validity.valueMissing")
    shoot(page, f"portal-project-order-{'phone' if viewport else 'desktop'}")


def test_the_materials_notice_prints_from_the_task_and_the_portal(page, live, zone):
    request = zone["request"]
    for user, start in (("agent01", f"/tasks/{zone['survey'].id}"),
                        ("ent01", f"/portal/projects/{zone['project'].code}")):
        page.context.clear_cookies()
        log_in(page, live["url"], user)
        page.goto(live["url"] + start)
        with page.expect_navigation():
            page.click(f"a[data-notice-link='{request.id}']")
        sheet = page.locator(f"article.doc-sheet[data-notice='{request.id}']")
        text = sheet.inner_text()
        for expected in ("一次性告知单", "宗地界址图", "营业执照副本", "加盖公章", "请于 2026-03-09 前提交",
                         "第三十二条", "李娜", "王建国", "左云县恒达装备制造有限公司"):
            assert expected in text, expected
        pdf = page.request.get(live["url"] + f"/requests/{request.id}/notice.pdf")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        # Printed: the sheet alone, without the page's toolbar.
        page.emulate_media(media="print")
        assert not page.locator(".doc-toolbar").is_visible() and sheet.is_visible()
        page.emulate_media(media="screen")
    shoot(page, "materials-notice")

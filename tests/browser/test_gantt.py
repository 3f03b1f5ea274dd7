"""The timeline (Gantt) in a real browser, on the demo zone: the staff
project page draws each item's bars, the critical path and today's line in a
box of its own that scrolls sideways on a phone while the page does not; the
portal shows the expected start and completion dates at 1366 px and 390 px."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_layout import (  # noqa: F401 - fixtures
    DESKTOP,
    IN_VIEW,
    PHONE,
    assert_fits,
    demo,
    go,
    open_page,
    places,
)

pytestmark = pytest.mark.browser

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_staff_project_page_draws_the_timeline(browser, demo, places, viewport):  # noqa: F811
    page = open_page(browser, demo, places["lead"], viewport)
    go(page, demo, f"/projects/{places['project']}")
    chart = page.locator(".gantt-scroll svg.gantt")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img" and page.locator("svg.gantt > title").count() == 1
    assert page.locator("svg.gantt rect.gantt-predicted").count() >= 1
    assert page.locator("svg.gantt rect.gantt-actual").count() >= 1
    assert page.locator("svg.gantt g.gantt-row.critical").count() >= 1
    assert page.locator("svg.gantt g.gantt-today line").count() == 1
    assert page.locator("svg.gantt g.gantt-marker.predicted, svg.gantt g.gantt-marker.reached"
                        ).count() == 5
    assert page.locator(".gantt-as-of").inner_text().startswith("预测")
    box = page.locator(".gantt-scroll")
    box.scroll_into_view_if_needed()
    assert box.evaluate(IN_VIEW)
    assert_fits(page, "the staff project page")
    if viewport is PHONE:
        # The chart is wider than the phone: it scrolls inside its box.
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        assert box.evaluate("el => el.scrollLeft") > 0
        assert_fits(page, "the staff project page, its timeline scrolled")
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_portal_shows_the_expected_dates(browser, demo, places, viewport):  # noqa: F811
    page = open_page(browser, demo, places["enterprise"], viewport)
    go(page, demo, f"/portal/projects/{places['project']}")
    section = page.locator("#expected")
    assert "预计可开工日期" in section.inner_text() and "预计竣工验收" in section.inner_text()
    for what in ("ready_to_start", "completed", "producing"):
        cell = page.locator(f'[data-expected="{what}"]')
        cell.scroll_into_view_if_needed()
        assert DAY.match(cell.inner_text().strip()), what
        assert cell.evaluate(IN_VIEW), what
    assert page.locator("#expected .gantt-as-of").count() == 1
    assert page.locator("#expected svg.gantt").count() == 1
    assert_fits(page, "the portal's project page")
    page.context.close()

"""The workload forecast in a real browser on the demo zone: the lead's desk
draws its groups' chart (a bar per working day, the capacity line) and the
agents' table, and neither it nor the admin's page scrolls sideways on a
phone (390 px) or a desktop (1366 px)."""

from __future__ import annotations

import pytest

from tests.browser.test_layout import DESKTOP, PHONE, assert_fits, demo, go, open_page, places  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_desk_draws_the_groups_forecast_and_fits(browser, demo, places, viewport):  # noqa: F811
    page = open_page(browser, demo, places["lead"], viewport)
    go(page, demo, "/desk")
    chart = page.locator("#workload ~ .workload-grid svg.load-chart").first
    assert chart.is_visible()
    assert chart.locator("g.day").count() == 30
    assert chart.locator("line.capacity").count() == 1
    box = chart.bounding_box()
    assert box and 0 < box["width"] <= viewport["width"] and box["height"] > 40
    assert page.locator("table.desk-agents-load tbody tr").count() >= 1
    assert_fits(page, f"the desk at {viewport['width']} px")
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_admins_workload_page_fits(browser, demo, viewport):  # noqa: F811
    page = open_page(browser, demo, "admin", viewport)
    go(page, demo, "/admin/workload")
    assert page.locator("svg.load-chart").count() >= 2
    assert_fits(page, f"/admin/workload at {viewport['width']} px")
    page.context.close()

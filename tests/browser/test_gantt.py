"""The timeline (Gantt) in a real browser, on the demo zone: the staff
project page draws each item's bars, the critical path and today's line in a
box of its own that scrolls sideways on a phone while the page does not; the
portal shows the expected start and completion dates at 1366 px and 390 px."""

from __future__ import annotations

import re
from datetime import date, timedelta

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
        # The items keep their names: the label column's copy stays at the box's left edge.
        pinned = page.locator(".gantt-scroll svg.gantt-labels")
        assert pinned.get_attribute("aria-hidden") == "true"
        assert abs(pinned.evaluate("el => el.getBoundingClientRect().left")
                   - box.evaluate("el => el.getBoundingClientRect().left")) <= 1.5
        assert pinned.locator("text").all_text_contents() == page.locator(
            "svg.gantt > text[text-anchor=end], svg.gantt g.gantt-row > text").all_text_contents()
        assert pinned.locator("g").first.evaluate(IN_VIEW)
    page.context.close()


# Every drawn label of a marker row and every marker, as boxes in the page.
MARKER_BOXES = """() => [...document.querySelectorAll('svg.gantt g.gantt-marker')].map(g => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {day: g.dataset.day, text: box(g.querySelector('text')), mark: box(g.querySelector('path'))};
})"""


def _meet(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.mark.parametrize("language", ["zh", "en"])
def test_milestone_labels_close_together_do_not_cover_each_other(browser, language):
    """Milestones days apart (and three on one day), drawn by the browser with
    its own font: no label covers another label or any marker."""
    from web.support.gantt import Marker, Row, Span, gantt

    names = {"zh": ["具备开工条件", "开工", "竣工", "投产", "达产"],
             "en": ["Ready to start", "Started", "Completed", "Producing", "At capacity"]}[language]
    day = date(2027, 2, 11)
    predicted = [Marker(f"m{n}", name, day + timedelta(days=gap), "predicted")
                 for n, (name, gap) in enumerate(zip(names, (0, 4, 230, 236, 236), strict=True))]
    planned = [Marker(f"p{n}", name, day + timedelta(days=gap), "planned")
               for n, (name, gap) in enumerate(zip(names, (-90, -88, 300, 301, 302), strict=True))]
    svg = gantt([Row("a", "一项", actual=Span(day - timedelta(days=100), day - timedelta(days=20)))],
                predicted + planned, today=day - timedelta(days=20), title="t",
                labels={"planned": "计划", "predicted": "预计", "today": "今天"})
    page = browser.new_page(viewport=DESKTOP)
    page.set_content(f"<!doctype html><meta charset=utf-8><body>{svg}</body>")
    drawn = page.evaluate(MARKER_BOXES)
    assert len(drawn) == 10
    for n, one in enumerate(drawn):
        for other in drawn[n + 1:]:
            assert not _meet(one["text"], other["text"]), (one, other)
        for other in drawn:
            assert not _meet(one["text"], other["mark"]), (one, other)
    page.close()


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

"""Lists in a real browser (issue 12, item 11): an agent sorts the group
queue by clicking a column header (and again, the other way), then ticks two
queued tasks and claims them with one button; a lead ticks one on the desk
and assigns it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.models import ItemTask

pytestmark = pytest.mark.browser


def shown(page) -> list[int]:
    return [int(v) for v in page.eval_on_selector_all(
        "table.tasks tbody tr[data-task]", "rows => rows.map(r => r.dataset.task)")]


def test_sort_by_a_column_header_then_bulk_claim(live, page):
    db = live["db"]
    lead = add_user(db, "lead", "lead", groups=("equipment",))
    add_user(db, "alice", "agent", "王敏", groups=("equipment",), department="nature_resources")
    add_user(db, "bob", "agent", "赵刚", groups=("equipment",), department="planning")
    for day, code in (("2026-02-02", "P-EARLY"), ("2026-02-20", "P-MID"), ("2026-03-02", "P-LATE")):
        f.project(db, f.at(day), lead=lead, code=code)
    db.commit()
    surveys = list(db.scalars(select(ItemTask).where(ItemTask.item_code == "u01_survey")
                              .order_by(ItemTask.due_on, ItemTask.id)))
    db.commit()
    base = live["url"]

    log_in(page, base, "alice")
    page.goto(f"{base}/inbox?tab=queue&item=u01_survey")
    assert shown(page) == [t.id for t in surveys]
    with page.expect_navigation():
        page.click('th a.sort[data-sort="due"]')  # due is the current sort: reverse it
    assert "dir=desc" in page.url and "item=u01_survey" in page.url
    assert shown(page) == [t.id for t in reversed(surveys)]
    assert page.locator('th[aria-sort="descending"] a[data-sort="due"] .sort-dir').inner_text() == "▼"
    shoot(page, "lists-queue-sorted")

    chosen = [surveys[0].id, surveys[2].id]
    for task_id in chosen:
        page.check(f'input[name=task][value="{task_id}"]')
    with page.expect_navigation():
        page.click('button[data-bulk="claim"]')
    assert page.locator(".flash.ok").inner_text() == "已认领 2 项任务"
    assert shown(page) == [surveys[1].id]  # the sort and filter kept, the claimed gone
    held = {t.id: t.assignee_id for t in db.scalars(
        select(ItemTask).where(ItemTask.id.in_([t.id for t in surveys]))
        .execution_options(populate_existing=True))}
    db.commit()
    assert [held[t] is not None for t in (surveys[0].id, surveys[1].id, surveys[2].id)] \
        == [True, False, True]

    page.context.clear_cookies()
    log_in(page, base, "lead")
    page.goto(f"{base}/desk")
    page.check(f'input[name=task][value="{surveys[1].id}"]')
    page.select_option("#bulk-assign select[name=assignee]", "bob")
    with page.expect_navigation():
        page.click('button[data-bulk="assign"]')
    assert "赵刚" in page.locator(".flash.ok").inner_text()
    shoot(page, "lists-desk-assigned")

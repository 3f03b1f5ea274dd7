"""What staff are told reaches them, at the zone's time (issue 12, 2 and 3),
in Chromium on the demo zone, at desktop and phone sizes: an agent the lead
assigned work to finds the notice behind the badge, dated in Asia/Shanghai,
and chooses the daily bundle on their settings page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.browser.test_layout import (
    DESKTOP,
    PHONE,
    SIDEWAYS,
    demo,  # noqa: F401 - the demo zone, served
    go,
    open_page,
)
from web.support.present import zone_time
from workflow.models import Notification, User


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_an_assigned_agent_sees_the_notice_behind_the_badge_at_zone_time(browser, demo,  # noqa: F811
                                                                         viewport):
    db = demo["db"]
    note = db.scalars(select(Notification).join(User, Notification.user_id == User.id)
                      .where(Notification.kind == "task_assigned", User.role == "agent",
                             Notification.read_at.is_(None))
                      .order_by(Notification.created_at.desc())).first()
    assert note is not None, "the demo's leads assign work, and the agents are told"
    agent = db.get(User, note.user_id)
    note_id, created_at, username, agent_id = note.id, note.created_at, agent.username, agent.id
    db.rollback()  # SQLite has one writer: the app logs the agent in next
    page = open_page(browser, demo, username, viewport)
    badge = page.locator("header nav a[href='/notifications'] .badge")
    assert badge.count() == 1 and int(badge.inner_text()) >= 1
    go(page, demo, "/notifications")
    row = page.locator(f"tr[data-notification='{note_id}']")
    assert row.count() == 1
    text = row.inner_text()
    assert "【新分配】" in text
    assert zone_time(created_at) in text  # the zone's time, not the database's UTC
    assert page.evaluate(SIDEWAYS) <= 0

    page.click("a[href='/account/notifications']")
    page.check("input[name=email][value=digest]")
    with page.expect_navigation():
        page.click("form:has(input[name=email]) button[type=submit]")
    assert page.locator("input[name=email][value=digest]").is_checked()
    assert re.search("通知方式已保存", page.content())
    assert db.get(User, agent_id).notify_email == "digest"
    db.rollback()
    page.context.close()

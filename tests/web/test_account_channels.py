"""Each person chooses how they hear of things; staff see their new work on
the badge (issue 12, 2)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import at
from workflow.core import operations as ops
from workflow.models import ItemTask, User


def test_a_person_chooses_the_daily_bundle_and_no_webhook(as_user, db):
    client, token = as_user("alice")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'value="now" checked' in page
    response = client.post("/account/notifications", data={"csrf_token": token, "email": "digest"})
    assert response.status_code == 302
    alice = db.scalars(select(User).where(User.username == "alice")).one()
    db.refresh(alice)
    assert (alice.notify_email, alice.notify_webhook) == ("digest", False)
    db.rollback()  # the app reads next
    assert 'value="digest" checked' in client.get("/account/notifications").get_data(as_text=True)


def test_an_unknown_choice_is_refused_beside_the_field_and_changes_nothing(as_user, db):
    client, token = as_user("alice")
    response = client.post("/account/notifications", data={
        "csrf_token": token, "email": "sms", "webhook": "1"},
        headers={"Referer": "http://localhost/account/notifications"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="error-email"' in html
    alice = db.scalars(select(User).where(User.username == "alice")).one()
    db.refresh(alice)
    assert (alice.notify_email, alice.notify_webhook) == ("now", True)


def test_an_assigned_agent_sees_it_on_the_badge_and_the_list(as_user, world, db):
    lead = db.scalars(select(User).where(User.username == "lead")).one()
    alice = db.scalars(select(User).where(User.username == "alice")).one()
    task = db.scalars(select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                             ItemTask.state == "ready")).first()
    ops.assign_task(db, task.id, alice, actor=lead, now=at("2026-03-02"))
    db.commit()
    client, _token = as_user("alice")
    page = client.get("/notifications").get_data(as_text=True)
    assert "【新分配】" in page
    assert re.search(r"href=\"/notifications\"[^>]*>[^<]*<span class=\"badge[^\"]*\">1</span>", page)

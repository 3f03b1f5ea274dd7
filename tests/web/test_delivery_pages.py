"""The admin's deliveries page (zone times, the real attempt count, in-doubt
rows), the admin's verified mobile number, and the one-click unsubscribe of
digest emails (RFC 8058)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from workflow.core import notify
from workflow.kernel.moments import utc
from workflow.models import OutboxMessage, User


def failed(db, clock, key, **kw):
    row = OutboxMessage(channel="email", recipient="a@example.org", subject=f"【测试】{key}",
                        body="x", dedupe_key=key, status="failed",
                        next_attempt_at=utc(clock.moment), created_at=utc(clock.moment), **kw)
    db.add(row)
    return row


def test_deliveries_show_zone_times_the_attempts_and_what_each_failure_means(as_user, world, db,
                                                                             clock):
    # clock.moment is 10:00 in Shanghai (02:00 UTC).
    once = failed(db, clock, "once", attempts=1, last_error="550 no such user",
                  last_attempt_at=utc(clock.moment + timedelta(minutes=5)))
    often = failed(db, clock, "often", attempts=6, last_error="451 try later")
    doubt = failed(db, clock, "doubt", attempts=1, in_doubt=True, last_error="timed out")
    db.commit()
    client, _ = as_user("admin")
    page = client.get("/admin/deliveries").get_data(as_text=True)
    rows = {row.id: page.split(f'data-delivery="{row.id}"', 1)[1].split("</tr>", 1)[0]
            for row in (once, often, doubt)}
    assert "2026-03-02 10:00" in rows[once.id] and "2026-03-02 10:05" in rows[once.id]
    assert "02:00" not in page  # never UTC
    assert 'data-attempts="1"' in rows[once.id] and "多次重试仍失败" not in rows[once.id]
    assert "对方拒收，未重试" in rows[once.id]
    assert 'data-attempts="6"' in rows[often.id] and "多次重试仍失败" in rows[often.id]
    assert "可能已送达" in rows[doubt.id]


def test_an_admin_records_a_verified_mobile_and_it_reaches_the_payload(as_user, world, db, clock):
    acme_id = world["users"]["acme"].id
    db.rollback()  # SQLite: the test's read must not hold the lock the app writes under
    client, token = as_user("admin")
    done = client.post(f"/admin/users/{acme_id}/mobile",
                       data={"csrf_token": token, "mobile": "138 0013 8000", "verified": "1"})
    assert done.status_code == 302
    person = db.get(User, acme_id, populate_existing=True)
    assert person.mobile == "13800138000" and person.mobile_verified_at is not None
    assert notify.verified_mobile(person) == "13800138000"
    db.rollback()
    page = client.get(f"/admin/users/{acme_id}").get_data(as_text=True)
    assert 'value="13800138000"' in page and "已于" in page
    refused = client.post(f"/admin/users/{acme_id}/mobile",
                          data={"csrf_token": token, "mobile": "0352-1234567", "verified": "1"})
    assert refused.status_code == 400
    assert db.get(User, acme_id, populate_existing=True).mobile == "13800138000"
    db.rollback()
    alice, alice_token = as_user("alice")
    assert alice.post(f"/admin/users/{acme_id}/mobile",
                      data={"csrf_token": alice_token, "mobile": ""}).status_code == 403


def test_one_click_unsubscribe_switches_email_off_without_a_login(app, world, db):
    alice = world["users"]["alice"]
    alice.notify_email = "digest"
    path = notify.unsubscribe_path(alice)
    db.commit()
    client = app.test_client()
    # Opening the link only asks (a mail scanner must not unsubscribe anyone).
    page = client.get(path)
    assert page.status_code == 200 and "确认退订" in page.get_data(as_text=True)
    assert db.scalar(select(User.notify_email).where(User.id == alice.id)) == "digest"
    db.rollback()
    # The mail client's one-click POST (RFC 8058) carries no CSRF token.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.get_data(as_text=True) and "已退订" in done.get_data(as_text=True)
    assert db.scalar(select(User.notify_email).where(User.id == alice.id)) == "off"
    db.rollback()
    for wrong in ("/unsubscribe/" + "x" * 43, "/unsubscribe/short", "/unsubscribe/" + "é" * 30):
        assert client.post(wrong).status_code == 404
        assert client.get(wrong).status_code == 404

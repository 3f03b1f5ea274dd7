"""In-app notifications, 督办 notices in the inbox, and failed deliveries for admins."""

from __future__ import annotations

from sqlalchemy import select

from tests import factories as f
from workflow.core import operations as ops
from workflow.core import supervision
from workflow.models import Notification, OutboxMessage, SupervisionNotice


def survey(db, world):
    return f.task(world["project"], "u01_survey")


def claimed_by_alice(db, world, clock):
    task = survey(db, world)
    ops.claim_task(db, task.id, actor=world["users"]["alice"], now=clock.moment)
    db.commit()
    return task


def test_the_enterprise_is_told_when_its_item_is_accepted_and_reads_it(as_user, world, db, clock):
    task = claimed_by_alice(db, world, clock)
    alice, token = as_user("alice")
    alice.post(f"/tasks/{task.id}/start", data={"csrf_token": token})
    client, token = as_user("acme")
    page = client.get("/notifications").get_data(as_text=True)
    assert "地形图测绘" in page and 'class="unread"' in page
    unread = db.scalars(select(Notification).where(
        Notification.user_id == world["users"]["acme"].id, Notification.read_at.is_(None))).all()
    db.commit()
    assert unread
    badge = client.get("/portal").get_data(as_text=True)
    assert f'<span class="badge ">{len(unread)}</span>' in badge
    client.post("/notifications/read", data={"csrf_token": token, "all": "1"})
    assert 'class="unread"' not in client.get("/notifications").get_data(as_text=True)


def test_marking_someone_elses_notification_changes_nothing(as_user, world, db, clock):
    task = claimed_by_alice(db, world, clock)
    ops.start_task(db, task.id, actor=world["users"]["alice"], now=clock.moment)
    db.commit()
    theirs = db.scalar(select(Notification).where(
        Notification.user_id == world["users"]["acme"].id))
    db.commit()
    client, token = as_user("other")
    client.post("/notifications/read", data={"csrf_token": token, "id": str(theirs.id)})
    assert db.get(Notification, theirs.id, populate_existing=True).read_at is None
    db.commit()


def test_a_notice_shows_in_the_inbox_until_the_addressee_answers(as_user, world, db, clock):
    task = claimed_by_alice(db, world, clock)
    notice = supervision.issue_notice(db, task.id, world["users"]["sup"], "请说明测绘进度", clock.moment)
    db.commit()
    client, token = as_user("alice")
    assert f'data-notice="{notice.id}"' in client.get("/inbox").get_data(as_text=True)

    bob, bob_token = as_user("bob")
    response = bob.post(f"/notices/{notice.id}/report", data={"csrf_token": bob_token,
                                                               "report": "not mine"})
    assert response.status_code == 403

    client.post(f"/notices/{notice.id}/acknowledge", data={"csrf_token": token})
    response = client.post(f"/notices/{notice.id}/report", data={"csrf_token": token, "report": ""})
    assert response.status_code == 400
    client.post(f"/notices/{notice.id}/report",
                data={"csrf_token": token, "report": "已完成外业测量，下周报送"})
    stored = db.get(SupervisionNotice, notice.id, populate_existing=True)
    db.commit()
    assert stored.acknowledged_at and stored.closed_at and "外业" in stored.report
    assert f'data-notice="{notice.id}"' not in client.get("/inbox").get_data(as_text=True)


def test_admins_see_failed_deliveries_and_can_retry(as_user, world, db, clock):
    row = OutboxMessage(channel="email", recipient="a@example.org", subject="【临期】测试",
                        body="x", dedupe_key="email:test:u1", status="failed", attempts=6,
                        next_attempt_at=clock.moment, last_error="451 try later",
                        created_at=clock.moment)
    db.add(row)
    db.commit()
    client, token = as_user("admin")
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert f'data-delivery="{row.id}"' in page and "451 try later" in page
    client.post(f"/admin/deliveries/{row.id}/retry", data={"csrf_token": token})
    stored = db.get(OutboxMessage, row.id, populate_existing=True)
    db.commit()
    assert (stored.status, stored.attempts) == ("pending", 0)
    agent, _ = as_user("alice")
    assert agent.get("/admin/deliveries").status_code == 403

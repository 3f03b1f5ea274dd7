"""One rule for every time shown: the zone's (Asia/Shanghai), whatever the
database hands back (issue 12, 3: the task page's history, /notifications and
the audit page showed UTC, eight hours off)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from workflow.core import operations as ops
from workflow.models import AuditEvent, ItemTask, Notification, User

LATE = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 07:30 on 3 March in the zone


def test_notifications_history_and_audit_show_the_zones_time(as_user, world, db):
    lead = db.scalars(select(User).where(User.username == "lead")).one()
    alice = db.scalars(select(User).where(User.username == "alice")).one()
    task = db.scalars(select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                             ItemTask.state == "ready")).first()
    ops.assign_task(db, task.id, alice, actor=lead, now=LATE)
    db.commit()
    assert db.scalars(select(Notification).where(Notification.user_id == alice.id)).first()
    event = db.scalars(select(AuditEvent).where(AuditEvent.task_id == task.id)
                       .order_by(AuditEvent.seq.desc())).first()
    stored = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
    assert stored == LATE
    code, task_id = world["project"].code, task.id
    db.rollback()  # the app reads next (SQLite: one writer)
    client, _token = as_user("alice")
    for path in ("/notifications", f"/tasks/{task_id}", f"/projects/{code}/audit"):
        html = client.get(path).get_data(as_text=True)
        assert "2026-03-03 07:30" in html, path
        assert "2026-03-02 23:30" not in html, path

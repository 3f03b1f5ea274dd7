"""Two sweeps at once on PostgreSQL (two scheduler processes by mistake, or a
manual ``daiban sweep`` during the scheduler's): every reminder and
escalation is recorded exactly once, with exactly one set of notifications,
notices and outbox rows."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import func, select, text

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from tests.races import at_once
from workflow.core import deadlines, notify
from workflow.core.operations import claim_task
from workflow.kernel.config import Channels
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import Notification, OutboxMessage, Reminder, SupervisionNotice, User

pytestmark = pytest.mark.postgres
CHANNELS = notify.session_info(Channels(email=True, webhook=True))
PROJECTS = 6


@pytest.fixture
def overdue_db():
    """Projects whose two root items are both red for over a month on 2026-05-06."""
    name = f"daiban_sweep_race_{os.getpid()}"  # per run: concurrent runs never collide
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        lead = f.user(session, "lead", "lead", groups=("equipment",))
        alice = f.user(session, "alice", "agent", groups=("equipment",))
        f.user(session, "bob", "agent", groups=("equipment",))
        f.user(session, "sup", "supervisor")
        f.user(session, "boss", "admin")
        for user in session.scalars(select(User)):
            user.email = f"{user.username}@zone.example"
        for _ in range(PROJECTS):
            project = f.project(session, at("2026-03-02"), lead=lead)
            claim_task(session, f.task(project, "u01_survey").id, actor=alice, now=at("2026-03-02"))
    yield factory
    engine.dispose()
    drop_pg_database(name)


def test_two_sweeps_at_once_record_each_reminder_once(overdue_db):
    factory = overdue_db
    now = at("2026-05-06")
    results = at_once(factory, lambda session: deadlines.sweep(session, now=now), info=CHANNELS)
    assert all(isinstance(r, list) for r in results), results
    recorded = results[0] + results[1]
    keys = [(r.task_id, r.level) for r in recorded]
    assert len(keys) == len(set(keys))  # neither thread repeated the other's
    tasks = 2 * PROJECTS  # the survey and the filing of each project
    levels = ("yellow", "red", "escalate_lead", "escalate_supervisor", "escalate_leadership")
    assert sorted({level for _, level in keys}) == sorted(levels)
    assert len(keys) == tasks * len(levels)

    with factory() as session:
        per_key = session.execute(
            select(Reminder.task_id, Reminder.level, Reminder.due_on, func.count())
            .group_by(Reminder.task_id, Reminder.level, Reminder.due_on)).all()
        assert len(per_key) == tasks * len(levels)
        assert {row[3] for row in per_key} == {1}
        told = sum(len(r.recipients) for r in recorded)
        assert session.scalar(select(func.count()).select_from(Notification)) == told
        # Everybody has an address and both channels are on: one mail and one webhook each.
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2 * told
        # One lead's 督办, one to the supervisor and one to the admin per task.
        assert session.scalar(select(func.count()).select_from(SupervisionNotice)) == 3 * tasks

    with transaction(factory, info=CHANNELS) as session:
        assert deadlines.sweep(session, now=now) == []


def test_a_sweep_blocked_behind_another_records_nothing_once_it_gets_through(overdue_db):
    """Deterministic variant: the second sweep has read its candidates and waits
    on the first one's project lock; when the first commits, every insert of the
    second meets the unique key and does nothing."""
    factory = overdue_db
    now = at("2026-05-06")
    first = factory(info=CHANNELS)
    recorded = deadlines.sweep(first, now=now)  # holds its project locks, not committed
    first_pid = first.scalar(text("SELECT pg_backend_pid()"))
    second_result: list[object] = []

    def second():
        with factory(info=CHANNELS) as session:
            try:
                second_result.append(deadlines.sweep(session, now=now))
                session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                second_result.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    # Poll the server (no timer): go on once the second sweep waits on our lock.
    deadline = time.monotonic() + 20
    with factory() as observer:
        while not observer.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": first_pid}):
            observer.rollback()
            assert time.monotonic() < deadline, "the second sweep never waited on the first"
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert len(recorded) == 2 * PROJECTS * 5
    assert second_result == [[]]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == len(recorded)
        assert session.scalar(select(func.count()).select_from(Notification)) == sum(
            len(r.recipients) for r in recorded)

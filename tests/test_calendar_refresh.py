"""A published holiday schedule reaches the stored dates: the open tasks whose
dates were provisional are re-derived, each change is audited, a moved due date
is notified once, and nothing else changes, however often it runs.

The 2027 notice here is made up (the real one is not out): 春节 02-05..02-12
off and Saturday 02-20 worked, where the provisional rule had 除夕..初三 plus
补假 on 02-09 and 02-10 and no make-up Saturday.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from tests.races import at_once
from workflow.core import calendar_refresh, notify
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.config import Channels
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import (
    AuditEvent,
    CalendarSchedule,
    ItemTask,
    Notification,
    OutboxMessage,
    Pause,
    ZoneAuditEvent,
)

NOTICE_2027 = [("元旦", date(2027, 1, 1), True),
               *[("春节", date(2027, 2, 5) + timedelta(days=k), True) for k in range(8)],
               ("春节", date(2027, 2, 20), False)]


@pytest.fixture(autouse=True)
def holiday_dir(tmp_path, monkeypatch):
    """An empty DAIBAN_HOLIDAYS_DIR: 2027 is provisional until a test publishes it."""
    folder = tmp_path / "holidays"
    folder.mkdir()
    monkeypatch.setenv(clock.HOLIDAYS_ENV, str(folder))
    clock.reset_cache()
    yield folder
    monkeypatch.delenv(clock.HOLIDAYS_ENV)
    clock.reset_cache()


def publish_2027(folder) -> None:
    """The admin drops the notice in; the engine notices it by itself (refresh)."""
    days = [{"name": name, "date": day.isoformat(), "isOffDay": off} for name, day, off in NOTICE_2027]
    (folder / "2027.json").write_text(json.dumps({"year": 2027, "days": days}, ensure_ascii=False),
                                      encoding="utf-8")


@pytest.fixture
def team(session):
    return {"lead": f.user(session, "lead", "lead", groups=("equipment",)),
            "alice": f.user(session, "alice", "agent", groups=("equipment",)),
            "bob": f.user(session, "bob", "agent", groups=("equipment",))}


def recomputed_events(session, task_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.task_id == task_id, AuditEvent.action == calendar_refresh.ACTION)))


def moved_notices(session) -> list[tuple[int, int]]:
    rows = session.execute(select(Notification.user_id, Notification.task_id)
                           .where(Notification.kind == "due_recomputed")).all()
    return sorted((user_id, task_id) for user_id, task_id in rows)


def test_recompute_changes_exactly_the_open_provisional_tasks(session, team, holiday_dir):
    """Released Mon 2027-01-25 (does not count); every item still with the
    agents, on its service clock. The survey's 10 working days, provisionally:
    01-26..29 (4), 02-01..04 (8), 02-05 除夕, 02-08 初三, 02-09 and 02-10 补假,
    02-11 (9), 02-12 (10) → 02-12. Under the notice: 02-05..12 off, 02-15 (9),
    02-16 (10) → 02-16. The filing's 2 days (01-26, 01-27) stay 01-27 but are
    no longer provisional."""
    alice, bob = team["alice"], team["bob"]
    mine = f.project(session, at("2027-01-25"), lead=team["lead"])
    queued = f.project(session, at("2027-01-25"), lead=team["lead"])
    settled = f.project(session, at("2026-03-02"), lead=team["lead"])  # 2026: published
    survey, filing = f.task(mine, "u01_survey"), f.task(mine, "project_filing")
    ops.claim_task(session, survey.id, actor=alice, now=at("2027-01-25"))
    closed = f.task(queued, "project_filing")
    ops.terminate_task(session, closed.id, actor=None, now=at("2027-01-26"), reason="测试：不再办理")
    queued_survey = f.task(queued, "u01_survey")
    assert (survey.due_on, survey.dates_provisional) == (date(2027, 2, 12), True)
    assert (filing.due_on, filing.dates_provisional) == (date(2027, 1, 27), True)
    assert closed.dates_provisional and not f.task(settled, "u01_survey").dates_provisional
    untouched = {t.id: (t.due_on, t.warn_on, t.version) for t in settled.tasks + [closed]}
    session.flush()
    # The admin's panel counts the open ones only (the terminated filing not),
    # and says "more than" past its cap rather than reading on.
    waiting = calendar_refresh.provisional_task_count(session)
    assert (waiting.value, waiting.exact) == (3, True)
    capped = calendar_refresh.provisional_task_count(session, cap=2)
    assert (capped.value, capped.exact, str(capped)) == (2, False, "2+")

    publish_2027(holiday_dir)
    outcome = calendar_refresh.recompute(session, now=at("2027-01-27"))

    assert outcome.recorded and outcome.checked == 3
    by_task = {c.task_id: c for c in outcome.changes}
    assert set(by_task) == {survey.id, filing.id, queued_survey.id}
    assert (survey.due_on, survey.due_provisional, survey.dates_provisional) == (
        date(2027, 2, 16), False, False)
    assert (filing.due_on, filing.dates_provisional) == (date(2027, 1, 27), False)
    assert queued_survey.due_on == date(2027, 2, 16)
    assert by_task[survey.id].line() == (f"calendar {mine.code} u01_survey due 2027-02-12 -> "
                                         "2027-02-16 -> alice")
    assert by_task[filing.id].line() == f"calendar {mine.code} project_filing due 2027-01-27 unchanged"
    assert outcome.moved == 2
    for task in settled.tasks + [closed]:
        assert (task.due_on, task.warn_on, task.version) == untouched[task.id]
        assert recomputed_events(session, task.id) == []
    # One audit event per changed task, naming the old and new values.
    [event] = recomputed_events(session, survey.id)
    assert event.data["changed"]["due_on"] == ["2027-02-12", "2027-02-16"]
    assert event.data["changed"]["dates_provisional"] == [True, False]
    assert event.public and event.actor_id is None
    assert event.data["due_on"] == "2027-02-16"  # the enterprise's page shows the new limit
    assert len(recomputed_events(session, filing.id)) == 1
    # The moved due dates are told: the assignee, or the queue's agents.
    assert moved_notices(session) == sorted([(alice.id, survey.id), (alice.id, queued_survey.id),
                                             (bob.id, queued_survey.id)])
    body = session.scalar(select(Notification.body).where(Notification.task_id == survey.id,
                                                          Notification.kind == "due_recomputed"))
    assert "2027-02-12 调整为 2027-02-16" in body

    assert calendar_refresh.provisional_task_count(session).value == 0
    again = calendar_refresh.recompute(session, now=at("2027-01-28"))
    assert (again.recorded, again.checked, again.changes) == (False, 0, [])
    assert len(recomputed_events(session, survey.id)) == 1 and len(moved_notices(session)) == 3


def test_a_pause_counted_on_a_provisional_year_is_recounted(session, team, holiday_dir):
    """Paused Wed 2027-02-03 to Wed 02-17 (补正, on the service clock: the item
    is with the agent). Provisionally 6 working days: 02-04, 02-11, 02-12,
    02-15, 02-16, 02-17; the service due date 02-12 + 6 = 02-22 (02-15..19,
    02-22). Under the notice 4: 02-04, 02-15..17; due 02-16 + 4 = Sat 02-20
    (02-17, 02-18, 02-19 and the make-up Saturday)."""
    alice = team["alice"]
    project = f.project(session, at("2027-01-25"), lead=team["lead"])
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=at("2027-01-25"))
    ops.start_task(session, survey.id, actor=alice, now=at("2027-01-25"))
    ops.request_materials(session, survey.id, [{"code": "plan", "name": "宗地界址图"}],
                          deadline=date(2027, 3, 1), actor=alice, now=at("2027-02-03"))
    company_user = f.user(session, "ent", "enterprise", company=project.enterprise)
    ops.supply_materials(session, survey.id, actor=company_user, now=at("2027-02-17"))
    assert (survey.service_paused_days, survey.due_on) == (6, date(2027, 2, 22))

    publish_2027(holiday_dir)
    outcome = calendar_refresh.recompute(session, now=at("2027-02-18"))

    assert [c.task_id for c in outcome.changes if c.moved] == [survey.id]
    assert (survey.service_paused_days, survey.due_on) == (4, date(2027, 2, 20))
    assert session.scalar(select(Pause.days).where(Pause.task_id == survey.id)) == 4
    [event] = recomputed_events(session, survey.id)
    assert event.data["changed"]["service_paused_days"] == [6, 4]


def test_the_scheduler_check_acts_once_per_schedule_change(session, team, holiday_dir):
    alice = team["alice"]
    project = f.project(session, at("2027-01-25"), lead=team["lead"])
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=at("2027-01-25"))

    # The first check records the schedule in force; the dates already follow it.
    assert calendar_refresh.check(session, now=at("2027-01-25", 10)) == []
    assert calendar_refresh.check(session, now=at("2027-01-25", 11)) == []
    assert session.scalar(select(func.count(CalendarSchedule.id))) == 1

    publish_2027(holiday_dir)
    lines = calendar_refresh.check(session, now=at("2027-01-26"))
    assert f"calendar {project.code} u01_survey due 2027-02-12 -> 2027-02-16 -> alice" in lines
    assert calendar_refresh.check(session, now=at("2027-01-26", 10)) == []
    rows = session.scalars(select(CalendarSchedule).order_by(CalendarSchedule.id)).all()
    assert [r.via for r in rows] == ["scheduler", "scheduler"]
    assert rows[1].previous_id == rows[0].id and rows[1].published_years == "2004–2027"
    assert (rows[1].tasks_checked, rows[1].tasks_changed) == (2, 2)  # the survey and the filing
    logged = session.scalar(select(ZoneAuditEvent).where(
        ZoneAuditEvent.action == "calendar.schedule_in_force").order_by(ZoneAuditEvent.id.desc()))
    assert logged.data["tasks_changed"] == 2 and logged.data["files"][0][0] == 2027
    assert moved_notices(session) == [(alice.id, survey.id)]

    # The file withdrawn: a schedule change again, recorded; but only provisional
    # dates are recomputed, and none is left.
    (holiday_dir / "2027.json").unlink()
    assert calendar_refresh.check(session, now=at("2027-01-27")) == []
    assert session.scalar(select(func.count(CalendarSchedule.id))) == 3


def test_a_provisional_task_is_recomputed_when_the_provisional_rule_changes(session, team):
    """A database upgraded from before 补假 kept provisional due dates the
    old rule computed (here 02-17 for the survey). The first check after the
    upgrade records the schedule and re-derives them: the survey's service
    clock, 10 working days from 01-25 with 02-09 and 02-10 as 补假, ends 02-12."""
    project = f.project(session, at("2027-01-25"), lead=team["lead"])
    survey = f.task(project, "u01_survey")
    survey.due_on = date(2027, 2, 17)  # the old rule's date, without 补假
    session.flush()
    lines = calendar_refresh.check(session, now=at("2027-01-26"))
    assert lines == [f"calendar {project.code} u01_survey due 2027-02-17 -> 2027-02-12 (still provisional)"
                     " -> alice, bob"]
    assert survey.due_on == date(2027, 2, 12) and survey.dates_provisional


# -- two scheduler processes at once (PostgreSQL) ------------------------------------------------

@pytest.mark.postgres
def test_two_checks_at_once_recompute_and_notify_once(holiday_dir):
    name = f"calendar_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    info = notify.session_info(Channels(email=True))
    try:
        with transaction(factory) as session:
            lead = f.user(session, "lead", "lead", groups=("equipment",))
            alice = f.user(session, "alice", "agent", groups=("equipment",))
            alice.email = "alice@zone.example"
            for _ in range(4):
                project = f.project(session, at("2027-01-25"), lead=lead)
                ops.claim_task(session, f.task(project, "u01_survey").id, actor=alice,
                               now=at("2027-01-25"))
        with transaction(factory) as session:
            assert calendar_refresh.check(session, now=at("2027-01-25", 10)) == []
        publish_2027(holiday_dir)

        results = at_once(factory, lambda session: calendar_refresh.check(
            session, now=at("2027-01-26")), info=info)
        assert all(isinstance(r, list) for r in results), results
        assert sorted(len(r) for r in results) == [0, 8]  # one process did all of it
        with factory() as session:
            assert session.scalar(select(func.count(CalendarSchedule.id))) == 2
            assert session.scalar(select(func.count(Notification.id)).where(
                Notification.kind == "due_recomputed")) == 4
            assert session.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.recipient == "alice@zone.example",
                OutboxMessage.subject.like("【时限调整】%"))) == 4
            assert session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.action == calendar_refresh.ACTION)) == 8
            assert not session.scalar(select(func.count(ItemTask.id)).where(
                ItemTask.dates_provisional.is_(True)))
    finally:
        engine.dispose()
        drop_pg_database(name)

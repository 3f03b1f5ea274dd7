"""Deadline reminders, graded warnings and the 13710 escalation, with an
injected clock (each test runs on SQLite and PostgreSQL).

Day counts are worked out by hand in the comments from the State Council's
2026 notice: 春节 02-15..02-23 off (Saturday 02-14 and 02-28 worked); 清明
04-04..04-06; 中秋 09-25..09-27 (Sunday 09-20 worked); 国庆 10-01..10-07
(Saturday 10-10 worked).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow.core import audit, deadlines, notify, staffnotices, supervision
from workflow.core import operations as ops
from workflow.kernel.config import Channels, DeadlinePolicy
from workflow.kernel.errors import InvalidTransition, NotPermitted, ValidationError
from workflow.kernel.moments import utc
from workflow.models import Notification, OutboxMessage, Reminder, SupervisionNotice


@pytest.fixture
def team(session):
    """An equipment-group team, a supervisor and the zone's leadership (admin)."""
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    bob = f.user(session, "bob", "agent", groups=("equipment",), department="planning")
    carol = f.user(session, "carol", "agent", groups=("equipment",), away=True)
    olga = f.user(session, "olga", "agent", groups=("food",))
    sup = f.user(session, "sup", "supervisor")
    boss = f.user(session, "boss", "admin")
    return {"lead": lead, "alice": alice, "bob": bob, "carol": carol, "olga": olga, "sup": sup,
            "boss": boss}


def survey_claimed_by(session, team, day: str, agent: str = "alice"):
    """A project mandated on ``day`` (its survey item is released that day: the
    service clock runs), the survey claimed by ``agent``."""
    project = f.project(session, at(day), lead=team["lead"])
    task = f.task(project, "u01_survey")
    ops.claim_task(session, task.id, actor=team[agent], now=at(day))
    return project, task


def survey_accepted_on(session, team, day: str, agent: str = "alice"):
    """As ``survey_claimed_by``, then prepared, submitted and accepted (受理) by
    the department the same day: the statutory clock runs from ``day`` on the
    survey's legal limit of 15 working days."""
    project, task = survey_claimed_by(session, team, day, agent)
    ops.start_task(session, task.id, actor=team[agent], now=at(day))
    ops.submit_task(session, task.id, actor=team[agent], now=at(day))
    ops.accept_task(session, task.id, actor=team[agent], now=at(day))
    assert task.clock == "statutory" and task.accepted_on == date.fromisoformat(day)
    return project, task


def walk(session, first: date, last: date, task_id: int) -> dict[str, deadlines.Recorded]:
    """Sweep every morning from ``first`` to ``last``; return, per level, what was
    recorded for the task and on which day. Each sweep runs twice: the second
    one, at the same moment, must record nothing at all."""
    found: dict[str, tuple[date, deadlines.Recorded]] = {}
    day = first
    while day <= last:
        now = at(day.isoformat())
        for entry in deadlines.sweep(session, now=now):
            if entry.task_id == task_id:
                assert entry.level not in found, f"{entry.level} recorded twice"
                found[entry.level] = (day, entry)
        assert deadlines.sweep(session, now=now) == []
        day += timedelta(days=1)
    return found


def kinds_for(session, user, task=None) -> list[str]:
    """The deadline messages ``user`` got (not the staff notices of the same acts)."""
    query = select(Notification.kind).where(Notification.user_id == user.id,
                                            Notification.kind.not_in(staffnotices.KINDS))
    if task is not None:
        query = query.where(Notification.task_id == task.id)
    return sorted(session.scalars(query))


# -- the walk through every level ------------------------------------------------------------

def test_green_yellow_red_and_every_escalation_across_the_spring_festival(session, team):
    project, task = survey_accepted_on(session, team, "2026-02-02")
    # 15 working days after Mon 02-02: 3,4,5,6, 9,10,11,12,13, Sat 14 (worked) = 10,
    # 春节 15–23 off, 24,25,26,27 = 14, Sat 28 (worked) = 15.
    assert task.due_on == date(2026, 2, 28)
    found = walk(session, date(2026, 2, 2), date(2026, 4, 3), task.id)
    first = {level: day for level, (day, _) in found.items()}
    assert first == {
        # 80 % of 15 = 12 working days used on Wed 02-25 (2 left would be Thu 02-26).
        "yellow": date(2026, 2, 25),
        # The light is red the day after the due date, a Sunday.
        "red": date(2026, 3, 1),
        # Red for 3 working days: Mon 03-02, Tue 03-03, Wed 03-04.
        "escalate_lead": date(2026, 3, 4),
        # 7 working days: 03-02..03-06 (5), 03-09 (6), 03-10 (7).
        "escalate_supervisor": date(2026, 3, 10),
        # One month after 02-28 is Sat 03-28, not worked: the next working day, Mon 03-30.
        "escalate_leadership": date(2026, 3, 30),
    }
    recipients = {level: entry.recipients for level, (_, entry) in found.items()}
    assert recipients == {
        "yellow": ("alice",),
        "red": ("alice", "lead_eq"),
        "escalate_lead": ("alice", "lead_eq"),
        "escalate_supervisor": ("sup", "alice", "lead_eq"),
        "escalate_leadership": ("boss", "alice", "lead_eq"),
    }
    assert not any(entry.catch_up for _, entry in found.values())
    assert kinds_for(session, team["alice"], task) == [
        "escalation", "escalation", "notice", "red", "yellow"]
    assert kinds_for(session, team["lead"], task) == ["escalation", "escalation", "escalation", "red"]
    assert kinds_for(session, team["bob"], task) == []

    notices = session.scalars(select(SupervisionNotice).where(SupervisionNotice.task_id == task.id)
                              .order_by(SupervisionNotice.id)).all()
    assert [(n.level, n.addressee.username, n.issued_by_id) for n in notices] == [
        ("lead", "alice", team["lead"].id),  # in the lead handler's name
        ("supervisor", "sup", None),
        ("leadership", "boss", None),
    ]
    # Acknowledge the same working day; report within 3 working days.
    assert [(n.ack_due, n.report_due) for n in notices] == [
        (date(2026, 3, 4), date(2026, 3, 9)),
        (date(2026, 3, 10), date(2026, 3, 13)),
        (date(2026, 3, 30), date(2026, 4, 2)),
    ]
    assert audit.verify(session, [project.code]) == []


def test_every_escalation_across_national_day(session, team):
    project, task = survey_accepted_on(session, team, "2026-09-09")
    # 15 working days after Wed 09-09: 10,11, 14–18 (7), Sun 20 (worked) = 8, 21–24 = 12,
    # 中秋 25–27 off, 28,29,30 = 15.
    assert task.due_on == date(2026, 9, 30)
    found = walk(session, date(2026, 9, 9), date(2026, 11, 2), task.id)
    assert {level: day for level, (day, _) in found.items()} == {
        "yellow": date(2026, 9, 24),  # 12 of 15 working days used: Thu 09-24
        "red": date(2026, 10, 1),  # the first day of the holiday: the light is red all week
        # 国庆 10-01..10-07 off: Thu 08 (1), Fri 09 (2), Sat 10 (worked, 3).
        "escalate_lead": date(2026, 10, 10),
        # … Mon 12 (4), 13 (5), 14 (6), Thu 15 (7).
        "escalate_supervisor": date(2026, 10, 15),
        "escalate_leadership": date(2026, 10, 30),  # 09-30 + 1 month, a Friday
    }
    notice = session.scalar(select(SupervisionNotice).where(
        SupervisionNotice.task_id == task.id, SupervisionNotice.level == "lead"))
    # Issued on the make-up Saturday: acknowledge that day; report by Wed 10-14.
    assert (notice.ack_due, notice.report_due) == (date(2026, 10, 10), date(2026, 10, 14))


def test_thresholds_are_configuration(session, team):
    _, task = survey_accepted_on(session, team, "2026-03-02")  # due Mon 03-23
    policy = DeadlinePolicy(lead_after_working_days=1, supervisor_after_working_days=2)
    levels = [r.level for r in deadlines.sweep(session, now=at("2026-03-25"), policy=policy)
              if r.task_id == task.id]
    # Red since 03-24; 1 working day after the due date is 03-24, 2 is 03-25.
    assert levels == ["yellow", "red", "escalate_lead", "escalate_supervisor"]


# -- exactly once ------------------------------------------------------------------------------

def test_a_second_sweep_at_the_same_time_records_nothing(session, team):
    _, task = survey_accepted_on(session, team, "2026-03-02")
    first = deadlines.sweep(session, now=at("2026-03-27"))
    assert {r.level for r in first if r.task_id == task.id} == {"yellow", "red", "escalate_lead"}
    notifications = session.scalar(select(func.count()).select_from(Notification))
    assert deadlines.sweep(session, now=at("2026-03-27")) == []
    assert deadlines.sweep(session, now=at("2026-03-27", 17)) == []
    assert session.scalar(select(func.count()).select_from(Notification)) == notifications
    counts = session.execute(select(Reminder.level, func.count()).where(Reminder.task_id == task.id)
                             .group_by(Reminder.level)).all()
    assert dict(counts) == {"yellow": 1, "red": 1, "escalate_lead": 1}


def test_an_extension_after_yellow_warns_again_for_the_new_due_date_but_never_twice(session, team):
    project, task = survey_accepted_on(session, team, "2026-03-02")
    assert (task.due_on, task.warn_on) == (date(2026, 3, 23), date(2026, 3, 18))
    assert [r.level for r in deadlines.sweep(session, now=at("2026-03-18"))
            if r.task_id == task.id] == ["yellow"]
    request = ops.request_extension(session, task.id, 5, reason="专家评审延期", actor=team["alice"],
                                    now=at("2026-03-18", 10))
    ops.decide_extension(session, request.id, approve=True, actor=team["lead"],
                         now=at("2026-03-18", 11))
    # +5 working days: due Mon 03-30; yellow again at 80 % of 20 = 16 days used, Tue 03-24.
    assert (task.due_on, task.warn_on) == (date(2026, 3, 30), date(2026, 3, 24))
    found = walk(session, date(2026, 3, 18), date(2026, 3, 30), task.id)
    assert {level: day for level, (day, _) in found.items()} == {"yellow": date(2026, 3, 24)}
    yellows = session.execute(select(Reminder.due_on).where(
        Reminder.task_id == task.id, Reminder.level == "yellow").order_by(Reminder.due_on)).scalars()
    assert list(yellows) == [date(2026, 3, 23), date(2026, 3, 30)]
    assert kinds_for(session, team["alice"], task) == ["yellow", "yellow"]


def test_after_a_week_of_downtime_one_sweep_catches_up_once(session, team):
    _, task = survey_accepted_on(session, team, "2026-03-02")  # due Mon 03-23, yellow Wed 03-18
    walk(session, date(2026, 3, 2), date(2026, 3, 17), task.id)
    # The scheduler is down from Wed 03-18 to Thu 03-26 and comes back on Fri 03-27.
    caught = [r for r in deadlines.sweep(session, now=at("2026-03-27")) if r.task_id == task.id]
    assert [(r.level, r.reached_on, r.catch_up) for r in caught] == [
        ("yellow", date(2026, 3, 18), True),
        ("red", date(2026, 3, 24), True),
        ("escalate_lead", date(2026, 3, 26), True),  # 3 working days after 03-23
    ]
    rows = session.scalars(select(Reminder).where(Reminder.task_id == task.id)).all()
    assert all(r.catch_up for r in rows) and len(rows) == 3
    assert deadlines.sweep(session, now=at("2026-03-27", 9)) == []
    assert [r.level for r in deadlines.sweep(session, now=at("2026-03-30"))] == []  # nothing new
    # Catch-up tells the current state once: alice hears only of the lead's
    # 督办单 (the most advanced level), the lead only of the escalation; the
    # yellow warning for a date already past tells nobody.
    assert kinds_for(session, team["alice"], task) == ["notice"]
    assert kinds_for(session, team["lead"], task) == ["escalation"]
    assert [r.recipients for r in caught] == [(), (), ("alice", "lead_eq")]


def test_after_downtime_each_person_gets_at_most_one_email_per_task_and_no_stale_yellow(
        session, team):
    """The reported burst: four emails to one agent in the same second, the
    yellow one saying "还剩 0 个工作日" for a date already past. Catch-up now
    mails each person the task's current state once."""
    session.info.update(notify.session_info(Channels(email=True)))
    for person in team.values():
        person.email = f"{person.username}@zone.example"
    _, task = survey_accepted_on(session, team, "2026-03-02")  # due 03-23
    # Down from before the yellow day (03-18) until after the supervisor's turn (03-02 + 7).
    caught = [r for r in deadlines.sweep(session, now=at("2026-04-07")) if r.task_id == task.id]
    assert [r.level for r in caught] == ["yellow", "red", "escalate_lead", "escalate_supervisor"]
    swept = utc(at("2026-04-07"))  # as stored (SQLite keeps naive UTC)
    told = session.execute(
        select(Notification.user_id, Notification.task_id, func.count())
        .where(Notification.created_at == swept)
        .group_by(Notification.user_id, Notification.task_id)).all()
    assert told and max(n for _, _, n in told) == 1, told  # one per person and task
    told_of_survey = {user_id for user_id, task_id, _ in told if task_id == task.id}
    assert {team[name].id for name in ("alice", "lead", "sup")} <= told_of_survey
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                        OutboxMessage.created_at == swept)).all()
    assert len(mails) == len(told)  # and each of them once by email
    assert not [m for m in mails if "黄灯" in m.subject or "还剩" in m.body]
    # Every level is recorded once and every 督办单 issued, though not every one spoke.
    assert session.scalar(select(func.count()).select_from(Reminder)
                          .where(Reminder.task_id == task.id)) == 4
    levels = set(session.scalars(select(SupervisionNotice.level)
                                 .where(SupervisionNotice.task_id == task.id)))
    assert levels == {"lead", "supervisor"}


def test_a_yellow_warning_on_time_still_speaks(session, team):
    session.info.update(notify.session_info(Channels(email=True)))
    team["alice"].email = "alice@zone.example"
    _, task = survey_accepted_on(session, team, "2026-03-02")  # yellow from 03-18
    [entry] = [r for r in deadlines.sweep(session, now=at("2026-03-18")) if r.task_id == task.id]
    assert (entry.level, entry.recipients) == ("yellow", ("alice",))
    [mail] = session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == "email", OutboxMessage.subject.startswith("【黄灯预警】"))).all()
    assert "还剩 3 个工作日" in mail.body


def test_an_unassigned_items_yellow_goes_to_the_group_queue(session, team):
    project = f.project(session, at("2026-03-02"), lead=team["lead"])
    task = f.task(project, "u01_survey")  # left in the queue
    found = walk(session, date(2026, 3, 2), date(2026, 3, 24), task.id)
    # Active agents of the group who can claim it: not carol (away), not olga (food group).
    assert found["yellow"][1].recipients == ("alice", "bob")
    assert found["red"][1].recipients == ("alice", "bob", "lead_eq")


def test_a_paused_task_is_not_warned_and_a_closed_one_no_longer(session, team):
    _, task = survey_claimed_by(session, team, "2026-03-02")
    ops.start_task(session, task.id, actor=team["alice"], now=at("2026-03-02"))
    ops.request_materials(session, task.id, [{"code": "m1", "name": "界址点成果表"}],
                          deadline=date(2026, 4, 30), actor=team["alice"], now=at("2026-03-03"))
    assert [r for r in deadlines.sweep(session, now=at("2026-03-27")) if r.task_id == task.id] == []
    ops.terminate_project(session, task.project_id, actor=team["lead"], now=at("2026-03-27"),
                          reason="企业撤回")
    assert deadlines.sweep(session, now=at("2026-05-06")) == []


# -- the enterprise --------------------------------------------------------------------------

def test_the_enterprise_is_told_acceptance_materials_reminder_completion_and_milestones(session, team):
    session.info.update(notify.session_info(Channels(email=True)))
    company = f.enterprise(session, "左云县示范装备制造有限公司")
    ent = f.user(session, "ent", "enterprise", company=company)
    ent.email = "contact@qiye.example"
    project = f.project(session, at("2026-03-02"), company=company, lead=team["lead"])
    # mandated, approvals begin; the 委托书 issued with the mandate
    assert kinds_for(session, ent) == ["document_issued", "milestone", "milestone"]
    task = f.task(project, "u01_survey")
    alice = team["alice"]
    ops.claim_task(session, task.id, actor=alice, now=at("2026-03-02"))
    ops.start_task(session, task.id, actor=alice, now=at("2026-03-02", 10))
    ops.request_materials(session, task.id, [{"code": "m1", "name": "界址点成果表"},
                                             {"code": "m2", "name": "土地权属证明"}],
                          deadline=date(2026, 3, 13), actor=alice, now=at("2026-03-03"))
    told = {n.kind: n for n in notify.notifications_for(session, ent)}
    # The agent's service clock: 10 working days after 03-02 (the zone's promise).
    assert "代办服务时限至 2026-03-16" in told["item_started"].body
    assert "界址点成果表" in told["materials_requested"].body
    assert "土地权属证明" in told["materials_requested"].body
    assert "2026-03-13" in told["materials_requested"].body

    # Reminded 2 working days before Fri 03-13: Wed 03-11, once.
    def materials_reminders(day):
        return [(r.recipients, r.due_on) for r in deadlines.sweep(session, now=at(day))
                if r.level == "materials_deadline"]

    assert materials_reminders("2026-03-10") == []
    assert materials_reminders("2026-03-11") == [(("ent",), date(2026, 3, 13))]
    assert materials_reminders("2026-03-12") == []

    ops.supply_materials(session, task.id, actor=ent, now=at("2026-03-12"))
    ops.submit_task(session, task.id, actor=alice, now=at("2026-03-12"))
    ops.accept_task(session, task.id, actor=alice, now=at("2026-03-12", 15))
    # The department's statutory clock from its 受理 on 03-12, 15 working days:
    # 13 (1), 16–20 (6), 23–27 (11), 30, 31, 04-01, 04-02 (15).
    accepted = {n.kind: n for n in notify.notifications_for(session, ent)}["item_accepted"]
    assert "已于 2026-03-12 由办理部门受理，法定办理时限至 2026-04-02（部门计时）" in accepted.body
    ops.approve_task(session, task.id, actor=alice, now=at("2026-03-13"), reference="左自然资〔2026〕8号")
    ops.complete_task(session, task.id, actor=alice, now=at("2026-03-13"))
    filing = f.task(project, "project_filing")
    ops.cover_task(session, filing.id, reference="承诺书 2026-017", kind="commitment",
                   actor=team["lead"], now=at("2026-03-13"))
    assert kinds_for(session, ent) == ["document_issued", "item_accepted", "item_covered",
                                       "item_done", "item_started", "materials_deadline",
                                       "materials_requested", "milestone", "milestone"]
    titles = {n.kind: n.title for n in notify.notifications_for(session, ent)}
    assert titles["item_done"].startswith("【已办结】")
    assert titles["item_covered"].startswith("【已免于办理】")
    # Every notification of the enterprise also went to its mailbox (email on).
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == ent.email)).all()
    assert len(mails) == 9 and {m.status for m in mails} == {"pending"}
    # The agents were not told what the enterprise is told (only their own reminders).
    assert set(kinds_for(session, alice)) <= {"yellow", "red", "escalation", "notice"}


def test_notifications_badge_list_and_mark_read_only_own(session, team):
    session.info.update(notify.session_info(Channels()))
    project, task = survey_accepted_on(session, team, "2026-03-02")
    deadlines.sweep(session, now=at("2026-03-24"))  # yellow, red
    alice, lead = team["alice"], team["lead"]
    # A first sweep this late catches up, each task telling its current state once:
    # the survey (alice's): red; the filing (its service clock due 03-04, still
    # queued, so the group's agents are told): that the lead's 督办 went out.
    assert int(notify.unread_count(session, alice)) == 2
    listed = notify.notifications_for(session, alice)
    assert [n.created_at for n in listed] == sorted((n.created_at for n in listed), reverse=True)
    lead_ids = [n.id for n in notify.notifications_for(session, lead)]
    assert notify.mark_read(session, alice, lead_ids, at("2026-03-24", 10)) == 0
    assert int(notify.unread_count(session, lead)) == len(lead_ids)
    assert notify.mark_read(session, alice, [listed.rows[0].id], at("2026-03-24", 10)) == 1
    assert int(notify.unread_count(session, alice)) == 1
    assert len(notify.notifications_for(session, alice, unread_only=True)) == 1
    # No channel configured: in-app only, nothing in the outbox.
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# -- the daily digest --------------------------------------------------------------------------

def test_the_digest_once_per_user_per_working_day_never_on_weekends_or_holidays(session, team):
    project = f.project(session, at("2026-03-31"), lead=team["lead"])  # Tue
    filing = f.task(project, "project_filing")
    ops.claim_task(session, filing.id, actor=team["alice"], now=at("2026-03-31"))
    for step in (ops.start_task, ops.submit_task, ops.accept_task):
        step(session, filing.id, actor=team["alice"], now=at("2026-03-31"))
    # The statutory clock from the 受理 on 03-31, 3 working days: due Fri 04-03;
    # yellow Wed 04-01 (2 left); red from Sat 04-04 (清明 04-04..06).
    assert (filing.due_on, filing.warn_on) == (date(2026, 4, 3), date(2026, 4, 1))
    at_time = time(8, 30)

    def digest(day, hour=9, minute=0):
        moment = at(day, hour).replace(minute=minute)
        return sorted((d.username, d.yellow, d.red) for d in
                      deadlines.send_digests(session, now=moment, at_time=at_time))

    assert digest("2026-04-01", 8, 29) == []  # not yet time
    assert digest("2026-04-01", 8, 30) == [("alice", 1, 0), ("lead_eq", 1, 0)]
    assert digest("2026-04-01", 17) == []  # once a day
    assert digest("2026-04-04") == []  # Saturday, 清明
    assert digest("2026-04-05") == []
    assert digest("2026-04-06") == []  # Monday, still 清明
    # The first working day after: what turned red over the holiday.
    assert digest("2026-04-07") == [("alice", 0, 1), ("lead_eq", 0, 1)]
    assert digest("2026-04-07", 18) == []
    bodies = [n.body for n in notify.notifications_for(session, team["alice"]) if n.kind == "digest"]
    assert len(bodies) == 2 and all(project.code in b for b in bodies)


# -- supervision notices (督办单) ---------------------------------------------------------------

def _escalated(session, team):
    project, task = survey_accepted_on(session, team, "2026-03-02")
    deadlines.sweep(session, now=at("2026-03-26"))  # red for 3 working days
    notice = session.scalar(select(SupervisionNotice).where(SupervisionNotice.task_id == task.id))
    return project, task, notice


def test_only_the_addressee_acknowledges_and_reports_on_a_notice(session, team):
    project, task, notice = _escalated(session, team)
    alice = team["alice"]
    assert [n.id for n in supervision.open_notices_for(session, alice)] == [notice.id]
    for other in ("bob", "lead", "sup", "boss"):
        with pytest.raises(NotPermitted):
            supervision.acknowledge_notice(session, notice.id, team[other], at("2026-03-26", 10))
        with pytest.raises(NotPermitted):
            supervision.report_on_notice(session, notice.id, "已处理", team[other], at("2026-03-26", 10))
    supervision.acknowledge_notice(session, notice.id, alice, at("2026-03-26", 10))
    with pytest.raises(InvalidTransition):
        supervision.acknowledge_notice(session, notice.id, alice, at("2026-03-26", 11))
    assert supervision.open_notices_for(session, alice).rows != []  # acknowledged, not yet answered
    with pytest.raises(ValidationError):
        supervision.report_on_notice(session, notice.id, "  ", alice, at("2026-03-27"))
    supervision.report_on_notice(session, notice.id, "已约部门现场踏勘，预计 3 月 31 日出具成果。",
                                 alice, at("2026-03-27"))
    assert supervision.open_notices_for(session, alice).rows == []
    assert notice.reported_at is not None and notice.closed_at is not None
    with pytest.raises(InvalidTransition):
        supervision.report_on_notice(session, notice.id, "again", alice, at("2026-03-27", 10))
    # The lead handler, in whose name it was issued, reads the report.
    assert "notice_report" in kinds_for(session, team["lead"], task)
    actions = [e.action for e in audit_events(session, project)
               if e.action.startswith("notice.") and e.task_id == task.id]
    assert actions == ["notice.issued", "notice.acknowledged", "notice.reported"]
    assert audit.verify(session, [project.code]) == []


def audit_events(session, project):
    from workflow.models import AuditEvent

    return session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                           .order_by(AuditEvent.seq)).all()


def test_only_supervisors_issue_a_manual_notice(session, team):
    project, task = survey_claimed_by(session, team, "2026-03-02")
    for other in ("alice", "lead", "boss"):
        with pytest.raises(NotPermitted):
            supervision.issue_notice(session, task.id, team[other], "请加快办理", at("2026-03-07"))
    with pytest.raises(ValidationError):
        supervision.issue_notice(session, task.id, team["sup"], " ", at("2026-03-07"))
    # Issued on Saturday 03-07: acknowledge on Monday 03-09, report by Wed 03-11.
    notice = supervision.issue_notice(session, task.id, team["sup"], "企业反映进度慢，请加快办理",
                                      at("2026-03-07"))
    assert (notice.level, notice.addressee_id, notice.issued_by_id) == (
        "manual", team["alice"].id, team["sup"].id)
    assert (notice.ack_due, notice.report_due) == (date(2026, 3, 9), date(2026, 3, 11))
    assert kinds_for(session, team["alice"], task) == ["notice"]
    assert kinds_for(session, team["lead"], task) == ["escalation"]
    # On an item still in the queue, the notice goes to the lead handler.
    filing = f.task(project, "project_filing")
    queued = supervision.issue_notice(session, filing.id, team["sup"], "请尽快分派", at("2026-03-09"))
    assert queued.addressee_id == team["lead"].id
    supervision.report_on_notice(session, notice.id, "已提速", team["alice"], at("2026-03-09"))
    assert "notice_report" in kinds_for(session, team["sup"], task)  # the issuer reads the report


def test_a_notice_closes_when_its_item_closes(session, team):
    _, task, notice = _escalated(session, team)
    alice = team["alice"]
    ops.approve_task(session, task.id, actor=alice, now=at("2026-03-27"))
    ops.complete_task(session, task.id, actor=alice, now=at("2026-03-27", 10))
    session.expire_all()
    assert supervision.open_notices_for(session, alice).rows == []
    with pytest.raises(InvalidTransition):
        supervision.issue_notice(session, task.id, team["sup"], "复查", at("2026-03-30"))


def test_add_months_clamps_to_the_end_of_the_month():
    assert deadlines.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert deadlines.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert deadlines.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert deadlines.add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)

"""An item's two clocks (行政许可法 Art. 42): the service clock (代办, from the
release to the submission, on the zone's service limit) and the statutory
clock (部门, from the department's 受理 to its decision, on the legal limit);
pauses and extensions in each limit's own unit (each test runs on SQLite and
PostgreSQL unless it needs no database).

Dates are worked out by hand in the docstrings on the State Council's 2026
notice: 清明 04-04..04-06 off; 中秋 09-25..09-27 off (Sunday 09-20 worked);
国庆 10-01..10-07 off (Saturday 10-10 worked).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from definitions import TimeLimit, load_definition, load_definition_from_source
from tests import factories as f
from tests.factories import at
from workflow.core import clocks, deadlines, lights
from workflow.core import operations as ops
from workflow.kernel.errors import InvalidTransition, ValidationError
from workflow.kernel.registry import DEFAULT_DIR, install_definition
from workflow.models import AuditEvent, FigureClosedTotal, Notification, Pause, Reminder

EIA_LIMIT = TimeLimit(30, "calendar_days")
SURVEY_LIMIT = TimeLimit(15)


@pytest.fixture
def team(session):
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    sup = f.user(session, "sup", "supervisor")
    boss = f.user(session, "boss", "admin")
    return {"lead": lead, "alice": alice, "sup": sup, "boss": boss}


def item_of(task):
    return ops.definition_for(task.project).items[task.item_code]


# -- the counting rules ----------------------------------------------------------------------------

def test_a_pause_counts_in_the_limits_own_unit():
    """A 30-calendar-day EIA limit paused from 2026-09-30 to 10-08 gains 8
    calendar days (10-08 minus 09-30); counted in working days it would gain 1
    (10-01..10-07 is the National Day holiday, 10-08 is worked). A working-day
    limit paused over the same days gains that 1 working day."""
    assert clocks.pause_length(date(2026, 9, 30), date(2026, 10, 8), EIA_LIMIT) == 8
    assert clocks.pause_length(date(2026, 9, 30), date(2026, 10, 8), SURVEY_LIMIT) == 1
    # Accepted Tue 09-15: 30 calendar days → Thu 10-15 (a working day); with the
    # 8 days of the pause, 38 days → Fri 10-23 (a working day).
    assert clocks.due(date(2026, 9, 15), 30, EIA_LIMIT).date == date(2026, 10, 15)
    assert clocks.due(date(2026, 9, 15), 38, EIA_LIMIT).date == date(2026, 10, 23)
    # 15 working days from Tue 09-15: 16–18 (3), Sun 20 worked (4), 21–24 (8),
    # 中秋 25–27 off, 28–30 (11), 国庆 1–7 off, 8, 9, Sat 10 worked, 12 (15) → 10-12;
    # the 1 working day of the pause → Tue 10-13.
    assert clocks.due(date(2026, 9, 15), 15, SURVEY_LIMIT).date == date(2026, 10, 12)
    assert clocks.due(date(2026, 9, 15), 16, SURVEY_LIMIT).date == date(2026, 10, 13)


def test_a_calendar_day_limit_ending_on_a_holiday_moves_to_the_next_working_day():
    """Accepted Wed 09-02: 30 calendar days end on Fri 10-02, in the National
    Day holiday: the limit ends on the next working day, Thu 10-08."""
    assert clocks.due(date(2026, 9, 2), 30, EIA_LIMIT).date == date(2026, 10, 8)


def test_a_pause_never_counts_negative():
    assert clocks.pause_length(date(2026, 3, 10), date(2026, 3, 9), SURVEY_LIMIT) == 0
    assert clocks.pause_length(date(2026, 3, 10), date(2026, 3, 9), EIA_LIMIT) == 0


def test_the_eia_limit_gains_eight_days_from_a_national_day_pause(session, team):
    """Engine: the EIA (报告表, 30 calendar days) is accepted on Tue 2026-09-15,
    due Thu 10-15; the department asks for 补正 on 09-30, supplied 10-08: its
    statutory clock gains 8 days and is due Fri 10-23, and the item is back
    with the department. Its service clock (5 working days from the release on
    Mon 09-14: 15–18, Sunday 20 worked → 09-20) stopped on time at the
    submission (09-15)."""
    alice = team["alice"]
    project = f.project(session, at("2026-09-14"), lead=team["lead"])
    filing = f.task(project, "project_filing")
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.approve_task,
                 ops.complete_task):
        step(session, filing.id, actor=alice, now=at("2026-09-14"))
    eia = f.task(project, "eia_approval")
    assert (eia.state, eia.released_on, eia.service_due_on) == (
        "ready", date(2026, 9, 14), date(2026, 9, 20))
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
        step(session, eia.id, actor=alice, now=at("2026-09-15"))
    assert (eia.clock, eia.due_on) == ("statutory", date(2026, 10, 15))
    ops.request_materials(session, eia.id, [{"code": "m1", "name": "大气预测补充说明"}],
                          deadline=date(2026, 10, 9), actor=alice, now=at("2026-09-30"))
    owner = f.user(session, "ent", "enterprise", company=project.enterprise)
    ops.supply_materials(session, eia.id, actor=owner, now=at("2026-10-08"))
    assert eia.state == "accepted"  # 补正 after the 受理: back with the department
    assert (eia.statutory_paused_days, eia.service_paused_days) == (8, 0)
    assert eia.due_on == eia.statutory_due_on == date(2026, 10, 23)
    pause = session.scalar(select(Pause).where(Pause.task_id == eia.id))
    assert (pause.clock, pause.kind, pause.days) == ("statutory", "materials", 8)
    service, statutory = clocks.views(eia, item_of(eia), date(2026, 10, 9))
    assert (service.status, service.outcome, service.stopped_on) == (
        "stopped", "on_time", date(2026, 9, 15))
    assert (statutory.status, statutory.light, statutory.calendar_days) == (
        "running", "green", True)


# -- both clocks through the whole life of an item -------------------------------------------------

def test_both_clocks_through_the_whole_life_of_an_item(session, team):
    """The survey (service limit 10 working days, legal limit 15), mandated
    Mon 2026-03-02.

    - Released 03-02: the service clock runs, due 03-16 (3–6, 9–13, 16).
    - 一次性告知 on 03-04, supplied 03-09: 3 working days paused (5, 6, 9): due 03-19.
    - Submitted Tue 03-17: the service clock stops, on time, after 11 working
      days minus 3 paused = 8. Until the 受理 is recorded the statutory clock
      counts from the submission: 18–20 (3), 23–27 (8), 30, 31 (10), 04-01–03
      (13), 清明 04-04..06, 04-07, 08 (15) → 04-08.
    - The 受理 of Fri 03-20 is recorded on Mon 03-23: from 03-20, 23–27 (5),
      30, 31 (7), 04-01–03 (10), 04-07–10 (14), 13 (15) → 04-13.
    - Expert review 03-25 → 03-31 (Art. 45): 26, 27, 30, 31 = 4 working days:
      14–17 → 04-17.
    - An extension of 3 working days (Art. 42) on 04-01: 20–22 → 04-22.
    - Decided (approved) Tue 04-21: on time; 03-23..04-21 is 21 working days,
      minus 4 paused = 17 used. Handed over 04-22.
    """
    alice, lead = team["alice"], team["lead"]
    project = f.project(session, at("2026-03-02"), lead=lead)
    survey = f.task(project, "u01_survey")
    assert (survey.clock, clocks.whose_time(survey)) == ("service", "agent")
    assert survey.due_on == survey.service_due_on == date(2026, 3, 16)
    ops.claim_task(session, survey.id, actor=alice, now=at("2026-03-03"))
    ops.start_task(session, survey.id, actor=alice, now=at("2026-03-03"))
    ops.request_materials(session, survey.id, [{"code": "m1", "name": "红线图"}],
                          deadline=date(2026, 3, 13), actor=alice, now=at("2026-03-04"))
    assert clocks.whose_time(survey) == "enterprise"
    assert lights.light(survey, date(2026, 3, 5)) == "paused"
    owner = f.user(session, "ent", "enterprise", company=project.enterprise)
    ops.supply_materials(session, survey.id, actor=owner, now=at("2026-03-09"))
    assert survey.state == "in_progress" and survey.service_paused_days == 3
    assert survey.due_on == date(2026, 3, 19)

    ops.submit_task(session, survey.id, actor=alice, now=at("2026-03-17"))
    assert (survey.state, survey.clock, clocks.whose_time(survey)) == (
        "submitted", "statutory", "department")
    assert survey.submitted_on == date(2026, 3, 17) and survey.accepted_on is None
    assert survey.due_on == survey.statutory_due_on == date(2026, 4, 8)
    service, statutory = clocks.views(survey, item_of(survey), date(2026, 3, 18))
    assert (service.status, service.outcome, service.due_on) == ("stopped", "on_time",
                                                                 date(2026, 3, 19))
    assert statutory.deemed and statutory.started_on == date(2026, 3, 17)

    with pytest.raises(ValidationError, match="before the submission"):
        ops.accept_task(session, survey.id, actor=alice, now=at("2026-03-23"),
                        accepted_on=date(2026, 3, 16))
    with pytest.raises(ValidationError, match="after today"):
        ops.accept_task(session, survey.id, actor=alice, now=at("2026-03-23"),
                        accepted_on=date(2026, 3, 24))
    assert survey.state == "submitted" and survey.accepted_on is None
    ops.accept_task(session, survey.id, actor=alice, now=at("2026-03-23"),
                    accepted_on=date(2026, 3, 20), reference="自然资受〔2026〕12号")
    assert (survey.state, survey.accepted_on, survey.due_on) == (
        "accepted", date(2026, 3, 20), date(2026, 4, 13))
    assert not clocks.view(survey, item_of(survey), "statutory", date(2026, 3, 23)).deemed

    ops.pause_statutory(session, survey.id, kind="expert_review", reason="组织专家评审测绘成果",
                        actor=alice, now=at("2026-03-25"))
    assert survey.state == "on_hold" and clocks.whose_time(survey) is None
    assert lights.light(survey, date(2026, 3, 26)) == "paused"
    ops.resume_statutory(session, survey.id, actor=alice, now=at("2026-03-31"))
    assert (survey.state, survey.statutory_paused_days, survey.due_on) == (
        "accepted", 4, date(2026, 4, 17))

    request = ops.request_extension(session, survey.id, 3, reason="部门联审", actor=alice,
                                    now=at("2026-04-01"))
    ops.decide_extension(session, request.id, approve=True, actor=lead, now=at("2026-04-01", 11))
    assert (survey.extension_days, survey.service_extension_days) == (3, 0)
    assert survey.due_on == date(2026, 4, 22) and survey.service_due_on == date(2026, 3, 19)

    ops.approve_task(session, survey.id, actor=alice, now=at("2026-04-21"), reference="成果 12 号")
    assert survey.decided_on == date(2026, 4, 21) and clocks.whose_time(survey) is None
    assert lights.light(survey, date(2026, 5, 6)) is None  # decided: no clock runs
    ops.complete_task(session, survey.id, actor=alice, now=at("2026-04-22"))
    _, statutory = clocks.views(survey, item_of(survey), date(2026, 4, 22))
    assert (statutory.outcome, statutory.stopped_on) == ("on_time", date(2026, 4, 21))

    total = session.scalar(select(FigureClosedTotal).where(
        FigureClosedTotal.item_code == "u01_survey"))
    assert (total.on_time, total.days_used_sum, total.service_on_time, total.service_days_sum) == (
        1, 17, 1, 8)
    actions = {e.action: e.data for e in session.scalars(select(AuditEvent).where(
        AuditEvent.task_id == survey.id))}
    assert actions["task.accept"]["accepted_on"] == "2026-03-20"
    assert actions["task.accept"]["due_on"] == "2026-04-13"
    assert actions["task.department_pause"]["kind"] == "expert_review"
    pauses = session.scalars(select(Pause).where(Pause.task_id == survey.id)
                             .order_by(Pause.id)).all()
    assert [(p.clock, p.kind, p.days) for p in pauses] == [
        ("service", "materials", 3), ("statutory", "expert_review", 4)]


def test_a_department_return_ends_its_clock_and_gives_the_agent_back_the_days(session, team):
    """Released Mon 03-02 (service due 03-16), submitted and accepted Thu 03-05,
    returned Tue 03-10: the department held it 3 working days (6, 9, 10),
    which the service clock does not count: due 03-19. The statutory clock
    ends; a new submission on Thu 03-12 starts a new one (15 working days:
    13, 16–20, 23–27, 30, 31, 04-01, 02 → 04-02)."""
    alice = team["alice"]
    project = f.project(session, at("2026-03-02"))
    survey = f.task(project, "u01_survey")
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
        step(session, survey.id, actor=alice, now=at("2026-03-05"))
    ops.return_task(session, survey.id, actor=alice, now=at("2026-03-10"), reason="界址点有误")
    assert (survey.state, survey.clock, clocks.whose_time(survey)) == ("returned", "service",
                                                                       "agent")
    assert (survey.accepted_on, survey.submitted_on, survey.statutory_due_on) == (None, None, None)
    assert survey.service_paused_days == 3 and survey.due_on == date(2026, 3, 19)
    held = session.scalar(select(Pause).where(Pause.task_id == survey.id))
    assert (held.clock, held.kind, held.started_on, held.ended_on, held.days) == (
        "service", "department", date(2026, 3, 5), date(2026, 3, 10), 3)
    ops.rework_task(session, survey.id, actor=alice, now=at("2026-03-11"))
    ops.submit_task(session, survey.id, actor=alice, now=at("2026-03-12"))
    assert survey.due_on == survey.statutory_due_on == date(2026, 4, 2)


def test_an_approval_straight_from_submission_is_an_acceptance_on_the_spot(session, team):
    """Submitted and approved the same day (当场受理、当场决定): the 受理 is the
    submission day and the statutory clock stopped on time after 0 days."""
    alice = team["alice"]
    project = f.project(session, at("2026-03-02"))
    filing = f.task(project, "project_filing")
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.approve_task):
        step(session, filing.id, actor=alice, now=at("2026-03-03"))
    assert (filing.accepted_on, filing.decided_on) == (date(2026, 3, 3), date(2026, 3, 3))
    with pytest.raises(InvalidTransition):
        ops.accept_task(session, filing.id, actor=alice, now=at("2026-03-03"))


def test_an_extension_lengthens_the_clock_the_definition_names(session, team):
    """A definition whose survey extends its service clock: released Mon
    03-02, due 03-16; +3 working days → Thu 03-19. The statutory clock is not
    touched (its extensions stay 0)."""
    source = copy.deepcopy(dict(load_definition(DEFAULT_DIR).source))
    for entry in source["items.toml"]["items"]:
        if entry["code"] == "u01_survey":
            entry["extension_clock"] = "service"
    install_definition(session, load_definition_from_source(source), now=at("2026-03-01"))
    alice, lead = team["alice"], team["lead"]
    project = f.project(session, at("2026-03-02"), lead=lead)
    survey = f.task(project, "u01_survey")
    assert item_of(survey).extension_clock == "service"
    ops.claim_task(session, survey.id, actor=alice, now=at("2026-03-02"))
    request = ops.request_extension(session, survey.id, 3, reason="测绘队排期", actor=alice,
                                    now=at("2026-03-10"))
    assert clocks.due_if_extended(survey, item_of(survey), 3) == date(2026, 3, 19)
    ops.decide_extension(session, request.id, approve=True, actor=lead, now=at("2026-03-10", 11))
    assert (survey.service_extension_days, survey.extension_days) == (3, 0)
    assert survey.due_on == survey.service_due_on == date(2026, 3, 19)


# -- lights, reminders and 13710 escalation on each clock ------------------------------------------

def test_each_clock_warns_and_escalates_on_its_own_due_date(session, team):
    """The survey is claimed on Mon 03-02 and held by its agent: its service
    clock is due 03-16. Yellow on 03-12 (2 working days left; 8 of 10 used),
    red from Tue 03-17, the lead's 督办 on 03-19 (3 working days late). On Fri
    03-20 it is submitted and accepted: the service clock stops (no supervisor
    step on 03-25), the statutory clock runs, due 04-13 (23–27, 30, 31, 04-01–03,
    清明 04-04..06, 04-07–10, 13). Yellow on Wed 04-08 (12 of 15 working days
    used), red from 04-14, the lead's 督办 on Thu 04-16 (14, 15, 16), the
    supervisors' on Wed 04-22 (7 working days late: 14–17, 20–22)."""
    alice = team["alice"]
    project = f.project(session, at("2026-03-02"), lead=team["lead"])
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=at("2026-03-02"))
    found: dict[tuple[str, str], date] = {}
    day = date(2026, 3, 2)
    while day <= date(2026, 4, 22):
        for entry in deadlines.sweep(session, now=at(day.isoformat())):
            if entry.task_id == survey.id:
                assert (entry.clock, entry.level) not in found
                found[(entry.clock, entry.level)] = day
        if day == date(2026, 3, 20):
            for step in (ops.start_task, ops.submit_task, ops.accept_task):
                step(session, survey.id, actor=alice, now=at("2026-03-20", 10))
            assert survey.due_on == date(2026, 4, 13)
        day += timedelta(days=1)
    assert found == {
        ("service", "yellow"): date(2026, 3, 12),
        ("service", "red"): date(2026, 3, 17),
        ("service", "escalate_lead"): date(2026, 3, 19),
        ("statutory", "yellow"): date(2026, 4, 8),
        ("statutory", "red"): date(2026, 4, 14),
        ("statutory", "escalate_lead"): date(2026, 4, 16),
        ("statutory", "escalate_supervisor"): date(2026, 4, 22),
    }
    keys = set(session.scalars(select(Reminder.subject_key).where(Reminder.task_id == survey.id)))
    assert keys == {f"task:{survey.id}:service", f"task:{survey.id}:statutory"}
    reds = session.scalars(select(Notification.body).where(
        Notification.task_id == survey.id, Notification.kind == "red",
        Notification.user_id == alice.id).order_by(Notification.id)).all()
    assert len(reds) == 2
    assert "代办服务时限（园区承诺，代办计时）（2026-03-16）" in reds[0]
    assert "法定办理时限（部门计时）（2026-04-13）" in reds[1] and "督促办理部门" in reds[1]


def test_the_light_follows_the_clock_that_runs(session, team):
    """Held by its agent the survey is red on 03-17 (its service clock was due
    03-16); submitted that day, the statutory clock (due 04-08 from the
    submission) makes it green again."""
    alice = team["alice"]
    project = f.project(session, at("2026-03-02"))
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=at("2026-03-02"))
    ops.start_task(session, survey.id, actor=alice, now=at("2026-03-02"))
    assert lights.light(survey, date(2026, 3, 17)) == "red"
    assert lights.working_days_left(survey, date(2026, 3, 17)) == -1
    ops.submit_task(session, survey.id, actor=alice, now=at("2026-03-17"))
    assert lights.light(survey, date(2026, 3, 17)) == "green"
    service, _ = clocks.views(survey, item_of(survey), date(2026, 3, 17))
    assert service.outcome == "late" and service.stopped_on == date(2026, 3, 17)

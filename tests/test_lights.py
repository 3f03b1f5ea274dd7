"""Warning lights from due dates and the statutory clock."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.core.lights import LightPolicy, light, worst
from workflow.models import ItemTask


def task(state="in_progress", accepted="2026-03-02", due="2026-03-23"):
    return ItemTask(state=state, accepted_on=date.fromisoformat(accepted),
                    due_on=date.fromisoformat(due))


@pytest.mark.parametrize(("today", "expected"), [
    ("2026-03-02", "green"),
    ("2026-03-16", "green"),   # 10 of 15 working days used: 67 %, 5 left
    ("2026-03-18", "yellow"),  # 12 of 15 used: 80 % (3 left)
    ("2026-03-19", "yellow"),  # 2 working days left (20, 23)
    ("2026-03-23", "yellow"),  # due today: 0 left
    ("2026-03-24", "red"),
])
def test_light_over_a_task_life(today, expected):
    assert light(task(), date.fromisoformat(today)) == expected


def test_eighty_percent_used_is_yellow_even_with_days_left():
    long = task(accepted="2026-03-02", due="2026-04-28")  # 40 working days (清明 4–6 Apr)
    # 21 working days in March after the 2nd, then 1–3, 7–10, 13–16 April.
    assert light(long, date(2026, 4, 16)) == "yellow"   # 32/40 = 80 %
    assert light(long, date(2026, 4, 15)) == "green"    # 31/40


def test_weekend_before_the_due_monday_counts_working_days_only():
    # Due Monday 23 March; on Friday 20 March one working day is left.
    assert light(task(), date(2026, 3, 20)) == "yellow"
    strict = LightPolicy(yellow_days_left=0, yellow_used_fraction=1.0)
    assert light(task(), date(2026, 3, 20), strict) == "green"


def test_paused_closed_and_blocked_tasks():
    assert light(task(state="awaiting_enterprise"), date(2026, 5, 1)) == "paused"
    assert light(task(state="done"), date(2026, 5, 1)) is None
    assert light(ItemTask(state="blocked"), date(2026, 5, 1)) is None


def test_project_light_is_the_worst_task():
    assert worst(["green", "yellow", None, "paused"]) == "yellow"
    assert worst(["green", "red", "yellow"]) == "red"
    assert worst([None]) == "green"
    assert worst(["paused", "green"]) == worst(["green", "paused"]) == "green"
    assert worst(["paused"]) == "paused"


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError):
        LightPolicy(yellow_days_left=-1)
    with pytest.raises(ValueError):
        LightPolicy(yellow_used_fraction=0)


@pytest.mark.parametrize(("accepted", "due"), [
    ("2026-03-02", "2026-03-23"), ("2026-03-02", "2026-04-28"), ("2026-02-12", "2026-03-11"),
    ("2026-09-24", "2026-09-30"), ("2026-09-24", "2026-10-13"), ("2026-03-02", "2026-03-03"),
])
def test_first_yellow_day_is_the_first_day_light_turns_yellow(accepted, due):
    from datetime import timedelta

    from workflow.core.lights import first_yellow_day

    t = task(accepted=accepted, due=due)
    warn = first_yellow_day(t.accepted_on, t.due_on)
    assert light(t, warn) == "yellow"
    day = t.accepted_on
    while day < warn:
        assert light(t, day) == "green", day
        day += timedelta(days=1)

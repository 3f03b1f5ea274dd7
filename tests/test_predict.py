"""The prediction on hand-built graphs (``workflow.core.predict.predict``, a pure
function): parallel branches and the critical path, a pause in progress, a
holiday week, an unpublished year, the zone's history against the limit, the
milestones; and the backtest on a small synthetic history beats the naive plan."""

from __future__ import annotations

from datetime import date

from bench.forecast import synthetic
from definitions import TimeLimit
from workflow.core import backtest
from workflow.core.predict import DEFAULT_MIN_HISTORY, History, ItemFacts, _add_months, predict
from workflow.kernel.clock import add_working_days, due_date, roll_forward

MONDAY = date(2026, 3, 2)  # no holiday anywhere near


def wd(start: date, n: int) -> date:
    return add_working_days(start, n).date


def item(code: str, *, service: int = 5, statutory: int = 10, requires=(), calendar=False,
         **kw) -> ItemFacts:
    return ItemFacts(code=code, department=kw.pop("department", "planning"),
                     service_limit=TimeLimit(service),
                     limit=TimeLimit(statutory, "calendar_days" if calendar else "working_days"),
                     requires=tuple(requires), **kw)


def diamond(**root) -> list[ItemFacts]:
    """a → (b: long, c: short) → d."""
    return [item("a", **root), item("b", statutory=20, requires=["a"]),
            item("c", statutory=5, requires=["a"]), item("d", requires=["b", "c"])]


def test_parallel_branches_wait_for_the_longer_one_which_is_the_critical_path():
    p = predict(diamond(), today=MONDAY)
    a_end = wd(wd(MONDAY, 5), 10)
    assert p.item("a").start == MONDAY and p.item("a").end == a_end
    assert p.item("b").start == p.item("c").start == a_end  # in parallel (并联)
    b_end, c_end = wd(wd(a_end, 5), 20), wd(wd(a_end, 5), 5)
    assert (p.item("b").end, p.item("c").end) == (b_end, c_end)
    assert p.item("d").start == b_end and p.item("d").driver == "b"
    assert p.critical_path == ("a", "b", "d")
    assert not p.item("c").critical and p.item("b").critical
    assert p.critical_item == "a"
    assert all(i.basis == "limit" for i in p.items)


def test_a_closed_item_is_history_and_its_dependants_open_on_its_closing_day():
    graph = diamond(state="done", released_on=MONDAY, submitted_on=wd(MONDAY, 2),
                    closed_on=wd(MONDAY, 4))
    p = predict(graph, today=wd(MONDAY, 4))
    assert [i.code for i in p.items] == ["c", "b", "d"]  # closed items are not predicted
    assert p.item("b").start == wd(MONDAY, 4)
    assert p.critical_path == ("b", "d") and p.critical_item == "b"


def test_a_paused_task_ends_later_the_longer_the_pause_lasts():
    paused = item("a", service=5, statutory=10, state="awaiting_enterprise", clock="service",
                  released_on=MONDAY, paused_since=wd(MONDAY, 2))
    running = item("a", service=5, statutory=10, state="in_progress", clock="service",
                   released_on=MONDAY)
    assert predict([running], today=wd(MONDAY, 2)).item("a").end == wd(wd(MONDAY, 5), 10)
    # Two working days used before the 补正; three remain from the day it resumes (today).
    for today in (wd(MONDAY, 6), wd(MONDAY, 15)):
        assert predict([paused], today=today).item("a").end == wd(wd(today, 3), 10)


def test_a_department_pause_in_progress_moves_the_statutory_end():
    on_hold = item("a", statutory=20, state="on_hold", clock="statutory", released_on=MONDAY,
                   submitted_on=wd(MONDAY, 3), accepted_on=wd(MONDAY, 3),
                   paused_since=wd(MONDAY, 8), statutory_paused_days=2)
    today = wd(MONDAY, 30)
    # Limit 20 + 2 days of earlier pauses; 5 - 2 = 3 days of it used before this pause.
    assert predict([on_hold], today=today).item("a").end == wd(today, 22 - 3)


def test_a_running_clock_past_its_expected_end_is_expected_today():
    late = item("a", state="accepted", clock="statutory", released_on=MONDAY,
                submitted_on=wd(MONDAY, 1), accepted_on=wd(MONDAY, 1))
    today = wd(MONDAY, 40)
    assert predict([late], today=today).item("a").end == today


def test_the_national_day_week_and_its_make_up_saturday_are_counted():
    released = date(2026, 9, 28)  # Monday before 国庆 10-01..10-07; 10-10 (Sat) is worked
    p = predict([item("a", service=5, statutory=1, state="ready", clock="service",
                      released_on=released)], today=released)
    # 09-29, 09-30, 10-08, 10-09, 10-10 (the make-up Saturday): submitted; decided the Monday.
    assert p.item("a").end == date(2026, 10, 12)
    assert not p.item("a").provisional


def test_the_spring_festival_pushes_a_calendar_day_limit_past_the_holiday():
    # A 7-calendar-day limit from 02-11 ends 02-18, inside 春节 (02-15..02-23): moves to 02-24.
    p = predict([item("a", service=1, statutory=7, calendar=True, state="ready",
                      clock="service", released_on=date(2026, 2, 10))], today=date(2026, 2, 10))
    assert p.item("a").end == due_date(date(2026, 2, 11), 7, calendar_days=True).date
    assert p.item("a").end == date(2026, 2, 24)


def test_a_year_without_a_published_schedule_makes_the_prediction_provisional():
    late_2026 = date(2026, 12, 1)
    p = predict([item("a", service=5, statutory=30, state="ready", clock="service",
                      released_on=late_2026)], today=late_2026)
    assert p.item("a").end.year == 2027
    assert p.provisional and p.item("a").provisional
    early = predict([item("a", state="ready", clock="service", released_on=MONDAY)],
                    today=MONDAY)
    assert not early.item("a").provisional
    # The milestones years ahead (capacity) run into unpublished years: the whole is provisional.
    assert early.provisional


def test_an_item_without_history_falls_back_to_its_limits():
    history = History()
    history.add("other_item", "planning", "service", 1, 50)
    p = predict([item("a")], today=MONDAY, history=history)
    assert p.item("a").end == wd(wd(MONDAY, 5), 10) and p.item("a").basis == "limit"


def test_the_zones_median_replaces_the_limit_once_enough_tasks_closed():
    history = History()
    for days in (1, 2, 2, 3, 9):
        history.add("a", "planning", "service", days)
    for days in (4, 4):
        history.add("a", "planning", "statutory", days)
    # Two statutory lengths are not enough (min 3): the service median (2) with the limit (10).
    assert DEFAULT_MIN_HISTORY == 3
    p = predict([item("a")], today=MONDAY, history=history)
    assert p.item("a").end == wd(wd(MONDAY, 2), 10) and p.item("a").basis == "limit"
    history.add("a", "planning", "statutory", 30)
    p = predict([item("a")], today=MONDAY, history=history)
    assert p.item("a").end == wd(wd(MONDAY, 2), 4) and p.item("a").basis == "history"
    # A stricter minimum keeps the limit until it is met.
    p = predict([item("a")], today=MONDAY, history=history, min_history=4)
    assert p.item("a").basis == "limit"
    # Another department's history is not this one's.
    other = predict([item("a", department="water")], today=MONDAY, history=history)
    assert other.item("a").basis == "limit"


def test_milestones_follow_the_gating_items_and_keep_the_reached_ones():
    graph = [item("a", gates="ready_to_start"),
             item("permit", requires=["a"], gates="ready_to_start", checkpoint_months=3),
             item("accept", requires=["permit"], gates="completed", available_from="started",
                  opens_on_request=True),
             item("power", requires=["a"], gates="producing")]
    p = predict(graph, today=MONDAY)
    permit_end = p.item("permit").end
    assert p.milestones["ready_to_start"] == permit_end
    # No history of the start: the legal bound, 3 months after the permit (施工许可).
    assert p.milestones["started"] == roll_forward(_add_months(permit_end, 3))
    assert p.item("accept").start == wd(p.milestones["started"], 250)
    assert p.milestones["completed"] == p.item("accept").end
    assert p.milestones["producing"] >= p.milestones["completed"]
    assert p.milestones["at_capacity"] == wd(p.milestones["producing"], 250)
    assert p.critical_path == ("a", "permit", "accept")
    reached = predict(graph, today=MONDAY, stage="ready_to_start",
                      reached={"ready_to_start": date(2026, 1, 5)})
    assert reached.milestones["ready_to_start"] == date(2026, 1, 5)
    assert "ready_to_start" in reached.reached


def test_the_backtest_on_a_small_synthetic_history_beats_the_naive_plan_by_30_percent():
    result = backtest.run(synthetic(60, seed=7))
    assert result.predictions > 0 and result.predicted.item_n > 0
    assert result.predicted.item_mae <= 0.7 * result.naive.item_mae
    assert result.predicted.all_milestones_mae <= 0.7 * result.naive.all_milestones_mae


def _same(a, b) -> bool:
    return (a.items, dict(a.milestones), a.critical_path) == (b.items, dict(b.milestones),
                                                              b.critical_path)


def test_a_prediction_holds_until_its_valid_until_day_and_not_a_day_longer():
    # A quiet project: every date lies ahead, so predicting again on any day up
    # to valid_until gives the same dates; the day after, something moves.
    graph = [item("a", state="in_progress", clock="service", released_on=MONDAY),
             item("b", requires=["a"], gates="ready_to_start")]
    first = predict(graph, today=MONDAY)
    # a's service clock is expected to end (the submission) on its 5th working
    # day; past it, the submission is expected "today" and every date moves.
    assert first.valid_until == wd(MONDAY, 5)
    assert first.valid_until < min([i.end for i in first.items]
                                   + [i.start for i in first.items if not i.released])
    day = MONDAY
    while day <= first.valid_until:
        assert _same(predict(graph, today=day), first), day
        day = roll_forward(date.fromordinal(day.toordinal() + 1))
    assert not _same(predict(graph, today=day), first)  # a is overdue: now expected that day


def test_an_overdue_item_or_a_pause_in_progress_makes_the_prediction_good_for_today_only():
    late = item("a", state="accepted", clock="statutory", released_on=MONDAY,
                submitted_on=wd(MONDAY, 1), accepted_on=wd(MONDAY, 1))
    today = wd(MONDAY, 40)
    assert predict([late], today=today).valid_until == today
    paused = item("a", state="awaiting_enterprise", clock="service", released_on=MONDAY,
                  paused_since=wd(MONDAY, 2))
    assert predict([paused], today=wd(MONDAY, 3)).valid_until == wd(MONDAY, 3)
    # Every item closed and every milestone reached: nothing depends on the day.
    done = item("a", state="done", released_on=MONDAY, closed_on=wd(MONDAY, 3))
    reached = {m: MONDAY for m in ("ready_to_start", "started", "completed", "producing",
                                   "at_capacity")}
    assert predict([done], today=today, stage="at_capacity", reached=reached).valid_until \
        == date.max


def test_on_replayed_histories_every_day_up_to_valid_until_predicts_the_same():
    # The synthetic zone's projects, each frozen at several moments of its
    # life (backtest._as_of): predicting again on any later day up to
    # valid_until, with no event, gives the same dates; a prediction that
    # does change (the day after) is never claimed valid.
    from workflow.core.backtest import _as_of, _stage_at

    history = synthetic(40, seed=5)
    checked = moved = 0
    for project in history[:40]:
        days = sorted({i.released_on for i in project.items if i.released_on})[::3]
        for t in days:
            items = [_as_of(i, t) for i in project.items]
            stage, reached = _stage_at(project.reached, t)
            first = predict(items, today=t, stage=stage, reached=reached)
            if first.valid_until == date.max:
                continue
            last = first.valid_until
            probe = sorted({t, roll_forward(date.fromordinal(t.toordinal() + 1)), last})
            for day in probe:
                if day <= last:
                    assert _same(predict(items, today=day, stage=stage, reached=reached),
                                 first), (t, day)
                    checked += 1
            after = roll_forward(date.fromordinal(last.toordinal() + 1))
            moved += not _same(predict(items, today=after, stage=stage, reached=reached), first)
    assert checked > 50 and moved > 0

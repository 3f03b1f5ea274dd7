"""The workload forecast (``workflow.core.workload``) on both databases: the
arithmetic of arrivals per working day (a weekend and the National Day week
fold into the next working day), capacity and overload, the agents' share of
their groups, the rollup kept equal to a recount after a prediction changes
and after a project finishes, the forecast reading only the rollup and small
tables, and automatic assignment preferring the agent with most spare
capacity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from tests import factories as f
from tests.factories import at
from workflow.core import operations as ops
from workflow.core import predict, workload
from workflow.models import IndustryGroup, ItemTask, WorkloadDay

MONDAY = at("2026-03-02")


def rollup(session) -> dict:
    session.expire_all()
    return {(r.scope_kind, r.scope_key, r.day): (r.arrivals, r.departures)
            for r in session.scalars(select(WorkloadDay))}


def gid(session, code="equipment") -> int:
    return session.scalar(select(IndustryGroup.id).where(IndustryGroup.code == code))


def test_the_horizon_is_working_days_and_a_holiday_arrival_counts_on_the_next_one(session):
    f.user(session, "a1", "agent", groups=("equipment",))
    g = gid(session)
    today = date(2026, 9, 30)  # Wednesday; 国庆 10-01..10-07 off, Saturday 10-10 worked
    days = workload.horizon(today, 5)
    assert days == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10),
                    date(2026, 10, 12)]
    # Two items in hand (released in September), one arriving on a holiday,
    # one on the make-up Saturday, one on the Sunday after; one leaving 10-09.
    workload.adjust(session, [], [
        (g, "planning", True, date(2026, 9, 1), date(2026, 10, 9)),
        (g, "planning", True, date(2026, 9, 20), date(2026, 12, 1)),
        (g, "planning", False, date(2026, 10, 3), date(2026, 12, 1)),
        (g, "planning", False, date(2026, 10, 10), date(2026, 12, 1)),
        (g, "planning", False, date(2026, 10, 11), date(2026, 12, 1)),
    ])
    found = workload.forecast(session, today, group_ids=[g], n=5,
                              departments={"planning": "规划"})
    (group,) = found.groups
    assert group.open_now == 2
    assert [d.arrivals for d in group.days] == [0, 1, 0, 1, 1]
    # In hand on its expected last day (10-09), gone the next working day.
    assert [d.load for d in group.days] == [2, 3, 3, 3, 4]
    (department,) = found.departments
    assert [d.load for d in department.days] == [2, 3, 3, 3, 4]


def test_capacity_overload_and_the_agents_share(session):
    a1 = f.user(session, "share_a1", "agent", groups=("equipment",), department="planning")
    f.user(session, "share_a2", "agent", groups=("equipment", "food"))
    f.user(session, "share_away", "agent", groups=("equipment",), away=True)  # shares nothing
    g, food = gid(session), gid(session, "food")
    workload.set_capacity(session, a1, 2)
    default = workload.default_capacity(session)
    today = MONDAY.date()
    workload.adjust(session, [], [(g, "planning", True, date(2026, 2, 2), date(2026, 6, 1))] * 4
                    + [(g, "planning", False, date(2026, 3, 4), date(2026, 6, 1))] * 2
                    + [(food, "health", True, date(2026, 2, 2), date(2026, 6, 1))] * 6)
    found = workload.forecast(session, today, group_ids=[g], n=5,
                              departments={"planning": "规划"})
    (group,) = found.groups
    # a1: 2 tasks at once; a2 shares two groups: half their capacity counts here.
    assert group.capacity == 2 + default / 2
    agents = {s.label: s for s in found.agents}
    assert set(agents) == {"share_a1", "share_a2"}
    one, two = agents["share_a1"], agents["share_a2"]
    # The group's 4 in hand and 2 arriving Wednesday, shared by its 2 agents.
    assert [d.load for d in one.days] == [2, 2, 3, 3, 3]
    assert one.capacity == 2 and one.overloaded == [date(2026, 3, 4), date(2026, 3, 5),
                                                     date(2026, 3, 6)]
    # a2 also takes all of food's 6 (its only sharing agent).
    assert [d.load for d in two.days] == [8, 8, 9, 9, 9]
    assert two.capacity == default
    assert two.overloaded == [d.day for d in two.days if d.load > default]
    (department,) = found.departments
    assert department.capacity == 2  # a1's home department
    assert department.overloaded == [d.day for d in department.days]


def test_the_rollup_follows_the_predictions_and_equals_a_recount(session):
    lead = f.user(session, "lead_w", "lead", groups=("equipment",))
    agent = f.user(session, "agent_w", "agent", groups=("equipment",))
    one = f.project(session, MONDAY, lead=lead)
    two = f.project(session, MONDAY, lead=lead)
    predict.refresh(session, now=MONDAY)
    first = rollup(session)
    assert first and first == _recounted(session)
    g = str(gid(session))
    open_items = sum(1 for p in (one, two) for t in p.tasks
                     if t.state not in ("done", "covered", "terminated"))
    assert sum(a for (k, s, _), (a, _) in first.items() if (k, s) == ("group", g)) == open_items
    # A prediction changes: the survey of project one finishes.
    survey = f.task(one, "u01_survey")
    later = MONDAY + timedelta(hours=3)
    for step in ("claim_task", "start_task", "submit_task"):
        getattr(ops, step)(session, survey.id, actor=agent, now=later)
    ops.approve_task(session, survey.id, actor=agent, now=later, reference="左开审〔2026〕2号")
    ops.complete_task(session, survey.id, actor=agent, now=later)
    predict.refresh(session, now=later)
    second = rollup(session)
    assert second != first and second == _recounted(session)
    # A project finishes (terminated): its rows leave the rollup.
    ops.terminate_project(session, two.id, actor=lead, now=later, reason="撤资")
    predict.refresh(session, now=later)
    third = rollup(session)
    assert third == _recounted(session)
    assert sum(a for (k, s, _), (a, _) in third.items() if (k, s) == ("group", g)) == sum(
        1 for t in one.tasks if t.state not in ("done", "covered", "terminated"))


def _recounted(session) -> dict:
    workload.rebuild(session)
    found = rollup(session)
    return found


def test_the_forecast_reads_the_rollup_and_small_tables_only(session, engine):
    lead = f.user(session, "lead_q", "lead", groups=("equipment",))
    f.user(session, "agent_q", "agent", groups=("equipment",), department="planning")
    f.project(session, MONDAY, lead=lead)
    predict.refresh(session, now=MONDAY)
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement.lower())

    bind = session.get_bind()
    target = bind.engine if hasattr(bind, "engine") else engine
    event.listen(target, "before_cursor_execute", note)
    try:
        found = workload.forecast(session, MONDAY.date(), departments={"planning": "规划"})
    finally:
        event.remove(target, "before_cursor_execute", note)
    assert any(s.open_now or s.days[-1].load for s in found.groups)
    assert seen and len(seen) <= 12  # a fixed number, whatever the zone holds
    assert not [s for s in seen if "item_task" in s or "item_prediction" in s or "project" in s]


@pytest.mark.parametrize("limited", [True, False])
def test_automatic_assignment_prefers_the_most_spare_capacity(session, limited):
    lead = f.user(session, "lead_aa", "lead", groups=("equipment",))
    first = f.user(session, "aa_first", "agent", groups=("equipment",))
    second = f.user(session, "aa_second", "agent", groups=("equipment",))
    if limited:
        workload.set_capacity(session, first, 1)
    project = f.project(session, MONDAY, lead=lead)
    task = next(t for t in project.tasks if t.state == "ready")
    ops.auto_assign(session, task.id, actor=lead, now=MONDAY)
    chosen = session.get(ItemTask, task.id).assignee_id
    # Equal open work: the lowest id, unless its capacity leaves it less spare.
    assert chosen == (second.id if limited else first.id)

"""Supervisors' figures, watch list and ledger on a small data set worked out
by hand (each test runs on SQLite and PostgreSQL).

Three projects mandated on Monday 2026-03-02; each releases its filing
(项目备案, admin_approval, 3 working days → due Thu 03-05) and its survey
(地形图测绘, nature_resources, 15 working days → due Mon 03-23):

- A (equipment): alice files on 03-04 (on time, 2 working days used); the
  survey stays in work — red on 03-25, 2 working days late (24, 25).
- B (equipment): bob files on 03-09 (late, 5 used); the survey waits for
  materials 03-03 → 03-06 (3 working days paused: due moves to 03-26) and is
  done on 03-25 (on time; 17 working days minus 3 paused = 14 used).
- C (food): olga files on 03-05 (on time, 3 used); nobody claims the survey:
  red on 03-25, 2 working days late.

Filing releases two items (eia_approval, energy_review) and B's survey ten
(u02–u11): all open in the queue with due dates, none late on 03-25.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.factories import at
from workflow.core import figures, rollups
from workflow.core import operations as ops
from workflow.core.figures import WatchFilter

TODAY = date(2026, 3, 25)


def finish(session, task, agent, day, *, claim=True):
    if claim:
        ops.claim_task(session, task.id, actor=agent, now=at("2026-03-02"))
        ops.start_task(session, task.id, actor=agent, now=at("2026-03-02"))
    for step in (ops.submit_task, ops.approve_task, ops.complete_task):
        step(session, task.id, actor=agent, now=at(day))


@pytest.fixture
def zone(session):
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    bob = f.user(session, "bob", "agent", groups=("equipment",), department="admin_approval")
    olga = f.user(session, "olga", "agent", groups=("food",), department="admin_approval")
    start = at("2026-03-02")
    a = f.project(session, start, lead=lead, code="P-A")
    b = f.project(session, start, lead=lead, code="P-B")
    c = f.project(session, start, industry="food_processing", code="P-C")

    finish(session, f.task(a, "project_filing"), alice, "2026-03-04")
    ops.claim_task(session, f.task(a, "u01_survey").id, actor=alice, now=start)
    ops.start_task(session, f.task(a, "u01_survey").id, actor=alice, now=start)

    finish(session, f.task(b, "project_filing"), bob, "2026-03-09")
    survey = f.task(b, "u01_survey")
    ops.claim_task(session, survey.id, actor=bob, now=start)
    ops.start_task(session, survey.id, actor=bob, now=start)
    ops.request_materials(session, survey.id, [{"code": "m1", "name": "红线图"}],
                          deadline=date(2026, 3, 10), actor=bob, now=at("2026-03-03"))
    ops.supply_materials(session, survey.id, actor=bob, now=at("2026-03-06"))
    assert survey.paused_working_days == 3 and survey.due_on == date(2026, 3, 26)
    finish(session, survey, bob, "2026-03-25", claim=False)

    finish(session, f.task(c, "project_filing"), olga, "2026-03-05")
    session.flush()
    # The scheduler's sweep counts the open items on the day the tests read.
    rollups.refresh(session, now=at("2026-03-25", 10))
    return {"lead": lead, "alice": alice, "bob": bob, "olga": olga, "a": a, "b": b, "c": c}


def watched(*args, **kwargs) -> list:
    return list(figures.watch_list(*args, **kwargs))


def by_key(result, dimension):
    return {fig.key: fig for fig in result.by[dimension]}


def test_figures_per_agent(session, zone):
    agents = by_key(figures.figures(session, TODAY), "agent")
    alice, bob, olga = (agents[zone[n].id] for n in ("alice", "bob", "olga"))
    # alice: filing on time; survey open and red.
    assert (alice.closed, alice.on_time_rate, alice.overdue_rate) == (1, 1.0, 0.5)
    assert alice.avg_days_used == 2
    # bob: filing late (5 used), survey on time (14 used).
    assert (bob.closed, bob.on_time_rate, bob.overdue_rate) == (2, 0.5, 0.5)
    assert bob.avg_days_used == 9.5
    assert (olga.closed, olga.on_time_rate, olga.overdue_rate, olga.avg_days_used) == (1, 1.0, 0.0, 3)
    # Nobody holds C's survey (red) nor the 16 released items: 17 open, 1 late.
    nobody = agents[None]
    assert (nobody.closed, nobody.on_time_rate, nobody.with_due, nobody.overdue) == (0, None, 17, 1)
    assert nobody.avg_days_used is None


def test_figures_per_item_department_and_group(session, zone):
    result = figures.figures(session, TODAY)
    items = by_key(result, "item")
    filing, survey = items["project_filing"], items["u01_survey"]
    assert (filing.closed, filing.on_time, filing.done_with_due) == (3, 2, 3)
    assert filing.overdue_rate == pytest.approx(1 / 3)
    assert filing.avg_days_used == pytest.approx((2 + 5 + 3) / 3)
    # Surveys: B done on time; A and C open and red.
    assert (survey.closed, survey.on_time_rate, survey.overdue, survey.with_due) == (1, 1.0, 2, 3)

    departments = by_key(result, "department")
    approval = departments["admin_approval"]  # the three filings
    assert (approval.closed, approval.on_time, approval.overdue, approval.with_due) == (3, 2, 1, 3)
    # Three surveys plus B's mineral and geo-hazard assessments (released, open).
    land = departments["nature_resources"]
    assert (land.closed, land.overdue, land.with_due, land.on_time_rate) == (1, 2, 5, 1.0)

    groups = by_key(result, "group")
    equipment = groups[f.group(session, "equipment").id]
    food = groups[f.group(session, "food").id]
    # equipment: A and B's filing and survey + 4 + 10 released; late: B's filing, A's survey.
    assert (equipment.closed, equipment.on_time, equipment.done_with_due) == (3, 2, 3)
    assert (equipment.overdue, equipment.with_due) == (2, 18)
    assert equipment.avg_days_used == pytest.approx((2 + 5 + 14) / 3)
    assert (food.closed, food.on_time_rate, food.overdue, food.with_due) == (1, 1.0, 1, 4)
    assert (result.total.closed, result.total.overdue, result.total.with_due) == (4, 3, 22)


def test_a_date_range_keeps_the_items_closed_in_it(session, zone):
    result = figures.figures(session, TODAY, closed_from=date(2026, 3, 1),
                             closed_to=date(2026, 3, 6))
    agents = by_key(result, "agent")
    # bob closed nothing in the range and has nothing open: he has no figures.
    assert zone["bob"].id not in agents
    alice = agents[zone["alice"].id]
    assert (alice.closed, alice.on_time_rate, alice.overdue_rate) == (1, 1.0, 0.5)
    assert result.total.closed == 2  # A's and C's filings
    # Only open items in the period: no closed item, so no rate rather than 0 %.
    nobody = agents[None]
    assert (nobody.closed, nobody.on_time_rate, nobody.avg_days_used) == (0, None, None)


def test_a_lead_sees_only_the_figures_of_their_groups(session, zone):
    equipment = f.group(session, "equipment").id
    result = figures.figures(session, TODAY, group_ids={equipment})
    assert [fig.key for fig in result.by["group"]] == [equipment]
    assert zone["olga"].id not in by_key(result, "agent")


def test_watch_list_is_red_and_yellow_most_late_first(session, zone):
    rows = watched(session, TODAY)
    red = [(r.project.code, r.task.item_code, r.days_late) for r in rows if r.light == "red"]
    assert red == [("P-A", "u01_survey", 2), ("P-C", "u01_survey", 2)]
    # Everything else listed is yellow, not late yet, after the red ones.
    assert all(r.light == "yellow" and r.days_late <= 0 for r in rows[2:])
    assert [r.days_late for r in rows] == sorted((r.days_late for r in rows), reverse=True)
    # B's survey is done; its released items and the other filings' are green.
    assert all(r.task.state != "done" for r in rows)


def test_watch_list_filters(session, zone):
    alice, food = zone["alice"], f.group(session, "food").id
    assert [r.project.code for r in watched(
        session, TODAY, WatchFilter(agent_id=alice.id))] == ["P-A"]
    assert {r.project.code for r in watched(
        session, TODAY, WatchFilter(group_id=food))} <= {"P-C"}
    assert [r.project.code for r in watched(
        session, TODAY, WatchFilter(item_code="u01_survey"))] == ["P-A", "P-C"]
    assert watched(session, TODAY, WatchFilter(min_days_late=3)) == []
    assert len(watched(session, TODAY, WatchFilter(min_days_late=2))) == 2
    assert watched(session, TODAY, WatchFilter(department="water", light="red")) == []
    scoped = watched(session, TODAY, group_ids={food})
    assert {r.project.code for r in scoped} <= {"P-C"} and scoped


def test_ledger_has_one_row_per_project(session, zone):
    rows = {r.project.code: r for r in figures.ledger(session, TODAY)}
    a, b, c = rows["P-A"], rows["P-B"], rows["P-C"]
    assert a.items == b.items == c.items > 20
    assert (a.finished, a.red, a.light) == (1, 1, "red")
    assert (b.finished, b.red, b.in_work) == (2, 0, 12)  # 2 filing + 10 survey releases
    assert a.signed_on == a.mandated_on == date(2026, 3, 2)
    equipment = f.group(session, "equipment").id
    assert [r.project.code for r in figures.ledger(session, TODAY, {equipment})] == ["P-A", "P-B"]

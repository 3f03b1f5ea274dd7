"""Supervisors' figures, watch list and ledger on a small data set worked out
by hand (each test runs on SQLite and PostgreSQL), on both clocks.

Three projects mandated on Monday 2026-03-02 (no holiday in March 2026); each
releases its filing (项目备案, admin_approval; service limit 2 working days,
legal limit 3 → due Thu 03-05 from a 受理 on 03-02) and its survey (地形图测绘,
nature_resources; service limit 10 → due Mon 03-16, legal limit 15 → due Mon
03-23 from a 受理 on 03-02). An agent who takes an item submits it the day it
is released and the department accepts it that day: its service clock stops
on time after 0 days, its statutory clock runs from 03-02.

- A (equipment): alice's filing is decided on 03-04 (on time, 2 working days
  used); her survey stays with the department — red on 03-25 on the
  statutory clock, 2 working days late (24, 25).
- B (equipment): bob's filing is decided on 03-09 (late, 5 used); the
  department asks for 补正 on his survey 03-03 → 03-06 (3 working days
  paused: the statutory due date moves to 03-26) and decides on 03-25 (on
  time; 17 working days minus 3 paused = 14 used).
- C (food): olga's filing is decided on 03-05 (on time, 3 used); nobody takes
  the survey: red on 03-25 on the service clock (due 03-16), 7 working days
  late (17–20, 23–25).

Each filing releases two items to the queue on its completion day (eia_approval,
energy_review; service limit 5 working days): A's on 03-04 (due 03-11, 10 late
on 03-25), C's on 03-05 (due 03-12, 9 late), B's on 03-09 (due 03-16, 7 late).
Nobody takes them: 6 items red on the service clock. B's survey releases ten
(u02–u11) on 03-25: due 04-01, yellow from 03-30, green on 03-25.
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


def to_department(session, task, agent):
    """Taken, prepared, submitted and accepted (受理) on 03-02."""
    day = at("2026-03-02")
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
        step(session, task.id, actor=agent, now=day)


def decide(session, task, agent, day):
    for step in (ops.approve_task, ops.complete_task):
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

    to_department(session, f.task(a, "project_filing"), alice)
    decide(session, f.task(a, "project_filing"), alice, "2026-03-04")
    to_department(session, f.task(a, "u01_survey"), alice)

    to_department(session, f.task(b, "project_filing"), bob)
    decide(session, f.task(b, "project_filing"), bob, "2026-03-09")
    survey = f.task(b, "u01_survey")
    to_department(session, survey, bob)
    ops.request_materials(session, survey.id, [{"code": "m1", "name": "红线图"}],
                          deadline=date(2026, 3, 10), actor=bob, now=at("2026-03-03"))
    ops.supply_materials(session, survey.id, actor=bob, now=at("2026-03-06"))
    assert survey.state == "accepted" and survey.statutory_paused_days == 3
    assert survey.due_on == date(2026, 3, 26)
    decide(session, survey, bob, "2026-03-25")

    to_department(session, f.task(c, "project_filing"), olga)
    decide(session, f.task(c, "project_filing"), olga, "2026-03-05")
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
    # alice: filing decided on time; survey open and red on the statutory clock.
    assert (alice.closed, alice.on_time_rate, alice.overdue_rate) == (1, 1.0, 0.5)
    assert alice.avg_days_used == 2
    # Her service clock stopped on time, after 0 days, on both items.
    assert (alice.service_on_time_rate, alice.service_avg_days) == (1.0, 0)
    # bob: filing late (5 used), survey on time (14 used).
    assert (bob.closed, bob.on_time_rate, bob.overdue_rate) == (2, 0.5, 0.5)
    assert bob.avg_days_used == 9.5
    assert (bob.service_on_time_rate, bob.service_overdue_rate) == (1.0, 0.0)
    assert (olga.closed, olga.on_time_rate, olga.overdue_rate, olga.avg_days_used) == (1, 1.0, 0.0, 3)
    # Nobody holds C's survey nor the 16 released items: 17 open on the
    # service clock (代办's time), 7 of them red; none on the statutory one.
    nobody = agents[None]
    assert (nobody.closed, nobody.on_time_rate, nobody.with_due, nobody.overdue) == (0, None, 0, 0)
    assert (nobody.service_with_due, nobody.service_overdue) == (17, 7)
    assert nobody.avg_days_used is None and nobody.service_avg_days is None


def test_figures_per_item_department_and_group(session, zone):
    result = figures.figures(session, TODAY)
    items = by_key(result, "item")
    filing, survey = items["project_filing"], items["u01_survey"]
    assert (filing.closed, filing.on_time, filing.done_with_due) == (3, 2, 3)
    assert filing.overdue_rate == pytest.approx(1 / 3)
    assert filing.avg_days_used == pytest.approx((2 + 5 + 3) / 3)
    assert (filing.service_on_time, filing.service_done_with_due) == (3, 3)
    # Surveys: B decided on time; A open and red with the department; C open
    # and red with nobody (service clock).
    assert (survey.closed, survey.on_time_rate, survey.overdue, survey.with_due) == (1, 1.0, 1, 2)
    assert (survey.service_overdue, survey.service_with_due) == (1, 2)
    eia = items["eia_approval"]
    assert (eia.with_due, eia.service_with_due, eia.service_overdue) == (0, 3, 3)

    departments = by_key(result, "department")
    approval = departments["admin_approval"]  # the three filings
    assert (approval.closed, approval.on_time, approval.overdue, approval.with_due) == (3, 2, 1, 3)
    # Three surveys plus B's mineral and geo-hazard assessments (released, open).
    land = departments["nature_resources"]
    assert (land.closed, land.overdue, land.with_due, land.on_time_rate) == (1, 1, 2, 1.0)
    assert (land.service_overdue, land.service_with_due) == (1, 4)

    groups = by_key(result, "group")
    equipment = groups[f.group(session, "equipment").id]
    food = groups[f.group(session, "food").id]
    # equipment: A and B's filing and survey, 4 + 10 released; statutory late:
    # B's filing, A's survey; service late: the 4 released by the filings.
    assert (equipment.closed, equipment.on_time, equipment.done_with_due) == (3, 2, 3)
    assert (equipment.overdue, equipment.with_due) == (2, 4)
    assert (equipment.service_overdue, equipment.service_with_due) == (4, 17)
    assert equipment.avg_days_used == pytest.approx((2 + 5 + 14) / 3)
    assert (food.closed, food.on_time_rate, food.overdue, food.with_due) == (1, 1.0, 0, 1)
    assert (food.service_overdue, food.service_with_due) == (3, 4)
    total = result.total
    assert (total.closed, total.overdue, total.with_due) == (4, 2, 5)
    assert (total.service_on_time, total.service_overdue, total.service_with_due) == (4, 7, 21)


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
    assert nobody.service_on_time_rate is None


def test_a_lead_sees_only_the_figures_of_their_groups(session, zone):
    equipment = f.group(session, "equipment").id
    result = figures.figures(session, TODAY, group_ids={equipment})
    assert [fig.key for fig in result.by["group"]] == [equipment]
    assert zone["olga"].id not in by_key(result, "agent")


def test_watch_list_is_red_and_yellow_most_late_first_on_the_clock_that_runs(session, zone):
    rows = watched(session, TODAY)
    assert {r.light for r in rows} == {"red"}  # B's ten releases are green until 03-30
    found = sorted((-r.days_late, r.project.code, r.task.item_code, r.clock, r.whose)
                   for r in rows)
    assert found == [
        (-10, "P-A", "eia_approval", "service", "agent"),
        (-10, "P-A", "energy_review", "service", "agent"),
        (-9, "P-C", "eia_approval", "service", "agent"),
        (-9, "P-C", "energy_review", "service", "agent"),
        (-7, "P-B", "eia_approval", "service", "agent"),
        (-7, "P-B", "energy_review", "service", "agent"),
        (-7, "P-C", "u01_survey", "service", "agent"),
        (-2, "P-A", "u01_survey", "statutory", "department"),
    ]
    assert [r.days_late for r in rows] == sorted((r.days_late for r in rows), reverse=True)
    assert all(r.task.state != "done" for r in rows)


def test_watch_list_filters(session, zone):
    alice, food = zone["alice"], f.group(session, "food").id
    assert [r.project.code for r in watched(
        session, TODAY, WatchFilter(agent_id=alice.id))] == ["P-A"]
    assert {r.project.code for r in watched(
        session, TODAY, WatchFilter(group_id=food))} <= {"P-C"}
    # C's survey is due on its service clock (03-16), A's on its statutory one (03-23).
    assert [r.project.code for r in watched(
        session, TODAY, WatchFilter(item_code="u01_survey"))] == ["P-C", "P-A"]
    assert watched(session, TODAY, WatchFilter(min_days_late=11)) == []
    assert len(watched(session, TODAY, WatchFilter(min_days_late=10))) == 2
    assert len(watched(session, TODAY, WatchFilter(min_days_late=3))) == 7
    assert watched(session, TODAY, WatchFilter(department="water", light="red")) == []
    scoped = watched(session, TODAY, group_ids={food})
    assert {r.project.code for r in scoped} <= {"P-C"} and scoped


def test_ledger_has_one_row_per_project(session, zone):
    rows = {r.project.code: r for r in figures.ledger(session, TODAY)}
    a, b, c = rows["P-A"], rows["P-B"], rows["P-C"]
    assert a.items == b.items == c.items > 20
    assert (a.finished, a.red, a.light) == (1, 3, "red")  # the survey, eia, energy
    assert (b.finished, b.red, b.in_work) == (2, 2, 12)  # 2 filing + 10 survey releases
    assert (c.finished, c.red) == (1, 3)
    assert a.signed_on == a.mandated_on == date(2026, 3, 2)
    equipment = f.group(session, "equipment").id
    assert [r.project.code for r in figures.ledger(session, TODAY, {equipment})] == ["P-A", "P-B"]

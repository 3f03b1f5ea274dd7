"""Stored predictions on a real database (SQLite and PostgreSQL): the sweep's
refresh predicts open projects, a transition makes the prediction stale (the
project's audit sequence moves past ``basis_seq``) and the next refresh
recomputes it; completing an item counts its clocks into the handling-time
history; the backtest replays the database's own closed items."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from workflow.core import backtest, predict
from workflow.core import operations as ops
from workflow.models import HandlingHistory, ItemPrediction, Project, ProjectPrediction

MONDAY = at("2026-03-02")


@pytest.fixture
def team(session):
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    agent = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    return {"lead": lead, "agent": agent}


def rows(session, project):
    # The refresh writes with bulk statements: read the rows afresh.
    fresh = {"populate_existing": True}
    items = {r.item_code: r for r in session.scalars(
        select(ItemPrediction).where(ItemPrediction.project_id == project.id)
        .execution_options(**fresh))}
    return session.get(ProjectPrediction, project.id, populate_existing=True), items


def finish(session, task, agent, now):
    ops.claim_task(session, task.id, actor=agent, now=now)
    ops.start_task(session, task.id, actor=agent, now=now)
    ops.submit_task(session, task.id, actor=agent, now=now)
    ops.approve_task(session, task.id, actor=agent, now=now, reference="左开审〔2026〕1号")
    ops.complete_task(session, task.id, actor=agent, now=now)


def test_refresh_stores_every_open_item_and_the_milestones(session, team):
    project = f.project(session, MONDAY, lead=team["lead"])
    counts = predict.refresh(session, now=MONDAY)
    assert counts["predicted"] >= 1
    stored, items = rows(session, project)
    open_codes = {t.item_code for t in project.tasks if t.state not in ("done", "covered",
                                                                         "terminated")}
    assert set(items) == open_codes
    survey = items["u01_survey"]
    assert survey.released and survey.predicted_start == MONDAY.date()
    assert not items["u02_planning_conditions"].released
    assert items["u02_planning_conditions"].predicted_start == survey.predicted_end
    assert items["u02_planning_conditions"].driver == "u01_survey"
    assert survey.critical and stored.critical_item in items and items[stored.critical_item].critical
    assert stored.basis_seq == project.audit_seq
    assert stored.ready_to_start_on <= stored.started_on <= stored.completed_on \
        <= stored.producing_on <= stored.at_capacity_on
    assert stored.group_id == project.group_id
    # Nothing changed: nothing is stale, a second refresh predicts nothing.
    assert predict.stale_projects(session, today=MONDAY.date(), limit=100) == []


def test_a_transition_makes_the_prediction_stale_and_the_refresh_catches_up(session, team):
    project = f.project(session, MONDAY, lead=team["lead"])
    predict.refresh(session, now=MONDAY)
    before, _ = rows(session, project)
    seq = before.basis_seq
    survey = f.task(project, "u01_survey")
    later = MONDAY + timedelta(hours=2)
    finish(session, survey, team["agent"], later)
    session.flush()
    assert project.audit_seq > seq
    assert predict.stale_projects(session, today=later.date(), limit=100) == [project.id]
    predict.refresh(session, now=later)
    after, items = rows(session, project)
    assert after.basis_seq == project.audit_seq
    assert "u01_survey" not in items  # closed: no longer predicted
    # Its dependants are released on the day it closed.
    assert items["u03_mineral"].released and items["u03_mineral"].predicted_start == later.date()


def test_a_quiet_prediction_is_kept_until_its_valid_until_day_has_passed(session, team):
    # Not "made before today ⇒ stale": a project whose dates all lie ahead is
    # not recomputed on a new day; the day after valid_until it is.
    project = f.project(session, MONDAY, lead=team["lead"])
    predict.refresh(session, now=MONDAY)
    stored, items = rows(session, project)
    assert stored.valid_until <= min([i.predicted_end for i in items.values()]
                                     + [i.predicted_start for i in items.values() if not i.released])
    assert stored.valid_until > MONDAY.date() + timedelta(days=1)
    tomorrow = MONDAY + timedelta(days=1)
    assert predict.stale_projects(session, today=tomorrow.date(), limit=100) == []
    # Recomputed on its last valid day, it is the same prediction.
    last = at(stored.valid_until.isoformat())
    assert predict.stale_projects(session, today=last.date(), limit=100) == []
    same = predict.load(session, project, today=last.date())
    assert {p.code: (p.start, p.end) for p in same.items} == {
        c: (r.predicted_start, r.predicted_end) for c, r in items.items()}
    after = stored.valid_until + timedelta(days=1)
    assert predict.stale_projects(session, today=after, limit=100) == [project.id]


def test_a_finished_projects_prediction_is_dropped(session, team):
    project = f.project(session, MONDAY, lead=team["lead"])
    predict.refresh(session, now=MONDAY)
    ops.terminate_project(session, project.id, actor=team["lead"], now=MONDAY, reason="撤资")
    counts = predict.refresh(session, now=MONDAY)
    assert counts["dropped"] == 1
    assert rows(session, project) == (None, {})


def test_completing_an_item_counts_its_clocks_into_the_history(session, team):
    project = f.project(session, MONDAY, lead=team["lead"])
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["agent"], now=MONDAY)
    ops.start_task(session, survey.id, actor=team["agent"], now=MONDAY)
    ops.submit_task(session, survey.id, actor=team["agent"], now=at("2026-03-04"))
    ops.approve_task(session, survey.id, actor=team["agent"], now=at("2026-03-09"),
                     reference="左开审〔2026〕2号")
    ops.complete_task(session, survey.id, actor=team["agent"], now=at("2026-03-09"))
    session.flush()
    history = {(r.clock, r.days): r.n for r in session.scalars(
        select(HandlingHistory).where(HandlingHistory.subject == "u01_survey"))}
    # Released Monday 03-02, submitted Wednesday (2 working days), closed the next Monday (3).
    assert history == {("service", 2): 1, ("statutory", 3): 1}
    assert predict.load_history(session).median("u01_survey", survey.department,
                                                 "service") == (2, 1)
    # The rebuild from the tasks agrees with what the transaction counted.
    predict.rebuild_history(session)
    again = {(r.clock, r.days): r.n for r in session.scalars(
        select(HandlingHistory).where(HandlingHistory.subject == "u01_survey"))}
    assert again == history


def test_the_backtest_reads_the_databases_closed_items(session, team):
    project = f.project(session, MONDAY, lead=team["lead"])
    finish(session, f.task(project, "u01_survey"), team["agent"], at("2026-03-05"))
    session.flush()
    found = [h for h in backtest.from_database(session)
             if any(i.code == "u01_survey" and i.closed for i in h.items)]
    assert len(found) == 1
    result = backtest.run(found)
    assert result.predicted.item_n == 1  # the survey, predicted at its release
    assert session.get(Project, project.id) is not None


def test_reaching_a_milestone_counts_the_gap_since_the_one_before(session, team):
    from workflow.core import audit

    project = f.project(session, MONDAY, lead=team["lead"])
    audit.record(session, project, actor=None, now=at("2026-03-02"), action="project.advance",
                 from_state="approving", to_state="ready_to_start", data={})
    audit.record(session, project, actor=None, now=at("2026-03-16"), action="project.advance",
                 from_state="ready_to_start", to_state="started", data={})
    session.flush()
    predict.record_gap(session, project, "started", now=at("2026-03-16"))
    session.flush()
    assert predict.load_history(session).median("stage:started", "", "gap") == (10, 1)
    # A milestone that ends no gap counts nothing.
    predict.record_gap(session, project, "ready_to_start", now=at("2026-03-16"))
    assert predict.load_history(session).median("stage:ready_to_start", "", "gap") == (None, 0)


def test_a_changed_project_is_recomputed_before_the_expired_ones(session, team):
    """After midnight many predictions expire at once (overdue clocks move with
    the day); a project someone just worked on goes first, not behind them."""
    first = f.project(session, MONDAY, lead=team["lead"])
    second = f.project(session, MONDAY, lead=team["lead"])
    predict.refresh(session, now=MONDAY)
    (a, _), (b, _) = rows(session, first), rows(session, second)
    day = at((max(a.valid_until, b.valid_until) + timedelta(days=1)).isoformat())
    assert set(predict.expired_projects(session, today=day.date(), limit=10)) == {first.id,
                                                                                 second.id}
    finish(session, f.task(second, "u01_survey"), team["agent"], day)
    session.flush()
    assert predict.changed_projects(session, limit=10) == [second.id]
    # Equal as-of times: the old order (oldest as-of, then id) took the first project.
    assert predict.stale_projects(session, today=day.date(), limit=1) == [second.id]
    assert predict.refresh(session, now=day, limit=1) == {"predicted": 1, "changed": 1,
                                                          "dropped": 0}
    assert rows(session, second)[0].basis_seq == second.audit_seq
    # Without the pass over changed projects, only expired predictions are taken.
    assert predict.refresh(session, now=day, limit=5, changed=False)["predicted"] == 1
    assert predict.stale_projects(session, today=day.date(), limit=10) == []


def test_the_sweeps_share_runs_batches_until_nothing_is_stale_or_time_is_up(session, team):
    projects = [f.project(session, MONDAY, lead=team["lead"]) for _ in range(5)]
    scopes = []

    @contextlib.contextmanager
    def scope():
        scopes.append(1)  # the sweep gives each batch its own transaction
        yield session
        session.flush()

    totals = predict.refresh_for(scope, now=MONDAY, seconds=60, limit=2)
    assert totals == {"predicted": 5, "changed": 5, "dropped": 0, "batches": 3}
    assert len(scopes) == 3
    assert all(rows(session, p)[0] is not None for p in projects)
    # Out of time after the first batch: one batch, the rest left for the next sweep.
    later = at((min(rows(session, p)[0].valid_until for p in projects)
                + timedelta(days=400)).isoformat())
    ticks = iter([0.0, 100.0])
    totals = predict.refresh_for(scope, now=later, seconds=60, limit=2,
                                 clock=lambda: next(ticks))
    assert totals["batches"] == 1 and totals["predicted"] == 2
    assert len(predict.stale_projects(session, today=later.date(), limit=10)) == 3

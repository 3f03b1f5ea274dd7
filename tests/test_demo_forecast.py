"""The demo zone comes with its predicted dates: every open project and each
of its open items is predicted, as of the seed, from the history the seeded
completions counted (SQLite: the seed is the same on both databases)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo import seed as demo
from tests.factories import at
from workflow.core import backtest, predict
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import (
    HandlingHistory,
    ItemPrediction,
    ItemTask,
    Project,
    ProjectPrediction,
)

NOW = at("2026-11-27", 10)


@pytest.fixture(scope="module")
def zone(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("demo_forecast") / "zone.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with transaction(make_session_factory(engine)) as session:
        demo.seed_into(session, now=NOW)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_every_open_project_of_the_demo_is_predicted_as_of_the_seed(zone):
    open_projects = {p.id: p for p in zone.scalars(
        select(Project).where(Project.stage.notin_(predict.FINISHED_STAGES)))}
    stored = {r.project_id: r for r in zone.scalars(select(ProjectPrediction))}
    assert open_projects and set(stored) == set(open_projects)
    for project_id, row in stored.items():
        assert row.basis_seq == open_projects[project_id].audit_seq
        assert row.ready_to_start_on <= row.completed_on <= row.at_capacity_on
    assert predict.stale_projects(zone, today=NOW.date(), limit=1000) == []


def test_every_open_item_of_an_open_project_has_its_dates(zone):
    open_tasks = set(zone.execute(
        select(ItemTask.project_id, ItemTask.item_code)
        .join(Project, Project.id == ItemTask.project_id)
        .where(Project.stage.notin_(predict.FINISHED_STAGES),
               ItemTask.state.notin_(predict.CLOSED))).all())
    predicted = set(zone.execute(select(ItemPrediction.project_id, ItemPrediction.item_code)).all())
    assert predicted == open_tasks
    critical = zone.scalar(select(func.count()).select_from(ItemPrediction)
                           .where(ItemPrediction.critical))
    assert critical > 0


def test_the_demos_completions_are_in_the_history(zone):
    done = zone.scalar(select(func.count()).select_from(ItemTask).where(ItemTask.state == "done"))
    statutory = zone.scalar(select(func.sum(HandlingHistory.n))
                            .where(HandlingHistory.clock == "statutory"))
    assert done > 0 and 0 < statutory <= done


def test_the_demos_lifecycle_gaps_are_in_the_history(zone):
    gaps = {r.subject for r in zone.scalars(select(HandlingHistory)
                                            .where(HandlingHistory.clock == "gap"))}
    # Demo projects have started, been completed and reached production.
    assert {"stage:started", "stage:construction", "stage:producing"} <= gaps


def test_the_demo_forecast_shows_an_overloaded_part_timer_and_a_rollup_equal_to_a_recount(zone):
    from demo.workload import PART_TIME
    from workflow.core import workload
    from workflow.models import User, WorkloadDay

    kept = {(r.scope_kind, r.scope_key, r.day): (r.arrivals, r.departures)
            for r in zone.scalars(select(WorkloadDay))}
    found = workload.forecast(zone, NOW.date())
    agent = zone.scalar(select(User).where(User.username == PART_TIME[0]))
    (series,) = [s for s in found.agents if s.key == str(agent.id)]
    assert series.capacity == PART_TIME[1] and series.overloaded
    assert found.default_capacity == 12  # definitions/zuoyun/zone.toml
    workload.rebuild(zone)
    assert {(r.scope_kind, r.scope_key, r.day): (r.arrivals, r.departures)
            for r in zone.scalars(select(WorkloadDay))} == kept
    zone.rollback()


def test_the_demos_history_learns_real_construction_phases(zone):
    """竣工验收 is applied for when building is over, months after 开工: the
    construction gaps the predictions learn are not all zero."""
    days = dict(zone.execute(select(HandlingHistory.days, HandlingHistory.n).where(
        HandlingHistory.subject == "stage:construction")).all())
    assert sum(n for d, n in days.items() if d >= 60) >= 5, days


def test_the_backtest_on_the_demos_history_beats_the_naive_plan_by_30_percent(zone):
    result = backtest.run(list(backtest.from_database(zone)))
    assert result.predictions > 100
    predicted, naive = result.predicted, result.naive
    assert predicted.item_mae <= 0.7 * naive.item_mae
    assert predicted.all_milestones_mae <= 0.7 * naive.all_milestones_mae

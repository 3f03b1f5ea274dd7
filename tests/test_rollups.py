"""The pages' SQL agrees with the engine's own rules on the demo zone: lights
computed in SQL are ``lights.light``; the figures read from the rollups are
what counting every task by hand gives; a page of the desk's projects shows
the figures of its items (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from demo import seed as demo
from tests.conftest import PG_DB, drop_pg_database, fresh_pg_engine
from tests.factories import at
from workflow.core import figures, lights, queries, rollups
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import OPEN_STATES, ItemTask, Project

NOW = at("2026-11-27", 10)  # a Friday
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """The demo zone, seeded once per database for the whole module (seeding
    takes seconds); each test works inside a transaction it rolls back."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("rollups") / "zone.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        name = f"{PG_DB}_rollups"
        engine = fresh_pg_engine(name)
        request.addfinalizer(lambda: drop_pg_database(name))
    with transaction(make_session_factory(engine)) as session:
        demo.seed_into(session, now=NOW)
    yield engine
    engine.dispose()


@pytest.fixture
def zone(seeded):
    with Session(seeded, expire_on_commit=False) as session:
        yield session
        session.rollback()


def test_lights_in_sql_are_the_engines_lights_on_every_day(zone):
    tasks = {t.id: t for t in zone.scalars(select(ItemTask))}
    for offset in (-45, -10, -3, -1, 0, 1, 2, 3, 5, 9, 16, 40):
        today = TODAY + timedelta(days=offset)
        for light in queries.LIGHTS:
            in_sql = set(zone.scalars(select(ItemTask.id).where(queries.light_is(light, today))))
            by_rule = {i for i, t in tasks.items() if lights.light(t, today) == light}
            assert in_sql == by_rule, (today, light, in_sql ^ by_rule)


def _ran(start, stop, limit) -> int:
    """Days from ``start`` to ``stop`` in the limit's unit, counted by hand."""
    if limit.calendar_days:
        return (stop - start).days
    return clock.working_days_between(start, stop).days


def _by_hand(tasks, today, dimension, first=None, last=None) -> dict:
    """The figures as the engine defines them, every task counted in Python:
    on the statutory clock (decided by its due date; days from the 受理 to
    the decision minus its pauses) and on the service clock (submitted by its
    due date; days from the release to the submission minus its pauses), an
    open item counted on the clock that runs."""
    found: dict = {}
    for t in tasks:
        done = t.state == "done"
        if t.state not in OPEN_STATES and not done:
            continue
        if done and (first or last) and not (t.closed_on and (first is None or t.closed_on >= first)
                                             and (last is None or t.closed_on <= last)):
            continue
        item = ops.definition_for(t.project).items[t.item_code]
        key = {"group": t.group_id, "agent": t.assignee_id, "department": t.department,
               "item": t.item_code}[dimension]
        fig = found.setdefault(key, {name: 0 for name in (
            "closed", "on_time", "done_with_due", "overdue", "with_due", "s_on_time",
            "s_done_with_due", "s_overdue", "s_with_due")} | {"used": [], "s_used": []})
        if done:
            fig["closed"] += 1
            start, decided = t.accepted_on or t.submitted_on, t.decided_on or t.closed_on
            if start and decided:
                fig["used"].append(max(_ran(start, decided, item.limit)
                                       - t.statutory_paused_days, 0))
            if t.statutory_due_on is not None:
                late = decided > t.statutory_due_on
                fig["done_with_due"] += 1
                fig["on_time"] += not late
                fig["with_due"] += 1
                fig["overdue"] += late
            if t.released_on and t.submitted_on:
                fig["s_used"].append(max(_ran(t.released_on, t.submitted_on, item.service_limit)
                                         - t.service_paused_days, 0))
            if t.service_due_on is not None and t.submitted_on is not None:
                late = t.submitted_on > t.service_due_on
                fig["s_done_with_due"] += 1
                fig["s_on_time"] += not late
                fig["s_with_due"] += 1
                fig["s_overdue"] += late
        elif t.due_on is not None:
            red = t.state in lights.CLOCK_STATES and today > t.due_on
            prefix = "s_" if t.clock == "service" else ""
            fig[prefix + "with_due"] += 1
            fig[prefix + "overdue"] += red
    # Open items without a due date (suspended before their release) count in
    # no figure: a key with nothing else to show is not listed.
    return {k: fig for k, fig in found.items()
            if fig["closed"] or fig["with_due"] or fig["s_with_due"]}


@pytest.mark.parametrize("span", [(None, None), (date(2026, 6, 1), date(2026, 10, 31))])
def test_the_figures_from_the_rollups_are_the_figures_of_every_task(zone, span):
    rollups.refresh(zone, now=NOW)
    tasks = zone.scalars(select(ItemTask)).all()
    result = figures.figures(zone, closed_from=span[0], closed_to=span[1])
    assert result.as_of is not None and result.today == TODAY
    for dimension in figures.DIMENSIONS:
        expected = _by_hand(tasks, TODAY, dimension, *span)
        got = {f.key: f for f in result.by[dimension]}
        assert set(got) == set(expected), dimension
        for key, fig in expected.items():
            mine = got[key]
            assert (mine.closed, mine.on_time, mine.done_with_due, mine.overdue, mine.with_due) == (
                fig["closed"], fig["on_time"], fig["done_with_due"], fig["overdue"],
                fig["with_due"]), (dimension, key)
            assert (mine.service_on_time, mine.service_done_with_due, mine.service_overdue,
                    mine.service_with_due) == (fig["s_on_time"], fig["s_done_with_due"],
                                               fig["s_overdue"], fig["s_with_due"]), (dimension, key)
            mean = sum(fig["used"]) / len(fig["used"]) if fig["used"] else None
            assert mine.avg_days_used == pytest.approx(mean), (dimension, key)
            mean = sum(fig["s_used"]) / len(fig["s_used"]) if fig["s_used"] else None
            assert mine.service_avg_days == pytest.approx(mean), (dimension, key)
    assert result.total.closed == sum(f.closed for f in result.by["group"])


def test_a_rebuild_counts_what_the_engine_counted_as_it_went(zone):
    before = figures.figures(zone)
    assert rollups.rebuild_closed(zone) == sum(t.state == "done" for t in zone.scalars(select(ItemTask)))
    after = figures.figures(zone)
    assert [(f.key, f.closed, f.on_time, f.days_used_sum, f.service_on_time, f.service_days_sum)
            for f in after.by["item"]] == \
        [(f.key, f.closed, f.on_time, f.days_used_sum, f.service_on_time, f.service_days_sum)
         for f in before.by["item"]]


def test_the_pipeline_rollup_counts_every_live_project_once(zone):
    rollups.refresh(zone, now=NOW)
    from workflow.models import PipelineTotal

    projects = zone.scalars(select(Project).where(Project.stage != "terminated")).all()
    rows = zone.scalars(select(PipelineTotal)).all()
    assert sum(r.projects for r in rows) == len(projects)
    assert sum(int(r.investment_wan) for r in rows) == sum(p.investment_wan or 0 for p in projects)
    # A second refresh replaces the rows rather than adding to them.
    rollups.refresh(zone, now=NOW)
    assert sum(r.projects for r in zone.scalars(select(PipelineTotal))) == len(projects)


def test_project_figures_are_the_lights_and_counts_of_their_items(zone):
    projects = zone.scalars(select(Project).order_by(Project.code)).all()
    found = queries.project_figures(zone, [p.id for p in projects], TODAY)
    for project in projects:
        shades = [lights.light(t, TODAY) for t in project.tasks]
        fig = found.get(project.id, queries.ProjectFigures())
        assert (fig.items, fig.red, fig.yellow, fig.light) == (
            len(project.tasks), shades.count("red"), shades.count("yellow"),
            lights.worst(shades)), project.code

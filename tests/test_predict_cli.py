"""``daiban forecast refresh`` and ``daiban forecast backtest`` as an operator uses them."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from tests.test_cli import sqlite_env
from web.cli import cli
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import ItemPrediction, ProjectPrediction


@pytest.fixture
def runner():
    return CliRunner()


def test_forecast_refresh_predicts_the_open_projects_then_finds_nothing_stale(runner, tmp_path):
    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    with transaction(make_session_factory(engine)) as session:
        f.user(session, "lead_cli", "lead", groups=("equipment",))
        f.project(session, at("2026-03-02"))
        f.project(session, at("2026-03-02"))
    now = ["--now", "2026-03-02T18:00"]
    result = runner.invoke(cli, ["forecast", "refresh", *now], env=env)
    assert result.exit_code == 0, result.output
    assert "predicted: 2 project(s)" in result.output
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ProjectPrediction)) == 2
        assert session.scalar(select(func.count()).select_from(ItemPrediction)) > 20
    again = runner.invoke(cli, ["forecast", "refresh", *now], env=env)
    assert "predicted: 0 project(s)" in again.output
    everything = runner.invoke(cli, ["forecast", "refresh", "--all", "--rebuild-history", *now],
                               env=env)
    assert everything.exit_code == 0, everything.output
    assert "history recounted: 0 task(s)" in everything.output
    assert "predicted: 2 project(s)" in everything.output
    engine.dispose()


def test_forecast_backtest_on_a_synthetic_history_prints_both_errors(runner):
    result = runner.invoke(cli, ["forecast", "backtest", "--synthetic", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    items = re.search(r"^items\s+([\d.]+)\s+([\d.]+)\s+(-?\d+) %", result.output, re.M)
    assert items, result.output
    predicted, naive = float(items.group(1)), float(items.group(2))
    assert predicted < naive
    for milestone in ("ready_to_start", "started", "completed", "producing", "at_capacity"):
        assert milestone in result.output


def test_forecast_backtest_refuses_a_negative_size(runner):
    result = runner.invoke(cli, ["forecast", "backtest", "--synthetic", "-1"])
    assert result.exit_code != 0 and "-1" in result.output

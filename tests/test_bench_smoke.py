"""The benchmarks still run and their correctness checks hold (no timing is
asserted: speed is measured in bench/, never in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _create_pg_database, drop_pg_database, pg_url

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_benchmark_runs_and_both_sides_agree(tmp_path):
    out = tmp_path / "bench.json"
    # The database name must say "bench": the benchmark wipes what it is given.
    url = f"sqlite:///{tmp_path / 'tiny_bench.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--projects", "300", "--database-url", url,
         "--transitions", "20", "--inbox-calls", "10", "--overdue-repeats", "2",
         "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["inbox"]["mismatches"] == 0
    assert figures["transitions"]["checks"]["audit_finding_count"] == 0
    assert figures["transitions"]["checks"]["tasks_not_assigned_as_planned"] == 0
    assert figures["overdue"]["mismatches"] == 0 and figures["overdue"]["rows"] > 0


@pytest.mark.postgres
def test_a_tiny_pages_run_answers_every_page_and_agrees_with_its_baselines(tmp_path):
    """``python -m bench pages`` on 300 projects: gunicorn serves every page,
    the hand-written first pages match the pages' first rows, and the write
    path claims and starts tasks on both sides with intact audit chains."""
    name = f"daiban_bench_pages_smoke_{os.getpid()}"  # "bench": the run wipes it
    if not _create_pg_database(name):
        pytest.skip("PostgreSQL is not reachable")
    out = tmp_path / "pages.json"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bench", "pages", "--projects", "300", "--database-url",
             pg_url(name), "--calls", "2", "--write-seconds", "2", "--write-blocks", "1",
             "--timeout", "60", "--output", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        # The next day's wave of predictions on the same loaded zone.
        wave = subprocess.run(
            [sys.executable, "-m", "bench.wave", "--database-url", pg_url(name), "--seconds", "5"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        drop_pg_database(name)
    assert result.returncode == 0, result.stderr[-3000:]
    assert wave.returncode == 0, wave.stderr[-3000:]
    day = json.loads(wave.stdout)
    assert day["stored_predictions"] > 0 and day["expired_on_the_day"] > 0, day
    assert day["sweep_share"]["predicted"] >= day["expired_range"]["found"] > 0, day
    report = json.loads(out.read_text())
    assert report["dataset"]["audit_check"]["findings"] == []
    assert len(report["pages"]) >= 20
    for page in report["pages"]:
        assert page["status"] == {"200": page["calls"] + 1}, page
        assert page["first_rows"]["match"] is not False, page
    assert all(e["completed"] for e in report["exports"]), report["exports"]
    # The loader predicted every open project: the timeline lists the project's
    # tasks, and the agreement misses and workload pages read loaded rows.
    pages = {page["name"]: page for page in report["pages"]}
    rows = report["context"]["rows"]
    assert rows["project_predictions"] > 0 and rows["item_predictions"] > 0, rows
    assert pages["lead.project_timeline"]["rows"] > 0
    assert pages["supervisor.agreement_misses"]["first_rows"]["match"] is True
    assert pages["admin.workload"]["bytes"] <= 300_000
    write = report["write"]
    sides = {side: write[side] for side in ("http", "engine")}  # shown whole when one fails
    assert sides["http"]["errors"] == 0 and sides["engine"]["errors"] == 0, sides
    assert sides["http"]["actions"] > 0 and sides["engine"]["actions"] > 0, (
        sides, result.stderr[-1500:])
    assert write["checks"]["problems"] == [], write["checks"]

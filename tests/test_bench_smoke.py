"""The benchmark still runs and its correctness checks hold (no timing is
asserted: speed is measured in bench/, never in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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

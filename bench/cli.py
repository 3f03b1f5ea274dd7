"""``python -m bench``: load a zone, run the three figures, print JSON.
``python -m bench pages``: the pages figure (``bench.pagescli``).

Sizes: the full run loads 100,000 projects × 14 items (1.4 million tasks) and
takes a few minutes, most of it the load; ``--quick`` loads 5,000 projects and
finishes in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy

from bench import figures
from bench.database import RefusedDatabase, describe, fresh_database, normalise_url
from bench.dataset import load
from bench.handwritten import HandWritten
from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.core.operations import zone_today

RESULTS = Path(__file__).parent / "results"

FULL = {"projects": 100_000, "transitions": 2_000, "block": 100, "inbox_calls": 200,
        "overdue_repeats": 15}
QUICK = {"projects": 5_000, "transitions": 300, "block": 50, "inbox_calls": 200,
         "overdue_repeats": 20}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 projects instead of 100,000")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL or sqlite:///path URL (default: PostgreSQL daiban_bench "
                             "on 127.0.0.1). The database is WIPED.")
    parser.add_argument("--projects", type=int, default=None, help="number of projects to load")
    parser.add_argument("--transitions", type=int, default=None, help="claims per side")
    parser.add_argument("--inbox-calls", type=int, default=None, help="inbox calls per side")
    parser.add_argument("--overdue-repeats", type=int, default=None, help="sweeps per side")
    parser.add_argument("--force", action="store_true",
                        help="wipe the database even if its name does not contain 'bench'")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the engine side of each figure into bench/results/")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the JSON (default: bench/results/latest-<db>.json)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pages"]:
        from bench import pagescli

        return pagescli.main(argv[1:])
    if argv[:1] == ["pages-table"]:
        from bench import pagescli

        return pagescli.table_main(argv[1:])
    args = parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in ("projects", "transitions", "inbox_calls", "overdue_repeats"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    started = time.perf_counter()
    load_start = _loadavg()
    now = datetime.now(UTC)
    today = zone_today(now)
    url = normalise_url(args.database_url)
    try:
        engine, version = fresh_database(url, now=now, force=args.force)
    except RefusedDatabase as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
    kind = engine.dialect.name
    log(f"{kind}: schema migrated, definition {version.version}; loading {sizes['projects']:,} projects")
    data = load(engine, version, projects=sizes["projects"], now=now, today=today, log=log)
    hand = HandWritten(engine)
    profile = (lambda name: RESULTS / f"profile-{name}-{kind}.txt") if args.profile else (lambda _: None)
    try:
        hand.create_ideal_indexes()
        log(f"inbox: {sizes['inbox_calls']} calls each")
        inbox = figures.inbox(engine, data, hand, calls=sizes["inbox_calls"], profile_to=profile("inbox"))
        log(f"overdue: {sizes['overdue_repeats']} sweeps each")
        overdue = figures.overdue(engine, data, hand, repeats=sizes["overdue_repeats"],
                                  profile_to=profile("overdue"))
        log(f"transitions: up to {sizes['transitions']} claims each, blocks of {sizes['block']}")
        transitions = figures.transitions(engine, data, hand, count=sizes["transitions"],
                                          block=sizes["block"], now=now,
                                          profile_to=profile("transitions"))
    finally:
        hand.close()
        database = describe(engine)
        engine.dispose()
    figures_ = {"transitions": transitions, "inbox": inbox, "overdue": overdue}
    report = {
        "benchmark": "daiban engine vs hand-written SQL",
        "run_at": now.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else ("full" if sizes["projects"] >= 100_000 else "custom"),
        "database": database,
        "summary": _summary(figures_),
        "all_targets_met": all(f["pass"] for f in figures_.values()),
        "machine": {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__,
                    "platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg_at_start": load_start, "loadavg_at_end": _loadavg()},
        "sizes": data.sizes(),
        "load_seconds": data.seconds,
        **figures_,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    if kind != "postgresql":
        report["note"] = "The targets are set for PostgreSQL; SQLite figures are for comparison."
    if report["mode"] != "full":
        report["note_size"] = ("The inbox and overdue targets are set for 100,000 projects; "
                               "smaller runs are indicative only.")
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    print(text)
    output = args.output or RESULTS / f"latest-{kind}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"wrote {output} ({report['wall_seconds']}s in all)")
    errors = 0
    for name, f in figures_.items():
        if f.get("mismatches"):
            errors += 1
            log(f"ERROR: {name}: engine and hand-written results differ in {f['mismatches']} calls")
    checks = transitions["checks"]
    if checks["tasks_not_assigned_as_planned"] or checks["audit_finding_count"]:
        errors += 1
        log(f"ERROR: transitions: {checks}")
    return 1 if errors else 0


def _summary(figures_: dict) -> dict:
    t, i, o = figures_["transitions"], figures_["inbox"], figures_["overdue"]
    return {
        "transitions": {"rate_engine": t["engine"]["rate_per_s"], "rate_sql": t["sql"]["rate_per_s"],
                        "ratio": t["ratio"], "target": t["target"], "pass": t["pass"]},
        "inbox": {"p50_engine_ms": i["engine"]["p50_ms"], "p95_engine_ms": i["engine"]["p95_ms"],
                  "p50_sql_ms": i["sql"]["p50_ms"], "p95_sql_ms": i["sql"]["p95_ms"],
                  "p95_ratio": i["p95_ratio"], "target": i["target"], "pass": i["pass"]},
        "overdue": {"rows": o["rows"], "p50_engine_ms": o["engine"]["p50_ms"],
                    "p95_engine_ms": o["engine"]["p95_ms"], "p50_sql_ms": o["sql"]["p50_ms"],
                    "p95_sql_ms": o["sql"]["p95_ms"], "p95_ratio": o["p95_ratio"],
                    "target": o["target"], "pass": o["pass"]},
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None

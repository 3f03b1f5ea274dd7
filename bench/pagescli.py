"""``python -m bench pages``: the pages figure (see ``bench.pages`` and bench/README.md)."""

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
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session

from bench import pages, pagesql
from bench.database import (
    DEFAULT_URL,
    RefusedDatabase,
    _check_throwaway,
    describe,
    fresh_database,
    normalise_url,
)
from bench.dataset import load
from bench.pagesdata import GENERATOR, PagesData
from workflow import migrate
from workflow.core import audit, predict, rollups, workload
from workflow.core.operations import zone_today
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import FigureClosedTotal
from workflow.reforms.land import forecast as land_forecast
from workflow.reforms.land.models import InvestmentAgreement

RESULTS = Path(__file__).parent / "results"


def size_label(projects: int) -> str:
    if projects % 1_000_000 == 0:
        return f"{projects // 1_000_000}m"
    if projects % 1_000 == 0:
        return f"{projects // 1_000}k"
    return str(projects)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench pages",
        description="Serve the app with gunicorn on a loaded zone and measure every list page, "
                    "API list and export against hand-written SQL, and the HTTP write path "
                    "against the engine.")
    parser.add_argument("--projects", type=int, default=100_000, help="projects to load (100,000)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (default: daiban_bench_pages_<size> on 127.0.0.1). "
                             "WIPED unless --reuse finds the same data set in it.")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database if it already holds a data set of this size "
                             "(loading 1 M projects takes minutes)")
    parser.add_argument("--calls", type=int, default=10, help="timed calls per page and side (10)")
    parser.add_argument("--export-calls", type=int, default=1, help="timed calls per export (1)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers for pages (2)")
    parser.add_argument("--write-workers", type=int, default=4,
                        help="gunicorn workers for the write path (4)")
    parser.add_argument("--write-clients", type=int, default=8,
                        help="concurrent clients on each side of the write path (8)")
    parser.add_argument("--write-seconds", type=float, default=10.0, help="seconds per write block")
    parser.add_argument("--write-blocks", type=int, default=2,
                        help="blocks per side of the write path, alternating ABBA (2)")
    parser.add_argument("--only", default=None,
                        help="comma-separated page names or prefixes (agent, lead.desk, export, "
                             "write, ...)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds a page may take before it counts as timed out (120)")
    parser.add_argument("--worker-memory-mb", type=int, default=6144,
                        help="address-space limit of each gunicorn worker (6144): a page that needs "
                             "more fails with MemoryError instead of exhausting the machine")
    parser.add_argument("--drop-indexes", action="store_true",
                        help="drop item_task's secondary indexes for the load and rebuild them "
                             "after it (measured slower at 1 M projects: see bench/README.md)")
    parser.add_argument("--force", action="store_true",
                        help="wipe the database even if its name does not contain 'bench'")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the JSON (default bench/results/pages-<size>.json)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench pages {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _default_url(projects: int) -> str:
    return DEFAULT_URL.rsplit("/", 1)[0] + f"/daiban_bench_pages_{size_label(projects)}"


def prepare(args, url: str, now: datetime) -> tuple[sqlalchemy.Engine, dict, bool]:
    """The loaded database: reused when asked and it holds this size, else wiped and loaded."""
    today = zone_today(now)
    if args.reuse:
        _check_throwaway(make_url(url).database or "", args.force)
        try:
            engine = make_engine(url)
            meta = pages.read_meta(engine)
        except sqlalchemy.exc.OperationalError:
            meta = {}
        if meta.get("projects") == args.projects and meta.get("generator") == GENERATOR:
            log(f"reusing the data set loaded on {meta['today']} ({args.projects:,} projects)")
            if meta["today"] != today.isoformat():
                log("note: it was loaded on another day; lights and due dates have moved on")
            # A data set loaded under an older schema gets today's (new indexes, rollups).
            t0 = time.perf_counter()
            migrate.upgrade(engine)
            log(f"schema brought up to date in {time.perf_counter() - t0:.1f}s")
            count_rollups(engine, now, rebuild=False)
            return engine, meta, True
        log(f"no reusable data set of {args.projects:,} projects ({GENERATOR}) in the database: "
            "loading")
    engine, version = fresh_database(url, now=now, force=args.force)
    extension = PagesData(args.projects, today=today, now=now)
    extension.set_version(version.id)
    data = load(engine, version, projects=args.projects, now=now, today=today, log=log,
                extension=extension, drop_indexes=args.drop_indexes)
    context = extension.context()
    meta_rollups = count_rollups(engine, now, rebuild=True)
    with Session(engine) as session:
        codes = [context["long_history_project"]] + [f"BENCH-{p:07d}" for p in (500, 1500)
                                                    if p <= args.projects]
        findings = audit.verify(session, codes)
    meta = {"generator": GENERATOR, "projects": args.projects, "loaded_at": now.isoformat(),
            "today": today.isoformat(), "context": context, "sizes": data.sizes(),
            "load_seconds": data.seconds | meta_rollups, "drop_indexes": args.drop_indexes,
            "audit_check": {"projects": codes, "findings": [str(f) for f in findings]}}
    pages.write_meta(engine, meta)
    return engine, meta, False


def count_rollups(engine: sqlalchemy.Engine, now: datetime, *, rebuild: bool) -> dict:
    """What the engine and the scheduler would have counted had the rows come
    through them: the done-item rollups (recounted after a bulk load, or when
    a reused data set has none yet) and the open items and pipeline as of
    ``now`` (the scheduler's sweep)."""
    seconds = {}
    with transaction(make_session_factory(engine)) as session:
        t0 = time.perf_counter()
        if rebuild or session.scalar(select(FigureClosedTotal.id).limit(1)) is None:
            done = rollups.rebuild_closed(session)
            seconds["rollups_rebuild"] = round(time.perf_counter() - t0, 2)
            log(f"recounted {done:,} done items into the rollups in {seconds['rollups_rebuild']}s")
        t1 = time.perf_counter()
        rollups.refresh(session, now=now)
        seconds["rollups_refresh"] = round(time.perf_counter() - t1, 2)
        log(f"refreshed the open-item and pipeline rollups in {seconds['rollups_refresh']}s")
        if rebuild:
            seconds |= count_predictions(session, now)
    settle(engine)
    return seconds


def count_predictions(session: Session, now: datetime) -> dict:
    """What storing the loaded predictions would have counted: the workload
    rollup (``workload.rebuild``, its GROUP BYs), the agreement misses (the
    land area's ``predictions.stored`` consequence, for the projects with an
    agreement) and the first sweep's claim with its history recount
    (``predict.refresh`` with nothing to recompute)."""
    seconds = {}
    t0 = time.perf_counter()
    written = workload.rebuild(session)
    seconds["workload_rebuild"] = round(time.perf_counter() - t0, 2)
    log(f"counted {written:,} workload_day rows in {seconds['workload_rebuild']}s")
    t1 = time.perf_counter()
    ids = list(session.scalars(select(InvestmentAgreement.project_id)
                               .order_by(InvestmentAgreement.project_id)))
    for start in range(0, len(ids), 5000):
        land_forecast.recount(session, ids[start:start + 5000])
    seconds["agreement_misses"] = round(time.perf_counter() - t1, 2)
    log(f"compared {len(ids):,} agreements with their predictions in "
        f"{seconds['agreement_misses']}s")
    t2 = time.perf_counter()
    predict.refresh(session, now=now, limit=0)
    seconds["history_rebuild"] = round(time.perf_counter() - t2, 2)
    log(f"the first sweep's history recount took {seconds['history_rebuild']}s")
    return seconds


def settle(engine: sqlalchemy.Engine) -> None:
    """Vacuum, analyse and checkpoint what loading, recounting and earlier
    runs wrote, so that autovacuum and the checkpointer do not start in the
    middle of the measurements (they did: single p95s of 3–5× the rest)."""
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
        conn.exec_driver_sql("CHECKPOINT")
    log(f"vacuumed, analysed and checkpointed in {time.perf_counter() - t0:.1f}s")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    now = datetime.now(UTC)
    url = normalise_url(args.database_url or _default_url(args.projects))
    if make_url(url).get_backend_name() != "postgresql":
        print("python -m bench pages: the pages figure runs on PostgreSQL only", file=sys.stderr)
        return 2
    load_start = _loadavg()
    try:
        engine, meta, reused = prepare(args, url, now)
    except RefusedDatabase as exc:
        print(f"python -m bench pages: {exc}", file=sys.stderr)
        return 2
    only = [o.strip() for o in args.only.split(",")] if args.only else None
    options = pages.Options(
        projects=args.projects, database_url=url, reuse=args.reuse, calls=args.calls,
        export_calls=args.export_calls, web_workers=args.web_workers,
        write_workers=args.write_workers, write_clients=args.write_clients,
        write_seconds=args.write_seconds, write_blocks=args.write_blocks, only=only,
        timeout=args.timeout, worker_memory_mb=args.worker_memory_mb,
        drop_indexes=args.drop_indexes, output=args.output, log=log)
    t0 = time.perf_counter()
    indexes = pagesql.create_ideal_indexes(pages.conninfo(url), log=log)
    ideal_seconds = round(time.perf_counter() - t0, 1)
    measured = {"pages": [], "exports": []}
    write = None
    try:
        if any(pages.selected(p.name, only) for p in pages.page_list(meta["context"])) or \
                any(pages.selected(e[0], only) for e in pages.EXPORTS):
            log(f"pages: {args.calls} calls each, timeout {args.timeout:.0f}s")
            measured = pages.run_pages(engine, options, meta["context"], now)
        if pages.selected("write", only):
            log(f"write path: gunicorn -w {args.write_workers}, {args.write_clients} clients a side, "
                f"{args.write_blocks} blocks of {args.write_seconds:.0f}s a side")
            write = pages.run_write(engine, options)
    finally:
        database = describe(engine)
        engine.dispose()
    report = {
        "benchmark": "daiban pages vs hand-written SQL (python -m bench pages)",
        "run_at": now.isoformat(timespec="seconds"),
        "projects": args.projects,
        "summary": pages.summarise(measured["pages"], measured["exports"], write),
        "targets": {"page_p95_ratio_max": pages.PAGE_TARGET, "bytes_max": pages.BYTES_TARGET,
                    "worker_rss_mb_max": pages.RSS_TARGET_MB, "write_ratio_min": pages.WRITE_TARGET},
        "database": database,
        "dataset": {"reused": reused, **{k: meta[k] for k in ("loaded_at", "today", "sizes",
                                                             "load_seconds", "audit_check")}},
        "context": meta["context"],
        "baseline_indexes": indexes, "baseline_index_seconds": ideal_seconds,
        "options": {"calls": args.calls, "export_calls": args.export_calls,
                    "web_workers": args.web_workers, "timeout_s": args.timeout,
                    "worker_memory_mb": args.worker_memory_mb, "only": only},
        "machine": {"python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__,
                    "platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg_at_start": load_start, "loadavg_at_end": _loadavg()},
        **measured,
        "write": write,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    print(text)
    output = args.output or RESULTS / f"pages-{size_label(args.projects)}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"wrote {output} ({report['wall_seconds']}s in all)")
    if write and write["checks"]["problems"]:
        log(f"ERROR: write path: {write['checks']['problems']}")
        return 1
    if meta["audit_check"]["findings"]:
        log(f"ERROR: generated audit chains: {meta['audit_check']['findings'][:3]}")
        return 1
    return 0


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# -- the README's table -------------------------------------------------------------------------

def _cell(page: dict | None) -> str:
    if page is None:
        return "—"
    if page.get("status") == "timeout":
        return f"timed out ({page['timeout_s']:.0f} s)"
    statuses = page.get("status", {})
    if set(statuses) - {200, "200"}:
        return f"HTTP {','.join(map(str, statuses))}"
    p95 = page.get("page", {}).get("p95_ms")
    if p95 is None:
        return f"timed out ({page.get('timeout_s', 0):.0f} s)"
    text = f"{p95:,.0f} ms" if p95 >= 10 else f"{p95:.1f} ms"
    if page.get("p95_ratio") is not None:
        text += f" (×{page['p95_ratio']:,.0f})"
    return text


def _size(page: dict | None) -> str:
    if page is None or "bytes" not in page:
        return "—"
    rows = page.get("rows")
    kb = page["bytes"] / 1000
    size = f"{kb:,.0f} kB" if kb < 10_000 else f"{kb / 1000:,.0f} MB"
    return f"{size}, {rows:,} rows" if rows is not None else size


def _p95(page: dict | None) -> float | None:
    if page is None or set(page.get("status") or {}) - {200, "200"}:
        return None
    return (page.get("page") or page.get("time") or {}).get("p95_ms")


def _growth(first: dict | None, last: dict | None) -> str:
    a, b = _p95(first), _p95(last)
    if a is None:
        return "—"
    if b is None:
        return "∞" if last is not None else "—"
    return f"{b / a:,.1f}"


def table(paths: list[str]) -> str:
    """Markdown: one line per page, p95 (ratio to its first-page SQL) and size per run."""
    reports = [json.loads(Path(p).read_text()) for p in paths]
    labels = [size_label(r["projects"]) for r in reports]
    names: list[str] = []
    for report in reports:
        for page in report["pages"] + report["exports"]:
            if page["name"] not in names:
                names.append(page["name"])
    growth = len(reports) > 1
    head = ["page", *[f"{label}: p95 (×SQL)" for label in labels],
            *([f"p95 {labels[-1]} / {labels[0]}"] if growth else []),
            *[f"{label}: answer" for label in labels]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        found = [next((p for p in r["pages"] + r["exports"] if p["name"] == name), None)
                 for r in reports]
        url = next(p["url"] for p in found if p)
        cells = []
        for page in found:
            if page is not None and "time" in page:  # an export
                page = {**page, "page": page["time"], "calls": 1}
            cells.append(_cell(page))
        if growth:
            cells.append(_growth(found[0], found[-1]))
        lines.append(f"| {name} `{url}` | " + " | ".join(cells + [_size(p) for p in found]) + " |")
    for report, label in zip(reports, labels, strict=True):
        write = report.get("write")
        if write:
            lines.append(f"\nWrite path at {label}: HTTP {write['http']['rate_per_s']} actions/s, "
                         f"engine {write['engine']['rate_per_s']} actions/s, ratio {write['ratio']}.")
    return "\n".join(lines)


def table_main(argv: list[str]) -> int:
    print(table(argv))
    return 0

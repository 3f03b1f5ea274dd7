"""The three figures, each run side by side with its hand-written baseline.

The engine side calls the engine exactly as a request (or the sweep) would:
a fresh session from ``workflow.kernel.db.make_session_factory`` per unit of work,
one engine call, one commit (``workflow.kernel.db.transaction``) or a close. The
baseline side runs on one raw DBAPI connection. The two alternate in blocks
(ABBA order) so that drift and noise land on both.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import random
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, selectinload

from bench.dataset import Dataset
from bench.handwritten import HandWritten
from bench.timing import ratio, summary, timed
from workflow.core import audit, operations, queries
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import ItemTask, Project, User

TRANSITIONS_TARGET = 0.5  # engine rate / hand-written rate, at least
QUERY_TARGET = 2.0  # engine p95 / hand-written p95, at most


def load_users(engine: Engine, ids: list[int]) -> dict[int, User]:
    """Agents with their memberships loaded, detached, as a request would hold them."""
    with Session(engine, expire_on_commit=False) as session:
        users = session.scalars(select(User).where(User.id.in_(ids))
                                .options(selectinload(User.memberships))).all()
        return {u.id: u for u in users}


# -- (1) transitions ---------------------------------------------------------------------

def transitions(engine: Engine, data: Dataset, hand: HandWritten, *, count: int, block: int,
                now: datetime, seed: int = 7, profile_to: Path | None = None) -> dict:
    """Claim ``count`` ready tasks through ``operations.claim_task`` and ``count``
    others by hand, one transaction each, alternating blocks of ``block``."""
    rng = random.Random(seed)
    warmup = 20
    profile_n = block if profile_to else 0
    with engine.connect() as conn:
        ready = conn.execute(select(ItemTask.id, ItemTask.group_id)
                             .where(ItemTask.state == "ready").order_by(ItemTask.id)).all()
    if len(ready) < 2 * (count + warmup) + profile_n:
        count = max(1, (len(ready) - profile_n) // 2 - warmup)  # a small --projects run
    needed = 2 * (count + warmup) + profile_n
    if len(ready) < needed:
        raise SystemExit(f"only {len(ready)} ready tasks: load more --projects")
    picked = rng.sample(ready, needed)
    by_group: dict[int, list] = {}
    for agent in data.agents:
        for group_id in agent.group_ids:
            by_group.setdefault(group_id, []).append(agent)
    plan = [(task_id, rng.choice(by_group[group_id])) for task_id, group_id in picked]
    users = load_users(engine, [a.id for a in data.agents])
    factory = make_session_factory(engine)

    def engine_claim(task_id, agent):
        with transaction(factory) as session:
            operations.claim_task(session, task_id, actor=users[agent.id], now=now)

    def hand_claim(task_id, agent):
        hand.claim(task_id, agent.id, agent.username, frozenset(agent.group_ids), now)

    engine_plan = plan[0:needed - profile_n:2]
    hand_plan = plan[1:needed - profile_n:2]
    for task_id, agent in engine_plan[:warmup]:
        engine_claim(task_id, agent)
    for task_id, agent in hand_plan[:warmup]:
        hand_claim(task_id, agent)
    engine_plan, hand_plan = engine_plan[warmup:], hand_plan[warmup:]
    samples: dict[str, list[float]] = {"engine": [], "sql": []}
    sides = {"engine": (engine_claim, engine_plan), "sql": (hand_claim, hand_plan)}
    for n, start in enumerate(range(0, count, block)):
        order = ("engine", "sql") if n % 2 == 0 else ("sql", "engine")
        for side in order:
            fn, side_plan = sides[side]
            gc.collect(1)
            for task_id, agent in side_plan[start:start + block]:
                seconds, _ = timed(lambda t=task_id, a=agent, f=fn: f(t, a), collect=False)
                samples[side].append(seconds)
    if profile_to:
        _profile(profile_to, lambda: [engine_claim(t, a) for t, a in plan[needed - profile_n:]])

    # Both sides did the work: every task assigned to its agent, every chain intact.
    touched = [t for t, _ in engine_plan + hand_plan]
    with Session(engine) as session:
        rows = session.execute(select(ItemTask.id, ItemTask.state, ItemTask.assignee_id)
                               .where(ItemTask.id.in_(touched))).all()
        expected = {t: a.id for t, a in engine_plan + hand_plan}
        wrong = [r.id for r in rows if r.state != "assigned" or r.assignee_id != expected[r.id]]
        codes = session.scalars(select(Project.code).join(ItemTask, ItemTask.project_id == Project.id)
                                .where(ItemTask.id.in_(touched)).distinct()).all()
        findings = audit.verify(session, codes)
    rate = {side: len(s) / sum(s) for side, s in samples.items()}
    result = {
        "what": "claim_task (ready → assigned): lock project+task, fire, audit, commit; "
                "one transaction each",
        "count_each": count, "block": block,
        "engine": {"rate_per_s": round(rate["engine"], 1), **summary(samples["engine"])},
        "sql": {"rate_per_s": round(rate["sql"], 1), **summary(samples["sql"])},
        "ratio": ratio(rate["engine"], rate["sql"]),
        "target": f"ratio >= {TRANSITIONS_TARGET}",
        "checks": {"tasks_not_assigned_as_planned": len(wrong), "projects_verified": len(codes),
                   "audit_findings": [str(f) for f in findings[:5]], "audit_finding_count": len(findings)},
    }
    result["pass"] = result["ratio"] >= TRANSITIONS_TARGET and not wrong and not findings
    return result


# -- (2) inbox ---------------------------------------------------------------------------

def inbox(engine: Engine, data: Dataset, hand: HandWritten, *, calls: int, limit: int = 50,
          profile_to: Path | None = None) -> dict:
    """``queries.inbox`` against the hand-written inbox, alternating call by call."""
    users = load_users(engine, [a.id for a in data.agents])
    factory = make_session_factory(engine)
    multi = {a.id for a in data.agents if len(a.group_ids) > 1}

    def engine_inbox(user_id):
        with factory() as session:
            return [t.id for t in queries.inbox(session, users[user_id], limit)]

    def hand_inbox(user_id):
        return [row[0] for row in hand.inbox(user_id, limit)]

    agents = [data.agents[n % len(data.agents)].id for n in range(calls)]
    for user_id in agents[:len(data.agents)]:  # warm-up: one call per agent each
        engine_inbox(user_id)
        hand_inbox(user_id)
    samples: dict[str, list[float]] = {"engine": [], "sql": []}
    by_kind: dict[str, dict[str, list[float]]] = {"single_group": {"engine": [], "sql": []},
                                                  "multi_group": {"engine": [], "sql": []}}
    mismatches = []
    for n, user_id in enumerate(agents):
        results = {}
        order = (("engine", engine_inbox), ("sql", hand_inbox))
        for side, fn in (order if n % 2 == 0 else order[::-1]):
            seconds, results[side] = timed(lambda f=fn, u=user_id: f(u))
            samples[side].append(seconds)
            by_kind["multi_group" if user_id in multi else "single_group"][side].append(seconds)
        if results["engine"] != results["sql"]:
            mismatches.append({"user": user_id, "engine": results["engine"][:5],
                               "sql": results["sql"][:5], "lengths": [len(results["engine"]),
                                                                      len(results["sql"])]})
    if profile_to:
        _profile(profile_to, lambda: [engine_inbox(u) for u in agents])
    result = {
        "what": f"queries.inbox (own open tasks + groups' queue, by due date, first {limit}, "
                "tasks loaded with their project)",
        "calls_each": calls,
        "engine": summary(samples["engine"]), "sql": summary(samples["sql"]),
        "p95_ratio": ratio(summary(samples["engine"])["p95_ms"], summary(samples["sql"])["p95_ms"]),
        "p50_ratio": ratio(summary(samples["engine"])["p50_ms"], summary(samples["sql"])["p50_ms"]),
        "target": f"p95_ratio <= {QUERY_TARGET}",
        "by_agent_kind": {
            kind: {"calls": len(s["engine"]), "engine": summary(s["engine"]), "sql": summary(s["sql"]),
                   "p95_ratio": ratio(summary(s["engine"])["p95_ms"], summary(s["sql"])["p95_ms"])}
            for kind, s in by_kind.items() if s["engine"]},
        "mismatches": len(mismatches), "mismatch_examples": mismatches[:3],
        "plans": _inbox_plans(engine, hand, users, agents, multi, limit),
    }
    result["pass"] = result["p95_ratio"] <= QUERY_TARGET and not mismatches
    return result


# -- (3) overdue sweep -------------------------------------------------------------------

def overdue(engine: Engine, data: Dataset, hand: HandWritten, *, repeats: int,
            profile_to: Path | None = None) -> dict:
    """``queries.overdue`` (every overdue task) against the hand-written sweep."""
    factory = make_session_factory(engine)
    today = data.today

    def engine_sweep():
        with factory() as session:
            return [t.id for t in queries.overdue(session, today)]

    def hand_sweep():
        return [row[0] for row in hand.overdue(today)]

    engine_sweep()
    hand_sweep()
    samples: dict[str, list[float]] = {"engine": [], "sql": []}
    mismatches = 0
    rows = 0
    for n in range(repeats):
        results = {}
        order = (("engine", engine_sweep), ("sql", hand_sweep))
        for side, fn in (order if n % 2 == 0 else order[::-1]):
            seconds, results[side] = timed(fn)
            samples[side].append(seconds)
        mismatches += results["engine"] != results["sql"]
        rows = len(results["sql"])
    if profile_to:
        _profile(profile_to, lambda: [engine_sweep() for _ in range(3)])
    result = {
        "what": "queries.overdue(session, today): every task whose clock runs and is past due, "
                "by due date, as ItemTask objects",
        "repeats_each": repeats, "rows": rows,
        "engine": summary(samples["engine"]), "sql": summary(samples["sql"]),
        "p95_ratio": ratio(summary(samples["engine"])["p95_ms"], summary(samples["sql"])["p95_ms"]),
        "p50_ratio": ratio(summary(samples["engine"])["p50_ms"], summary(samples["sql"])["p50_ms"]),
        "target": f"p95_ratio <= {QUERY_TARGET}",
        "mismatches": mismatches,
        "plans": _overdue_plans(engine, hand, factory, today),
    }
    result["pass"] = result["p95_ratio"] <= QUERY_TARGET and not mismatches
    return result


# -- plans and profiles ---------------------------------------------------------------------

def capture_statements(engine: Engine, fn: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements (and DBAPI parameters) ``fn`` sends through ``engine``."""
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def explain(engine: Engine, statement: str, parameters: object) -> dict:
    """Indexes the planner picks for ``statement`` (and, on PostgreSQL, its
    estimated cost and whether a sort or sequential scan is involved)."""
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        if engine.dialect.name == "postgresql":
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            plan = cur.fetchone()[0]
            raw.driver_connection.rollback()
            text = json.dumps(plan)
            return {"indexes": sorted(set(re.findall(r'"Index Name": "([^"]+)"', text))),
                    "nodes": sorted(set(re.findall(r'"Node Type": "([^"]+)"', text))),
                    "execution_ms": round(plan[0]["Execution Time"], 3)}
        cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        details = [row[-1] for row in cur.fetchall()]
        return {"indexes": sorted(set(re.findall(r"INDEX (\w+)", " ".join(details)))),
                "detail": details}
    finally:
        raw.close()


def _with_session(factory, fn):
    with factory() as session:
        return fn(session)


def _select_statements(engine, fn) -> list[tuple[str, object]]:
    return [(s, p) for s, p in capture_statements(engine, fn)
            if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def _inbox_plans(engine, hand, users, agents, multi, limit) -> dict:
    factory = make_session_factory(engine)
    plans = {}
    for kind, user_id in (("single_group", next(a for a in agents if a not in multi)),
                          ("multi_group", next((a for a in agents if a in multi), None))):
        if user_id is None:
            continue
        statements = _select_statements(engine, lambda u=user_id: _with_session(
            factory, lambda session: queries.inbox(session, users[u], limit)))
        plans[kind] = {"engine": [explain(engine, s, p) for s, p in statements]}
        if hand.pg:
            plans[kind]["sql"] = [explain(engine, *hand.inbox_statement(user_id, limit))]
    return plans


def _overdue_plans(engine, hand, factory, today) -> dict:
    statements = _select_statements(engine, lambda: _with_session(
        factory, lambda session: queries.overdue(session, today)))
    return {"engine": [explain(engine, s, p) for s, p in statements],
            "sql": [explain(engine, *hand.overdue_statement(today))]}


def _profile(path: Path, fn: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue())

"""A synthetic zone loaded in bulk: N projects × the 14 unified items.

The mix is meant to look like a zone some years in: most projects have
finished their unified items, a share are early (only the survey open) or in
the middle (items 2–14 spread over the item states, dependants blocked until
their prerequisites close), a few are suspended or terminated. Open tasks were
accepted up to ~45 days ago and are due by their legal limit (working days ≈
calendar × 5/7), so roughly a third of the running clocks are overdue.

Rows are written with PostgreSQL ``COPY`` (psycopg's ``cursor.copy``) or
SQLite ``executemany`` in one transaction, bypassing the engine on purpose:
creating 1.4 million tasks through ``mandate_project`` would take hours. The
loaded projects have an empty audit chain (``audit_seq`` 0, ``audit_head``
''), which ``workflow.audit.verify`` accepts; the benchmark's own transitions
append the first events.
"""

from __future__ import annotations

import gc
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from definitions import Definition
from workflow import clock, lights
from workflow.models import (
    DefinitionVersion,
    Enterprise,
    GroupMembership,
    IndustryGroup,
    ItemTask,
    Project,
    User,
)
from workflow.registry import definition_of

ENTERPRISE_COLUMNS = ("id", "name", "credit_code", "contact_name", "contact_phone")
PROJECT_COLUMNS = ("id", "code", "name", "enterprise_id", "industry", "group_id", "lead_id",
                   "parcel", "investment_wan", "stage", "suspended_from", "definition_version_id",
                   "created_at", "audit_seq", "audit_head", "version")
TASK_COLUMNS = ("id", "project_id", "item_code", "state", "group_id", "department", "assignee_id",
                "accepted_on", "due_on", "due_provisional", "warn_on", "paused_working_days",
                "paused_since", "extension_days", "covered_ref", "suspended_from", "closed_on",
                "updated_at", "version")

# Agents per group (21 in all); two of them also serve a second group (staff
# of the administrative committee lent to two groups), so "their groups'
# queue" is sometimes two queues.
AGENTS_PER_GROUP = (4, 4, 4, 4, 5)
SECOND_GROUP = {0: 1, 8: 3}  # agent index → index of the extra group

# Phase of a project (cumulative share) and the state mix of an open item.
PHASES = (("finished", 0.62), ("terminated", 0.64), ("suspended", 0.66), ("early", 0.74),
          ("middle", 1.0))
ITEM_MIX = (("done", 35), ("covered", 8), ("ready", 22), ("assigned", 10), ("in_progress", 13),
            ("awaiting_enterprise", 5), ("submitted", 4), ("returned", 1), ("approved", 2))
EARLY_MIX = (("ready", 50), ("assigned", 20), ("in_progress", 20), ("awaiting_enterprise", 10))
WORKED = frozenset(("assigned", "in_progress", "awaiting_enterprise", "submitted", "returned",
                    "approved"))


@dataclass(frozen=True)
class Agent:
    id: int
    username: str
    group_ids: tuple[int, ...]


@dataclass
class Dataset:
    projects: int
    tasks: int
    enterprises: int
    today: date
    agents: list[Agent]
    group_ids: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    state_counts: dict[str, int] = field(default_factory=dict)

    def sizes(self) -> dict:
        return {"projects": self.projects, "items_per_project": 14, "tasks": self.tasks,
                "enterprises": self.enterprises, "agents": len(self.agents),
                "multi_group_agents": sum(len(a.group_ids) > 1 for a in self.agents),
                "groups": len(self.group_ids), "today": self.today.isoformat(),
                "task_states": self.state_counts}


# -- people -------------------------------------------------------------------------

def _add_people(session: Session, definition: Definition
                ) -> tuple[dict[str, int], list[Agent], dict[int, int]]:
    groups = {g.code: g.id for g in session.scalars(select(IndustryGroup))}
    codes = list(definition.groups)
    leads: dict[int, int] = {}
    for n, code in enumerate(codes, 1):
        lead = User(username=f"lead{n}", display_name=f"专班组长{n}", role="lead", active=True,
                    away=False)
        session.add(lead)
        session.flush()
        session.add(GroupMembership(group_id=groups[code], user_id=lead.id))
        leads[groups[code]] = lead.id
    agents: list[Agent] = []
    index = 0
    for code, size in zip(codes, AGENTS_PER_GROUP, strict=True):
        departments = definition.groups[code].departments
        for k in range(size):
            user = User(username=f"agent{index + 1:02d}", display_name=f"代办员{index + 1}",
                        role="agent", department=departments[k % len(departments)], active=True,
                        away=False)
            session.add(user)
            session.flush()
            member_of = [groups[code]]
            if index in SECOND_GROUP:
                member_of.append(groups[codes[SECOND_GROUP[index]]])
            for group_id in member_of:
                session.add(GroupMembership(group_id=group_id, user_id=user.id))
            agents.append(Agent(user.id, user.username, tuple(member_of)))
            index += 1
    session.flush()
    return groups, agents, leads


# -- rows ---------------------------------------------------------------------------

def _picker(mix):
    states = [s for s, _ in mix]
    cum, total = [], 0
    for _, weight in mix:
        total += weight
        cum.append(total)
    return states, cum


def generate(definition: Definition, version_id: int, groups: dict[str, int], agents: list[Agent],
             leads: dict[int, int], *, projects: int, today: date, now: datetime, seed: int = 20260105):
    """(enterprises, projects, tasks) as lists of tuples in the column orders above."""
    rng = random.Random(seed)
    items = [i for i in definition.items.values() if i.category == "unified_service"][:14]
    due_cache: dict[tuple[date, str], tuple[date, bool, date]] = {}

    def due_for(accepted: date, item) -> tuple[date, bool, date]:
        """(due_on, due_provisional, warn_on) as ``operations.recompute_due`` sets them."""
        key = (accepted, item.code)
        value = due_cache.get(key)
        if value is None:
            due = clock.due_date(accepted, item.limit.amount, calendar_days=item.limit.calendar_days)
            value = due_cache[key] = (due.date, due.provisional,
                                      lights.first_yellow_day(accepted, due.date))
        return value
    coverable = {i.code for i in items if i.coverage.evaluation}
    industries = list(definition.industries.values())
    by_group: dict[int, list[int]] = {}
    for agent in agents:
        for group_id in agent.group_ids:
            by_group.setdefault(group_id, []).append(agent.id)
    mix_states, mix_cum = _picker(ITEM_MIX)
    early_states, early_cum = _picker(EARLY_MIX)
    days = {}

    def day(offset: int) -> date:
        value = days.get(offset)
        if value is None:
            value = days[offset] = today + timedelta(days=offset)
        return value

    n_enterprises = max(1, projects // 4)
    enterprises = [(e, f"基准企业{e}有限公司", f"91BENCH{e:011d}", f"联系人{e % 97}",
                    f"1390000{e % 10000:04d}") for e in range(1, n_enterprises + 1)]
    project_rows, task_rows = [], []
    task_id = 0
    for pid in range(1, projects + 1):
        industry = industries[rng.randrange(len(industries))]
        group_id = groups[industry.group]
        staff = by_group[group_id]
        r = rng.random()
        phase = next(name for name, upto in PHASES if r < upto)
        age = rng.randint(150, 900) if phase == "finished" else rng.randint(30, 160)
        stage, suspended_from = {"finished": ("started", None), "terminated": ("terminated", None),
                                 "suspended": ("suspended", "approving")}.get(phase, ("approving", None))
        project_rows.append((
            pid, f"BENCH-{pid:07d}", f"基准项目{pid}", rng.randint(1, n_enterprises), industry.code,
            group_id, leads[group_id], f"ZY-{pid % 900:03d}", rng.randint(500, 500000), stage,
            suspended_from, version_id, now - timedelta(days=age), 0, "", 1))
        states: dict[str, str] = {}
        for position, item in enumerate(items):
            code = item.code
            prerequisites_closed = all(states[r] in ("done", "covered") for r in item.requires)
            if phase == "finished":
                state = "covered" if code in coverable and rng.random() < 0.1 else "done"
            elif position == 0:
                state = early_states[_pick(rng, early_cum)] if phase == "early" else "done"
            elif not prerequisites_closed:
                state = "blocked"
            else:
                state = mix_states[_pick(rng, mix_cum)]
                if state == "covered" and code not in coverable:
                    state = "done"
            if phase == "terminated" and state not in ("done", "covered"):
                state = "terminated"
            states[code] = state
            task_id += 1
            task_rows.append(_task_row(rng, task_id, pid, item, state, group_id, staff, phase,
                                       age, due_for, day, now))
    return enterprises, project_rows, task_rows


def _pick(rng: random.Random, cum: list[int]) -> int:
    x = rng.random() * cum[-1]
    for n, upto in enumerate(cum):
        if x < upto:
            return n
    return len(cum) - 1


def _task_row(rng, task_id, pid, item, state, group_id, staff, phase, age, due_for, day, now):
    assignee = accepted = due = warn = paused_since = covered = suspended_from = closed = None
    provisional = False
    if state == "blocked":
        pass
    elif state in ("done", "covered", "terminated"):
        accepted = day(-age + rng.randint(0, 20) if phase == "finished" else -rng.randint(25, 90))
        due, provisional, warn = due_for(accepted, item)
        closed = min(accepted + timedelta(days=rng.randint(2, 30)), day(0))
        if state == "covered":
            covered = f"evaluation: RE-{pid % 900:03d}-{item.code}"
    else:
        accepted = day(-rng.randint(0, 45))
        due, provisional, warn = due_for(accepted, item)
        if phase == "suspended":
            suspended_from, state = state, "suspended"
            paused_since = day(-rng.randint(1, 20))
        if state == "awaiting_enterprise":
            paused_since = day(-rng.randint(0, 10))
        if state in WORKED or suspended_from in WORKED:
            assignee = staff[rng.randrange(len(staff))]
    return (task_id, pid, item.code, state, group_id, item.department, assignee, accepted, due,
            provisional, warn, 0, paused_since, 0, covered, suspended_from, closed,
            now if state != "blocked" else None, 1)


# -- writing ------------------------------------------------------------------------

def _present(model, columns: tuple[str, ...], rows: list[tuple]):
    """(table, columns, rows) keeping only the columns the model still has, so
    that the loader survives a column being dropped or renamed; a new column
    the loader does not know is left to its default (NULL)."""
    table = model.__table__
    keep = [n for n, c in enumerate(columns) if c in table.c]
    if len(keep) == len(columns):
        return table.name, columns, rows
    return (table.name, tuple(columns[n] for n in keep),
            [tuple(row[n] for n in keep) for row in rows])


def _copy_pg(engine: Engine, tables: list[tuple[str, tuple[str, ...], list[tuple]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            # The rows are generated consistent; per-row foreign-key triggers
            # would triple the load time and check nothing the generator can
            # get wrong. CHECK constraints and unique indexes still apply.
            cur.execute("SET LOCAL session_replication_role = replica")
            for table, columns, rows in tables:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for table, _, _ in tables:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
    finally:
        raw.close()


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _insert_sqlite(engine: Engine, tables: list[tuple[str, tuple[str, ...], list[tuple]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.execute("BEGIN IMMEDIATE")
        for table, columns, rows in tables:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for start in range(0, len(rows), 50_000):
                conn.executemany(sql, [tuple(map(_sqlite_value, row))
                                       for row in rows[start:start + 50_000]])
        conn.execute("COMMIT")
    finally:
        raw.close()


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        # VACUUM too: freshly copied pages are not yet all-visible, so index-only
        # scans would still visit the heap until autovacuum came by.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) enterprise, project, item_task, user_account, "
                                 "group_membership")
    else:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("ANALYZE")
        finally:
            raw.close()


def load(engine: Engine, version: DefinitionVersion, *, projects: int, now: datetime,
         today: date, log=print) -> Dataset:
    """Create the people, then bulk-load enterprises, projects and tasks."""
    definition = definition_of(version)
    t0 = time.perf_counter()
    with Session(engine) as session:
        groups, agents, leads = _add_people(session, definition)
        session.commit()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector only slows the build
    try:
        enterprises, project_rows, task_rows = generate(
            definition, version.id, groups, agents, leads, projects=projects, today=today, now=now)
        t1 = time.perf_counter()
        log(f"generated {len(project_rows):,} projects / {len(task_rows):,} tasks in {t1 - t0:.1f}s")
        tables = [_present(Enterprise, ENTERPRISE_COLUMNS, enterprises),
                  _present(Project, PROJECT_COLUMNS, project_rows),
                  _present(ItemTask, TASK_COLUMNS, task_rows)]
        if engine.dialect.name == "postgresql":
            _copy_pg(engine, tables)
        else:
            _insert_sqlite(engine, tables)
        t2 = time.perf_counter()
        log(f"wrote rows in {t2 - t1:.1f}s")
    finally:
        if gc_was_enabled:
            gc.enable()
    _analyze(engine)
    t3 = time.perf_counter()
    log(f"analyzed in {t3 - t2:.1f}s")
    counts = Counter(row[3] for row in task_rows)
    dataset = Dataset(projects=len(project_rows), tasks=len(task_rows), enterprises=len(enterprises),
                      today=today, agents=agents, group_ids=groups,
                      state_counts=dict(sorted(counts.items(), key=lambda kv: -kv[1])))
    dataset.seconds = {"generate": round(t1 - t0, 2), "write": round(t2 - t1, 2),
                       "analyze": round(t3 - t2, 2), "total": round(t3 - t0, 2)}
    return dataset

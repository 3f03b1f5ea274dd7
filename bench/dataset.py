"""A synthetic zone loaded in bulk: N projects × the 14 unified items.

The mix is meant to look like a zone some years in: most projects have
finished their unified items, a share are early (only the survey open) or in
the middle (items 2–14 spread over the item states, dependants blocked until
their prerequisites close), a few are suspended or terminated. Open tasks were
accepted up to ~45 days ago and are due by their legal limit (working days ≈
calendar × 5/7), so roughly a third of the running clocks are overdue.

Rows are generated a chunk of projects at a time and written with PostgreSQL
``COPY`` (psycopg's ``cursor.copy``) or SQLite ``executemany``, all in one
transaction, bypassing the engine on purpose:
creating 1.4 million tasks through ``mandate_project`` would take hours. The
loaded projects have an empty audit chain (``audit_seq`` 0, ``audit_head``
''), which ``workflow.core.audit.verify`` accepts; the benchmark's own transitions
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
from workflow.core import lights
from workflow.kernel import clock
from workflow.kernel.registry import definition_of
from workflow.models import (
    DefinitionVersion,
    Enterprise,
    GroupMembership,
    IndustryGroup,
    ItemTask,
    Project,
    User,
)

ENTERPRISE_COLUMNS = ("id", "name", "credit_code", "contact_name", "contact_phone")
PROJECT_COLUMNS = ("id", "code", "name", "enterprise_id", "industry", "group_id", "lead_id",
                   "parcel", "investment_wan", "stage", "suspended_from", "definition_version_id",
                   "created_at", "audit_seq", "audit_head", "version")
TASK_COLUMNS = ("id", "project_id", "item_code", "state", "group_id", "department", "assignee_id",
                "released_on", "submitted_on", "accepted_on", "decided_on", "clock",
                "service_due_on", "statutory_due_on", "due_on", "due_provisional", "warn_on",
                "service_paused_days", "statutory_paused_days", "paused_since",
                "service_extension_days", "extension_days", "covered_ref", "suspended_from",
                "closed_on", "updated_at", "version")

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
# With the department (the statutory clock runs or ran); the others are with the agents.
WITH_DEPARTMENT = frozenset(("submitted", "approved", "done"))


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


def generate_chunks(definition: Definition, version_id: int, groups: dict[str, int],
                    agents: list[Agent], leads: dict[int, int], *, projects: int, today: date,
                    now: datetime, seed: int = 20260105, chunk: int = 20_000):
    """The projects and tasks in chunks of ``chunk`` projects: yields
    ``(project_rows, task_rows)`` (tuples in the column orders above), so that
    memory stays flat however many projects are loaded. The random sequence is
    the same whatever the chunk size: the rows are those of ``generate``."""
    rng = random.Random(seed)
    items = [i for i in definition.items.values() if i.category == "unified_service"][:14]
    due_cache: dict[tuple[date, str, bool], tuple[date, bool, date]] = {}

    def due_for(start: date, item, service: bool = False) -> tuple[date, bool, date]:
        """(due_on, due_provisional, warn_on) of the service or the statutory
        clock started on ``start``, as ``operations.recompute_due`` sets them."""
        key = (start, item.code, service)
        value = due_cache.get(key)
        if value is None:
            limit = item.service_limit if service else item.limit
            due = clock.due_date(start, limit.amount, calendar_days=limit.calendar_days)
            value = due_cache[key] = (due.date, due.provisional,
                                      lights.first_yellow_day(start, due.date))
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

    n_enterprises = enterprise_count(projects)
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
        if len(project_rows) >= chunk:
            yield project_rows, task_rows
            project_rows, task_rows = [], []
    if project_rows:
        yield project_rows, task_rows


def enterprise_count(projects: int) -> int:
    return max(1, projects // 4)


def enterprise_rows(projects: int) -> list[tuple]:
    return [(e, f"基准企业{e}有限公司", f"91BENCH{e:011d}", f"联系人{e % 97}",
             f"1390000{e % 10000:04d}") for e in range(1, enterprise_count(projects) + 1)]


def generate(definition: Definition, version_id: int, groups: dict[str, int], agents: list[Agent],
             leads: dict[int, int], *, projects: int, today: date, now: datetime, seed: int = 20260105):
    """(enterprises, projects, tasks) as whole lists of tuples (small sizes only)."""
    project_rows, task_rows = [], []
    for p, t in generate_chunks(definition, version_id, groups, agents, leads, projects=projects,
                                today=today, now=now, seed=seed):
        project_rows += p
        task_rows += t
    return enterprise_rows(projects), project_rows, task_rows


def _pick(rng: random.Random, cum: list[int]) -> int:
    x = rng.random() * cum[-1]
    for n, upto in enumerate(cum):
        if x < upto:
            return n
    return len(cum) - 1


def _task_row(rng, task_id, pid, item, state, group_id, staff, phase, age, due_for, day, now):
    """One task on its two clocks: released, then (with the department or
    done) submitted and accepted the same day, decided when done; the due
    date of the clock it is on, about a third of the running ones overdue."""
    assignee = released = submitted = accepted = decided = clock_name = None
    service_due = statutory_due = due = warn = paused_since = covered = suspended_from = None
    closed = None
    provisional = False
    effective = state
    if state == "blocked":
        pass
    elif state in ("done", "covered", "terminated"):
        released = day(-age + rng.randint(0, 20) if phase == "finished" else -rng.randint(25, 90))
        closed = min(released + timedelta(days=rng.randint(2, 30)), day(0))
        service_due = due_for(released, item, service=True)[0]
        clock_name = "service"
        if state == "done":
            submitted = accepted = min(released + timedelta(days=rng.randint(0, 4)), closed)
            decided, clock_name = closed, "statutory"
            statutory_due = due_for(accepted, item)[0]
        elif state == "covered":
            covered = f"evaluation: RE-{pid % 900:03d}-{item.code}"
    else:
        if phase == "suspended":
            suspended_from, state = state, "suspended"
            paused_since = day(-rng.randint(1, 20))
        effective = suspended_from or state
        if effective in WITH_DEPARTMENT:
            submitted = day(-rng.randint(0, 45))
            released = submitted - timedelta(days=rng.randint(0, 4))
            accepted = submitted if effective == "approved" else None
            decided = day(0) if effective == "approved" else None
            clock_name = "statutory"
        else:
            released = day(-rng.randint(0, 10))
            clock_name = "service"
        if state == "awaiting_enterprise":
            paused_since = day(-rng.randint(0, 10))
        if state in WORKED or suspended_from in WORKED:
            assignee = staff[rng.randrange(len(staff))]
        service_due = due_for(released, item, service=True)[0]
    if clock_name == "statutory":
        statutory_due, provisional, warn = due_for(accepted or submitted, item)
        due = statutory_due
    elif clock_name == "service":
        due, provisional, warn = due_for(released, item, service=True)
    return (task_id, pid, item.code, state, group_id, item.department, assignee, released,
            submitted, accepted, decided, clock_name, service_due, statutory_due, due,
            provisional, warn, 0, 0, paused_since, 0, 0, covered, suspended_from, closed,
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


class _PgWriter:
    """Rows into PostgreSQL with ``COPY``, in one transaction, table by table
    and chunk by chunk (a table may be written many times)."""

    def __init__(self, engine: Engine, drop_indexes: bool = False) -> None:
        self._raw = engine.raw_connection()
        self.conn = self._raw.driver_connection
        self.cur = self.conn.cursor()
        self.tables: list[str] = []
        self.columns: dict[str, tuple[str, ...]] = {}
        self.index_seconds = 0.0
        # The rows are generated consistent; per-row foreign-key triggers
        # would triple the load time and check nothing the generator can
        # get wrong. CHECK constraints and unique indexes still apply (unique
        # ones again when they are rebuilt after the load).
        self.cur.execute("SET LOCAL session_replication_role = replica")
        self.cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        self._dropped: list[tuple[str, str | None, str]] = []
        if drop_indexes:
            self._drop_task_indexes()

    def _drop_task_indexes(self) -> None:
        """Drop item_task's secondary indexes (and the unique constraint's)
        for the load; ``finish`` builds them again from their definitions."""
        self.cur.execute(
            "SELECT i.relname, c.conname, coalesce(pg_get_constraintdef(c.oid), "
            "pg_get_indexdef(i.oid)) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
            "WHERE x.indrelid = 'item_task'::regclass AND NOT x.indisprimary")
        self._dropped = self.cur.fetchall()
        for name, constraint, _ in self._dropped:
            self.cur.execute(f'ALTER TABLE item_task DROP CONSTRAINT "{constraint}"' if constraint
                             else f'DROP INDEX "{name}"')

    def write(self, table: str, columns: tuple[str, ...], rows) -> None:
        with self.cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if table not in self.tables:
            self.tables.append(table)
            self.columns[table] = columns

    def finish(self) -> None:
        started = time.perf_counter()
        for _name, constraint, definition in self._dropped:
            self.cur.execute(f'ALTER TABLE item_task ADD CONSTRAINT "{constraint}" {definition}'
                             if constraint else definition)
        self.index_seconds = time.perf_counter() - started
        for table in self.tables:
            if "id" not in self.columns[table]:
                continue  # keyed by other columns (item_prediction, project_prediction): no sequence
            self.cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM {table}))")
        self.conn.commit()

    def close(self) -> None:
        self._raw.close()


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class _SqliteWriter:
    """Rows into SQLite with ``executemany``, in one transaction."""

    index_seconds = 0.0

    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        self.conn = self._raw.driver_connection
        self.conn.execute("BEGIN IMMEDIATE")

    def write(self, table: str, columns: tuple[str, ...], rows) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        rows = list(rows)
        for start in range(0, len(rows), 50_000):
            self.conn.executemany(sql, [tuple(map(_sqlite_value, row))
                                        for row in rows[start:start + 50_000]])

    def finish(self) -> None:
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self._raw.close()


def _analyze(engine: Engine, everything: bool = False) -> None:
    if engine.dialect.name == "postgresql":
        # VACUUM too: freshly copied pages are not yet all-visible, so index-only
        # scans would still visit the heap until autovacuum came by.
        tables = "" if everything else (" enterprise, project, item_task, user_account, "
                                        "group_membership")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE){tables}")
    else:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("ANALYZE")
        finally:
            raw.close()


def load(engine: Engine, version: DefinitionVersion, *, projects: int, now: datetime,
         today: date, log=print, extension=None, chunk: int = 20_000,
         drop_indexes: bool = False) -> Dataset:
    """Create the people, then bulk-load enterprises, projects and tasks, a
    chunk of projects at a time (memory stays flat at any size).

    ``extension`` (the pages figure's ``bench.pagesdata.PagesData``) adds
    people, rewrites each chunk and writes its own tables; ``drop_indexes``
    (PostgreSQL) drops item_task's secondary indexes for the load and builds
    them again at the end."""
    definition = definition_of(version)
    t0 = time.perf_counter()
    with Session(engine) as session:
        groups, agents, leads = _add_people(session, definition)
        if extension is not None:
            extension.add_people(session, definition, groups, agents, leads)
        session.commit()
    pg = engine.dialect.name == "postgresql"
    writer = _PgWriter(engine, drop_indexes) if pg else _SqliteWriter(engine)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector only slows the build
    counts: Counter = Counter()
    n_projects = n_tasks = 0
    generating = 0.0
    project_columns = PROJECT_COLUMNS + (extension.project_columns if extension else ())
    try:
        writer.write(*_present(Enterprise, ENTERPRISE_COLUMNS, enterprise_rows(projects)))
        for table in (extension.before_projects() if extension else ()):
            writer.write(*table)
        chunks = generate_chunks(definition, version.id, groups, agents, leads, projects=projects,
                                 today=today, now=now, chunk=chunk)
        while True:
            g0 = time.perf_counter()
            rows = next(chunks, None)
            if rows is None:
                generating += time.perf_counter() - g0
                break
            project_rows, task_rows = rows
            extra = extension.chunk(project_rows, task_rows) if extension else (project_rows, [])
            project_rows, extra_tables = extra
            generating += time.perf_counter() - g0
            writer.write(*_present(Project, project_columns, project_rows))
            writer.write(*_present(ItemTask, TASK_COLUMNS, task_rows))
            for table in extra_tables:
                writer.write(*table)
            counts.update(row[3] for row in task_rows)
            n_projects += len(project_rows)
            n_tasks += len(task_rows)
        for table in (extension.after_projects() if extension else ()):
            writer.write(*table)
        t_rows = time.perf_counter()
        writer.finish()
    finally:
        writer.close()
        if gc_was_enabled:
            gc.enable()
    t2 = time.perf_counter()
    log(f"generated and wrote {n_projects:,} projects / {n_tasks:,} tasks in {t2 - t0:.1f}s "
        f"(generating {generating:.1f}s, indexes rebuilt in {writer.index_seconds:.1f}s)")
    _analyze(engine, everything=extension is not None)
    t3 = time.perf_counter()
    log(f"analyzed in {t3 - t2:.1f}s")
    dataset = Dataset(projects=n_projects, tasks=n_tasks, enterprises=enterprise_count(projects),
                      today=today, agents=agents, group_ids=groups,
                      state_counts=dict(sorted(counts.items(), key=lambda kv: -kv[1])))
    dataset.seconds = {"generate": round(generating, 2), "write": round(t2 - t0 - generating, 2),
                       "rebuild_indexes": round(writer.index_seconds, 2),
                       "copy": round(t_rows - t0 - generating, 2),
                       "analyze": round(t3 - t2, 2), "total": round(t3 - t0, 2)}
    return dataset

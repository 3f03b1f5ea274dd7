"""Rollups: the aggregates behind the figure pages, so that a page reads a few
hundred rows rather than every task and project of the zone.

- **Done items** (``FigureClosedDay`` per closing day, ``FigureClosedTotal``
  over all days), per industry group, last assignee, department and item:
  counted in the transaction that completes the item (``task_done``), on
  each clock: decided by the statutory due date, submitted by the service
  due date, and the days each clock ran. The figures of a closing range are
  sums over its days; their cost grows with the days in the range, never
  with the number of closed tasks.
- **Open items** (``FigureOpen``: those with a due date, and those red, per
  clock that runs) and
  **the pipeline** (``PipelineTotal``: projects and investment per stage,
  group and lead handler): refreshed by the scheduler with each sweep
  (``refresh``), in one transaction that holds the state row's lock so two
  refreshes never interleave; ``RollupState`` records when and for which day,
  and the pages show that time.

``rebuild_closed`` recounts the done items from the tasks, for databases whose
tasks were written without the engine (an upgrade, a bulk load).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from definitions import Definition, Item, TimeLimit
from workflow.core import clocks, predict
from workflow.core.models import (
    CLOCK_STATES,
    OPEN_STATES,
    FigureClosedDay,
    FigureClosedTotal,
    FigureOpen,
    ItemTask,
    PipelineTotal,
    Project,
    RollupState,
)
from workflow.kernel import clock
from workflow.kernel.moments import utc, zone_today
from workflow.kernel.registry import definition_by_id

OPEN_FIGURES = "open_figures"
PIPELINE = "pipeline"
COUNTED = ("closed", "with_due", "on_time", "days_used_sum", "days_used_n",
           "service_with_due", "service_on_time", "service_days_sum", "service_days_n")
DIMENSIONS = ("group_id", "agent_id", "department", "item_code")


def days_used(start: date | None, stop: date | None, paused: int | None,
              limit: TimeLimit | None = None) -> int | None:
    """The days a clock ran from ``start`` to ``stop`` in ``limit``'s unit
    (working days without one), minus the days it was paused (never below
    0); ``None`` without both dates."""
    if start is None or stop is None:
        return None
    ran = (clocks.elapsed(start, stop, limit) if limit is not None
           else clock.working_days_between(start, stop).days)
    return max(ran - (paused or 0), 0)


def _counts(task, item: Item | None) -> dict[str, int]:
    """What one done task adds: on the statutory clock, decided (or closed)
    by its due date and the days it ran from the 受理; on the service clock,
    submitted by its due date and the days from the release."""
    start = task.accepted_on or task.submitted_on
    decided = task.decided_on or task.closed_on
    used = days_used(start, decided, task.statutory_paused_days, item.limit if item else None)
    with_due = task.statutory_due_on is not None
    served = days_used(task.released_on, task.submitted_on, task.service_paused_days,
                       item.service_limit if item else None)
    service_due = task.service_due_on is not None and task.submitted_on is not None
    return {"closed": 1, "with_due": int(with_due),
            "on_time": int(with_due and decided is not None and decided <= task.statutory_due_on),
            "days_used_sum": used or 0, "days_used_n": int(used is not None),
            "service_with_due": int(service_due),
            "service_on_time": int(service_due and task.submitted_on <= task.service_due_on),
            "service_days_sum": served or 0, "service_days_n": int(served is not None)}


def _key(task: ItemTask) -> dict[str, Any]:
    return {"group_id": task.group_id, "agent_id": task.assignee_id or 0,
            "department": task.department, "item_code": task.item_code}


def _add(session: Session, model, key: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    """``model``'s row for ``key`` plus ``counts`` (created when missing), in
    one statement that holds only that row's lock."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**key, **counts)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: getattr(model, name) + statement.excluded[name] for name in counts})
    session.execute(statement)


def task_done(session: Session, task: ItemTask) -> None:
    """Count ``task``, just completed (done, with its closing day), into the
    done-item rollups. Called by ``operations.complete_task`` after its flush."""
    item = definition_by_id(session, task.project.definition_version_id).items.get(task.item_code)
    counts, key = _counts(task, item), _key(task)
    _add(session, FigureClosedDay, {"day": task.closed_on, **key}, counts)
    _add(session, FigureClosedTotal, key, counts)
    # The prediction's handling-time history (its medians), in the same transaction.
    predict.task_done(session, task, item)


CLOSED_REBUILT = "closed_rebuilt"


def rebuild_closed(session: Session, batch: int = 5000, *, now: datetime | None = None) -> int:
    """Recount the done-item rollups from every done task (streamed); returns
    how many tasks were counted. On PostgreSQL the rollup tables are locked
    first: a task completed meanwhile waits, then adds itself to the recount
    (its uncommitted task was not in it), so nothing is counted twice or lost.
    The recount is recorded (``CLOSED_REBUILT``): ``daiban init`` makes it
    once on a database that has none."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE figure_closed_day, figure_closed_total IN EXCLUSIVE MODE"))
    _claim(session, CLOSED_REBUILT, now or datetime.now(UTC))
    session.execute(delete(FigureClosedDay))
    session.execute(delete(FigureClosedTotal))
    days: dict[tuple, dict[str, int]] = {}
    totals: dict[tuple, dict[str, int]] = {}
    rows = session.execute(
        select(ItemTask.group_id, ItemTask.assignee_id, ItemTask.department, ItemTask.item_code,
               ItemTask.released_on, ItemTask.submitted_on, ItemTask.accepted_on,
               ItemTask.decided_on, ItemTask.closed_on, ItemTask.service_due_on,
               ItemTask.statutory_due_on, ItemTask.service_paused_days,
               ItemTask.statutory_paused_days, Project.definition_version_id)
        .join(Project, Project.id == ItemTask.project_id)
        .where(ItemTask.state == "done").execution_options(yield_per=batch))
    n = 0
    definitions: dict[int, Definition] = {}
    for row in rows:
        n += 1
        version = row.definition_version_id
        if version not in definitions:
            definitions[version] = definition_by_id(session, version)
        counts = _counts(row, definitions[version].items.get(row.item_code))
        key = (row.group_id, row.assignee_id or 0, row.department, row.item_code)
        for bucket, k in ((days, (row.closed_on, *key)), (totals, key)):
            into = bucket.setdefault(k, dict.fromkeys(COUNTED, 0))
            for name, value in counts.items():
                into[name] += value
    for model, bucket, names in ((FigureClosedDay, days, ("day", *DIMENSIONS)),
                                 (FigureClosedTotal, totals, DIMENSIONS)):
        values = [dict(zip(names, k, strict=True)) | counts for k, counts in bucket.items()]
        for start in range(0, len(values), batch):
            session.execute(insert(model), values[start:start + batch])
    session.flush()
    return n


# -- refreshed by the scheduler ---------------------------------------------------------------


def _claim(session: Session, name: str, now: datetime) -> None:
    """Write the state row first: its lock makes a second refresh wait for
    this one to commit (then it recomputes, rather than adding its rows to ours)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"name": name, "refreshed_at": utc(now), "as_of": zone_today(now)}
    statement = dialect.insert(RollupState).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["name"], set_={"refreshed_at": statement.excluded.refreshed_at,
                                       "as_of": statement.excluded.as_of}))


def refresh(session: Session, *, now: datetime) -> dict[str, int]:
    """Recompute the open-item figures and the pipeline as of ``now``; the
    caller commits. Returns the number of rollup rows written per rollup."""
    today = zone_today(now)
    _claim(session, OPEN_FIGURES, now)
    session.execute(delete(FigureOpen))
    running = ItemTask.state.in_(CLOCK_STATES)
    red = case((running & (ItemTask.due_on < today), 1), else_=0)
    yellow = case((running & (ItemTask.due_on >= today) & (ItemTask.warn_on <= today), 1), else_=0)
    agent = func.coalesce(ItemTask.assignee_id, literal(0))
    which = func.coalesce(ItemTask.clock, literal("statutory"))
    open_rows = session.execute(insert(FigureOpen).from_select(
        ["group_id", "agent_id", "department", "item_code", "clock", "with_due", "red", "yellow"],
        select(ItemTask.group_id, agent, ItemTask.department, ItemTask.item_code, which,
               func.count(ItemTask.id), func.sum(red), func.sum(yellow))
        .where(ItemTask.state.in_(OPEN_STATES), ItemTask.due_on.is_not(None))
        .group_by(ItemTask.group_id, agent, ItemTask.department, ItemTask.item_code,
                  which))).rowcount

    _claim(session, PIPELINE, now)
    session.execute(delete(PipelineTotal))
    lead = func.coalesce(Project.lead_id, literal(0))
    pipeline_rows = session.execute(insert(PipelineTotal).from_select(
        ["stage", "suspended_from", "group_id", "lead_id", "projects", "investment_wan"],
        select(Project.stage, Project.suspended_from, Project.group_id, lead,
               func.count(Project.id), func.coalesce(func.sum(Project.investment_wan), 0))
        .where(Project.stage != "terminated")
        .group_by(Project.stage, Project.suspended_from, Project.group_id, lead))).rowcount
    session.flush()
    return {OPEN_FIGURES: open_rows or 0, PIPELINE: pipeline_rows or 0}


@dataclass(frozen=True)
class AsOf:
    """When a refreshed rollup was computed (``None``: never yet)."""

    refreshed_at: datetime | None
    day: date | None


def as_of(session: Session, name: str) -> AsOf:
    row = session.get(RollupState, name)
    return AsOf(row.refreshed_at, row.as_of) if row is not None else AsOf(None, None)


@dataclass(frozen=True)
class LightCounts:
    """Red and yellow open items as of the last refresh (exact, not capped)."""

    red: int
    yellow: int
    as_of: datetime


def light_counts(session: Session, today: date, *, group_ids=None, agent_id: int | None = None,
                 department: str | None = None, item_code: str | None = None,
                 clock: str | None = None) -> LightCounts | None:
    """Red and yellow open items from the open-item rollup, in the given
    scope (``clock``: on that clock only); ``None`` when the rollup was not
    refreshed on ``today`` (the caller then counts live, up to the cap)."""
    state = as_of(session, OPEN_FIGURES)
    if state.day != today:
        return None
    where = []
    if group_ids is not None:
        where.append(FigureOpen.group_id.in_(sorted(group_ids)))
    if agent_id is not None:
        where.append(FigureOpen.agent_id == agent_id)
    if department is not None:
        where.append(FigureOpen.department == department)
    if item_code is not None:
        where.append(FigureOpen.item_code == item_code)
    if clock is not None:
        where.append(FigureOpen.clock == clock)
    red, yellow = session.execute(select(func.coalesce(func.sum(FigureOpen.red), 0),
                                         func.coalesce(func.sum(FigureOpen.yellow), 0))
                                  .where(*where)).one()
    return LightCounts(int(red), int(yellow), state.refreshed_at)

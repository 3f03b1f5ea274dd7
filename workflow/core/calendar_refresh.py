"""Published holiday schedules reach stored dates.

A task accepted before the State Council's notice for a year counts that year
provisionally (``workflow.kernel.clock``) and says so (``dates_provisional``).
When the schedule in force changes — a holiday file an admin drops in, a newer
chinesecalendar or ``holidays`` package, a new provisional rule — every open
task whose dates were provisional is re-derived (``taskstep.rederive_dates``),
and for each one whose stored dates changed:

- one audit event ``task.dates_recomputed`` on the project's chain, naming each
  field's old and new value and the schedule;
- when the due date moved, a notification to whoever works the task (its
  assignee; unclaimed, the group's agents; with none, the lead handler).

``recompute`` is the command's (``daiban calendar recompute``): it always
checks. ``check`` is the scheduler's, run before every deadline sweep: it
compares the clock's fingerprint with the last schedule recorded in
``calendar_schedule`` and does nothing when they agree. The first process to
notice a change inserts the next row, keyed by (previous row, fingerprint)
with ``ON CONFLICT DO NOTHING``, so a second scheduler process noticing the
same change inserts nothing and recomputes nothing; projects are locked in id
order and their tasks re-read under the lock, so even two ``recompute`` runs at
once change (and tell) each task once. Running either twice changes nothing
the second time. One transaction; the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from workflow.core import audit, notify
from workflow.core.models import CLOSED_STATES, ItemTask
from workflow.core.notify import Message
from workflow.core.taskstep import rederive_dates
from workflow.core.unitofwork import definition_for, lock_project
from workflow.kernel import clock, paging, zone_audit
from workflow.kernel.db import dialect_insert
from workflow.kernel.models import CalendarSchedule
from workflow.kernel.moments import utc

ACTION = "task.dates_recomputed"
# Fields that change as the row is written, not as the dates are derived.
_BOOKKEEPING = {"version", "updated_at"}


@dataclass(frozen=True)
class Change:
    """One task whose stored dates the new schedule changed."""

    project_code: str
    item_code: str
    task_id: int
    due_before: date | None
    due_after: date | None
    provisional: bool  # still depends on an unpublished year
    told: tuple[str, ...]

    @property
    def moved(self) -> bool:
        return self.due_before != self.due_after

    def line(self) -> str:
        due = (f"due {_iso(self.due_before)} -> {_iso(self.due_after)}" if self.moved
               else f"due {_iso(self.due_after)} unchanged")
        still = " (still provisional)" if self.provisional else ""
        told = f" -> {', '.join(self.told)}" if self.told else ""
        return f"calendar {self.project_code} {self.item_code} {due}{still}{told}"


@dataclass(frozen=True)
class Outcome:
    """What one recompute looked at and changed."""

    source: clock.ScheduleSource
    checked: int = 0
    changes: list[Change] = field(default_factory=list)
    recorded: bool = False  # this run recorded the schedule as newly in force

    @property
    def moved(self) -> int:
        return sum(1 for c in self.changes if c.moved)


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else "none"


# -- the schedule in force ------------------------------------------------------------------------

def latest_schedule(session: Session) -> CalendarSchedule | None:
    """The schedule recorded last (what the stored dates were last brought up to)."""
    return session.scalar(select(CalendarSchedule).order_by(CalendarSchedule.id.desc()).limit(1))


def provisional_task_count(session: Session, cap: int = paging.COUNT_CAP) -> paging.Count:
    """Open tasks whose dates still depend on an unpublished year, counted up
    to ``cap`` on ``ix_item_task_provisional`` (the admin's panel must not
    read every task of the zone: uncapped and unindexed, this count took
    1.2 s at a million projects)."""
    return paging.count_upto(session, select(ItemTask.id).where(
        ItemTask.dates_provisional, ItemTask.state.not_in(CLOSED_STATES)), cap)  # as the index says


@dataclass(frozen=True)
class Status:
    """What the admin sees: the schedule in force, the one the stored dates were
    last brought up to, and the open tasks still on provisional dates."""

    source: clock.ScheduleSource
    latest: CalendarSchedule | None
    provisional_tasks: paging.Count
    next_provisional: dict[date, str]  # the first provisional year's days off, named

    @property
    def current(self) -> bool:
        return self.latest is not None and self.latest.fingerprint == self.source.fingerprint


def status(session: Session, *, refresh: bool = True) -> Status:
    if refresh:
        clock.refresh()
    source = clock.schedule_source()
    upcoming = source.provisional
    return Status(source=source, latest=latest_schedule(session),
                  provisional_tasks=provisional_task_count(session),
                  next_provisional=clock.provisional_days_off(upcoming[0]) if upcoming else {})


def _claim(session: Session, source: clock.ScheduleSource, *, now: datetime,
           via: str) -> CalendarSchedule | None:
    """Record ``source`` as in force unless it already is; the new row, or None
    when it was the last one recorded or another process recorded it first."""
    latest = latest_schedule(session)
    if latest is not None and latest.fingerprint == source.fingerprint:
        return None
    insert = dialect_insert(session)
    statement = (
        insert(CalendarSchedule)
        .values(previous_id=latest.id if latest is not None else 0,
                fingerprint=source.fingerprint,
                published_years=clock.year_ranges(source.published_years)[:200],
                source="\n".join(source.describe()), recorded_at=utc(now), via=via[:16],
                tasks_checked=0, tasks_changed=0)
        .on_conflict_do_nothing()
        .returning(CalendarSchedule.id))
    row_id = session.execute(statement).scalar_one_or_none()
    return session.get(CalendarSchedule, row_id) if row_id is not None else None


# -- recomputing ---------------------------------------------------------------------------------

def recompute(session: Session, *, now: datetime, via: str = "cli") -> Outcome:
    """Re-derive every open task whose dates were provisional with the schedule
    in force now, and record that schedule if it is new. Always looks at the
    tasks (the command); ``check`` looks only when the schedule changed."""
    clock.refresh()
    source = clock.schedule_source()
    claimed = _claim(session, source, now=now, via=via)
    return _recompute(session, source, claimed, now=now)


def check(session: Session, *, now: datetime) -> list[str]:
    """The scheduler's check: when the schedule in force differs from the last
    one recorded, record it and recompute (one line per changed task); else
    nothing. Safe to run from several processes at once."""
    clock.refresh()
    source = clock.schedule_source()
    claimed = _claim(session, source, now=now, via="scheduler")
    if claimed is None:
        return []
    return [change.line() for change in _recompute(session, source, claimed, now=now).changes]


def _recompute(session: Session, source: clock.ScheduleSource, claimed: CalendarSchedule | None,
               *, now: datetime) -> Outcome:
    candidates: dict[int, set[int]] = defaultdict(set)
    for project_id, task_id in session.execute(
            select(ItemTask.project_id, ItemTask.id)
            .where(ItemTask.dates_provisional, ItemTask.state.not_in(CLOSED_STATES))):
        candidates[project_id].add(task_id)
    checked, changes = 0, []
    for project_id in sorted(candidates):
        project = lock_project(session, project_id)
        tasks = session.scalars(
            select(ItemTask).where(ItemTask.id.in_(sorted(candidates[project_id])))
            .order_by(ItemTask.id).execution_options(populate_existing=True))
        for task in tasks:
            # Re-read under the project's lock: another run may have done it already.
            if not task.dates_provisional or task.state in CLOSED_STATES:
                continue
            item = definition_for(project).items.get(task.item_code)
            if item is None:
                continue
            checked += 1
            change = _rederive(session, project, task, item, source, now=now)
            if change is not None:
                changes.append(change)
    session.flush()
    if claimed is not None:
        claimed.tasks_checked, claimed.tasks_changed = checked, len(changes)
        zone_audit.record(session, actor=None, now=now, action="calendar.schedule_in_force",
                          subject=f"calendar:{source.fingerprint[:16]}",
                          data={"published_years": claimed.published_years,
                                "files": [[y, p, d] for y, p, d in source.files],
                                "package": source.package, "rule": source.rule,
                                "tasks_checked": checked, "tasks_changed": len(changes)})
        session.flush()
    return Outcome(source=source, checked=checked, changes=changes, recorded=claimed is not None)


def _rederive(session: Session, project, task: ItemTask, item, source: clock.ScheduleSource,
              *, now: datetime) -> Change | None:
    due_before = task.due_on
    rederive_dates(session, task, item)
    changed: dict[str, list[Any]] = {}
    for attr in inspect(task).attrs:
        history = attr.history
        if attr.key in _BOOKKEEPING or not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before != after:
            changed[attr.key] = [before, after]
    if not changed:
        return None
    task.updated_at = utc(now)
    entry = audit.record(session, project, actor=None, now=utc(now), action=ACTION, task=task,
                         data={"item": task.item_code, "due_on": task.due_on, "changed": changed,
                               "schedule": source.fingerprint[:16],
                               "published_years": clock.year_ranges(source.published_years)},
                         public=True)
    told: list = []
    if task.due_on != due_before:
        told = notify.tell(session, notify.responsible_for(session, task),
                           _moved_message(project, task, due_before, source),
                           now=now, key=f"audit:{entry.project_id}:{entry.seq}",
                           project=project, task=task)
    return Change(project_code=project.code, item_code=task.item_code, task_id=task.id,
                  due_before=due_before, due_after=task.due_on,
                  provisional=task.dates_provisional, told=tuple(u.username for u in told))


def _moved_message(project, task: ItemTask, before: date | None,
                   source: clock.ScheduleSource) -> Message:
    item = notify.item_name(project, task.item_code)
    still = "（仍为暂定：相关年度放假安排尚未公布）" if task.dates_provisional else ""
    return Message(
        "due_recomputed", f"【时限调整】{item}（{project.code}）",
        f"项目「{project.name}」（{project.code}）的事项「{item}」按现行节假日安排"
        f"（已公布年度：{clock.year_ranges(source.published_years)}）重新计算，"
        f"办结时限由 {_iso(before)} 调整为 {_iso(task.due_on)}{still}。")

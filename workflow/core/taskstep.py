"""The step every task change shares: the item machine fired with its audit
entry and notifications (``_transition``), and the task's clock: the due date
recomputed from acceptance, pauses and extensions, a pause started or ended."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from definitions import Item
from workflow.core import audit, hooks, lights, notify, staffnotices
from workflow.core.models import ItemTask, Pause
from workflow.core.unitofwork import machine_for
from workflow.kernel import clock, validate
from workflow.kernel.models import User
from workflow.kernel.moments import utc


def recompute_due(task: ItemTask, item: Item) -> None:
    """Due date = the limit counted from acceptance, plus the working days the
    clock was paused and the extensions granted (both added as working days)."""
    if task.accepted_on is None:
        task.due_on, task.due_provisional, task.warn_on = None, False, None
        return
    base = clock.due_date(task.accepted_on, item.limit.amount,
                          calendar_days=item.limit.calendar_days)
    extra = task.paused_working_days + task.extension_days
    shifted = clock.add_working_days(base.date, extra) if extra else base
    task.due_on = shifted.date
    task.due_provisional = base.provisional or shifted.provisional
    task.dates_provisional = task.due_provisional
    task.warn_on = lights.first_yellow_day(task.accepted_on, task.due_on)


def rederive_dates(session: Session, task: ItemTask, item: Item) -> None:
    """Every date of ``task`` derived afresh from its facts (acceptance, the
    pauses it had, extensions) with the holiday schedule now in force: each
    closed pause recounted, then ``recompute_due``. What the calendar recompute
    calls when a year's schedule is published; a no-op when nothing changed."""
    provisional = False
    pauses = session.scalars(select(Pause).where(Pause.task_id == task.id,
                                                 Pause.ended_on.is_not(None)).order_by(Pause.id))
    for pause in pauses:
        lasted = _pause_length(task, item, pause.started_on, pause.ended_on)
        provisional = provisional or lasted.provisional
        if pause.working_days is not None and lasted.days != pause.working_days:
            task.paused_working_days += lasted.days - pause.working_days
            pause.working_days = lasted.days
    recompute_due(task, item)
    task.dates_provisional = task.dates_provisional or provisional


def _pause_length(task: ItemTask, item: Item, start: date, end: date) -> clock.Count:
    """How much a pause from ``start`` to ``end`` adds to ``task``'s clock."""
    lasted = clock.working_days_between(start, end)
    return clock.Count(max(lasted.days, 0), lasted.provisional)


def _start_pause(session: Session, task: ItemTask, today: date, reason: str) -> None:
    task.paused_since = today
    session.add(Pause(task_id=task.id, reason=reason, started_on=today))


def _end_pause(session: Session, task: ItemTask, item: Item, today: date) -> int:
    """Close the open pause and add the working days it lasted to the clock."""
    if task.paused_since is None:
        return 0
    counted = _pause_length(task, item, task.paused_since, today)
    lasted = counted.days
    pause = session.scalar(
        select(Pause).where(Pause.task_id == task.id, Pause.ended_on.is_(None))
        .order_by(Pause.id.desc())
    )
    if pause is not None:
        pause.ended_on, pause.working_days = today, lasted
    task.paused_working_days += lasted
    task.paused_since = None
    recompute_due(task, item)
    task.dates_provisional = task.dates_provisional or counted.provisional
    return lasted


# -- the transition step every task operation shares ----------------------------------

def _transition(session: Session, task: ItemTask, event: str, *, actor: User | None,
                now: datetime, data: dict[str, Any] | None = None,
                public: bool = False) -> str:
    project = task.project
    before = task.state
    if actor is not None:
        # The areas' guards (the documents area: agents act for the enterprise
        # only within its signed mandate, 帮办代办不包办).
        hooks.run("task.act", session, task, actor=actor, event=event)
    machine_for(project).fire(task, event)
    task.updated_at = utc(now)
    entry = audit.record(session, project, actor=actor, now=utc(now), action=f"task.{event}",
                         task=task, from_state=before, to_state=task.state,
                         data={"item": task.item_code, **(data or {})}, public=public)
    notify.task_event(session, task, entry)
    staffnotices.task_event(session, task, entry)
    return before


# Required text from the user (a reason, a name).
_require_text = validate.text

"""The step every task change shares: the item machine fired with its audit
entry and notifications (``_transition``), and the task's clocks
(``workflow.core.clocks``): the due dates recomputed from each clock's start,
pauses and extensions, a pause of the running clock started or ended."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from definitions import Item
from workflow.core import audit, clocks, hooks, notify, staffnotices
from workflow.core.models import ItemTask, Pause
from workflow.core.unitofwork import machine_for
from workflow.kernel import validate
from workflow.kernel.models import User
from workflow.kernel.moments import utc


def recompute_due(task: ItemTask, item: Item) -> None:
    """Both clocks' due dates (each from its start, plus its pauses and
    extensions in its limit's unit) and the current one: ``due_on``,
    ``due_provisional`` and ``warn_on`` follow the clock ``task.clock`` names.
    ``dates_provisional`` remembers that the dates rest on a provisional year
    (the calendar recompute looks for it)."""
    clocks.recompute(task, item)
    task.dates_provisional = bool(task.due_provisional)


def rederive_dates(session: Session, task: ItemTask, item: Item) -> None:
    """Every date of ``task`` derived afresh from its facts (its clocks'
    starts, the pauses it had, extensions) with the holiday schedule now in
    force: each closed pause recounted in its clock's unit, then
    ``recompute_due``. What the calendar recompute calls when a year's
    schedule is published; a no-op when nothing changed."""
    pauses = session.scalars(select(Pause).where(Pause.task_id == task.id,
                                                 Pause.ended_on.is_not(None)).order_by(Pause.id))
    for pause in pauses:
        which = pause.clock or "statutory"
        lasted = clocks.pause_length(pause.started_on, pause.ended_on, clocks.limit_of(item, which))
        if pause.days is not None and lasted != pause.days:
            if which == "service":
                task.service_paused_days = (task.service_paused_days or 0) + lasted - pause.days
            else:
                task.statutory_paused_days = (task.statutory_paused_days or 0) + lasted - pause.days
            pause.days = lasted
    recompute_due(task, item)


def _start_pause(session: Session, task: ItemTask, today: date, reason: str,
                 kind: str = "other") -> None:
    """Stop the running clock from ``today``, with the reason."""
    task.paused_since = today
    session.add(Pause(task_id=task.id, clock=task.clock, kind=kind, reason=reason,
                      started_on=today))


def _end_pause(session: Session, task: ItemTask, item: Item, today: date) -> int:
    """Close the open pause and add its length, in the paused clock's unit,
    to that clock (rule 4 of ``workflow.core.clocks``)."""
    if task.paused_since is None:
        return 0
    pause = session.scalar(
        select(Pause).where(Pause.task_id == task.id, Pause.ended_on.is_(None))
        .order_by(Pause.id.desc())
    )
    which = (pause.clock if pause is not None and pause.clock else task.clock) or "statutory"
    lasted = clocks.pause_length(task.paused_since, today, clocks.limit_of(item, which))
    if pause is not None:
        pause.ended_on, pause.days = today, lasted
    if which == "service":
        task.service_paused_days = (task.service_paused_days or 0) + lasted
    else:
        task.statutory_paused_days = (task.statutory_paused_days or 0) + lasted
    task.paused_since = None
    recompute_due(task, item)
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

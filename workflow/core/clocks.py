"""An item's two clocks and how they count.

行政许可法 Art. 42 counts a department's limit from its 受理 (acceptance); the
agent's preparation before it is the zone's own service time. So every item
task carries two clocks, one after the other:

=============  =======================  ==================================  =========
clock          runs                     limit                               whose time
=============  =======================  ==================================  =========
``service``    release → submission     the item's ``service_limit`` (the   代办
                                        zone's promise, 承诺时限)
``statutory``  受理 → decision          the item's legal ``limit``          部门
=============  =======================  ==================================  =========

Until the department's 受理 is recorded the statutory clock counts from the
submission (Art. 32(4): a department that neither refuses nor asks for 补正
within five days has accepted on receipt); recording it moves the start to
the 受理 date.

Counting rules (the same for both clocks, each in its own limit's unit):

1. The start day never counts (民法典 Art. 201).
2. A working-day limit ends on the N-th working day after the start (行政许可法
   Art. 82: 工作日, statutory holidays excluded; 调休 days worked).
3. A calendar-day limit ends N calendar days after the start, on the next
   working day when that day is not one (民法典 Art. 203).
4. A pause (补正, expert review, hearing, testing: Art. 45; a suspension)
   lasts from its first day to the day the clock runs again and is counted
   in the limit's own unit: the working days after the first day up to the
   last for a working-day limit, the calendar days between them for a
   calendar-day limit. A 30-calendar-day EIA limit paused 2026-09-30 →
   2026-10-08 gains 8 days (the working-day count would say 1: the National
   Day week).
5. An approved extension adds days in the limit's unit to the clock the
   definition names (the statutory one unless it says otherwise, Art. 42).
6. The due date is rule 2 or 3 applied to limit + pauses + extensions.

``due_on`` (the column every list sorts by, on its indexes) is the due date
of the clock that runs now, named by ``ItemTask.clock``; ``service_due_on``
and ``statutory_due_on`` keep each clock's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from definitions import Item, TimeLimit
from workflow.core import lights
from workflow.core.models import CLOCK_STATES, CLOSED_STATES, PAUSED_STATES, ItemTask
from workflow.kernel import clock as calendar

WHOSE = {"service": "agent", "statutory": "department"}


# -- the arithmetic ------------------------------------------------------------------------------

def due(start: date, days: int, limit: TimeLimit) -> calendar.Due:
    """The due date of ``days`` counted in ``limit``'s unit from ``start``
    (rules 1–3)."""
    return calendar.due_date(start, days, calendar_days=limit.calendar_days)


def pause_length(since: date, until: date, limit: TimeLimit) -> int:
    """How long a pause from ``since`` to ``until`` lasted, in ``limit``'s
    unit (rule 4); never negative."""
    if limit.calendar_days:
        return max((until - since).days, 0)
    return max(calendar.working_days_between(since, until).days, 0)


def elapsed(start: date, stop: date, limit: TimeLimit) -> int:
    """The days a clock ran from ``start`` to ``stop`` in ``limit``'s unit
    (pauses included: subtract them)."""
    return pause_length(start, stop, limit)


def limit_of(item: Item, clock: str) -> TimeLimit:
    return item.service_limit if clock == "service" else item.limit


def extensions(task: ItemTask, clock: str) -> int:
    return (task.service_extension_days if clock == "service" else task.extension_days) or 0


def paused(task: ItemTask, clock: str) -> int:
    return (task.service_paused_days if clock == "service" else task.statutory_paused_days) or 0


def start_of(task: ItemTask, clock: str) -> date | None:
    """The clock's first (uncounted) day: the release, or the 受理 (the
    submission while it is not recorded)."""
    if clock == "service":
        return task.released_on
    return task.accepted_on or task.submitted_on


def stop_of(task: ItemTask, clock: str) -> date | None:
    """The day the clock stopped: the submission, or the decision."""
    return task.submitted_on if clock == "service" else task.decided_on


def due_of(task: ItemTask, item: Item, clock: str) -> calendar.Due | None:
    """The clock's due date from its start, limit, pauses and extensions
    (rule 6); None before it starts."""
    start = start_of(task, clock)
    if start is None:
        return None
    limit = limit_of(item, clock)
    return due(start, limit.amount + paused(task, clock) + extensions(task, clock), limit)


def recompute(task: ItemTask, item: Item) -> None:
    """Both clocks' due dates, and the current one's (``due_on``,
    ``due_provisional``, ``warn_on``) for the clock ``task.clock`` names."""
    dues = {}
    for name in ("service", "statutory"):
        dues[name] = due_of(task, item, name)
    task.service_due_on = dues["service"].date if dues["service"] else None
    task.statutory_due_on = dues["statutory"].date if dues["statutory"] else None
    current = dues.get(task.clock) if task.clock else None
    if current is None:
        task.due_on, task.due_provisional, task.warn_on = None, False, None
        return
    task.due_on, task.due_provisional = current.date, current.provisional
    task.warn_on = lights.first_yellow_day(task.clock_start, task.due_on)


# -- what a page shows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClockView:
    """One clock of a task as a page shows it on ``today``.

    ``status``: ``waiting`` (not started), ``running``, ``paused`` or
    ``stopped``; ``light`` while it runs or pauses (red, yellow, green,
    paused); ``outcome`` once stopped with a due date (``on_time`` or
    ``late``); ``deemed``: the statutory clock counts from the submission
    because the 受理 is not recorded yet."""

    name: str
    whose: str
    limit: TimeLimit
    started_on: date | None
    due_on: date | None
    stopped_on: date | None
    paused_days: int
    extension_days: int
    status: str
    light: str | None
    days_left: int | None
    outcome: str | None
    deemed: bool = False

    @property
    def calendar_days(self) -> bool:
        return self.limit.calendar_days


def view(task: ItemTask, item: Item, clock: str, today: date) -> ClockView:
    """``clock`` of ``task`` on ``today`` (see ``ClockView``)."""
    start, stop = start_of(task, clock), stop_of(task, clock)
    due_on = task.service_due_on if clock == "service" else task.statutory_due_on
    current = task.clock == clock
    if start is None:
        status = "waiting"
    elif current and task.state in CLOCK_STATES:
        status = "running"
    elif current and task.state in PAUSED_STATES:
        status = "paused"
    else:
        status = "stopped"
        if stop is None and task.state in CLOSED_STATES:
            stop = task.closed_on
    light = lights.light(task, today) if status in ("running", "paused") else None
    left = (calendar.working_days_between(today, due_on).days
            if status in ("running", "paused") and due_on is not None else None)
    outcome = None
    if status == "stopped" and due_on is not None and stop is not None:
        outcome = "on_time" if stop <= due_on else "late"
    return ClockView(
        name=clock, whose=WHOSE[clock], limit=limit_of(item, clock), started_on=start,
        due_on=due_on, stopped_on=stop if status == "stopped" else None,
        paused_days=paused(task, clock), extension_days=extensions(task, clock), status=status,
        light=light, days_left=left, outcome=outcome,
        deemed=clock == "statutory" and start is not None and task.accepted_on is None)


def views(task: ItemTask, item: Item, today: date) -> tuple[ClockView, ClockView]:
    """(service, statutory) of ``task`` on ``today``."""
    return view(task, item, "service", today), view(task, item, "statutory", today)


def whose_time(task: ItemTask) -> str | None:
    """Whose time runs now: ``agent`` (代办, the service clock),
    ``department`` (部门, the statutory clock), ``enterprise`` (the clock
    stops while it supplies materials) or None (no clock runs: not released,
    paused by the department or a suspension, decided, closed)."""
    if task.state in CLOCK_STATES and task.clock in WHOSE:
        return WHOSE[task.clock]
    if task.state == "awaiting_enterprise":
        return "enterprise"
    return None


def legal_due(task: ItemTask, item: Item) -> date | None:
    """The end of the item's legal limit: the statutory due date once that
    clock runs; before it, the legal limit counted from the release (the
    earliest the department's clock could end: the bound of a 容缺 promise,
    which may not outlast the item's own limit). None before the release."""
    if start_of(task, "statutory") is not None:
        return task.statutory_due_on
    if task.released_on is None:
        return None
    return due(task.released_on, item.limit.amount + extensions(task, "statutory"),
               item.limit).date


def due_if_extended(task: ItemTask, item: Item, days: int) -> date | None:
    """The due date of the item's extension clock after ``days`` more."""
    clock = item.extension_clock
    start = start_of(task, clock)
    if start is None:
        return None
    limit = limit_of(item, clock)
    return due(start, limit.amount + paused(task, clock) + extensions(task, clock) + days,
               limit).date

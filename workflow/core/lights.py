"""Warning lights (红黄绿灯) from due dates, on the clock that runs.

green: on track; yellow: close to the limit (at most ``yellow_days_left``
working days left, or at least ``yellow_used_fraction`` of the working days
used); red: past the due date. The light is that of the clock running now
(``ItemTask.clock``: the service clock while the agent prepares, the
statutory one once the department has the application; see
``workflow.core.clocks``). A task whose clock is paused (awaiting the
enterprise, on hold for an expert review, hearing or test, suspended) shows
``paused``; closed, blocked and decided tasks have no light. A project's
light is its worst task's.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date

from workflow.core.models import CLOCK_STATES, PAUSED_STATES, ItemTask
from workflow.kernel import clock

# A paused item does not make a project look better or worse than its running ones.
ORDER = {"paused": 0, "green": 1, "yellow": 2, "red": 3}


@dataclass(frozen=True)
class LightPolicy:
    yellow_days_left: int = 2
    yellow_used_fraction: float = 0.8

    def __post_init__(self) -> None:
        if self.yellow_days_left < 0 or not 0 < self.yellow_used_fraction <= 1:
            raise ValueError("yellow thresholds: days left >= 0 and 0 < used fraction <= 1")


def policy_from_env() -> LightPolicy:
    """Thresholds from ``DAIBAN_YELLOW_DAYS_LEFT`` / ``DAIBAN_YELLOW_USED_FRACTION``."""
    return LightPolicy(
        yellow_days_left=int(os.environ.get("DAIBAN_YELLOW_DAYS_LEFT", "2")),
        yellow_used_fraction=float(os.environ.get("DAIBAN_YELLOW_USED_FRACTION", "0.8")),
    )


DEFAULT_POLICY = policy_from_env()


def first_yellow_day(start: date, due_on: date,
                     policy: LightPolicy = DEFAULT_POLICY) -> date:
    """The first day ``light`` says yellow for a clock that started on
    ``start`` and is due on ``due_on``: the earlier of "``yellow_days_left``
    working days left" and "``yellow_used_fraction`` of the working days used"."""
    by_days_left = clock.working_day_before(due_on, policy.yellow_days_left)
    total = clock.working_days_between(start, due_on).days
    if total <= 0:
        return min(by_days_left, due_on)
    by_fraction = clock.add_working_days(
        start, math.ceil(policy.yellow_used_fraction * total)).date
    # A non-working day right after a threshold working day is yellow too, but
    # the sweep only needs the first working day it turns yellow.
    return min(by_days_left, by_fraction)


def light(task: ItemTask, today: date, policy: LightPolicy = DEFAULT_POLICY) -> str | None:
    """The light of one task on ``today``."""
    if task.state in PAUSED_STATES:
        return "paused"
    if task.state not in CLOCK_STATES or task.due_on is None:
        return None
    if today > task.due_on:
        return "red"
    left = clock.working_days_between(today, task.due_on).days
    if left <= policy.yellow_days_left:
        return "yellow"
    start = task.clock_start
    if start is not None:
        total = clock.working_days_between(start, task.due_on).days
        used = clock.working_days_between(start, today).days
        if total > 0 and used / total >= policy.yellow_used_fraction:
            return "yellow"
    return "green"


def working_days_left(task: ItemTask, today: date) -> int | None:
    """Working days from today to the due date (negative: days overdue)."""
    if task.due_on is None or task.state not in CLOCK_STATES:
        return None
    return clock.working_days_between(today, task.due_on).days


def worst(lights: list[str | None]) -> str:
    """A project's light: its worst task's (green when nothing runs)."""
    present = [x for x in lights if x is not None]
    return max(present, key=lambda x: ORDER[x]) if present else "green"

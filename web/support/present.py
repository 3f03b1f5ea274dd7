"""Presenting engine rows to pages: definition names, lights, days left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from web.support import labels
from workflow.core import clocks, lights
from workflow.core.clocks import ClockView
from workflow.core.operations import ZONE_TZ, definition_for
from workflow.models import ItemTask


@dataclass
class TaskRow:
    """A task as a page lists it: its light and days left on the clock that
    runs, whose time that is (``whose``: agent, department, enterprise or
    None), and both clocks (``service``, ``statutory``: ``ClockView``)."""

    task: ItemTask
    item_name: str
    department: str
    light: str | None
    days_left: int | None
    whose: str | None = None
    service: ClockView | None = None
    statutory: ClockView | None = None

    @property
    def project(self):
        return self.task.project

    @property
    def clocks(self) -> tuple[ClockView, ...]:
        return tuple(c for c in (self.service, self.statutory) if c is not None)


def task_row(task: ItemTask, today: date) -> TaskRow:
    definition = definition_for(task.project)
    item = definition.items.get(task.item_code)
    dept = definition.departments.get(task.department)
    service, statutory = clocks.views(task, item, today) if item else (None, None)
    return TaskRow(
        task=task,
        item_name=labels.name_of(item) if item else task.item_code,
        department=labels.name_of(dept) if dept else task.department,
        light=lights.light(task, today),
        days_left=lights.working_days_left(task, today),
        whose=clocks.whose_time(task),
        service=service,
        statutory=statutory,
    )


def task_rows(tasks, today: date) -> list[TaskRow]:
    return [task_row(t, today) for t in tasks]


def item_choices(definition=None) -> list[tuple[str, str]]:
    """The items of the definition in force (or of ``definition``, when the
    page has read it already), for the filters' menus."""
    from web.support.db import db
    from workflow.kernel.registry import current_version, definition_of

    definition = definition or definition_of(current_version(db()))
    return [(code, labels.name_of(item)) for code, item in definition.items.items()]


def item_name(task) -> str:
    """The name of a task's item in the user's language, from its project's
    definition (the ``item_name`` filter): never its code."""
    from workflow.core.operations import definition_for

    item = definition_for(task.project).items.get(task.item_code)
    return labels.name_of(item) if item is not None else task.item_code


ZONE_FORMATS = {"minute": "%Y-%m-%d %H:%M", "second": "%Y-%m-%d %H:%M:%S", "day": "%Y-%m-%d",
                "time": "%H:%M"}


def zone_time(value: datetime | None, precision: str = "minute") -> str:
    """A stored timestamp in the zone's time (SQLite hands back naive UTC):
    the one rule for every time a page, a notice or an export shows
    (the ``zone_time`` filter in templates)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZONE_TZ).strftime(ZONE_FORMATS[precision])

"""Presenting engine rows to pages: definition names, lights, days left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from web import labels
from workflow import lights
from workflow.models import ItemTask
from workflow.operations import definition_for


@dataclass
class TaskRow:
    task: ItemTask
    item_name: str
    department: str
    light: str | None
    days_left: int | None

    @property
    def project(self):
        return self.task.project


def task_row(task: ItemTask, today: date) -> TaskRow:
    definition = definition_for(task.project)
    item = definition.items.get(task.item_code)
    dept = definition.departments.get(task.department)
    return TaskRow(
        task=task,
        item_name=labels.name_of(item) if item else task.item_code,
        department=labels.name_of(dept) if dept else task.department,
        light=lights.light(task, today),
        days_left=lights.working_days_left(task, today),
    )


def task_rows(tasks, today: date) -> list[TaskRow]:
    return [task_row(t, today) for t in tasks]


def filter_rows(rows: list[TaskRow], args) -> list[TaskRow]:
    """Filter by state, item, light and project code/name, from query arguments."""
    state, item, light, project = (args.get(k, "").strip() for k in ("state", "item", "light", "project"))
    if state:
        rows = [r for r in rows if r.task.state == state]
    if item:
        rows = [r for r in rows if r.task.item_code == item]
    if light:
        rows = [r for r in rows if r.light == light]
    if project:
        rows = [r for r in rows if project in r.project.code or project in r.project.name]
    return rows


SORTS = {
    "due": lambda r: (r.task.due_on or date.max, r.task.id),
    "light": lambda r: (-lights.ORDER.get(r.light or "green", 0), r.task.due_on or date.max),
    "project": lambda r: (r.project.code, r.task.id),
    "item": lambda r: (r.task.item_code, r.task.due_on or date.max),
    "state": lambda r: (r.task.state, r.task.due_on or date.max),
}


def sort_rows(rows: list[TaskRow], key: str) -> list[TaskRow]:
    return sorted(rows, key=SORTS.get(key, SORTS["due"]))

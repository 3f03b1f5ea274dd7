"""Bulk claim and bulk assign: many tasks in one request, all or nothing.

Each task goes through the engine's own operation (``tasks.claim_task``,
``tasks.assign_task``) with its permission checks, its project lock and its
version check, in the caller's one transaction. The first refusal stops the
run and is raised as ``BulkRefused`` naming the task; the caller rolls the
transaction back, so no task of the request changed. Tasks are taken in the
order of their projects' ids (then their own), the order every bulk request
locks projects in, so two bulk requests never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import tasks
from workflow.core.models import ItemTask
from workflow.kernel.errors import NotFound, ValidationError, WorkflowError
from workflow.kernel.models import User

MAX_TASKS = 100


class BulkRefused(WorkflowError):
    """One task of a bulk request was refused; nothing of the request is kept.
    ``task_id`` names it, ``cause`` is the operation's own refusal."""

    code = "bulk_refused"

    def __init__(self, task_id: int, cause: WorkflowError) -> None:
        super().__init__("Task {task}: {cause}", task=task_id, cause=cause)
        self.task_id = task_id
        self.cause = cause


def lock_order(session: Session, task_ids: Sequence[int]) -> list[int]:
    """``task_ids`` without repeats, by project id then task id; an id that is
    no task is refused as not found (at most ``MAX_TASKS`` ids)."""
    wanted = sorted(set(task_ids))
    if not wanted:
        raise ValidationError("Choose at least one task.", field="task")
    if len(wanted) > MAX_TASKS:
        raise ValidationError("At most {limit} tasks at once.", field="task", limit=MAX_TASKS)
    rows = session.execute(select(ItemTask.id, ItemTask.project_id)
                           .where(ItemTask.id.in_(wanted))).all()
    known = {task_id for task_id, _ in rows}
    missing = next((t for t in wanted if t not in known), None)
    if missing is not None:
        raise BulkRefused(missing, NotFound("Task {task} not found.", task=missing))
    return [task_id for _, task_id in sorted((p, t) for t, p in rows)]


def _each(session: Session, task_ids: Sequence[int], run) -> list[ItemTask]:
    done = []
    for task_id in lock_order(session, task_ids):
        try:
            done.append(run(task_id))
        except WorkflowError as exc:
            raise BulkRefused(task_id, exc) from exc
    return done


def claim_tasks(session: Session, task_ids: Sequence[int], *, actor: User,
                now: datetime) -> list[ItemTask]:
    """``actor`` claims every task of ``task_ids`` from their groups' queue."""
    return _each(session, task_ids,
                 lambda t: tasks.claim_task(session, t, actor=actor, now=now))


def assign_tasks(session: Session, task_ids: Sequence[int], assignee: User, *, actor: User,
                 now: datetime) -> list[ItemTask]:
    """``actor`` (a lead handler) assigns every task of ``task_ids``, each
    still in its queue, to ``assignee`` (or their substitute when away)."""
    return _each(session, task_ids, lambda t: tasks.assign_task(
        session, t, assignee, actor=actor, now=now, expected_state="ready"))

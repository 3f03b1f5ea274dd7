"""The queries users wait on, each served by an index declared on the model.

- ``inbox``: an agent's own open tasks plus their groups' unclaimed queue, by
  due date (``ix_item_task_inbox_due`` and ``ix_item_task_queue_due``). Written
  as a UNION ALL of two index-ordered, limited scans rather than one OR, which
  no planner can serve from an index.
- ``overdue`` / ``near_due``: tasks whose clock runs, by due date
  (``ix_item_task_clock_due``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, and_, select, union_all
from sqlalchemy.orm import Session, joinedload

from workflow.models import CLOCK_STATES, INBOX_STATES, GroupMembership, ItemTask, User


def _my_group_ids(session: Session, user: User) -> list[int]:
    return list(session.scalars(select(GroupMembership.group_id)
                                .where(GroupMembership.user_id == user.id)))


def inbox_ids(session: Session, user: User, limit: int = 50) -> list[int]:
    """Ids of the first ``limit`` tasks of ``user``'s inbox, by due date."""
    groups = _my_group_ids(session, user)
    mine = (select(ItemTask.id, ItemTask.due_on)
            .where(ItemTask.assignee_id == user.id, ItemTask.state.in_(INBOX_STATES))
            .order_by(ItemTask.due_on, ItemTask.id).limit(limit))
    parts = [mine.subquery().select()]
    if groups:
        queue = (select(ItemTask.id, ItemTask.due_on)
                 .where(ItemTask.group_id.in_(groups), ItemTask.state == "ready")
                 .order_by(ItemTask.due_on, ItemTask.id).limit(limit))
        parts.append(queue.subquery().select())
    both = union_all(*parts).subquery()
    rows = session.execute(select(both.c.id).order_by(both.c.due_on, both.c.id).limit(limit))
    return [row[0] for row in rows]


def inbox(session: Session, user: User, limit: int = 50) -> list[ItemTask]:
    """``user``'s own open tasks and their groups' queue, earliest due first."""
    ids = inbox_ids(session, user, limit)
    if not ids:
        return []
    tasks = session.scalars(select(ItemTask).where(ItemTask.id.in_(ids))
                            .options(joinedload(ItemTask.project))).unique().all()
    order = {task_id: n for n, task_id in enumerate(ids)}
    return sorted(tasks, key=lambda t: order[t.id])


def clock_tasks_due_before(day: date) -> Select:
    """Tasks whose clock runs and whose due date is before ``day`` (overdue on it)."""
    return (select(ItemTask)
            .where(ItemTask.state.in_(CLOCK_STATES), ItemTask.due_on < day)
            .order_by(ItemTask.due_on, ItemTask.id))


def overdue(session: Session, today: date, limit: int | None = None) -> list[ItemTask]:
    """Every task past its due date on ``today`` (red), most overdue first."""
    query = clock_tasks_due_before(today)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def due_between(session: Session, first: date, last: date) -> list[ItemTask]:
    """Tasks whose clock runs and whose due date falls in [first, last]."""
    return list(session.scalars(
        select(ItemTask).where(ItemTask.state.in_(CLOCK_STATES),
                               and_(ItemTask.due_on >= first, ItemTask.due_on <= last))
        .order_by(ItemTask.due_on, ItemTask.id)))



def my_tasks(session: Session, user: User) -> list[ItemTask]:
    """Every open task assigned to ``user``, earliest due first."""
    return list(session.scalars(
        select(ItemTask).where(ItemTask.assignee_id == user.id, ItemTask.state.in_(INBOX_STATES))
        .options(joinedload(ItemTask.project)).order_by(ItemTask.due_on, ItemTask.id)))


def group_queue(session: Session, user: User) -> list[ItemTask]:
    """The unclaimed tasks of ``user``'s groups, earliest due first."""
    groups = _my_group_ids(session, user)
    if not groups:
        return []
    return list(session.scalars(
        select(ItemTask).where(ItemTask.group_id.in_(groups), ItemTask.state == "ready")
        .options(joinedload(ItemTask.project)).order_by(ItemTask.due_on, ItemTask.id)))


def archive(session: Session, user: User, limit: int = 200) -> list[ItemTask]:
    """What ``user`` finished (closed tasks last assigned to them), newest first."""
    return list(session.scalars(
        select(ItemTask).where(ItemTask.assignee_id == user.id,
                               ItemTask.state.in_(("done", "covered", "terminated")))
        .options(joinedload(ItemTask.project))
        .order_by(ItemTask.closed_on.desc(), ItemTask.id.desc()).limit(limit)))


def group_tasks(session: Session, group_ids: list[int]) -> list[ItemTask]:
    """Every open task (not blocked, not closed) of the given groups."""
    if not group_ids:
        return []
    return list(session.scalars(
        select(ItemTask).where(ItemTask.group_id.in_(group_ids),
                               ItemTask.state.in_(("ready",) + INBOX_STATES))
        .options(joinedload(ItemTask.project), joinedload(ItemTask.assignee))
        .order_by(ItemTask.due_on, ItemTask.id)))

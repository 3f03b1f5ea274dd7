"""The queries users wait on, each served by an index declared on the model.

- ``inbox``: an agent's own open tasks plus each of their groups' unclaimed
  queue, by due date (``ix_item_task_inbox_due`` and ``ix_item_task_queue_due``).
  One statement: a UNION ALL of index-ordered, limited scans (one per group,
  so each is an equality scan in due order) joined to the task and project
  rows, rather than one OR that no planner can serve from an index.
- ``overdue``: the sweep over tasks whose clock runs, by due date
  (``ix_item_task_clock_due``); it returns plain rows, not ORM objects, since
  it reads tens of thousands of them. ``overdue_tasks`` loads full tasks for
  pages and the API.

State lists are rendered as literals (``IN ('ready', ...)``), not bound
parameters, so that SQLite's planner can prove a query matches a partial
index's WHERE clause (with parameters it cannot, and scans the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from sqlalchemy import Row, Select, and_, bindparam, func, inspect, select, union_all
from sqlalchemy.orm import Session, contains_eager, joinedload

from workflow.models import (
    CLOCK_STATES,
    INBOX_STATES,
    GroupMembership,
    ItemTask,
    Project,
    User,
)


def states_in(values: Iterable[str]):
    """``ItemTask.state IN (...)`` with the states inlined as literals."""
    return ItemTask.state.in_(bindparam("states", list(values), expanding=True,
                                        literal_execute=True, unique=True))


def state_is(value: str):
    return ItemTask.state == bindparam("state", value, literal_execute=True, unique=True)


def _my_group_ids(session: Session, user: User) -> list[int]:
    if "memberships" not in inspect(user).unloaded:
        return sorted(m.group_id for m in user.memberships)
    return list(session.scalars(select(GroupMembership.group_id)
                                .where(GroupMembership.user_id == user.id)
                                .order_by(GroupMembership.group_id)))


def _inbox_branches(groups: int, limit: int):
    """One index-ordered, limited scan per source of work: the user's own
    tasks, then each group's queue (user and group ids are bound later)."""
    def scan(*where):
        return (select(ItemTask.id.label("id"), ItemTask.due_on.label("due_on"))
                .where(*where).order_by(ItemTask.due_on, ItemTask.id).limit(limit)
                .subquery().select())

    yield scan(ItemTask.assignee_id == bindparam("user_id"), states_in(INBOX_STATES))
    for n in range(groups):
        yield scan(ItemTask.group_id == bindparam(f"group_{n}"), state_is("ready"))


@lru_cache(maxsize=64)
def _inbox_statements(groups: int, limit: int) -> tuple[Select, Select]:
    """The inbox statements for a user in ``groups`` groups, built once: the
    UNION ALL is costly to build, and its shape depends only on these two."""
    ids = union_all(*_inbox_branches(groups, limit)).subquery("inbox_ids")
    only_ids = select(ids.c.id).order_by(ids.c.due_on, ids.c.id).limit(limit)
    tasks = (select(ItemTask)
             .join(ids, ItemTask.id == ids.c.id)
             .join(Project, Project.id == ItemTask.project_id)
             .options(contains_eager(ItemTask.project))
             .order_by(ids.c.due_on, ids.c.id).limit(limit))
    return only_ids, tasks


def _inbox_params(session: Session, user: User) -> tuple[int, dict[str, int]]:
    groups = _my_group_ids(session, user)
    params = {"user_id": user.id} | {f"group_{n}": g for n, g in enumerate(groups)}
    return len(groups), params


def inbox_ids(session: Session, user: User, limit: int = 50) -> list[int]:
    """Ids of the first ``limit`` tasks of ``user``'s inbox, by due date."""
    groups, params = _inbox_params(session, user)
    statement, _ = _inbox_statements(groups, limit)
    return [row[0] for row in session.execute(statement, params)]


def inbox(session: Session, user: User, limit: int = 50) -> list[ItemTask]:
    """``user``'s own open tasks and their groups' queue, earliest due first,
    each with its project loaded (one statement)."""
    groups, params = _inbox_params(session, user)
    _, statement = _inbox_statements(groups, limit)
    return list(session.scalars(statement, params))


# Columns the overdue sweep needs (and the supervisors' filters read).
OVERDUE_COLUMNS = (ItemTask.id, ItemTask.project_id, ItemTask.item_code, ItemTask.group_id,
                   ItemTask.assignee_id, ItemTask.department, ItemTask.state, ItemTask.due_on)


def clock_tasks_due_before(day: date, *columns) -> Select:
    """Tasks whose clock runs and whose due date is before ``day`` (overdue on it)."""
    return (select(*(columns or (ItemTask,)))
            .where(states_in(CLOCK_STATES), ItemTask.due_on < day)
            .order_by(ItemTask.due_on, ItemTask.id))


def overdue(session: Session, today: date, limit: int | None = None) -> list[Row]:
    """Every task past its due date on ``today`` (red), most overdue first, as
    plain rows of ``OVERDUE_COLUMNS``."""
    query = clock_tasks_due_before(today, *OVERDUE_COLUMNS)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query))


def overdue_tasks(session: Session, today: date, limit: int | None = None) -> list[ItemTask]:
    """Overdue tasks as full objects with project, group and assignee loaded."""
    query = clock_tasks_due_before(today).options(
        joinedload(ItemTask.project), joinedload(ItemTask.group), joinedload(ItemTask.assignee))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def due_between(session: Session, first: date, last: date) -> list[ItemTask]:
    """Tasks whose clock runs and whose due date falls in [first, last]."""
    return list(session.scalars(
        select(ItemTask).where(states_in(CLOCK_STATES),
                               and_(ItemTask.due_on >= first, ItemTask.due_on <= last))
        .order_by(ItemTask.due_on, ItemTask.id)))



def my_tasks(session: Session, user: User) -> list[ItemTask]:
    """Every open task assigned to ``user``, earliest due first."""
    return list(session.scalars(
        select(ItemTask).where(ItemTask.assignee_id == user.id, states_in(INBOX_STATES))
        .options(joinedload(ItemTask.project)).order_by(ItemTask.due_on, ItemTask.id)))


def inbox_counts(session: Session, user: User) -> dict[str, int]:
    """How many open tasks ``user`` holds and how many wait in their groups'
    queue (the navigation badge and the inbox tabs), counted by the database."""
    mine = session.scalar(select(func.count()).select_from(ItemTask).where(
        ItemTask.assignee_id == user.id, states_in(INBOX_STATES)))
    groups = _my_group_ids(session, user)
    queue = session.scalar(select(func.count()).select_from(ItemTask).where(
        ItemTask.group_id.in_(groups), state_is("ready"))) if groups else 0
    return {"mine": mine or 0, "queue": queue or 0}


def group_queue(session: Session, user: User) -> list[ItemTask]:
    """The unclaimed tasks of ``user``'s groups, earliest due first."""
    groups = _my_group_ids(session, user)
    if not groups:
        return []
    return list(session.scalars(
        select(ItemTask).where(ItemTask.group_id.in_(groups), state_is("ready"))
        .options(joinedload(ItemTask.project)).order_by(ItemTask.due_on, ItemTask.id)))


def archive(session: Session, user: User, limit: int = 200) -> list[ItemTask]:
    """What ``user`` finished (closed tasks last assigned to them), newest first."""
    return list(session.scalars(
        select(ItemTask).where(ItemTask.assignee_id == user.id,
                               states_in(("done", "covered", "terminated")))
        .options(joinedload(ItemTask.project))
        .order_by(ItemTask.closed_on.desc(), ItemTask.id.desc()).limit(limit)))


def group_tasks(session: Session, group_ids: list[int]) -> list[ItemTask]:
    """Every open task (not blocked, not closed) of the given groups."""
    if not group_ids:
        return []
    return list(session.scalars(
        select(ItemTask).where(ItemTask.group_id.in_(group_ids),
                               states_in(("ready",) + INBOX_STATES))
        .options(joinedload(ItemTask.project), joinedload(ItemTask.assignee))
        .order_by(ItemTask.due_on, ItemTask.id)))

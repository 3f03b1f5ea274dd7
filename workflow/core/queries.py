"""The queries users wait on, each served by an index declared on the model.

- ``inbox``: the first page of an agent's own open tasks plus each of their
  groups' unclaimed queue, by due date (``ix_item_task_inbox_due`` and
  ``ix_item_task_queue_due``), as one statement built once per number of
  groups: a UNION ALL of index-ordered, limited scans (one per group, so each
  is an equality scan in due order) joined to the task and project rows. The
  engine's benchmark measures it against hand-written SQL; the API pages the
  same list with ``inbox_page``.
- ``overdue``: every task whose clock runs and is past due, by due date
  (``ix_item_task_clock_due``), as plain rows, not ORM objects (the engine's
  benchmark reads all of them; the pages read ``figures.watch_page``).
- The task lists of the pages — an agent's tasks, their groups' queue, their
  archive, a lead handler's groups — are pages (``workflow.kernel.paging``): filtered
  and ordered in SQL, one index range per group, and lights computed in SQL
  (``light_is``) with the same rule as ``workflow.core.lights.light``.

State lists are rendered as literals (``IN ('ready', ...)``), not bound
parameters, so that SQLite's planner can prove a query matches a partial
index's WHERE clause (with parameters it cannot, and scans the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from sqlalchemy import Row, Select, and_, bindparam, case, func, inspect, or_, select, union_all
from sqlalchemy.orm import Session, contains_eager, joinedload

from workflow.core.models import (
    CLOCK_STATES,
    CLOSED_STATES,
    DESK_STATES,
    INBOX_STATES,
    PAUSED_STATES,
    ItemTask,
    Project,
)
from workflow.kernel import paging, validate
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import GroupMembership, IndustryGroup, User
from workflow.kernel.paging import Key, Order, Page, Segment

LIGHTS = ("red", "yellow", "green", "paused")


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


# -- lights in SQL ------------------------------------------------------------------------

def light_is(light: str, today: date):
    """Tasks showing ``light`` on ``today``, as ``workflow.core.lights.light`` decides:
    red past the due date; yellow from the stored first yellow day
    (``warn_on``) to the due date; green before it; paused while the clock
    stops. Only tasks whose clock runs are red, yellow or green."""
    if light == "red":
        return and_(states_in(CLOCK_STATES), ItemTask.due_on < today)
    if light == "yellow":
        return and_(states_in(CLOCK_STATES), ItemTask.due_on >= today, ItemTask.warn_on <= today)
    if light == "green":
        return and_(states_in(CLOCK_STATES), ItemTask.due_on >= today,
                    or_(ItemTask.warn_on > today, ItemTask.warn_on.is_(None)))
    if light == "paused":
        return states_in(PAUSED_STATES)
    raise ValidationError("Unknown light '{light}'; choose one of {choices}.", field="light",
                          light=light, choices=", ".join(LIGHTS))


# -- the inbox (one statement, for the API and the benchmark) --------------------------------

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


def inbox(session: Session, user: User, limit: int = 50) -> list[ItemTask]:
    """``user``'s own open tasks and their groups' queue, earliest due first,
    each with its project loaded (one statement)."""
    groups, params = _inbox_params(session, user)
    _, statement = _inbox_statements(groups, limit)
    return list(session.scalars(statement, params))


def inbox_order(session: Session, user: User) -> Order:
    """The API inbox as a paged list: own open tasks and the groups' queue by
    due date, one branch per index range (undated tasks last, by id)."""
    groups = _my_group_ids(session, user)
    branches = (and_(ItemTask.assignee_id == user.id, states_in(INBOX_STATES)),
                *(and_(ItemTask.group_id == g, state_is("ready")) for g in groups))
    return Order("inbox", (
        Segment(paging.Keyset(Key(ItemTask.due_on, date), Key(ItemTask.id, int)),
                (ItemTask.due_on.is_not(None),), branches),
        Segment(paging.Keyset(Key(ItemTask.id, int)), (ItemTask.due_on.is_(None),), branches),
    ))


def inbox_page(session: Session, user: User, *, cursor: str | None = None,
               limit: int | None = None) -> Page[ItemTask]:
    """A page of ``user``'s inbox (the API's), tasks with project, enterprise,
    group and assignee loaded in the same statement."""
    return paging.fetch(session, task_query(), inbox_order(session, user), cursor=cursor,
                        limit=limit, options=TASK_OPTIONS)


# -- every overdue task ---------------------------------------------------------------

# What a reader of every overdue task needs (the engine's benchmark).
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


# -- task lists of the pages --------------------------------------------------------------

# What a task row on a page shows: its project and enterprise, group and
# assignee (with the substitute of an away assignee), loaded in the page's
# statement (many-to-one joins on at most a page of rows).
TASK_OPTIONS = (contains_eager(ItemTask.project).joinedload(Project.enterprise),
                joinedload(ItemTask.group),
                joinedload(ItemTask.assignee).joinedload(User.substitute))


def task_query() -> Select:
    """Tasks joined to their projects (filters and sorts read both)."""
    return select(ItemTask).join(Project, Project.id == ItemTask.project_id)


@dataclass(frozen=True)
class TaskFilter:
    """Filters of the task lists; ``None`` is "any". ``project`` matches a
    fragment of the project's code or name; ``unassigned`` keeps tasks nobody
    holds (the queue); ``min_days_late`` keeps tasks at least that many working
    days past due (0: due today or earlier)."""

    state: str | None = None
    item_code: str | None = None
    light: str | None = None
    project: str | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    department: str | None = None
    min_days_late: int | None = None

    def clauses(self, today: date) -> list:
        where = []
        if self.state:
            where.append(state_is(self.state))
        if self.item_code:
            where.append(ItemTask.item_code == self.item_code)
        if self.light:
            where.append(light_is(self.light, today))
        if self.project:
            pattern = validate.like_pattern(self.project)
            where.append(or_(Project.code.ilike(pattern, escape="\\"),
                             Project.name.ilike(pattern, escape="\\")))
        if self.group_id is not None:
            where.append(ItemTask.group_id == self.group_id)
        if self.unassigned:
            where.append(ItemTask.assignee_id.is_(None))
        elif self.assignee_id is not None:
            where.append(ItemTask.assignee_id == self.assignee_id)
        if self.department:
            where.append(ItemTask.department == self.department)
        if self.min_days_late is not None:
            from workflow.kernel import clock

            where.append(ItemTask.due_on < clock.late_bound(today, self.min_days_late))
        return where


DUE = (Key(ItemTask.due_on, date), Key(ItemTask.id, int))
BY_ID = (Key(ItemTask.id, int),)


def _dated(name: str, keys: tuple[Key, ...], branches: tuple, *segments: tuple) -> Order:
    """Segments ordered by ``keys`` over dated tasks, then the undated ones by id."""
    parts = [Segment(paging.Keyset(*keys), (ItemTask.due_on.is_not(None), *where), branches)
             for where in (segments or ((),))]
    parts.append(Segment(paging.Keyset(*BY_ID), (ItemTask.due_on.is_(None),), branches))
    return Order(name, tuple(parts))


def _lit_segments(today: date, *, rest: bool = False) -> tuple[tuple, ...]:
    """Red, yellow, then green and paused (``rest``: green and paused together)."""
    red, yellow = (light_is("red", today),), (light_is("yellow", today),)
    if rest:
        return red, yellow, (or_(light_is("green", today), light_is("paused", today)),)
    return red, yellow, (light_is("green", today),), (light_is("paused", today),)


SORTS = ("due", "light", "item", "state", "project")
# The desk's sorts: each on an index of its open tasks per group
# (``ix_item_task_open_due``, ``_open_item``, ``_open_state``).
DESK_SORTS = ("light", "due", "item", "state")
DIRECTIONS = ("asc", "desc")


def reverse(order: Order) -> Order:
    """``order`` read the other way: every key flipped, the segments in the
    opposite sequence (undated tasks first, then the latest due). The same
    indexes serve it, scanned backwards."""
    return Order(f"{order.name}:desc", tuple(
        Segment(paging.Keyset(*(replace(k, descending=not k.descending) for k in s.keyset.keys)),
                s.where, s.branches)
        for s in reversed(order.segments)))


def task_order(name: str, sort: str, today: date, branches: tuple = (),
               direction: str = "asc") -> Order:
    """The order of a task list for a sort the pages offer (``direction``
    ``desc``: the same order reversed, see ``reverse``):

    - ``due``: earliest due date first (undated tasks last);
    - ``light``: red, yellow, green, then paused, each by due date;
    - ``item`` / ``state``: by item code or state, then due date;
    - ``project``: by project code."""
    if direction not in DIRECTIONS:
        raise ValidationError("Unknown direction '{direction}'; choose asc or desc.",
                              field="dir", direction=direction)
    order = _task_order(name, sort, today, branches)
    return reverse(order) if direction == "desc" else order


def _task_order(name: str, sort: str, today: date, branches: tuple) -> Order:
    if sort not in SORTS:
        raise ValidationError("Unknown sort '{sort}'; choose one of {choices}.", field="sort",
                              sort=sort, choices=", ".join(SORTS))
    label = f"{name}:{sort}"
    if sort == "due":
        return _dated(label, DUE, branches)
    if sort == "light":
        return _dated(label, DUE, branches, *_lit_segments(today))
    if sort == "item":
        return _dated(label, (Key(ItemTask.item_code, str), *DUE), branches)
    if sort == "state":
        return _dated(label, (Key(ItemTask.state, str), *DUE), branches)
    return Order.by(label, Key(Project.code, str), Key(ItemTask.id, int), branches=branches)


def my_tasks(session: Session, user: User, today: date, *, filters: TaskFilter = TaskFilter(),
             sort: str = "due", direction: str = "asc", cursor: str | None = None,
             limit: int | None = None) -> Page[ItemTask]:
    """A page of the open tasks ``user`` holds (``ix_item_task_inbox_due`` and
    its item and state variants)."""
    query = task_query().where(ItemTask.assignee_id == user.id, states_in(INBOX_STATES),
                               *filters.clauses(today))
    return paging.fetch(session, query, task_order("mine", sort, today, direction=direction),
                        cursor=cursor,
                        limit=limit, options=TASK_OPTIONS)


def group_queue(session: Session, user: User, today: date, *,
                filters: TaskFilter = TaskFilter(), sort: str = "due", direction: str = "asc",
                cursor: str | None = None, limit: int | None = None) -> Page[ItemTask]:
    """A page of the unclaimed tasks of ``user``'s groups: one scan of
    ``ix_item_task_queue_due`` (or its item variant) per group, merged."""
    groups = _my_group_ids(session, user)
    if not groups:
        return Page(rows=[], limit=paging.check_limit(limit))
    query = task_query().where(state_is("ready"), *filters.clauses(today))
    sort = "due" if sort == "state" else sort  # every queued task is ready
    branches = tuple(ItemTask.group_id == g for g in groups)
    return paging.fetch(session, query, task_order("queue", sort, today, branches, direction),
                        cursor=cursor, limit=limit, options=TASK_OPTIONS)


ARCHIVE = Order("archive", (
    Segment(paging.Keyset(Key(ItemTask.closed_on, date, descending=True),
                          Key(ItemTask.id, int, descending=True)), (ItemTask.closed_on.is_not(None),)),
    Segment(paging.Keyset(Key(ItemTask.id, int, descending=True)), (ItemTask.closed_on.is_(None),)),
))


def archive(session: Session, user: User, today: date, *, filters: TaskFilter = TaskFilter(),
            cursor: str | None = None, limit: int | None = None) -> Page[ItemTask]:
    """A page of what ``user`` finished (closed tasks last assigned to them),
    newest first (``ix_item_task_archive``)."""
    query = task_query().where(ItemTask.assignee_id == user.id, states_in(CLOSED_STATES),
                               *filters.clauses(today))
    return paging.fetch(session, query, ARCHIVE, cursor=cursor, limit=limit,
                        options=TASK_OPTIONS)




def group_tasks(session: Session, group_ids: Sequence[int], today: date, *,
                filters: TaskFilter = TaskFilter(), sort: str = "light", direction: str = "asc",
                cursor: str | None = None, limit: int | None = None) -> Page[ItemTask]:
    """A page of the open tasks (not blocked, not closed) of the given groups,
    by default urgent first: red, then yellow, then the rest, each by due date
    (``ix_item_task_open_due``, one scan per group); or by due date, item or
    state (``DESK_SORTS``), either way round."""
    if sort not in DESK_SORTS:
        raise ValidationError("Unknown sort '{sort}'; choose one of {choices}.", field="sort",
                              sort=sort, choices=", ".join(DESK_SORTS))
    if direction not in DIRECTIONS:
        raise ValidationError("Unknown direction '{direction}'; choose asc or desc.",
                              field="dir", direction=direction)
    if not group_ids:
        return Page(rows=[], limit=paging.check_limit(limit))
    query = task_query().where(states_in(DESK_STATES), *filters.clauses(today))
    branches = tuple(ItemTask.group_id == g for g in group_ids)
    if sort == "light":
        order = _dated("desk", DUE, branches, *_lit_segments(today, rest=True))
    else:
        order = _task_order("desk", sort, today, branches)
    if direction == "desc":
        order = reverse(order)
    return paging.fetch(session, query, order, cursor=cursor, limit=limit, options=TASK_OPTIONS)


def group_id_of(session: Session, code: str) -> int | None:
    return session.scalar(select(IndustryGroup.id).where(IndustryGroup.code == code))


def user_id_of(session: Session, username: str) -> int | None:
    return session.scalar(select(User.id).where(User.username == username))


# -- counts (badges and tabs) ----------------------------------------------------------------

# Counts read each index range in its order (see paging._capped): one range
# per assignee or group, by due date, stopping after the cap.

def mine_query(user: User) -> Select:
    """The open tasks ``user`` holds (the badge and the tab count them)."""
    return (select(ItemTask.id).where(ItemTask.assignee_id == user.id, states_in(INBOX_STATES))
            .order_by(ItemTask.due_on))


def _queue(groups: Sequence[int]) -> list[Select]:
    return [select(ItemTask.id).where(ItemTask.group_id == g, state_is("ready"))
            .order_by(ItemTask.due_on) for g in groups]


def group_counts(group_ids: Sequence[int], *where) -> list[Select]:
    """Tasks of each group matching ``where``, one range of
    ``ix_item_task_open_due`` per group (for ``paging.counts_upto``)."""
    return [select(ItemTask.id).where(ItemTask.group_id == g, *where).order_by(ItemTask.due_on)
            for g in group_ids]


def inbox_counts(session: Session, user: User) -> dict[str, paging.Count]:
    """How many open tasks ``user`` holds and how many wait in their groups'
    queue (the navigation badge and the inbox tabs), counted by the database
    up to ``paging.COUNT_CAP`` in one round trip."""
    groups = _my_group_ids(session, user)
    queries = {"mine": mine_query(user)}
    if groups:
        queries["queue"] = _queue(groups)
    counts = paging.counts_upto(session, queries)
    counts.setdefault("queue", paging.Count(0, True))
    return counts


def desk_count_queries(group_ids: Sequence[int], today: date) -> dict[str, list[Select]]:
    """What the desk counts for its groups: red and yellow tasks, and the open
    ones (in the queue or someone's hands); none without groups."""
    if not group_ids:
        return {}
    return {"red": group_counts(group_ids, light_is("red", today)),
            "yellow": group_counts(group_ids, light_is("yellow", today)),
            "open": group_counts(group_ids, states_in(DESK_STATES))}


# -- projects: their items' counts and lights ------------------------------------------------

@dataclass(frozen=True)
class ProjectFigures:
    """One project's items today: ``finished`` (done or waived; ``covered`` of
    them waived by a regional evaluation or a commitment), ``in_work``
    (in the queue or someone's hands, paused ones included), ``open_items``
    (not closed, blocked ones included), ``red`` / ``yellow`` items, and the
    project's light (its worst item's, as ``workflow.core.lights.worst``)."""

    items: int = 0
    finished: int = 0
    in_work: int = 0
    open_items: int = 0
    red: int = 0
    yellow: int = 0
    light: str = "green"
    covered: int = 0


def _flag(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def project_figures(session: Session, project_ids: Iterable[int], today: date
                    ) -> dict[int, ProjectFigures]:
    """``ProjectFigures`` of each project, in one GROUP BY over their tasks
    (for a page of projects: the id list is at most a page long)."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(ItemTask.project_id, func.count(ItemTask.id),
               _flag(states_in(("done", "covered"))), _flag(states_in(DESK_STATES)),
               _flag(~states_in(CLOSED_STATES)), _flag(light_is("red", today)),
               _flag(light_is("yellow", today)), _flag(light_is("green", today)),
               _flag(light_is("paused", today)), _flag(states_in(("covered",))))
        .where(ItemTask.project_id.in_(ids)).group_by(ItemTask.project_id))
    found = {}
    for project_id, items, finished, in_work, open_items, red, yellow, green, paused, covered \
            in rows:
        light = ("red" if red else "yellow" if yellow else "green" if green
                 else "paused" if paused else "green")
        found[project_id] = ProjectFigures(items, finished or 0, in_work or 0, open_items or 0,
                                           red or 0, yellow or 0, light, covered or 0)
    return found


def project_light_order(name: str, today: date, *keys: Key) -> Order:
    """Projects with a red item first, then those with a yellow one, then the
    rest, each by ``keys`` (which end with the project id). A project's items
    are probed through ``uq_item_task_project_id`` as the scan goes."""
    def having(light: str):
        return select(ItemTask.id).where(ItemTask.project_id == Project.id,
                                         light_is(light, today)).exists()

    red, yellow = having("red"), having("yellow")
    return Order(name, (
        Segment(paging.Keyset(*keys), (red,)),
        Segment(paging.Keyset(*keys), (~red, yellow)),
        Segment(paging.Keyset(*keys), (~red, ~yellow)),
    ))

"""What supervisors (督查) read: the watch list of overdue and near-due items,
performance figures per group, agent, department and item, the project
ledger (台账) and the supervision notices issued.

Everything here only reads. Each function takes ``today`` (the zone's date)
from its caller and an optional ``group_ids`` scope: ``None`` is every group
(supervisors, admins); a set limits the result to those industry groups (a
lead handler sees their own groups only).

Definitions used throughout, in working days (工作日) of the statutory clock:

Every item is watched on the clock that runs (``ItemTask.clock``; see
``workflow.core.clocks``): the service clock while the agent prepares the
application (代办's time), the statutory clock once the department has it
(部门's time); each row says which.

- *days late* (超期工作日) of an item on ``today``:
  ``clock.working_days_between(due_on, today)``; positive once overdue, zero on
  the due date, negative while days are left.
- *red* / *yellow*: ``workflow.core.lights.light`` on ``today``. Only items whose
  clock runs (``CLOCK_STATES``) can be either; a paused item is neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from workflow.core import lights, queries, rollups
from workflow.core.models import (
    CLOCK_STATES,
    WHOSE_CLOCK,
    AuditEvent,
    FigureClosedDay,
    FigureClosedTotal,
    FigureOpen,
    ItemTask,
    Project,
    SupervisionNotice,
)
from workflow.kernel import clock, paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import GroupMembership, IndustryGroup, User
from workflow.kernel.moments import stored_day

# -- the watch list: overdue (red) and near-due (yellow) items --------------------------


# The most working days late a filter asks for (some ten years).
MAX_DAYS_LATE = 3650


@dataclass(frozen=True)
class WatchFilter:
    """Filters of the watch list; ``None`` means "any"."""

    group_id: int | None = None
    agent_id: int | None = None
    department: str | None = None
    item_code: str | None = None
    min_days_late: int | None = None
    light: str | None = None  # "red" or "yellow"

    def task_filter(self) -> queries.TaskFilter:
        return queries.TaskFilter(group_id=self.group_id, assignee_id=self.agent_id,
                                  department=self.department, item_code=self.item_code,
                                  min_days_late=self.min_days_late, light=self.light)


@dataclass(frozen=True)
class WatchRow:
    """A watched item on the clock that runs (``clock``: service or
    statutory; ``whose``: agent, 代办, or department, 部门)."""

    task: ItemTask
    light: str  # "red" or "yellow"
    days_late: int  # working days past the due date (<= 0: not yet late)

    @property
    def project(self) -> Project:
        return self.task.project

    @property
    def clock(self) -> str:
        return self.task.clock or "statutory"

    @property
    def whose(self) -> str:
        return WHOSE_CLOCK[self.clock]


def _watch_query(today: date, filters: WatchFilter, *columns) -> Select:
    """Tasks whose clock runs and whose first yellow day (``warn_on``) has
    come: every red item (an item turns yellow on or before its due date) and
    every yellow one, with the filters."""
    query = select(*(columns or (ItemTask,))).join(Project, Project.id == ItemTask.project_id)
    return query.where(queries.states_in(CLOCK_STATES), ItemTask.warn_on <= today,
                       *filters.task_filter().clauses(today))


def _branches(filters: WatchFilter, group_ids: Collection[int] | None) -> tuple:
    """One scan per group of a lead's scope (``ix_item_task_open_due``); none
    for a supervisor, who reads the clock indexes whole."""
    if group_ids is None:
        return ()
    shown = sorted(g for g in group_ids if filters.group_id in (None, g))
    return tuple(ItemTask.group_id == g for g in shown) or (ItemTask.id.is_(None),)


def _watch_order(filters: WatchFilter, group_ids: Collection[int] | None) -> paging.Order:
    """Most late first is earliest due first: lateness only grows as the due
    date goes back (``ix_item_task_clock_due`` and its department and item
    variants, or one scan per group)."""
    return paging.Order.by("watch", *queries.DUE, branches=_branches(filters, group_ids))


WATCH_OPTIONS = (contains_eager(ItemTask.project).options(
                     joinedload(Project.enterprise), joinedload(Project.lead)),
                 joinedload(ItemTask.assignee), joinedload(ItemTask.group))


def watch_row(task, today: date) -> WatchRow:
    return WatchRow(task=task, light=lights.light(task, today) or "green",
                    days_late=clock.working_days_between(task.due_on, today).days)


def watch_page(session: Session, today: date, filters: WatchFilter = WatchFilter(),
               group_ids: Collection[int] | None = None, *, cursor: str | None = None,
               limit: int | None = None) -> paging.Page[WatchRow]:
    """A page of the items that are red or yellow on ``today``, most late
    first. The minimum days late compares ``days_late`` (so 0 keeps items due
    today or earlier, 1 keeps only red items)."""
    page = paging.fetch(session, _watch_query(today, filters), _watch_order(filters, group_ids),
                        cursor=cursor, limit=limit, options=WATCH_OPTIONS)
    page.rows = [watch_row(task, today) for task in page.rows]
    return page


def watch_list(session: Session, today: date, filters: WatchFilter = WatchFilter(),
               group_ids: Collection[int] | None = None, *, batch: int = 500,
               end_reads: bool = False) -> Iterator[WatchRow]:
    """Every watched item, most late first, read a page at a time (exports;
    ``end_reads`` as ``paging.pages_of``)."""
    for task in paging.pages_of(session, _watch_query(today, filters),
                                _watch_order(filters, group_ids), batch=batch,
                                options=WATCH_OPTIONS, end_reads=end_reads):
        yield watch_row(task, today)


def watch_counts(session: Session, today: date, filters: WatchFilter = WatchFilter(),
                 group_ids: Collection[int] | None = None) -> dict:
    """Red and yellow items of the watch list, and the open supervision
    notices in scope. Red and yellow are the open-item rollup's exact figures
    when it was refreshed today and the filters are its dimensions (with
    ``as_of``), else counted live up to ``paging.COUNT_CAP``; the notices are
    counted live. One round trip either way."""
    scope = sorted(g for g in group_ids if filters.group_id in (None, g)) \
        if group_ids is not None else ([filters.group_id] if filters.group_id is not None else None)
    notices = select(SupervisionNotice.id).where(SupervisionNotice.closed_at.is_(None))
    if group_ids is not None:
        notices = notices.join(ItemTask, ItemTask.id == SupervisionNotice.task_id).where(
            ItemTask.group_id.in_(sorted(group_ids)))
    rolled = None if filters.min_days_late is not None else rollups.light_counts(
        session, today, group_ids=scope, agent_id=filters.agent_id,
        department=filters.department, item_code=filters.item_code)
    if rolled is not None:
        counts = paging.counts_upto(session, {"notices": notices})
        red = rolled.red if filters.light in (None, "red") else 0
        yellow = rolled.yellow if filters.light in (None, "yellow") else 0
        return {"red": paging.Count(red, True), "yellow": paging.Count(yellow, True),
                "notices": counts["notices"], "as_of": rolled.as_of}
    where = filters.task_filter().clauses(today)
    if group_ids is not None:
        where.append(ItemTask.group_id.in_(sorted(group_ids)))
    base = select(ItemTask.id).where(*where)
    return paging.counts_upto(session, {
        "red": base.where(queries.light_is("red", today)).order_by(ItemTask.due_on),
        # Read from the due date on, where the yellow items are (see paging._capped).
        "yellow": base.where(queries.light_is("yellow", today)).order_by(ItemTask.due_on),
        "notices": notices}) | {"as_of": None}


@dataclass(frozen=True)
class FilterChoices:
    """What the watch list's filter menus offer (within the caller's scope)."""

    groups: list[IndustryGroup]
    agents: list[User]


def filter_choices(session: Session, group_ids: Collection[int] | None = None) -> FilterChoices:
    """Groups and agents to filter by (departments and items come from the definition)."""
    groups = select(IndustryGroup).order_by(IndustryGroup.id)
    agents = (select(User).where(User.role == "agent").order_by(User.display_name, User.id))
    if group_ids is not None:
        groups = groups.where(IndustryGroup.id.in_(list(group_ids)))
        agents = agents.where(User.id.in_(
            select(GroupMembership.user_id).where(GroupMembership.group_id.in_(list(group_ids)))))
    return FilterChoices(groups=list(session.scalars(groups)), agents=list(session.scalars(agents)))


def open_notice_counts(session: Session, task_ids: Iterable[int]) -> dict[int, int]:
    """Supervision notices still open (not closed) per task, for at most a
    page of tasks (the id list is bounded by the page)."""
    ids = sorted(set(task_ids))
    if not ids:
        return {}
    if len(ids) > paging.MAX_LIMIT:
        raise ValueError("open_notice_counts reads one page of tasks at a time")
    return dict(session.execute(
        select(SupervisionNotice.task_id, func.count(SupervisionNotice.id))
        .where(SupervisionNotice.task_id.in_(ids), SupervisionNotice.closed_at.is_(None))
        .group_by(SupervisionNotice.task_id)).all())


# -- figures per group, agent, department and item --------------------------------------

DIMENSIONS = ("group", "agent", "department", "item")
_COLUMN = {"group": "group_id", "agent": "agent_id", "department": "department",
           "item": "item_code"}


@dataclass
class Figure:
    """The figures of one group, agent, department or item, on each clock.

    - ``closed`` (办结数): items done (办结) — closed on the range's days when a
      range is given. Waived (``covered``) and terminated items are no handling
      work and count in no figure.

    The statutory clock (部门's time, from the 受理 to the decision):

    - ``on_time_rate`` (按时办结率) = ``on_time / done_with_due``: among done
      items with a statutory due date, the share decided on or before it.
    - ``overdue_rate`` (超期率) = ``overdue / with_due``: ``overdue`` counts open
      items red today on the statutory clock plus done items decided after
      their statutory due date; ``with_due`` counts every such open or done
      item. A paused item is open but not overdue (its clock does not run).
    - ``avg_days_used`` (平均用时) = mean over done items of the days from the
      受理 to the decision minus the days the clock was paused, each item in
      its limit's unit (working days; calendar days for a calendar-day limit).

    The service clock (代办's time, from the release to the submission): the
    same three as ``service_on_time_rate`` (submitted by the service due
    date), ``service_overdue_rate`` (open items red on the service clock, done
    items submitted late) and ``service_avg_days``.

    A rate whose denominator is zero is ``None`` (shown as "—"), never 0 %.
    """

    key: int | str | None
    closed: int = 0
    on_time: int = 0
    done_with_due: int = 0
    overdue: int = 0
    with_due: int = 0
    days_used_sum: int = 0
    days_used_n: int = 0
    service_on_time: int = 0
    service_done_with_due: int = 0
    service_overdue: int = 0
    service_with_due: int = 0
    service_days_sum: int = 0
    service_days_n: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.done_with_due if self.done_with_due else None

    @property
    def overdue_rate(self) -> float | None:
        return self.overdue / self.with_due if self.with_due else None

    @property
    def avg_days_used(self) -> float | None:
        return self.days_used_sum / self.days_used_n if self.days_used_n else None

    @property
    def service_on_time_rate(self) -> float | None:
        return (self.service_on_time / self.service_done_with_due
                if self.service_done_with_due else None)

    @property
    def service_overdue_rate(self) -> float | None:
        return self.service_overdue / self.service_with_due if self.service_with_due else None

    @property
    def service_avg_days(self) -> float | None:
        return self.service_days_sum / self.service_days_n if self.service_days_n else None

    @property
    def counted(self) -> bool:
        return bool(self.closed or self.with_due or self.service_with_due)

    def add_done(self, closed, with_due, on_time, used_sum, used_n, service_with_due=0,
                 service_on_time=0, service_sum=0, service_n=0) -> None:
        # PostgreSQL sums big integers as numerics: back to int.
        (closed, with_due, on_time, used_sum, used_n, service_with_due, service_on_time,
         service_sum, service_n) = (int(x or 0) for x in (
            closed, with_due, on_time, used_sum, used_n, service_with_due, service_on_time,
            service_sum, service_n))
        self.closed += closed
        self.done_with_due += with_due
        self.on_time += on_time
        self.overdue += with_due - on_time  # decided after the due date
        self.with_due += with_due
        self.days_used_sum += used_sum
        self.days_used_n += used_n
        self.service_done_with_due += service_with_due
        self.service_on_time += service_on_time
        self.service_overdue += service_with_due - service_on_time  # submitted late
        self.service_with_due += service_with_due
        self.service_days_sum += service_sum
        self.service_days_n += service_n

    def add_open(self, with_due, red, clock: str = "statutory") -> None:
        if clock == "service":
            self.service_with_due += int(with_due or 0)
            self.service_overdue += int(red or 0)
            return
        self.with_due += int(with_due or 0)
        self.overdue += int(red or 0)


@dataclass(frozen=True)
class Figures:
    """Figures per dimension (``DIMENSIONS``), each a list sorted by key, and
    the zone-wide total over the same items. The open items are counted as of
    ``as_of`` (the scheduler's last refresh; ``None``: not yet counted)."""

    by: dict[str, list[Figure]]
    total: Figure
    today: date | None
    closed_from: date | None
    closed_to: date | None
    as_of: datetime | None = None


def _grouped(session: Session, model, dimension: str | None, measures: list, where: list,
             *extra):
    """Sums of ``measures`` per ``dimension`` (and the ``extra`` columns)."""
    key = getattr(model, _COLUMN[dimension]) if dimension else literal(None)
    query = select(key, *extra, *(func.sum(m) for m in measures)).where(*where)
    groups = ((key,) if dimension else ()) + extra
    return session.execute(query.group_by(*groups) if groups else query).all()


def figures(session: Session, today: date | None = None, *, closed_from: date | None = None,
            closed_to: date | None = None,
            group_ids: Collection[int] | None = None) -> Figures:
    """On-time rate, overdue rate, average working days used and the number
    of closed items per group, agent (the item's last assignee; ``None``:
    never assigned), department and item. See ``Figure`` for each definition.

    Read from the rollups (``workflow.core.rollups``): done items from the sums of
    their closing days (``closed_from`` / ``closed_to`` inclusive), open items
    as of the scheduler's last refresh — so the overdue rate reads "late in
    the period or still late now". ``today`` is only reported back."""
    state = rollups.as_of(session, rollups.OPEN_FIGURES)
    ranged = closed_from is not None or closed_to is not None
    done_model = FigureClosedDay if ranged else FigureClosedTotal
    done_where, open_where = [], []
    if group_ids is not None:
        done_where.append(done_model.group_id.in_(sorted(group_ids)))
        open_where.append(FigureOpen.group_id.in_(sorted(group_ids)))
    if closed_from is not None:
        done_where.append(FigureClosedDay.day >= closed_from)
    if closed_to is not None:
        done_where.append(FigureClosedDay.day <= closed_to)
    done_measures = [getattr(done_model, c) for c in rollups.COUNTED]
    open_measures = [FigureOpen.with_due, FigureOpen.red]
    # Rows per clock: a dimension's open items on each.
    by: dict[str, list[Figure]] = {}
    total = Figure(key=None)
    for dimension in (*DIMENSIONS, None):
        found: dict = {}
        for key, *measures in _grouped(session, done_model, dimension, done_measures, done_where):
            found.setdefault(key, Figure(key)).add_done(*measures)
        for key, clock_name, *measures in _grouped(session, FigureOpen, dimension, open_measures,
                                                   open_where, FigureOpen.clock):
            found.setdefault(key, Figure(key)).add_open(*measures, clock=clock_name)
        if dimension is None:
            total = found.get(None, total)
            continue
        if dimension == "agent" and 0 in found:  # nobody held it
            found[None] = found.pop(0)
            found[None].key = None
        by[dimension] = sorted((f for f in found.values() if f.counted), key=_sort_key)
    return Figures(by=by, total=total, today=today or state.day, closed_from=closed_from,
                   closed_to=closed_to, as_of=state.refreshed_at)


def _sort_key(fig: Figure) -> tuple:
    return (fig.key is None, fig.key if fig.key is not None else "")


def names_for(session: Session, result: Figures) -> tuple[dict[int, IndustryGroup], dict[int, User]]:
    """The groups and agents a ``Figures`` result refers to, by id."""
    group_ids = [f.key for f in result.by["group"] if f.key is not None]
    user_ids = [f.key for f in result.by["agent"] if f.key is not None]
    groups = {g.id: g for g in session.scalars(
        select(IndustryGroup).where(IndustryGroup.id.in_(group_ids)))} if group_ids else {}
    users = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return groups, users


# -- the project ledger (台账) ------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    """One project of the ledger. ``finished``: items done or waived, ``covered``
    of them waived (已豁免: a regional evaluation or a commitment covers them);
    ``in_work``: open items (办理中, paused ones included); ``red`` / ``yellow``:
    open items with that light today; ``light``: the project's light (its
    worst item's); ``signed_on`` / ``mandated_on``: the zone's dates of signing
    (签约; the registration day of a project registered as signed) and of the
    agency mandate (委托)."""

    project: Project
    items: int
    finished: int
    in_work: int
    red: int
    yellow: int
    light: str
    signed_on: date | None
    mandated_on: date | None
    covered: int = 0


LEDGER_ORDER = paging.Order.by("ledger", paging.Key(Project.code, str), paging.Key(Project.id, int))


def ledger(session: Session, today: date, group_ids: Collection[int] | None = None, *,
           batch: int = 500, end_reads: bool = False) -> Iterator[LedgerRow]:
    """One row per project (by project code), with its item counts and light on
    ``today``: read ``batch`` projects at a time, their items counted by one
    GROUP BY per batch, so memory stays flat however many projects there are."""
    query = select(Project).options(joinedload(Project.enterprise), joinedload(Project.group),
                                    joinedload(Project.lead))
    if group_ids is not None:
        query = query.where(Project.group_id.in_(sorted(group_ids)))
    pending: list[Project] = []
    for project in paging.pages_of(session, query, LEDGER_ORDER, batch=batch, end_reads=end_reads):
        pending.append(project)
        if len(pending) == batch:
            yield from _ledger_rows(session, pending, today)
            pending = []
    yield from _ledger_rows(session, pending, today)


def _ledger_rows(session: Session, projects: list[Project], today: date) -> Iterator[LedgerRow]:
    ids = [p.id for p in projects]
    counts = queries.project_figures(session, ids, today)
    milestones = _milestones(session, ids)
    for project in projects:
        figures_ = counts.get(project.id, queries.ProjectFigures())
        signed, mandated = milestones.get(project.id, (None, None))
        yield LedgerRow(project=project, items=figures_.items, finished=figures_.finished,
                        in_work=figures_.in_work, red=figures_.red, yellow=figures_.yellow,
                        light=figures_.light, signed_on=stored_day(signed),
                        mandated_on=stored_day(mandated), covered=figures_.covered)


def _milestones(session: Session, project_ids: list[int]) -> dict[int, tuple]:
    """(signed at, mandated at) per project of a batch, from the audit trail."""
    found: dict[int, list] = defaultdict(lambda: [None, None])
    if not project_ids:
        return {}
    events = session.execute(
        select(AuditEvent.project_id, AuditEvent.action, AuditEvent.to_state, AuditEvent.at)
        .where(AuditEvent.project_id.in_(project_ids),
               AuditEvent.action.in_(("project.created", "project.sign", "project.mandate")))
        .order_by(AuditEvent.project_id, AuditEvent.seq))
    for project_id, action, to_state, at in events:
        pair = found[project_id]
        if pair[0] is None and (action == "project.sign"
                                or (action == "project.created" and to_state == "signed")):
            pair[0] = at
        if pair[1] is None and action == "project.mandate":
            pair[1] = at
    return {k: tuple(v) for k, v in found.items()}


# -- supervision notices issued (督办单) ---------------------------------------------------

NOTICE_STATUSES = ("open", "acknowledged", "reported", "closed", "late")


def notice_status(notice: SupervisionNotice, today: date) -> str:
    """``reported`` (answered), ``closed`` (the item closed before a report),
    ``late`` (not acknowledged by ``ack_due`` or not reported by
    ``report_due``), ``acknowledged`` (签收, report pending), else ``open``."""
    if notice.reported_at is not None:
        return "reported"
    if notice.closed_at is not None:
        return "closed"
    if today > notice.report_due or (notice.acknowledged_at is None and today > notice.ack_due):
        return "late"
    return "acknowledged" if notice.acknowledged_at is not None else "open"


def _notice_status_is(status: str, today: date):
    """``notice_status(n, today) == status`` in SQL."""
    n = SupervisionNotice
    reported, closed = n.reported_at.is_not(None), n.closed_at.is_not(None)
    late = (today > n.report_due) | (n.acknowledged_at.is_(None) & (today > n.ack_due))
    if status == "reported":
        return reported
    if status == "closed":
        return ~reported & closed
    running = and_(~reported, ~closed)
    if status == "late":
        return and_(running, late)
    if status == "acknowledged":
        return and_(running, ~late, n.acknowledged_at.is_not(None))
    return and_(running, ~late, n.acknowledged_at.is_(None))


NOTICE_ORDER = paging.Order.by("notices", paging.Key(SupervisionNotice.issued_at, datetime, True),
                               paging.Key(SupervisionNotice.id, int, True))


def notices(session: Session, today: date, *, status: str | None = None,
            group_ids: Collection[int] | None = None, cursor: str | None = None,
            limit: int | None = None) -> paging.Page[tuple[SupervisionNotice, str]]:
    """A page of the notices issued (automatic escalations and manual ones),
    newest first (``ix_supervision_notice_issued``), each with its
    ``notice_status``; ``status`` keeps one status only (in SQL)."""
    query = select(SupervisionNotice)
    if group_ids is not None:
        query = query.join(ItemTask, ItemTask.id == SupervisionNotice.task_id).where(
            ItemTask.group_id.in_(sorted(group_ids)))
    if status is not None:
        if status not in NOTICE_STATUSES:
            raise ValidationError("Unknown notice status '{status}'.", field="status",
                                  status=status)
        query = query.where(_notice_status_is(status, today))
    page = paging.fetch(session, query, NOTICE_ORDER, cursor=cursor, limit=limit, options=(
        joinedload(SupervisionNotice.task), joinedload(SupervisionNotice.project),
        joinedload(SupervisionNotice.addressee), joinedload(SupervisionNotice.issued_by)))
    page.rows = [(n, notice_status(n, today)) for n in page.rows]
    return page

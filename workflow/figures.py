"""What supervisors (督查) read: the watch list of overdue and near-due items,
performance figures per group, agent, department and item, the project
ledger (台账) and the supervision notices issued.

Everything here only reads. Each function takes ``today`` (the zone's date)
from its caller and an optional ``group_ids`` scope: ``None`` is every group
(supervisors, admins); a set limits the result to those industry groups (a
lead handler sees their own groups only).

Definitions used throughout, in working days (工作日) of the statutory clock:

- *days late* (超期工作日) of an item on ``today``:
  ``clock.working_days_between(due_on, today)``; positive once overdue, zero on
  the due date, negative while days are left.
- *red* / *yellow*: ``workflow.lights.light`` on ``today``. Only items whose
  clock runs (``CLOCK_STATES``) can be either; a paused item is neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workflow import clock, lights
from workflow.models import (
    CLOCK_STATES,
    OPEN_STATES,
    AuditEvent,
    GroupMembership,
    IndustryGroup,
    ItemTask,
    Project,
    SupervisionNotice,
    User,
)
from workflow.moments import stored_day

# -- the watch list: overdue (red) and near-due (yellow) items --------------------------


@dataclass(frozen=True)
class WatchFilter:
    """Filters of the watch list; ``None`` means "any"."""

    group_id: int | None = None
    agent_id: int | None = None
    department: str | None = None
    item_code: str | None = None
    min_days_late: int | None = None
    light: str | None = None  # "red" or "yellow"


@dataclass(frozen=True)
class WatchRow:
    task: ItemTask
    light: str  # "red" or "yellow"
    days_late: int  # working days past the due date (<= 0: not yet late)

    @property
    def project(self) -> Project:
        return self.task.project


def _scoped(query: Select, group_ids: Collection[int] | None) -> Select:
    return query if group_ids is None else query.where(ItemTask.group_id.in_(list(group_ids)))


def watch_list(session: Session, today: date, filters: WatchFilter = WatchFilter(),
               group_ids: Collection[int] | None = None) -> list[WatchRow]:
    """Every item that is red or yellow on ``today``, most late first.

    Candidates come from ``ix_item_task_clock_warn``: items whose clock runs and
    whose first yellow day (``warn_on``) has come. A red item is always among
    them, since an item turns yellow on or before its due date. The light is
    then computed exactly (``lights.light``) and the filters applied; the
    minimum days late compares ``days_late`` (so 0 keeps items due today and
    later ones drop out, 1 keeps only red items)."""
    query = (select(ItemTask)
             .where(ItemTask.state.in_(CLOCK_STATES), ItemTask.warn_on <= today)
             .options(joinedload(ItemTask.project).joinedload(Project.enterprise),
                      joinedload(ItemTask.project).joinedload(Project.lead),
                      joinedload(ItemTask.project).joinedload(Project.definition_version),
                      joinedload(ItemTask.assignee), joinedload(ItemTask.group)))
    query = _scoped(query, group_ids)
    if filters.group_id is not None:
        query = query.where(ItemTask.group_id == filters.group_id)
    if filters.agent_id is not None:
        query = query.where(ItemTask.assignee_id == filters.agent_id)
    if filters.department:
        query = query.where(ItemTask.department == filters.department)
    if filters.item_code:
        query = query.where(ItemTask.item_code == filters.item_code)
    rows = []
    for task in session.scalars(query).unique():
        light = lights.light(task, today)
        if light not in ("red", "yellow") or (filters.light and light != filters.light):
            continue
        late = clock.working_days_between(task.due_on, today).days
        if filters.min_days_late is not None and late < filters.min_days_late:
            continue
        rows.append(WatchRow(task=task, light=light, days_late=late))
    rows.sort(key=lambda r: (-r.days_late, r.task.due_on, r.task.id))
    return rows


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
    """Supervision notices still open (not closed) per task."""
    ids = list(task_ids)
    if not ids:
        return {}
    counts: dict[int, int] = defaultdict(int)
    for task_id in session.scalars(select(SupervisionNotice.task_id).where(
            SupervisionNotice.task_id.in_(ids), SupervisionNotice.closed_at.is_(None))):
        counts[task_id] += 1
    return dict(counts)


# -- figures per group, agent, department and item --------------------------------------

DIMENSIONS = ("group", "agent", "department", "item")


@dataclass
class Figure:
    """The figures of one group, agent, department or item.

    - ``closed`` (办结数): items done (办结) — closed on the range's days when a
      range is given. Waived (``covered``) and terminated items are no handling
      work and count in no figure.
    - ``on_time_rate`` (按时办结率) = ``on_time / done_with_due``: among done
      items with a due date, the share closed on or before it.
    - ``overdue_rate`` (超期率) = ``overdue / with_due``: ``overdue`` counts open
      items red today plus done items closed after their due date; ``with_due``
      counts every open or done item that has a due date. A paused item is open
      but not overdue (its clock does not run).
    - ``avg_days_used`` (平均用时) = mean over done items of the working days
      from acceptance to closing (``working_days_between(accepted_on,
      closed_on)``) minus the working days the clock was paused
      (``paused_working_days``).

    A rate whose denominator is zero is ``None`` (shown as "—"), never 0 %.
    """

    key: int | str | None
    closed: int = 0
    on_time: int = 0
    done_with_due: int = 0
    overdue: int = 0
    with_due: int = 0
    days_used: list[int] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.done_with_due if self.done_with_due else None

    @property
    def overdue_rate(self) -> float | None:
        return self.overdue / self.with_due if self.with_due else None

    @property
    def avg_days_used(self) -> float | None:
        return sum(self.days_used) / len(self.days_used) if self.days_used else None


@dataclass(frozen=True)
class Figures:
    """Figures per dimension (``DIMENSIONS``), each a list sorted by key, and
    the zone-wide total over the same items."""

    by: dict[str, list[Figure]]
    total: Figure
    today: date
    closed_from: date | None
    closed_to: date | None


def _used(accepted_on: date | None, closed_on: date | None, paused: int) -> int | None:
    if accepted_on is None or closed_on is None:
        return None
    return max(clock.working_days_between(accepted_on, closed_on).days - (paused or 0), 0)


def figures(session: Session, today: date, *, closed_from: date | None = None,
            closed_to: date | None = None,
            group_ids: Collection[int] | None = None) -> Figures:
    """On-time rate, overdue rate, average working days used and the number
    of closed items per group, agent (the item's last assignee; ``None``:
    never assigned), department and item. See ``Figure`` for each definition.

    ``closed_from`` / ``closed_to`` (inclusive) limit the *done* items to those
    closed in the range; open items are always today's (they have no closing
    date), so the overdue rate reads "late in the period or still late now"."""
    query = select(ItemTask.group_id, ItemTask.assignee_id, ItemTask.department,
                   ItemTask.item_code, ItemTask.state, ItemTask.accepted_on, ItemTask.due_on,
                   ItemTask.closed_on, ItemTask.paused_working_days).where(
        ItemTask.state.in_(OPEN_STATES + ("done",)))
    query = _scoped(query, group_ids)
    by: dict[str, dict] = {dim: {} for dim in DIMENSIONS}
    total = Figure(key=None)
    for row in session.execute(query):
        done = row.state == "done"
        if done and (closed_from or closed_to) and not _within(row.closed_on, closed_from,
                                                               closed_to):
            continue
        keys = {"group": row.group_id, "agent": row.assignee_id,
                "department": row.department, "item": row.item_code}
        targets = [total] + [by[dim].setdefault(keys[dim], Figure(key=keys[dim]))
                             for dim in DIMENSIONS]
        late = _late(row, today)
        used = _used(row.accepted_on, row.closed_on, row.paused_working_days) if done else None
        for fig in targets:
            if done:
                fig.closed += 1
                if used is not None:
                    fig.days_used.append(used)
                if row.due_on is not None:
                    fig.done_with_due += 1
                    fig.on_time += not late
            if row.due_on is not None:
                fig.with_due += 1
                fig.overdue += late
    return Figures(by={dim: sorted(values.values(), key=_sort_key) for dim, values in by.items()},
                   total=total, today=today, closed_from=closed_from, closed_to=closed_to)


def _within(day: date | None, first: date | None, last: date | None) -> bool:
    return day is not None and (first is None or day >= first) and (last is None or day <= last)


def _late(row, today: date) -> bool:
    """Closed after its due date, or open, running and past it today (red)."""
    if row.due_on is None:
        return False
    if row.state == "done":
        return row.closed_on is not None and row.closed_on > row.due_on
    return row.state in CLOCK_STATES and today > row.due_on


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
    """One project of the ledger. ``finished``: items done or waived (已办结);
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


def ledger(session: Session, today: date,
           group_ids: Collection[int] | None = None) -> list[LedgerRow]:
    """One row per project (by project code), with its item counts and light on
    ``today``."""
    query = (select(Project).order_by(Project.code)
             .options(selectinload(Project.tasks), joinedload(Project.enterprise),
                      joinedload(Project.group), joinedload(Project.lead)))
    if group_ids is not None:
        query = query.where(Project.group_id.in_(list(group_ids)))
    projects = list(session.scalars(query).unique())
    milestones = _milestones(session, [p.id for p in projects])
    rows = []
    for project in projects:
        task_lights = [lights.light(t, today) for t in project.tasks]
        signed, mandated = milestones.get(project.id, (None, None))
        rows.append(LedgerRow(
            project=project, items=len(project.tasks),
            finished=sum(t.state in ("done", "covered") for t in project.tasks),
            in_work=sum(t.state in OPEN_STATES for t in project.tasks),
            red=task_lights.count("red"), yellow=task_lights.count("yellow"),
            light=lights.worst(task_lights),
            signed_on=stored_day(signed), mandated_on=stored_day(mandated)))
    return rows


def _milestones(session: Session, project_ids: list[int]) -> dict[int, tuple]:
    """(signed at, mandated at) per project, from the audit trail."""
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


def notices(session: Session, today: date, *, status: str | None = None,
            group_ids: Collection[int] | None = None,
            limit: int = 500) -> list[tuple[SupervisionNotice, str]]:
    """Notices issued (automatic escalations and manual ones), newest first,
    each with its ``notice_status``; ``status`` keeps one status only."""
    query = (select(SupervisionNotice)
             .options(joinedload(SupervisionNotice.task), joinedload(SupervisionNotice.project),
                      joinedload(SupervisionNotice.addressee),
                      joinedload(SupervisionNotice.issued_by))
             .order_by(SupervisionNotice.issued_at.desc(), SupervisionNotice.id.desc())
             .limit(limit))
    if group_ids is not None:
        query = query.join(ItemTask, ItemTask.id == SupervisionNotice.task_id).where(
            ItemTask.group_id.in_(list(group_ids)))
    rows = [(n, notice_status(n, today)) for n in session.scalars(query).unique()]
    return [r for r in rows if status is None or r[1] == status]

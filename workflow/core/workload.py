"""The workload forecast: for each group, department and agent, the open
items now and those expected to arrive on each of the next working days,
against the agents' capacity (tasks at once), and the days it goes over.

It reads the ``workload_day`` rollup (``WorkloadDay``) and small tables
(groups, memberships, agents, ``agent_capacity``), never the task table, so
its cost does not grow with the zone. The rollup is kept by the prediction
store (``adjust``, called by ``prediction_store.store_many`` and ``forget``):
an item of an open project counts one arrival on its predicted opening (its
actual release once released) and one departure on its predicted end, per
group and per department.

The arithmetic, per scope, over ``days`` (the next ``HORIZON`` working days
from today, today first if it is one): an arrival or departure on a day off
counts on the next working day; ``open_now`` is the items that opened before
the first day and have not left; the load of day *i* is ``open_now`` + the
arrivals up to day *i* − the departures before day *i* (an item is in hand on
the day it is expected to close).

Agents (the share rule): a group's expected load is shared evenly by its
agents who are active and not away; an agent in several groups takes a share
of each. An agent's capacity is their own (``agent_capacity``) or the zone's
default (``Definition.agent_capacity``); a group's capacity is the sum over
its sharing agents of their capacity divided by the number of groups they
share; a department's, the sum over the sharing agents whose home department
it is. A day is overloaded when the load exceeds the capacity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, case, delete, func, literal, select
from sqlalchemy.orm import Session

from workflow.core.prediction_models import AgentCapacity, ItemPrediction, WorkloadDay
from workflow.kernel import clock as wd
from workflow.kernel import zone_audit
from workflow.kernel.db import dialect_insert
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import GroupMembership, IndustryGroup, User
from workflow.kernel.registry import current_version, definition_of

HORIZON = 30
GROUP, DEPARTMENT = "group", "department"
MAX_CAPACITY = 500

# (group_id, department, released, predicted_start, predicted_end) of an item row.
Row = tuple[int, str, bool, date, date]


# -- the rollup --------------------------------------------------------------------------------

def delete_rows(session: Session, project_ids: Sequence[int]) -> list[Row]:
    """Delete these projects' ``item_prediction`` rows, returning what the
    rollup counted of them: only the rows this transaction really deleted
    (``RETURNING``), so two writers of one project never subtract a row twice."""
    if not project_ids:
        return []
    ip = ItemPrediction
    return [tuple(r) for r in session.execute(
        delete(ip).where(ip.project_id.in_(project_ids))
        .returning(ip.group_id, ip.department, ip.released, ip.predicted_start,
                   ip.predicted_end))]


def adjust(session: Session, old: Iterable[Row], new: Iterable[Row]) -> None:
    """Move ``workload_day`` from counting the ``old`` item rows to the
    ``new`` ones: one upsert per (scope, day) whose counts change, then the
    rows left at zero are dropped."""
    delta: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0])
    for sign, rows in ((-1, old), (1, new)):
        for group_id, department, _released, start, end in rows:
            for kind, key in ((GROUP, str(group_id)), (DEPARTMENT, department)):
                delta[(kind, key, start)][0] += sign
                delta[(kind, key, end)][1] += sign
    changes = [dict(scope_kind=k, scope_key=s, day=d, arrivals=a, departures=b)
               for (k, s, d), (a, b) in sorted(delta.items()) if a or b]
    if not changes:
        return
    insert = dialect_insert(session)(WorkloadDay.__table__)
    session.execute(insert.on_conflict_do_update(
        index_elements=["scope_kind", "scope_key", "day"],
        set_={"arrivals": WorkloadDay.arrivals + insert.excluded.arrivals,
              "departures": WorkloadDay.departures + insert.excluded.departures}), changes)
    keys = {(c["scope_kind"], c["scope_key"], c["day"]) for c in changes}
    for kind in (GROUP, DEPARTMENT):
        touched = [(s, d) for k, s, d in keys if k == kind]
        for chunk in range(0, len(touched), 500):
            part = touched[chunk:chunk + 500]
            session.execute(delete(WorkloadDay).where(
                WorkloadDay.scope_kind == kind, WorkloadDay.arrivals == 0,
                WorkloadDay.departures == 0,
                WorkloadDay.scope_key.in_({s for s, _ in part}),
                WorkloadDay.day.in_({d for _, d in part})))


def rebuild(session: Session) -> int:
    """Recount ``workload_day`` from ``item_prediction`` (GROUP BY); the rows written."""
    session.execute(delete(WorkloadDay))
    ip = ItemPrediction
    totals: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0])
    for kind, column in ((GROUP, ip.group_id), (DEPARTMENT, ip.department)):
        for which, day in ((0, ip.predicted_start), (1, ip.predicted_end)):
            for key, d, n in session.execute(select(column, day, func.count())
                                             .group_by(column, day)):
                totals[(kind, str(key), d)][which] += n
    rows = [dict(scope_kind=k, scope_key=s, day=d, arrivals=a, departures=b)
            for (k, s, d), (a, b) in totals.items()]
    if rows:
        session.execute(WorkloadDay.__table__.insert(), rows)
    return len(rows)


# -- the forecast ------------------------------------------------------------------------------

def horizon(today: date, n: int = HORIZON) -> list[date]:
    """The next ``n`` working days, today first when it is one."""
    days, day = [], wd.roll_forward(today)
    while len(days) < n:
        days.append(day)
        day = wd.roll_forward(day + timedelta(days=1))
    return days


@dataclass(frozen=True)
class DayLoad:
    day: date
    arrivals: float
    departures: float
    load: float
    over: bool


@dataclass(frozen=True)
class Series:
    """One scope's forecast: ``key`` (group id, department code or agent id),
    ``label``, ``capacity`` (tasks at once), ``open_now`` and each day's load."""

    kind: str
    key: str
    label: str
    capacity: float
    open_now: float
    days: tuple[DayLoad, ...]

    @property
    def overloaded(self) -> list[date]:
        return [d.day for d in self.days if d.over]

    @property
    def peak(self) -> float:
        return max((d.load for d in self.days), default=self.open_now)


@dataclass(frozen=True)
class Forecast:
    days: tuple[date, ...]
    groups: tuple[Series, ...] = ()
    departments: tuple[Series, ...] = ()
    agents: tuple[Series, ...] = ()
    default_capacity: int = 10
    overrides: Mapping[int, int] = field(default_factory=dict)


def _series(kind: str, key: str, label: str, capacity: float, base: tuple[float, float],
            per_day: Mapping[date, tuple[float, float]], days: Sequence[date],
            share: float = 1.0) -> Series:
    before_arr, before_dep = base
    open_now = (before_arr - before_dep) * share
    loads, load, prev = [], open_now, days[0] - timedelta(days=1)
    left = 0.0
    buckets: dict[date, list[float]] = {d: [0.0, 0.0] for d in days}
    for day, (a, b) in per_day.items():
        target = next((d for d in days if d >= day), None)
        if target is not None and day > prev:
            buckets[target][0] += a * share
            buckets[target][1] += b * share
    for day in days:
        arrivals, departures = buckets[day]
        load = load - left + arrivals
        left = departures
        loads.append(DayLoad(day, arrivals, departures, round(load, 2),
                             capacity > 0 and load > capacity + 1e-9))
    return Series(kind, key, label, round(capacity, 2), round(open_now, 2), tuple(loads))


def _scope_sums(session: Session, kind: str, keys: Sequence[str], days: Sequence[date]
                ) -> tuple[dict[str, tuple[float, float]], dict[str, dict[date, tuple[float, float]]]]:
    """Per key: (arrivals, departures) before the first day, and per day of
    the horizon; one GROUP BY over the scope's rows up to the last day."""
    if not keys:
        return {}, {}
    w = WorkloadDay
    before = days[0] - timedelta(days=1)
    bucket = case((w.day < days[0], literal(before, Date)), else_=w.day)
    base: dict[str, tuple[float, float]] = {}
    per_day: dict[str, dict[date, tuple[float, float]]] = defaultdict(dict)
    for k, d, a, b in session.execute(
            select(w.scope_key, bucket, func.sum(w.arrivals), func.sum(w.departures))
            .where(w.scope_kind == kind, w.scope_key.in_(sorted(set(keys))), w.day <= days[-1])
            .group_by(w.scope_key, bucket)):
        d = d if isinstance(d, date) else date.fromisoformat(str(d))
        if d < days[0]:
            base[k] = (float(a or 0), float(b or 0))
        else:
            per_day[k][d] = (float(a or 0), float(b or 0))
    return base, per_day


def capacities(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """The admins' per-agent overrides among ``user_ids``."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return dict(session.execute(select(AgentCapacity.user_id, AgentCapacity.capacity)
                                .where(AgentCapacity.user_id.in_(ids))).all())


def default_capacity(session: Session) -> int:
    return definition_of(current_version(session)).agent_capacity


def sharing_agents(session: Session, group_ids: Sequence[int] | None = None
                   ) -> tuple[dict[int, list[User]], dict[int, int], dict[int, int]]:
    """Per group, its agents who share its work (active, not away); per
    agent, how many groups they share; the admins' capacities among them.
    One query (the memberships with each agent's ``agent_capacity``)."""
    query = (select(GroupMembership.group_id, User, AgentCapacity.capacity)
             .join(User, User.id == GroupMembership.user_id)
             .outerjoin(AgentCapacity, AgentCapacity.user_id == User.id)
             .where(User.role == "agent", User.active.is_(True), User.away.is_(False))
             .order_by(User.display_name, User.id))
    if group_ids is not None:
        # An agent's other groups count in their share too: read all their memberships.
        members = select(GroupMembership.user_id).where(GroupMembership.group_id.in_(group_ids))
        query = query.where(User.id.in_(members))
    by_group: dict[int, list[User]] = defaultdict(list)
    spread: dict[int, int] = defaultdict(int)
    own: dict[int, int] = {}
    for group_id, user, capacity in session.execute(query):
        by_group[group_id].append(user)
        spread[user.id] += 1
        if capacity is not None:
            own[user.id] = capacity
    return dict(by_group), dict(spread), own


def forecast(session: Session, today: date, *, group_ids: Sequence[int] | None = None,
             departments: Mapping[str, str] | None = None, n: int = HORIZON,
             groups: Sequence[IndustryGroup] | None = None,
             default: int | None = None,
             label_of: Callable[[IndustryGroup], str] | None = None) -> Forecast:
    """The forecast for ``group_ids`` (None: every group; or the ``groups``
    rows the caller has) and their agents, and for ``departments`` (code →
    label; None: none) over the next ``n`` working days; ``default``: the
    zone's capacity (read from the definition when not given). Reads the
    rollup and small tables only: four statements for groups and agents."""
    days = horizon(today, n)
    if groups is None:
        groups = list(session.scalars(
            select(IndustryGroup).order_by(IndustryGroup.id)
            .where(*([IndustryGroup.id.in_(group_ids)] if group_ids is not None else []))))
    ids = [g.id for g in groups]
    by_group, spread, overrides = sharing_agents(session, ids)
    agents = {u.id: u for members in by_group.values() for u in members}
    default = default if default is not None else default_capacity(session)
    cap = {uid: overrides.get(uid, default) for uid in agents}
    all_group_ids = sorted(set(by_group) | set(ids))
    base, per_day = _scope_sums(session, GROUP, [str(g) for g in all_group_ids], days)
    names = {g.id: label_of(g) if label_of else g.name_zh for g in groups}

    def group_series(gid: int, share: float = 1.0, capacity: float | None = None) -> Series:
        members = by_group.get(gid, [])
        if capacity is None:
            capacity = sum(cap[u.id] / spread[u.id] for u in members)
        return _series(GROUP, str(gid), names.get(gid, str(gid)), capacity,
                       base.get(str(gid), (0.0, 0.0)), per_day.get(str(gid), {}), days, share)

    group_rows = tuple(group_series(g.id) for g in groups)
    agent_rows = []
    for uid, user in sorted(agents.items(), key=lambda kv: (kv[1].display_name, kv[0])):
        parts = [group_series(gid, 1 / len(members), 0)
                 for gid, members in by_group.items() if any(u.id == uid for u in members)]
        agent_rows.append(_sum(parts, "agent", str(uid), user.display_name, cap[uid], days))
    dept_rows: list[Series] = []
    if departments:
        dbase, dday = _scope_sums(session, DEPARTMENT, list(departments), days)
        home: dict[str, float] = defaultdict(float)
        staff = _department_agents(session, departments)
        own = capacities(session, [u.id for u in staff])
        for user in staff:
            home[user.department] += own.get(user.id, default)
        for code, label in departments.items():
            dept_rows.append(_series(DEPARTMENT, code, label, home.get(code, 0.0),
                                     dbase.get(code, (0.0, 0.0)), dday.get(code, {}), days))
    return Forecast(tuple(days), group_rows, tuple(dept_rows), tuple(agent_rows), default,
                    overrides)


def _department_agents(session: Session, departments: Mapping[str, str]) -> list[User]:
    return list(session.scalars(
        select(User).where(User.role == "agent", User.active.is_(True), User.away.is_(False),
                           User.department.in_(sorted(departments)))))


def _sum(parts: Sequence[Series], kind: str, key: str, label: str, capacity: float,
         days: Sequence[date]) -> Series:
    loads = []
    for i, day in enumerate(days):
        arrivals = sum(p.days[i].arrivals for p in parts)
        departures = sum(p.days[i].departures for p in parts)
        load = sum(p.days[i].load for p in parts)
        loads.append(DayLoad(day, round(arrivals, 2), round(departures, 2), round(load, 2),
                             capacity > 0 and load > capacity + 1e-9))
    return Series(kind, key, label, float(capacity), round(sum(p.open_now for p in parts), 2),
                  tuple(loads))


def spare_capacity(session: Session, today: date, group_id: int,
                   open_work: Mapping[int, int], *, n: int = HORIZON) -> dict[int, float]:
    """Per sharing agent of the group: capacity − their open work now − the
    most their share of their groups' expected load grows over the horizon
    (what automatic assignment prefers: the most spare)."""
    found = forecast(session, today, group_ids=[group_id], n=n)
    spare = {}
    for series in found.agents:
        uid = int(series.key)
        growth = max((d.load - series.days[0].load for d in series.days), default=0.0)
        spare[uid] = series.capacity - open_work.get(uid, 0) - max(growth, 0.0)
    return spare


def set_capacity(session: Session, user: User | int, capacity: int | None, *,
                 actor: User | None = None, now: datetime | None = None) -> User:
    """An agent's own capacity in tasks at once (None: back to the zone's
    default), written to the zone's change log when an actor sets it."""
    agent = session.get(User, user) if isinstance(user, int) else user
    if agent is None:
        raise NotFound("No such user.")
    if agent.role != "agent":
        raise ValidationError("Only an agent has a capacity.", field="capacity")
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationError("A capacity is 1 to {limit} tasks.", field="capacity",
                              limit=MAX_CAPACITY)
    before = session.get(AgentCapacity, agent.id)
    old = before.capacity if before is not None else None
    session.execute(delete(AgentCapacity).where(AgentCapacity.user_id == agent.id))
    if capacity is not None:
        session.add(AgentCapacity(user_id=agent.id, capacity=capacity))
    if actor is not None and now is not None and old != capacity:
        zone_audit.record(session, actor=actor, now=now, action="user.capacity",
                          subject=agent.username, data={"from": old, "to": capacity})
    session.flush()
    return agent

"""``daiban forecast backtest``: how good are the predictions?

Replays closed history: at each day an item of a project was released, the
project is seen as it stood that day (what had closed, what was in work),
predicted with only the history known that day (tasks closed and lifecycle
gaps completed before it), and compared with what happened: the released
item's closing day, and each milestone not reached yet. The same is done
with the naive plan (every item at its full legal limit: an empty history).
The error is in working days (``predict.working_days_apart``).

The history comes as ``ProjectHistory`` values: the demo's from the database
(``from_database``), a synthetic one from ``bench.forecast``.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import predict as p
from workflow.core.models import ItemTask, Project
from workflow.kernel.registry import definition_by_id


@dataclass(frozen=True)
class ProjectHistory:
    """A project as it ended: its items (closed, with their dates) and the day
    it reached each milestone."""

    items: tuple[p.ItemFacts, ...]
    reached: Mapping[str, date]


@dataclass
class Errors:
    """Sums of absolute errors (working days) and counts, per item and per milestone."""

    item_sum: int = 0
    item_n: int = 0
    milestone_sum: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    milestone_n: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def item_mae(self) -> float | None:
        return self.item_sum / self.item_n if self.item_n else None

    def milestone_mae(self, name: str) -> float | None:
        n = self.milestone_n.get(name, 0)
        return self.milestone_sum[name] / n if n else None

    @property
    def all_milestones_mae(self) -> float | None:
        n = sum(self.milestone_n.values())
        return sum(self.milestone_sum.values()) / n if n else None


@dataclass
class Result:
    predicted: Errors
    naive: Errors
    predictions: int = 0

    def lines(self) -> list[str]:
        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        def gain(a: float | None, b: float | None) -> str:
            return "-" if a is None or not b else f"{(1 - a / b) * 100:.0f} %"

        rows = [("items", self.predicted.item_mae, self.naive.item_mae, self.predicted.item_n)]
        rows += [(m, self.predicted.milestone_mae(m), self.naive.milestone_mae(m),
                  self.predicted.milestone_n.get(m, 0)) for m in p.MILESTONES]
        rows.append(("milestones (all)", self.predicted.all_milestones_mae,
                     self.naive.all_milestones_mae, sum(self.predicted.milestone_n.values())))
        out = [f"predictions replayed: {self.predictions}",
               f"{'mean absolute error (working days)':<36}{'predicted':>10}{'naive':>10}"
               f"{'lower by':>10}{'n':>9}"]
        out += [f"{name:<36}{fmt(a):>10}{fmt(b):>10}{gain(a, b):>10}{n:>9}"
                for name, a, b, n in rows]
        return out


def _as_of(item: p.ItemFacts, t: date) -> p.ItemFacts:
    """The item as it stood at the end of day ``t`` (pauses are not replayed)."""
    if item.closed_on is not None and item.closed_on <= t:
        return item
    if item.released_on is None or item.released_on > t:
        return replace(item, state="blocked", clock=None, released_on=None, submitted_on=None,
                       accepted_on=None, decided_on=None, closed_on=None, paused_since=None)
    base = replace(item, closed_on=None, paused_since=None, service_paused_days=0,
                   statutory_paused_days=0)
    if item.decided_on is not None and item.decided_on <= t:
        return replace(base, state="approved", clock=p.STATUTORY)
    if item.submitted_on is not None and item.submitted_on <= t:
        accepted = item.accepted_on if item.accepted_on and item.accepted_on <= t else None
        return replace(base, state="submitted", clock=p.STATUTORY, accepted_on=accepted,
                       decided_on=None)
    return replace(base, state="in_progress", clock=p.SERVICE, submitted_on=None,
                   accepted_on=None, decided_on=None)


def _stage_at(reached: Mapping[str, date], t: date) -> tuple[str, dict[str, date]]:
    known = {m: d for m, d in reached.items() if d <= t}
    stage = "approving"
    for name in p.MILESTONES:
        if name in known:
            stage = name
    return stage, known


def gaps_of(history: ProjectHistory) -> list[tuple[date, str, int]]:
    """(the day it ended, gap name, working days) of each lifecycle gap the
    project completed, measured as ``predict.record_gap`` does."""
    r = history.reached
    requested = min((i.released_on for i in history.items if i.opens_on_request and i.released_on),
                    default=None)
    ends = {"started": r.get("started"), "construction": requested,
            "producing": r.get("producing"), "at_capacity": r.get("at_capacity")}
    return [(ends[name], name, days) for name, days in p.project_gaps(r, requested).items()]


def _lengths(item: p.ItemFacts) -> list[tuple[str, int]]:
    """What the item adds to the history once closed (``predict.task_lengths``:
    the facts carry the limits the task's definition item would)."""
    return p.task_lengths(item, item)


def run(projects: Sequence[ProjectHistory], *, min_history: int = p.DEFAULT_MIN_HISTORY,
        history: p.History | None = None) -> Result:
    """Replay ``projects`` (see the module's docstring). ``history``: what was
    known before the first of them (default: nothing)."""
    known = history or p.History()
    # What becomes known, in order of the day it happened.
    learned: list[tuple[date, int, tuple[str, str, str, int]]] = []
    for history_ in projects:
        for item in history_.items:
            for clock_, days in _lengths(item):
                learned.append((item.closed_on, len(learned),
                                (item.code, item.department, clock_, days)))
        for end, name, days in gaps_of(history_):
            learned.append((end, len(learned), (p.GAP_SUBJECT[name], "", p.GAP, days)))
    heapq.heapify(learned)
    releases = sorted({(item.released_on, n) for n, h in enumerate(projects)
                       for item in h.items if item.released_on is not None})
    result = Result(predicted=Errors(), naive=Errors())
    for t, n in releases:
        while learned and learned[0][0] < t:
            _, _, (subject, department, clock_, days) = heapq.heappop(learned)
            known.add(subject, department, clock_, days)
        project = projects[n]
        facts = [_as_of(item, t) for item in project.items]
        stage, reached = _stage_at(project.reached, t)
        released_now = [i for i in project.items if i.released_on == t and i.closed_on]
        for errors, source in ((result.predicted, known), (result.naive, p.EMPTY_HISTORY)):
            prediction = p.predict(facts, today=t, stage=stage, reached=reached, history=source,
                                   min_history=min_history)
            for item in released_now:
                errors.item_sum += p.working_days_apart(prediction.ends[item.code], item.closed_on)
                errors.item_n += 1
            for name, actual in project.reached.items():
                if name in p.MILESTONES and name not in reached:
                    errors.milestone_sum[name] += p.working_days_apart(
                        prediction.milestones[name], actual)
                    errors.milestone_n[name] += 1
        result.predictions += 1
    return result


def from_database(session: Session, *, batch: int = 500,
                  release: bool = False) -> Iterable[ProjectHistory]:
    """The database's projects with at least one done item, as history (open
    items stay open: they count towards nothing but their prerequisites).
    ``release``: forget each batch's rows once read (a session of its own)."""
    last = 0
    while True:
        projects = list(session.scalars(
            select(Project).where(Project.id > last,
                                  Project.id.in_(select(ItemTask.project_id)
                                                 .where(ItemTask.state == "done")))
            .order_by(Project.id).limit(batch)))
        if not projects:
            return
        reached = p.milestone_dates(session, [x.id for x in projects])
        for project in projects:
            definition = definition_by_id(session, project.definition_version_id)
            tasks = [t for t in project.tasks if t.item_code in definition.items]
            codes = [t.item_code for t in tasks]
            items = tuple(p.facts_of(t, definition.items[t.item_code], codes) for t in tasks)
            # Only what has happened is history: open items never "close".
            items = tuple(i if i.closed else replace(i, closed_on=None) for i in items)
            yield ProjectHistory(items=items, reached=reached[project.id])
            last = project.id
        if release:
            session.expunge_all()

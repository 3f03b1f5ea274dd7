"""Predicted dates: when each open item and each lifecycle milestone of a
project is expected, and which items hold the project up (the critical path).

The prediction is a pure function of plain data (``predict``), so that it can
be tested on hand-built graphs and replayed over history (``workflow.core.
backtest``); ``load`` reads a project into that data, and ``store`` /
``refresh`` keep the ``item_prediction`` and ``project_prediction`` rows (see
``workflow.core.prediction_models``) up to date.

How an item is predicted
------------------------

An item runs its two clocks one after the other (``workflow.core.clocks``):
the service clock from its release to the submission, the statutory clock
from the 受理 (or the submission) to the decision, then it closes. For each
clock the expected length is

- the zone's own history: the median length of that clock for the item and
  department over the closed tasks (``History``, read from the maintained
  ``handling_history`` rollup), once at least ``min_history`` of them exist;
  a historical length is gross (it includes the pauses those tasks had);
- otherwise the legal limit: the clock's limit, plus its extensions and the
  pauses it already had (net of pauses, as the law counts).

Each clock counts in its own limit's unit (calendar days for a calendar-day
limit) on the working-day calendar of ``workflow.kernel.clock``. A clock that
is paused now (补正, expert review, a suspension: ``paused_since``) is
expected to run its remaining days from today, so a paused item's end moves
with the pause. A running clock whose expected end has passed is expected
today. An item not released yet opens when its last prerequisite is expected
to close (and not before the stage it is ``available_from``; an item opened
``on request``, 竣工验收, once construction is expected to be over).

Milestones (``MILESTONES``): ``ready_to_start`` when the items gating it
close; ``started`` after the zone's usual gap (history ``stage:started``),
else by the legal bound of the item whose checkpoint requires the start
(施工许可: start within 3 months); ``completed`` when the items gating it
close (竣工验收 opens after the construction gap); ``producing`` when those
gating it close, and not before the usual gap after completion; ``at_capacity`` after the ramp-up gap. The
gaps no item measures default to ``DEFAULT_GAPS`` (working days) until the
history has them. A milestone already reached keeps its actual date.

A prediction is ``provisional`` when any date it counted through lies in a
year whose holiday schedule is not published yet; an item's, when its own
days (release to end) run through such a year.

The critical path: from the item that decides the last predicted milestone
an item decides (``completed`` when the project has such items, else the
latest-ending item), back through whatever decided each item's opening (its
latest prerequisite, or the milestone it waited for).
"""

from __future__ import annotations

import calendar as _months
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from definitions import TimeLimit
from workflow.kernel import clock as wd

MILESTONES = ("ready_to_start", "started", "completed", "producing", "at_capacity")
# The main lifecycle up to the milestones, in order (definitions/zuoyun/stages.toml).
_STAGE_ORDER = ("intention", "signed", "mandated", "approving") + MILESTONES + ("verified",)
# Closed tasks (or finished lifecycle gaps) before their median replaces the
# limit. The backtest chose 3: on the demo zone's short history 5 kept the
# later milestones at the naive plan (13 % better) where 3 gives 41 %, and on
# 10,000 synthetic projects the two are the same to a tenth of a day.
DEFAULT_MIN_HISTORY = 3
# Gaps, in working days, that no item measures, until the history has them:
# start after the start conditions are met, construction (开工 → 竣工验收 applied
# for), production after the last gating item, ramp-up (投产 → 达产).
DEFAULT_GAPS: Mapping[str, int] = {"started": 20, "construction": 250, "producing": 5,
                                   "at_capacity": 250}
# The subjects of the gaps in ``handling_history`` (department "" and clock "gap").
GAP_SUBJECT = {name: f"stage:{name}" for name in DEFAULT_GAPS}
SERVICE, STATUTORY, GAP = "service", "statutory", "gap"
CLOSED = ("done", "covered", "terminated")


# -- the input ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemFacts:
    """What the prediction needs of one item task of the project (see
    ``ItemTask`` for the columns; limits as in the definition).

    ``requires``: the prerequisites the project does (others are ignored).
    ``clock``: which clock runs or last ran (``service`` / ``statutory``).
    ``checkpoint_months``: once done, the project must start within these
    months (施工许可); counted when the start has no history."""

    code: str
    department: str
    service_limit: TimeLimit
    limit: TimeLimit
    state: str = "blocked"
    requires: tuple[str, ...] = ()
    group_id: int | None = None
    gates: str | None = None
    available_from: str | None = None
    opens_on_request: bool = False
    checkpoint_months: int | None = None
    clock: str | None = None
    released_on: date | None = None
    submitted_on: date | None = None
    accepted_on: date | None = None
    decided_on: date | None = None
    closed_on: date | None = None
    paused_since: date | None = None
    service_paused_days: int = 0
    statutory_paused_days: int = 0
    service_extension_days: int = 0
    extension_days: int = 0

    @property
    def closed(self) -> bool:
        return self.state in CLOSED


class History:
    """The zone's handling times: per (subject, department, clock), how many
    closed tasks took each number of days (a histogram, as the
    ``handling_history`` rollup stores it). ``subject`` is an item code, or
    ``stage:<gap>`` with department "" and clock ``gap``."""

    def __init__(self, counts: Mapping[tuple[str, str, str], Mapping[int, int]] | None = None):
        self._counts: dict[tuple[str, str, str], dict[int, int]] = {
            key: dict(hist) for key, hist in (counts or {}).items()}
        self._medians: dict[tuple[str, str, str], tuple[int, int]] = {}

    def add(self, subject: str, department: str, clock: str, days: int, n: int = 1) -> None:
        key = (subject, department, clock)
        hist = self._counts.setdefault(key, {})
        hist[days] = hist.get(days, 0) + n
        self._medians.pop(key, None)

    def median(self, subject: str, department: str, clock: str) -> tuple[int | None, int]:
        """(the lower median in days, how many tasks) for the key; (None, 0) without any."""
        key = (subject, department, clock)
        found = self._medians.get(key)
        if found is None:
            hist = self._counts.get(key) or {}
            total = sum(hist.values())
            value = None
            if total:
                seen, middle = 0, (total + 1) // 2
                for days in sorted(hist):
                    seen += hist[days]
                    if seen >= middle:
                        value = days
                        break
            found = self._medians[key] = (value, total)
        return found

    def rows(self) -> Iterable[tuple[str, str, str, int, int]]:
        for (subject, department, clock), hist in self._counts.items():
            for days, n in hist.items():
                yield subject, department, clock, days, n


EMPTY_HISTORY = History()


# -- the output --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemPrediction:
    """One open item: expected release (``start``: the day it opens, the
    actual one once released) and completion (``end``); ``released``: it is
    in work already; ``basis``: ``history`` when both clocks' lengths come
    from the zone's history, ``limit`` when either is the legal limit;
    ``driver``: the prerequisite item or ``milestone:<code>`` that decides
    its opening (None once released)."""

    code: str
    department: str
    group_id: int | None
    start: date
    end: date
    released: bool
    critical: bool
    provisional: bool
    basis: str
    driver: str | None = None


@dataclass(frozen=True)
class Prediction:
    """A project's prediction on ``today``: its open items (``items``), each
    milestone's date (``milestones``: actual once reached, listed in
    ``reached``), the critical path (open items, in order), ``critical_item``
    (the first open item of that path: what holds the project up now) and
    ``provisional``."""

    today: date
    items: tuple[ItemPrediction, ...]
    milestones: Mapping[str, date]
    reached: frozenset[str]
    critical_path: tuple[str, ...]
    critical_item: str | None
    provisional: bool
    ends: Mapping[str, date] = field(default_factory=dict)  # every item's end, closed ones too
    # The last day on which predicting again, with no new event, gives the
    # same dates (``valid_until``); ``date.max`` when nothing depends on the day.
    valid_until: date = date.max

    def item(self, code: str) -> ItemPrediction:
        return next(i for i in self.items if i.code == code)


# -- the arithmetic ----------------------------------------------------------------------------

class _Flag:
    def __init__(self) -> None:
        self.provisional = False
        # The values the day floors (``max(x, today)``): the prediction stands
        # while the day has not passed the least of them (``valid_until``).
        self.floors: list[date] = []

    def due(self, start: date, days: int, limit: TimeLimit) -> date:
        found = wd.due_date(start, max(days, 0), calendar_days=limit.calendar_days)
        self.provisional = self.provisional or found.provisional
        return found.date

    def elapsed(self, start: date, stop: date, limit: TimeLimit) -> int:
        if stop <= start:
            return 0
        if limit.calendar_days:
            return (stop - start).days
        count = wd.working_days_between(start, stop)
        self.provisional = self.provisional or count.provisional
        return count.days

    def today(self, today: date) -> date:
        day = wd.roll_forward(today)
        self.provisional = self.provisional or wd.is_provisional(day)
        return day


def _length(history: History, min_history: int, subject: str, department: str, clock: str,
            legal: int) -> tuple[int, bool]:
    """(expected gross length, from history?) of one clock."""
    median, n = history.median(subject, department, clock)
    if median is not None and n >= min_history:
        return median, True
    return legal, False


def _clock_end(flag: _Flag, start: date, limit: TimeLimit, length: int, from_history: bool,
               paused_days: int, paused_since: date | None, running: bool, today: date) -> date:
    """The expected end of one clock that started on ``start``."""
    total = length if from_history else length + paused_days
    if paused_since is not None:
        used = flag.elapsed(start, paused_since, limit) - (0 if from_history else paused_days)
        return flag.due(max(today, paused_since), max(total - used, 1), limit)
    end = flag.due(start, total, limit)
    if running:
        flag.floors.append(end)
        if end < today:
            end = flag.today(today)
    return end


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _months.monthrange(year, month)[1]))


def _order(items: Sequence[ItemFacts]) -> list[ItemFacts]:
    """Items by the stage they wait for (none first), prerequisites first."""
    by_code = {i.code: i for i in items}
    placed: dict[str, int] = {}
    result: list[ItemFacts] = []

    def visit(item: ItemFacts, path: frozenset[str]) -> None:
        if item.code in placed:
            return
        if item.code in path:
            raise ValueError(f"dependency cycle through {item.code}")
        for code in item.requires:
            if code in by_code:
                visit(by_code[code], path | {item.code})
        placed[item.code] = len(result)
        result.append(item)

    rank = {s: n for n, s in enumerate(_STAGE_ORDER)}
    for item in sorted(items, key=lambda i: rank.get(i.available_from or "", -1)):
        visit(item, frozenset())
    return result


# -- the prediction ----------------------------------------------------------------------------

def predict(items: Sequence[ItemFacts], *, today: date, stage: str = "approving",
            reached: Mapping[str, date] | None = None, history: History = EMPTY_HISTORY,
            min_history: int = DEFAULT_MIN_HISTORY,
            gaps: Mapping[str, int] = DEFAULT_GAPS) -> Prediction:
    """The project's prediction on ``today`` (see the module's docstring).

    ``items``: the project's item tasks; ``stage``: its lifecycle stage;
    ``reached``: the dates it reached milestones on (a milestone at or before
    ``stage`` without a date counts as reached today); ``history``: the zone's
    handling times; an empty history predicts every item at its legal limit
    (the naive plan)."""
    flag = _Flag()
    today_ = today
    rank = {s: n for n, s in enumerate(_STAGE_ORDER)}
    at = rank.get(stage, 0)
    reached_on = dict(reached or {})
    undated: set[str] = set()  # milestones taken as reached today (they move with the day)
    for name in MILESTONES:
        if rank[name] <= at and name not in reached_on:
            reached_on[name] = today_
            undated.add(name)
    depends_on_today = False  # a clock paused now counts its remaining days from today
    ends: dict[str, date] = {}
    openings: dict[str, tuple[date, str | None]] = {}
    predicted: dict[str, ItemPrediction] = {}
    milestone_on: dict[str, date] = {}
    milestone_driver: dict[str, str | None] = {}
    ordered = _order(items)
    present = {i.code for i in items}

    def gating_end(name: str) -> tuple[date | None, str | None]:
        last: tuple[date | None, str | None] = (None, None)
        for item in items:
            if item.gates == name and item.code in ends:
                if last[0] is None or ends[item.code] > last[0]:
                    last = (ends[item.code], item.code)
        return last

    def gap(name: str, start: date) -> date:
        length, _ = _length(history, min_history, GAP_SUBJECT[name], "", GAP, gaps[name])
        return flag.due(start, length, TimeLimit(length))

    def milestone(name: str) -> date:
        """The milestone's date; computed once the items it needs are placed."""
        if name in milestone_on:
            return milestone_on[name]
        if name in reached_on:
            milestone_on[name], milestone_driver[name] = reached_on[name], None
            return reached_on[name]
        driver: str | None = None
        if name == "ready_to_start":
            day, driver = gating_end(name)
            day = day or today_
        elif name == "started":
            ready = milestone("ready_to_start")
            driver = "milestone:ready_to_start"
            median, n = history.median(GAP_SUBJECT["started"], "", GAP)
            bound = [(ends[i.code], i.code, i.checkpoint_months) for i in items
                     if i.checkpoint_months and i.code in ends]
            if (median is None or n < min_history) and bound:
                end, code, months = max(bound)
                day = max(ready, wd.roll_forward(_add_months(end, months)))
                driver = code
            else:
                day = gap("started", ready)
        elif name == "completed":
            started = milestone("started")
            day, driver = gating_end(name)
            if day is None:
                day, driver = gap("construction", started), "milestone:started"
            day = max(day, started)
        elif name == "producing":
            day, driver = gap("producing", milestone("completed")), "milestone:completed"
            last, code = gating_end(name)
            if last is not None and last > day:
                day, driver = last, code
        else:
            day, driver = gap("at_capacity", milestone("producing")), "milestone:producing"
        flag.floors.append(day)
        day = max(day, today_)
        milestone_on[name], milestone_driver[name] = day, driver
        return day

    for item in ordered:
        if item.closed:
            ends[item.code] = item.closed_on or item.released_on or today_
            continue
        service_len, s_hist = _length(history, min_history, item.code, item.department, SERVICE,
                                      item.service_limit.amount + item.service_extension_days)
        statutory_len, t_hist = _length(history, min_history, item.code, item.department,
                                        STATUTORY, item.limit.amount + item.extension_days)
        driver: str | None = None
        released = item.released_on is not None
        if released:
            start = item.released_on
        else:
            start, driver = today_, None
            for code in item.requires:
                if code in present and code in ends and ends[code] >= start:
                    start, driver = ends[code], code
            if item.available_from and item.available_from in MILESTONES:
                opens = milestone(item.available_from)
                if opens > start:
                    start, driver = opens, f"milestone:{item.available_from}"
            if item.opens_on_request and "started" in MILESTONES:
                built = gap("construction", milestone("started"))
                if built > start:
                    start, driver = built, "milestone:started"
        openings[item.code] = (start, driver)
        flag.floors.append(start if not released else today_ if start > today_ else date.max)
        paused = item.paused_since
        depends_on_today = depends_on_today or (released and paused is not None)
        if item.decided_on is not None:
            end = max(item.decided_on, flag.today(today_))
        elif released and item.submitted_on is not None and item.clock != SERVICE:
            end = _clock_end(flag, item.accepted_on or item.submitted_on, item.limit,
                             statutory_len, t_hist, item.statutory_paused_days, paused, True,
                             today_)
        else:
            submitted = _clock_end(flag, start, item.service_limit, service_len, s_hist,
                                   item.service_paused_days, paused if released else None,
                                   released, today_)
            end = _clock_end(flag, submitted, item.limit, statutory_len, t_hist,
                             item.statutory_paused_days, None, False, today_)
        ends[item.code] = end
        predicted[item.code] = ItemPrediction(
            code=item.code, department=item.department, group_id=item.group_id, start=start,
            end=end, released=released, critical=False, provisional=False,
            basis="history" if s_hist and t_hist else "limit", driver=driver)

    for name in MILESTONES:
        milestone(name)

    # The critical path: back from what decides completion (竣工), else from the
    # latest-ending open item, through whatever decided each opening.
    path: list[str] = []
    node = _resolve(milestone_driver.get("completed"), milestone_driver)
    if (node is None or node not in predicted) and predicted:
        node = max(predicted.values(), key=lambda p: (p.end, p.code)).code
    seen: set[str] = set()
    while node is not None and node not in seen:
        seen.add(node)
        if node in predicted:
            path.append(node)
        node = _resolve(openings.get(node, (None, None))[1], milestone_driver)
    path.reverse()
    critical = set(path)
    provisional = flag.provisional
    valid_until = _valid_until(today_, predicted.values(), milestone_on, reached_on, undated,
                               depends_on_today, flag.floors)
    final = tuple(
        ItemPrediction(**{**p.__dict__, "critical": p.code in critical,
                          "provisional": _touches_provisional(p.start, p.end)})
        for p in sorted(predicted.values(), key=lambda p: (p.start, p.end, p.code)))
    return Prediction(
        today=today_, items=final, milestones=dict(milestone_on),
        reached=frozenset(m for m in MILESTONES if m in reached_on),
        critical_path=tuple(path), critical_item=path[0] if path else None,
        provisional=provisional, ends=dict(ends), valid_until=valid_until)


def _valid_until(today: date, predicted: Iterable[ItemPrediction], milestone_on: Mapping[str, date],
                 reached_on: Mapping[str, date], undated: set[str], depends_on_today: bool,
                 floors: Sequence[date] = ()) -> date:
    """The last day on which ``predict`` gives the same answer with no new
    event. The day enters the arithmetic only as a floor (``max(x, today)``:
    an overdue clock expected today, an item opening today, a milestone no
    earlier than today: ``floors``, each value before the floor) and through
    a pause in progress (its remaining days count from today). The answer
    stands while the day has not passed the least floored value nor the
    earliest open output date: an unreleased item's opening, an open item's
    end, a milestone not reached (or reached without a date, taken as
    today). A paused clock: today only."""
    if depends_on_today:
        return today
    days = [p.end for p in predicted] + [p.start for p in predicted if not p.released]
    days += [d for name, d in milestone_on.items() if name not in reached_on or name in undated]
    days += floors
    return max(min(days, default=date.max), today)


def _touches_provisional(start: date, end: date) -> bool:
    """Whether an item's days run through a year without a published schedule."""
    return any(not wd.year_is_published(year) for year in range(start.year, end.year + 1))


def _resolve(node: str | None, milestone_driver: Mapping[str, str | None]) -> str | None:
    """An item code for a driver: a milestone's own driver, followed."""
    seen = set()
    while node is not None and node.startswith("milestone:") and node not in seen:
        seen.add(node)
        node = milestone_driver.get(node.split(":", 1)[1])
    return node


def working_days_apart(a: date, b: date) -> int:
    """|working days between a and b|: the error measure of the backtest."""
    return abs(wd.working_days_between(min(a, b), max(a, b)).days)



# The database side (the loader, the stored rows, the history), re-exported.
from workflow.core.prediction_store import (  # noqa: E402, F401
    FINISHED_STAGES,
    MAX_HISTORY_DAYS,
    PREDICTIONS,
    changed_projects,
    expired_projects,
    facts_of,
    finished_with_prediction,
    forget,
    load,
    load_history,
    milestone_dates,
    project_gaps,
    rebuild_history,
    record_gap,
    refresh,
    refresh_for,
    refresh_projects,
    stale_projects,
    store,
    store_many,
    task_done,
    task_lengths,
)

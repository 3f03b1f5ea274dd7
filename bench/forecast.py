"""A synthetic closed history for ``daiban forecast backtest --synthetic N``.

``synthetic(n)`` builds ``n`` finished general industrial projects on the
shipped definition (``definitions/zuoyun``), each from signing to capacity,
deterministic for a seed: projects start on days spread over 2019–2025 (years
with published holiday schedules); each department works at its own pace (a
share of the legal limit), each item's agents at theirs (a share of the
service limit), every task with lognormal noise and, one in ten, a pause
(补正) of a few days on the statutory clock. The lifecycle gaps (start after
the start conditions, construction, production, ramp-up) are drawn the same
way. The history is plausible rather than real: it is what the backtest
replays to show that the zone's own medians beat the legal limits once
enough of them exist.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from definitions import Definition, load_definition
from workflow.core.backtest import ProjectHistory
from workflow.core.predict import ItemFacts
from workflow.kernel import clock as wd

DEFINITION_DIR = Path(__file__).resolve().parent.parent / "definitions" / "zuoyun"
FIRST_DAY, DAYS = date(2019, 1, 2), 6 * 365


def _draw(rng: random.Random, typical: float, spread: float = 0.3) -> int:
    return max(1, round(typical * rng.lognormvariate(0, spread)))


def synthetic(n: int, *, seed: int = 13, definition: Definition | None = None
              ) -> list[ProjectHistory]:
    """``n`` finished projects, oldest first (see the module's docstring)."""
    definition = definition or load_definition(DEFINITION_DIR)
    rng = random.Random(seed)
    items = definition.items_for(chemical=False, chosen={})
    codes = {i.code for i in items}
    department_pace = {d: rng.uniform(0.25, 0.8) for d in definition.departments}
    agent_pace = {i.code: rng.uniform(0.3, 0.9) for i in items}
    gaps = {"started": 25, "construction": 220, "producing": 15, "at_capacity": 240}
    starts = sorted(FIRST_DAY + timedelta(days=rng.randrange(DAYS)) for _ in range(n))
    found = []
    for begin in starts:
        found.append(_project(rng, wd.roll_forward(begin), items, codes, department_pace,
                              agent_pace, gaps))
    return found


def _facts(item, codes, release: date, submitted: date, closed: date) -> ItemFacts:
    checkpoint = item.checkpoint
    return ItemFacts(
        code=item.code, department=item.department, service_limit=item.service_limit,
        limit=item.limit, state="done", requires=tuple(c for c in item.requires if c in codes),
        gates=item.gates, available_from=item.available_from,
        opens_on_request=item.opens_on_request,
        checkpoint_months=checkpoint.months if checkpoint and checkpoint.reach == "started"
        else None, clock="statutory", released_on=release, submitted_on=submitted,
        accepted_on=submitted, decided_on=closed, closed_on=closed)


def _project(rng: random.Random, begin: date, items, codes, department_pace, agent_pace,
             gaps) -> ProjectHistory:
    ends: dict[str, date] = {}
    facts: dict[str, ItemFacts] = {}
    reached: dict[str, date] = {}

    def run(item, release: date) -> None:
        service = _draw(rng, item.service_limit.amount * agent_pace[item.code])
        submitted = wd.due_date(release, service,
                                calendar_days=item.service_limit.calendar_days).date
        days = _draw(rng, item.limit.amount * department_pace[item.department])
        if rng.random() < 0.1:
            days += rng.randint(3, 15)
        closed = wd.due_date(submitted, days, calendar_days=item.limit.calendar_days).date
        ends[item.code] = closed
        facts[item.code] = _facts(item, codes, release, submitted, closed)

    def release_of(item) -> date:
        return max([begin] + [ends[c] for c in item.requires if c in codes])

    first = [i for i in items if not i.available_from]
    later = [i for i in items if i.available_from]
    for item in first:
        run(item, release_of(item))
    reached["ready_to_start"] = max(ends[i.code] for i in first if i.gates == "ready_to_start")
    reached["started"] = wd.add_working_days(reached["ready_to_start"],
                                             _draw(rng, gaps["started"], 0.5)).date
    built = wd.add_working_days(reached["started"], _draw(rng, gaps["construction"])).date
    for item in later:  # in dependency order: the definition's
        opens = max(release_of(item), reached["started"])
        run(item, max(opens, built) if item.opens_on_request else opens)
    reached["completed"] = max(ends[i.code] for i in items if i.gates == "completed")
    producing = wd.add_working_days(reached["completed"], _draw(rng, gaps["producing"], 0.5)).date
    reached["producing"] = max([producing] + [ends[i.code] for i in items
                                              if i.gates == "producing"])
    reached["at_capacity"] = wd.add_working_days(reached["producing"],
                                                 _draw(rng, gaps["at_capacity"])).date
    return ProjectHistory(items=tuple(facts[i.code] for i in items), reached=reached)

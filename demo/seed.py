"""Demo data that mirrors 左云经济技术开发区: its five industry groups, 6 lead
handlers (领办人), 21 agents (代办员), 12 enterprises and 32 projects (2 on the
intention ledger, 30 landed worth ¥8.684 bn, 26 of them above ¥100 M) spread
over every lifecycle stage.

Every project's history is made by the engine's own operations, called with
earlier ``now`` values, so the audit chain is the one real use would leave.
Times are planned in *working days before today* (``t``): an item accepted K
working days before today with a limit of L working days is red when K > L
and yellow when L - 2 <= K < L, whatever the calendar around today looks like.
The plans therefore give the same lights on any day the demo is seeded; only
items with calendar-day limits (land transfer, EIA, construction permit,
completion filing) may shift near a long holiday. Nothing happens on today's
date itself, so no event lies after ``now``. The projects' histories play
together, earliest event first, so every series of numbers (commitment
letters, mandates, the departments' references) follows the dates: the
year's first number is its earliest paper. Every group's queue holds items
released and left unclaimed (``HOLD``), green, yellow and red alike, so a new
agent meets the claim step on any day.

The reforms show in every state: items on the commitment list close by a
letter the enterprise signs (承诺制), checked kept, under rectification or
broken; 容缺 promises open, fulfilled and expired; ratings and their
rectifications; enterprise requests on the 13710 rhythm and leaders' visits;
files (small generated PDFs) on tasks, whose bytes
``seed_demo`` writes to the upload folder it is given.

What is seeded lives in the package's modules: ``people``, ``projects`` (and
the ``plans`` of their items), ``reforms`` (standard land, the intention
ledger, and the steps of the reforms a project's run takes); this module
seeds them in order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.baolian import add_plans
from demo.fees import add_fees
from demo.forecast import add_predictions
from demo.messages import add_mobiles
from demo.people import DEMO_PASSWORD, add_people
from demo.projects import DEPARTMENT_PREFIX, PROJECTS, ProjectRun
from demo.reforms import add_intentions, add_land, review_restricted_screening
from demo.requests import add_requests
from demo.workload import add_capacities
from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.core import notify, rollups
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import current_version, definition_of
from workflow.models import Enterprise, ItemTask, User
from workflow.reforms import chemicals, commitments, land

__all__ = ["DEMO_PASSWORD", "Seeder", "seed_demo", "seed_into"]


def seed_demo(*, now: datetime, url: str | None = None, uploads: Path | None = None) -> bool:
    """Add the demo data to the database at ``url`` (migrated, definition
    installed) in one transaction; False, changing nothing, if it is there.
    The files on the demo's tasks go to the ``uploads`` folder (the app's
    ``UPLOAD_FOLDER``), kept only if the transaction commits, as an upload's."""
    ops.zone_today(now)  # refuse a naive ``now`` before opening anything
    engine = make_engine(url)
    written: list[Path] = []
    try:
        with transaction(make_session_factory(engine)) as session:
            if session.scalar(select(User.id).where(User.username == "admin")) is not None:
                return False
            files = seed_into(session, now=now)
            rollups.refresh(session, now=now)  # the figures are there before the first sweep
            if uploads is not None:
                uploads.mkdir(parents=True, exist_ok=True)
                for name, data in files.items():
                    written.append(uploads / name)
                    (uploads / f"{name}.part").write_bytes(data)
        for path in written:  # committed: the files take their names
            path.with_name(f"{path.name}.part").replace(path)
        return True
    finally:
        for path in written:
            path.with_name(f"{path.name}.part").unlink(missing_ok=True)
        engine.dispose()


def seed_into(session: Session, *, now: datetime) -> dict[str, bytes]:
    """Add the demo's people, enterprises and projects inside ``session``
    (flushed, not committed); return the bytes of the files recorded on its
    tasks, by storage name, for the upload folder."""
    chemicals.install_shipped(session)  # the screening rules the chemical projects pass
    seeder = Seeder(session, now)
    seeder.run()
    return seeder.files


class Seeder:
    """The state a seeding shares: the session, today and the working days
    before it, the people, enterprises, groups and parcels by name."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.today = ops.zone_today(now)
        self.definition = definition_of(current_version(session))
        # Working days strictly before today, newest first; ``day`` skips the
        # first one when today is a holiday, so that t stays exact.
        self._days: list[date] = []
        self._offset = 0 if clock.is_working_day(self.today) else 1
        self.users: dict[str, User] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.groups: dict[str, list[User]] = {}
        self.parcels: dict[str, Any] = {}
        self._turn = itertools.count()
        self._document: dict[tuple[str, int], int] = {}
        self._queue: list[tuple[int, int, ProjectRun, Callable[[int], None]]] = []
        self._order = itertools.count()
        self._per_day: dict[int, int] = {}
        self.files: dict[str, bytes] = {}  # storage name -> bytes of the files on tasks

    # -- time ------------------------------------------------------------------------
    def day(self, t: int) -> date:
        """The working day d before today with working_days_between(d, today) == t."""
        index = t - 1 + self._offset
        while len(self._days) <= index:
            d = self._days[-1] if self._days else self.today
            d -= timedelta(days=1)
            while not clock.is_working_day(d):
                d -= timedelta(days=1)
            self._days.append(d)
        return self._days[index]

    # -- the run ---------------------------------------------------------------------
    def run(self) -> None:
        add_people(self)
        add_mobiles(self)
        add_land(self, PROJECTS)
        runs = [ProjectRun(self, spec) for spec in PROJECTS]
        for run in runs:
            run.plan()
        self.play()
        for run in runs:
            run.finish()
        add_intentions(self)
        review_restricted_screening(self)
        add_requests(self)  # enterprise requests, visits and yesterday evening's escalations
        # Yesterday evening's sweeps: standard land (checks passed, checkpoints
        # overdue) and commitments (a 容缺 promise past its deadline expires).
        evening = datetime.combine(self.day(1), time(20, 0), tzinfo=ops.ZONE_TZ)
        land.sweep(self.session, now=evening)
        commitments.sweep(self.session, now=evening)
        add_plans(self)  # 包联: the plans' teams and dates, and their escalations
        add_fees(self)  # what the zone pays, entered by the finance office that evening
        self.read_old_notifications()
        add_predictions(self.session, now=self.now)
        add_capacities(self.session, now=self.now)  # the workload forecast's part-timer
        self.session.flush()

    def at(self, t: int) -> datetime:
        return datetime.combine(self.day(t), time(10, 0), tzinfo=ops.ZONE_TZ)

    def moment_of(self, t: int) -> datetime:
        """The next moment of day t: from 08:30, a minute apart, in the order
        the events of that day are played."""
        n = self._per_day[t] = self._per_day.get(t, 0) + 1
        return datetime.combine(self.day(t), time(8, 30), tzinfo=ops.ZONE_TZ) + timedelta(minutes=n)

    def push(self, t: int, run: ProjectRun, action: Callable[[int], None]) -> None:
        """Queue a project's event t working days ago (same day: in the order queued)."""
        heapq.heappush(self._queue, (-t, next(self._order), run, action))

    def play(self) -> None:
        """Every project's events, earliest first, up to yesterday (an event
        may queue later ones); today and later have not yet happened."""
        while self._queue:
            t, _, run, action = heapq.heappop(self._queue)
            if -t < 1:
                break
            run.act(-t, action)

    def read_old_notifications(self) -> None:
        """People read what they were told as it came: only the last week's
        in-app notifications are still unread."""
        read_at = datetime.combine(self.day(5), time(18, 0), tzinfo=ops.ZONE_TZ)
        for user in self.users.values():
            notify.mark_all_read(self.session, user, read_at, before=read_at)

    def agent_for(self, task: ItemTask, group_code: str, exclude: int | None = None) -> User:
        """An agent of the group from the item's department if there is one,
        else the group's agents in turn."""
        agents = [a for a in self.groups[group_code] if a.id != exclude]
        same = [a for a in agents if a.department == task.department]
        pool = same or agents
        return pool[next(self._turn) % len(pool)]

    def document(self, department: str, day: date) -> str:
        """A department's reference: its own series each year, numbered as
        the approvals are played, earliest first."""
        prefix = DEPARTMENT_PREFIX.get(department, "左")
        n = self._document[prefix, day.year] = self._document.get((prefix, day.year), 0) + 1
        return f"{prefix}〔{day.year}〕{n}号"



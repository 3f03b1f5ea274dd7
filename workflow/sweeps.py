"""Every periodic check, in one place: the holiday schedule (a newly published
year re-derives the provisional dates, ``workflow.core.calendar_refresh``), the
deadline sweep (reminders and 13710 escalations) and the reform areas' own sweeps (容缺 promises that expire,
compliance checks and lifecycle checkpoints that fall due, idle-land
warnings, rectifications after a bad rating, stale intentions, enterprise requests
due the next working day or overdue on the 13710 rhythm, late milestones of the
包联 promotion plans), then the figures' rollups and the predicted dates (``workflow.core.predict``).

Each part runs in its own transaction, so one area's failure cannot hold back
the reminders of another; each is idempotent (unique keys or status checks),
so running the whole sweep twice records nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.core import calendar_refresh, deadlines, notify, predict, rollups
from workflow.kernel.config import Config
from workflow.kernel.db import transaction
from workflow.reforms import baolian, commitments, intentions, land, ratings, requests

log = logging.getLogger("daiban.sweep")

# Each area's ``sweep(session, *, now) -> list[str]``, run in this order.
AREA_SWEEPS: tuple[Callable[..., list[str]], ...] = (
    commitments.sweep, land.sweep, ratings.sweep, intentions.sweep, requests.sweep,
    requests.warn, baolian.sweep)


# How far ahead of the machine's clock a sweep's ``now`` may be (clocks of two
# machines drift a little): a sweep as of a later moment would date in-app
# notices in the future and hold their mail until then.
FUTURE_SKEW = timedelta(minutes=5)


def check_now(now: datetime, *, real: datetime) -> None:
    """Refuse a sweep dated after the present (``real``, the machine's clock)
    by more than ``FUTURE_SKEW``; an earlier moment is fine (a catch-up or a
    replay records what was due then, once)."""
    if now - real > FUTURE_SKEW:
        raise ValueError(
            f"a sweep cannot run as of a future moment ({now.isoformat()}; it is "
            f"{real.isoformat()} now): it would date notices in the future and hold their "
            f"mail until then. Use a moment no later than the present.")


def run_all(factory: sessionmaker[Session], *, now: datetime, config: Config) -> list[str]:
    """Run the calendar check, the deadline sweep and every area's sweep; one
    line per thing recorded."""
    info = notify.session_info(config.channels)
    # First, so that the reminders see the dates a newly published year gives.
    with transaction(factory, info=info) as session:
        lines = calendar_refresh.check(session, now=now)
    with transaction(factory, info=info) as session:
        lines += [entry.line() for entry in
                  deadlines.sweep(session, now=now, policy=config.deadlines)]
    for sweep in AREA_SWEEPS:
        with transaction(factory, info=info) as session:
            lines.extend(sweep(session, now=now))
    # The figures' open items and the pipeline, as of this sweep (the pages
    # show when); not a reminder, so not a line of its own.
    with transaction(factory) as session:
        written = rollups.refresh(session, now=now)
    log.info("rollups refreshed: %s", written)
    # The predicted dates of the projects that changed since their prediction,
    # then of those whose valid_until day has passed, in batches of their own
    # transactions for at most config.prediction_seconds; the rows carry
    # their as-of time, and the workload rollup follows them.
    log.info("predictions refreshed: %s", predict.refresh_for(
        lambda: transaction(factory), now=now, seconds=config.prediction_budget))
    return lines

"""The day's wave of predictions on a loaded zone (issue 13, item 5): how many
predictions the next day makes stale, what finding them costs, and how fast
the scheduler's sweep recomputes them.

``python -m bench.wave --database-url postgresql+psycopg://…/daiban_bench_pages_1m``
runs on a database ``python -m bench pages`` loaded (every open project
predicted as of the load). It moves to the next working day at 00:10 (zone
time), when every prediction that held only until the day before expires at
once, and then

- counts the stale predictions: changed projects (the pass over the open
  projects, ``changed_projects``) and expired ones (``valid_until`` before the
  day: the index range, ``expired_projects``), timing each query;
- runs the sweep's share (``predict.refresh_for``: batches of 2,000, each its
  own transaction) for ``--seconds`` and reports projects per second and the
  time the whole wave would take at that rate.

It writes predictions (a bench database only: the name must contain
"bench"); run it after the pages were measured. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import func, make_url, select

from bench.database import _check_throwaway
from workflow import zone  # noqa: F401 - the areas' hooks (agreement misses)
from workflow.core import predict
from workflow.kernel import clock
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.moments import ZONE_TZ
from workflow.models import Project, ProjectPrediction


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, round((time.perf_counter() - started) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wave")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="how long the sweep's share runs (120, the default budget)")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--force", action="store_true",
                        help="run even if the database's name does not contain 'bench'")
    args = parser.parse_args(argv)
    _check_throwaway(make_url(args.database_url).database or "", args.force)
    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    today = datetime.now(ZONE_TZ).date()
    day = clock.roll_forward(today + timedelta(days=1))
    now = datetime.combine(day, datetime.min.time(), tzinfo=ZONE_TZ) + timedelta(minutes=10)
    result: dict = {"today": today.isoformat(), "wave_day": day.isoformat()}
    with factory() as session:
        result["open_projects"] = session.scalar(
            select(func.count()).select_from(Project)
            .where(Project.stage.notin_(predict.FINISHED_STAGES)))
        result["stored_predictions"] = session.scalar(
            select(func.count()).select_from(ProjectPrediction))
        result["expired_on_the_day"] = session.scalar(
            select(func.count()).select_from(ProjectPrediction)
            .where(ProjectPrediction.valid_until < day))
        changed, ms = _timed(lambda: predict.changed_projects(session, limit=args.batch))
        result["changed_pass"] = {"found": len(changed), "ms": ms}
        expired, ms = _timed(lambda: predict.expired_projects(session, today=day,
                                                              limit=args.batch))
        result["expired_range"] = {"found": len(expired), "ms": ms}
    totals, ms = _timed(lambda: predict.refresh_for(lambda: transaction(factory), now=now,
                                                    seconds=args.seconds, limit=args.batch))
    seconds = ms / 1000
    rate = totals["predicted"] / seconds if seconds else 0.0
    result["sweep_share"] = totals | {"seconds": round(seconds, 1),
                                      "projects_per_s": round(rate, 1)}
    wave = result["expired_on_the_day"] + result["changed_pass"]["found"]
    result["wave_minutes_at_this_rate"] = round(wave / rate / 60, 1) if rate else None
    engine.dispose()
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

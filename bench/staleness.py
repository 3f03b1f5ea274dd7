"""How many predictions a quiet day makes the sweep recompute (issue 13,
item 5): the old rule ("made before today ⇒ stale") against ``valid_until``.

``python -m bench.staleness sqlite:///tmp/bench-staleness.sqlite3 --projects 5000``
loads the synthetic zone (``bench.dataset``), predicts every open project on
the first day, then walks the next working days with no event at all and
counts, each day, the open projects either rule calls stale, recomputing
the new rule's. Figures in ``bench/README.md``."""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import dataset
from bench.database import fresh_database
from workflow import zone  # noqa: F401 - the areas' hooks
from workflow.core import predict
from workflow.core.predict import MILESTONES
from workflow.kernel import clock
from workflow.kernel.moments import ZONE_TZ
from workflow.models import AuditEvent, Project, ProjectPrediction


def date_milestones(engine, at: datetime) -> None:
    """The bulk load writes no audit events, so a project past a milestone
    has no date for it and the prediction takes it as reached today (which
    moves every day). The engine always records the day: give each reached
    milestone one event, as ``advance_project`` would have written."""
    with Session(engine) as session:
        rows = session.execute(select(Project.id, Project.stage)
                               .where(Project.stage.in_(MILESTONES + ("verified",)))).all()
        events = []
        for project_id, stage in rows:
            upto = len(MILESTONES) if stage == "verified" else MILESTONES.index(stage) + 1
            events += [dict(project_id=project_id, seq=n + 1, at=at + timedelta(days=n),
                            action="project.advance", to_state=m, data={}, public=False,
                            prev_hash="", hash="") for n, m in enumerate(MILESTONES[:upto])]
        if events:
            session.execute(AuditEvent.__table__.insert(), events)
        session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.staleness")
    parser.add_argument("url")
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--no-milestone-dates", action="store_true",
                        help="keep the bulk load's empty audit trails (milestones undated)")
    args = parser.parse_args(argv)
    now = datetime(2026, 3, 16, 18, tzinfo=ZONE_TZ)
    engine, version = fresh_database(args.url, now=now, force=True)
    dataset.load(engine, version, projects=args.projects, now=now, today=now.date(),
                 log=lambda *a: None)
    if not args.no_milestone_dates:
        date_milestones(engine, now - timedelta(days=90))
    with Session(engine) as session:
        t0 = time.perf_counter()
        first = predict.refresh(session, now=now, limit=10_000_000)
        session.commit()
        cost = (time.perf_counter() - t0) / max(first["predicted"], 1)
        predicted = session.scalar(select(func.count()).select_from(ProjectPrediction))
        print(f"projects {args.projects}, predicted {predicted}, {cost * 1000:.2f} ms each")
        day = now
        for _ in range(args.days):
            day = datetime.combine(clock.roll_forward(day.date() + timedelta(days=1)),
                                   day.timetz())
            old_rule = predicted  # every prediction was made before this day
            new_rule = len(predict.stale_projects(session, today=day.date(), limit=10_000_000))
            t0 = time.perf_counter()
            done = predict.refresh(session, now=day, limit=10_000_000)["predicted"]
            session.commit()
            print(f"{day.date()}: old rule {old_rule}, valid_until {new_rule} "
                  f"(recomputed {done} in {time.perf_counter() - t0:.1f} s)")
    engine.dispose()


if __name__ == "__main__":
    main()

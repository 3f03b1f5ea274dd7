"""The scheduler: APScheduler 3 running the deadline sweep, the outbox and the
daily digest.

In production it is one dedicated process (``daiban scheduler``, a
``BlockingScheduler``); it is never started inside web workers, where each
gunicorn worker would run every job once more. The single-process demo hosts
a ``BackgroundScheduler`` beside the development server. Two scheduler
processes by mistake would still not repeat a reminder (the reminder key) nor
a digest (``digest_run``) nor a message (the outbox claim) nor the recompute
after a holiday schedule is published (``calendar_schedule``); they only waste work.

Each job opens its own session, commits once and logs what it did. Timers
live in the database (due dates, reminders, outbox rows), never in the
scheduler: after a restart the first sweep catches up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from workflow import sweeps
from workflow.core import deadlines, notify
from workflow.core.operations import ZONE_TZ
from workflow.kernel import outbox
from workflow.kernel.config import Config
from workflow.kernel.db import transaction
from workflow.kernel.models import OUTBOX_CHANNELS

log = logging.getLogger("daiban.scheduler")

Clock = Callable[[], datetime]


def _system_now() -> datetime:
    return datetime.now(UTC)


def run_sweep(config: Config, factory: sessionmaker[Session], now: datetime) -> int:
    """One sweep in its own transaction, then the digest if it is due and not
    yet sent (so a scheduler that was down at digest time still sends it)."""
    recorded = sweeps.run_all(factory, now=now, config=config)
    for line in recorded:
        log.info("sweep: %s", line)
    log.info("sweep: recorded %d", len(recorded))
    run_digest(config, factory, now)
    return len(recorded)


def run_digest(config: Config, factory: sessionmaker[Session], now: datetime) -> int:
    with transaction(factory, info=notify.session_info(config.channels)) as session:
        sent = deadlines.send_digests(session, now=now, at_time=config.digest_time)
        bundled = notify.send_bundles(session, now=now, at_time=config.digest_time)
    if sent:
        log.info("digest: sent to %s", ", ".join(d.username for d in sent))
    if bundled:
        log.info("daily email bundle: written for %s", ", ".join(bundled))
    return len(sent)


def run_outbox(config: Config, factory: sessionmaker[Session], now: datetime,
               channels: tuple[str, ...] | None = None) -> int:
    """Deliver the due outbox rows of ``channels`` (default: every channel,
    each in its own thread)."""
    report = outbox.deliver_pending(factory, now=now, transports=outbox.transports_from_config(config),
                                    max_attempts=config.outbox_max_attempts, channels=channels)
    if report.sent or report.retrying or report.failed or report.in_doubt:
        log.info("outbox %s: sent %d, retrying %d, failed %d, in doubt %d",
                 "/".join(channels or OUTBOX_CHANNELS), len(report.sent), len(report.retrying),
                 len(report.failed), len(report.in_doubt))
    return len(report.sent)


def _channel_outbox(channel: str):
    def run(config: Config, factory: sessionmaker[Session], now: datetime) -> int:
        return run_outbox(config, factory, now, (channel,))
    return run


def _job(name: str, run, config: Config, factory: sessionmaker[Session], clock: Clock):
    def job() -> None:
        try:
            run(config, factory, clock())
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("%s job failed", name)
    job.__name__ = f"daiban_{name}"
    return job


def build_scheduler(config: Config, session_factory: sessionmaker[Session], *, background: bool,
                    clock: Clock = _system_now) -> BaseScheduler:
    """A scheduler with its jobs, not started: ``sweep`` every
    ``config.sweep_minutes`` (first run at start), ``outbox:email`` and
    ``outbox:webhook`` every ``config.outbox_seconds``, ``digest`` daily at ``config.digest_time``
    (Asia/Shanghai; the digest itself skips non-working days). Missed runs
    coalesce into one and never overlap."""
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler = kind(timezone=ZONE_TZ)
    once = {"coalesce": True, "max_instances": 1}
    start_now = datetime.now(ZONE_TZ)
    scheduler.add_job(_job("sweep", run_sweep, config, session_factory, clock),
                      IntervalTrigger(minutes=config.sweep_minutes, timezone=ZONE_TZ),
                      id="sweep", name="deadline sweep", next_run_time=start_now,
                      misfire_grace_time=config.sweep_minutes * 60, **once)
    # One delivery job per channel: a webhook gateway that hangs holds up its
    # own job only, never the email (each job runs at most once at a time).
    for channel in OUTBOX_CHANNELS:
        scheduler.add_job(_job(f"outbox_{channel}", _channel_outbox(channel), config,
                               session_factory, clock),
                          IntervalTrigger(seconds=config.outbox_seconds, timezone=ZONE_TZ),
                          id=f"outbox:{channel}", name=f"outbox delivery ({channel})",
                          next_run_time=start_now, misfire_grace_time=config.outbox_seconds,
                          **once)
    scheduler.add_job(_job("digest", run_digest, config, session_factory, clock),
                      CronTrigger(day_of_week="mon-sun", hour=config.digest_time.hour,
                                  minute=config.digest_time.minute, timezone=ZONE_TZ),
                      id="digest", name="daily digest", misfire_grace_time=3600, **once)
    return scheduler

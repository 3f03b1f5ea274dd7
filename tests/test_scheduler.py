"""The scheduler process: three jobs with the configured rhythm (never started
here), each a unit of work of its own."""

from __future__ import annotations

import shutil
from datetime import date, time, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow import sweeps
from workflow.core import operations as ops
from workflow.core import rollups
from workflow.kernel.config import Config
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import DigestRun, FigureOpen, Reminder
from workflow.scheduler import build_scheduler, run_sweep


def test_build_scheduler_registers_sweep_outbox_and_digest_as_configured():
    config = Config.from_env({"DAIBAN_SWEEP_MINUTES": "7", "DAIBAN_DIGEST_TIME": "09:15",
                              "DAIBAN_OUTBOX_SECONDS": "45"})
    scheduler = build_scheduler(config, make_session_factory(make_engine("sqlite://")),
                                background=False)
    assert isinstance(scheduler, BlockingScheduler) and not scheduler.running
    jobs = {job.id: job for job in scheduler.get_jobs()}
    # One delivery job per channel, so a stuck webhook never holds up email.
    assert set(jobs) == {"sweep", "outbox:email", "outbox:webhook", "digest"}
    assert isinstance(jobs["sweep"].trigger, IntervalTrigger)
    assert jobs["sweep"].trigger.interval == timedelta(minutes=7)
    assert jobs["outbox:email"].trigger.interval == timedelta(seconds=45)
    assert jobs["outbox:webhook"].trigger.interval == timedelta(seconds=45)
    digest = jobs["digest"].trigger
    assert isinstance(digest, CronTrigger) and str(digest.timezone) == "Asia/Shanghai"
    fields = {field.name: str(field) for field in digest.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon-sun", "9", "15")
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time


def test_the_demo_gets_a_background_scheduler_with_the_defaults():
    scheduler = build_scheduler(Config.from_env({}), make_session_factory(make_engine("sqlite://")),
                                background=True)
    assert isinstance(scheduler, BackgroundScheduler) and not scheduler.running
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs["sweep"].trigger.interval == timedelta(minutes=5)
    assert jobs["outbox:email"].trigger.interval == timedelta(seconds=30)
    assert {field.name: str(field) for field in jobs["digest"].trigger.fields}["hour"] == "8"


def test_the_sweep_job_commits_its_own_unit_of_work_and_the_missed_digest(tmp_path, sqlite_template):
    path = tmp_path / "sched.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        lead = f.user(session, "lead", "lead", groups=("equipment",))
        alice = f.user(session, "alice", "agent", groups=("equipment",))
        project = f.project(session, at("2026-03-02"), lead=lead)
        survey = f.task(project, "u01_survey").id
        for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
            step(session, survey, actor=alice, now=at("2026-03-02"))
    config = Config(digest_time=time(8, 30))
    # 03-18 at 10:00: the survey (with the department since 03-02, due 03-23) turns yellow
    # today; the digest (due 08:30) was missed. Survey: yellow. Filing (queued, its service
    # clock due 03-04): yellow, red, lead's 督办, supervisors.
    assert run_sweep(config, factory, at("2026-03-18", 10)) == 5
    assert run_sweep(config, factory, at("2026-03-18", 10)) == 0
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == 5
        assert {run.user_id for run in session.scalars(select(DigestRun))} == {lead.id, alice.id}
        # The sweep also counted the open items for the figures, as of its moment.
        state = rollups.as_of(session, rollups.OPEN_FIGURES)
        assert state.day == date(2026, 3, 18)
        open_items = session.execute(select(func.sum(FigureOpen.with_due), func.sum(FigureOpen.red))).one()
        assert tuple(map(int, open_items)) == (2, 1)  # survey (yellow) and filing (red)
    engine.dispose()


def test_the_sweep_job_brings_provisional_dates_to_a_newly_published_year_first(
        tmp_path, sqlite_template, monkeypatch):
    """The survey accepted 2027-01-25 is due 02-19 provisionally (补假 on 02-09
    and 02-10); a made-up notice giving 02-05..02-12 off and Saturday 02-20
    worked moves it to 02-22. The sweep of 02-19 recomputes first, so the
    survey is not red on 02-20 (Saturday, a working day now) but yellow."""
    import json

    from workflow.kernel import clock
    from workflow.models import CalendarSchedule, ItemTask, Notification

    folder = tmp_path / "holidays"
    folder.mkdir()
    monkeypatch.setenv(clock.HOLIDAYS_ENV, str(folder))
    clock.reset_cache()
    path = tmp_path / "sched.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            alice = f.user(session, "alice", "agent", groups=("equipment",))
            project = f.project(session, at("2027-01-25"))
            survey_id = f.task(project, "u01_survey").id
            ops.claim_task(session, survey_id, actor=alice, now=at("2027-01-25"))
        config = Config(digest_time=time(8, 30))
        run_sweep(config, factory, at("2027-01-25", 10))  # records the schedule in force
        days = [{"name": "春节", "date": f"2027-02-{d:02d}", "isOffDay": True} for d in range(5, 13)]
        days.append({"name": "春节", "date": "2027-02-20", "isOffDay": False})
        (folder / "2027.json").write_text(json.dumps({"year": 2027, "days": days}), encoding="utf-8")

        lines = sweeps.run_all(factory, now=at("2027-01-26", 10), config=config)
        code = project.code
        assert lines[:2] == [f"calendar {code} u01_survey due 2027-02-12 -> 2027-02-16 -> alice",
                             f"calendar {code} project_filing due 2027-01-27 unchanged"]
        assert not any(line.startswith("calendar") for line in lines[2:])
        again = sweeps.run_all(factory, now=at("2027-01-26", 11), config=config)
        assert not any(line.startswith("calendar") for line in again)
        # The survey's service clock (10 working days from 01-25) ends 02-16 under
        # the notice: on Mon 02-15 it is yellow, not red as its provisional 02-12
        # would have made it.
        late = sweeps.run_all(factory, now=at("2027-02-15", 10), config=config)
        assert any(line.startswith(f"yellow {code} u01_survey [service] due 2027-02-16 -> alice")
                   for line in late), late
        assert not any(line.startswith(f"red {code} u01_survey") for line in late)
        with factory() as session:
            survey = session.get(ItemTask, survey_id)
            assert (survey.due_on, survey.dates_provisional) == (date(2027, 2, 16), False)
            assert session.scalar(select(func.count(CalendarSchedule.id))) == 2
            assert session.scalar(select(func.count(Notification.id)).where(
                Notification.kind == "due_recomputed", Notification.user_id == alice.id)) == 1
    finally:
        engine.dispose()
        monkeypatch.delenv(clock.HOLIDAYS_ENV)
        clock.reset_cache()


@pytest.mark.parametrize("bad", ["-1", "3601", "abc", "1.5"])
def test_a_bad_prediction_budget_is_refused_at_start(bad):
    with pytest.raises(ValueError, match="DAIBAN_PREDICTION_SECONDS"):
        Config.from_env({"DAIBAN_PREDICTION_SECONDS": bad})


def test_the_sweep_predicts_for_at_most_half_its_interval():
    assert Config.from_env({}).prediction_budget == 120
    assert Config.from_env({"DAIBAN_SWEEP_MINUTES": "1"}).prediction_budget == 30
    assert Config.from_env({"DAIBAN_PREDICTION_SECONDS": "0"}).prediction_budget == 0

"""The ``daiban`` command as an operator uses it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, update

from tests import factories as f
from tests.factories import at
from web.cli import cli
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import DEFAULT_DIR
from workflow.models import AuditEvent, DefinitionVersion


@pytest.fixture
def runner():
    return CliRunner()


def test_calendar_due_counts_working_days_across_spring_festival(runner):
    result = runner.invoke(cli, ["calendar", "due", "2026-02-12", "5"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-02-26"


def test_calendar_due_with_calendar_days_rolls_off_a_holiday(runner):
    # 2026-09-24 + 7 calendar days = 1 October (国庆) → next working day 8 October.
    result = runner.invoke(cli, ["calendar", "due", "2026-09-24", "7", "--calendar-days"])
    assert result.output.strip() == "2026-10-08"


def test_calendar_due_in_an_unpublished_year_is_provisional(runner):
    result = runner.invoke(cli, ["calendar", "due", "2026-12-20", "20"])
    assert result.exit_code == 0 and "provisional" in result.output


def test_calendar_between(runner):
    result = runner.invoke(cli, ["calendar", "between", "2026-09-30", "2026-10-12"])
    assert result.output.strip() == "4"  # 1–7 Oct off: 8, 9, Sat 10 (make-up), 12
    result = runner.invoke(cli, ["calendar", "between", "2026-10-12", "2026-09-30"])
    assert result.output.strip() == "-4"


def test_calendar_refuses_bad_dates(runner):
    result = runner.invoke(cli, ["calendar", "due", "2026-02-30", "5"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
    result = runner.invoke(cli, ["calendar", "due", "2026-02-03", "-5"])
    assert result.exit_code != 0


def test_definitions_check_prints_a_summary(runner):
    result = runner.invoke(cli, ["definitions", "check", str(DEFAULT_DIR)])
    assert result.exit_code == 0, result.output
    assert "u01_survey" in result.output and "critical path" in result.output.lower()


def test_definitions_check_names_file_and_key_of_an_error(runner, tmp_path):
    broken = tmp_path / "zone"
    shutil.copytree(DEFAULT_DIR, broken)
    items = broken / "items.toml"
    items.write_text(items.read_text(encoding="utf-8").replace(
        'requires = ["u01_survey"]', 'requires = ["u99_missing"]', 1), encoding="utf-8")
    result = runner.invoke(cli, ["definitions", "check", str(broken)])
    assert result.exit_code == 1
    assert "items.toml" in result.output and "u99_missing" in result.output


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'ops.sqlite3'}"}


def test_init_then_audit_verify_then_tampering_is_reported(runner, tmp_path):
    env = sqlite_env(tmp_path)
    result = runner.invoke(cli, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "definition in force: zuoyun" in result.output
    again = runner.invoke(cli, ["init"], env=env)  # idempotent: migrates nothing new
    assert again.exit_code == 0, again.output

    engine = make_engine(env["DATABASE_URL"])
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        assert len(session.scalars(select(DefinitionVersion)).all()) == 1
        project = f.project(session, at("2026-03-02"))
        code = project.code

    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 0 and "intact" in result.output

    with transaction(factory) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(action="forged"))
    engine.dispose()
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert f"TAMPERED {code} event #2" in result.output


def test_init_refuses_a_broken_definition_and_changes_nothing(runner, tmp_path):
    broken = tmp_path / "zone"
    shutil.copytree(DEFAULT_DIR, broken)
    (broken / "items.toml").write_text("[[items]]\ncode = 'x'\n", encoding="utf-8")
    env = sqlite_env(tmp_path)
    result = runner.invoke(cli, ["init", "--definitions", str(broken)], env=env)
    assert result.exit_code != 0 and "invalid definition" in result.output
    assert not (tmp_path / "ops.sqlite3").exists()


# -- daiban sweep -------------------------------------------------------------------------

def test_sweep_prints_one_line_per_reminder_then_the_count_and_never_repeats(runner, tmp_path):
    from workflow.core import operations as ops

    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    with transaction(make_session_factory(engine)) as session:
        lead = f.user(session, "lead_cli", "lead", groups=("equipment",))
        alice = f.user(session, "alice_cli", "agent", groups=("equipment",))
        project = f.project(session, at("2026-03-02"), lead=lead)
        survey = f.task(project, "u01_survey").id
        for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
            step(session, survey, actor=alice, now=at("2026-03-02"))
        code = project.code
    engine.dispose()

    # A naive time is the zone's (Asia/Shanghai). The survey, accepted (受理) on 03-02, is
    # due 03-23 on its statutory clock (alice's); the filing, due 03-04 on its service
    # clock, is still in the group queue. Nothing ran before: all catch-up.
    result = runner.invoke(cli, ["sweep", "--now", "2026-03-27T09:00"], env=env)
    assert result.exit_code == 0, result.output
    survey, filing = f"{code} u01_survey [statutory]", f"{code} project_filing [service]"
    # Catch-up tells the current state once: per task, each person hears only of the
    # most advanced level; the earlier levels are recorded and tell nobody.
    assert result.output.splitlines() == [
        f"yellow {survey} due 2026-03-23 -> nobody (catch-up: due since 2026-03-18)",
        f"red {survey} due 2026-03-23 -> nobody (catch-up: due since 2026-03-24)",
        f"escalate_lead {survey} due 2026-03-23 -> alice_cli, lead_cli"
        " (catch-up: due since 2026-03-26)",
        f"yellow {filing} due 2026-03-04 -> nobody (catch-up: due since 2026-03-02)",
        f"red {filing} due 2026-03-04 -> nobody (catch-up: due since 2026-03-05)",
        f"escalate_lead {filing} due 2026-03-04 -> alice_cli (catch-up: due since 2026-03-09)",
        f"escalate_supervisor {filing} due 2026-03-04 -> lead_cli"
        " (catch-up: due since 2026-03-13)",
        "recorded 7",
    ]
    again = runner.invoke(cli, ["sweep", "--now", "2026-03-27T09:05+08:00"], env=env)
    assert again.exit_code == 0 and again.output == "recorded 0\n"


def test_sweep_refuses_a_malformed_time(runner, tmp_path):
    result = runner.invoke(cli, ["sweep", "--now", "next tuesday"], env=sqlite_env(tmp_path))
    assert result.exit_code != 0 and "ISO date-time" in result.output


def test_rollups_refresh_counts_the_open_items_and_rebuild_recounts_the_done_ones(runner, tmp_path):
    from workflow.core import operations as ops
    from workflow.models import FigureClosedTotal, FigureOpen

    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    with transaction(make_session_factory(engine)) as session:
        alice = f.user(session, "alice_cli", "agent", groups=("equipment",))
        project = f.project(session, at("2026-03-02"))
        filing = f.task(project, "project_filing")
        for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.approve_task,
                     ops.complete_task):
            step(session, filing.id, actor=alice, now=at("2026-03-04"))
        counted = session.scalar(select(FigureClosedTotal.closed))
        session.execute(delete(FigureClosedTotal))  # as after a bulk load around the engine
    result = runner.invoke(cli, ["rollups", "refresh", "--rebuild"], env=env)
    assert result.exit_code == 0, result.output
    assert "done items recounted: 1" in result.output and "open_figures:" in result.output
    with make_session_factory(engine)() as session:
        assert counted == 1 and session.scalar(select(FigureClosedTotal.closed)) == 1
        assert session.scalar(select(func.count()).select_from(FigureOpen)) > 0
    engine.dispose()


def test_init_counts_the_done_items_once_on_a_database_that_has_no_count_yet(runner, tmp_path):
    from workflow.core import operations as ops
    from workflow.core import rollups
    from workflow.models import FigureClosedTotal, RollupState

    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        alice = f.user(session, "alice_init", "agent", groups=("equipment",))
        project = f.project(session, at("2026-03-02"))
        filing = f.task(project, "project_filing")
        for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.approve_task,
                     ops.complete_task):
            step(session, filing.id, actor=alice, now=at("2026-03-04"))
        # As on a database upgraded with done tasks and no count of them yet.
        session.execute(delete(FigureClosedTotal))
        session.execute(delete(RollupState).where(RollupState.name == rollups.CLOSED_REBUILT))
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    with factory() as session:
        assert session.scalar(select(FigureClosedTotal.closed)) == 1
        assert rollups.as_of(session, rollups.CLOSED_REBUILT).refreshed_at is not None
    # Counted once: a later init leaves the rollups to the engine.
    with transaction(factory) as session:
        session.execute(delete(FigureClosedTotal))
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(FigureClosedTotal)) == 0
    engine.dispose()


def test_files_check_reports_orphan_and_missing_files(runner, tmp_path, monkeypatch, sqlite_template):
    """Issue 10, finding 2: ``daiban files check`` compares the upload folder
    with the attachment rows."""
    from workflow.core import operations as ops

    path = tmp_path / "files.sqlite3"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("DAIBAN_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test")
    folder = tmp_path / "instance" / "uploads"
    folder.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{path}")
    with transaction(make_session_factory(engine)) as session:
        lead = f.user(session, "lead", "lead")
        project = f.project(session, at("2026-03-02"), code="P-FILES-1", lead=lead)
        for name in ("kept", "gone"):
            ops.record_attachment(session, project.id, actor=lead, now=at("2026-03-02"),
                                  original_name=f"{name}.pdf", storage_name=name,
                                  content_type="application/pdf", size=1, sha256="0" * 64)
    engine.dispose()
    (folder / "kept").write_bytes(b"%PDF")
    result = runner.invoke(cli, ["files", "check"])
    assert result.exit_code == 1
    assert "missing: attachment" in result.output and "P-FILES-1" in result.output
    assert "gone" in result.output and "orphan" not in result.output.split("\n")[0]
    (folder / "stray.part").write_bytes(b"x")
    (folder / "gone").write_bytes(b"%PDF")
    result = runner.invoke(cli, ["files", "check"])
    assert result.exit_code == 1 and "orphan: " in result.output and "stray.part" in result.output
    (folder / "stray.part").unlink()
    result = runner.invoke(cli, ["files", "check"])
    assert result.exit_code == 0, result.output
    assert "2 attachment(s), 2 file(s): 0 orphan(s), 0 missing" in result.output


# -- daiban calendar: the supported range, status and recompute -----------------------------

@pytest.mark.parametrize("args", [
    ["calendar", "due", "1999-05-04", "5"],  # before the first year with a calendar
    ["calendar", "due", "2026-03-02", "100000000"],  # runs past 2099
    ["calendar", "due", "2026-03-02", "99999999999999", "--calendar-days"],  # past year 9999
    ["calendar", "due", "9999-12-31", "1"],
    ["calendar", "between", "2003-06-01", "2026-03-02"],
])
def test_calendar_outside_the_supported_range_is_a_usage_error_naming_it(runner, args):
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "supported range" in result.output and "2004-01-01 to 2099-12-31" in result.output
    assert isinstance(result.exception, SystemExit)  # click's usage exit, no traceback


def test_calendar_due_counts_2027_with_its_bujia(runner):
    """20 working days from Thu 2027-01-28 (hand count in test_clock): 03-03."""
    result = runner.invoke(cli, ["calendar", "due", "2027-01-28", "20"])
    assert result.exit_code == 0 and result.output.startswith("2027-03-03 (provisional")


@pytest.fixture
def holiday_dir(tmp_path, monkeypatch):
    from workflow.kernel import clock

    folder = tmp_path / "holidays"
    folder.mkdir()
    monkeypatch.setenv(clock.HOLIDAYS_ENV, str(folder))
    clock.reset_cache()
    yield folder
    monkeypatch.delenv(clock.HOLIDAYS_ENV)
    clock.reset_cache()


def test_calendar_recompute_then_status_after_a_notice_arrives(runner, tmp_path, holiday_dir):
    import json

    from workflow.core import operations as ops

    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    with transaction(make_session_factory(engine)) as session:
        alice = f.user(session, "alice_cal", "agent", groups=("equipment",))
        project = f.project(session, at("2027-01-25"))
        ops.claim_task(session, f.task(project, "u01_survey").id, actor=alice, now=at("2027-01-25"))
        code = project.code
    engine.dispose()

    status = runner.invoke(cli, ["calendar", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "published years: 2004–2026" in status.output
    assert "provisional years: 2027–2099" in status.output and "补假" in status.output
    assert "no schedule recorded yet" in status.output
    assert "open tasks with provisional dates: 2" in status.output

    # The 2027 notice (made up): 春节 02-05..02-12 off, Saturday 02-20 worked.
    days = [{"name": "春节", "date": f"2027-02-{d:02d}", "isOffDay": True} for d in range(5, 13)]
    days.append({"name": "春节", "date": "2027-02-20", "isOffDay": False})
    (holiday_dir / "2027.json").write_text(json.dumps({"year": 2027, "days": days}), encoding="utf-8")
    result = runner.invoke(cli, ["calendar", "recompute", "--now", "2027-01-26T09:00"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"calendar {code} u01_survey due 2027-02-12 -> 2027-02-16 -> alice_cal",
        f"calendar {code} project_filing due 2027-01-27 unchanged",
        result.output.splitlines()[2],
        "recomputed 2 of 2 task(s) with provisional dates; 1 due date(s) moved",
    ]
    assert "published years 2004–2027 (newly recorded)" in result.output.splitlines()[2]
    again = runner.invoke(cli, ["calendar", "recompute"], env=env)
    assert again.exit_code == 0
    assert again.output.splitlines()[-1] == "recomputed 0 of 0 task(s) with provisional dates; " \
                                            "0 due date(s) moved"
    status = runner.invoke(cli, ["calendar", "status"], env=env)
    assert "published years: 2004–2027" in status.output and "2027.json" in status.output
    assert "(current), recorded 2027-01-26 01:00 UTC by cli, 2 of 2 task(s) changed" in status.output
    assert "open tasks with provisional dates: 0" in status.output


def test_sweep_refuses_a_moment_in_the_future(runner, tmp_path):
    """A sweep as of a later moment would date in-app notices in the future and
    hold their mail until then: refused, nothing recorded; the present (within
    the allowed skew) and the past are fine."""
    from datetime import timedelta

    env = sqlite_env(tmp_path)
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    result = runner.invoke(cli, ["sweep", "--now", later], env=env)
    assert result.exit_code == 2 and "future" in result.output, result.output
    nearly = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    assert runner.invoke(cli, ["sweep", "--now", nearly], env=env).exit_code == 0
    assert runner.invoke(cli, ["sweep", "--now", "2026-03-27T09:00"], env=env).exit_code == 0

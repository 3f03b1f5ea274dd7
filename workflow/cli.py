"""Engine commands of the ``daiban`` CLI (the web commands join in ``web.cli``).

Each command opens its own session and commits once; errors print one clear
line on stderr and exit non-zero.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.core.predict import DEFAULT_MIN_HISTORY
from workflow.kernel.errors import WorkflowError
from workflow.kernel.zone_audit import VIA


def _parse_date(value: str, argument: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{argument} must be a date as YYYY-MM-DD, not {value!r}.") from None


def _provisional(flag: bool) -> str:
    return " (provisional: that year's holiday schedule is not published yet)" if flag else ""


@click.group()
def cli() -> None:
    """Daiban (代办): the approval workflow of the zone's investment projects."""


@cli.command("init")
@click.option("--definitions", "definitions_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Definition directory (default: the shipped zuoyun definition).")
def init_command(definitions_dir: Path | None) -> None:
    """Create or migrate the database named by DATABASE_URL and load the definitions."""
    from workflow.setup import initialise

    try:
        url, version = initialise(definitions_dir, now=datetime.now(UTC))
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"database ready: {url}")
    click.echo(f"definition in force: {version.zone} version {version.version}")


@cli.group("definitions")
def definitions_group() -> None:
    """Zone definitions: validate and summarise."""


@definitions_group.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def definitions_check(directory: Path) -> None:
    """Validate DIRECTORY and print a readable summary."""
    from definitions import DefinitionError, load_definition, summary

    try:
        definition = load_definition(directory)
    except DefinitionError as exc:
        click.echo(f"invalid definition: {exc}", err=True)
        sys.exit(1)
    click.echo(summary(definition))


@cli.group("calendar")
def calendar_group() -> None:
    """The statutory clock: Chinese working days with holidays and 调休."""


def _in_range(compute):
    """Run a clock computation; a date outside the calendar's years is a usage
    error (exit 2) naming the supported range, not a traceback."""
    from workflow.kernel import clock

    try:
        return compute()
    except clock.CalendarRangeError as exc:
        raise click.UsageError(f"{exc}.") from None


@calendar_group.command("due")
@click.argument("start")
@click.argument("days", type=int)
@click.option("--calendar-days", is_flag=True, help="The limit counts calendar days, not working days.")
def calendar_due(start: str, days: int, calendar_days: bool) -> None:
    """Print the due date of a DAYS limit accepted on START (which does not count)."""
    from workflow.kernel import clock

    if days < 0:
        raise click.BadParameter("the limit must be zero or more days")
    begin = _parse_date(start, "START")
    due = _in_range(lambda: clock.due_date(begin, days, calendar_days=calendar_days))
    click.echo(f"{due.date.isoformat()}{_provisional(due.provisional)}")


@calendar_group.command("between")
@click.argument("first")
@click.argument("second")
def calendar_between(first: str, second: str) -> None:
    """Print the working days after FIRST up to and including SECOND."""
    from workflow.kernel import clock

    a, b = _parse_date(first, "A"), _parse_date(second, "B")
    count = _in_range(lambda: clock.working_days_between(a, b))
    click.echo(f"{count.days}{_provisional(count.provisional)}")


@calendar_group.command("status")
def calendar_status() -> None:
    """Print the holiday schedule in force (published and provisional years),
    the one the stored dates were last brought up to, and how many open tasks
    still have provisional dates."""
    from workflow.core import calendar_refresh
    from workflow.kernel.db import make_engine, make_session_factory
    from workflow.kernel.moments import aware, utc

    engine = make_engine()
    try:
        with make_session_factory(engine)() as session:
            found = calendar_refresh.status(session)
    finally:
        engine.dispose()
    for line in found.source.describe():
        click.echo(line)
    latest = found.latest
    if latest is None:
        click.echo("stored dates: no schedule recorded yet (the next sweep or "
                   "`daiban calendar recompute` records it)")
    else:
        state = "current" if found.current else "OUT OF DATE"
        recorded = utc(aware(latest.recorded_at))
        click.echo(f"stored dates: schedule {latest.fingerprint[:16]} ({state}), recorded "
                   f"{recorded:%Y-%m-%d %H:%M} UTC by {latest.via}, "
                   f"{latest.tasks_changed} of {latest.tasks_checked} task(s) changed")
    click.echo(f"open tasks with provisional dates: {found.provisional_tasks}")


@calendar_group.command("recompute")
@click.option("--now", "now_text", default=None, metavar="ISO-DATETIME",
              help="Record the change as of this moment (default: now).")
def calendar_recompute(now_text: str | None) -> None:
    """Re-derive every open task whose dates were provisional with the holiday
    schedule in force (after a holiday file or a newer chinesecalendar): one
    line per changed task (its project's audit chain records it; a moved due
    date is notified), then `recomputed N`. Running it again changes nothing."""
    from workflow.core import calendar_refresh
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    now = _parse_now(now_text)
    config = _config()
    engine = make_engine()
    try:
        info = {**_CLI, **_channels(config)}
        with transaction(make_session_factory(engine), info=info) as session:
            outcome = calendar_refresh.recompute(session, now=now, via="cli")
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()
    for change in outcome.changes:
        click.echo(change.line())
    from workflow.kernel.clock import year_ranges

    click.echo(f"schedule {outcome.source.fingerprint[:16]} in force, published years "
               f"{year_ranges(outcome.source.published_years)}"
               f"{' (newly recorded)' if outcome.recorded else ''}")
    click.echo(f"recomputed {len(outcome.changes)} of {outcome.checked} task(s) with provisional "
               f"dates; {outcome.moved} due date(s) moved")


@cli.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@click.option("--project", "projects", multiple=True, help="Only this project code (repeatable).")
def audit_verify(projects: tuple[str, ...]) -> None:
    """Report every edited or deleted audit event; exit 1 if any."""
    from workflow.core import audit
    from workflow.kernel import zone_audit
    from workflow.kernel.db import make_engine, make_session_factory

    engine = make_engine()
    with make_session_factory(engine)() as session:
        findings: list = list(audit.verify(session, projects or None))
        checked = session.scalar(_count_projects(projects))
        zone_findings, changes = ([], 0) if projects else zone_audit.verify(session)
    engine.dispose()
    findings.extend(zone_findings)
    for finding in findings:
        click.echo(f"TAMPERED {finding}")
    if findings:
        click.echo(f"{len(findings)} problem(s) found in the audit log", err=True)
        sys.exit(1)
    zone_part = "" if projects else f", {changes} zone change(s) verified"
    click.echo(f"audit log intact: {checked} project chain(s) verified{zone_part}")


# Changes made through the CLI are recorded as such in the zone's change log.
_CLI = {VIA: "cli"}


def _count_projects(codes: tuple[str, ...]):
    from sqlalchemy import func, select

    from workflow.models import Project

    query = select(func.count(Project.id))
    return query.where(Project.code.in_(codes)) if codes else query


def _parse_now(value: str | None) -> datetime:
    """``--now``: an ISO date-time; without an offset it is the zone's time (Asia/Shanghai)."""
    from workflow.core.operations import ZONE_TZ

    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"--now must be an ISO date-time such as 2026-03-02T09:00, "
                                 f"not {value!r}.") from None
    return moment.replace(tzinfo=ZONE_TZ) if moment.tzinfo is None else moment


def _channels(config) -> dict:
    from workflow.core import notify

    return notify.session_info(config.channels)


def _config():
    from workflow.kernel.config import Config

    try:
        return Config.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("sweep")
@click.option("--now", "now_text", default=None, metavar="ISO-DATETIME",
              help="Sweep as of this moment (default: now; no offset means Asia/Shanghai); "
                   "never later than the present (a sweep records what is due by then).")
def sweep_command(now_text: str | None) -> None:
    """Run one deadline sweep: print each reminder or escalation recorded, then `recorded N`."""
    from workflow import sweeps
    from workflow.kernel.db import make_engine, make_session_factory

    now = _parse_now(now_text)
    try:
        sweeps.check_now(now, real=datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    config = _config()
    engine = make_engine()
    try:
        recorded = sweeps.run_all(make_session_factory(engine), now=now, config=config)
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()
    for line in recorded:
        click.echo(line)
    click.echo(f"recorded {len(recorded)}")


@cli.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process (sweep, outbox, digest) until stopped. Run exactly one."""
    import logging

    from workflow.kernel.db import make_engine, make_session_factory
    from workflow.scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = _config()
    engine = make_engine()
    scheduler = build_scheduler(config, make_session_factory(engine), background=False)
    click.echo(f"daiban scheduler: sweep every {config.sweep_minutes} min, outbox every "
               f"{config.outbox_seconds} s, digest at {config.digest_time:%H:%M} (Asia/Shanghai); "
               f"email {'on' if config.channels.email else 'off'}, "
               f"webhook {'on' if config.channels.webhook else 'off'}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.dispose()


@cli.group("rollups")
def rollups_group() -> None:
    """The figures' rollups (the scheduler refreshes them with every sweep)."""


@rollups_group.command("refresh")
@click.option("--rebuild", is_flag=True,
              help="Also recount the done items from every task (after a bulk load).")
def rollups_refresh(rebuild: bool) -> None:
    """Recompute the open-item figures and the pipeline now (and with --rebuild
    the done-item sums); print how many rows each rollup holds."""
    from workflow.core import rollups
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    engine = make_engine()
    try:
        with transaction(make_session_factory(engine), info=_CLI) as session:
            if rebuild:
                click.echo(f"done items recounted: {rollups.rebuild_closed(session)}")
            for name, rows in rollups.refresh(session, now=datetime.now(UTC)).items():
                click.echo(f"{name}: {rows} rows")
    finally:
        engine.dispose()


@cli.group("forecast")
def forecast_group() -> None:
    """Predicted dates of items and milestones (the scheduler refreshes them with every sweep)."""


@forecast_group.command("refresh")
@click.option("--all", "everything", is_flag=True,
              help="Recompute every open project, not only the stale ones.")
@click.option("--rebuild-history", is_flag=True,
              help="First recount the handling-time history from the closed tasks.")
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Projects per transaction.")
@click.option("--now", "now_text", default=None, metavar="ISO-DATETIME",
              help="Predict as of this moment (default: now; no offset means Asia/Shanghai).")
def forecast_refresh(everything: bool, rebuild_history: bool, batch: int,
                     now_text: str | None) -> None:
    """Recompute the stale predictions (all with --all) in batches; print the counts."""
    from sqlalchemy import select

    from workflow.core import predict
    from workflow.kernel.db import make_engine, make_session_factory, transaction
    from workflow.models import Project

    now = _parse_now(now_text)
    engine = make_engine()
    factory = make_session_factory(engine)
    total = dropped = 0
    try:
        if rebuild_history:
            with transaction(factory, info=_CLI) as session:
                click.echo(f"history recounted: {predict.rebuild_history(session)} task(s)")
        if everything:
            with transaction(factory, info=_CLI) as session:
                ids = list(session.scalars(select(Project.id).where(
                    Project.stage.notin_(predict.FINISHED_STAGES)).order_by(Project.id)))
            for start in range(0, len(ids), batch):
                with transaction(factory, info=_CLI) as session:
                    total += predict.refresh_projects(session, ids[start:start + batch], now=now)
        counts = predict.refresh_for(lambda: transaction(factory, info=_CLI), now=now,
                                     seconds=float("inf"), limit=batch)
        total, dropped = total + counts["predicted"], counts["dropped"]
    finally:
        engine.dispose()
    click.echo(f"predicted: {total} project(s); dropped: {dropped}")


@forecast_group.command("backtest")
@click.option("--synthetic", "synthetic_n", default=0, type=click.IntRange(0, 1_000_000),
              help="Replay a synthetic history of N projects (bench/forecast.py; run from the "
                   "repository) instead of the database's.")
@click.option("--seed", default=13, show_default=True, type=int, help="The synthetic history's seed.")
@click.option("--min-history", default=DEFAULT_MIN_HISTORY, show_default=True,
              type=click.IntRange(1, 1000),
              help="Closed tasks an item needs before its median replaces the limit.")
def forecast_backtest(synthetic_n: int, seed: int, min_history: int) -> None:
    """Replay closed history, predicting at each item's release with only what
    was known then; print the mean absolute error in working days per item and
    per milestone, against the naive plan (every item at its legal limit)."""
    from workflow.core import backtest

    if synthetic_n:
        try:
            from bench.forecast import synthetic
        except ImportError as exc:
            raise click.ClickException("--synthetic needs the repository's bench/ package: run "
                                       "the command from the repository's root.") from exc
        result = backtest.run(synthetic(synthetic_n, seed=seed), min_history=min_history)
        source = f"synthetic history of {synthetic_n} project(s), seed {seed}"
    else:
        from workflow.kernel.db import make_engine, make_session_factory

        engine = make_engine()
        try:
            with make_session_factory(engine)() as session:
                result = backtest.run(list(backtest.from_database(session, release=True)),
                                      min_history=min_history)
        finally:
            engine.dispose()
        source = "the database's closed items"
    click.echo(f"backtest over {source} (history median from {min_history} closed task(s))")
    for line in result.lines():
        click.echo(line)


def main() -> None:  # pragma: no cover - console entry point
    cli()


# -- API tokens (daiban token create / revoke) ------------------------------------------


@cli.group("token")
def token_group() -> None:
    """Bearer tokens for the JSON API (/api/v1)."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (e.g. the script using it).")
def token_create(username: str, name: str) -> None:
    """Issue a token for USERNAME and print it once (only its SHA-256 is kept)."""
    from workflow.accounts import tokens
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    engine = make_engine()
    try:
        with transaction(make_session_factory(engine), info=_CLI) as session:
            row, token = tokens.issue_token_for(session, username, name=name,
                                                now=datetime.now(UTC))
            token_id = row.id
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()
    click.echo(f"API token #{token_id} for {username}; it is shown only now:", err=True)
    click.echo(token)


@token_group.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke API token ID: requests bearing it are refused from now on."""
    from workflow.accounts import tokens
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    engine = make_engine()
    try:
        with transaction(make_session_factory(engine), info=_CLI) as session:
            _row, revoked = tokens.revoke_token(session, token_id, now=datetime.now(UTC))
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()
    click.echo(f"API token #{token_id} {'revoked' if revoked else 'was already revoked'}")


# -- accounts (daiban user …) ------------------------------------------------------------------


@cli.group("user")
def user_group() -> None:
    """Accounts, from the server's console."""


@user_group.command("reset-factor")
@click.argument("username")
def user_reset_factor(username: str) -> None:
    """Remove USERNAME's authenticator and recovery codes (the last admin lost
    both): their sessions end and they enrol again at their next login. Written
    to the zone's change log and the security log."""
    from sqlalchemy import select

    from workflow.accounts import twofactor
    from workflow.kernel.db import make_engine, make_session_factory, transaction
    from workflow.kernel.models import User

    engine = make_engine()
    try:
        with transaction(make_session_factory(engine), info=_CLI) as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
            if user_id is None:
                raise click.ClickException(f"There is no user '{username}'.")
            twofactor.reset_factor(session, user_id, actor=None, now=datetime.now(UTC))
    except WorkflowError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()
    click.echo(f"{username}'s second factor was reset; they enrol again at their next login")

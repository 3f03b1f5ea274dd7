"""The ``daiban`` console command: the engine's commands plus serving the app."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from workflow.cli import cli


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host: str, port: int) -> None:
    """Start the web app (development server; see the README for production)."""
    from web import create_app

    create_app().run(host=host, port=port, debug=False, use_reloader=False)


@cli.command("demo")
@click.option("--seed-only", is_flag=True, help="Add the demo data and stop.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(seed_only: bool, host: str, port: int) -> None:
    """Create the database, add the demo data (once) and start the app."""
    from demo.seed import DEMO_PASSWORD, seed_demo
    from workflow.setup import initialise

    now = datetime.now(UTC)
    url, _ = initialise(None, now=now)
    created = seed_demo(now=now)
    click.echo(f"database: {url}")
    click.echo("demo data added" if created else "demo data already present")
    click.echo(f"demo accounts (password for all: {DEMO_PASSWORD}): admin, supervisor, "
               "lead01–lead06, agent01–agent21, ent01–ent12")
    if seed_only:
        return
    from web import create_app

    os.environ.setdefault("DAIBAN_DEMO", "1")
    app = create_app({"DEMO": True})
    # The single-process demo hosts the scheduler (sweep, outbox, digest) itself;
    # production runs it as its own `daiban scheduler` process instead.
    scheduler = _start_demo_scheduler(app)
    click.echo(f"open http://{host}:{port}/")
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)


def _start_demo_scheduler(app):
    from workflow.core import notify
    from workflow.kernel.config import Config
    from workflow.scheduler import build_scheduler

    config = Config.from_env()
    sessions = app.extensions["daiban_sessions"]
    sessions.configure(info=notify.session_info(config.channels))  # requests queue mail too
    scheduler = build_scheduler(config, sessions, background=True)
    scheduler.start()
    return scheduler


def main() -> None:  # pragma: no cover - console entry point
    cli()

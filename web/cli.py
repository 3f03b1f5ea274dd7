"""The ``daiban`` console command: the engine's commands plus serving the app."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

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
    from web import create_app
    from workflow.setup import initialise

    now = datetime.now(UTC)
    url, _ = initialise(None, now=now)
    if not seed_only:
        os.environ.setdefault("DAIBAN_DEMO", "1")
    app = create_app({"DEMO": True})
    # The files on the demo's tasks go where the app keeps uploads.
    created = seed_demo(now=now, uploads=Path(app.config["UPLOAD_FOLDER"]))
    click.echo(f"database: {url}")
    click.echo("demo data added" if created else "demo data already present")
    click.echo(f"demo accounts (password for all: {DEMO_PASSWORD}): admin, supervisor, finance, "
               "lead01–lead06, agent01–agent21, ent01–ent12")
    if seed_only:
        app.extensions["daiban_engine"].dispose()
        return
    # The single-process demo hosts the scheduler (sweep, outbox, digest) itself;
    # production runs it as its own `daiban scheduler` process instead.
    scheduler = _start_demo_scheduler(app)
    click.echo(f"open http://{host}:{port}/")
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)


@cli.group("files")
def files_group() -> None:
    """Uploaded files: the upload folder against the attachment rows."""


@files_group.command("check")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The upload folder (default: the app's UPLOAD_FOLDER).")
def files_check(folder: Path | None) -> None:
    """Report orphan files (in the folder, no attachment row: a crash between
    the upload and its commit) and missing files (a row whose file is gone);
    exit 1 if there is either."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from web import create_app
    from workflow.models import Attachment, Project

    app = create_app()
    folder = folder or Path(app.config["UPLOAD_FOLDER"])
    engine = app.extensions["daiban_engine"]
    try:
        with Session(engine) as session:
            rows = {name: (file_id, code) for file_id, name, code in session.execute(
                select(Attachment.id, Attachment.storage_name, Project.code)
                .join(Project, Project.id == Attachment.project_id))}
    finally:
        engine.dispose()
    on_disk = {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    orphans, missing = sorted(on_disk - rows.keys()), sorted(rows.keys() - on_disk)
    for name in orphans:
        click.echo(f"orphan: {folder / name} (no attachment row)")
    for name in missing:
        file_id, code = rows[name]
        click.echo(f"missing: attachment {file_id} of project {code}: {folder / name}")
    click.echo(f"{len(rows)} attachment(s), {len(on_disk)} file(s): "
               f"{len(orphans)} orphan(s), {len(missing)} missing")
    if orphans or missing:
        sys.exit(1)


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

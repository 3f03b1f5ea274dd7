"""Bring a database to a working state: schema migrated, definitions loaded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from definitions import DefinitionError, load_definition
from workflow import migrate
from workflow.kernel import zone_audit
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.errors import ValidationError
from workflow.kernel.registry import DEFAULT_DIR, install_definition
from workflow.models import DefinitionVersion


def initialise(definitions_dir: Path | None, *, now: datetime, url: str | None = None
               ) -> tuple[str, DefinitionVersion]:
    """Migrate the database at ``url`` (default: DATABASE_URL or the instance
    SQLite file) and install the definition found in ``definitions_dir``."""
    try:
        definition = load_definition(Path(definitions_dir or DEFAULT_DIR))
    except DefinitionError as exc:
        raise ValidationError("invalid definition: {problem}", problem=str(exc)) from exc
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with transaction(make_session_factory(engine), info={zone_audit.VIA: "cli"}) as session:
            version = install_definition(session, definition, now=now)
            # The chemical-entry tables: provincial rules and the marked examples,
            # only while the tables are empty (chemicals area).
            from workflow.reforms.chemicals import install_shipped
            install_shipped(session)
            _count_done_items(session, now)
        return engine.url.render_as_string(hide_password=True), version
    finally:
        engine.dispose()


def _count_done_items(session, now: datetime) -> None:
    """Count the done items into their rollups once, on the first ``init``
    after the rollups arrived (their tasks were closed before, or the rows
    were loaded around the engine); the engine counts every later one."""
    from workflow.core import rollups

    if rollups.as_of(session, rollups.CLOSED_REBUILT).refreshed_at is None:
        rollups.rebuild_closed(session, now=now)

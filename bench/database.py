"""The benchmark database: resolved, wiped, migrated and given the definition.

The default is a PostgreSQL database ``daiban_bench`` on 127.0.0.1 (created
when missing). Because the schema is dropped on every run, a database whose
name does not say "bench" is refused unless the caller passes ``force``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from workflow import migrate
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import install_from_dir
from workflow.models import DefinitionVersion

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/daiban_bench"


class RefusedDatabase(Exception):
    """The named database does not look like a throw-away benchmark database."""


def normalise_url(url: str | None) -> str:
    url = url or DEFAULT_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _check_throwaway(name: str, force: bool) -> None:
    if not force and "bench" not in name.lower():
        raise RefusedDatabase(
            f"the benchmark wipes its database, and {name!r} does not look like a benchmark "
            "database (its name has no 'bench'); pass --force to wipe it anyway")


def _create_pg_database(url: str) -> None:
    target = make_url(url)
    admin = make_engine(target.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": target.database})
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()


def fresh_database(url: str, *, now: datetime, force: bool = False) -> tuple[Engine, DefinitionVersion]:
    """An engine on an empty, freshly migrated database with the shipped
    definition installed (the same steps as ``daiban init``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:":
            raise RefusedDatabase("SQLite needs a file path: sqlite:///path/to/bench.sqlite3")
        _check_throwaway(path.name, force)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(url)
    elif parsed.get_backend_name() == "postgresql":
        _check_throwaway(parsed.database or "", force)
        _create_pg_database(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        raise RefusedDatabase(f"unsupported database {parsed.get_backend_name()!r}")
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        version = install_from_dir(session, None, now=now)
    return engine, version


def describe(engine: Engine) -> dict:
    kind = engine.dialect.name
    info = {"kind": kind, "url": engine.url.render_as_string(hide_password=True)}
    with engine.connect() as conn:
        if kind == "postgresql":
            info["server_version"] = conn.exec_driver_sql("SHOW server_version").scalar()
            settings = conn.exec_driver_sql(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'synchronous_commit', 'fsync', 'jit')").all()
            info["settings"] = dict(settings)
        else:
            info["server_version"] = conn.exec_driver_sql("SELECT sqlite_version()").scalar()
    return info

"""Shared fixtures: databases (SQLite and PostgreSQL), sessions, the clock.

Every engine test that takes ``session`` runs twice: on a fresh SQLite file
(copied from a migrated template) and on the machine's PostgreSQL inside a
transaction that rolls back. PostgreSQL is required under CI (``CI=true``);
elsewhere its tests are skipped when no server answers.
"""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import at
from workflow import (
    migrate,
    zone,  # noqa: F401 - plugs the reform areas into the core
)
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import install_from_dir

PG_ADMIN_URL = os.environ.get("DAIBAN_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One database per test run, so that concurrent runs (several developers, CI)
# never drop each other's schema; dropped again at the end of the run.
PG_DB = os.environ.get("DAIBAN_TEST_PG_DB", f"daiban_test_{os.getpid()}")


def pg_url(database: str = PG_DB) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _create_pg_database(name: str) -> bool:
    try:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and did not answer: {exc}")
        return False


def fresh_pg_engine(name: str):
    """A PostgreSQL database with an empty, freshly migrated schema."""
    if not _create_pg_database(name):
        pytest.skip("PostgreSQL is not reachable")
    engine = make_engine(pg_url(name))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        install_from_dir(session, None, now=at("2026-01-05"))
    return engine


def drop_pg_database(name: str) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine():
    engine = fresh_pg_engine(PG_DB)
    yield engine
    engine.dispose()
    drop_pg_database(PG_DB)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        install_from_dir(session, None, now=at("2026-01-05"))
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request):
    return request.param


@pytest.fixture
def engine(db_kind, request, tmp_path):
    if db_kind == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        yield request.getfixturevalue("pg_engine")


@pytest.fixture
def session(engine, db_kind):
    """A session whose work disappears after the test (commits included)."""
    if db_kind == "sqlite":
        with Session(engine, expire_on_commit=False) as s:
            yield s
        return
    connection = engine.connect()
    outer = connection.begin()
    s = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _fresh_version_ids():
    """Each test's database numbers its definition versions from 1 again, while
    the registry remembers id → version for the life of a process (true in
    production, where ids never change meaning): forget it between tests."""
    from workflow.kernel import registry

    registry._version_of_id.clear()
    yield

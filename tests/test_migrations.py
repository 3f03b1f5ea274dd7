"""The Alembic history builds the schema the models declare, on both databases,
and upgrades a database that already holds data."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tests import factories as f
from tests.factories import at
from workflow import migrate
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import install_from_dir
from workflow.models import Base


# SQLite cannot reflect indexes on expressions: Alembic skips them there (with
# these warnings) and the next test compares their SQL instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": migrate.include_object(conn.dialect.name)})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff


EXPRESSION_INDEXES = {
    "ix_project_stage_investment":
        "ON project (stage, coalesce(investment_wan, 0) DESC, code, id)",
    "ix_project_suspended_investment":
        "ON project (suspended_from, coalesce(investment_wan, 0) DESC, code, id) "
        "WHERE stage = 'suspended'",
}


def test_expression_indexes_on_sqlite_are_the_models(sqlite_template):
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    engine.dispose()
    for name, body in EXPRESSION_INDEXES.items():
        assert " ".join(found[name].split()).endswith(body), found[name]


def test_upgrading_a_database_with_projects_keeps_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0003_deadlines")
    factory = make_session_factory(engine)
    # Rows written with the 0003 schema (plain SQL: today's models know newer
    # columns and tables, so today's definition install comes after the upgrade).
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO enterprise (name) VALUES ('旧企业')")
    migrate.upgrade(engine)
    with transaction(factory) as session:
        install_from_dir(session, None, now=at("2026-01-05"))
    with transaction(factory) as session:
        project = f.project(session, at("2026-03-02"), company=f.enterprise(session))
        assert project.is_chemical is False and project.parcel_id is None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM enterprise").first()[0] == "旧企业"
    migrate.downgrade(engine, "0003_deadlines")
    migrate.upgrade(engine)
    engine.dispose()


def test_upgrading_to_0016_marks_the_tasks_whose_due_date_was_provisional(tmp_path):
    """Tasks due in 2027 (unpublished) are provisional after the upgrade; 2026 ones not."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cal.sqlite3'}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        install_from_dir(session, None, now=at("2026-01-05"))
        late = f.project(session, at("2027-01-25"), company=f.enterprise(session))
        early = f.project(session, at("2026-03-02"), company=f.enterprise(session))
        late_id, early_id = late.id, early.id
    migrate.downgrade(engine, "0014_security")
    migrate.upgrade(engine)
    with factory() as session:
        flags = dict(session.execute(text(
            "SELECT project_id, max(dates_provisional) FROM item_task "
            "WHERE due_on IS NOT NULL GROUP BY project_id")).all())
        assert (bool(flags[late_id]), bool(flags[early_id])) == (True, False)
        assert session.scalar(text("SELECT count(*) FROM calendar_schedule")) == 0
    engine.dispose()

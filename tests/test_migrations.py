"""The Alembic history builds the schema the models declare, on both databases,
and upgrades a database that already holds data."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tests import factories as f
from tests.factories import at
from workflow import migrate
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import install_from_dir
from workflow.models import Base, Project, User


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


def test_mandates_issued_before_signatures_are_recorded_as_signed_on_paper(tmp_path):
    """0018_mandate: a mandate and a change of scope issued under the old
    engine (the mandate was then the enterprise's signature) become signed on
    paper on their issue day, by nobody recorded and without a scan; a change
    of agent is not the enterprise's to sign."""
    from sqlalchemy import select

    from workflow.core import operations as ops
    from workflow.models import AgencyDocument
    from workflow.reforms import documents

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        install_from_dir(session, None, now=at("2026-01-05"))
    with transaction(factory) as session:
        lead = f.user(session, "lead_old", "lead", groups=("equipment",))
        alice = f.user(session, "alice_old", "agent", groups=("equipment",))
        bob = f.user(session, "bob_old", "agent", groups=("equipment",))
        project = f.project(session, at("2026-03-02"), lead=lead, code="P-OLD-1")
        survey = f.task(project, "u01_survey")
        ops.claim_task(session, survey.id, actor=alice, now=at("2026-03-02"))
        documents.handoff_with_continuation(session, survey.id, bob, reason="调岗", actor=lead,
                                            now=at("2026-03-03"))
        documents.change_scope(session, project.id, remove=["power_connection"], reason="自办",
                               actor=lead, now=at("2026-03-04"))
    # Back to the schema before signatures, and up again: what the upgrade of
    # a database of that time does to its documents.
    migrate.downgrade(engine, "0014_security")
    migrate.upgrade(engine)
    with transaction(factory) as session:
        rows = {d.number: d for d in session.scalars(select(AgencyDocument))}
        mandate, handoff, scope = (rows["左开代委〔2026〕0001号"], rows["左开代续〔2026〕0001号"],
                                   rows["左开代续〔2026〕0002号"])
        for document, day in ((mandate, date(2026, 3, 2)), (scope, date(2026, 3, 4))):
            assert (document.status, document.signed_via, document.signed_on) == (
                "signed", "paper", day)
            assert document.answered_by_id is None and document.scan_id is None
            assert document.answered_at == document.issued_at
        assert handoff.status is None and handoff.signed_via is None
        # The agents go on: the signed scope is the migrated change's.
        project = session.scalar(select(Project).where(Project.code == "P-OLD-1"))
        assert "power_connection" not in documents.current_scope(session, project)
        ops.start_task(session, f.task(project, "u01_survey").id,
                       actor=session.scalar(select(User).where(User.username == "bob_old")),
                       now=at("2026-03-05"))
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

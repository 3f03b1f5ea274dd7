"""The Alembic history builds the schema the models declare, on both databases,
and upgrades a database that already holds data."""

from __future__ import annotations

from datetime import UTC, date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tests import factories as f
from tests.conftest import PG_DB
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


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path):
    """An empty database migrated to 0014 (before the two clocks)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    else:
        from tests.conftest import _create_pg_database, drop_pg_database, pg_url

        name = f"{PG_DB}_clocks_split"
        if not _create_pg_database(name):
            pytest.skip("PostgreSQL is not reachable")
        request.addfinalizer(lambda: drop_pg_database(name))
        engine = make_engine(pg_url(name))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine, "0014_security")
    yield engine
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


def test_0015_splits_the_old_clock_of_existing_tasks_into_two(old_engine):
    """Rows written under 0014, where ``accepted_on`` was the day of release
    and one clock counted the legal limit from it (the rule is the migration's
    docstring):

    - the survey, with its agent (in_progress), released Mon 2026-03-02,
      paused 03-04 → 03-09 (3 working days), old due 03-26: its service clock
      keeps the due date it was working to — 10 + 3 working days end on 03-19,
      so 5 more are granted (03-02 → 03-26 is 18 working days);
    - the EIA (30 calendar days), released Mon 09-14, submitted Tue 09-15,
      paused 09-30 → 10-08 (1 working day then, 8 calendar days now): with the
      department, its statutory clock counts from the submission, due 09-15 +
      38 days = Fri 10-23 (its old due date was 10-15); its service clock
      (5 working days: 15–18, Sunday 20 worked) was due 09-20;
    - the filing, done: submitted 03-03, approved 03-04, closed 03-05: accepted
      on the submission day, due 03-06 (3 working days), decided 03-04;
    - the land transfer, returned by the department after a submission: with
      its agent again, on the service clock;
    - a blocked item: nothing to split.
    """
    from datetime import datetime

    from definitions import canonical_json, load_definition
    from workflow.kernel.registry import DEFAULT_DIR

    engine = old_engine
    source = canonical_json(load_definition(DEFAULT_DIR).source)

    def day(value):
        return date.fromisoformat(value) if value else None

    def moment(value):  # UTC, as the engine stores it (naive on SQLite)
        stamp = datetime.fromisoformat(value)
        return stamp if engine.dialect.name == "sqlite" else stamp.replace(tzinfo=UTC)

    with engine.begin() as conn:
        def sql(statement, **params):
            conn.execute(text(statement), params)

        sql("INSERT INTO definition_version (id, zone, version, source, loaded_at, is_current) "
            "VALUES (1, 'zuoyun', 'v-old', :source, :at, :yes)", source=source,
            at=moment("2026-01-01 00:00:00"), yes=True)
        sql("INSERT INTO enterprise (id, name) VALUES (1, '旧企业')")
        sql("INSERT INTO industry_group (id, code, name_zh, name_en) VALUES (1, 'equipment', '装备', 'E')")
        sql("INSERT INTO user_account (id, username, display_name, role, active, away) "
            "VALUES (1, 'alice', 'alice', 'agent', :yes, :no)", yes=True, no=False)
        sql("INSERT INTO project (id, code, name, enterprise_id, industry, group_id, stage, "
            "definition_version_id, created_at, audit_seq, audit_head, version) VALUES "
            "(1, 'P-OLD', '旧项目', 1, 'equipment_manufacturing', 1, 'approving', 1, :at, 0, '', 1)",
            at=moment("2026-03-02 01:00:00"))
        tasks = [  # id, item, state, accepted_on (= released), due_on, paused, closed_on
            (1, "u01_survey", "in_progress", "2026-03-02", "2026-03-26", 3, None),
            (2, "eia_approval", "submitted", "2026-09-14", "2026-10-15", 1, None),
            (3, "project_filing", "done", "2026-03-02", "2026-03-05", 0, "2026-03-05"),
            (4, "land_transfer", "returned", "2026-03-02", "2026-04-16", 0, None),
            (5, "u02_planning_conditions", "blocked", None, None, 0, None),
        ]
        for task_id, item, state, accepted, due, paused, closed in tasks:
            sql("INSERT INTO item_task (id, project_id, item_code, state, group_id, department, "
                "assignee_id, accepted_on, due_on, due_provisional, paused_working_days, "
                "extension_days, closed_on, version) VALUES (:id, 1, :item, :state, 1, 'x', 1, "
                ":accepted, :due, :no, :paused, 0, :closed, 1)", id=task_id, item=item,
                state=state, accepted=day(accepted), due=day(due), no=False, paused=paused,
                closed=day(closed))
        for pause_id, task_id, start, end, days in ((1, 1, "2026-03-04", "2026-03-09", 3),
                                                    (2, 2, "2026-09-30", "2026-10-08", 1)):
            sql("INSERT INTO pause (id, task_id, reason, started_on, ended_on, working_days) "
                "VALUES (:id, :task, 'materials requested (补正)', :start, :end, :days)",
                id=pause_id, task=task_id, start=day(start), end=day(end), days=days)
        events = [(2, "task.submit", "2026-09-15 02:00:00"), (3, "task.submit", "2026-03-03 02:00:00"),
                  (3, "task.approve", "2026-03-04 02:00:00"), (4, "task.submit", "2026-03-05 02:00:00"),
                  (4, "task.department_return", "2026-03-10 02:00:00")]
        for seq, (task_id, action, at_) in enumerate(events, 1):
            sql("INSERT INTO audit_event (project_id, seq, at, action, task_id, data, public, "
                "prev_hash, hash) VALUES (1, :seq, :at, :action, :task, '{}', :no, '', '')",
                seq=seq, at=moment(at_), action=action, task=task_id, no=False)
        for key, task_id, due, reached in (("task:1", 1, "2026-03-26", "2026-03-20"),
                                           ("task:2", 2, "2026-10-15", "2026-10-12")):
            sql("INSERT INTO reminder (subject_key, level, task_id, due_on, reached_on, "
                "recorded_at, catch_up) VALUES (:key, 'yellow', :task, :due, :reached, :at, :no)",
                key=key, task=task_id, due=day(due), reached=day(reached),
                at=moment("2026-03-20 01:00:00"), no=False)
        sql("INSERT INTO rollup_state (name, refreshed_at, as_of) VALUES "
            "('closed_rebuilt', :at, :day)", at=moment("2026-03-20 01:00:00"),
            day=day("2026-03-20"))
    migrate.upgrade(engine)
    columns = ("id, clock, released_on, submitted_on, accepted_on, decided_on, "
               "service_due_on, service_paused_days, service_extension_days, statutory_due_on, "
               "statutory_paused_days, due_on")
    def plain(row):
        return tuple(v.isoformat() if isinstance(v, date) else v for v in row)

    with engine.connect() as conn:
        rows = {r[0]: plain(r[1:]) for r in conn.exec_driver_sql(
            f"SELECT {columns} FROM item_task ORDER BY id")}
        pauses = conn.exec_driver_sql("SELECT id, clock, kind, days FROM pause ORDER BY id").all()
        reminders = conn.exec_driver_sql(
            "SELECT subject_key, clock FROM reminder ORDER BY task_id").all()
        rebuilt = conn.exec_driver_sql(
            "SELECT count(*) FROM rollup_state WHERE name = 'closed_rebuilt'").scalar()
    assert rows[1] == ("service", "2026-03-02", None, None, None, "2026-03-26", 3, 5, None, 0,
                       "2026-03-26")
    assert rows[2] == ("statutory", "2026-09-14", "2026-09-15", None, None, "2026-09-20", 0, 0,
                       "2026-10-23", 8, "2026-10-23")
    assert rows[3] == ("statutory", "2026-03-02", "2026-03-03", "2026-03-03", "2026-03-04",
                       "2026-03-04", 0, 0, "2026-03-06", 0, "2026-03-06")
    assert rows[4][:4] == ("service", "2026-03-02", None, None)
    assert rows[5] == (None, None, None, None, None, None, 0, 0, None, 0, None)
    assert [tuple(p) for p in pauses] == [(1, "service", "materials", 3),
                                          (2, "statutory", "materials", 8)]
    assert [tuple(r) for r in reminders] == [("task:1:service", "service"),
                                             ("task:2:statutory", "statutory")]
    assert rebuilt == 0  # the next ``daiban init`` recounts the done items on both clocks
    migrate.downgrade(engine, "0014_security")
    with engine.connect() as conn:
        assert plain(conn.exec_driver_sql(
            "SELECT accepted_on, paused_working_days FROM item_task WHERE id = 1").one()) == (
            "2026-03-02", 3)
        # The service clock's reminders go; the statutory ones keep their old keys.
        assert conn.exec_driver_sql("SELECT subject_key FROM reminder").all() == [("task:2",)]
    migrate.upgrade(engine)

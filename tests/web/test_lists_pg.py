"""Bulk claims racing each other and the project search, on PostgreSQL with
several connections (issue 12, item 11): two agents bulk-claim overlapping
tasks at the same moment; each request keeps all of its tasks or none, and
neither answers an error page. The search reads the trigram indexes."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text, update

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine, pg_url
from tests.factories import at
from tests.web.conftest import Clock, password_hash
from tests.web.test_hardening_pg import run_together, signed_in
from web import create_app
from workflow.core import search
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import ItemTask, User

pytestmark = pytest.mark.postgres
NOW = at("2026-03-02", 10)


@pytest.fixture
def pg_app(tmp_path):
    name = f"lists12_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        users = {}
        for username, role, kw in (
                ("lead", "lead", {"groups": ("equipment",)}),
                ("alice", "agent", {"groups": ("equipment",), "department": "nature_resources"}),
                ("bob", "agent", {"groups": ("equipment",), "department": "nature_resources"}),
                ("olga", "agent", {"groups": ("food",), "department": "water"}),
                ("sup", "supervisor", {})):
            users[username] = f.user(session, username, role, **kw)
            users[username].password_hash = password_hash()
            users[username].display_name = username
        acme = f.enterprise(session, "甲科技有限公司")
        tasks = [f.task(f.project(session, NOW, lead=users["lead"], code=f"P-RACE-{n}",
                                  company=acme if n == 0 else None), "u01_survey").id
                 for n in range(4)]
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url(name), "SECRET_KEY": "test",
                      "CLOCK": Clock(NOW), "SESSION_COOKIE_SECURE": False,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "TOTP_REQUIRED": False})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as in production
    app.daiban_test = {"factory": factory, "tasks": tasks}
    yield app
    app.extensions["daiban_engine"].dispose()
    engine.dispose()
    drop_pg_database(name)


def test_overlapping_bulk_claims_keep_all_or_nothing_and_never_fail(pg_app):
    """10 rounds: alice claims the four tasks while bob claims the last three
    in the opposite order. One request wins all of its tasks, the other none
    (it says which task was taken); no 500, no deadlock."""
    factory, tasks = pg_app.daiban_test["factory"], pg_app.daiban_test["tasks"]
    alice, alice_token = signed_in(pg_app, "alice")
    bob, bob_token = signed_in(pg_app, "bob")
    outcomes = []
    for _round in range(10):
        with transaction(factory) as session:
            session.execute(update(ItemTask).where(ItemTask.id.in_(tasks))
                            .values(state="ready", assignee_id=None))
        first, second = run_together(
            lambda: alice.post("/inbox/claim", data={"csrf_token": alice_token, "task": tasks}),
            lambda: bob.post("/inbox/claim", data={"csrf_token": bob_token,
                                                   "task": list(reversed(tasks[1:]))}))
        with transaction(factory) as session:
            holders = [h for h in session.scalars(
                select(User.username).join(ItemTask, ItemTask.assignee_id == User.id)
                .where(ItemTask.id.in_(tasks)).order_by(ItemTask.id))]
        outcomes.append(((first.status_code, second.status_code), tuple(holders)))
    wrong = [o for o in outcomes if o not in (((302, 302), ("alice",) * 4),
                                              ((302, 302), ("bob",) * 3))]
    assert not wrong, f"{len(wrong)} of 10 rounds: {wrong}"
    # The loser was told which task was taken, and by whom.
    page = alice.get("/inbox").get_data(as_text=True) + bob.get("/inbox").get_data(as_text=True)
    assert "已认领" in page


def test_search_uses_the_trigram_indexes_and_the_scoping(pg_app):
    factory = pg_app.daiban_test["factory"]
    with transaction(factory) as session:
        sup = session.scalar(select(User).where(User.username == "sup"))
        olga = session.scalar(select(User).where(User.username == "olga"))
        alice = session.scalar(select(User).where(User.username == "alice"))
        assert [p.code for p in search.search_projects(session, sup, "甲科技")] == ["P-RACE-0"]
        assert [p.code for p in search.search_projects(session, sup, "race-1")] == ["P-RACE-1"]
        assert len(search.search_projects(session, alice, "P-RACE")) == 4
        assert search.search_projects(session, olga, "P-RACE").rows == []
        # With sequential scans priced out (the tables are tiny here), each
        # ILIKE is served by its trigram index.
        session.execute(text(
            "INSERT INTO project (code, name, enterprise_id, industry, group_id, stage,"
            " created_at, version, definition_version_id, audit_seq, audit_head)"
            " SELECT 'X-' || n, '其他项目' || n, enterprise_id, industry, group_id, 'intention',"
            " created_at, 1, definition_version_id, 0, audit_head"
            " FROM project, generate_series(1, 5000) AS n WHERE code = 'P-RACE-0'"))
        session.execute(text("ANALYZE project"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        compiled = select(search.Project.id).where(search.matching("RACE-1")).compile(
            dialect=session.bind.dialect)
        plan = "\n".join(row[0] for row in session.connection().exec_driver_sql(
            "EXPLAIN " + str(compiled), compiled.params))
    for index in ("ix_project_code_trgm", "ix_project_name_trgm", "ix_enterprise_name_trgm"):
        assert index in plan, plan

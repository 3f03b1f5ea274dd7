"""Issue 10's findings that only PostgreSQL with several connections shows:
an assign racing a claim, simultaneous wrong passwords against the login
limit, and the answers while the database drops its connections or refuses
them. Each test gets its own freshly migrated database and an app on it;
the app's test clients run in threads, each request on its own connection,
as gunicorn's workers would."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select, text, update

from tests import factories as f
from tests.conftest import PG_ADMIN_URL, PG_DB, drop_pg_database, fresh_pg_engine, pg_url
from tests.factories import at
from tests.web.conftest import Clock, csrf_token, login, password_hash
from web import create_app
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.models import ItemTask, LoginAttempt

pytestmark = pytest.mark.postgres
NOW = at("2026-03-02", 10)


@pytest.fixture
def pg_app(tmp_path):
    name = f"{PG_DB}_hardening"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        users = {}
        for username, role, kw in (
                ("lead", "lead", {"groups": ("equipment",)}),
                ("alice", "agent", {"groups": ("equipment",), "department": "nature_resources"}),
                ("bob", "agent", {"groups": ("equipment",), "department": "nature_resources"})):
            users[username] = f.user(session, username, role, **kw)
            users[username].password_hash = password_hash()
            users[username].display_name = username
        project = f.project(session, NOW, lead=users["lead"], code="P-RACE-1")
        task_id = f.task(project, "u01_survey").id
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url(name), "SECRET_KEY": "test",
                      "CLOCK": Clock(NOW), "SESSION_COOKIE_SECURE": False,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      "TOTP_REQUIRED": False})  # logged in by password, like the other fixtures
    app.daiban_test = {"name": name, "factory": factory, "task_id": task_id}
    yield app
    app.extensions["daiban_engine"].dispose()
    engine.dispose()
    drop_pg_database(name)


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client, csrf_token(client, "/login")


def run_together(*calls):
    """Run each call in its own thread, released at once; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        barrier.wait(timeout=10)
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# -- finding 5: an assign racing a claim --------------------------------------------------------

def test_an_assign_racing_a_claim_is_a_conflict_never_a_silent_reassign(pg_app):
    """20 rounds: the lead assigns bob from the form (with the version it
    saw) while alice claims. One wins; a lost assign is a 409 that says who
    holds the task now, and the task is never moved away from its claimant."""
    factory, task_id = pg_app.daiban_test["factory"], pg_app.daiban_test["task_id"]
    lead, lead_token = signed_in(pg_app, "lead")
    alice, alice_token = signed_in(pg_app, "alice")
    outcomes = []
    for _round in range(20):
        with transaction(factory) as session:
            session.execute(update(ItemTask).where(ItemTask.id == task_id)
                            .values(state="ready", assignee_id=None))
        page = lead.get(f"/tasks/{task_id}").get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        # Odd rounds: an assign without the version, with a reason (as a script
        # may send it): it must still not become a reassignment.
        seen = {"version": version} if _round % 2 == 0 else {"reason": "调整"}
        assign, claim = run_together(
            lambda seen=seen: lead.post(f"/tasks/{task_id}/assign", data={
                "csrf_token": lead_token, "assignee": "bob", **seen}),
            lambda v=version: alice.post(f"/tasks/{task_id}/claim", data={
                "csrf_token": alice_token, "version": v}))
        with transaction(factory) as session:
            task = session.get(ItemTask, task_id)
            holder = task.assignee.username if task.assignee else None
        statuses = (assign.status_code, claim.status_code)
        says_holder = assign.status_code != 409 or "alice" in assign.get_data(as_text=True)
        outcomes.append((statuses, holder, says_holder))
    wrong = [o for o in outcomes if o not in (((302, 409), "bob", True), ((409, 302), "alice", True))]
    assert not wrong, f"{len(wrong)} of 20 rounds: {wrong}"


def test_an_assign_of_a_task_already_claimed_is_a_conflict_even_without_a_version(pg_app):
    """The API's assign without a version: a claimed task is not reassigned
    by an assign (a reassign says so, with its reason)."""
    task_id = pg_app.daiban_test["task_id"]
    alice, alice_token = signed_in(pg_app, "alice")
    assert alice.post(f"/tasks/{task_id}/claim", data={"csrf_token": alice_token}).status_code == 302
    lead, lead_token = signed_in(pg_app, "lead")
    response = lead.post(f"/api/v1/tasks/{task_id}/assign", json={"assignee": "bob"},
                         headers={"X-CSRFToken": lead_token})
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["details"]["assignee"] == "alice"


# -- finding 6: simultaneous wrong passwords -----------------------------------------------------

def test_simultaneous_wrong_passwords_are_evaluated_at_most_the_limit(pg_app, monkeypatch):
    from web.views import auth

    evaluated = []
    real = auth.verify_password

    def counting(stored, password):
        evaluated.append(password)
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    clients = []
    for _ in range(24):
        client = pg_app.test_client()
        clients.append((client, csrf_token(client)))
    results = run_together(*[
        lambda c=c, t=t: c.post("/login", data={"username": "alice", "password": "wrong",
                                               "csrf_token": t})
        for c, t in clients])
    statuses = sorted(r.status_code for r in results)
    limit = pg_app.config["LOGIN_FAILURES_PER_USER"]
    assert len(evaluated) <= limit, statuses
    assert statuses.count(401) == len(evaluated) and statuses.count(429) == 24 - len(evaluated)
    with transaction(pg_app.daiban_test["factory"]) as session:
        failures = session.scalars(select(LoginAttempt).where(LoginAttempt.success.is_(False))).all()
    assert len(failures) == len(evaluated)


def test_simultaneous_wrong_passwords_from_one_address_are_evaluated_at_most_its_limit(pg_app):
    """24 people behind one address, one wrong password each, at once: the
    address's limit (5 here) holds as the username's does, so at most 5
    attempts are counted and the rest are refused."""
    limit = pg_app.config["LOGIN_FAILURES_PER_IP"] = 5
    with transaction(pg_app.daiban_test["factory"]) as session:
        for n in range(24):
            f.user(session, f"clerk{n}", "agent").password_hash = password_hash()
    clients = []
    for n in range(24):
        client = pg_app.test_client()
        clients.append((client, csrf_token(client), f"clerk{n}"))
    results = run_together(*[
        lambda c=c, t=t, u=u: c.post("/login", data={"username": u, "password": "wrong",
                                                     "csrf_token": t})
        for c, t, u in clients])
    statuses = sorted(getattr(r, "status_code", r) for r in results)
    with transaction(pg_app.daiban_test["factory"]) as session:
        failures = session.scalars(select(LoginAttempt).where(LoginAttempt.success.is_(False))).all()
    assert len(failures) <= limit, statuses
    assert statuses.count(401) == len(failures) and statuses.count(429) == 24 - len(failures)


# -- finding 7: the database drops its connections, or refuses them ----------------------------

def _admin(sql: str) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _terminate(name: str) -> None:
    _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
           f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")


def test_dropped_connections_are_replaced_and_the_next_request_succeeds(pg_app):
    client, _ = signed_in(pg_app, "alice")
    assert client.get("/inbox").status_code == 200
    _terminate(pg_app.daiban_test["name"])
    assert client.get("/inbox").status_code == 200
    assert client.get("/api/v1/inbox").status_code == 200


def test_while_the_database_refuses_connections_the_answer_is_503_then_it_recovers(pg_app):
    name = pg_app.daiban_test["name"]
    client, _ = signed_in(pg_app, "alice")
    assert client.get("/inbox").status_code == 200
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _terminate(name)
        page = client.get("/inbox")
        assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
        assert "data-unavailable" in page.get_data(as_text=True)
        api = client.get("/api/v1/inbox")
        assert api.status_code == 503 and api.headers["Retry-After"]
        assert api.get_json()["error"] == "unavailable"
        anonymous = pg_app.test_client().post("/login", data={"username": "alice"})
        assert anonymous.status_code in (400, 503)  # no CSRF token: refused before the database
    finally:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert client.get("/inbox").status_code == 200

"""Web fixtures: an app on a fresh SQLite copy of the migrated template, a
fixed clock, and a few users of each audience with a test password."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy.orm import Session

from tests import factories as f
from tests.factories import at
from web import create_app
from workflow.accounts.passwords import hash_password
from workflow.kernel.db import make_engine

PASSWORD = "correct-horse-1"
_HASH = None


def password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


class Clock:
    """The app's injected clock; tests move it."""

    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


@pytest.fixture
def clock():
    return Clock(at("2026-03-02", 10))


@pytest.fixture
def app(sqlite_template, tmp_path, clock):
    path = tmp_path / "web.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}",
                      "SECRET_KEY": "test", "CLOCK": clock, "SESSION_COOKIE_SECURE": False,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      # The fixtures' staff log in with a password; tests/web/test_twofactor.py
                      # switches the second factor on.
                      "TOTP_REQUIRED": False})
    yield app
    app.extensions["daiban_engine"].dispose()


def app_on(kind, sqlite_template, tmp_path, clock, suffix):
    """A web app on SQLite (a copy of the template) or on a fresh PostgreSQL
    database of its own (``kind``); crashes answer 500 as in production.
    A test module overrides ``app`` with it to run on both."""
    from tests.conftest import PG_DB, drop_pg_database, fresh_pg_engine, pg_url

    config = {"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock,
              "SESSION_COOKIE_SECURE": False, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
              "TOTP_REQUIRED": False}  # staff log in by password, like the app fixture
    name = None
    if kind == "sqlite":
        path = tmp_path / "web.sqlite3"
        shutil.copy(sqlite_template, path)
        config["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        name = f"{PG_DB}_{suffix}"
        fresh_pg_engine(name).dispose()
        config["DATABASE_URL"] = pg_url(name)
    app = create_app(config)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app
    app.extensions["daiban_engine"].dispose()
    if name:
        drop_pg_database(name)


@pytest.fixture
def db(app):
    engine = make_engine(app.config["DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def world(db, clock):
    """Two enterprises with a project each in the equipment group, agents of
    that group and of the food group, a lead, a supervisor and an admin."""
    users = {}

    def add(name, role, **kw):
        users[name] = f.user(db, name, role, **kw)
        users[name].password_hash = password_hash()
        users[name].display_name = name

    acme, other = f.enterprise(db, "甲科技有限公司"), f.enterprise(db, "乙制造有限公司")
    add("lead", "lead", groups=("equipment",))
    add("alice", "agent", groups=("equipment",), department="nature_resources")
    add("bob", "agent", groups=("equipment",), department="planning")
    add("olga", "agent", groups=("food",), department="water")
    add("acme", "enterprise", company=acme)
    add("other", "enterprise", company=other)
    add("sup", "supervisor")
    add("admin", "admin")
    project = f.project(db, clock.moment, company=acme, lead=users["lead"], code="P-ACME-1")
    rival = f.project(db, clock.moment, company=other, lead=users["lead"], code="P-OTHER-1")
    db.commit()
    return {"users": users, "project": project, "rival": rival}


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username, password=PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def as_user(app, world):
    """``as_user("alice")`` → a logged-in test client and its CSRF token."""
    def make(username):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client, csrf_token(client, "/login")
    return make

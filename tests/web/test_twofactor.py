"""Two factors for staff, idle sessions, lockouts an admin sees and lifts, and
the security log, through the pages (the app's clock is the fixture's)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.web.conftest import PASSWORD, csrf_token, login
from workflow.accounts import twofactor
from workflow.models import LoginSession, SecurityEvent, ZoneAuditEvent

KEYS = twofactor.Keys("test")  # the fixture app's SECRET_KEY


@pytest.fixture
def required(app):
    app.config["TOTP_REQUIRED"] = True
    return app


def enrol(db, user, now):
    """Enrol ``user`` as the page would; return the secret and recovery codes."""
    enrolment = twofactor.begin_enrolment(db, user, keys=KEYS, now=now)
    codes = twofactor.confirm_enrolment(db, user, twofactor.code_at(enrolment.secret, now),
                                        keys=KEYS, now=now)
    db.commit()
    return enrolment.secret, codes


def events(db, kind=None):
    query = select(SecurityEvent).order_by(SecurityEvent.id)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    rows = list(db.scalars(query))
    db.commit()  # end the read: SQLite's transactions here take the write lock
    return rows


def send_code(client, code):
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": token})


def test_a_lead_without_a_factor_enrols_before_anything_else(required, world, db, clock):
    client = required.test_client()
    response = login(client, "lead")
    assert response.status_code == 302 and response.location.endswith("/account/two-factor")
    # Nothing else opens until the factor is enrolled: pages, the API.
    assert client.get("/desk").location.endswith("/account/two-factor")
    assert client.get("/api/inbox").status_code == 403
    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn by the app itself
    secret = re.search(r"<code data-secret>([A-Z2-7]+)</code>", html).group(1)
    assert secret in client.get("/account/two-factor").get_data(as_text=True)  # same on reload
    token = csrf_token(client, "/account/two-factor")
    wrong = client.post("/account/two-factor", data={"code": "000000", "csrf_token": token})
    assert wrong.location.endswith("/account/two-factor")
    done = client.post("/account/two-factor", data={
        "code": twofactor.code_at(secret, clock.moment), "csrf_token": token})
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.get_data(as_text=True))
    assert done.status_code == 200 and len(codes) == 10
    assert client.get("/desk").status_code == 200
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert secret not in page and 'data-recovery-left="10"' in page  # never shown again
    assert [(e.kind, e.detail) for e in events(db)] == [
        ("login", "password; must enrol"), ("login_failed", "enrolment code"),
        ("factor_enrolled", "")]


def test_agents_need_a_factor_only_when_the_zone_says_so_and_enterprises_never(required, world):
    assert login(required.test_client(), "alice").location.endswith("/inbox")
    acme = required.test_client()
    assert login(acme, "acme").location.endswith("/portal")
    assert acme.get("/account/two-factor").status_code == 403
    required.config["TOTP_REQUIRED_FOR_AGENTS"] = True
    assert login(required.test_client(), "bob").location.endswith("/account/two-factor")


def test_an_enrolled_user_logs_in_with_password_then_code_never_the_same_code_twice(
        app, world, db, clock):
    admin = world["users"]["admin"]
    secret, codes = enrol(db, admin, clock.moment - timedelta(minutes=10))
    client = app.test_client()
    response = login(client, "admin")  # a factor once enrolled is asked for even when not required
    assert response.location.endswith("/login/code")
    assert client.get("/admin/users").status_code == 302  # the password alone opens nothing
    assert send_code(client, "123456").status_code == 401
    code = twofactor.code_at(secret, clock.moment)
    assert send_code(client, code).location.endswith("/admin/users")
    assert client.get("/admin/users").status_code == 200
    again = app.test_client()
    login(again, "admin")
    assert send_code(again, code).status_code == 401  # replayed
    assert send_code(again, codes[3]).location.endswith("/admin/users")
    third = app.test_client()
    login(third, "admin")
    assert send_code(third, codes[3]).status_code == 401  # each recovery code once
    kinds = [(e.kind, e.detail) for e in events(db)]
    assert kinds == [("factor_enrolled", ""), ("login_failed", "code"), ("login", "password + totp"),
                     ("login_failed", "code"), ("recovery_used", "left=9"),
                     ("login", "password + recovery"), ("login_failed", "code")]
    failed = events(db, "login_failed")[0]
    assert (failed.username, failed.ip, failed.user_agent.startswith("Werkzeug")) == (
        "admin", "127.0.0.1", True)


def test_the_second_step_waits_a_few_minutes_only(app, world, db, clock):
    secret, _ = enrol(db, world["users"]["sup"], clock.moment)
    client = app.test_client()
    login(client, "sup")
    token = csrf_token(client, "/login/code")
    clock.moment += timedelta(minutes=6)
    response = client.post("/login/code", data={"code": twofactor.code_at(secret, clock.moment),
                                                "csrf_token": token})
    assert response.status_code == 302 and response.location.endswith("/login")


def test_a_user_regenerates_recovery_codes_with_a_current_code(app, world, db, clock):
    secret, old = enrol(db, world["users"]["lead"], clock.moment - timedelta(minutes=5))
    client = app.test_client()
    login(client, "lead")
    send_code(client, twofactor.code_at(secret, clock.moment))
    token = csrf_token(client, "/account/two-factor")
    refused = client.post("/account/two-factor/recovery-codes",
                          data={"code": old[0], "csrf_token": token})
    assert refused.location.endswith("/account/two-factor")
    clock.moment += timedelta(seconds=30)
    fresh = client.post("/account/two-factor/recovery-codes", data={
        "code": twofactor.code_at(secret, clock.moment), "csrf_token": token})
    new = re.findall(r"<li><code>([a-z2-9-]{11})</code></li>", fresh.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert [e.kind for e in events(db)][-1] == "recovery_regenerated"


def test_wrong_codes_lock_the_account_and_an_admin_sees_and_lifts_it(app, world, db, clock,
                                                                      as_user):
    secret, _ = enrol(db, world["users"]["sup"], clock.moment - timedelta(minutes=1))
    admin, admin_token = as_user("admin")
    client = app.test_client()
    login(client, "sup")
    for _ in range(5):
        assert send_code(client, "000000").status_code == 401
    assert send_code(client, "000000").status_code == 429
    assert login(app.test_client(), "sup").status_code == 429  # the password step too
    assert len(events(db, "lockout")) == 1
    listing = admin.get("/admin/users?role=supervisor").get_data(as_text=True)
    assert re.search(r'data-user="sup".*?data-locked>[^<]*2026-03-02 10:15', listing, re.S)
    sup = world["users"]["sup"]
    page = admin.get(f"/admin/users/{sup.id}").get_data(as_text=True)
    assert "data-locked" in page and 'data-factor="active"' in page
    response = admin.post(f"/admin/users/{sup.id}/unlock", data={"csrf_token": admin_token})
    assert response.status_code == 302
    assert "data-locked" not in admin.get(f"/admin/users/{sup.id}").get_data(as_text=True)
    fresh = app.test_client()
    login(fresh, "sup")
    assert send_code(fresh, twofactor.code_at(secret, clock.moment)).status_code == 302
    db.expire_all()
    audit = db.scalars(select(ZoneAuditEvent).where(ZoneAuditEvent.action == "user.unlocked")).one()
    assert audit.subject == "user:sup"
    unlock = events(db, "unlock")[0]
    assert unlock.user_id == sup.id and unlock.actor_id == world["users"]["admin"].id


def test_an_admin_resets_a_lost_factor_and_the_user_enrols_again(required, world, db, clock,
                                                                  as_user):
    lead = world["users"]["lead"]
    secret, _ = enrol(db, lead, clock.moment - timedelta(minutes=1))
    client = required.test_client()
    login(client, "lead")
    send_code(client, twofactor.code_at(secret, clock.moment))
    assert client.get("/desk").status_code == 200
    admin, token = as_user("admin")  # admin has no factor: it enrols first
    assert admin.get("/admin/users").location.endswith("/account/two-factor")
    required.config["TOTP_REQUIRED"] = False
    admin, token = as_user("admin")
    response = admin.post(f"/admin/users/{lead.id}/factor/reset", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/desk").status_code == 302  # their session ended
    required.config["TOTP_REQUIRED"] = True
    again = required.test_client()
    assert login(again, "lead").location.endswith("/account/two-factor")
    db.expire_all()
    audit = db.scalars(select(ZoneAuditEvent).where(
        ZoneAuditEvent.action == "user.factor_reset")).one()
    assert audit.subject == "user:lead" and audit.data["was_active"] is True
    assert events(db, "factor_reset")[0].user_id == lead.id


def test_an_idle_staff_session_ends_after_thirty_minutes_an_enterprise_s_after_two_hours(
        app, world, db, clock, as_user):
    alice, _ = as_user("alice")
    acme, _ = as_user("acme")
    clock.moment += timedelta(minutes=29)
    assert alice.get("/inbox").status_code == 200  # a request keeps it alive
    clock.moment += timedelta(minutes=29)
    assert alice.get("/inbox").status_code == 200
    clock.moment += timedelta(minutes=31)
    response = alice.get("/inbox")
    assert response.status_code == 302 and "/login" in response.location
    assert acme.get("/portal").status_code == 200  # 89 minutes idle: enterprises have 120
    clock.moment += timedelta(minutes=121)
    assert acme.get("/portal").status_code == 302
    idle = events(db, "session_idle")
    assert [e.username for e in idle] == ["alice", "acme"]
    db.expire_all()
    assert db.scalar(select(LoginSession).where(
        LoginSession.user_id == world["users"]["alice"].id)).revoked_at is not None


def test_the_security_log_page_filters_and_its_export_keeps_formulas_as_text(app, world, db,
                                                                              as_user):
    intruder = app.test_client()
    login(intruder, "=HYPERLINK(\"http://x\")", "guess-password")
    login(intruder, "alice", "wrong-password")
    admin, token = as_user("admin")
    admin.post("/logout", data={"csrf_token": token})
    admin, _ = as_user("admin")
    page = admin.get("/admin/security?kind=login_failed").get_data(as_text=True)
    assert page.count('data-event="login_failed"') == 2 and 'data-event="login"' not in page
    mine = admin.get("/admin/security?user=alice").get_data(as_text=True)
    assert mine.count("data-event=") == 1
    assert admin.get("/admin/security?kind=nonsense").status_code == 400
    export = admin.get("/admin/security.csv?kind=login_failed")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["time", "kind", "username"]
    assert {r[2] for r in rows[1:]} == {"'=HYPERLINK(\"http://x\")", "alice"}
    everything = [r[1] for r in csv.reader(io.StringIO(
        admin.get("/admin/security.csv").get_data(as_text=True).lstrip("\ufeff")))][1:]
    assert everything == ["login", "logout", "login", "login_failed", "login_failed"]
    assert PASSWORD not in admin.get("/admin/security.csv").get_data(as_text=True)

"""The edge of the admin, login and notification pages (issue 10): every
form field and query argument they read is parsed by a declared model, so a
value too long for its column, a control character, a wrong type or an id out
of range answers 400 and changes nothing. And the review's follow-ups: the
admin's CSV export writes formula-like cells as text by the rule every export
follows, wrong codes typed while enrolling a second factor count toward the
login limit, and a login's second step and an enrolment open a new session.
(The per-address login limit under simultaneous requests is in
``test_hardening_pg.py``.)"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests import factories as f
from tests.web.conftest import PASSWORD, csrf_token, login
from workflow.accounts import twofactor
from workflow.core import operations as ops
from workflow.core import supervision
from workflow.kernel.tabular import is_formula_like
from workflow.models import (
    Enterprise,
    GroupMembership,
    LoginAttempt,
    LoginSession,
    Notification,
    OutboxMessage,
    RecoveryCode,
    SecondFactor,
    SecurityEvent,
    SupervisionNotice,
    User,
    ZoneAuditEvent,
)

KEYS = twofactor.Keys("test")  # the fixture app's SECRET_KEY
HUGE = "99999999999999999999"
SECRET = "a-long-enough-secret"


def state(db) -> dict:
    """Everything these pages could change, as the database has it now."""
    db.commit()
    rows = {
        "users": db.execute(select(
            User.id, User.username, User.display_name, User.role, User.email, User.department,
            User.enterprise_id, User.active, User.away, User.substitute_id, User.password_hash)
            .order_by(User.id)).all(),
        "memberships": db.execute(select(GroupMembership.user_id, GroupMembership.group_id)
                                  .order_by(GroupMembership.user_id,
                                            GroupMembership.group_id)).all(),
        "enterprises": db.scalar(select(func.count(Enterprise.id))),
        "changes": db.scalar(select(func.count(ZoneAuditEvent.seq))),
        "attempts": db.execute(select(LoginAttempt.username, LoginAttempt.success)
                               .order_by(LoginAttempt.id)).all(),
        "events": db.execute(select(SecurityEvent.kind, SecurityEvent.detail)
                             .order_by(SecurityEvent.id)).all(),
        "sessions": db.execute(select(LoginSession.id, LoginSession.revoked_at,
                                      LoginSession.must_enrol).order_by(LoginSession.id)).all(),
        "factors": db.execute(select(SecondFactor.user_id, SecondFactor.confirmed_at,
                                     SecondFactor.last_step)).all(),
        "recovery": db.scalar(select(func.count(RecoveryCode.id))),
        "outbox": db.execute(select(OutboxMessage.id, OutboxMessage.status)
                             .order_by(OutboxMessage.id)).all(),
        "read": db.execute(select(Notification.id, Notification.read_at)
                           .order_by(Notification.id)).all(),
        "notices": db.execute(select(SupervisionNotice.id, SupervisionNotice.report,
                                     SupervisionNotice.acknowledged_at,
                                     SupervisionNotice.closed_at)).all(),
    }
    db.commit()  # SQLite begins IMMEDIATE: hold no lock while the app answers (and
    return rows  # a commit, unlike a rollback, leaves the fixtures' objects loaded)


def refused(db, client, method: str, url: str, data: dict | None = None, token: str | None = None):
    """``method url`` with ``data`` answers 400 and changes nothing."""
    before = state(db)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**(data or {}), "csrf_token": token})
    assert response.status_code == 400, (url, data, response.status_code)
    assert "输入有误" in response.get_data(as_text=True)
    assert state(db) == before, (url, data)
    return response


# -- admin: the forms ---------------------------------------------------------------------------

def new_agent(**changes) -> dict:
    form = {"username": "zhang.wei", "display_name": "张伟", "role": "agent", "password": SECRET,
            "department": "planning", "groups": "equipment"}
    form.update(changes)
    return form


@pytest.fixture
def admin(as_user):
    return as_user("admin")


@pytest.mark.parametrize("form", [
    new_agent(username="a" * 81),  # the column holds 80
    new_agent(display_name="张" * 201),
    new_agent(display_name="张\n伟"),  # a line break in a one-line field
    new_agent(password="p" * 257),  # the engine's longest password
    new_agent(password="tab\tin-the-password"),  # a control character, even a tab
    new_agent(role="wizard"),
    new_agent(role=""),
    new_agent(email="a@b\n.cn"),
    new_agent(email="x" * 195 + "@b.cn1"),
    new_agent(department="d" * 65),
    new_agent(role="enterprise", enterprise_name="企" * 201),
    new_agent(role="enterprise", enterprise_name="丙公司", credit_code="9" * 19),
    new_agent(groups="g" * 65),
    new_agent(groups=["equipment"] * 201),  # more than a page of groups
], ids=["username-too-long", "name-too-long", "name-line-break", "password-too-long",
        "password-tab", "role-unknown", "role-empty", "email-line-break", "email-too-long",
        "department-too-long", "enterprise-too-long", "credit-code-too-long", "group-too-long",
        "too-many-groups"])
def test_a_bad_new_user_form_is_400_and_creates_nobody(admin, db, form):
    client, token = admin
    refused(db, client, "POST", "/admin/users", form, token)


@pytest.mark.parametrize("form", [
    {"display_name": "b" * 201, "role": "agent", "department": "planning"},
    {"display_name": "bob\r\nSet-Role: admin", "role": "agent", "department": "planning"},
    {"display_name": "bob", "department": "planning"},  # no role
    {"display_name": "bob", "role": "ADMIN"},
    {"display_name": "bob", "role": "agent", "department": "planning", "email": "e" * 201},
    {"display_name": "bob", "role": "enterprise", "enterprise_name": "乙制造有限公司",
     "credit_code": "91140226MA0BINGC011"},
], ids=["name-too-long", "name-line-break", "role-missing", "role-unknown", "email-too-long",
        "credit-code-too-long"])
def test_a_bad_profile_form_is_400_and_changes_nothing(admin, world, db, form):
    client, token = admin
    refused(db, client, "POST", f"/admin/users/{world['users']['bob'].id}/profile", form, token)


@pytest.mark.parametrize("form", [
    {"groups": "g" * 65}, {"groups": "equip\nment"}, {"groups": ["equipment"] * 201},
], ids=["too-long", "line-break", "too-many"])
def test_a_bad_groups_form_is_400_and_changes_nothing(admin, world, db, form):
    client, token = admin
    refused(db, client, "POST", f"/admin/users/{world['users']['bob'].id}/groups", form, token)


@pytest.mark.parametrize("form", [
    {"away": "maybe", "substitute": "alice"},  # was read as "not away": bob came back
    {"away": "2"},
    {"away": "1", "substitute": "a" * 81},
    {"away": "1", "substitute": "al\nice"},
], ids=["away-not-a-flag", "away-two", "substitute-too-long", "substitute-line-break"])
def test_a_bad_away_form_is_400_and_changes_nothing(admin, world, db, form):
    client, token = admin
    bob = world["users"]["bob"]
    assert client.post(f"/admin/users/{bob.id}/away", data={
        "csrf_token": token, "away": "1", "substitute": "alice"}).status_code == 302
    refused(db, client, "POST", f"/admin/users/{bob.id}/away", form, token)
    assert db.get(User, bob.id, populate_existing=True).away is True
    db.commit()


@pytest.mark.parametrize("password", ["p" * 257, "line\nbreak-in-it", "tab\tin-the-password"],
                         ids=["too-long", "line-break", "tab"])
def test_a_bad_new_password_is_400_and_changes_nothing(admin, world, db, password):
    client, token = admin
    refused(db, client, "POST", f"/admin/users/{world['users']['bob'].id}/password",
            {"password": password}, token)


def test_passwords_are_taken_as_typed_spaces_and_all(app, admin, db):
    """Text fields are stripped; a password never is: the spaces around it are
    part of it, at the admin's form and at the login."""
    client, token = admin
    spaced = "  spaces around it  "
    assert client.post("/admin/users", data={"csrf_token": token,
                                             **new_agent(password=spaced)}).status_code == 302
    assert login(app.test_client(), "zhang.wei", spaced.strip()).status_code == 401
    assert login(app.test_client(), "zhang.wei", spaced).status_code == 302
    bob = db.scalar(select(User).where(User.username == "bob"))
    db.commit()
    assert client.post(f"/admin/users/{bob.id}/password", data={
        "csrf_token": token, "password": " 新的密码也可以有空格呢 "}).status_code == 302
    assert login(app.test_client(), "bob", " 新的密码也可以有空格呢 ").status_code == 302


def test_a_bad_next_of_a_delivery_retry_is_400_and_requeues_nothing(admin, world, db, clock):
    db.execute(insert(OutboxMessage), [{
        "channel": "email", "recipient": "r@example.org", "subject": "s", "body": "",
        "dedupe_key": "web:retry", "status": "failed", "attempts": 6,
        "next_attempt_at": clock.moment, "created_at": clock.moment}])
    message = db.scalar(select(OutboxMessage.id))
    db.commit()
    client, token = admin
    for back in ("/admin/deliveries?" + "a" * 2048, "/admin/\ndeliveries"):
        refused(db, client, "POST", f"/admin/deliveries/{message}/retry", {"next": back}, token)
    done = client.post(f"/admin/deliveries/{message}/retry",
                       data={"csrf_token": token, "next": "/admin/deliveries?limit=5"})
    assert done.status_code == 302 and done.location.endswith("/admin/deliveries?limit=5")


# -- admin: the lists' filters ------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/admin/users?role=mayor", "/admin/users?active=yes", "/admin/users?active=2",
    "/admin/users?q=" + "x" * 101, "/admin/users?group=" + "g" * 65, "/admin/users?group=a%0Ab",
    "/admin/users?q=a%0Ab",
    "/admin/security?user=" + "u" * 81, "/admin/security?kind=nonsense",
    "/admin/security?user=a%0Ab",
    "/admin/security.csv?user=" + "u" * 81, "/admin/security.csv?kind=nonsense",
    "/admin/security.csv?kind=login%0Afailed",
])
def test_a_bad_filter_of_an_admin_list_is_400(admin, world, db, url):
    client, _ = admin
    response = refused(db, client, "GET", url)
    assert not response.headers["Content-Type"].startswith("text/csv")


def test_the_filters_still_filter(admin, world, db):
    client, _ = admin
    page = client.get("/admin/users?role=agent&active=1&group=equipment&q=li").get_data(as_text=True)
    assert re.findall(r'data-user="([^"]+)"', page) == ["alice"]
    assert 'data-user="olga"' in client.get("/admin/users?active=1&q=olg").get_data(as_text=True)
    assert 'data-user=' not in client.get("/admin/users?active=0").get_data(as_text=True)
    listed = client.get("/admin/security?user=admin&kind=login").get_data(as_text=True)
    assert listed.count('data-event="login"') == 1


# -- the login, its second step, enrolling, the language ------------------------------------------

@pytest.mark.parametrize("form", [
    {"username": "a" * 81, "password": PASSWORD},
    {"username": "al\nice", "password": PASSWORD},
    {"username": "alice", "password": "p" * 1025},
    {"username": "alice", "password": PASSWORD + "\n"},
], ids=["username-too-long", "username-line-break", "password-too-long", "password-line-break"])
def test_a_bad_login_form_is_400_and_counts_nothing(app, world, db, form):
    client = app.test_client()
    refused(db, client, "POST", "/login", form, csrf_token(client))


def enrolled(db, user, now):
    enrolment = twofactor.begin_enrolment(db, user, keys=KEYS, now=now)
    codes = twofactor.confirm_enrolment(db, user, twofactor.code_at(enrolment.secret, now),
                                        keys=KEYS, now=now)
    db.commit()
    return enrolment.secret, codes


@pytest.mark.parametrize("code", ["1" * 65, "123\n456"], ids=["too-long", "line-break"])
def test_a_bad_code_at_the_second_step_is_400_and_counts_nothing(app, world, db, clock, code):
    enrolled(db, world["users"]["sup"], clock.moment - timedelta(minutes=1))
    client = app.test_client()
    assert login(client, "sup").location.endswith("/login/code")
    refused(db, client, "POST", "/login/code", {"code": code}, csrf_token(client, "/login/code"))


@pytest.mark.parametrize("code", ["1" * 65, "123\n456"], ids=["too-long", "line-break"])
def test_a_bad_enrolment_or_regeneration_code_is_400_and_counts_nothing(app, world, db, clock,
                                                                        as_user, code):
    alice, token = as_user("alice")
    assert alice.get("/account/two-factor").status_code == 200  # the enrolment begins
    refused(db, alice, "POST", "/account/two-factor", {"code": code}, token)
    enrolment = twofactor.begin_enrolment(db, world["users"]["alice"], keys=KEYS, now=clock.moment)
    db.commit()  # the same secret as the page's
    assert alice.post("/account/two-factor", data={
        "csrf_token": token, "code": twofactor.code_at(enrolment.secret, clock.moment)}
    ).status_code == 200
    refused(db, alice, "POST", "/account/two-factor/recovery-codes", {"code": code},
            csrf_token(alice, "/account/two-factor"))


@pytest.mark.parametrize("back", ["/inbox?" + "a" * 2048, "/in\nbox"], ids=["too-long",
                                                                           "line-break"])
def test_a_bad_next_of_the_language_switch_is_400_and_keeps_the_language(app, world, db, back):
    client = app.test_client()
    response = refused(db, client, "POST", "/lang/en", {"next": back}, csrf_token(client))
    assert "lang=" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert "登录" in client.get("/login").get_data(as_text=True)  # still Chinese
    switched = client.post("/lang/en", data={"csrf_token": csrf_token(client), "next": "/login"})
    assert switched.status_code == 302 and switched.location.endswith("/login")


# -- notifications ------------------------------------------------------------------------------

@pytest.fixture
def told(db, world, clock):
    """Alice holds a task with a 督办 notice and three unread notifications."""
    alice = world["users"]["alice"]
    task = f.task(world["project"], "u01_survey")
    ops.claim_task(db, task.id, actor=alice, now=clock.moment)
    notice = supervision.issue_notice(db, task.id, world["users"]["sup"], "请说明进度", clock.moment)
    db.execute(insert(Notification), [
        {"user_id": alice.id, "kind": "info", "title": f"第{n}条", "body": "",
         "created_at": clock.moment} for n in range(3)])
    db.commit()
    ids = [str(i) for i in db.scalars(select(Notification.id).where(
        Notification.user_id == alice.id, Notification.read_at.is_(None)))]
    db.commit()
    return notice.id, ids


@pytest.mark.parametrize("form", [
    {"id": HUGE}, {"id": "0"}, {"id": "-3"}, {"id": "abc"}, {"id": "１"},
    {"id": [str(n) for n in range(1, 202)]},  # more than a page
    {"all": "maybe"},  # was read as "not all": the ticked ones were marked
    {"all": "2"},
    {"next": "/notifications?" + "n" * 2048},
], ids=["huge", "zero", "negative", "letters", "full-width", "too-many", "all-not-a-flag",
        "all-two", "next-too-long"])
def test_a_bad_mark_read_form_is_400_and_marks_nothing(as_user, told, db, form):
    _, ids = told
    client, token = as_user("alice")
    refused(db, client, "POST", "/notifications/read", {"id": ids[0], **form}, token)


def test_the_unread_tab_takes_a_flag(as_user, told, db):
    client, _ = as_user("alice")
    refused(db, client, "GET", "/notifications?unread=maybe")
    assert client.get("/notifications?unread=1").status_code == 200


@pytest.mark.parametrize("report", ["r" * 5001, "", "   ", "进展\x07"],
                         ids=["too-long", "empty", "blank", "control"])
def test_a_bad_report_on_a_notice_is_400_and_answers_nothing(as_user, told, db, report):
    notice, _ = told
    client, token = as_user("alice")
    refused(db, client, "POST", f"/notices/{notice}/report", {"report": report}, token)


# -- follow-up (a): the security log's CSV by the rule of every export -----------------------------

def test_the_security_export_writes_formula_like_cells_as_text_and_numbers_as_numbers(app, world,
                                                                                     as_user):
    for typed in ("=1+1", "@SUM(A1)", "+cmd", "-2+3", "-5", "+86"):
        login(app.test_client(), typed, "guess-password")
    intruder = app.test_client()
    token = csrf_token(intruder)
    intruder.post("/login", data={"username": "nobody", "password": "guess-password",
                                  "csrf_token": token},
                  headers={"User-Agent": "=HYPERLINK(\"http://x\",\"y\")"})
    admin, _ = as_user("admin")
    export = admin.get("/admin/security.csv?kind=login_failed")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    typed = {r[2] for r in rows[1:]}
    assert typed == {"'=1+1", "'@SUM(A1)", "'+cmd", "'-2+3", "-5", "+86", "nobody"}
    agents = {r[6] for r in rows[1:] if r[2] == "nobody"}
    assert agents == {"'=HYPERLINK(\"http://x\",\"y\")"}
    assert not [cell for row in rows for cell in row if is_formula_like(cell)]


# -- follow-up (b): wrong codes while enrolling count toward the login limit ------------------------

def failures(db, username):
    count = db.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False)))
    db.commit()
    return count


def test_wrong_enrolment_codes_lock_the_account_like_wrong_login_codes(app, world, db):
    app.config["TOTP_REQUIRED"] = True
    client = app.test_client()
    assert login(client, "lead").location.endswith("/account/two-factor")
    token = csrf_token(client, "/account/two-factor")
    for n in range(5):
        wrong = client.post("/account/two-factor", data={"code": f"00000{n}", "csrf_token": token})
        assert wrong.status_code == 302 and wrong.location.endswith("/account/two-factor")
    assert failures(db, "lead") == 5
    refused_ = client.post("/account/two-factor", data={"code": "000009", "csrf_token": token})
    assert refused_.status_code == 429
    assert client.get("/account/two-factor").location.startswith("/login")  # the session ended
    assert login(app.test_client(), "lead").status_code == 429  # the password step too
    kinds = [e.kind for e in db.scalars(select(SecurityEvent).order_by(SecurityEvent.id))]
    db.commit()
    assert kinds.count("lockout") == 1 and kinds.count("factor_enrolled") == 0


def test_wrong_codes_when_regenerating_recovery_codes_count_toward_the_limit(app, world, db, clock):
    secret, _ = enrolled(db, world["users"]["lead"], clock.moment - timedelta(minutes=1))
    client = app.test_client()
    login(client, "lead")
    client.post("/login/code", data={"code": twofactor.code_at(secret, clock.moment),
                                     "csrf_token": csrf_token(client, "/login/code")})
    token = csrf_token(client, "/account/two-factor")
    for n in range(5):
        assert client.post("/account/two-factor/recovery-codes", data={
            "code": f"00000{n}", "csrf_token": token}).status_code == 302
    assert failures(db, "lead") == 5
    assert client.post("/account/two-factor/recovery-codes", data={
        "code": "000009", "csrf_token": token}).status_code == 429
    assert login(app.test_client(), "lead").status_code == 429


# -- follow-up (c): a new session after the second step and after enrolling --------------------------

def cookie(client) -> str:
    return client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]).value


def opens(app, value: str, path: str) -> bool:
    """Whether a browser holding the session cookie ``value`` (a copy of it) opens ``path``."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other.get(path).status_code == 200


def test_enrolling_replaces_the_session_the_password_alone_opened(app, world, db, clock):
    app.config["TOTP_REQUIRED"] = True
    client = app.test_client()
    login(client, "lead")
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r"<code data-secret>([A-Z2-7]+)</code>", page).group(1)
    before = cookie(client)
    done = client.post("/account/two-factor", data={
        "code": twofactor.code_at(secret, clock.moment),
        "csrf_token": csrf_token(client, "/account/two-factor")})
    assert done.status_code == 200 and client.get("/desk").status_code == 200
    assert cookie(client) != before
    assert not opens(app, before, "/desk")  # the password-only session is over
    assert opens(app, cookie(client), "/desk")
    rows = db.execute(select(LoginSession.must_enrol, LoginSession.revoked_at).where(
        LoginSession.user_id == world["users"]["lead"].id).order_by(LoginSession.id)).all()
    db.commit()
    assert [(must, revoked is not None) for must, revoked in rows] == [(True, True),
                                                                      (False, False)]


def test_each_login_replaces_the_session_the_browser_had(app, world, db, clock):
    secret, _ = enrolled(db, world["users"]["admin"], clock.moment - timedelta(minutes=1))
    client = app.test_client()

    def sign_in():
        login(client, "admin")
        return client.post("/login/code", data={
            "code": twofactor.code_at(secret, clock.moment),
            "csrf_token": csrf_token(client, "/login/code")})

    assert sign_in().status_code == 302
    first = cookie(client)
    assert opens(app, first, "/admin/users")
    clock.moment += timedelta(seconds=30)  # the next code
    assert sign_in().status_code == 302
    assert not opens(app, first, "/admin/users")  # the earlier session ended with the new login
    assert opens(app, cookie(client), "/admin/users")
    live = db.scalar(select(func.count(LoginSession.id)).where(
        LoginSession.user_id == world["users"]["admin"].id, LoginSession.revoked_at.is_(None)))
    db.commit()
    assert live == 1

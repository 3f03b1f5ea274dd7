"""Second factors, lockouts and the security log in the engine
(``workflow.accounts.twofactor``, ``lockout``, ``security_log``), at fixed times."""

from __future__ import annotations

from datetime import UTC, timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from workflow.accounts import lockout, security_log, twofactor
from workflow.accounts.security_log import Client, EventFilter
from workflow.kernel.errors import NotPermitted, ValidationError
from workflow.kernel.moments import aware
from workflow.models import (
    LoginAttempt,
    LoginSession,
    RecoveryCode,
    SecondFactor,
    SecurityEvent,
    ZoneAuditEvent,
)

NOW = at("2026-03-02", 10).astimezone(UTC)  # as the web writes them: SQLite keeps wall time
KEYS = twofactor.Keys("unit-test-secret")


def enrolled(session, user, now=NOW):
    enrolment = twofactor.begin_enrolment(session, user, keys=KEYS, now=now)
    codes = twofactor.confirm_enrolment(session, user, twofactor.code_at(enrolment.secret, now),
                                        keys=KEYS, now=now)
    return enrolment.secret, codes


def test_the_policy_requires_a_factor_of_admins_supervisors_and_leads_and_agents_by_choice(session):
    people = {role: f.user(session, role=role) for role in
              ("admin", "supervisor", "lead", "agent", "enterprise")}
    required = {r for r, u in people.items() if twofactor.Policy().requires(u)}
    assert required == {"admin", "supervisor", "lead"}
    with_agents = {r for r, u in people.items() if twofactor.Policy(agents=True).requires(u)}
    assert with_agents == {"admin", "supervisor", "lead", "agent"}
    assert not any(twofactor.Policy(enforced=False).requires(u) for u in people.values())


def test_enrolment_needs_a_current_code_and_stores_the_secret_sealed(session):
    user = f.user(session, "boss", role="admin")
    enrolment = twofactor.begin_enrolment(session, user, keys=KEYS, now=NOW)
    assert enrolment.uri.startswith("otpauth://totp/Daiban:boss?secret=")
    assert "issuer=Daiban" in enrolment.uri
    # A reload shows the same secret until it is confirmed.
    assert twofactor.begin_enrolment(session, user, keys=KEYS, now=NOW).secret == enrolment.secret
    row = session.get(SecondFactor, user.id)
    assert enrolment.secret not in row.secret and row.confirmed_at is None
    assert KEYS.unseal(row.secret) == enrolment.secret
    with pytest.raises(ValidationError):  # another key cannot read it
        twofactor.Keys("another-secret").unseal(row.secret)
    stale = twofactor.code_at(enrolment.secret, NOW - timedelta(minutes=5))
    with pytest.raises(ValidationError):
        twofactor.confirm_enrolment(session, user, stale, keys=KEYS, now=NOW)
    assert not twofactor.is_enrolled(session, user)
    codes = twofactor.confirm_enrolment(session, user, twofactor.code_at(enrolment.secret, NOW),
                                        keys=KEYS, now=NOW, client=Client("10.0.0.7", "UA"))
    assert twofactor.is_enrolled(session, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(stored) == 10 and not stored & set(codes)
    event = session.scalars(select(SecurityEvent).where(SecurityEvent.user_id == user.id)).one()
    assert (event.kind, event.ip, event.user_agent) == ("factor_enrolled", "10.0.0.7", "UA")
    with pytest.raises(ValidationError):  # active: never shown or replaced again
        twofactor.begin_enrolment(session, user, keys=KEYS, now=NOW)


def test_a_code_is_accepted_once_within_the_drift_and_never_replayed(session):
    user = f.user(session, "lead1", role="lead")
    secret, _ = enrolled(session, user, NOW)
    later = NOW + timedelta(minutes=2)
    code = twofactor.code_at(secret, later)
    assert pyotp.TOTP(secret).at(later) == code
    assert twofactor.verify(session, user, code, keys=KEYS, now=later) == "totp"
    assert twofactor.verify(session, user, code, keys=KEYS, now=later) is None  # replayed
    # The previous step's code (a slow typist) is refused once a later one was used...
    assert twofactor.verify(session, user, twofactor.code_at(secret, later - timedelta(seconds=30)),
                            keys=KEYS, now=later) is None
    # ...but accepted 30 s late when it is new; a code two steps old never is.
    again = later + timedelta(minutes=1)
    assert twofactor.verify(session, user, twofactor.code_at(secret, again - timedelta(seconds=60)),
                            keys=KEYS, now=again) is None
    assert twofactor.verify(session, user, twofactor.code_at(secret, again - timedelta(seconds=30)),
                            keys=KEYS, now=again) == "totp"
    assert twofactor.verify(session, user, "12345", keys=KEYS, now=again) is None
    assert twofactor.verify(session, user, "", keys=KEYS, now=again) is None


def test_recovery_codes_work_once_each_and_regenerating_voids_the_old(session):
    user = f.user(session, "sup1", role="supervisor")
    _, codes = enrolled(session, user)
    assert twofactor.verify(session, user, codes[0].upper(), keys=KEYS, now=NOW) == "recovery"
    assert twofactor.verify(session, user, codes[0], keys=KEYS, now=NOW) is None
    assert twofactor.recovery_codes_left(session, user) == 9
    used = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "recovery_used")).one()
    assert used.detail == "left=9"
    fresh = twofactor.regenerate_recovery_codes(session, user, keys=KEYS, now=NOW)
    assert twofactor.verify(session, user, codes[1], keys=KEYS, now=NOW) is None
    assert twofactor.verify(session, user, fresh[1].replace("-", " "), keys=KEYS, now=NOW) == "recovery"
    other = f.user(session, "sup2", role="supervisor")
    enrolled(session, other)
    assert twofactor.verify(session, other, fresh[2], keys=KEYS, now=NOW) is None


def test_an_admin_resets_a_lost_factor_audited_and_the_user_enrols_again(session):
    admin = f.user(session, "root", role="admin")
    user = f.user(session, "lead2", role="lead")
    enrolled(session, user)
    session.add(LoginSession(token_hash="x" * 64, user_id=user.id, created_at=NOW,
                             expires_at=NOW + timedelta(hours=8)))
    session.flush()
    with pytest.raises(NotPermitted):
        twofactor.reset_factor(session, user.id, actor=user, now=NOW)
    change = twofactor.reset_factor(session, user.id, actor=admin, now=NOW,
                                    client=Client("10.1.1.1", "admin's browser"))
    assert change.action == "user.factor_reset" and change.details["sessions_ended"] == 1
    assert not twofactor.is_enrolled(session, user)
    assert twofactor.recovery_codes_left(session, user) == 0
    logged = session.scalars(select(ZoneAuditEvent).where(
        ZoneAuditEvent.action == "user.factor_reset")).one()
    assert logged.subject == "user:lead2" and logged.actor_id == admin.id
    event = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "factor_reset")).one()
    assert event.user_id == user.id and event.actor_id == admin.id
    assert twofactor.begin_enrolment(session, user, keys=KEYS, now=NOW).secret
    with pytest.raises(ValidationError):
        twofactor.reset_factor(session, admin.id, actor=admin, now=NOW)  # nothing to reset


def test_a_lockout_is_seen_until_its_end_and_an_admin_lifts_it(session):
    admin = f.user(session, "root", role="admin")
    user = f.user(session, "agent9", role="agent")
    limit = lockout.Limit(failures=3, window=timedelta(minutes=15))
    for minute in (0, 2, 4, 5):
        session.add(LoginAttempt(username="agent9", ip="1.2.3.4", success=False,
                                 at=NOW + timedelta(minutes=minute)))
    session.flush()
    late = NOW + timedelta(minutes=6)
    # Three failures in the window remain until the one at 0:02 leaves it.
    assert lockout.locked_until(session, "agent9", now=late, limit=limit) == \
        NOW + timedelta(minutes=17)
    assert lockout.locked_users(session, ["agent9", "root"], now=late, limit=limit) == {
        "agent9": NOW + timedelta(minutes=17)}
    assert lockout.locked_until(session, "agent9", now=NOW + timedelta(minutes=18),
                                limit=limit) is None
    with pytest.raises(ValidationError):
        lockout.unlock(session, admin.id, actor=admin, now=late, limit=limit)  # not locked
    change = lockout.unlock(session, user.id, actor=admin, now=late, limit=limit)
    assert change.action == "user.unlocked" and change.details["failures_forgotten"] == 4
    assert lockout.locked_until(session, "agent9", now=late, limit=limit) is None
    assert session.scalars(select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id)).all() \
        == ["unlock"]


def test_the_security_log_pages_newest_first_by_user_and_kind(session):
    user = f.user(session, "pager", role="agent")
    for n in range(5):
        security_log.record(session, "login", now=NOW + timedelta(minutes=n), user=user)
    security_log.record(session, "login_failed", now=NOW, username="nobody-such",
                        client=Client("9.9.9.9", "curl"))
    session.flush()
    first = security_log.page(session, EventFilter(username="pager"), limit=2)
    assert [aware(e.at) for e in first.rows] == [NOW + timedelta(minutes=4), NOW + timedelta(minutes=3)]
    second = security_log.page(session, EventFilter(username="pager"), cursor=first.next, limit=2)
    assert [aware(e.at) for e in second.rows] == [NOW + timedelta(minutes=2), NOW + timedelta(minutes=1)]
    failed = security_log.page(session, EventFilter(username="nobody-such", kind="login_failed"))
    assert [(e.ip, e.user_agent) for e in failed.rows] == [("9.9.9.9", "curl")]
    assert len(list(security_log.every(session, EventFilter(kind="login")))) >= 5
    with pytest.raises(ValidationError):
        EventFilter(kind="bogus")
    with pytest.raises(ValidationError):
        EventFilter(username="a\x00b")


def test_the_operator_resets_the_last_admin_s_factor_from_the_console(tmp_path):
    from click.testing import CliRunner

    from web.cli import cli
    from workflow.kernel.db import make_engine, make_session_factory, transaction

    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'console.sqlite3'}"}
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        enrolled(session, f.user(session, "root", role="admin"))
    result = runner.invoke(cli, ["user", "reset-factor", "root"], env=env)
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["user", "reset-factor", "nobody"], env=env).exit_code == 1
    with transaction(factory) as session:
        assert session.scalar(select(SecondFactor)) is None
        reset = session.scalars(select(ZoneAuditEvent).where(
            ZoneAuditEvent.action == "user.factor_reset")).one()
        assert (reset.via, reset.actor_id, reset.subject) == ("cli", None, "user:root")
    engine.dispose()

"""The zone's change log: admin changes outside any project are events the
engine writes in the operation's transaction, hash-chained per zone, that
``daiban audit verify`` checks."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, update

from tests import factories as f
from tests.factories import at
from web.cli import cli
from workflow.accounts import users
from workflow.kernel import zone_audit
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.errors import ValidationError
from workflow.kernel.registry import DEFAULT_DIR, install_definition
from workflow.models import ZoneAuditChain, ZoneAuditEvent

NOW = at("2026-03-02")


def changes(session) -> list[ZoneAuditEvent]:
    return list(session.scalars(select(ZoneAuditEvent).order_by(ZoneAuditEvent.zone,
                                                                 ZoneAuditEvent.seq)))


def create(session, admin, username: str) -> users.AdminChange:
    return users.create_user(session, username=username, display_name=f"{username} 王",
                             role="agent", password="long enough password", actor=admin,
                             now=NOW, department="development_reform", groups=["equipment"])


def test_an_admin_change_is_recorded_with_who_when_and_where_from(session):
    admin = f.user(session, "root", role="admin")
    before = len(changes(session))
    session.info[zone_audit.VIA] = "web"
    change = create(session, admin, "newagent")
    users.set_groups(session, change.user.id, ["equipment", "coal_chemical"], actor=admin,
                     now=NOW)
    users.deactivate_user(session, change.user.id, actor=admin, now=NOW)
    recorded = changes(session)[before:]
    assert [(e.action, e.subject, e.actor_id, e.via) for e in recorded] == [
        ("user.created", "user:newagent", admin.id, "web"),
        ("user.groups", "user:newagent", admin.id, "web"),
        ("user.deactivated", "user:newagent", admin.id, "web")]
    assert recorded[1].data["joined"] == ["coal_chemical"]
    assert [e.seq for e in recorded] == list(range(recorded[0].seq, recorded[0].seq + 3))
    assert recorded[1].prev_hash == recorded[0].hash and recorded[2].prev_hash == recorded[1].hash
    assert zone_audit.verify(session) == ([], len(changes(session)))


def test_a_refused_change_records_nothing(session):
    admin = f.user(session, "root", role="admin")
    create(session, admin, "taken")
    before = len(changes(session))
    with pytest.raises(ValidationError):
        create(session, admin, "taken")
    with pytest.raises(ValidationError):
        users.reset_password(session, admin.id, "short", actor=admin, now=NOW)
    assert len(changes(session)) == before


def test_the_definition_in_force_is_recorded_once(session):
    from definitions import load_definition

    before = len(changes(session))
    install_definition(session, load_definition(DEFAULT_DIR), now=NOW)  # already in force
    assert len(changes(session)) == before


@pytest.mark.parametrize("tamper, problem", [
    ("edit", "content edited"),
    ("delete-middle", "missing"),
    ("delete-tail", "changes deleted at the end"),
])
def test_tampering_with_the_change_log_is_found(session, tamper, problem):
    admin = f.user(session, "root", role="admin")
    for name in ("one", "two", "three"):
        create(session, admin, name)
    session.flush()
    zone = zone_audit.zone_of(session)
    last = session.scalar(select(func.max(ZoneAuditEvent.seq)).where(ZoneAuditEvent.zone == zone))
    if tamper == "edit":
        session.execute(update(ZoneAuditEvent).where(ZoneAuditEvent.seq == last - 1)
                        .values(subject="user:someone-else"))
    elif tamper == "delete-middle":
        session.execute(delete(ZoneAuditEvent).where(ZoneAuditEvent.seq == last - 1))
    else:
        session.execute(delete(ZoneAuditEvent).where(ZoneAuditEvent.seq == last))
    session.expire_all()
    findings, _ = zone_audit.verify(session)
    assert findings and any(problem in str(x) for x in findings), findings


def test_daiban_audit_verify_checks_the_zone_log_and_records_cli_changes(tmp_path):
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'zone.sqlite3'}"}
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        installed = changes(session)
        assert [(e.action, e.via, e.actor_id) for e in installed] == [
            ("definition.installed", "cli", None)]
        admin = f.user(session, "root", role="admin")
        create(session, admin, "someone")
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 zone change(s) verified" in result.output

    with transaction(factory) as session:
        session.execute(update(ZoneAuditEvent).where(ZoneAuditEvent.seq == 2)
                        .values(data={"role": "admin"}))
    engine.dispose()
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "TAMPERED zone zuoyun change #2: content edited" in result.output


def test_concurrent_changes_never_fork_the_chain(session):
    """The head row is locked while appending; in one session the sequence is
    simply consecutive, and the head always names the last change."""
    admin = f.user(session, "root", role="admin")
    for i in range(5):
        create(session, admin, f"user{i}")
    session.flush()
    zone = zone_audit.zone_of(session)
    chain = session.get(ZoneAuditChain, zone)
    last = session.scalar(select(ZoneAuditEvent).where(ZoneAuditEvent.zone == zone)
                          .order_by(ZoneAuditEvent.seq.desc()).limit(1))
    assert (chain.seq, chain.head) == (last.seq, last.hash)


def test_parcels_and_chemical_tables_are_recorded_by_their_operations(session):
    from workflow.reforms import chemicals, land

    admin = f.user(session, "root", role="admin")
    session.info[zone_audit.VIA] = "api"
    before = len(changes(session))
    parcel = land.save_parcel(session, actor=admin, now=NOW, code="ZY-AUDIT-01", name="审计地块",
                              area_mu="50")
    land.set_indicator(session, parcel.id, code="tax_per_mu", name="", unit="", bound="min",
                       value="20", actor=admin, now=NOW)
    land.remove_indicator(session, parcel.id, "tax_per_mu", actor=admin, now=NOW)
    saved = chemicals.save_chemical(session, None, name="审计化学品", cas="", level="controlled",
                                    actor=admin, now=NOW)
    recorded = changes(session)[before:]
    assert [(e.action, e.subject, e.via) for e in recorded] == [
        ("parcel.created", "parcel:ZY-AUDIT-01", "api"),
        ("parcel.indicator_set", "parcel:ZY-AUDIT-01", "api"),
        ("parcel.indicator_removed", "parcel:ZY-AUDIT-01", "api"),
        (f"chemicals.{saved.action}", f"chemical:{saved.subject}", "api")]
    assert recorded[0].data["area_mu"] == "50" and recorded[1].data["value"] == "20"
    with pytest.raises(ValidationError):
        land.save_parcel(session, actor=admin, now=NOW, code="ZY-AUDIT-01", name="重复",
                         area_mu="-1")
    assert len(changes(session)) == before + 4
    assert zone_audit.verify(session)[0] == []


def test_api_tokens_issued_and_revoked_are_recorded(session):
    from workflow.accounts import tokens

    person = f.user(session, "robot", role="agent")
    before = len(changes(session))
    row, _ = tokens.issue_token(session, person, name="报表", now=NOW)
    tokens.revoke_token(session, row.id, now=NOW)
    tokens.revoke_token(session, row.id, now=NOW)  # already revoked: nothing new
    assert [(e.action, e.subject, e.data["token"]) for e in changes(session)[before:]] == [
        ("token.issued", "user:robot", row.id), ("token.revoked", "user:robot", row.id)]

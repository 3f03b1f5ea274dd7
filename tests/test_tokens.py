"""API bearer tokens: ``daiban token create`` / ``revoke`` and ``workflow.accounts.tokens``."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from web import create_app
from web.cli import cli
from workflow.accounts import tokens
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.errors import NotFound, ValidationError
from workflow.models import ApiToken


@pytest.fixture
def ops_db(sqlite_template, tmp_path):
    """A migrated SQLite file with one agent, alice, and the env naming it."""
    path = tmp_path / "ops.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        f.user(session, "alice", "agent", groups=("equipment",))
    engine.dispose()
    return {"DATABASE_URL": url}


def stored_tokens(url: str) -> list[ApiToken]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
    engine.dispose()
    return rows


def api_inbox_status(url: str, tmp_path, token: str) -> int:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    try:
        response = app.test_client().get("/api/v1/inbox",
                                         headers={"Authorization": f"Bearer {token}"})
        return response.status_code
    finally:
        app.extensions["daiban_engine"].dispose()


def test_token_create_prints_a_token_that_authenticates_and_stores_only_its_hash(ops_db, tmp_path):
    result = CliRunner().invoke(cli, ["token", "create", "alice", "--name", "nightly export"],
                                env=ops_db)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("dbn_") and len(token) > 40 and "\n" not in token
    assert "shown only now" in result.output

    [row] = stored_tokens(ops_db["DATABASE_URL"])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.name == "nightly export" and row.revoked_at is None
    assert token not in {row.token_hash, row.name}
    assert api_inbox_status(ops_db["DATABASE_URL"], tmp_path, token) == 200
    assert stored_tokens(ops_db["DATABASE_URL"])[0].last_used_at is not None

    result = CliRunner().invoke(cli, ["token", "revoke", str(row.id)], env=ops_db)
    assert result.exit_code == 0 and f"#{row.id} revoked" in result.output
    assert api_inbox_status(ops_db["DATABASE_URL"], tmp_path, token) == 401
    again = CliRunner().invoke(cli, ["token", "revoke", str(row.id)], env=ops_db)
    assert again.exit_code == 0 and "already revoked" in again.output


def test_token_create_for_an_unknown_user_fails_clearly(ops_db):
    result = CliRunner().invoke(cli, ["token", "create", "nobody"], env=ops_db)
    assert result.exit_code != 0
    assert "There is no user 'nobody'" in result.output and "dbn_" not in result.output
    assert stored_tokens(ops_db["DATABASE_URL"]) == []


def test_token_revoke_of_an_unknown_id_fails_clearly(ops_db):
    result = CliRunner().invoke(cli, ["token", "revoke", "42"], env=ops_db)
    assert result.exit_code != 0 and "no API token #42" in result.output
    result = CliRunner().invoke(cli, ["token", "revoke", "forty-two"], env=ops_db)
    assert result.exit_code != 0


def test_each_token_is_new_and_only_active_users_get_one(session):
    alice = f.user(session, role="agent", groups=("equipment",))
    first, plain_first = tokens.issue_token(session, alice, name="a", now=at("2026-03-02"))
    second, plain_second = tokens.issue_token(session, alice, now=at("2026-03-02"))
    assert plain_first != plain_second and first.token_hash != second.token_hash
    assert first.token_hash == tokens.token_hash(plain_first)
    with pytest.raises(ValidationError):
        tokens.issue_token(session, alice, name="x" * 101, now=at("2026-03-02"))
    alice.active = False
    with pytest.raises(ValidationError, match="not active"):
        tokens.issue_token(session, alice, now=at("2026-03-02"))
    with pytest.raises(NotFound):
        tokens.issue_token_for(session, "no-such-user", now=at("2026-03-02"))
    row, revoked = tokens.revoke_token(session, first.id, now=at("2026-03-03"))
    assert revoked and row.revoked_at is not None
    assert tokens.revoke_token(session, first.id, now=at("2026-03-04"))[1] is False

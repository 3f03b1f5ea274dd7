"""Sessions, login throttling, cookies, headers and uploads."""

from __future__ import annotations

from sqlalchemy import select

from tests import factories as f
from tests.web.conftest import csrf_token, login
from workflow.models import Attachment


def test_logout_invalidates_the_session_on_the_server(app, as_user):
    client, token = as_user("alice")
    stolen = client.get_cookie("daiban_session").value
    client.post("/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("daiban_session", stolen)
    response = replay.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_attempts_are_limited_per_user(app, world):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "alice", "wrong-password").status_code == 401
    blocked = login(client, "alice")  # the right password, too late
    assert blocked.status_code == 429
    assert "/inbox" not in blocked.headers.get("Location", "")


def test_session_cookie_flags(app, world):
    client = app.test_client()
    response = client.post("/login", data={"username": "alice", "password": "correct-horse-1",
                                           "csrf_token": csrf_token(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    from web import create_app

    production = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x"})
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    production.extensions["daiban_engine"].dispose()


def test_security_headers_on_every_page(app):
    response = app.test_client().get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_agent_attaches_a_file_to_a_task_and_it_is_served_as_an_attachment(as_user, world, db):
    import io

    task = f.task(world["project"], "u01_survey")
    client, token = as_user("alice")
    response = client.post(f"/projects/{world['project'].code}/files", data={
        "csrf_token": token, "task_id": str(task.id), "next": f"/tasks/{task.id}",
        "file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64), "界址图.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    row = db.scalar(select(Attachment).where(Attachment.task_id == task.id))
    db.commit()
    assert row.content_type == "image/png" and row.storage_name != "界址图.png"
    assert "界址图.png" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    download = client.get(f"/files/{row.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.get_data().startswith(b"\x89PNG")
    download.close()


def test_redirect_targets_never_leave_the_site(as_user, world, db):
    task = f.task(world["project"], "u01_survey")
    client, token = as_user("alice")
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:x"):
        response = client.post(f"/tasks/{task.id}/claim" if target.startswith("//") else
                               "/lang/en", data={"csrf_token": token, "next": target})
        assert response.headers["Location"].startswith("/"), target
        assert "evil" not in response.headers["Location"]
    kept = client.post("/lang/zh_CN", data={"csrf_token": token, "next": "/inbox?tab=queue"})
    assert kept.headers["Location"] == "/inbox?tab=queue"


def test_pages_with_the_zone_s_and_enterprises_particulars_are_never_cached(app, as_user, world, db):
    """``no-store`` on every page of a project, a task, the portal, documents,
    commitments, land, supervision and admin, whatever its status (a refusal
    too), set in one place (web.support.security); the PDF overrides the
    ``no-cache`` that ``send_file`` sets."""
    from workflow.models import AgencyDocument

    lead, token = as_user("lead")
    # The project's 委托书 came with its mandate (the world's factory mandated it).
    document_id = db.scalar(select(AgencyDocument.id).where(
        AgencyDocument.project_id == world["project"].id))
    db.commit()  # end the read: the app's requests write
    admin, admin_token = as_user("admin")
    acme, _ = as_user("acme")
    visits = [
        (lead, "get", f"/documents/{document_id}", 200),
        (lead, "get", f"/documents/{document_id}.pdf", 200),
        (lead, "get", "/projects/P-ACME-1", 200),
        (lead, "get", "/commitments/999", 404),
        (lead, "post", "/gaps/999/fulfil", 404),
        (lead, "post", "/rectifications/999/answer", 404),
        (lead, "get", "/supervision", 200),
        (lead, "get", "/supervision/figures", 200),
        (lead, "get", "/land/parcels", 200),
        (lead, "get", "/land/figures", 200),
        (admin, "get", "/admin/credit", 200),
        (admin, "get", "/admin/users", 200),
        (acme, "get", "/portal", 200),
        (acme, "get", "/portal/projects/P-ACME-1", 200),
        (acme, "get", "/land/parcels", 403),
        (app.test_client(), "get", "/lookup", 200),
    ]
    for client, method, url, status in visits:
        data = {"csrf_token": token if client is lead else admin_token} if method == "post" else None
        response = getattr(client, method)(url, data=data)
        assert response.status_code == status, url
        assert response.headers.get("Cache-Control") == "no-store", url

"""The enterprise's mandate through Flask's test client: the lead issues the
委托书, the enterprise reads it in its portal and signs it (or declines it),
a lead records a paper signature with its scan, agents are kept out of the
items until it is signed on the pages and the API alike, and a change of
scope takes effect once signed."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.web.test_documents import assert_content, fresh
from workflow.accounts import tokens
from workflow.kernel.signatures import sha256_of
from workflow.models import AgencyDocument, Attachment, AuditEvent, ItemTask, Project

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def fresh_project(db, world, clock):
    """A signed (签约) project of acme, not yet mandated."""
    project = f.project(db, clock.moment, company=world["project"].enterprise,
                        lead=world["users"]["lead"], mandate=False, code="P-ACME-2")
    db.commit()
    return project


@pytest.fixture
def unsigned(db, world, clock):
    """A project of acme mandated through the engine (approvals begun) whose
    委托书 waits for the enterprise's signature."""
    project = f.project(db, clock.moment, company=world["project"].enterprise,
                        lead=world["users"]["lead"], signed=False, code="P-ACME-3")
    db.commit()
    return project


def mandate_of(db, project) -> AgencyDocument:
    return fresh(db, AgencyDocument, project_id=project.id, kind="mandate")[-1]


def task_of(db, project, item="u01_survey") -> ItemTask:
    return fresh(db, ItemTask, project_id=project.id, item_code=item)[0]


def stage_of(db, project) -> str:
    return fresh(db, Project, id=project.id)[0].stage


def shown_digest(page: str, document_id: int) -> str:
    """The digest the portal's sign form sends for a document."""
    section = page[page.index(f'data-to-sign="{document_id}"'):]
    return re.search(r'name="sha256" value="([0-9a-f]{64})"', section).group(1)


# -- the portal flow as the enterprise ------------------------------------------------------

def test_the_enterprise_reads_and_signs_its_mandate_in_the_portal(as_user, world, db,
                                                                  fresh_project):
    lead, lead_token = as_user("lead")
    response = lead.post(f"/projects/{fresh_project.code}/documents/mandate",
                         data={"csrf_token": lead_token})
    assert response.status_code == 302
    mandate = mandate_of(db, fresh_project)
    assert mandate.status == "awaiting" and stage_of(db, fresh_project) == "mandated"
    staff_page = lead.get(f"/projects/{fresh_project.code}").get_data(as_text=True)
    assert 'data-answer="awaiting"' in staff_page and "待委托方签署" in staff_page

    client, token = as_user("acme")
    page = client.get(f"/portal/projects/{fresh_project.code}").get_data(as_text=True)
    assert f'data-to-sign="{mandate.id}"' in page and 'data-action="sign_mandate"' in page
    assert "帮办代办不包办" in page and "地形图测绘及土地勘测定界" in page
    digest = shown_digest(page, mandate.id)
    assert digest == sha256_of(mandate.data["text"])
    response = client.post(f"/documents/{mandate.id}/sign", data={
        "csrf_token": token, "signatory": "张经理", "consent": "1", "sha256": digest})
    assert response.status_code == 302
    mandate = mandate_of(db, fresh_project)
    assert (mandate.status, mandate.signed_via, mandate.signatory) == ("signed", "portal", "张经理")
    assert mandate.signed_sha256 == digest
    assert stage_of(db, fresh_project) == "approving"
    assert task_of(db, fresh_project).state == "ready"
    page = client.get(f"/portal/projects/{fresh_project.code}").get_data(as_text=True)
    assert f'data-to-sign="{mandate.id}"' not in page and "张经理 于 2026-03-02 在线签署" in page
    assert_content(lead, mandate, "委托方签署", "张经理于2026-03-02在线签署", digest)


def test_a_signature_that_is_not_what_was_shown_changes_nothing(as_user, world, db, unsigned):
    mandate = mandate_of(db, unsigned)
    client, token = as_user("acme")
    good = {"csrf_token": token, "signatory": "张经理", "consent": "1",
            "sha256": sha256_of(mandate.data["text"])}
    for bad, status in (({"sha256": sha256_of("别的文本")}, 409), ({"consent": ""}, 400),
                        ({"consent": "maybe"}, 400), ({"signatory": " "}, 400),
                        ({"signatory": "张" * 201}, 400), ({"sha256": "a\x00b"}, 400),
                        ({"sha256": "f" * 65}, 400)):
        response = client.post(f"/documents/{mandate.id}/sign", data={**good, **bad})
        assert response.status_code == status, bad
    assert mandate_of(db, unsigned).status == "awaiting"
    # Another enterprise does not find it; staff may not sign for the enterprise.
    other, other_token = as_user("other")
    assert other.post(f"/documents/{mandate.id}/sign",
                      data={**good, "csrf_token": other_token}).status_code == 404
    lead, lead_token = as_user("lead")
    assert lead.post(f"/documents/{mandate.id}/sign",
                     data={**good, "csrf_token": lead_token}).status_code == 403
    assert mandate_of(db, unsigned).status == "awaiting"


def test_the_enterprise_declines_with_a_reason_the_lead_reads(as_user, world, db, unsigned):
    mandate = mandate_of(db, unsigned)
    client, token = as_user("acme")
    for reason in ("", " ", "x" * 2001):
        response = client.post(f"/documents/{mandate.id}/decline",
                               data={"csrf_token": token, "reason": reason})
        assert response.status_code == 400
    assert mandate_of(db, unsigned).status == "awaiting"
    response = client.post(f"/documents/{mandate.id}/decline",
                           data={"csrf_token": token, "reason": "供电接入由我公司自行办理"})
    assert response.status_code == 302
    assert mandate_of(db, unsigned).status == "declined"
    lead, lead_token = as_user("lead")
    page = lead.get(f"/projects/{unsigned.code}").get_data(as_text=True)
    assert "拒绝签署：供电接入由我公司自行办理" in page
    assert 'data-action="issue_mandate"' in page  # a revised one may be issued
    lead.post(f"/projects/{unsigned.code}/documents/mandate", data={"csrf_token": lead_token})
    assert mandate_of(db, unsigned).status == "awaiting"
    assert len(fresh(db, AgencyDocument, project_id=unsigned.id, kind="mandate")) == 2


# -- agents are kept out until it is signed, on every path ----------------------------------

def test_agents_cannot_act_before_the_signature_on_the_pages_or_the_api(app, as_user, world, db,
                                                                      unsigned, clock):
    survey = task_of(db, unsigned)
    alice, token = as_user("alice")
    assert alice.post(f"/tasks/{survey.id}/claim", data={"csrf_token": token}).status_code == 302
    response = alice.post(f"/tasks/{survey.id}/start", data={"csrf_token": token})
    assert response.status_code == 409
    assert "委托书" in response.get_data(as_text=True) or "mandate" in response.get_data(
        as_text=True)
    _, bearer = tokens.issue_token(db, world["users"]["alice"], name="test", now=clock.moment)
    db.commit()
    api = app.test_client().post(f"/api/v1/tasks/{survey.id}/start",
                                 headers={"Authorization": f"Bearer {bearer}"}, json={})
    assert api.status_code == 409 and api.get_json()["error"] == "invalid_transition"
    assert task_of(db, unsigned).state == "assigned"
    # Once the enterprise signed, the same step goes through.
    mandate = mandate_of(db, unsigned)
    acme, acme_token = as_user("acme")
    acme.post(f"/documents/{mandate.id}/sign", data={
        "csrf_token": acme_token, "signatory": "张经理", "consent": "1",
        "sha256": sha256_of(mandate.data["text"])})
    assert mandate_of(db, unsigned).status == "signed"
    assert alice.post(f"/tasks/{survey.id}/start", data={"csrf_token": token}).status_code == 302
    assert task_of(db, unsigned).state == "in_progress"


# -- the paper signature, by a lead, with its scan ------------------------------------------

def paper(client, token, document, **fields):
    data = {"csrf_token": token, "signatory": "李总", "signed_on": "2026-03-02",
            "scan": (BytesIO(PDF), "签字页.pdf"), **fields}
    return client.post(f"/documents/{document.id}/paper", data=data,
                       content_type="multipart/form-data")


def stored(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_lead_records_the_paper_signature_with_its_scan(app, as_user, world, db, unsigned):
    mandate = mandate_of(db, unsigned)
    for name, status in (("alice", 403), ("admin", 403), ("acme", 403), ("sup", 403)):
        client, token = as_user(name)
        assert paper(client, token, mandate).status_code == status, name
    lead, token = as_user("lead")
    for bad in ({"scan": (BytesIO(b"MZ\x90\x00"), "签字页.pdf")}, {"signed_on": "2026-02-30"},
                {"signed_on": "2026-03-09"}, {"signatory": ""}, {"signatory": "a\x00b"}):
        response = paper(lead, token, mandate, **bad)
        assert response.status_code == 400, bad
    no_file = lead.post(f"/documents/{mandate.id}/paper", data={
        "csrf_token": token, "signatory": "李总", "signed_on": "2026-03-02"},
        content_type="multipart/form-data")
    assert no_file.status_code == 400
    assert mandate_of(db, unsigned).status == "awaiting"
    assert fresh(db, Attachment) == [] and stored(app) == []
    assert paper(lead, token, mandate).status_code == 302
    mandate = mandate_of(db, unsigned)
    assert (mandate.status, mandate.signed_via, mandate.signatory) == ("signed", "paper", "李总")
    [scan] = fresh(db, Attachment)
    assert mandate.scan_id == scan.id and scan.original_name == "签字页.pdf"
    assert [p.name for p in stored(app)] == [scan.storage_name]
    page = lead.get(f"/projects/{unsigned.code}").get_data(as_text=True)
    assert f'data-scan="{scan.id}"' in page and "李总 于 2026-03-02 纸质签署" in page
    client, _ = as_user("acme")
    download = client.get(f"/files/{scan.id}")  # the enterprise reads its scan
    assert download.status_code == 200 and download.data == PDF
    download.close()
    assert paper(lead, token, mandate).status_code == 409  # signed already


# -- a change of scope, signed -------------------------------------------------------------

def test_a_change_of_scope_takes_effect_once_the_enterprise_signs_it(as_user, world, db):
    lead, lead_token = as_user("lead")
    response = lead.post("/projects/P-ACME-1/documents/scope", data={
        "csrf_token": lead_token, "remove": "power_connection", "reason": "企业自行办理供电"})
    assert response.status_code == 302
    [change] = fresh(db, AgencyDocument, project_id=world["project"].id, kind="continuation")
    assert change.status == "awaiting"
    assert task_of(db, world["project"], "power_connection").state == "blocked"
    page = lead.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="change_scope"' not in page  # one change waits at a time
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert f'data-to-sign="{change.id}"' in page and "企业自行办理供电" in page
    client.post(f"/documents/{change.id}/sign", data={
        "csrf_token": token, "signatory": "张经理", "consent": "1",
        "sha256": shown_digest(page, change.id)})
    assert task_of(db, world["project"], "power_connection").state == "terminated"
    assert fresh(db, AgencyDocument, id=change.id)[0].status == "signed"
    events = db.scalars(select(AuditEvent.action).where(
        AuditEvent.project_id == world["project"].id)).all()
    db.commit()
    assert "document.signed" in events

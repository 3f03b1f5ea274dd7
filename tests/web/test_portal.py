"""The enterprise portal and the public lookup, through Flask's test client."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from tests.factories import at
from tests.web.conftest import csrf_token
from workflow.accounts import access_codes
from workflow.core import operations as ops
from workflow.models import Attachment, AuditEvent, ItemTask, LoginAttempt, MaterialRequest, Project

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def task_of(db, world, item="u01_survey", project="project"):
    """The task as the database has it now (the read transaction ends at once:
    SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world[project].id,
                                            ItemTask.item_code == item)
                     .execution_options(populate_existing=True))
    db.commit()
    return task


def count(db, column, *where):
    n = db.scalar(select(func.count(column)).where(*where))
    db.commit()
    return n


def ask_for_materials(db, world, clock, project="project") -> MaterialRequest:
    """The agent claims and starts the survey, then asks the enterprise for
    two missing materials (一次性告知), through the engine directly."""
    alice = world["users"]["alice"]
    task = task_of(db, world, project=project)
    ops.claim_task(db, task.id, actor=alice, now=clock.moment)
    ops.start_task(db, task.id, actor=alice, now=clock.moment)
    request = ops.request_materials(
        db, task.id, [{"code": "m1", "name": "宗地界址图"},
                      {"code": "m2", "name": "营业执照副本", "note": "加盖公章"}],
        deadline=date(2026, 3, 9), actor=alice, now=clock.moment, note="请扫描为PDF后上传")
    db.commit()
    return request


def uploaded_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return list(folder.iterdir()) if folder.exists() else []


# -- only their own projects --------------------------------------------------------------

def test_an_enterprise_sees_only_its_own_projects(as_user):
    client, _ = as_user("acme")
    response = client.get("/portal")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-project="P-ACME-1"' in page and "P-OTHER-1" not in page
    assert 'class="pbar"' in page and 'class="st-ready"' in page


def test_staff_cannot_open_the_portal(as_user):
    for name in ("alice", "lead", "sup", "admin"):
        client, _ = as_user(name)
        assert client.get("/portal").status_code == 403
        assert client.get("/portal/projects/P-ACME-1").status_code == 403


def test_another_enterprises_project_file_and_forms_answer_404(as_user, world, db, clock, app):
    request = ask_for_materials(db, world, clock, project="rival")
    rival_task = task_of(db, world, project="rival")
    other, other_token = as_user("other")
    other.post(f"/portal/projects/P-OTHER-1/requests/{request.id}/files", data={
        "csrf_token": other_token, "file": (BytesIO(PDF), "界址图.pdf")},
        content_type="multipart/form-data")
    file_id = db.scalar(select(Attachment.id).where(Attachment.project_id == world["rival"].id))
    db.commit()
    client, token = as_user("acme")
    assert client.get("/portal/projects/P-OTHER-1").status_code == 404
    assert client.get("/projects/P-OTHER-1").status_code == 404
    assert client.get(f"/files/{file_id}").status_code == 404
    assert client.get(f"/tasks/{rival_task.id}").status_code == 404
    for path in (f"/portal/projects/P-OTHER-1/requests/{request.id}/supplied",
                 f"/portal/projects/P-ACME-1/requests/{request.id}/supplied",
                 "/portal/projects/P-OTHER-1/comments"):
        response = client.post(path, data={"csrf_token": token, "body": "看看"})
        assert response.status_code == 404, path
    for path in (f"/tasks/{rival_task.id}/supply_materials", f"/tasks/{rival_task.id}/comment"):
        # The staff's task routes refuse an enterprise whatever the task (issue 10).
        response = client.post(path, data={"csrf_token": token, "body": "看看"})
        assert response.status_code == 403, path
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files", data={
        "csrf_token": token, "file": (BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 404
    assert task_of(db, world, project="rival").state == "awaiting_enterprise"
    assert count(db, Attachment.id) == 1 and len(uploaded_files(app)) == 1
    # Its own enterprise may fetch the file, as an attachment.
    response = other.get(f"/files/{file_id}")
    assert response.status_code == 200 and response.data == PDF
    assert "attachment" in response.headers["Content-Disposition"]
    response.close()


# -- what the enterprise must supply, and the upload ----------------------------------------

def test_the_enterprise_answers_a_materials_request(as_user, world, db, clock, app):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    index = client.get("/portal").get_data(as_text=True)
    assert "有 1 份补正通知需要您提交材料" in index
    notices = index[index.index("portal-notices"):]
    assert "地形图测绘及土地勘测定界" in notices  # the notification the request sent
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert f'data-material-request="{request.id}"' in page
    assert "宗地界址图" in page and "营业执照副本" in page and "加盖公章" in page
    assert "请于 2026-03-09 前提交" in page and "请扫描为PDF后上传" in page

    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files", data={
        "csrf_token": token, "file": [(BytesIO(PDF), "宗地界址图.pdf"),
                                      (BytesIO(PDF + b"2"), "营业执照.pdf")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    task = task_of(db, world)
    files = db.scalars(select(Attachment).where(Attachment.task_id == task.id)).all()
    db.commit()
    assert sorted(f.original_name for f in files) == ["宗地界址图.pdf", "营业执照.pdf"]
    assert {f.content_type for f in files} == {"application/pdf"}
    assert len(uploaded_files(app)) == 2
    assert "宗地界址图.pdf" in client.get("/portal/projects/P-ACME-1").get_data(as_text=True)

    clock.moment += timedelta(hours=1)  # (within the enterprise's idle limit, 2 hours)
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/supplied",
                           data={"csrf_token": token, "version": task.version,
                                 "note": "已全部上传"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/projects/P-ACME-1")
    task = task_of(db, world)
    assert task.state == "in_progress" and task.paused_since is None
    assert count(db, MaterialRequest.id, MaterialRequest.fulfilled_at.is_(None)) == 0
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "目前没有需要您补正的材料" in page
    # A second "supplied" on the answered request changes nothing.
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/supplied",
                           data={"csrf_token": token})
    assert response.status_code == 400


def test_a_disguised_file_is_refused_and_nothing_is_stored(as_user, world, db, clock, app):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files", data={
        "csrf_token": token, "file": (BytesIO(b"MZ\x90\x00\x03" + b"\x00" * 64), "报告.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert count(db, Attachment.id) == 0 and uploaded_files(app) == []
    # A good file with a bad one in the same form: neither is kept.
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files", data={
        "csrf_token": token, "file": [(BytesIO(PDF), "a.pdf"), (BytesIO(b"MZ\x90"), "b.pdf")]},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert count(db, Attachment.id) == 0 and uploaded_files(app) == []


def test_a_too_large_upload_answers_413(as_user, world, db, clock, app):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files", data={
        "csrf_token": token, "file": (BytesIO(PDF + b"0" * 8192), "big.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert count(db, Attachment.id) == 0 and uploaded_files(app) == []


def test_an_upload_without_a_file_is_a_clear_400(as_user, world, db, clock):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files",
                           data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400


# -- the picture of progress ----------------------------------------------------------------

def test_the_graph_has_one_node_per_item_coloured_by_state(as_user, world, db, clock):
    ask_for_materials(db, world, clock)
    client, _ = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    svg = page[page.index('<svg class="depgraph"'):]
    svg = svg[:svg.index("</svg>")]
    tasks = db.scalars(select(ItemTask).where(ItemTask.project_id == world["project"].id)).all()
    db.commit()
    nodes = re.findall(r'<g class="node st-(\w+)[^"]*" data-item="(\w+)"', svg)
    assert len(nodes) == len(tasks) == 28  # the items a general project does
    assert dict((code, state) for state, code in nodes) == {t.item_code: t.state for t in tasks}
    assert ("awaiting_enterprise", "u01_survey") in nodes and ("blocked", "land_transfer") in nodes
    assert "地形图测绘及土" in svg and "自然资源局" in svg  # the name (wrapped) and department
    assert "03-" in svg  # due dates
    # One arrow per prerequisite: land transfer needs 13 items.
    assert len(re.findall(r'data-to="land_transfer"', svg)) == 13
    assert 'style=' not in page  # the CSP forbids inline styles


def test_the_graph_has_a_text_equivalent_for_screen_readers_and_the_keyboard(as_user, world, db, clock):
    """The picture is hidden from assistive technology, its boxes out of the
    tab order; a list beside it names the same items in the same order, each
    with its state and its prerequisites by name (WCAG 1.1.1, 2.1.1)."""
    ask_for_materials(db, world, clock)
    client, _ = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    svg = page[page.index('<svg class="depgraph"'):]
    svg_tag, svg = svg[:svg.index(">")], svg[:svg.index("</svg>")]
    assert 'aria-hidden="true"' in svg_tag and 'role="img"' not in svg_tag
    links = re.findall(r"<a [^>]*>", svg)
    assert links and all('tabindex="-1"' in a for a in links)
    text = page[page.index('id="graph-text"'):]
    text = text[:text.index("</details>")]
    listed = re.findall(r'<li data-item="(\w+)">(.*?)</li>', text)
    assert [code for code, _ in listed] == re.findall(r'<g class="node [^"]*" data-item="(\w+)"', svg)
    entry = dict(listed)["land_transfer"]
    assert entry.count("、") == 12  # its 13 prerequisites, by name
    assert "地形图测绘及土" in dict(listed)["u01_survey"]


def test_an_overdue_item_is_marked_red_on_the_graph(as_user, world, clock):
    clock.moment += timedelta(days=40)
    client, _ = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert re.search(r'<g class="node st-ready lt-red" data-item="u01_survey"', page)


# -- the timeline and comments -------------------------------------------------------------

def test_the_timeline_shows_public_events_only(as_user, world, db, clock):
    ask_for_materials(db, world, clock)
    lead = world["users"]["lead"]
    ops.add_comment(db, world["project"].id, "内部：该企业材料一向拖延", actor=lead, now=clock.moment)
    ops.add_comment(db, world["project"].id, "请注意补正期限", actor=lead, now=clock.moment,
                    public=True)
    db.commit()
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    timeline = page[page.index('id="timeline"'):]
    assert "请注意补正期限" in timeline and "内部" not in page
    assert "一次性告知补正" in timeline and "签订代办委托书" in timeline
    assert 'data-action="task.claim"' not in timeline  # not a public event
    response = client.post("/portal/projects/P-ACME-1/comments",
                           data={"csrf_token": token, "body": "界址图已在扫描"})
    assert response.status_code == 302
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "界址图已在扫描" in page
    staff, _ = as_user("alice")
    assert "界址图已在扫描" in staff.get("/projects/P-ACME-1").get_data(as_text=True)


def test_an_empty_comment_is_a_clear_400(as_user):
    client, token = as_user("acme")
    response = client.post("/portal/projects/P-ACME-1/comments",
                           data={"csrf_token": token, "body": "  "})
    assert response.status_code == 400


# -- access codes ----------------------------------------------------------------------------

def issue(client, token, code="P-ACME-1"):
    response = client.post(f"/projects/{code}/access-code", data={"csrf_token": token})
    found = re.search(r'<code class="access-code">([A-Z0-9-]+)</code>', response.get_data(as_text=True))
    return response, found.group(1) if found else None


def test_the_lead_issues_an_access_code_shown_once(as_user, world, db):
    client, token = as_user("lead")
    response, code = issue(client, token)
    assert response.status_code == 200 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert response.headers["Cache-Control"] == "no-store"
    project = db.get(Project, world["project"].id, populate_existing=True)
    event = db.scalar(select(AuditEvent).where(AuditEvent.project_id == project.id)
                      .order_by(AuditEvent.seq.desc()))
    db.commit()
    assert project.access_code_hash and code.replace("-", "") not in project.access_code_hash
    assert event.action == "project.access_code_issued" and not event.public
    assert code not in str(event.data) and code.replace("-", "") not in str(event.data)
    assert access_codes.check_access_code(db, "P-ACME-1", code.lower()).id == project.id
    assert access_codes.check_access_code(db, "P-OTHER-1", code) is None
    db.commit()
    # A new code replaces the old one.
    _, newer = issue(client, token)
    assert newer != code
    assert access_codes.check_access_code(db, "P-ACME-1", code) is None
    assert access_codes.check_access_code(db, "P-ACME-1", newer) is not None
    db.commit()


def test_the_access_code_form_for_the_staff_project_page(app, world):
    with app.test_request_context("/projects/P-ACME-1"):
        html = render_template_string('{% include "portal/_access_code_form.html" %}',
                                      project=world["project"])
    assert 'action="/projects/P-ACME-1/access-code"' in html and "生成查询码" in html
    assert 'name="csrf_token"' in html


@pytest.mark.parametrize("name, status", [("alice", 403), ("acme", 403), ("sup", 403),
                                          ("olga", 404), ("other", 403), ("admin", 200)])
def test_who_may_issue_an_access_code(as_user, world, db, name, status):
    before = db.get(Project, world["project"].id).access_code_hash  # the mandate's code
    db.commit()
    client, token = as_user(name)
    response, _ = issue(client, token)
    assert response.status_code == status
    project = db.get(Project, world["project"].id, populate_existing=True)
    db.commit()
    assert (project.access_code_hash != before) == (status == 200)


# -- the public lookup ----------------------------------------------------------------------

def lookup(client, code, access_code):
    token = csrf_token(client, "/lookup")
    return client.post("/lookup", data={"csrf_token": token, "project_code": code,
                                        "access_code": access_code})


def test_public_lookup_shows_a_minimal_status(app, as_user, world, db, clock):
    ask_for_materials(db, world, clock)
    lead, token = as_user("lead")
    ops.add_comment(db, world["project"].id, "公开留言", actor=world["users"]["lead"],
                    now=clock.moment, public=True)
    db.commit()
    _, code = issue(lead, token)
    client = app.test_client()
    assert client.get("/lookup").status_code == 200
    response = lookup(client, "P-ACME-1", code.replace("-", " ").lower())
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "P-ACME-1" in page and "审批中" in page and 'class="pbar"' in page
    assert page.count('<tr data-item="') == 28 and "待企业补正" in page
    for private in ("alice", "lead", "公开留言", "宗地界址图", "/files/"):
        assert private not in page


def test_public_lookup_failures_say_one_generic_thing(app, as_user, world):
    lead, token = as_user("lead")
    _, code = issue(lead, token)
    client = app.test_client()
    for project_code, access in (("P-ACME-1", "AAAA-AAAA"), ("P-NOPE-9", code),
                                 ("P-OTHER-1", code), ("P-ACME-1", "")):
        response = lookup(client, project_code, access)
        assert response.status_code == 401
        assert "项目代码或查询码不正确" in response.get_data(as_text=True)
    response = client.post("/lookup", data={"project_code": "P-ACME-1", "access_code": code})
    assert response.status_code == 400  # no CSRF token


def test_six_wrong_lookups_block_the_seventh_for_15_minutes(app, as_user, world, db, clock):
    lead, token = as_user("lead")
    _, code = issue(lead, token)
    client = app.test_client()
    for _n in range(6):
        assert lookup(client, "P-ACME-1", "WRNG-CODE").status_code == 401
    response = lookup(client, "P-ACME-1", code)
    assert response.status_code == 429
    assert "P-ACME-1" in response.get_data(as_text=True)  # the form, not the status
    assert "class=\"pbar\"" not in response.get_data(as_text=True)
    # Another project code from the same address is blocked too (per address).
    assert lookup(client, "P-OTHER-1", code).status_code == 429
    # Logging in from that address is not affected.
    assert count(db, LoginAttempt.id, LoginAttempt.ip == "127.0.0.1",
                 LoginAttempt.success.is_(False)) == 0
    clock.moment += timedelta(minutes=14)
    assert lookup(client, "P-ACME-1", code).status_code == 429
    clock.moment += timedelta(minutes=2)
    assert lookup(client, "P-ACME-1", code).status_code == 200


def test_check_access_code_without_an_issued_code_is_none(db, world):
    world["project"].access_code_hash = None
    db.flush()
    assert access_codes.check_access_code(db, "P-ACME-1", "ABCD-EFGH") is None
    assert access_codes.check_access_code(db, "", "") is None
    assert access_codes.check_access_code(db, "x" * 500, "ABCD-EFGH") is None
    db.commit()


def test_the_enterprise_applies_for_completion_acceptance_from_the_portal(as_user, world, db):
    from sqlalchemy import select

    from workflow.models import ItemTask, Project

    project = db.get(Project, world["project"].id)
    acceptance = db.scalar(select(ItemTask).where(ItemTask.project_id == project.id,
                                                  ItemTask.item_code == "completion_acceptance"))
    # Construction has started: the acceptance waits for the enterprise's application.
    project.stage = "started"
    for task in project.tasks:
        if task.item_code in ("construction_permit",):
            task.state, task.covered_ref = "covered", "test: permit issued"
    db.commit()
    client, token = as_user("acme")
    page = client.get(f"/portal/projects/{project.code}").get_data(as_text=True)
    assert 'data-apply="completion_acceptance"' in page
    response = client.post(f"/portal/projects/{project.code}/tasks/{acceptance.id}/request",
                           data={"csrf_token": token, "next": f"/portal/projects/{project.code}"})
    assert response.status_code == 302
    stored = db.scalar(select(ItemTask.state).where(ItemTask.id == acceptance.id))
    db.commit()
    assert stored == "ready"
    rival, rival_token = as_user("other")
    assert rival.post(f"/portal/projects/{project.code}/tasks/{acceptance.id}/request",
                      data={"csrf_token": rival_token}).status_code == 404


# -- every field and file is parsed at the edge: a bad value answers 400, changes nothing ---

@pytest.mark.parametrize("fields", [
    {"project_code": "P" * 41, "access_code": "ABCD-EFGH"},
    {"project_code": "P-ACME-1", "access_code": "A" * 33},
    {"project_code": "P-ACME-1\x1b", "access_code": "ABCD-EFGH"},
], ids=["long-code", "long-access-code", "escape"])
def test_a_malformed_lookup_answers_400_and_counts_nothing(app, as_user, world, db, fields):
    client = app.test_client()
    token = csrf_token(client, "/lookup")
    response = client.post("/lookup", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    assert count(db, LoginAttempt.id) == 0  # neither a failure nor a success recorded


def test_too_many_files_at_once_answer_400_and_nothing_is_stored(as_user, world, db, clock, app):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    files = [(BytesIO(PDF + bytes([n])), f"{n}.pdf") for n in range(21)]
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/files",
                           data={"csrf_token": token, "file": files},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert count(db, Attachment.id) == 0 and uploaded_files(app) == []


@pytest.mark.parametrize("fields", [{"version": "abc"}, {"version": "99999999999999999999"},
                                    {"note": "x" * 2001}, {"note": "已\x00提交"}],
                         ids=["version-text", "version-huge", "long-note", "nul-note"])
def test_a_bad_supplied_form_answers_400_and_the_clock_stays_paused(as_user, world, db, clock,
                                                                   fields):
    request = ask_for_materials(db, world, clock)
    client, token = as_user("acme")
    response = client.post(f"/portal/projects/P-ACME-1/requests/{request.id}/supplied",
                           data={"csrf_token": token, **fields})
    assert response.status_code == 400
    task = task_of(db, world)
    assert task.state == "awaiting_enterprise" and task.paused_since is not None


def test_a_bad_application_for_an_item_answers_400_and_opens_nothing(as_user, world, db):
    acceptance = task_of(db, world, item="completion_acceptance")
    client, token = as_user("acme")
    for version in ("abc", "-1", "1e999"):
        response = client.post(f"/portal/projects/P-ACME-1/tasks/{acceptance.id}/request",
                               data={"csrf_token": token, "version": version})
        assert response.status_code == 400
    assert task_of(db, world, item="completion_acceptance").state == "blocked"


def test_the_portal_shows_both_clocks_of_each_item_and_whose_time_runs(as_user, world, db, clock):
    """The enterprise sees, per item, the agent's service clock and the
    department's statutory clock: the survey, submitted and accepted on Wed
    03-04, is due 03-25 with the department (15 working days); the filing,
    still with the agents, is due 03-04 on its service clock (2 working days
    from Mon 03-02) and red on 03-05."""
    alice = world["users"]["alice"]
    survey = task_of(db, world)
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
        step(db, survey.id, actor=alice, now=at("2026-03-04", 10))
    db.commit()
    clock.moment = at("2026-03-05", 10)
    client, _ = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    rows = {code: row for code, row in re.findall(
        r'<tr id="item-\d+" data-item="(\w+)">(.*?)</tr>', page, re.S)}
    survey_row, filing_row = rows["u01_survey"], rows["project_filing"]
    assert 'data-whose="department"' in survey_row
    assert 'data-clock="service" data-status="stopped"' in survey_row
    assert 'data-clock="statutory" data-status="running"' in survey_row
    assert "2026-03-25" in survey_row
    assert 'data-whose="agent"' in filing_row
    assert 'data-clock="service" data-status="running"' in filing_row
    assert "2026-03-04" in filing_row and "超期 1 个工作日" in filing_row
    assert 'data-clock="statutory" data-status="waiting"' in filing_row
    assert "代办服务时限" in page and "法定办理时限" in page

"""Agency paperwork and 好差评 through Flask's test client: each document's
content in its print view AND its PDF, the lifecycle forms, who may read a
document, the portal's rating forms and the lead's rectification answer."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from tests.test_documents import drive_to_the_end
from workflow.core import operations as ops
from workflow.models import AgencyDocument, ItemTask, Project, Rating, Rectification


def fresh(db, model, **where):
    """Rows as the database has them now; the read transaction ends at once
    (SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    query = select(model).filter_by(**where).order_by(model.id)
    rows = db.scalars(query.execution_options(populate_existing=True)).all()
    db.commit()
    return rows


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(client, document_id: int) -> str:
    response = client.get(f"/documents/{document_id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    return flat("".join(page.extract_text() for page in reader.pages))


def assert_content(client, document: AgencyDocument, *texts: str) -> None:
    """Every text appears in the print view and in the PDF."""
    html = flat(client.get(f"/documents/{document.id}").get_data(as_text=True))
    assert "可能已被改动" not in html  # the snapshot still matches its hash
    pdf = pdf_text(client, document.id)
    for text in (document.number, document.sha256, "委托方（签章）", "受托方（签章）", *texts):
        assert flat(text) in html, f"{text} missing from the print view"
        assert flat(text) in pdf, f"{text} missing from the PDF"


def documents(db, world, kind=None):
    where = {"project_id": world["project"].id}
    if kind:
        where["kind"] = kind
    return fresh(db, AgencyDocument, **where)


def survey(db, world):
    return fresh(db, ItemTask, project_id=world["project"].id, item_code="u01_survey")[0]


def test_the_mandate_comes_with_parties_and_items_and_is_issued_once(as_user, world, db):
    """The project was mandated by the engine (the world's factory): the 委托书
    came with it, through the one door; issuing it again is refused."""
    credit_code = world["project"].enterprise.credit_code
    db.commit()
    client, token = as_user("lead")
    [mandate] = documents(db, world, "mandate")
    assert mandate.number == "左开代委〔2026〕0001号"
    assert_content(client, mandate, "代办服务委托书", "甲科技有限公司", credit_code,
                   "P-ACME-1", "lead", "左云经济技术开发区", "地形图测绘及土地勘测定界",
                   "出具规划条件", "施工许可", "帮办代办不包办")
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert mandate.number in page and f"/documents/{mandate.id}.pdf" in page
    again = client.post("/projects/P-ACME-1/documents/mandate", data={"csrf_token": token})
    assert again.status_code == 409 and len(documents(db, world, "mandate")) == 1


def test_suspending_issues_the_slip_and_pauses_every_clock(as_user, world, db, clock):
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/documents/suspend",
                           data={"csrf_token": token, "reason": "企业融资方案调整"})
    assert response.status_code == 302
    [slip] = documents(db, world, "suspension")
    assert_content(client, slip, "代办服务中止单", "企业融资方案调整", "2026-03-02", "暂停计算",
                   "地形图测绘及土地勘测定界")
    tasks = fresh(db, ItemTask, project_id=world["project"].id)
    assert all(t.state == "suspended" for t in tasks)
    assert all(t.paused_since is not None for t in tasks if t.accepted_on is not None)
    assert fresh(db, Project, id=world["project"].id)[0].stage == "suspended"


def test_a_suspension_without_a_reason_changes_nothing(as_user, world, db):
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/documents/suspend",
                           data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 400
    assert documents(db, world, "suspension") == [] and survey(db, world).state == "ready"


def test_terminating_issues_the_slip_and_ends_every_open_item(as_user, world, db):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/documents/terminate",
                data={"csrf_token": token, "reason": "企业放弃投资"})
    [slip] = documents(db, world, "termination")
    assert_content(client, slip, "代办服务终止单", "企业放弃投资", "地形图测绘及土地勘测定界", "已终止")
    assert all(t.state == "terminated" for t in fresh(db, ItemTask, project_id=world["project"].id))


def test_a_handoff_issues_the_continuation_naming_both_agents(as_user, world, db):
    alice, _ = as_user("alice")
    task = survey(db, world)
    for action in ("claim", "start"):
        alice.post(f"/tasks/{task.id}/{action}", data={"csrf_token": _})
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/documents/handoff", data={
        "csrf_token": token, "task_id": task.id, "to": "bob", "reason": "alice 调岗"})
    assert response.status_code == 302
    assert survey(db, world).assignee_id == world["users"]["bob"].id
    [continuation] = documents(db, world, "continuation")
    assert_content(client, continuation, "续办委托书", "代办员变更", "alice", "bob", "alice调岗",
                   "地形图测绘及土地勘测定界")


def test_an_agent_hands_over_their_own_item_from_the_panel(as_user, world, db):
    alice, token = as_user("alice")
    task = survey(db, world)
    for action in ("claim", "start"):
        alice.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token})
    page = alice.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="handoff_with_continuation"' in page
    assert 'data-action="suspend_with_slip"' not in page
    alice.post("/projects/P-ACME-1/documents/handoff", data={
        "csrf_token": token, "task_id": task.id, "to": "bob", "reason": "休假"})
    assert survey(db, world).assignee_id == world["users"]["bob"].id
    assert len(documents(db, world, "continuation")) == 1


def test_a_scope_change_lists_what_was_added_and_removed(as_user, world, db):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/documents/mandate", data={"csrf_token": token})
    client.post("/projects/P-ACME-1/documents/scope", data={
        "csrf_token": token, "remove": "power_connection", "reason": "企业自行办理供电"})
    [change] = documents(db, world, "continuation")
    assert_content(client, change, "代办范围变更", "移出代办事项", "企业自行办理供电")
    assert "power_connection" not in change.data["scope"]


def test_the_completion_slip_lists_the_results_handed_over(as_user, world, db):
    project = db.get(Project, world["project"].id)
    drive_to_the_end(db, project, world["users"]["alice"], world["users"]["lead"])
    reference = f"左审〔2026〕{f.task(project, 'u01_survey').id}号"
    db.commit()
    client, token = as_user("lead")
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="issue_completion"' in page
    client.post("/projects/P-ACME-1/documents/completion", data={"csrf_token": token})
    [slip] = documents(db, world, "completion")
    assert_content(client, slip, "代办服务办结单", "办理结果已移交委托方", reference,
                   "左开评〔2025〕3号", "地形图测绘及土地勘测定界")


def test_documents_are_read_by_the_project_s_people_only(as_user, world, db):
    lead, token = as_user("lead")
    lead.post("/projects/P-ACME-1/documents/mandate", data={"csrf_token": token})
    [mandate] = documents(db, world)
    for username in ("acme", "sup", "alice"):
        client, _ = as_user(username)
        assert client.get(f"/documents/{mandate.id}").status_code == 200
        assert client.get(f"/documents/{mandate.id}.pdf").status_code == 200
    for username in ("other", "olga"):
        client, _ = as_user(username)
        assert client.get(f"/documents/{mandate.id}").status_code == 404
        assert client.get(f"/documents/{mandate.id}.pdf").status_code == 404
    assert lead.get("/documents/999999").status_code == 404


def test_the_enterprise_and_agents_cannot_change_the_project_through_the_forms(as_user, world, db):
    for username in ("acme", "alice"):
        client, token = as_user(username)
        response = client.post("/projects/P-ACME-1/documents/suspend",
                               data={"csrf_token": token, "reason": "试图中止"})
        assert response.status_code == 403
    client, token = as_user("other")
    response = client.post("/projects/P-ACME-1/documents/terminate",
                           data={"csrf_token": token, "reason": "x"})
    assert response.status_code == 404
    assert [d.kind for d in documents(db, world)] == ["mandate"]  # the engine's, at the mandate
    assert fresh(db, Project, id=world["project"].id)[0].stage == "approving"


def finish_survey(db, world):
    task, alice, now = survey(db, world), world["users"]["alice"], at("2026-03-02", 10)
    ops.claim_task(db, task.id, actor=alice, now=now)
    ops.start_task(db, task.id, actor=alice, now=now)
    for step in (ops.submit_task, ops.approve_task, ops.complete_task):
        step(db, task.id, actor=alice, now=now)
    db.commit()
    return task


def test_the_portal_shows_the_documents_and_asks_for_a_rating(as_user, world, db):
    lead, token = as_user("lead")
    lead.post("/projects/P-ACME-1/documents/mandate", data={"csrf_token": token})
    task = finish_survey(db, world)
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "左开代委〔2026〕0001号" in page
    assert f'data-rate-task="{task.id}"' in page
    assert 'data-rate-task="project"' not in page  # the project is not finished
    response = client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "very_satisfied", "comment": "很及时"})
    assert response.status_code == 302
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert f'data-rate-task="{task.id}"' not in page and "很及时" in page
    assert fresh(db, Rectification) == []


def test_a_bad_rating_needs_a_comment_and_opens_a_rectification_the_lead_answers(as_user, world, db):
    task = finish_survey(db, world)
    client, token = as_user("acme")
    refused = client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "dissatisfied", "comment": ""})
    assert refused.status_code == 400 and fresh(db, Rating) == []
    client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "dissatisfied", "comment": "三次催办才回复"})
    [row] = fresh(db, Rectification)
    assert row.owner_id == world["users"]["lead"].id and row.closed_at is None
    twice = client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "satisfied", "comment": ""})
    assert twice.status_code == 409
    lead, token = as_user("lead")
    page = lead.get("/projects/P-ACME-1").get_data(as_text=True)
    assert "三次催办才回复" in page and 'data-action="answer_rectification"' in page
    alice, alice_token = as_user("alice")
    assert alice.post(f"/rectifications/{row.id}/answer", data={
        "csrf_token": alice_token, "response": "我来答"}).status_code == 403
    other, other_token = as_user("other")
    assert other.post(f"/rectifications/{row.id}/answer", data={
        "csrf_token": other_token, "response": "x"}).status_code == 404
    lead.post(f"/rectifications/{row.id}/answer",
              data={"csrf_token": token, "response": "已建立催办回复时限制度"})
    [row] = fresh(db, Rectification)
    assert row.closed_at is not None and row.response == "已建立催办回复时限制度"


def test_another_enterprise_cannot_rate_by_url(as_user, world, db):
    task = finish_survey(db, world)
    client, token = as_user("other")
    response = client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "very_dissatisfied", "comment": "x"})
    assert response.status_code == 404
    assert fresh(db, Rating) == []


def test_the_project_as_a_whole_is_rated_once_every_item_is_closed(as_user, world, db):
    lead, token = as_user("lead")
    lead.post("/projects/P-ACME-1/documents/terminate",
              data={"csrf_token": token, "reason": "企业放弃投资"})
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-rate-task="project"' in page and "代办服务终止单" in page
    client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": "", "level": "basically_satisfied", "comment": ""})
    [rating] = fresh(db, Rating)
    assert rating.task_id is None and rating.level == "basically_satisfied"
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-rate-task="project"' not in page


# -- every field is parsed at the edge: a bad value answers 400 and changes nothing --------

HUGE = "99999999999999999999"
BAD_FIELDS = [
    ("suspend", {"reason": ""}), ("suspend", {"reason": "x" * 2001}),
    ("suspend", {"reason": "资金\x00未到位"}),
    ("terminate", {"reason": " "}), ("terminate", {"reason": "x" * 2001}),
    ("scope", {"remove": "x" * 65, "reason": "自办"}), ("scope", {"remove": "", "reason": "自办"}),
    ("scope", {"remove": "power_connection"}),
    ("scope", {"remove": "power_connection", "reason": "x" * 2001}),
    ("handoff", {"task_id": "abc", "to": "bob", "reason": "调岗"}),
    ("handoff", {"task_id": HUGE, "to": "bob", "reason": "调岗"}),
    ("handoff", {"task_id": "{survey}", "to": "", "reason": "调岗"}),
    ("handoff", {"task_id": "{survey}", "to": "b" * 81, "reason": "调岗"}),
    ("handoff", {"task_id": "{survey}", "to": "bob", "reason": ""}),
    ("handoff", {"task_id": "{survey}", "to": "bob", "reason": "调岗", "version": "abc"}),
    ("handoff", {"task_id": "{survey}", "to": "nobody", "reason": "调岗"}),
]


def state_of(db, world):
    """What a refused form must leave as it was."""
    project = fresh(db, Project, id=world["project"].id)[0]
    task = survey(db, world)
    return (len(documents(db, world)), project.stage, project.version, task.state,
            task.assignee_id, task.version, len(fresh(db, Rating)))


@pytest.mark.parametrize(("route", "fields"), BAD_FIELDS,
                         ids=[f"{r}-{i}" for i, (r, _f) in enumerate(BAD_FIELDS)])
def test_a_bad_value_in_a_staff_form_answers_400_and_changes_nothing(as_user, world, db,
                                                                    route, fields):
    alice, alice_token = as_user("alice")
    task = survey(db, world)
    alice.post(f"/tasks/{task.id}/claim", data={"csrf_token": alice_token})
    before = state_of(db, world)
    client, token = as_user("lead")
    data = {k: v.replace("{survey}", str(task.id)) for k, v in fields.items()}
    response = client.post(f"/projects/P-ACME-1/documents/{route}",
                           data={"csrf_token": token, **data})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert state_of(db, world) == before


@pytest.mark.parametrize("fields", [
    {"task_id": "{survey}", "level": "bogus"}, {"task_id": "{survey}", "level": ""},
    {"task_id": "abc", "level": "satisfied"}, {"task_id": HUGE, "level": "satisfied"},
    {"task_id": "{survey}", "level": "satisfied", "comment": "x" * 2001},
    {"task_id": "{survey}", "level": "dissatisfied", "comment": ""},
], ids=["level", "no-level", "task-text", "task-huge", "long-comment", "bad-without-why"])
def test_a_bad_rating_form_answers_400_and_changes_nothing(as_user, world, db, fields):
    task = finish_survey(db, world)
    client, token = as_user("acme")
    data = {k: v.replace("{survey}", str(task.id)) for k, v in fields.items()}
    response = client.post("/portal/projects/P-ACME-1/ratings", data={"csrf_token": token, **data})
    assert response.status_code == 400
    assert fresh(db, Rating) == [] and fresh(db, Rectification) == []


def test_a_bad_rectification_answer_answers_400_and_leaves_it_open(as_user, world, db):
    task = finish_survey(db, world)
    client, token = as_user("acme")
    client.post("/portal/projects/P-ACME-1/ratings", data={
        "csrf_token": token, "task_id": task.id, "level": "dissatisfied", "comment": "太慢"})
    [row] = fresh(db, Rectification)
    lead, token = as_user("lead")
    for response_text in ("", "  ", "x" * 2001, "已\x00整改"):
        answer = lead.post(f"/rectifications/{row.id}/answer",
                           data={"csrf_token": token, "response": response_text})
        assert answer.status_code == 400
    [row] = fresh(db, Rectification)
    assert row.closed_at is None and row.response is None

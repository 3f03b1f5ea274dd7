"""The edge (issue 10, finding 1): plausible bad input answered HTTP 500 at 22
endpoints (integers beyond the column's range, NUL bytes in text and query
arguments, a JSON ``1e999``). Each now answers 400 (or 404 for an id in the
path) and changes nothing, on SQLite and on PostgreSQL (which refuses
out-of-range integers and NUL bytes in text itself)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.conftest import app_on
from workflow.models import AuditEvent, Comment, ItemTask, Project

HUGE = "99999999999999999999"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, sqlite_template, tmp_path, clock):
    """The web app on SQLite, or on a fresh PostgreSQL database of its own."""
    yield from app_on(request.param, sqlite_template, tmp_path, clock, "inputs")


# (audience, method, URL, form / query / JSON) — {task} and {code} are filled in.
FINDINGS = [
    ("lead", "POST", "/intentions", {"form": {"name": "新项目", "industry":
                                              "equipment_manufacturing",
                                              "investment_wan": HUGE}}),
    ("lead", "POST", "/intentions", {"form": {"name": "新项目", "industry":
                                              "equipment_manufacturing",
                                              "investment_wan": "100", "lead": HUGE}}),
    ("lead", "POST", "/intentions", {"form": {"name": "新项目", "industry":
                                              "equipment_manufacturing",
                                              "investment_wan": "100", "enterprise_id": HUGE}}),
    ("lead", "POST", "/projects/{code}/intention", {"form": {"investment_wan": HUGE}}),
    ("lead", "POST", "/projects/{code}/intention", {"form": {"lead": HUGE}}),
    ("lead", "POST", "/projects/{code}/land/parcel", {"form": {"parcel_id": HUGE}}),
    ("sup", "POST", "/supervision/notices", {"form": {"task_id": HUGE, "reason": "催办"}}),
    ("acme", "POST", "/portal/projects/{code}/comments", {"form": {"body": "你好",
                                                                   "task_id": HUGE}}),
    ("lead", "POST", "/tasks/{task}/decide_extension", {"form": {"request_id": HUGE,
                                                                 "approve": "1"}}),
    ("lead", "POST", "/api/v1/tasks/{task}/decide_extension",
     {"body": '{"request_id": ' + HUGE + ', "approve": true}'}),
    ("lead", "POST", "/api/v1/tasks/{task}/claim", {"body": '{"version": 1e999}'}),
    ("alice", "POST", "/api/v1/tasks/{task}/request_extension",
     {"body": '{"days": 1e999, "reason": "x"}'}),
    ("alice", "GET", f"/tasks/{HUGE}", {}),
    ("admin", "GET", f"/admin/users/{HUGE}", {}),
    ("lead", "GET", f"/land/parcels/{HUGE}", {}),
    ("lead", "GET", f"/documents/{HUGE}", {}),
    ("alice", "POST", "/projects/{code}/comments", {"form": {"body": "a\x00b"}}),
    ("alice", "POST", "/tasks/{task}/comment", {"form": {"body": "a\x00b"}}),
    ("alice", "POST", "/api/v1/tasks/{task}/comment", {"body": '{"body": "a\\u0000b"}'}),
    ("lead", "GET", "/intentions?group=a%00b", {}),
    ("sup", "GET", "/supervision?department=a%00b", {}),
    ("alice", "GET", "/api/v1/projects/a%00b", {}),
]


def _counts(db, project_id):
    db.rollback()
    counts = (db.scalar(select(func.count(Project.id))), db.scalar(select(func.count(Comment.id))),
              db.scalar(select(func.count(AuditEvent.id))),
              db.scalar(select(func.max(ItemTask.version)).where(
                  ItemTask.project_id == project_id)))
    db.rollback()  # SQLite begins IMMEDIATE: hold no lock while the app answers
    return counts


def test_the_22_findings_answer_4xx_and_change_nothing(app, world, as_user, db):
    project = world["project"]
    code, project_id = project.code, project.id
    task_id = db.scalar(select(ItemTask.id).where(ItemTask.project_id == project_id)
                        .order_by(ItemTask.id))
    db.rollback()
    clients = {}
    answers = []
    before = _counts(db, project_id)
    for role, method, url, sent in FINDINGS:
        if role not in clients:
            clients[role] = as_user(role)
        client, token = clients[role]
        url = url.format(code=code, task=task_id)
        headers = {"X-CSRFToken": token}
        if "body" in sent:
            response = client.open(url, method=method, data=sent["body"], headers=headers,
                                   content_type="application/json")
        elif method == "POST":
            response = client.post(url, data=dict(sent["form"], csrf_token=token))
        else:
            response = client.get(url)
        answers.append((response.status_code, role, method, url, sent))
    failing = [a for a in answers if a[0] >= 500 or a[0] < 400]
    print(f"{len(FINDINGS)} findings: {sum(a[0] >= 500 for a in answers)} answered 5xx")
    assert not failing, "\n".join(f"{s} {r} {m} {u} {x}" for s, r, m, u, x in failing)
    assert _counts(db, project_id) == before  # nothing changed


def test_a_bad_field_is_named_in_the_users_language(as_user, world):
    client, token = as_user("lead")
    response = client.post("/intentions", data={"csrf_token": token, "name": "x",
                                                "investment_wan": HUGE})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "investment_wan" in page and "须为 0 至 2147483647 之间的整数" in page
    client.post("/lang/en", data={"csrf_token": token})
    page = client.post("/intentions", data={"csrf_token": token, "name": "x",
                                            "investment_wan": HUGE}).get_data(as_text=True)
    assert "must be a whole number from 0 to 2147483647" in page


def test_the_api_names_the_field_in_its_error_shape(world, app, as_user):
    client, token = as_user("alice")
    survey = world["project"].tasks[0]
    response = client.post(f"/api/v1/tasks/{survey.id}/request_extension",
                           data='{"days": 1e999, "reason": "x"}', content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == "invalid_input" and error["details"]["field"] == "days"
    assert "'days'" in error["message"]


@pytest.mark.parametrize("url", ["/api/v1/inbox?limit=abc", "/api/v1/inbox?limit=5.0",
                                 "/api/v1/inbox?limit=%EF%BC%95", "/api/v1/inbox?limit=true"])
def test_a_limit_that_is_not_a_whole_number_is_400(as_user, world, url):
    client, _ = as_user("alice")
    response = client.get(url)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == "limit"


def test_an_unauthenticated_api_post_is_401_not_a_csrf_400(app, world):
    response = app.test_client().post("/api/v1/tasks/1/claim", json={})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_trace_and_other_unrouted_methods_name_the_allowed_ones(app, world):
    client = app.test_client()
    for url in ("/api/v1/inbox", "/login", "/api/v1/openapi.json"):
        response = client.open(url, method="TRACE")
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]


def test_the_document_says_what_request_extension_requires(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    body = doc["components"]["schemas"]["RequestExtensionBody"]
    assert body["required"] == ["days", "reason"]
    assert body["properties"]["days"]["type"] == "integer"
    assert body["properties"]["days"]["maximum"] <= 2**31 - 1
    limit = next(p for p in doc["paths"]["/api/v1/inbox"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}

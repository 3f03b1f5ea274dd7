"""The JSON API under /api/v1: bearer tokens and sessions, the pages' rules,
clear JSON refusals, and an OpenAPI document that matches the routes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from tests import factories as f
from web.support.actions import ACTIONS
from workflow.accounts import tokens
from workflow.core import operations as ops
from workflow.models import ApiToken, GroupMembership, ItemTask

API = "/api/v1"


def task_of(db, world, item="u01_survey", project="project"):
    """The task as the database has it now; the read transaction ends at once
    (SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world[project].id,
                                            ItemTask.item_code == item)
                     .execution_options(populate_existing=True))
    db.commit()
    return task


@pytest.fixture
def bearer(app, world, db, clock):
    """``bearer("alice")`` → a test client and headers carrying alice's token."""
    def make(username):
        _, token = tokens.issue_token(db, world["users"][username], name="test",
                                      now=clock.moment)
        db.commit()
        return app.test_client(), {"Authorization": f"Bearer {token}"}
    return make


def act(client, headers, task, action, **body):
    return client.post(f"{API}/tasks/{task.id}/{action}", headers=headers, json=body)


# -- authentication ------------------------------------------------------------------------

def test_the_inbox_answers_a_bearer_token_with_the_agents_work(bearer, world, db):
    client, headers = bearer("alice")
    response = client.get(f"{API}/inbox", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    survey = task_of(db, world)
    row = next(t for t in data["tasks"] if t["id"] == survey.id)
    assert row["version"] == survey.version and row["state"] == "ready"
    assert row["project"] == {"code": "P-ACME-1", "name": survey.project.name,
                              "enterprise": "甲科技有限公司"}
    assert row["item"]["code"] == "u01_survey" and row["item"]["name_zh"].startswith("地形图测绘")
    assert row["item"]["name_en"] and row["department"]["code"] == "nature_resources"
    # Queued: the agent's service clock runs (10 working days from 03-02).
    assert row["due_on"] == "2026-03-16" and row["due_provisional"] is False
    assert row["light"] == "green" and row["working_days_left"] == 10
    assert (row["clock"], row["whose_time"]) == ("service", "agent")
    assert row["clocks"]["service"] == {"started_on": "2026-03-02", "due_on": "2026-03-16",
                                        "stopped_on": None, "paused_days": 0,
                                        "extension_days": 0}
    assert row["clocks"]["statutory"]["started_on"] is None
    assert row["assignee"] is None and row["actions"] == ["claim"]
    # Both projects' ready tasks, earliest due first.
    assert data["count"] == 4 and [t["due_on"] for t in data["tasks"]] == sorted(
        t["due_on"] for t in data["tasks"])


def test_the_inbox_limit_is_checked(bearer):
    client, headers = bearer("alice")
    assert len(client.get(f"{API}/inbox?limit=1", headers=headers).get_json()["tasks"]) == 1
    for bad in ("0", "201", "many"):
        response = client.get(f"{API}/inbox?limit={bad}", headers=headers)
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_input"


def test_without_credentials_the_api_answers_401_json_not_the_login_page(app, world):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer dbn_not-a-real-token"}):
        response = client.get(f"{API}/inbox", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.post(f"{API}/tasks/1/claim", json={},
                           headers={"Authorization": "Bearer dbn_not-a-real-token"})
    assert response.status_code == 401


def test_a_revoked_token_is_refused(bearer, world, db, clock):
    client, headers = bearer("alice")
    assert client.get(f"{API}/inbox", headers=headers).status_code == 200
    token_id = db.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))
    tokens.revoke_token(db, token_id, now=clock.moment)
    db.commit()
    response = client.get(f"{API}/inbox", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_a_token_is_not_a_login_for_the_pages(bearer):
    client, headers = bearer("alice")
    response = client.get("/inbox", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_post_needs_the_csrf_header(as_user, world, db):
    client, token = as_user("alice")
    survey = task_of(db, world)
    response = client.post(f"{API}/tasks/{survey.id}/claim", json={})
    assert response.status_code == 400 and response.get_json()["error"] == "csrf"
    assert task_of(db, world).state == "ready"
    response = client.post(f"{API}/tasks/{survey.id}/claim", json={},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    assert task_of(db, world).state == "assigned"
    assert client.get(f"{API}/projects/P-ACME-1").status_code == 200  # reads: no token needed


# -- task actions -------------------------------------------------------------------------

def test_claim_then_a_second_claim_with_the_old_version_is_a_conflict(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    response = act(client, headers, survey, "claim", version=survey.version)
    assert response.status_code == 200
    claimed = response.get_json()["task"]
    assert claimed["state"] == "assigned" and claimed["assignee"] == "alice"
    assert claimed["version"] == survey.version + 1
    assert "start" in claimed["actions"] and "claim" not in claimed["actions"]

    response = act(client, headers, survey, "claim", version=survey.version)
    assert response.status_code == 409
    error = response.get_json()
    assert error["error"] == "conflict" and "reload" in error["message"]
    assert error["details"]["expected"] == survey.version
    assert error["details"]["actual"] == claimed["version"]
    now = task_of(db, world)
    assert (now.state, now.version) == ("assigned", claimed["version"])


def test_approve_while_assigned_says_why_and_what_is_allowed(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    act(client, headers, survey, "claim")
    response = act(client, headers, survey, "approve", reference="晋自然资〔2026〕1号")
    assert response.status_code == 409
    error = response.get_json()
    assert error["error"] == "invalid_transition" and "assigned" in error["message"]
    assert error["details"]["state"] == "assigned"
    assert "start" in error["details"]["allowed"] and "approve" not in error["details"]["allowed"]
    assert task_of(db, world).state == "assigned"


def test_work_through_an_item_and_get_the_request_id(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    for action in ("claim", "start"):
        assert act(client, headers, survey, action).status_code == 200
    response = act(client, headers, survey, "request_materials", deadline="2026-03-09",
                   materials=[{"name": "宗地界址图"}, {"name": "营业执照副本", "note": "加盖公章"}])
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["task"]["state"] == "awaiting_enterprise" and data["task"]["light"] == "paused"
    assert isinstance(data["request_id"], int)
    response = act(client, headers, survey, "comment", body="已电话提醒企业")
    assert response.status_code == 200 and isinstance(response.get_json()["comment_id"], int)


def test_an_extension_is_asked_by_the_agent_and_decided_by_the_lead(bearer, world, db):
    client, alice = bearer("alice")
    survey = task_of(db, world)
    for action in ("claim", "start", "submit"):
        act(client, alice, survey, action)
    response = act(client, alice, task_of(db, world), "accept", accepted_on="2026-03-02",
                   reference="受理〔2026〕3号")
    assert response.status_code == 200, response.get_json()
    accepted = response.get_json()["task"]
    # The statutory clock from the 受理 on 03-02: 15 working days, due 03-23.
    assert (accepted["state"], accepted["clock"], accepted["whose_time"]) == (
        "accepted", "statutory", "department")
    assert accepted["accepted_on"] == "2026-03-02" and accepted["due_on"] == "2026-03-23"
    assert accepted["clocks"]["service"]["stopped_on"] == "2026-03-02"
    response = act(client, alice, survey, "request_extension", days=3, reason="测绘队排期")
    assert response.status_code == 200, response.get_json()
    request_id = response.get_json()["request_id"]
    _, lead = bearer("lead")
    filing = task_of(db, world, item="project_filing")
    response = act(client, lead, filing, "decide_extension", request_id=request_id, approve=True)
    assert response.status_code == 404  # the request belongs to another task
    assert task_of(db, world).due_on.isoformat() == "2026-03-23"
    response = act(client, lead, survey, "decide_extension", request_id=request_id, approve=True)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["task"]["due_on"] == "2026-03-26"


def test_an_empty_body_counts_as_an_empty_object(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    response = client.post(f"{API}/tasks/{survey.id}/claim", headers=headers)
    assert response.status_code == 200 and task_of(db, world).state == "assigned"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "null", '"claim"'])
def test_a_body_that_is_not_a_json_object_is_400_and_changes_nothing(bearer, world, db, body):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    response = client.post(f"{API}/tasks/{survey.id}/claim", headers=headers, data=body,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_input"
    assert task_of(db, world).state == "ready"


def test_bad_field_values_are_400_and_change_nothing(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    response = act(client, headers, survey, "claim", version="latest")
    assert response.status_code == 400 and "version" in response.get_json()["message"]
    for action in ("claim", "start"):
        act(client, headers, survey, action)
    response = act(client, headers, survey, "request_materials", materials=[], deadline="soon")
    assert response.status_code == 400
    assert task_of(db, world).state == "in_progress"


def test_an_unknown_action_or_task_is_404(bearer, world, db):
    client, headers = bearer("alice")
    survey = task_of(db, world)
    response = act(client, headers, survey, "teleport")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    response = client.post(f"{API}/tasks/999999/claim", headers=headers, json={})
    assert response.status_code == 404
    assert task_of(db, world).state == "ready"


# -- who may see and do what -----------------------------------------------------------------

def test_an_enterprise_reads_its_own_project_only(bearer, world, db):
    client, headers = bearer("acme")
    response = client.get(f"{API}/projects/P-ACME-1", headers=headers)
    assert response.status_code == 200
    project = response.get_json()
    assert project["code"] == "P-ACME-1" and project["enterprise"] == "甲科技有限公司"
    assert project["group"]["code"] == "equipment" and project["lead"] == "lead"
    # The filing's 2-working-day service promise leaves 2 days on its first day: yellow.
    assert project["stage"] and project["definition_version"] and project["light"] == "yellow"
    assert project["tasks"][0]["item"]["code"] == "u01_survey"  # in the definition's order
    assert {t["project"]["code"] for t in project["tasks"]} == {"P-ACME-1"}
    response = client.get(f"{API}/projects/P-OTHER-1", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert client.get(f"{API}/projects/NO-SUCH-CODE", headers=headers).status_code == 404


def test_an_enterprise_cannot_act_on_another_enterprises_task(bearer, world, db):
    client, headers = bearer("acme")
    rival = task_of(db, world, project="rival")
    for action in ("supply_materials", "claim", "comment"):
        response = act(client, headers, rival, action, body="x")
        assert response.status_code in (403, 404), action
    after = task_of(db, world, project="rival")
    assert (after.state, after.version) == (rival.state, rival.version)


def test_an_agent_of_another_group_cannot_claim(bearer, world, db, clock):
    client, headers = bearer("olga")
    survey = task_of(db, world)
    response = act(client, headers, survey, "claim")
    assert response.status_code == 404  # she may not even see the project
    # Once in the equipment group she took the rival's filing, then moved to the
    # food group: she still sees that project, but claims nothing of it.
    olga, equipment = world["users"]["olga"], f.group(db, "equipment")
    db.add(GroupMembership(group_id=equipment.id, user_id=olga.id))
    db.flush()
    db.expire(olga, ["memberships"])
    filing = task_of(db, world, item="project_filing", project="rival")
    ops.claim_task(db, filing.id, actor=olga, now=clock.moment)
    db.execute(delete(GroupMembership).where(GroupMembership.user_id == olga.id,
                                             GroupMembership.group_id == equipment.id))
    db.commit()
    rival_survey = task_of(db, world, project="rival")
    assert client.get(f"{API}/projects/P-OTHER-1", headers=headers).status_code == 200
    response = act(client, headers, rival_survey, "claim", version=rival_survey.version)
    assert response.status_code == 403 and response.get_json()["error"] == "not_permitted"
    assert task_of(db, world, project="rival").state == "ready"


def test_a_supervisor_reads_everything_but_cannot_change_a_task(bearer, world, db):
    client, headers = bearer("sup")
    survey = task_of(db, world)
    assert client.get(f"{API}/projects/P-OTHER-1", headers=headers).status_code == 200
    for action, body in (("claim", {}), ("assign", {"assignee": "alice"}),
                         ("cover", {"reference": "区域评估", "kind": "evaluation"}),
                         ("comment", {"body": "督查意见"})):
        response = act(client, headers, survey, action, **body)
        assert response.status_code == 403, (action, response.get_json())
        assert response.get_json()["error"] == "not_permitted"
    after = task_of(db, world)
    assert (after.state, after.version) == ("ready", survey.version)
    assert client.get(f"{API}/supervision/overdue", headers=headers).status_code == 200


# -- overdue (督查) ----------------------------------------------------------------------------

def overdue(client, headers, query=""):
    response = client.get(f"{API}/supervision/overdue{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["tasks"]


def test_overdue_lists_late_tasks_and_filters_them(bearer, world, db, clock):
    survey = task_of(db, world)
    ops.claim_task(db, survey.id, actor=world["users"]["alice"], now=clock.moment)
    db.commit()
    # With the agents, on the service clock: surveys due 16 March (8 working days late
    # on the 26th), filings due 4 March (16 late).
    clock.moment = f.at("2026-03-26", 10)
    client, headers = bearer("sup")
    rows = overdue(client, headers)
    assert len(rows) == 4 and rows[0]["days_late"] >= rows[-1]["days_late"]
    mine = next(r for r in rows if r["id"] == survey.id)
    assert mine["days_late"] == 8 and mine["light"] == "red" and mine["assignee"] == "alice"
    assert mine["project"]["code"] == "P-ACME-1" and mine["group"]["code"] == "equipment"
    assert mine["department"]["code"] == "nature_resources" and mine["due_on"] == "2026-03-16"

    assert [r["id"] for r in overdue(client, headers, "?agent=alice")] == [survey.id]
    assert {r["item"]["code"] for r in overdue(client, headers, "?item=u01_survey")} == {
        "u01_survey"}
    assert len(overdue(client, headers, "?department=admin_approval")) == 2
    assert len(overdue(client, headers, "?group=equipment")) == 4
    assert overdue(client, headers, "?group=food") == []
    late = overdue(client, headers, "?min_days_late=9")
    assert len(late) == 2 and {r["item"]["code"] for r in late} == {"project_filing"}
    assert len(overdue(client, headers, "?item=u01_survey&min_days_late=3")) == 2
    response = client.get(f"{API}/supervision/overdue?min_days_late=-1", headers=headers)
    assert response.status_code == 400


def test_a_lead_sees_the_overdue_of_their_groups_only(bearer, world, db, clock):
    f.project(db, clock.moment, industry="food_processing", company=f.enterprise(db),
              code="P-FOOD-1")
    db.commit()
    clock.moment = f.at("2026-03-26", 10)
    client, headers = bearer("sup")
    everything = overdue(client, headers)
    assert "P-FOOD-1" in {r["project"]["code"] for r in everything}
    client, headers = bearer("lead")
    theirs = overdue(client, headers)
    assert {r["group"]["code"] for r in theirs} == {"equipment"}
    assert len(theirs) == len(everything) - sum(r["group"]["code"] == "food" for r in everything)


@pytest.mark.parametrize("username", ["alice", "acme"])
def test_overdue_is_refused_to_agents_and_enterprises(bearer, username):
    client, headers = bearer(username)
    response = client.get(f"{API}/supervision/overdue", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_the_inbox_is_for_agents_and_lead_handlers(bearer):
    for username, status in (("lead", 200), ("acme", 403), ("sup", 403)):
        client, headers = bearer(username)
        assert client.get(f"{API}/inbox", headers=headers).status_code == status, username


# -- the OpenAPI document --------------------------------------------------------------------

def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_openapi_describes_every_api_route_and_nothing_else(app):
    client = app.test_client()
    response = client.get(f"{API}/openapi.json")  # public: no credentials needed
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            routes.setdefault(_openapi_path(rule.rule), set()).update(methods)
    described = {path: {m for m in ops_ if m in ("get", "post", "put", "patch", "delete")}
                 for path, ops_ in doc["paths"].items()}
    assert routes == described
    for path in ("/api/v1/inbox", "/api/v1/projects/{code}", "/api/v1/tasks/{task_id}/{action}",
                 "/api/v1/supervision/overdue", "/api/v1/openapi.json"):
        assert path in described


def test_openapi_names_every_action_its_body_the_errors_and_the_bearer_scheme(app):
    doc = app.test_client().get(f"{API}/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert schemas["ActionName"]["enum"] == sorted(ACTIONS)
    post = doc["paths"]["/api/v1/tasks/{task_id}/{action}"]["post"]
    bodies = post["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    named = {ref["$ref"].rsplit("/", 1)[1] for ref in bodies}
    for action in ACTIONS:
        name = "".join(p.title() for p in action.split("_")) + "Body"
        assert name in named and name in schemas and f"`{action}`" in post["description"]
    assert schemas["RequestMaterialsBody"]["required"] == ["materials", "deadline"]
    assert {"400", "401", "403", "404", "409"} <= set(post["responses"])
    assert set(schemas["Error"]["required"]) == {"error", "message"}
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    # Every $ref points at a schema that exists.
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(doc).replace("'", '"'))
    assert refs and set(refs) <= set(schemas)

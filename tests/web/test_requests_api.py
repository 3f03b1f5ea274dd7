"""Enterprise requests through the JSON API (``GET /api/v1/requests``, ``GET
/api/v1/requests/<id>``): the staff list's filters and scope, cursor pages
that cover the list once, an enterprise's token that reads only its own,
404 for a request the caller may not see, 400 for a bad cursor or filter,
and answers that match the OpenAPI document."""

from __future__ import annotations

import re
from html import unescape

import pytest
from jsonschema_rs import Draft202012Validator
from sqlalchemy import select

from tests import factories as f
from workflow.accounts import tokens
from workflow.models import ServiceRequest
from workflow.reforms import requests as req

API = "/api/v1"


@pytest.fixture
def bearer(app, world, db, clock):
    """``bearer("alice")`` → a test client and headers carrying alice's token."""
    def make(username):
        _, token = tokens.issue_token(db, world["users"][username], name="test", now=clock.moment)
        db.commit()
        return app.test_client(), {"Authorization": f"Bearer {token}"}
    return make


@pytest.fixture
def book(db, world):
    """Nine requests, raised a quarter of an hour apart (some at the same
    moment, so the id breaks the tie): acme's and other's, three arranged to
    nature_resources (one of them solved and closed), two to planning."""
    users, ids = world["users"], []
    for n in range(9):
        who = "acme" if n % 3 else "other"
        moment = f.at("2026-03-02", 8 + n // 4).replace(minute=15 * (n % 2))
        ids.append(req.raise_request(db, actor=users[who], now=moment,
                                     kind=("power", "road", "land")[n % 3], title=f"诉求{n}").id)
    lead, alice = users["lead"], users["alice"]
    for n in (0, 1, 2):
        req.arrange(db, ids[n], actor=lead, now=f.at("2026-03-02", 15),
                    department="nature_resources")
    req.give_feedback(db, ids[1], actor=alice, now=f.at("2026-03-03", 10), text="已勘查")
    req.solve(db, ids[1], actor=alice, now=f.at("2026-03-04", 10), text="已解决")
    req.rate(db, ids[1], actor=users["acme"], now=f.at("2026-03-04", 12), rating="satisfied")
    for n in (3, 4):
        req.arrange(db, ids[n], actor=lead, now=f.at("2026-03-02", 15), department="planning")
    db.commit()
    return ids


def newest_first(db, where=()) -> list[int]:
    rows = db.scalars(select(ServiceRequest.id).where(*where).order_by(
        ServiceRequest.submitted_at.desc(), ServiceRequest.id.desc())).all()
    db.commit()
    return list(rows)


def walk(client, headers, query="", limit=2, cursor=None) -> tuple[list[int], int]:
    """Every id of the list, following ``next`` from the first page (or from
    ``cursor``); and the number of pages read."""
    ids, pages = [], 0
    url = f"{API}/requests?limit={limit}" + (f"&{query}" if query else "")
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        assert data["count"] == len(data["requests"]) <= limit and data["limit"] == limit
        ids += [r["id"] for r in data["requests"]]
        pages += 1
        cursor = data["next"]
        if cursor is None:
            return ids, pages


def listed_on_the_page(client, query="") -> list[int]:
    ids, url = [], "/requests?limit=200" + (f"&{query}" if query else "")
    while url:
        html = client.get(url).get_data(as_text=True)
        ids += [int(n) for n in re.findall(r'data-request="(\d+)"', html)]
        link = re.search(r'href="([^"]+)" data-page="next"', html)
        url = unescape(link.group(1)) if link else None
    return ids


def test_cursor_pages_cover_the_list_once_in_order(bearer, book, db):
    client, headers = bearer("sup")
    ids, pages = walk(client, headers, limit=2)
    assert pages == 5 and len(ids) == len(set(ids)) == 9
    assert ids == newest_first(db)  # no gaps, no repeats, newest first (ties by id)
    assert walk(client, headers, limit=200) == (ids, 1)


def test_prev_goes_back_to_the_page_before(bearer, book):
    client, headers = bearer("sup")
    first = client.get(f"{API}/requests?limit=3", headers=headers).get_json()
    assert first["prev"] is None and first["next"]
    second = client.get(f"{API}/requests?limit=3&cursor={first['next']}",
                        headers=headers).get_json()
    assert {r["id"] for r in second["requests"]}.isdisjoint(r["id"] for r in first["requests"])
    back = client.get(f"{API}/requests?limit=3&cursor={second['prev']}",
                      headers=headers).get_json()
    assert [r["id"] for r in back["requests"]] == [r["id"] for r in first["requests"]]


def test_a_row_inserted_meanwhile_neither_repeats_nor_shifts_a_page(bearer, book, db, world):
    client, headers = bearer("sup")
    first = client.get(f"{API}/requests?limit=4", headers=headers).get_json()
    req.raise_request(db, actor=world["users"]["acme"], now=f.at("2026-03-02", 18),
                      kind="other", title="新的诉求")
    db.commit()
    rest, _ = walk(client, headers, limit=4, cursor=first["next"])
    assert [r["id"] for r in first["requests"]] + rest == newest_first(db)[1:]


@pytest.mark.parametrize("username, query", [
    ("sup", "status=open"), ("sup", "status=closed"), ("sup", "kind=road"),
    ("sup", "department=planning"), ("sup", "overdue=1"), ("sup", "overdue=true&kind=land"),
    ("lead", "status=submitted"), ("alice", ""), ("bob", "status=arranged"), ("olga", ""),
])
def test_the_filters_and_scope_are_the_list_pages(bearer, as_user, book, clock, username,
                                                  query):
    clock.moment = f.at("2026-03-06", 10)
    client, headers = bearer(username)
    page, _ = as_user(username)
    assert walk(client, headers, query, limit=2)[0] == listed_on_the_page(page, query)


def test_the_filters_choose_the_rows(bearer, book, db, clock):
    clock.moment = f.at("2026-03-06", 10)
    client, headers = bearer("sup")
    assert walk(client, headers, "status=closed")[0] == [book[1]]
    assert walk(client, headers, "department=planning")[0] == [book[4], book[3]]
    assert set(walk(client, headers, "kind=power")[0]) == {book[0], book[3], book[6]}
    open_ = newest_first(db, [ServiceRequest.id != book[1]])
    assert walk(client, headers, "status=open")[0] == open_
    # On the 6th every open request is past its current step (arrangement on
    # the 2nd, feedback on the 5th); the one with feedback is due on the 11th.
    assert walk(client, headers, "overdue=1")[0] == open_
    clock.moment = f.at("2026-03-03", 10)  # only the arrangement (due the 2nd) is late
    assert walk(client, headers, "overdue=1")[0] == newest_first(
        db, [ServiceRequest.status == "submitted"])


def test_an_enterprise_token_reads_only_its_own_requests(bearer, book, db):
    client, headers = bearer("acme")
    ids, _ = walk(client, headers)
    mine = [n for n in range(9) if n % 3]
    assert ids and sorted(ids) == sorted(book[n] for n in mine)
    data = client.get(f"{API}/requests?limit=200", headers=headers).get_json()
    assert {r["enterprise"]["name"] for r in data["requests"]} == {"甲科技有限公司"}
    assert client.get(f"{API}/requests/{book[1]}", headers=headers).status_code == 200
    for theirs in (book[0], book[3]):
        response = client.get(f"{API}/requests/{theirs}", headers=headers)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    other, other_headers = bearer("other")
    assert sorted(walk(other, other_headers)[0]) == sorted(book[n] for n in range(0, 9, 3))


def test_an_agent_reads_their_department_s_requests_only(bearer, book):
    alice, headers = bearer("alice")  # nature_resources
    assert sorted(walk(alice, headers)[0]) == sorted(book[:3])
    assert alice.get(f"{API}/requests/{book[0]}", headers=headers).status_code == 200
    assert alice.get(f"{API}/requests/{book[3]}", headers=headers).status_code == 404
    olga, headers = bearer("olga")  # water: nothing
    assert walk(olga, headers)[0] == []
    assert olga.get(f"{API}/requests/{book[0]}", headers=headers).status_code == 404


def test_one_request_reads_its_13710_steps(bearer, book, clock, db):
    clock.moment = f.at("2026-03-06", 10)
    client, headers = bearer("lead")
    response = client.get(f"{API}/requests/{book[1]}", headers=headers)
    assert response.status_code == 200
    row = response.get_json()
    assert (row["id"], row["title"], row["kind"], row["status"]) == (book[1], "诉求1", "road",
                                                                    "closed")
    assert row["enterprise"]["name"] == "甲科技有限公司" and row["enterprise"]["credit_code"]
    assert row["department"]["code"] == "nature_resources" and row["department"]["name_zh"]
    assert row["submitted_at"] == "2026-03-02T08:15:00+08:00"
    assert row["submitted_on"] == "2026-03-02" and row["arrange_due_on"] == "2026-03-02"
    assert row["feedback_due_on"] == "2026-03-05" and row["due_on"] is None
    assert row["solved_at"] == "2026-03-04T10:00:00+08:00" and row["solution"] == "已解决"
    assert (row["rating"], row["overdue_steps"]) == ("satisfied", [])
    waiting = client.get(f"{API}/requests/{book[8]}", headers=headers).get_json()
    assert waiting["department"] is None and waiting["overdue_steps"] == ["arrange", "feedback"]
    listed = client.get(f"{API}/requests?limit=200", headers=headers).get_json()["requests"]
    assert next(r for r in listed if r["id"] == book[1]) == row


def test_unknown_requests_are_404(bearer, book):
    client, headers = bearer("sup")
    for path in ("999999", "2147483647", "99999999999", "0", "-1", "abc"):
        response = client.get(f"{API}/requests/{path}", headers=headers)
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("query, field", [
    ("cursor=notacursor", "cursor"), ("cursor=" + "A" * 1001, "cursor"),
    ("status=bogus", "status"), ("kind=weather", "kind"), ("kind=%00", "kind"),
    ("department=" + "x" * 65, "department"), ("overdue=perhaps", "overdue"),
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=many", "limit"),
])
def test_bad_arguments_are_400_naming_the_field(bearer, book, query, field):
    client, headers = bearer("sup")
    response = client.get(f"{API}/requests?{query}", headers=headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_input" and body["details"]["field"] == field


def test_a_cursor_of_another_list_is_400(bearer, book, world):
    alice, headers = bearer("alice")
    inbox = alice.get(f"{API}/inbox?limit=1", headers=headers).get_json()
    assert inbox["next"]
    response = alice.get(f"{API}/requests?cursor={inbox['next']}", headers=headers)
    assert response.status_code == 400 and response.get_json()["details"]["field"] == "cursor"
    sup, sup_headers = bearer("sup")
    ours = sup.get(f"{API}/requests?limit=1", headers=sup_headers).get_json()["next"]
    assert sup.get(f"{API}/inbox?cursor={ours}", headers=headers).status_code == 400


def test_without_credentials_the_requests_are_401(app, book):
    client = app.test_client()
    for path in (f"{API}/requests", f"{API}/requests/{book[0]}"):
        response = client.get(path)
        assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_the_answers_match_the_openapi_document(app, bearer, book, clock):
    clock.moment = f.at("2026-03-06", 10)
    doc = app.test_client().get(f"{API}/openapi.json").get_json()

    def valid(schema_name):
        return Draft202012Validator({**doc, "$ref": f"#/components/schemas/{schema_name}"})

    get = doc["paths"]["/api/v1/requests"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert names == {"status", "department", "kind", "overdue", "cursor", "limit"}
    assert {"200", "400", "401"} <= set(get["responses"])
    one = doc["paths"]["/api/v1/requests/{request_id}"]["get"]
    assert {"200", "401", "404"} <= set(one["responses"])
    assert one["parameters"][0]["schema"]["maximum"] == 2**31 - 1
    for username in ("sup", "acme", "alice"):
        client, headers = bearer(username)
        data = client.get(f"{API}/requests?limit=200", headers=headers).get_json()
        assert data["requests"]
        valid("ServiceRequestList").validate(data)
        for row in data["requests"]:
            detail = client.get(f"{API}/requests/{row['id']}", headers=headers).get_json()
            valid("ServiceRequest").validate(detail)
    error = bearer("sup")[0].get(f"{API}/requests?status=x", headers=headers).get_json()
    valid("Error").validate(error)

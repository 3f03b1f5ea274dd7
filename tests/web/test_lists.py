"""Lists as people expect them (issue 12, item 11): column sorting on the
inbox and the desk, saved filters, bulk claim and assign, project search."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from workflow.accounts import saved_filters
from workflow.core import operations as ops
from workflow.core import queries
from workflow.models import ItemTask, SavedFilter, User


def rows(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-task="(\d+)"', page)]


def ready_surveys(db) -> list[ItemTask]:
    found = list(db.scalars(select(ItemTask).where(ItemTask.item_code == "u01_survey",
                                                   ItemTask.state == "ready")
                            .order_by(ItemTask.id).execution_options(populate_existing=True)))
    db.commit()
    return found


def task_now(db, task_id) -> ItemTask:
    task = db.scalar(select(ItemTask).where(ItemTask.id == task_id)
                     .execution_options(populate_existing=True))
    db.commit()
    return task


@pytest.fixture
def queue(db, world, clock):
    """Three more queued surveys of the equipment group, due on different
    days (released 2 Feb, 10 March and on the world's day)."""
    lead = world["users"]["lead"]
    f.project(db, at("2026-02-02"), lead=lead, code="P-EARLY")
    f.project(db, at("2026-03-10"), lead=lead, code="P-LATE")
    db.commit()
    clock.moment = at("2026-03-13", 10)
    return ready_surveys(db)


def by_due(tasks) -> list[int]:
    return [t.id for t in sorted(tasks, key=lambda t: (t.due_on, t.id))]


def header_link(page: str, key: str) -> str:
    match = re.search(rf'<a class="sort" href="([^"]+)" data-sort="{key}">', page)
    assert match, f"no sort link for {key}"
    return html.unescape(match.group(1))


# -- (a) column sorting ----------------------------------------------------------------------

def test_inbox_headers_sort_the_queue_and_show_the_direction(as_user, queue):
    client, _ = as_user("alice")
    page = client.get("/inbox?tab=queue&item=u01_survey").get_data(as_text=True)
    assert rows(page) == by_due(queue)
    # The current sort (due, ascending) is marked; its link reverses it and keeps the filters.
    assert re.search(r'<th aria-sort="ascending"><a class="sort" [^>]*data-sort="due">', page)
    link = header_link(page, "due")
    assert parse_qs(urlparse(link).query) == {"tab": ["queue"], "item": ["u01_survey"],
                                               "sort": ["due"], "dir": ["desc"]}
    page = client.get(link).get_data(as_text=True)
    assert rows(page) == list(reversed(by_due(queue)))
    assert re.search(r'<th aria-sort="descending"><a class="sort" [^>]*data-sort="due">'
                     r'[^<]*<span class="sort-dir" aria-hidden="true">▼', page)
    # Back to ascending from the reversed column; the queue offers no state sort.
    assert "dir" not in parse_qs(urlparse(header_link(page, "due")).query)
    assert 'data-sort="state"' not in page and 'data-sort="item"' in page


def test_desc_pages_are_the_ascending_list_reversed(db, world, queue, clock):
    alice = db.get(User, world["users"]["alice"].id)
    today = clock.moment.date()

    def walk(direction):
        seen, cursor = [], None
        while True:
            page = queries.group_queue(db, alice, today, sort="due", direction=direction,
                                       cursor=cursor, limit=1)
            seen += [t.id for t in page.rows]
            if not page.next:
                return seen
            cursor = page.next

    ascending = walk("asc")
    assert {t.id for t in queue} <= set(ascending) and len(set(ascending)) == len(ascending)
    assert walk("desc") == list(reversed(ascending))
    db.commit()


def test_desk_sorts_by_item_and_state_either_way(as_user, queue, db, world):
    client, token = as_user("lead")
    bob_takes = queue[0]
    client.post(f"/tasks/{bob_takes.id}/assign", data={
        "csrf_token": token, "version": bob_takes.version, "assignee": "bob", "next": "/desk"})
    page = client.get("/desk?sort=state").get_data(as_text=True)
    states = {t.id: task_now(db, t.id).state for t in queue}
    shown = [r for r in rows(page) if r in states]
    assert [states[r] for r in shown] == sorted(states[r] for r in shown)  # assigned < ready
    assert re.search(r'<th aria-sort="ascending"><a class="sort" [^>]*data-sort="state">', page)
    reverse = client.get(header_link(page, "state")).get_data(as_text=True)
    assert [r for r in rows(reverse) if r in states] == list(reversed(shown))
    assert client.get("/desk?sort=project").status_code == 400  # not a sort of the desk
    assert client.get("/desk?sort=item&dir=sideways").status_code == 400


# -- (b) saved filters -------------------------------------------------------------------------

def test_a_filter_is_saved_listed_used_and_deleted(as_user, world, db):
    client, token = as_user("alice")
    response = client.post("/filters", data={
        "csrf_token": token, "page": "inbox", "name": "红灯",
        "query": "tab=queue&light=red&cursor=abc&junk=1&sort=item"})
    assert response.status_code == 302
    saved = db.scalars(select(SavedFilter)).one()
    db.commit()
    # Stored as the inbox's model writes it: its fields only, no cursor.
    assert (saved.page, saved.name, saved.query) == ("inbox", "红灯",
                                                     "light=red&tab=queue&sort=item")
    page = client.get("/inbox").get_data(as_text=True)
    assert f'<a href="/inbox?{html.escape(saved.query)}" class="">红灯</a>' in page
    page = client.get("/inbox?" + saved.query).get_data(as_text=True)
    assert 'class="active">红灯</a>' in page
    # Another person neither sees nor deletes it.
    other, other_token = as_user("bob")
    assert "红灯" not in other.get("/inbox").get_data(as_text=True)
    assert other.post(f"/filters/{saved.id}/delete",
                      data={"csrf_token": other_token, "page": "inbox"}).status_code == 404
    assert client.post(f"/filters/{saved.id}/delete",
                       data={"csrf_token": token, "page": "inbox"}).status_code == 302
    assert db.scalars(select(SavedFilter)).all() == []


def test_a_bad_filter_is_refused_and_a_stale_one_not_offered(as_user, world, db, clock):
    client, token = as_user("alice")
    response = client.post("/filters", data={"csrf_token": token, "page": "inbox",
                                             "name": "x", "query": "light=purple"})
    assert response.status_code == 400 and "light" in response.get_data(as_text=True)
    assert client.post("/filters", data={"csrf_token": token, "page": "desk", "name": "x",
                                         "query": ""}).status_code == 403
    assert db.scalars(select(SavedFilter)).all() == []  # an agent has no desk
    db.commit()
    alice = db.get(User, world["users"]["alice"].id)
    db.add(SavedFilter(user_id=alice.id, page="inbox", name="旧的", query="sort=nonsense",
                       created_at=clock.moment))
    db.commit()
    page = client.get("/inbox").get_data(as_text=True)
    assert "旧的" in page and "sort=nonsense" not in page


def test_at_most_twenty_filters_each(db, world, clock):
    alice = db.get(User, world["users"]["alice"].id)
    for n in range(saved_filters.MAX_PER_USER):
        saved_filters.save_filter(db, alice, "inbox", f"f{n}", "light=red", now=clock.moment)
    saved_filters.save_filter(db, alice, "inbox", "f3", "light=yellow", now=clock.moment)  # replaces
    with pytest.raises(Exception, match="At most 20"):
        saved_filters.save_filter(db, alice, "inbox", "one more", "", now=clock.moment)
    db.rollback()


def test_the_desk_saves_its_own_filters(as_user, world, db):
    client, token = as_user("lead")
    client.post("/filters", data={"csrf_token": token, "page": "desk", "name": "队列",
                                  "query": "agent=-&sort=due&dir=desc&tab=mine"})
    saved = db.scalars(select(SavedFilter)).one()
    db.commit()
    assert saved.query == "agent=-&sort=due&dir=desc"  # tab is no filter of the desk
    assert f'href="/desk?{html.escape(saved.query)}"' in client.get("/desk").get_data(as_text=True)


# -- (c) bulk claim and assign -------------------------------------------------------------------

def test_an_agent_claims_several_queued_tasks_at_once(as_user, queue, db, world):
    client, token = as_user("alice")
    page = client.get("/inbox?tab=queue").get_data(as_text=True)
    for t in queue:
        assert f'name="task" value="{t.id}" form="bulk-claim"' in page
    response = client.post("/inbox/claim", data={
        "csrf_token": token, "task": [t.id for t in queue], "next": "/inbox?tab=queue"})
    assert response.status_code == 302 and response.location.endswith("/inbox?tab=queue")
    alice = world["users"]["alice"].id
    assert {(task_now(db, t.id).state, task_now(db, t.id).assignee_id) for t in queue} \
        == {("assigned", alice)}
    assert f"已认领 {len(queue)} 项任务" in client.get("/inbox").get_data(as_text=True)


def test_a_bulk_claim_is_all_or_nothing_naming_the_task_taken_meanwhile(as_user, queue, db,
                                                                          world, clock):
    client, token = as_user("alice")
    taken = queue[1]
    bob = db.get(User, world["users"]["bob"].id)
    ops.claim_task(db, taken.id, actor=bob, now=clock.moment)  # bob is quicker
    db.commit()
    response = client.post("/inbox/claim", data={"csrf_token": token,
                                                 "task": [t.id for t in queue]})
    assert response.status_code == 302
    assert [task_now(db, t.id).assignee_id for t in queue if t.id != taken.id] \
        == [None] * (len(queue) - 1)
    page = client.get("/inbox?tab=queue").get_data(as_text=True)
    assert f"未认领任何任务：#{taken.id} " in page and "bob" in page


def test_a_bulk_claim_outside_ones_groups_names_no_project(as_user, queue, db):
    client, token = as_user("olga")  # the food group
    response = client.post("/inbox/claim", data={"csrf_token": token, "task": [queue[0].id]})
    assert response.status_code == 302
    assert task_now(db, queue[0].id).state == "ready"
    page = client.get("/inbox").get_data(as_text=True)
    assert f"未认领任何任务：#{queue[0].id} 无法认领（该任务不存在或您无权办理）" in page
    assert "测试项目" not in page


def test_bulk_requests_are_bounded(as_user, queue):
    client, token = as_user("alice")
    too_many = client.post("/inbox/claim", data={"csrf_token": token,
                                                 "task": list(range(1, 102))})
    assert too_many.status_code == 400
    assert client.post("/inbox/claim", data={"csrf_token": token}).status_code == 400
    assert client.post("/inbox/claim", data={"csrf_token": token,
                                             "task": ["x"]}).status_code == 400


def test_a_lead_assigns_several_queued_tasks_to_one_agent(as_user, queue, db, world):
    client, token = as_user("lead")
    page = client.get("/desk").get_data(as_text=True)
    assert all(f'name="task" value="{t.id}" form="bulk-assign"' in page for t in queue)
    chosen = [t.id for t in queue[:2]]
    response = client.post("/desk/assign", data={"csrf_token": token, "task": chosen,
                                                 "assignee": "bob", "next": "/desk"})
    assert response.status_code == 302
    bob = world["users"]["bob"].id
    assert [task_now(db, t).assignee_id for t in chosen] == [bob, bob]
    assert task_now(db, queue[2].id).assignee_id is None
    # Assigned tasks offer no checkbox any more; assigning one again changes nothing.
    page = client.get("/desk").get_data(as_text=True)
    assert f'name="task" value="{chosen[0]}" form="bulk-assign"' not in page
    client.post("/desk/assign", data={"csrf_token": token, "assignee": "alice",
                                      "task": [queue[2].id, chosen[0]]})
    assert task_now(db, queue[2].id).assignee_id is None
    assert f"未分派任何任务：#{chosen[0]} " in client.get("/desk").get_data(as_text=True)


def test_bulk_assign_is_for_leads_and_to_the_groups_agents(as_user, queue, db):
    agent, token = as_user("alice")
    assert agent.post("/desk/assign", data={"csrf_token": token, "task": [queue[0].id],
                                            "assignee": "alice"}).status_code == 403
    lead, token = as_user("lead")
    lead.post("/desk/assign", data={"csrf_token": token, "task": [queue[0].id],
                                    "assignee": "olga"})  # the food group's agent
    assert task_now(db, queue[0].id).assignee_id is None
    assert lead.post("/desk/assign", data={"csrf_token": token, "task": [queue[0].id],
                                           "assignee": "nobody"}).status_code == 400


# -- (d) search --------------------------------------------------------------------------------

def found(client, q) -> list[str]:
    page = client.get("/search", query_string={"q": q}).get_data(as_text=True)
    return re.findall(r'<tr data-project="([^"]+)"', page)


def test_search_by_code_name_and_enterprise_within_what_one_may_see(as_user, world):
    sup, _ = as_user("sup")
    assert found(sup, "P-ACME") == ["P-ACME-1"]
    assert found(sup, "p-acme") == ["P-ACME-1"]  # case-insensitive
    assert found(sup, "甲科技") == ["P-ACME-1"]  # the enterprise's name
    assert found(sup, "测试项目") == ["P-ACME-1", "P-OTHER-1"]  # the projects' name
    assert found(sup, "100%") == []  # a wildcard matches itself only
    acme, _ = as_user("acme")
    assert found(acme, "测试项目") == ["P-ACME-1"]  # an enterprise sees its own
    alice, _ = as_user("alice")
    assert found(alice, "测试项目") == ["P-ACME-1", "P-OTHER-1"]  # her group's
    olga, _ = as_user("olga")
    assert found(olga, "测试项目") == []  # another group's are not hers
    page = olga.get("/search?q=x").get_data(as_text=True)
    assert 'data-error="q"' in page


def test_search_pages(as_user, world, db, clock):
    for n in range(3):
        f.project(db, clock.moment, lead=world["users"]["lead"], code=f"P-MORE-{n}")
    db.commit()
    sup, _ = as_user("sup")
    page = sup.get("/search?q=P-&limit=2").get_data(as_text=True)
    assert re.findall(r'<tr data-project="([^"]+)"', page) == ["P-ACME-1", "P-MORE-0"]
    following = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    rest = sup.get(following).get_data(as_text=True)
    assert re.findall(r'<tr data-project="([^"]+)"', rest) == ["P-MORE-1", "P-MORE-2"]

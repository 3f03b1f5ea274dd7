"""The lists users wait on are pages read in the database: following the
``next`` links walks every row once, in order, while rows keep arriving; the
filters hold on every page; the page, the API and the export agree; and a
page costs the same small number of statements however many rows there are."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import date
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from tests import factories as f
from tests.factories import at
from workflow.accounts import tokens
from workflow.models import ItemTask

API = "/api/v1"


def ids_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-task="(\d+)"', page)]


def next_link(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def prev_link(page: str) -> str | None:
    found = re.search(r'<a rel="prev" href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def walk(client, url: str) -> list[list[int]]:
    """Every page of an HTML list from ``url``, following its next links."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        page = response.get_data(as_text=True)
        pages.append(ids_on(page))
        url = next_link(page)
    return pages


def walk_api(client, url: str, headers=None) -> list[list[int]]:
    pages = []
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        pages.append([row["id"] for row in data["tasks"]])
        if data["next"] is None:
            return pages
        url = re.sub(r"([?&])cursor=[^&]*&?", r"\1", url).rstrip("?&")
        url += ("&" if "?" in url else "?") + f"cursor={data['next']}"


@contextmanager
def counted(app):
    """How many SQL statements the app sends inside the block."""
    engine = app.extensions["daiban_engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def queue(db, world, clock):
    """Twelve more equipment projects: with the world's two, 28 queued tasks
    (each mandate releases the filing and the survey), due on several days."""
    lead = world["users"]["lead"]
    for n in range(12):
        f.project(db, at(f"2026-02-{2 + n:02d}"), lead=lead, code=f"P-Q-{n:02d}")
    db.commit()
    clock.moment = at("2026-03-16", 10)
    tasks = db.scalars(select(ItemTask).where(ItemTask.state == "ready")
                       .order_by(ItemTask.due_on, ItemTask.id)).all()
    for task in tasks:
        task.project  # noqa: B018 - loaded now: the read transaction ends below
    db.commit()  # SQLite's BEGIN IMMEDIATE would otherwise block the app
    return tasks


def test_the_queue_pages_through_every_task_once_in_order_and_back(as_user, queue, db):
    client, _ = as_user("alice")
    pages = walk(client, "/inbox?tab=queue&limit=5")
    expected = [t.id for t in queue if t.group_id == queue[0].group_id]
    assert [len(p) for p in pages[:-1]] == [5] * (len(pages) - 1) and 0 < len(pages[-1]) <= 5
    assert [i for p in pages for i in p] == expected
    # The badge counts them all though a page shows five.
    first = client.get("/inbox?tab=queue&limit=5").get_data(as_text=True)
    assert f'本组待认领 <span class="badge">{len(expected)}</span>' in first
    # From the third page, "previous" shows the second again.
    second_url = next_link(first)
    third = client.get(next_link(client.get(second_url).get_data(as_text=True))).get_data(as_text=True)
    assert ids_on(client.get(prev_link(third)).get_data(as_text=True)) == pages[1]


def test_filters_and_sort_hold_on_every_page(as_user, queue, db):
    client, _ = as_user("alice")
    surveys = [t.id for t in queue if t.item_code == "u01_survey"]
    pages = walk(client, "/inbox?tab=queue&limit=4&item=u01_survey&sort=light")
    shown = [i for p in pages for i in p]
    assert sorted(shown) == sorted(surveys) and len(pages) > 2
    # By light: the red ones (earliest due) before the others, each by due date.
    by_id = {t.id: t for t in queue}
    reds = [i for i in shown if by_id[i].due_on < date(2026, 3, 16)]
    assert shown[:len(reds)] == reds
    by_project = [i for p in walk(client, "/inbox?tab=queue&limit=4&sort=project") for i in p]
    codes = [by_id[i].project.code for i in by_project]
    assert codes == sorted(codes)


def test_rows_that_arrive_while_paging_neither_repeat_nor_shift(as_user, queue, db, world, clock):
    client, _ = as_user("alice")
    first = client.get("/inbox?tab=queue&limit=6").get_data(as_text=True)
    shown = ids_on(first)
    # New work arrives: due both before and after what the first page showed.
    f.project(db, at("2026-01-05"), lead=world["users"]["lead"], code="P-EARLIER")
    f.project(db, at("2026-03-13"), lead=world["users"]["lead"], code="P-LATER")
    db.commit()
    rest = [i for p in walk(client, next_link(first)) for i in p]
    assert not set(shown) & set(rest) and len(rest) == len(set(rest))
    everything = db.scalars(select(ItemTask).where(ItemTask.state == "ready",
                                                   ItemTask.group_id == queue[0].group_id)
                            .order_by(ItemTask.due_on, ItemTask.id)).all()
    db.commit()
    boundary = next(t for t in everything if t.id == shown[-1])
    later = [t.id for t in everything if (t.due_on, t.id) > (boundary.due_on, boundary.id)]
    assert rest == later  # the later arrival is there, the earlier one is not


def test_the_watch_list_page_api_and_export_hold_the_same_rows(as_user, queue, app, world, db):
    client, _ = as_user("sup")
    html = [i for p in walk(client, "/supervision?light=red&limit=3") for i in p]
    assert len(html) > 6
    _, token = tokens.issue_token(db, world["users"]["sup"], name="t", now=at("2026-03-16"))
    db.commit()
    api = [i for p in walk_api(app.test_client(), f"{API}/supervision/overdue?limit=4",
                               {"Authorization": f"Bearer {token}"}) for i in p]
    assert api == html
    # Row 1 of the export: the as-of time; row 2: the header.
    sheet = load_workbook(io.BytesIO(client.get("/supervision/overdue.xlsx?light=red").data)).active
    exported = [(row[0], row[4]) for row in sheet.iter_rows(min_row=3, values_only=True)]
    by_id = {t.id: t for t in queue}
    assert [code for code, _ in exported] == [by_id[i].project.code for i in html]


def test_a_bad_cursor_or_limit_is_a_clear_400_on_pages_and_the_api(as_user, queue, app):
    client, _ = as_user("alice")
    for url in ("/inbox?cursor=bogus", "/inbox?tab=queue&limit=0", "/inbox?limit=9999999999999",
                "/inbox?limit=%C2%B2", "/inbox?limit=%EF%BC%91%EF%BC%92", "/api/v1/inbox?limit=%C2%B2",
                "/inbox?state=nope", "/inbox?project=a%00b", "/inbox?sort=nonsense",
                "/api/v1/inbox?limit=201", "/api/v1/inbox?cursor=eyJ4Ijox"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
    lead, _ = as_user("lead")
    assert lead.get("/intentions?lead=%C2%B2").status_code == 400
    for url in ("/desk?cursor=%%%", "/desk?pcursor=x", "/desk?xcursor=x", "/desk?light=blue",
                "/supervision?cursor=x", "/supervision?late=99999999999",
                "/supervision?department=a%00b", "/supervision/notices?cursor=x"):
        assert lead.get(url).status_code == 400, url
    # The refusal says what was wrong with the input, in the user's language.
    refused = client.get("/inbox?cursor=bogus").get_data(as_text=True)
    assert "输入有误" in refused and "操作失败" not in refused
    # A cursor of one list is refused by another.
    queue_page = client.get("/inbox?tab=queue&limit=2").get_data(as_text=True)
    cursor = re.search(r"cursor=([^&\"]+)", next_link(queue_page)).group(1)
    assert client.get(f"/inbox?tab=mine&cursor={cursor}").status_code == 400


def test_the_api_inbox_costs_the_same_few_statements_however_many_tasks(app, world, db, clock):
    _, token = tokens.issue_token(db, world["users"]["alice"], name="t", now=clock.moment)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    client.get(f"{API}/inbox", headers=headers)  # warm: definitions, the token's first touch

    def statements() -> tuple[int, int]:
        with counted(app) as seen:
            data = client.get(f"{API}/inbox", headers=headers).get_json()
        return len(data["tasks"]), len(seen)

    few, few_statements = statements()
    for n in range(15):
        f.project(db, at("2026-03-02"), lead=world["users"]["lead"], code=f"P-N-{n:02d}")
    db.commit()
    many, many_statements = statements()
    assert many > few * 3
    assert many_statements == few_statements <= 8


def test_the_desk_costs_the_same_few_statements_however_many_tasks(as_user, app, world, db):
    client, _ = as_user("lead")
    client.get("/desk")

    def statements() -> tuple[int, int]:
        with counted(app) as seen:
            page = client.get("/desk").get_data(as_text=True)
        return len(ids_on(page)), len(seen)

    few, few_statements = statements()
    for n in range(15):
        f.project(db, at("2026-03-02"), lead=world["users"]["lead"], code=f"P-D-{n:02d}")
    db.commit()
    many, many_statements = statements()
    assert many > few * 3
    # 19 for the lists and figures, 2 for the workload forecast (the groups'
    # agents with their capacities; the rollup's days).
    assert many_statements == few_statements <= 21


def test_claiming_from_a_later_page_keeps_the_place(as_user, queue, db):
    """The task forms carry the page's URL as ``next``; after the action the
    user is back on that page, and the claimed task has left the queue."""
    client, token = as_user("alice")
    first = client.get("/inbox?tab=queue&limit=5").get_data(as_text=True)
    second_url = next_link(first)
    task_id = ids_on(client.get(second_url).get_data(as_text=True))[0]
    task = db.get(ItemTask, task_id)
    version = task.version
    db.commit()
    response = client.post(f"/tasks/{task_id}/claim",
                           data={"csrf_token": token, "version": version, "next": second_url})
    assert response.status_code == 302 and response.headers["Location"].endswith(second_url)
    assert task_id not in [i for p in walk(client, "/inbox?tab=queue&limit=5") for i in p]


def test_query_arguments_that_clash_with_the_route_do_not_break_the_page_links(as_user, queue, world):
    """The page links keep the request's arguments; those that are no argument
    of the page (the route's own names, url_for's) are left out, not a 500."""
    client, _ = as_user("lead")
    for url in ("/projects/P-ACME-1/audit?code=X&limit=1", "/desk?endpoint=1&limit=2",
                "/desk?_anchor=x&limit=2", "/desk?_scheme=https&limit=2",
                "/inbox?tab=queue&_external=1&limit=2"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        link = next_link(response.get_data(as_text=True))
        assert link and "endpoint=" not in link and "_anchor" not in link and "code=X" not in link
        assert client.get(link).status_code == 200

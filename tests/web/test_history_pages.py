"""A project's history on the pages, a page at a time: the audit page (either
way, filtered to a task, its check of what it shows and of the whole chain
on demand), the project page's comments and files, the task page's lists,
the enterprise's projects and project page; bad page arguments are a clear
400; and the portal and the project API answer in a fixed number of
statements however many projects and tasks there are."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from tests import factories as f
from workflow.accounts import tokens
from workflow.core import operations as ops
from workflow.models import AuditEvent, Enterprise, ItemTask, Project, User

CODE = "P-ACME-1"


def fresh(db, model, *where):
    """Rows as the database has them now (the read transaction ends at once:
    SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    rows = db.scalars(select(model).where(*where).execution_options(populate_existing=True)).all()
    db.commit()
    return rows


def comments(db, world, clock, n, *, public=False, task=None, who="lead") -> list[int]:
    """Ids of ``n`` new comments, oldest first."""
    db.expire_all()  # the app may have moved the project on since
    made = [ops.add_comment(db, world["project"].id, f"留言{k}", actor=world["users"][who],
                            now=clock.moment + timedelta(minutes=k), public=public,
                            task_id=task).id for k in range(n)]
    db.commit()
    return made


def files(db, world, clock, n, *, task=None, who="lead") -> list[int]:
    """Ids of ``n`` new files, oldest first."""
    db.expire_all()
    made = [ops.record_attachment(db, world["project"].id, actor=world["users"][who],
                                  now=clock.moment, original_name=f"文件{k}.pdf",
                                  storage_name=f"stored-{who}-{k}", content_type="application/pdf",
                                  size=100, sha256="0" * 64, task_id=task).id
            for k in range(n)]
    db.commit()
    return made


def survey(db, world) -> int:
    """The survey task's id (an id: the helpers expire what the session holds)."""
    return fresh(db, ItemTask, ItemTask.project_id == world["project"].id,
                 ItemTask.item_code == "u01_survey")[0].id


def seqs(page: str, where: str = "") -> list[int]:
    if where:
        page = page[page.index(where):]
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', page)]


def link(page: str, param: str = "cursor", which: str = "next") -> str | None:
    nav = re.search(rf'<nav class="pager"[^>]*data-pager="{param}">(.*?)</nav>', page, re.S)
    if nav is None:
        return None
    found = re.search(rf'href="([^"]+)" data-page="{which}"', nav.group(1))
    return html.unescape(found.group(1)) if found else None


def chain(db, world) -> list[AuditEvent]:
    return sorted(fresh(db, AuditEvent, AuditEvent.project_id == world["project"].id),
                  key=lambda e: e.seq)


# -- the audit page ----------------------------------------------------------------------------

def test_the_audit_page_pages_newest_first_and_oldest_first(as_user, world, db, clock):
    comments(db, world, clock, 12)
    every = [e.seq for e in chain(db, world)]
    client, _ = as_user("lead")
    page = client.get(f"/projects/{CODE}/audit?limit=5").get_data(as_text=True)
    assert seqs(page) == every[::-1][:5] and 'data-verified="page"' in page
    assert f"共 {len(every)} 条" in page
    shown, url = [], f"/projects/{CODE}/audit?limit=5"
    while url:
        page = client.get(url).get_data(as_text=True)
        shown += seqs(page)
        url = link(page)
    assert shown == every[::-1]
    back = client.get(link(page, which="prev")).get_data(as_text=True)
    assert seqs(back) == every[::-1][-len(seqs(page)) - 5:-len(seqs(page))]
    oldest = re.search(r'href="([^"]+)" data-order="oldest"', client.get(
        f"/projects/{CODE}/audit?limit=5").get_data(as_text=True)).group(1)
    page = client.get(html.unescape(oldest)).get_data(as_text=True)
    assert seqs(page) == every[:5] and 'data-order="newest"' in page


def test_the_page_checks_what_it_shows_and_the_whole_chain_on_demand(as_user, world, db, clock):
    comments(db, world, clock, 12)
    target = chain(db, world)[2]
    db.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(data={"forged": 1}))
    db.commit()
    client, _ = as_user("sup")
    newest = client.get(f"/projects/{CODE}/audit?limit=5").get_data(as_text=True)
    assert "审计链异常" not in newest and 'data-verified="page"' in newest
    verify = re.search(r'href="([^"]+)" data-link="verify-chain"', newest).group(1)
    whole = client.get(html.unescape(verify)).get_data(as_text=True)
    assert 'data-verified="chain"' in whole and "审计链异常" in whole
    assert f"event #{target.seq}: was edited" in whole
    assert seqs(whole) == seqs(newest)  # the same page, checked whole
    oldest = client.get(f"/projects/{CODE}/audit?limit=5&order=oldest").get_data(as_text=True)
    assert "审计链异常" in oldest and f"event #{target.seq}" in oldest


def test_an_intact_chain_verifies_whole(as_user, world, db, clock):
    comments(db, world, clock, 3)
    client, _ = as_user("lead")
    page = client.get(f"/projects/{CODE}/audit?verify=all").get_data(as_text=True)
    n = len(chain(db, world))
    assert f"审计链完整：共 {n} 条记录，逐条校验通过" in page


def test_the_task_page_links_to_the_audit_page_filtered_to_the_task(as_user, world, db, clock):
    client, token = as_user("alice")
    task = survey(db, world)
    for _ in range(13):  # 26 events of the task, with project events between
        client.post(f"/tasks/{task}/claim", data={"csrf_token": token})
        client.post(f"/tasks/{task}/unassign", data={"csrf_token": token})
        comments(db, world, clock, 1)
    mine = [e.seq for e in chain(db, world) if e.task_id == task]
    assert len(mine) >= 26
    page = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert seqs(page, "timeline") == mine[::-1][:20] and "仅显示最近 20 条" in page
    url = html.unescape(re.search(r'href="([^"]+)" data-link="task-audit"', page).group(1))
    assert f"task={task}" in url
    shown = []
    url += "&limit=10"
    while url:
        audit_page = client.get(url).get_data(as_text=True)
        assert "仅显示事项：地形图测绘" in audit_page and "审计链异常" not in audit_page
        shown += seqs(audit_page)
        url = link(audit_page)
    assert shown == mine[::-1]


@pytest.mark.parametrize("query", [
    "cursor=garbage", "cursor=%00", "cursor=" + "A" * 3000, "limit=0", "limit=201",
    "limit=abc", "limit=%00", "task=abc", "task=99999999", "task=%01", "order=sideways",
    "verify=yes",
])
def test_bad_audit_page_arguments_are_a_clear_400(as_user, world, db, query):
    client, _ = as_user("lead")
    response = client.get(f"/projects/{CODE}/audit?{query}")
    assert response.status_code == 400, query
    assert "<h1>400</h1>" in response.get_data(as_text=True)  # the error page, with its reason


def test_another_projects_task_is_not_a_filter(as_user, world, db):
    rival_task = fresh(db, ItemTask, ItemTask.project_id == world["rival"].id)[0].id
    client, _ = as_user("admin")
    assert client.get(f"/projects/{CODE}/audit?task={rival_task}").status_code == 400


def test_the_enterprise_has_no_audit_page(as_user, world):
    client, _ = as_user("acme")
    assert client.get(f"/projects/{CODE}/audit").status_code == 404


# -- the project page and the task page ---------------------------------------------------------

def test_the_project_pages_comments_and_files_page_on_their_own(as_user, world, db, clock):
    said = comments(db, world, clock, 7)
    stored = files(db, world, clock, 5)
    client, _ = as_user("lead")
    page = client.get(f"/projects/{CODE}?limit=3").get_data(as_text=True)
    newest_comments, newest_files = said[::-1], stored[::-1]

    def shown(page, what):
        return [int(x) for x in re.findall(rf'data-{what}="(\d+)"', page)]

    assert shown(page, "comment") == newest_comments[:3]
    assert shown(page, "file") == newest_files[:3]
    # The next page of files keeps the comments where they were, and back.
    page = client.get(link(page, "files")).get_data(as_text=True)
    assert shown(page, "file") == newest_files[3:] and shown(page, "comment") == newest_comments[:3]
    page = client.get(link(page, "comments")).get_data(as_text=True)
    assert shown(page, "comment") == newest_comments[3:6] and shown(page, "file") == newest_files[3:]
    assert link(page, "comments").endswith("#comments")
    page = client.get(link(page, "comments")).get_data(as_text=True)
    assert shown(page, "comment") == newest_comments[6:] and link(page, "comments") is None
    for bad in ("comments=nope", "files=%00", "limit=500"):
        assert client.get(f"/projects/{CODE}?{bad}").status_code == 400, bad


def test_the_task_pages_lists_page_newest_first(as_user, world, db, clock):
    task = survey(db, world)
    said = comments(db, world, clock, 5, task=task)
    stored = files(db, world, clock, 4, task=task)
    comments(db, world, clock, 2)  # the project's, not the task's
    client, _ = as_user("alice")
    page = client.get(f"/tasks/{task}?limit=2").get_data(as_text=True)
    assert re.findall(r'data-comment="(\d+)"', page) == [str(c) for c in reversed(said)][:2]
    assert re.findall(r'data-file="(\d+)"', page) == [str(a) for a in reversed(stored)][:2]
    page = client.get(link(page, "comments")).get_data(as_text=True)
    assert re.findall(r'data-comment="(\d+)"', page) == [str(c) for c in reversed(said)][2:4]
    for bad in ("comments=nope", "requests=%00", "extensions=x", "files=y", "limit=-1"):
        assert client.get(f"/tasks/{task}?{bad}").status_code == 400, bad


# -- the enterprise portal ------------------------------------------------------------------------

def more_projects(db, world, clock, n, start=0):
    acme = db.get(Enterprise, world["project"].enterprise_id)
    made = [f.project(db, clock.moment + timedelta(minutes=start + k), company=acme,
                      lead=world["users"]["lead"], code=f"P-ACME-X{start + k:03d}")
            for k in range(n)]
    db.commit()
    return made


def test_the_portal_pages_the_enterprises_projects_newest_first(as_user, world, db, clock):
    made = more_projects(db, world, clock, 6)
    client, _ = as_user("acme")
    expected = [p.code for p in reversed(made)] + [CODE]
    shown, url = [], "/portal?limit=4"
    while url:
        page = client.get(url).get_data(as_text=True)
        shown += re.findall(r'data-project="([^"]+)"', page)
        url = link(page)
    assert shown == expected and "P-OTHER-1" not in shown
    # A project registered meanwhile heads the first page and shifts nothing after.
    first = client.get("/portal?limit=4").get_data(as_text=True)
    more_projects(db, world, clock, 1, start=100)
    page = client.get(link(first)).get_data(as_text=True)
    assert re.findall(r'data-project="([^"]+)"', page) == expected[4:]
    assert client.get("/portal?cursor=xyz").status_code == 400
    assert client.get("/portal?limit=0").status_code == 400


def test_the_portal_project_pages_its_timeline_and_files(as_user, world, db, clock):
    stored = files(db, world, clock, 3, who="acme")
    comments(db, world, clock, 5, public=True)
    client, _ = as_user("acme")
    page = client.get(f"/portal/projects/{CODE}?limit=2").get_data(as_text=True)
    timeline = page[page.index('id="timeline"'):page.index('id="files"')]
    assert re.findall(r'<div class="comment-body">([^<]+)</div>', timeline) == ["留言4", "留言3"]
    assert re.findall(r'data-file="(\d+)"', page) == [str(a) for a in reversed(stored)][:2]
    later = client.get(link(page, "timeline")).get_data(as_text=True)
    timeline = later[later.index('id="timeline"'):later.index('id="files"')]
    assert re.findall(r'<div class="comment-body">([^<]+)</div>', timeline) == ["留言2", "留言1"]
    assert re.findall(r'data-file="(\d+)"', later) == [str(a) for a in reversed(stored)][:2]
    for bad in ("timeline=nope", "files=%00", "requests=zz", "limit=1000"):
        assert client.get(f"/portal/projects/{CODE}?{bad}").status_code == 400, bad


# -- statements per page ----------------------------------------------------------------------------

@contextmanager
def statements(app):
    """Every statement the app sends while the block runs."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = app.extensions["daiban_engine"]
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def counted(app, client, url, **kw) -> int:
    with statements(app) as seen:
        response = client.get(url, **kw)
    assert response.status_code == 200, url
    return len(seen)


def test_the_portal_answers_in_a_fixed_number_of_statements(app, as_user, world, db, clock):
    client, _ = as_user("acme")
    few = counted(app, client, "/portal")
    more_projects(db, world, clock, 30)
    many = counted(app, client, "/portal")
    assert many == few <= 10


def test_the_project_api_answers_in_a_fixed_number_of_statements(app, world, db, clock):
    _, token = tokens.issue_token(db, world["users"]["lead"], name="test", now=clock.moment)
    db.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/projects/{CODE}"
    counted(app, client, url, headers=headers)  # the token's first use is written once
    before = counted(app, client, url, headers=headers)
    # Every task in a group of its own and with an assignee of its own: the
    # answer still reads them in the same statements.
    project = db.get(Project, world["project"].id)
    groups = ("equipment", "food", "coal_chemical", "new_energy_materials", "emerging_logistics")
    for n, task in enumerate(project.tasks):
        agent = f.user(db, f"agent-{n}", "agent", groups=(groups[n % len(groups)],))
        task.group_id, task.assignee_id = agent.memberships[0].group_id, agent.id
    db.commit()
    after = counted(app, client, url, headers=headers)
    # 10 for the project and its tasks, 4 for its prediction (issue 13): the
    # stored dates and items, and the planned milestones with their source.
    assert after == before <= 14
    body = client.get(url, headers=headers).get_json()
    assert {t["assignee"] for t in body["tasks"]} == {f"agent-{n}" for n in range(len(project.tasks))}


@pytest.mark.parametrize("who, url", [
    ("lead", f"/projects/{CODE}"), ("lead", f"/projects/{CODE}/audit"),
    ("sup", f"/projects/{CODE}/audit?verify=all&limit=200"), ("alice", "/tasks/{task}"),
    ("acme", f"/portal/projects/{CODE}"),
])
def test_the_history_pages_answer_in_a_fixed_number_of_statements(app, as_user, world, db,
                                                                   clock, who, url):
    task = survey(db, world)
    url = url.format(task=task)
    client, _ = as_user(who)
    comments(db, world, clock, 1, public=True, task=task)
    files(db, world, clock, 1, task=task, who="acme")
    counted(app, client, url)
    few = counted(app, client, url)
    # Many more rows, by many authors: the page reads them in the same statements.
    for n in range(12):
        name = f"agent-{n}"
        db.expire_all()
        f.user(db, name, "agent", groups=("equipment",))
        db.commit()
        world["users"][name] = db.scalar(select(User).where(User.username == name))
        comments(db, world, clock, 2, public=True, task=task, who=name)
        files(db, world, clock, 1, task=task, who=name)
    assert counted(app, client, url) == few

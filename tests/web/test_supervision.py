"""The supervisors' pages (督查): the watch list and its filters, scope and
refusals, Excel exports, figures with charts, supervision notices — and a
supervisor who may change nothing but supervision records.

The ``world`` projects are mandated on Monday 2026-03-02 and their items wait
with the agents, on the service clock: each filing (项目备案, admin_approval;
2 working days) is due Wed 03-04, each survey (地形图测绘, nature_resources;
10 working days) Mon 03-16.
"""

from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories as f
from workflow.core import operations as ops
from workflow.core import rollups
from workflow.models import AuditEvent, ItemTask, SupervisionNotice

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def task(db, world, item="project_filing", project="project"):
    """A task as the database has it now (the read transaction ends at once)."""
    row = db.scalar(select(ItemTask).where(ItemTask.project_id == world[project].id,
                                           ItemTask.item_code == item)
                    .execution_options(populate_existing=True))
    db.commit()
    return row


def audit_count(db, world):
    n = db.scalar(select(func.count(AuditEvent.id))
                  .where(AuditEvent.project_id == world["project"].id))
    db.commit()
    return n


@pytest.fixture
def food(db, world, clock):
    """A food-group project (outside the equipment lead's groups)."""
    project = f.project(db, clock.moment, industry="food_processing", code="P-FOOD-1")
    db.commit()
    world["food"] = project
    return project


@pytest.fixture
def claimed(db, world):
    """alice holds ACME's filing, bob OTHER's."""
    users = world["users"]
    for name, key in (("alice", "project"), ("bob", "rival")):
        ops.claim_task(db, task(db, world, project=key).id, actor=users[name],
                       now=f.at("2026-03-02", 11))
    db.commit()


def watched(page: str) -> set[int]:
    import re

    return {int(n) for n in re.findall(r'<tr data-task="(\d+)"', page)}


# -- the watch list --------------------------------------------------------------------------

def test_the_overdue_page_shows_a_red_item_and_not_a_green_one(as_user, world, db, clock):
    clock.moment = f.at("2026-03-10", 10)  # filings 4 working days late; surveys green
    client, _ = as_user("sup")
    response = client.get("/supervision")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    filing, survey = task(db, world), task(db, world, "u01_survey")
    assert f'<tr data-task="{filing.id}" data-light="red"' in page
    assert survey.id not in watched(page)
    assert "4 个工作日" in page
    # The agent's time (代办) runs on both: the service clock.
    assert page.count('data-whose="agent"') == page.count('<tr data-task="')
    # Each row leads to the task and to the project's audit trail.
    assert f"/tasks/{filing.id}" in page and "/projects/P-ACME-1/audit" in page
    assert client.get("/projects/P-ACME-1/audit").status_code == 200


def test_near_due_items_are_yellow_and_listed_after_red_ones(as_user, world, db, clock):
    clock.moment = f.at("2026-03-13", 10)  # surveys: 1 working day left
    client, _ = as_user("sup")
    page = client.get("/supervision").get_data(as_text=True)
    survey, filing = task(db, world, "u01_survey"), task(db, world)
    assert f'<tr data-task="{survey.id}" data-light="yellow"' in page
    assert page.index(f'data-task="{filing.id}"') < page.index(f'data-task="{survey.id}"')
    only_yellow = client.get("/supervision?light=yellow").get_data(as_text=True)
    assert filing.id not in watched(only_yellow) and survey.id in watched(only_yellow)


@pytest.mark.usefixtures("food", "claimed")
def test_filters_by_group_agent_department_item_and_days_late(as_user, world, db, clock):
    clock.moment = f.at("2026-03-25", 10)  # surveys 7 working days late, filings 15
    client, _ = as_user("sup")
    acme_filing, other_filing = task(db, world), task(db, world, project="rival")
    surveys = {task(db, world, "u01_survey", p).id for p in ("project", "rival", "food")}
    filings = {acme_filing.id, other_filing.id, task(db, world, project="food").id}

    def rows(query):
        return watched(client.get(f"/supervision?{query}").get_data(as_text=True))

    assert rows("") == surveys | filings
    assert rows("group=food") == {task(db, world, p, "food").id
                                  for p in ("project_filing", "u01_survey")}
    assert rows("agent=alice") == {acme_filing.id}
    assert rows("department=nature_resources") == surveys
    assert rows("item=project_filing") == filings
    assert rows("late=10") == filings
    assert rows("late=16") == set()
    assert rows("group=equipment&item=u01_survey&late=2") == surveys - {
        task(db, world, "u01_survey", "food").id}
    assert client.get("/supervision?late=many").status_code == 400


@pytest.mark.usefixtures("food", "claimed")
def test_the_counts_are_the_sweeps_exact_figures_with_the_same_filters(as_user, world, db, clock):
    """Counted live before the day's first sweep; the open-item rollup's exact
    figures (with their time) once it ran today; both agree, filter by filter."""
    clock.moment = f.at("2026-03-25", 10)
    client, _ = as_user("sup")
    queries = ("", "group=food", "agent=alice", "department=nature_resources",
               "item=project_filing", "light=yellow", "group=nosuch")

    def counts(query):
        page = client.get(f"/supervision?{query}").get_data(as_text=True)
        found = re.findall(r'data-count="(red|yellow)"><span class="kpi \w+">(\d+)<', page)
        return dict(found), "data-as-of" in page

    live = {q: counts(q) for q in queries}
    assert not any(rolled for _, rolled in live.values())
    assert live[""][0]["red"] == "6" and live["group=nosuch"][0] == {"red": "0", "yellow": "0"}
    rollups.refresh(db, now=clock.moment)
    db.commit()
    for query in queries:
        shown, rolled = counts(query)
        assert rolled and shown == live[query][0], query
    # Days late are no dimension of the rollup: that filter counts live.
    assert counts("late=10")[1] is False


@pytest.mark.usefixtures("food")
def test_a_lead_sees_only_their_groups(as_user, world, db, clock):
    clock.moment = f.at("2026-03-10", 10)
    lead, _ = as_user("lead")
    page = lead.get("/supervision").get_data(as_text=True)
    assert task(db, world).id in watched(page)
    assert task(db, world, project="food").id not in watched(page)
    assert "P-FOOD-1" not in page
    # Not even by asking for the other group.
    assert watched(lead.get("/supervision?group=food").get_data(as_text=True)) == set()
    sup, _ = as_user("sup")
    assert task(db, world, project="food").id in watched(sup.get("/supervision").get_data(as_text=True))


@pytest.mark.parametrize("path", ["/supervision", "/supervision/figures", "/supervision/notices",
                                  "/supervision/overdue.xlsx", "/supervision/ledger.xlsx"])
@pytest.mark.parametrize("username", ["alice", "acme"])
def test_agents_and_enterprises_may_not_open_supervision(as_user, username, path):
    client, _ = as_user(username)
    assert client.get(path).status_code == 403


def test_anonymous_users_are_sent_to_the_login(app, world):
    response = app.test_client().get("/supervision")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- Excel exports ---------------------------------------------------------------------------

def open_xlsx(response):
    assert response.status_code == 200
    assert response.mimetype == XLSX
    book = load_workbook(BytesIO(response.data))
    sheet = book.active
    return sheet, [[c.value for c in row] for row in sheet.iter_rows()]


@pytest.mark.usefixtures("food", "claimed")
def test_the_overdue_export_has_the_page_rows_and_honours_filters(as_user, world, clock):
    clock.moment = f.at("2026-03-25", 10)
    client, _ = as_user("sup")
    response = client.get("/supervision/overdue.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="overdue-2026-03-25.xlsx"' in disposition
    assert "filename*=UTF-8''" + quote("超期事项清单-2026-03-25.xlsx") in disposition
    sheet, rows = open_xlsx(response)
    assert rows[0][0] == "超期事项清单（数据截至 2026-03-25 10:00，北京时间）"
    rows = rows[1:]  # the header below the caption
    assert rows[0][:11] == ["项目代码", "项目名称", "企业", "产业组", "事项", "办理部门", "代办员",
                            "起算日", "办结时限", "超期工作日", "领办人"]
    assert sheet.freeze_panes == "A3" and sheet["A2"].font.bold
    assert sheet.auto_filter.ref.startswith("A2:")
    assert sheet.column_dimensions["B"].width > 10
    assert len(rows) == 1 + 6
    first = dict(zip(rows[0], rows[1], strict=False))
    assert first["超期工作日"] == 15 and "项目备案" in first["事项"]
    assert first["计时"] == "代办计时"
    assert first["办理部门"] == "行政审批服务管理局" and first["领办人"] == "lead"
    assert str(first["办结时限"])[:10] == "2026-03-04"  # its service clock

    _, filtered = open_xlsx(client.get("/supervision/overdue.xlsx?agent=alice"))
    assert [r[0] for r in filtered[2:]] == ["P-ACME-1"]
    assert filtered[2][6] == "alice"
    _, surveys = open_xlsx(client.get("/supervision/overdue.xlsx?item=u01_survey&group=food"))
    assert [r[0] for r in surveys[2:]] == ["P-FOOD-1"]


@pytest.mark.usefixtures("food")
def test_the_ledger_export_has_one_row_per_project(as_user, world, clock):
    clock.moment = f.at("2026-03-10", 10)
    client, _ = as_user("sup")
    response = client.get("/supervision/ledger.xlsx")
    assert "filename*=UTF-8''" + quote("项目台账-2026-03-10.xlsx") in response.headers[
        "Content-Disposition"]
    sheet, rows = open_xlsx(response)
    header = rows[0]
    for column in ("项目代码", "项目名称", "企业", "行业", "产业组", "领办人", "总投资(万元)", "阶段",
                   "事项总数", "已办结", "办理中", "超期", "项目灯色", "签约日期"):
        assert column in header
    assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    by_code = {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:]}
    assert set(by_code) == {"P-ACME-1", "P-OTHER-1", "P-FOOD-1"}
    acme = by_code["P-ACME-1"]
    assert acme["企业"] == "甲科技有限公司" and acme["产业组"] == "装备制造组"
    assert acme["超期"] == 1 and acme["项目灯色"] == "超期" and acme["办理中"] == 2
    assert str(acme["签约日期"])[:10] == "2026-03-02"
    # A lead's ledger has their groups' projects only.
    lead, _ = as_user("lead")
    _, lead_rows = open_xlsx(lead.get("/supervision/ledger.xlsx"))
    assert {r[0] for r in lead_rows[1:]} == {"P-ACME-1", "P-OTHER-1"}


# -- figures ---------------------------------------------------------------------------------

def figure_row(page: str, dimension: str, key) -> list[str]:
    """The cells of one row of a figures table, as text."""
    import re

    table = page.split(f'data-dimension="{dimension}"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'<tr data-key="{key}">', 1)[1].split("</tr>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_figures_page_renders_rates_and_svg_charts(as_user, world, db, clock):
    alice = world["users"]["alice"]
    filing = task(db, world)
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.approve_task,
                 ops.complete_task):
        step(db, filing.id, actor=alice, now=f.at("2026-03-04", 10))
    db.commit()
    clock.moment = f.at("2026-03-10", 10)
    client, _ = as_user("sup")
    assert "在办事项尚未统计" in client.get("/supervision/figures").get_data(as_text=True)
    rollups.refresh(db, now=clock.moment)  # the scheduler's sweep counts the open items
    db.commit()
    response = client.get("/supervision/figures")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count("<svg") == 2 and "各产业组按时办结率" in page and "各部门超期事项数" in page
    assert "<script" not in page and 'style="' not in page
    # The filings: ACME's submitted on time in 2 working days (service clock)
    # and decided on the spot (statutory clock, 0 days); OTHER's still with its
    # agent and late on the service clock.
    assert figure_row(page, "item", "project_filing") == [
        "企业投资项目备案(赋项目代码)", "1", "100.0% (1/1)", "0", "0.0% (0/1)", "0.0",
        "100.0% (1/1)", "1", "50.0% (1/2)", "2.0"]
    assert figure_row(page, "agent", alice.id)[:3] == ["alice", "1", "100.0% (1/1)"]
    # Closed between 5 and 31 March: ACME's filing (closed on the 4th) drops out.
    ranged = client.get("/supervision/figures?from=2026-03-05&to=2026-03-31").get_data(as_text=True)
    assert figure_row(ranged, "item", "project_filing") == [
        "企业投资项目备案(赋项目代码)", "0", "—", "0", "—", "—", "—", "1", "100.0% (1/1)", "—"]
    assert client.get("/supervision/figures?from=2026-04-01&to=2026-03-01").status_code == 400
    assert client.get("/supervision/figures?from=yesterday").status_code == 400


# -- supervision notices (督办单) --------------------------------------------------------------

def notices_of(db, task_id):
    rows = db.scalars(select(SupervisionNotice).where(SupervisionNotice.task_id == task_id)).all()
    db.commit()
    return rows


@pytest.mark.usefixtures("claimed")
def test_a_supervisor_issues_a_notice_from_the_overdue_list(as_user, world, db, clock):
    clock.moment = f.at("2026-03-10", 10)
    client, token = as_user("sup")
    filing = task(db, world)
    page = client.get("/supervision").get_data(as_text=True)
    assert 'action="/supervision/notices"' in page
    response = client.post("/supervision/notices", data={
        "csrf_token": token, "task_id": filing.id, "reason": "备案超期三个工作日，请当日办结",
        "next": "/supervision?light=red"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/supervision?light=red")
    [notice] = notices_of(db, filing.id)
    assert notice.addressee_id == world["users"]["alice"].id and notice.level == "manual"
    assert task(db, world).version == filing.version  # the task itself is untouched
    listing = client.get("/supervision/notices").get_data(as_text=True)
    assert "备案超期三个工作日" in listing and f'data-notice="{notice.id}"' in listing
    assert 'data-status="open"' in listing
    assert f'data-notice="{notice.id}"' not in client.get(
        "/supervision/notices?status=reported").get_data(as_text=True)
    # The overdue list shows the open notice on the row.
    assert 'class="badge red"' in client.get("/supervision").get_data(as_text=True)


def test_notice_refusals_change_nothing(as_user, world, db, clock):
    clock.moment = f.at("2026-03-10", 10)
    filing = task(db, world)
    agent, agent_token = as_user("alice")
    assert agent.post("/supervision/notices", data={
        "csrf_token": agent_token, "task_id": filing.id, "reason": "x"}).status_code == 403
    lead, lead_token = as_user("lead")
    assert lead.post("/supervision/notices", data={
        "csrf_token": lead_token, "task_id": filing.id, "reason": "x"}).status_code == 403
    sup, token = as_user("sup")
    missing = sup.post("/supervision/notices", data={"csrf_token": token, "task_id": filing.id,
                                                      "reason": "  "})
    assert missing.status_code == 400 and "输入有误" in missing.get_data(as_text=True)
    assert sup.post("/supervision/notices", data={"csrf_token": token, "reason": "x"}).status_code == 400
    assert sup.post("/supervision/notices", data={"csrf_token": token, "task_id": 999999,
                                                  "reason": "x"}).status_code == 404
    assert sup.post("/supervision/notices", data={"task_id": filing.id,
                                                  "reason": "x"}).status_code == 400  # no CSRF
    assert notices_of(db, filing.id) == []


def test_only_supervisors_see_the_notice_form(as_user, world, clock):
    clock.moment = f.at("2026-03-10", 10)
    lead, _ = as_user("lead")
    assert 'action="/supervision/notices"' not in lead.get("/supervision").get_data(as_text=True)


# -- supervisors change only supervision records ----------------------------------------------

TASK_ACTIONS = [
    ("claim", {}), ("start", {}), ("assign", {"assignee": "alice"}),
    ("reassign", {"assignee": "bob", "reason": "x"}), ("unassign", {}), ("approve", {}),
    ("submit", {}), ("complete", {}), ("department_return", {"reason": "x"}),
    ("request_materials", {"materials": "营业执照", "deadline": "2026-03-20"}),
    ("supply_materials", {}), ("handoff", {"to": "bob", "reason": "x"}),
    ("cover", {"reference": "R-1", "kind": "commitment"}),
    ("request_extension", {"days": "3", "reason": "x"}), ("auto_assign", {}),
    ("comment", {"body": "督查意见"}),
]


@pytest.mark.parametrize(("action", "params"), TASK_ACTIONS, ids=[a for a, _ in TASK_ACTIONS])
def test_a_supervisor_cannot_act_on_a_task(as_user, world, db, action, params):
    survey = task(db, world, "u01_survey")
    before = (survey.state, survey.version, survey.assignee_id, audit_count(db, world))
    client, token = as_user("sup")
    response = client.post(f"/tasks/{survey.id}/{action}", data={"csrf_token": token, **params})
    assert response.status_code == 403
    after = task(db, world, "u01_survey")
    assert (after.state, after.version, after.assignee_id, audit_count(db, world)) == before


@pytest.mark.parametrize(("step", "params"), [
    ("advance", {}), ("suspend", {"reason": "x"}), ("resume", {}), ("terminate", {"reason": "x"}),
    ("mandate", {}), ("sign", {})])
def test_a_supervisor_cannot_take_lifecycle_steps(as_user, world, db, step, params):
    before = audit_count(db, world)
    client, token = as_user("sup")
    response = client.post(f"/projects/P-ACME-1/lifecycle/{step}", data={"csrf_token": token, **params})
    assert response.status_code == 403
    assert audit_count(db, world) == before
    assert client.post("/projects/P-ACME-1/comments",
                       data={"csrf_token": token, "body": "x"}).status_code == 403

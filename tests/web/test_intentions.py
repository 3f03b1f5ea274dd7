"""The intention ledger (意向项目台账) and the pipeline (项目全景), through Flask's test client."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from workflow.core import audit, rollups
from workflow.models import FollowUp, Project


def project_named(db, name):
    """The project as the database has it now (the read ends at once: SQLite's
    BEGIN IMMEDIATE would otherwise block the app)."""
    project = db.scalar(select(Project).where(Project.name == name)
                        .execution_options(populate_existing=True))
    db.commit()
    return project


def follow_ups(db, project):
    rows = db.scalars(select(FollowUp).where(FollowUp.project_id == project.id)
                      .order_by(FollowUp.id)).all()
    db.commit()
    return [r.summary for r in rows]


def register(client, token, **changes):
    data = {"csrf_token": token, "name": "年产5万台农机装备项目", "industry": "equipment_manufacturing",
            "investment_wan": "120000", "enterprise_name": "大同某装备有限公司",
            "hesitation": "等待电价政策", "asks": "协调专线供电"}
    data.update(changes)
    return client.post("/intentions", data=data)


def test_a_lead_registers_follows_up_and_converts_an_intention(as_user, db):
    client, token = as_user("lead")
    assert "登记意向项目" in client.get("/intentions").get_data(as_text=True)
    response = register(client, token)
    assert response.status_code == 302
    project = project_named(db, "年产5万台农机装备项目")
    assert project.stage == "intention" and project.code.startswith("YX-2026-")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert 'data-panel="intention"' in page and "等待电价政策" in page
    assert 'data-action="follow_up"' in page and 'data-action="convert"' in page

    response = client.post(f"/projects/{project.code}/follow-ups", data={
        "csrf_token": token, "contacted_on": "2026-03-01", "channel": "visit", "contact": "王经理",
        "summary": "上门走访，企业关心用地", "hesitation": "担心用地指标", "asks": "拿地即开工"})
    assert response.status_code == 302
    assert follow_ups(db, project) == ["上门走访，企业关心用地"]
    ledger = client.get("/intentions").get_data(as_text=True)
    assert f'data-project="{project.code}"' in ledger and "担心用地指标" in ledger
    assert "拿地即开工" in ledger and "2026-03-01" in ledger

    response = client.post(f"/projects/{project.code}/convert", data={"csrf_token": token})
    assert response.status_code == 302
    signed = project_named(db, "年产5万台农机装备项目")
    assert signed.id == project.id and signed.stage == "signed"
    assert audit.verify(db, [project.code]) == []
    db.commit()
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert "上门走访，企业关心用地" in page and 'data-action="follow_up"' not in page
    trail = client.get(f"/projects/{project.code}/audit").get_data(as_text=True)
    assert "意向跟进" in trail and "签约" in trail
    ledger = client.get("/intentions").get_data(as_text=True)
    converted = ledger.split('data-list="converted"')[1]
    assert f'data-project="{project.code}"' in converted


def test_a_bad_follow_up_is_a_clear_400_and_records_nothing(as_user, db):
    client, token = as_user("lead")
    register(client, token)
    project = project_named(db, "年产5万台农机装备项目")
    for bad, reason in (({"contacted_on": "2026-03-03", "summary": "明天的事"},  # the clock: 2 March
                         "接洽日期不能晚于今天。"),
                        ({"contacted_on": "2026-03-01", "summary": "  "}, "请填写接洽情况。")):
        response = client.post(f"/projects/{project.code}/follow-ups",
                               data={"csrf_token": token, **bad})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "输入有误" in page
        assert reason in page  # the engine's refusal, in Chinese
    assert follow_ups(db, project) == []


def test_bad_registration_input_changes_nothing(as_user, db):
    client, token = as_user("lead")
    response = register(client, token, investment_wan="-1")
    assert response.status_code == 400
    assert project_named(db, "年产5万台农机装备项目") is None


def test_an_admin_registers_for_an_existing_enterprise(as_user, world, db):
    client, token = as_user("admin")
    response = register(client, token, enterprise_name="",
                        enterprise_id=str(world["project"].enterprise_id),
                        lead=str(world["users"]["lead"].id))
    assert response.status_code == 302
    project = project_named(db, "年产5万台农机装备项目")
    assert project.enterprise_id == world["project"].enterprise_id
    assert project.lead_id == world["users"]["lead"].id


def test_supervisors_read_the_ledger_and_the_pipeline_but_change_nothing(as_user, db):
    lead, token = as_user("lead")
    register(lead, token)
    client, token = as_user("sup")
    page = client.get("/intentions").get_data(as_text=True)
    assert "年产5万台农机装备项目" in page and "登记意向项目" not in page
    assert register(client, token, name="督查登记").status_code == 403
    project = project_named(db, "年产5万台农机装备项目")
    assert client.post(f"/projects/{project.code}/convert", data={"csrf_token": token}).status_code == 403
    assert client.get("/pipeline").status_code == 200
    assert project_named(db, "年产5万台农机装备项目").stage == "intention"


def test_agents_and_enterprises_are_refused(as_user):
    for username in ("alice", "acme"):
        client, _ = as_user(username)
        assert client.get("/intentions").status_code == 403
        assert client.get("/pipeline").status_code == 403
        assert client.get("/intentions.xlsx").status_code == 403


def test_a_lead_cannot_follow_up_an_intention_of_another_group(as_user, app, db):
    from tests import factories as f
    from tests.web.conftest import password_hash

    other = f.user(db, "lead_food", "lead", groups=("food",))
    other.password_hash = password_hash()
    db.commit()
    client, token = as_user("lead")
    register(client, token)
    project = project_named(db, "年产5万台农机装备项目")
    intruder, token = as_user("lead_food")
    response = intruder.post(f"/projects/{project.code}/follow-ups", data={
        "csrf_token": token, "contacted_on": "2026-03-01", "summary": "越权"})
    assert response.status_code == 404
    assert follow_ups(db, project) == []


def refresh_rollups(db, clock):
    """What the scheduler's sweep does after its reminders."""
    rollups.refresh(db, now=clock.moment)
    db.commit()


def test_the_pipeline_shows_totals_per_step_group_and_leader(as_user, world, db, clock):
    world["project"].investment_wan = 30000
    world["rival"].investment_wan = 50000
    db.commit()
    client, token = as_user("lead")
    register(client, token)  # an intention of ¥12 亿
    refresh_rollups(db, clock)
    page = client.get("/pipeline").get_data(as_text=True)
    assert 'data-as-of="2026-03-02T02:00:00' in page and "2026-03-02 10:00" in page
    intention = page.split('data-step="intention"')[1].split("</li>")[0]
    assert ">1<" in intention and "12.00" in intention
    signed = page.split('data-step="signed"')[1].split("</li>")[0]
    assert ">2<" in signed and "8.00" in signed
    group = page.split('data-group="equipment"')[1].split("</tr>")[0]
    assert "20.00" in group  # 12 + 3 + 5 亿 in the equipment group
    assert 'data-lead="lead"' in page and "<svg" in page  # the chart
    listed = page.split('data-stage-list="intention"')[1]
    assert "年产5万台农机装备项目" in listed and "P-ACME-1" not in listed


def test_before_the_first_refresh_the_pipeline_says_so_and_lists_live(as_user, db):
    client, token = as_user("sup")
    lead, lead_token = as_user("lead")
    register(lead, lead_token)
    page = client.get("/pipeline").get_data(as_text=True)
    assert 'data-as-of=""' in page and "尚未统计" in page and 'data-table="groups"' not in page
    assert "年产5万台农机装备项目" in page.split('data-stage-list="intention"')[1]


def test_a_pipeline_step_is_a_paged_list(as_user, world, db, clock):
    world["project"].investment_wan = 30000
    world["rival"].investment_wan = 50000
    db.commit()
    refresh_rollups(db, clock)
    client, _ = as_user("sup")
    first = client.get("/pipeline?step=signed&limit=1").get_data(as_text=True)
    listed = first.split('data-stage-list="signed"')[1]
    assert 'data-project="P-OTHER-1"' in listed and 'data-project="P-ACME-1"' not in listed
    assert 'class="active" data-tab="signed"' in first
    link = re.search(r'href="([^"]+)" data-page="next"', listed).group(1).replace("&amp;", "&")
    assert "step=signed" in link and "limit=1" in link
    second = client.get(link).get_data(as_text=True).split('data-stage-list="signed"')[1]
    assert 'data-project="P-ACME-1"' in second and 'data-project="P-OTHER-1"' not in second
    assert 'data-page="next"' not in second and 'data-page="prev"' in second
    cursor = re.search(r"cursor=([^&\"]+)", link).group(1)
    assert client.get(f"/pipeline?step=started&cursor={cursor}").status_code == 400
    assert client.get("/pipeline?step=terminated").status_code == 400
    assert client.get("/pipeline?cursor=nonsense").status_code == 400


def test_pipeline_links_only_the_projects_the_viewer_may_open(as_user, db, world, clock):
    from tests import factories as f
    from tests.web.conftest import password_hash

    food = f.user(db, "lead_food", "lead", groups=("food",))
    food.password_hash = password_hash()
    db.commit()
    client, _ = as_user("lead_food")
    page = client.get("/pipeline?step=signed").get_data(as_text=True)
    row = page.split('data-project="P-ACME-1"')[1].split("</tr>")[0]
    assert "/projects/P-ACME-1" not in row  # listed (the zone's pipeline), not linked
    client, _ = as_user("lead")
    row = client.get("/pipeline?step=signed").get_data(as_text=True) \
        .split('data-project="P-ACME-1"')[1].split("</tr>")[0]
    assert "/projects/P-ACME-1" in row


def test_the_ledger_exports_to_excel(as_user, db):
    client, token = as_user("lead")
    register(client, token)
    register(client, token, name="小项目", investment_wan="5000", enterprise_name="另一家公司",
             hesitation="")
    response = client.get("/intentions.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "项目代码" and rows[1][1] == "年产5万台农机装备项目"
    assert rows[1][5] == 120000 and rows[1][7] == "等待电价政策" and rows[1][10] == 0
    assert [r[1] for r in rows[1:]] == ["年产5万台农机装备项目", "小项目"]
    # With the page's filters.
    filtered = client.get("/intentions.xlsx?q=另一家")
    rows = list(load_workbook(io.BytesIO(filtered.data)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["小项目"]


def test_the_ledgers_lists_page_each_with_its_own_cursor(as_user, db):
    client, token = as_user("lead")
    for n in range(3):
        register(client, token, name=f"意向{n}", investment_wan=str(1000 * (n + 1)),
                 enterprise_name=f"企业{n}")
    for n in range(2):
        register(client, token, name=f"签约{n}", investment_wan="10", enterprise_name=f"签约企业{n}")
        code = project_named(db, f"签约{n}").code
        assert client.post(f"/projects/{code}/convert", data={"csrf_token": token}).status_code == 302
    page = client.get("/intentions?limit=1").get_data(as_text=True)
    assert '<span class="kpi">3</span>' in page and 'data-kpi="converted"><span class="kpi">2<' in page
    opened = page.split('data-list="open"')[1].split("</table>")[0]
    assert "意向2" in opened and "意向1" not in opened
    pagers = dict(re.findall(r'data-pager="(\w+)">.*?href="([^"]+)" data-page="next"', page, re.S))
    assert set(pagers) == {"cursor", "ccursor"}
    second = client.get(pagers["cursor"].replace("&amp;", "&")).get_data(as_text=True)
    assert "意向1" in second.split('data-list="open"')[1].split("</table>")[0]
    converted = second.split('data-list="converted"')[1].split("</table>")[0]
    assert "签约1" in converted  # the other list stays on its first page
    both = client.get(pagers["ccursor"].replace("&amp;", "&")).get_data(as_text=True)
    assert "签约0" in both.split('data-list="converted"')[1].split("</table>")[0]
    assert "意向2" in both.split('data-list="open"')[1].split("</table>")[0]
    assert client.get("/intentions?ccursor=" + pagers["cursor"].split("cursor=")[1]
                      .split("&")[0]).status_code == 400  # another list's cursor
    assert client.get("/intentions?lead=abc").status_code == 400


def test_a_lead_reads_only_the_intentions_of_their_groups(as_user, db):
    from tests import factories as f
    from tests.web.conftest import password_hash

    other = f.user(db, "lead_food", "lead", groups=("food",))
    other.password_hash = password_hash()
    db.commit()
    client, token = as_user("lead")
    register(client, token)
    food, food_token = as_user("lead_food")
    register(food, food_token, name="食品项目", industry="food_processing", investment_wan="300",
             enterprise_name="食品公司")
    page = food.get("/intentions").get_data(as_text=True)
    assert "食品项目" in page and "年产5万台农机装备项目" not in page
    assert 'data-kpi="investment"><span class="kpi">0.03<' in page
    export = food.get("/intentions.xlsx")
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["食品项目"]
    everyone = as_user("sup")[0].get("/intentions").get_data(as_text=True)
    assert "食品项目" in everyone and "年产5万台农机装备项目" in everyone


def test_registering_for_an_enterprise_by_its_credit_code(as_user, world, db):
    client, token = as_user("lead")
    company = world["project"].enterprise
    credit_code, company_id = company.credit_code, company.id
    db.commit()  # (the read ends: SQLite's BEGIN IMMEDIATE would block the app)
    response = register(client, token, enterprise_name="", enterprise=credit_code.lower())
    assert response.status_code == 302
    assert project_named(db, "年产5万台农机装备项目").enterprise_id == company_id
    response = register(client, token, name="另一个", enterprise_name="", enterprise="91000000NOSUCH")
    assert response.status_code == 400 and project_named(db, "另一个") is None

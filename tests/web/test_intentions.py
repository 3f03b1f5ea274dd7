"""The intention ledger (意向项目台账) and the pipeline (项目全景), through Flask's test client."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from workflow import audit
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
    for bad in ({"contacted_on": "2026-03-03", "summary": "明天的事"},  # the clock says 2 March
                {"contacted_on": "2026-03-01", "summary": "  "}):
        response = client.post(f"/projects/{project.code}/follow-ups",
                               data={"csrf_token": token, **bad})
        assert response.status_code == 400
        assert "输入有误" in response.get_data(as_text=True)
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


def test_the_pipeline_shows_totals_per_step_group_and_leader(as_user, world, db):
    world["project"].investment_wan = 30000
    world["rival"].investment_wan = 50000
    db.commit()
    client, token = as_user("lead")
    register(client, token)  # an intention of ¥12 亿
    page = client.get("/pipeline").get_data(as_text=True)
    intention = page.split('data-step="intention"')[1].split("</li>")[0]
    assert ">1<" in intention and "12.00" in intention
    signed = page.split('data-step="signed"')[1].split("</li>")[0]
    assert ">2<" in signed and "8.00" in signed
    group = page.split('data-group="equipment"')[1].split("</tr>")[0]
    assert "20.00" in group  # 12 + 3 + 5 亿 in the equipment group
    assert 'data-lead="lead"' in page
    assert "年产5万台农机装备项目" in page.split('data-step="intention"')[2]


def test_the_ledger_exports_to_excel(as_user, db):
    client, token = as_user("lead")
    register(client, token)
    response = client.get("/intentions.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "项目代码" and rows[1][1] == "年产5万台农机装备项目"
    assert rows[1][5] == 120000 and rows[1][7] == "等待电价政策"

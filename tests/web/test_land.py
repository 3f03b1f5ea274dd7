"""Standard land on the web: the parcel register, the project's land panel,
the 达产复核 forms, the checkpoint list and the zone's 亩均 figures."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from tests import factories as f
from tests.factories import at
from tests.test_land import walk_to
from tests.web.conftest import password_hash
from workflow.models import (
    Checkpoint,
    CreditRecord,
    InvestmentAgreement,
    ItemTask,
    Parcel,
    Project,
    RegionalEvaluation,
)
from workflow.reforms import land

NOW = at("2026-03-02", 10)


def read(db, query):
    """Read and end the transaction at once (SQLite's BEGIN IMMEDIATE)."""
    value = db.scalar(query.execution_options(populate_existing=True))
    db.commit()
    return value


@pytest.fixture
def parcel(db, world):
    admin = world["users"]["admin"]
    row = land.save_parcel(db, actor=admin, now=NOW, code="ZY2026-01", name="装备园一号地",
                           area_mu="150", park="装备制造园", servicing="五通一平", land_price_wan="3000",
                           transferred_on="2026-02-01")
    for code, value in (("investment_intensity", "300"), ("floor_area_ratio", "1.2"),
                        ("tax_per_mu", "15"), ("output_per_mu", "400")):
        land.set_indicator(db, row.id, code=code, name="", unit=None, bound="min", value=value,
                           actor=admin, now=NOW)
    geo = land.save_evaluation(db, actor=admin, now=NOW, reference="左开区评〔2025〕2号",
                               kind="geo_hazard", title="地质灾害危险性区域评估",
                               done_on="2025-01-10", valid_until="2027-01-09")
    old = land.save_evaluation(db, actor=admin, now=NOW, reference="左开区评〔2023〕5号",
                               kind="seismic", title="地震安全性区域评价",
                               done_on="2023-01-10", valid_until="2026-01-09")
    for evaluation in (geo, old):
        land.attach_evaluation(db, row.id, evaluation.id, actor=admin, now=NOW)
    db.commit()
    return row


def team_of(world):
    return {"lead": world["users"]["lead"], "agent": world["users"]["alice"]}


def with_agreement(db, world, parcel, stage=None):
    project = db.get(Project, world["project"].id)
    lead = world["users"]["lead"]
    land.assign_parcel(db, project.id, parcel.id, actor=lead, now=NOW)
    land.record_agreement(db, project.id, actor=lead, now=NOW, signed_on="2026-03-02",
                          start_by="2026-06-30", complete_by="2027-06-30", produce_by="2027-09-30",
                          capacity_by="2029-06-30")
    if stage:
        walk_to(db, project, stage, team_of(world), now=NOW)
    db.commit()
    return project


FIGURES = {"investment_wan": "45000", "floor_area_m2": "120000", "tax_wan": "1800",
           "output_wan": "60000", "energy_tce": "12000"}


# -- the parcel register ---------------------------------------------------------------------------

def test_an_admin_registers_a_parcel_and_its_indicator(as_user, db):
    client, token = as_user("admin")
    response = client.post("/land/parcels", data={
        "csrf_token": token, "code": "ZY2026-09", "name": "新地块", "area_mu": "88.5",
        "servicing": "三通一平", "park": "物流园"})
    assert response.status_code == 302
    row = read(db, select(Parcel).where(Parcel.code == "ZY2026-09"))
    assert row.area_mu == Decimal("88.50")
    response = client.post(f"/land/parcels/{row.id}/indicators", data={
        "csrf_token": token, "code": "tax_per_mu", "bound": "min", "value": "20"})
    assert response.status_code == 302
    page = client.get(f"/land/parcels/{row.id}").get_data(as_text=True)
    assert "亩均税收" in page and 'data-indicator="tax_per_mu"' in page


@pytest.mark.parametrize("data, message", [
    ({"area_mu": "-3"}, "negative"), ({"area_mu": "x"}, "number"), ({"servicing": "九通一平"}, "servicing"),
])
def test_bad_parcel_input_answers_400_and_changes_nothing(as_user, db, data, message):
    client, token = as_user("admin")
    form = {"csrf_token": token, "code": "ZY-BAD", "name": "坏", "area_mu": "10", **data}
    response = client.post("/land/parcels", data=form)
    assert response.status_code == 400
    assert "输入有误" in response.get_data(as_text=True)
    assert read(db, select(func.count(Parcel.id))) == 0


def test_a_duplicate_code_and_a_bad_bound_are_refused(as_user, db, parcel):
    client, token = as_user("admin")
    response = client.post("/land/parcels", data={"csrf_token": token, "code": "ZY2026-01", "name": "x",
                                                   "area_mu": "1"})
    assert response.status_code == 400 and "地块编号 ZY2026-01 已被使用" in response.get_data(as_text=True)
    response = client.post(f"/land/parcels/{parcel.id}/indicators", data={
        "csrf_token": token, "code": "tax_per_mu", "bound": "around", "value": "20"})
    assert response.status_code == 400
    assert read(db, select(func.count(Parcel.id))) == 1


def test_leads_and_supervisors_read_the_register_but_only_admins_edit(as_user, parcel):
    for who in ("lead", "sup"):
        client, token = as_user(who)
        page = client.get("/land/parcels")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "ZY2026-01" in html and "左开区评〔2023〕5号" in html and "已过期" in html
        assert 'data-action="create_parcel"' not in html
        assert client.post("/land/parcels", data={"csrf_token": token, "code": "Z", "name": "z",
                                                  "area_mu": "1"}).status_code == 403
    client, _ = as_user("acme")
    assert client.get("/land/parcels").status_code == 403
    assert client.get("/land/figures").status_code == 403


# -- the project's land panel ------------------------------------------------------------------------

def test_the_lead_assigns_a_parcel_and_the_panel_says_what_is_covered_and_why_not(as_user, world, db,
                                                                                   parcel):
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token,
                                                                  "parcel_id": parcel.id})
    assert response.status_code == 302
    geo = read(db, select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                          ItemTask.item_code == "u04_geo_hazard"))
    assert geo.state == "covered" and "左开区评〔2025〕2号" in geo.covered_ref
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-coverage="u04_geo_hazard" data-status="covered"' in page
    assert 'data-coverage="u05_seismic" data-status="expired"' in page
    assert "评估已过期，需单独办理" in page
    assert 'data-action="record_agreement"' in page


def test_an_agent_cannot_assign_a_parcel(as_user, world, db, parcel):
    client, token = as_user("alice")
    response = client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token,
                                                                  "parcel_id": parcel.id})
    assert response.status_code == 403
    assert read(db, select(Project.parcel_id).where(Project.code == "P-ACME-1")) is None


def test_the_lead_records_the_agreement_and_sees_its_checkpoints(as_user, world, db, parcel):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token, "parcel_id": parcel.id})
    response = client.post("/projects/P-ACME-1/land/agreement", data={
        "csrf_token": token, "signed_on": "2026-03-02", "start_by": "2026-06-30",
        "complete_by": "2027-06-30", "produce_by": "2027-09-30", "capacity_by": "2029-06-30",
        "land_price_wan": "3000", "ind_tax_per_mu": "18", "extra_code": "rd_share",
        "extra_name": "研发投入占比", "extra_unit": "%", "extra_bound": "min", "extra_value": "3"})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = read(db, select(InvestmentAgreement))
    assert row.indicators["tax_per_mu"]["value"] == "18" and row.indicators["rd_share"]["bound"] == "min"
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    for kind in ("start", "completion", "production", "capacity"):
        assert f'data-checkpoint="{kind}" data-status="open"' in page
    assert "2029-06-30" in page

    checkpoints = client.get("/land/checkpoints").get_data(as_text=True)
    assert checkpoints.count('data-project="P-ACME-1"') == 4


def test_an_agreement_looser_than_the_parcel_is_refused(as_user, world, db, parcel):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token, "parcel_id": parcel.id})
    response = client.post("/projects/P-ACME-1/land/agreement", data={
        "csrf_token": token, "signed_on": "2026-03-02", "start_by": "2026-06-30",
        "complete_by": "2027-06-30", "produce_by": "2027-09-30", "capacity_by": "2029-06-30",
        "ind_tax_per_mu": "10"})
    assert response.status_code == 400 and "低于地块控制指标" in response.get_data(as_text=True)
    assert read(db, select(func.count(InvestmentAgreement.id))) == 0


# -- the 达产复核 -------------------------------------------------------------------------------------

def test_the_lead_records_a_capacity_review_and_sees_the_verdict(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    client, token = as_user("lead")
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="review_capacity"' in page
    response = client.post("/projects/P-ACME-1/land/capacity", data={"csrf_token": token, **FIGURES})
    assert response.status_code == 302
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-capacity-status="rectifying"' in page
    assert "12.00" in page and "300.00" in page and "✗ 未达标" in page
    assert "2026-09-02" in page  # six months to rectify
    status = read(db, select(Checkpoint.status).where(Checkpoint.kind == "capacity"))
    assert status == "rectifying"


def test_the_enterprise_reports_and_the_lead_confirms(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    owner, token = as_user("acme")
    portal = owner.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="report_capacity"' in portal
    response = owner.post("/portal/projects/P-ACME-1/land/capacity",
                          data={"csrf_token": token, **FIGURES, "tax_wan": "2400"})
    assert response.status_code == 302
    portal = owner.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "已报送，待领办人确认" in portal and "16.00" in portal

    lead, token = as_user("lead")
    page = lead.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="confirm_capacity"' in page
    assert lead.post("/projects/P-ACME-1/land/capacity/confirm",
                     data={"csrf_token": token}).status_code == 302
    assert read(db, select(Checkpoint.status).where(Checkpoint.kind == "capacity")) == "passed"
    assert read(db, select(Project.stage).where(Project.code == "P-ACME-1")) == "verified"


def test_another_enterprise_cannot_report_for_this_project(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    other, token = as_user("other")
    response = other.post("/portal/projects/P-ACME-1/land/capacity", data={"csrf_token": token, **FIGURES})
    assert response.status_code == 404
    assert read(db, select(func.count()).select_from(Checkpoint).where(
        Checkpoint.kind == "capacity", Checkpoint.result.is_not(None))) == 0


def test_a_breach_shows_and_leaves_a_credit_record(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/land/capacity", data={"csrf_token": token, **FIGURES,
                                                          "tax_wan": "900"})
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-capacity-status="breached"' in page and "已记入企业信用记录" in page
    assert read(db, select(CreditRecord.source)) == "capacity_breach"


def test_a_failed_completion_acceptance_blocks_the_step_to_production(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="completed")
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/land/checks/completion", data={
        "csrf_token": token, "met": ["investment_intensity", "tax_per_mu", "output_per_mu"],
        "note": "容积率 0.9"})
    assert response.status_code == 302
    response = client.post("/projects/P-ACME-1/lifecycle/advance", data={"csrf_token": token})
    assert response.status_code == 409
    assert "竣工对标验收未通过" in response.get_data(as_text=True)
    assert read(db, select(Project.stage).where(Project.code == "P-ACME-1")) == "completed"


# -- the zone's figures ------------------------------------------------------------------------------

def test_figures_total_the_land_and_export_the_table(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    land.review_capacity(db, world["project"].id, FIGURES, actor=world["users"]["lead"], now=NOW)
    db.commit()
    client, _ = as_user("sup")
    page = client.get("/land/figures").get_data(as_text=True)
    assert 'data-kpi="parcels">1<' in page and 'data-kpi="mu">150.00<' in page
    assert 'data-indicator="tax_per_mu">12.00 ✗' in page

    response = client.get("/land/figures.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    headers = [c.value for c in sheet[1]]
    row = dict(zip(headers, [c.value for c in sheet[2]], strict=True))
    assert row["项目代码"] == "P-ACME-1" and row["面积（亩）"] == 150
    assert row["亩均税收承诺（万元/亩）"] == 15 and row["亩均税收实际（万元/亩）"] == 12
    assert row["亩均税收达标"] == "✗" and row["固定资产投资强度达标"] == "✓"
    assert row["复核结论"] == "限期整改"
    assert sheet.max_row == 2


def test_an_admin_links_evaluations_and_removes_an_indicator(as_user, db, parcel):
    client, token = as_user("admin")
    response = client.post("/land/evaluations", data={
        "csrf_token": token, "reference": "左开区评〔2025〕9号", "kind": "flood", "title": "洪水影响区域评价",
        "done_on": "2025-05-01", "valid_until": "2028-04-30"})
    assert response.status_code == 302
    flood = read(db, select(RegionalEvaluation).where(
        RegionalEvaluation.reference == "左开区评〔2025〕9号"))
    assert client.post(f"/land/parcels/{parcel.id}/evaluations",
                       data={"csrf_token": token, "evaluation_id": flood.id}).status_code == 302
    assert client.post(f"/land/parcels/{parcel.id}/evaluations",  # twice: refused
                       data={"csrf_token": token, "evaluation_id": flood.id}).status_code == 400
    page = client.get(f"/land/parcels/{parcel.id}").get_data(as_text=True)
    assert 'data-evaluation="左开区评〔2025〕9号"' in page
    assert client.post(f"/land/parcels/{parcel.id}/evaluations/{flood.id}/detach",
                       data={"csrf_token": token}).status_code == 302
    assert client.post(f"/land/parcels/{parcel.id}/indicators/output_per_mu/delete",
                       data={"csrf_token": token}).status_code == 302
    page = client.get(f"/land/parcels/{parcel.id}").get_data(as_text=True)
    assert 'data-evaluation="左开区评〔2025〕9号"' not in page
    assert 'data-indicator="output_per_mu"' not in page and 'data-indicator="tax_per_mu"' in page
    lead, token = as_user("lead")
    assert lead.post(f"/land/parcels/{parcel.id}/indicators/tax_per_mu/delete",
                     data={"csrf_token": token}).status_code == 403


# -- the lists, a page at a time -------------------------------------------------------------------

def rows_of(html, attribute):
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


def next_link(html, param="cursor"):
    """The URL of the next page of the list paged by ``param`` (None on its last page)."""
    nav = re.search(rf'<nav class="pager"[^>]*data-pager="{param}">(.*?)</nav>', html, re.S)
    link = nav and re.search(r'rel="next" href="([^"]+)"', nav.group(1))
    return unescape(link.group(1)) if link else None


def walk(client, url, attribute, param="cursor"):
    """Every page of a list from ``url`` on: the rows of each page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        pages.append(rows_of(html, attribute))
        url = next_link(html, param)
    return pages


def more_parcels(db, *codes):
    db.execute(insert(Parcel), [{"code": c, "name": f"{c}地块", "area_mu": Decimal("20")} for c in codes])
    db.commit()


def on_parcel(db, world, parcel, n, clock):
    made = []
    for _ in range(n):
        project = f.project(db, clock.moment, company=world["project"].enterprise,
                            lead=world["users"]["lead"], mandate=False)
        project.parcel_id = parcel.id
        made.append(project.code)
    db.commit()
    return sorted(made)


def test_the_register_pages_parcels_and_evaluations_each_with_its_own_cursor(as_user, db, parcel):
    more_parcels(db, "ZY2026-05", "ZY2026-02", "ZY2026-04", "ZY2026-03")
    for n in range(3):
        land.save_evaluation(db, actor=None, now=NOW, reference=f"左开区评〔2026〕{n}号", kind="flood",
                             title="洪水影响区域评价", done_on=f"2025-0{n + 1}-01", valid_until="2028-01-01")
    db.commit()
    client, _ = as_user("sup")
    first = client.get("/land/parcels?limit=2").get_data(as_text=True)
    assert rows_of(first, "data-parcel") == ["ZY2026-01", "ZY2026-02"]
    evaluations = rows_of(first, "data-evaluation")
    assert len(evaluations) == 2 and next_link(first, "evaluations")
    second = client.get(next_link(first, "parcels")).get_data(as_text=True)
    assert rows_of(second, "data-parcel") == ["ZY2026-03", "ZY2026-04"]
    assert rows_of(second, "data-evaluation") == evaluations  # the other list stays where it was
    assert "parcels=" in next_link(second, "evaluations") and 'data-page="first"' in second
    assert walk(client, "/land/parcels?limit=2", "data-parcel", "parcels") == [
        ["ZY2026-01", "ZY2026-02"], ["ZY2026-03", "ZY2026-04"], ["ZY2026-05"]]
    assert sum(walk(client, "/land/parcels?limit=2", "data-evaluation", "evaluations"), []) == [
        "左开区评〔2026〕0号", "左开区评〔2026〕1号", "左开区评〔2026〕2号", "左开区评〔2025〕2号",
        "左开区评〔2023〕5号"]  # by kind (flood, geo_hazard, seismic), then date


@pytest.mark.parametrize("url", [
    "/land/parcels?parcels=garbage", "/land/parcels?evaluations=%00", "/land/parcels?limit=0",
    "/land/parcels?limit=201", "/land/parcels?limit=x", "/land/parcels/{id}?cursor=bad",
    "/land/parcels/{id}?limit=-1", "/land/checkpoints?cursor=bad", "/land/checkpoints?limit=9999",
    "/land/figures?cursor=bad", "/land/figures?limit=0",
])
def test_bad_page_arguments_answer_400(as_user, parcel, url):
    client, _ = as_user("lead")
    response = client.get(url.format(id=parcel.id))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    # the page says why in the user's language (the edge's messages are Chinese first)
    assert ("翻页链接不属于此列表" in text or "1 至 200" in text
            or "无法输入的字符" in text), text


def test_a_cursor_of_one_list_is_refused_by_another(as_user, db, parcel):
    more_parcels(db, "ZY2026-02")
    client, _ = as_user("admin")
    cursor = re.search(r"parcels=([^&\"]+)", next_link(client.get("/land/parcels?limit=1")
                                                      .get_data(as_text=True), "parcels")).group(1)
    assert client.get(f"/land/parcels?evaluations={cursor}").status_code == 400
    assert client.get(f"/land/checkpoints?cursor={cursor}").status_code == 400


def test_a_parcels_page_lists_its_projects_a_page_at_a_time(as_user, db, world, parcel, clock):
    codes = on_parcel(db, world, parcel, land.SHOWN_PER_PARCEL + 2, clock)
    client, _ = as_user("lead")
    html = client.get(f"/land/parcels/{parcel.id}?limit=3").get_data(as_text=True)
    shown = re.findall(r'<a href="[^"]+" data-project="([^"]+)"', html)
    assert shown == codes[:3]
    rest = client.get(next_link(html)).get_data(as_text=True)
    assert re.findall(r'<a href="[^"]+" data-project="([^"]+)"', rest) == codes[3:6]
    register = client.get("/land/parcels").get_data(as_text=True)
    assert f'data-more="{parcel.code}"' in register
    for code in codes[:land.SHOWN_PER_PARCEL]:
        assert code in register
    assert codes[-1] not in register


def test_checkpoints_page_and_a_lead_of_another_group_sees_none(as_user, db, world, parcel):
    with_agreement(db, world, parcel)
    client, _ = as_user("lead")
    pages = walk(client, "/land/checkpoints?limit=3", "data-checkpoint")
    assert pages == [["start", "completion", "production"], ["capacity"]]  # by due date
    outsider = f.user(db, "lead_food", "lead", groups=("food",))
    outsider.password_hash = password_hash()
    db.commit()
    client, _ = as_user("lead_food")
    html = client.get("/land/checkpoints").get_data(as_text=True)
    assert 'data-project="P-ACME-1"' not in html and "暂无" in html


def test_the_figures_table_pages_and_the_export_holds_the_same_rows(as_user, db, world, parcel, clock):
    lead = world["users"]["lead"]
    codes = []
    for _ in range(4):
        project = f.project(db, clock.moment, company=world["project"].enterprise, lead=lead)
        land.assign_parcel(db, project.id, parcel.id, actor=lead, now=NOW)
        land.record_agreement(db, project.id, actor=lead, now=NOW, signed_on="2026-03-02",
                              start_by="2026-06-30", complete_by="2027-06-30", produce_by="2027-09-30",
                              capacity_by="2029-06-30")
        codes.append(project.code)
    db.commit()
    client, _ = as_user("sup")
    pages = walk(client, "/land/figures?limit=3", "data-project")
    assert pages == [sorted(codes)[:3], sorted(codes)[3:]]
    html = client.get("/land/figures?limit=3").get_data(as_text=True)
    assert 'data-kpi="agreements">4<' in html and 'data-kpi="parcels">1<' in html
    sheet = load_workbook(io.BytesIO(client.get("/land/figures.xlsx").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == sum(pages, [])


def test_a_project_is_placed_on_a_parcel_typed_by_its_code(as_user, db, world, parcel):
    client, token = as_user("lead")
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert '<option value="ZY2026-01">' in page  # a vacant parcel is suggested
    for code in ("ZY-NOPE", "ZY\x01", "Z" * 65, ""):
        response = client.post("/projects/P-ACME-1/land/parcel",
                               data={"csrf_token": token, "parcel_code": code})
        assert response.status_code == 400, code
    assert read(db, select(Project.parcel_id).where(Project.code == "P-ACME-1")) is None
    response = client.post("/projects/P-ACME-1/land/parcel",
                           data={"csrf_token": token, "parcel_code": " ZY2026-01 "})
    assert response.status_code == 302
    assert read(db, select(Project.parcel_id).where(Project.code == "P-ACME-1")) == parcel.id
    agent, token = as_user("alice")
    response = agent.post("/projects/P-OTHER-1/land/parcel",
                          data={"csrf_token": token, "parcel_code": "ZY-NOPE"})
    assert response.status_code == 403  # who may place it is checked before the code is looked up


def test_an_evaluation_is_linked_by_its_reference(as_user, db, parcel):
    land.save_evaluation(db, actor=None, now=NOW, reference="左开区评〔2026〕8号", kind="flood",
                         title="洪水影响区域评价", done_on="2025-05-01", valid_until="2028-04-30")
    db.commit()
    client, token = as_user("admin")
    page = client.get(f"/land/parcels/{parcel.id}").get_data(as_text=True)
    assert '<option value="左开区评〔2026〕8号">' in page  # valid and not yet linked
    assert '<option value="左开区评〔2025〕2号">' not in page  # linked already
    response = client.post(f"/land/parcels/{parcel.id}/evaluations",
                           data={"csrf_token": token, "reference": "左开区评〔1999〕1号"})
    assert response.status_code == 400
    response = client.post(f"/land/parcels/{parcel.id}/evaluations",
                           data={"csrf_token": token, "reference": "左开区评〔2026〕8号"})
    assert response.status_code == 302
    page = client.get(f"/land/parcels/{parcel.id}").get_data(as_text=True)
    assert 'data-evaluation="左开区评〔2026〕8号"' in page

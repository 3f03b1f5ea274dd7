"""Standard land on the web: the parcel register, the project's land panel,
the 达产复核 forms, the checkpoint list and the zone's 亩均 figures."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.factories import at
from tests.test_land import walk_to
from workflow import land
from workflow.models import (
    Checkpoint,
    CreditRecord,
    InvestmentAgreement,
    ItemTask,
    Parcel,
    Project,
    RegionalEvaluation,
)

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
    assert response.status_code == 400 and "already used" in response.get_data(as_text=True)
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
    assert response.status_code == 400 and "looser" in response.get_data(as_text=True)
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
    assert "completion acceptance" in response.get_data(as_text=True)
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

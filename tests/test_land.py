"""Standard land (标准地): parcels, coverage by regional evaluations, the
investment agreement, the lifecycle checkpoints and the 达产复核 (each test
runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from tests import factories as f
from tests.factories import at
from tests.pages import walk
from workflow.core import operations as ops
from workflow.core import permissions
from workflow.kernel import paging
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import (
    Checkpoint,
    CreditRecord,
    InvestmentAgreement,
    Notification,
    Parcel,
    Project,
)
from workflow.reforms import land

MONDAY = at("2026-03-02")


@pytest.fixture
def team(session):
    company = f.enterprise(session, "左云县恒达装备制造有限公司")
    return {
        "admin": f.user(session, "admin_l", "admin"),
        "lead": f.user(session, "lead_l", "lead", groups=("equipment",)),
        "agent": f.user(session, "agent_l", "agent", groups=("equipment",),
                        department="nature_resources"),
        "owner": f.user(session, "ent_l", "enterprise", company=company),
        "other": f.user(session, "ent_x", "enterprise", company=f.enterprise(session)),
        "company": company,
    }


def make_parcel(session, admin, code="ZY2026-01", area="150.00", price="3000", **kw):
    parcel = land.save_parcel(session, actor=admin, now=MONDAY, code=code, name=f"{code}标准地",
                              area_mu=area, park="装备制造园", servicing="五通一平",
                              land_price_wan=price, transferred_on=kw.pop("transferred_on", None), **kw)
    for code_, bound, value in (("investment_intensity", "min", "300"), ("floor_area_ratio", "min", "1.2"),
                                ("tax_per_mu", "min", "15"), ("output_per_mu", "min", "400")):
        land.set_indicator(session, parcel.id, code=code_, name="", unit=None, bound=bound, value=value,
                           actor=admin, now=MONDAY)
    return parcel


def evaluation(session, admin, parcel, kind, reference, done="2025-01-10", until="2027-01-09"):
    row = land.save_evaluation(session, actor=admin, now=MONDAY, reference=reference, kind=kind,
                               title=f"{kind} 区域评估", done_on=done, valid_until=until)
    land.attach_evaluation(session, parcel.id, row.id, actor=admin, now=MONDAY)
    return row


def new_project(session, team, **kw):
    return f.project(session, MONDAY, company=team["company"], lead=team["lead"], **kw)


def finish(session, task, team, now):
    ops.assign_task(session, task.id, team["agent"], actor=team["lead"], now=now)
    ops.start_task(session, task.id, actor=team["agent"], now=now)
    ops.submit_task(session, task.id, actor=team["agent"], now=now)
    ops.approve_task(session, task.id, actor=team["agent"], now=now)
    ops.complete_task(session, task.id, actor=team["agent"], now=now)


def walk_to(session, project, stage, team, now=MONDAY):
    """Finish items and advance until the project is at ``stage``."""
    definition = ops.definition_for(project)
    while project.stage != stage:
        target = definition.next_stage(project.stage)
        gating = {i.code for i in definition.items_gating(target.code)}
        while any(t.state not in ("done", "covered") for t in project.tasks if t.item_code in gating):
            ready = [t for t in project.tasks if t.state == "ready"]
            if not ready:  # items that open on request (竣工验收): the lead applies
                for t in project.tasks:
                    if "request_item" in ops.available_actions(t, team["lead"]):
                        ops.request_item(session, t.id, actor=team["lead"], now=now)
                ready = [t for t in project.tasks if t.state == "ready"]
            assert ready, f"stuck before {target.code}"
            for task in ready:
                finish(session, task, team, now)
        if project.stage != target.code:
            ops.advance_project(session, project.id, actor=team["lead"], now=now)


def agreement(session, project, team, **kw):
    values = dict(signed_on="2026-03-02", start_by="2026-06-30", complete_by="2027-06-30",
                  produce_by="2027-09-30", capacity_by="2029-06-30")
    values.update(kw)
    return land.record_agreement(session, project.id, actor=team["lead"], now=MONDAY, **values)


def placed(session, team, *, stage=None, **agreement_kw):
    parcel = make_parcel(session, team["admin"])
    project = new_project(session, team)
    land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)
    agreement(session, project, team, **agreement_kw)
    if stage:
        walk_to(session, project, stage, team)
    return project, parcel


def checkpoint(session, project, kind):
    return session.scalar(select(Checkpoint).where(Checkpoint.project_id == project.id,
                                                   Checkpoint.kind == kind))


def figures(**kw):
    base = dict(investment_wan="45000", floor_area_m2="120000", tax_wan="2250", output_wan="60000",
                energy_tce="12000")
    base.update(kw)
    return base


# -- parcels as data an admin edits ---------------------------------------------------------

def test_an_admin_records_a_parcel_with_its_indicators_and_evaluations(session, team):
    parcel = make_parcel(session, team["admin"], transferred_on="2026-02-01")
    evaluation(session, team["admin"], parcel, "geo_hazard", "左开区评〔2025〕2号")
    assert parcel.area_mu == Decimal("150.00") and parcel.servicing == "五通一平"
    assert [(i.code, i.bound, Decimal(i.value)) for i in parcel.indicators][:2] == [
        ("investment_intensity", "min", Decimal("300")), ("floor_area_ratio", "min", Decimal("1.2"))]
    assert parcel.indicators[0].name == "固定资产投资强度" and parcel.indicators[0].unit == "万元/亩"
    assert [e.reference for e in parcel.evaluations] == ["左开区评〔2025〕2号"]
    # Changing an indicator keeps one row per code.
    land.set_indicator(session, parcel.id, code="tax_per_mu", name="亩均税收", unit="万元/亩", bound="min",
                       value="18", actor=team["admin"], now=MONDAY)
    assert [Decimal(i.value) for i in parcel.indicators if i.code == "tax_per_mu"] == [Decimal("18")]


@pytest.mark.parametrize("change, message", [
    (dict(area_mu="-5"), "negative"),
    (dict(area_mu="0"), "greater than zero"),
    (dict(area_mu="abc"), "number"),
    (dict(servicing="九通一平"), "servicing"),
    (dict(code=""), "required"),
])
def test_bad_parcel_input_is_refused(session, team, change, message):
    values = dict(code="ZY-BAD", name="坏数据", area_mu="10")
    values.update(change)
    with pytest.raises(ValidationError, match=message):
        land.save_parcel(session, actor=team["admin"], now=MONDAY, **values)


def test_a_duplicate_parcel_code_is_refused(session, team):
    make_parcel(session, team["admin"], code="ZY-DUP")
    with pytest.raises(ValidationError, match="already used"):
        land.save_parcel(session, actor=team["admin"], now=MONDAY, code="ZY-DUP", name="x", area_mu="1")


def test_an_indicator_bound_is_min_or_max_and_its_value_a_number(session, team):
    parcel = make_parcel(session, team["admin"])
    with pytest.raises(ValidationError, match="'min' or 'max'"):
        land.set_indicator(session, parcel.id, code="rd_share", name="研发投入占比", unit="%",
                           bound="about", value="3", actor=team["admin"], now=MONDAY)
    with pytest.raises(ValidationError, match="negative"):
        land.set_indicator(session, parcel.id, code="rd_share", name="研发投入占比", unit="%",
                           bound="min", value="-3", actor=team["admin"], now=MONDAY)
    with pytest.raises(ValidationError, match="lower-case"):
        land.set_indicator(session, parcel.id, code="R&D", name="研发", unit="%",
                           bound="min", value="3", actor=team["admin"], now=MONDAY)


def test_evaluations_need_a_known_kind_a_unique_reference_and_a_sane_validity(session, team):
    admin = team["admin"]
    with pytest.raises(ValidationError, match="Unknown kind"):
        land.save_evaluation(session, actor=admin, now=MONDAY, reference="R1", kind="astrology",
                             title="x", done_on="2025-01-01", valid_until="2027-01-01")
    with pytest.raises(ValidationError, match="expire before"):
        land.save_evaluation(session, actor=admin, now=MONDAY, reference="R1", kind="seismic",
                             title="x", done_on="2025-01-01", valid_until="2024-01-01")
    land.save_evaluation(session, actor=admin, now=MONDAY, reference="R1", kind="seismic",
                         title="x", done_on="2025-01-01", valid_until="2027-01-01")
    with pytest.raises(ValidationError, match="already recorded"):
        land.save_evaluation(session, actor=admin, now=MONDAY, reference="R1", kind="flood",
                             title="y", done_on="2025-01-01", valid_until="2027-01-01")


def test_only_an_admin_edits_parcels(session, team):
    parcel = make_parcel(session, team["admin"])
    for who in ("lead", "owner", "agent"):
        with pytest.raises(NotPermitted):
            land.save_parcel(session, actor=team[who], now=MONDAY, code="ZY-X", name="x", area_mu="1")
        with pytest.raises(NotPermitted):
            land.set_indicator(session, parcel.id, code="tax_per_mu", name="", unit="", bound="min",
                               value="1", actor=team[who], now=MONDAY)


# -- assigning a parcel covers items ------------------------------------------------------------

def test_a_valid_evaluation_covers_exactly_the_items_it_covers_with_its_reference(session, team):
    parcel = make_parcel(session, team["admin"])
    evaluation(session, team["admin"], parcel, "geo_hazard", "左开区评〔2025〕2号")
    evaluation(session, team["admin"], parcel, "regional_energy", "左开区评〔2025〕7号")
    project = new_project(session, team)
    result = land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)

    assert project.parcel_id == parcel.id and project.parcel.startswith("ZY2026-01")
    assert sorted(code for code, _ in result.covered) == ["energy_review", "u04_geo_hazard",
                                                          "u13_regional_energy"]
    geo = f.task(project, "u04_geo_hazard")
    assert geo.state == "covered" and "左开区评〔2025〕2号" in geo.covered_ref
    assert geo.covered_ref.startswith("evaluation:")
    assert "左开区评〔2025〕7号" in f.task(project, "energy_review").covered_ref
    # Items whose evaluation the parcel does not carry stay to be done.
    assert f.task(project, "u05_seismic").state not in ("covered", "done")
    assert f.task(project, "u01_survey").state == "ready"
    rows = {r.item_code: r.status for r in land.coverage_rows(project, parcel, MONDAY.date())}
    assert rows["u04_geo_hazard"] == "covered" and rows["u05_seismic"] == "missing"


def test_an_expired_evaluation_does_not_cover_and_says_why(session, team):
    parcel = make_parcel(session, team["admin"])
    evaluation(session, team["admin"], parcel, "seismic", "左开区评〔2023〕3号",
               done="2023-03-01", until="2026-03-01")  # expired the day before MONDAY
    evaluation(session, team["admin"], parcel, "flood", "左开区评〔2024〕5号",
               done="2024-03-02", until="2026-03-02")  # valid through today: still covers
    project = new_project(session, team)
    result = land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)

    assert [code for code, _ in result.covered] == ["u09_flood"]
    assert result.expired == (("u05_seismic", "左开区评〔2023〕3号", date(2026, 3, 1)),)
    assert f.task(project, "u05_seismic").state != "covered"
    rows = {r.item_code: r for r in land.coverage_rows(project, parcel, MONDAY.date())}
    assert rows["u05_seismic"].status == "expired"
    assert rows["u05_seismic"].evaluation.valid_until == date(2026, 3, 1)


def test_a_parcel_assigned_before_the_mandate_covers_once_the_tasks_exist(session, team):
    parcel = make_parcel(session, team["admin"])
    evaluation(session, team["admin"], parcel, "archaeology", "左开区评〔2025〕4号")
    project = new_project(session, team, mandate=False)
    result = land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)
    assert result.covered == ()
    assert {r.item_code: r.status for r in land.coverage_rows(project, parcel, MONDAY.date())}[
        "u06_archaeology"] == "no_task"
    # Signing the mandate creates the tasks and the parcel covers its items at once.
    ops.mandate_project(session, project.id, actor=team["lead"], now=MONDAY)
    assert f.task(project, "u06_archaeology").state == "covered"
    assert "左开区评〔2025〕4号" in f.task(project, "u06_archaeology").covered_ref
    again = land.apply_parcel_coverage(session, project.id, actor=team["lead"], now=MONDAY)
    assert again.covered == ()


def test_only_the_projects_lead_side_assigns_a_parcel(session, team):
    parcel = make_parcel(session, team["admin"])
    project = new_project(session, team)
    for who in ("owner", "agent"):
        with pytest.raises(NotPermitted):
            land.assign_parcel(session, project.id, parcel.id, actor=team[who], now=MONDAY)
    assert project.parcel_id is None


# -- the agreement ----------------------------------------------------------------------------

def test_the_agreement_commits_the_parcels_standard_and_creates_four_checkpoints(session, team):
    project, parcel = placed(session, team)
    row = session.scalar(select(InvestmentAgreement).where(InvestmentAgreement.project_id == project.id))
    assert row.indicators["tax_per_mu"] == {"name": "亩均税收", "unit": "万元/亩", "bound": "min",
                                            "value": "15"}
    assert Decimal(row.land_price_wan) == Decimal("3000")  # taken from the parcel
    due = {c.kind: (c.due_on, c.status) for c in session.scalars(
        select(Checkpoint).where(Checkpoint.project_id == project.id))}
    assert due == {"start": (date(2026, 6, 30), "open"), "completion": (date(2027, 6, 30), "open"),
                   "production": (date(2027, 9, 30), "open"), "capacity": (date(2029, 6, 30), "open")}


def test_an_agreement_cannot_be_looser_than_the_parcel_nor_out_of_order_nor_twice(session, team):
    parcel = make_parcel(session, team["admin"])
    project = new_project(session, team)
    with pytest.raises(InvalidTransition, match="Assign a standard-land parcel"):
        agreement(session, project, team)
    land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)
    with pytest.raises(ValidationError, match="looser"):
        agreement(session, project, team, indicators={"tax_per_mu": {"value": "10"}})
    with pytest.raises(ValidationError, match="follow each other"):
        agreement(session, project, team, complete_by="2026-05-01")
    agreement(session, project, team, indicators={"tax_per_mu": {"value": "20"},
                                                  "rd_share": {"name": "研发投入占比", "unit": "%",
                                                               "bound": "min", "value": "3"}})
    with pytest.raises(Conflict):
        agreement(session, project, team)


# -- indicators ---------------------------------------------------------------------------------

def test_indicators_are_computed_exactly_from_the_report():
    report = land.parse_figures(figures(), {"value_added_wan": "18000"})
    area = Decimal("150.00")
    assert land.compute("investment_intensity", report, area) == Decimal("300.00")
    assert land.compute("floor_area_ratio", report, area) == Decimal("1.20")  # 120000 / (150 × 10000/15)
    assert land.compute("tax_per_mu", report, area) == Decimal("15.00")
    assert land.compute("output_per_mu", report, area) == Decimal("400.00")
    assert land.compute("output_per_tce", report, area) == Decimal("5.00")
    assert land.compute("value_added_per_tce", report, area) == Decimal("1.50")


def test_indicators_round_half_up_to_two_places():
    area = Decimal("186.52")
    report = land.parse_figures(figures(investment_wan="56000", floor_area_m2="150000"))
    assert land.compute("investment_intensity", report, area) == Decimal("300.24")  # 300.2359…
    assert land.compute("floor_area_ratio", report, area) == Decimal("1.21")  # 1.20630…
    halfway = land.parse_figures(figures(tax_wan="100.05"))
    assert land.compute("tax_per_mu", halfway, Decimal("10")) == Decimal("10.01")  # 10.005 ↑
    # 0.1 + 0.2 stays exact: figures are parsed from text, never through binary floats.
    assert land.compute("tax_per_mu", land.parse_figures(figures(tax_wan=0.3)), Decimal("1")) == \
        Decimal("0.30")


def test_a_report_refuses_negative_or_missing_figures_and_zero_energy_for_per_tce():
    with pytest.raises(ValidationError, match="negative"):
        land.parse_figures(figures(tax_wan="-1"))
    with pytest.raises(ValidationError, match="required"):
        land.parse_figures(figures(output_wan=""))
    with pytest.raises(ValidationError, match="energy"):
        land.compute("output_per_tce", land.parse_figures(figures(energy_tce="0")), Decimal("10"))


def test_assessment_compares_min_and_max_bounds():
    committed = {"tax_per_mu": {"name": "亩均税收", "unit": "万元/亩", "bound": "min", "value": "20"},
                 "floor_area_ratio": {"name": "容积率", "unit": "", "bound": "max", "value": "1.0"},
                 "rd_share": {"name": "研发投入占比", "unit": "%", "bound": "min", "value": "3"}}
    result = land.assess(committed, land.parse_figures(figures(), {"rd_share": "3.5"}), Decimal("150"))
    lines = {i["code"]: i for i in result["indicators"]}
    assert lines["tax_per_mu"] == {"code": "tax_per_mu", "name": "亩均税收", "unit": "万元/亩",
                                   "bound": "min", "committed": "20", "actual": "15.00",
                                   "met": False, "shortfall": "0.2500"}
    assert lines["floor_area_ratio"]["met"] is False and lines["floor_area_ratio"]["shortfall"] == "0.2000"
    assert lines["rd_share"]["met"] is True and lines["rd_share"]["actual"] == "3.50"
    assert result["all_met"] is False and result["worst_shortfall"] == "0.2500"


# -- the 达产复核 verdicts ------------------------------------------------------------------------

def test_all_indicators_met_passes_and_the_project_is_verified(session, team):
    project, _ = placed(session, team, stage="at_capacity")
    cp = land.review_capacity(session, project.id, figures(), actor=team["lead"], now=MONDAY)
    assert cp.status == "passed" and cp.rectify_by is None
    review = cp.result["reviews"][-1]
    assert review["verdict"] == "passed" and all(i["met"] for i in review["indicators"])
    assert project.stage == "verified"
    assert session.scalar(select(func.count(CreditRecord.id))) == 0


def test_a_miss_gets_a_rectification_deadline_then_a_breach_and_a_credit_record(session, team):
    project, _ = placed(session, team, stage="at_capacity")
    # The enterprise reports: tax 12 万/亩 against ≥ 15 (20 % short): proposal only.
    land.report_capacity(session, project.id, figures(tax_wan="1800"), actor=team["owner"], now=MONDAY)
    cp = checkpoint(session, project, "capacity")
    assert cp.status == "open" and cp.result["pending"]["proposal"] == "rectifying"
    assert session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == team["lead"].id, Notification.kind == "capacity_reported")) == 1
    cp = land.confirm_capacity(session, project.id, actor=team["lead"], now=MONDAY)
    assert cp.status == "rectifying" and cp.rectify_by == date(2026, 9, 2)  # 6 months
    assert cp.result["pending"] is None

    # A re-review before the deadline that still misses keeps the same deadline.
    land.review_capacity(session, project.id, figures(tax_wan="2000"), actor=team["lead"],
                         now=at("2026-06-01"))
    assert cp.status == "rectifying" and cp.rectify_by == date(2026, 9, 2)
    assert session.scalar(select(func.count(CreditRecord.id))) == 0

    # From the deadline on, still missing is a breach: a serious credit record.
    land.review_capacity(session, project.id, figures(tax_wan="2000"), actor=team["lead"],
                         now=at("2026-09-02"))
    assert cp.status == "breached"
    record = session.scalar(select(CreditRecord))
    assert (record.enterprise_id, record.project_id, record.severity, record.source) == (
        team["company"].id, project.id, "serious", "capacity_breach")
    assert "亩均税收" in record.reason
    with pytest.raises(InvalidTransition):
        land.review_capacity(session, project.id, figures(), actor=team["lead"], now=at("2026-09-03"))


def test_a_rectified_project_passes_on_re_review(session, team):
    project, _ = placed(session, team, stage="at_capacity")
    land.review_capacity(session, project.id, figures(output_wan="55000"), actor=team["lead"], now=MONDAY)
    cp = land.review_capacity(session, project.id, figures(), actor=team["lead"], now=at("2026-08-03"))
    assert cp.status == "passed" and project.stage == "verified"
    assert [r["verdict"] for r in cp.result["reviews"]] == ["rectifying", "passed"]


def test_a_miss_by_half_or_more_is_a_breach_at_once(session, team):
    project, _ = placed(session, team, stage="at_capacity")
    cp = land.review_capacity(session, project.id, figures(tax_wan="1125"), actor=team["lead"], now=MONDAY)
    assert cp.status == "breached"  # 7.50 against 15: 50 % short
    assert session.scalar(select(func.count(CreditRecord.id))) == 1


def test_the_capacity_review_needs_the_project_at_capacity_and_the_right_people(session, team):
    project, _ = placed(session, team)
    with pytest.raises(InvalidTransition, match="at capacity"):
        land.report_capacity(session, project.id, figures(), actor=team["owner"], now=MONDAY)
    with pytest.raises(NotPermitted):
        land.report_capacity(session, project.id, figures(), actor=team["other"], now=MONDAY)
    with pytest.raises(NotPermitted):
        land.confirm_capacity(session, project.id, actor=team["owner"], now=MONDAY)


# -- completion acceptance blocks production ---------------------------------------------------

def test_a_failed_completion_acceptance_blocks_production_until_it_passes(session, team):
    project, _ = placed(session, team, stage="completed")
    cp = land.record_check(session, project.id, "completion", actor=team["lead"], now=MONDAY,
                           checked={"investment_intensity": True, "floor_area_ratio": False,
                                    "tax_per_mu": True, "output_per_mu": True},
                           note="容积率 0.9，低于出让条件 1.2")
    assert cp.status == "failed" and cp.result["checked"]["floor_area_ratio"] is False
    with pytest.raises(InvalidTransition, match="completion acceptance"):
        ops.advance_project(session, project.id, actor=team["lead"], now=MONDAY)
    assert project.stage == "completed"
    land.record_check(session, project.id, "completion", actor=team["lead"], now=MONDAY,
                      checked=dict.fromkeys(("investment_intensity", "floor_area_ratio",
                                             "tax_per_mu", "output_per_mu"), True))
    walk_to(session, project, "producing", team)  # finishes the filing, then advances
    assert project.stage == "producing"


def test_a_failed_completion_needs_a_note(session, team):
    project, _ = placed(session, team, stage="started")
    with pytest.raises(ValidationError, match="note"):
        land.record_check(session, project.id, "completion", actor=team["lead"], now=MONDAY, checked={})


def warnings(lines):
    return [line for line in lines if "warning" in line]


# -- the sweep -----------------------------------------------------------------------------------

def test_idle_land_warnings_come_once_at_one_and_two_years(session, team):
    project, _ = placed(session, team)  # start_by 2026-06-30, land price 3000 万元
    cp = checkpoint(session, project, "start")

    def kinds(user):
        return sorted(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))

    # The anniversary itself is the last day of the year (民法典 第二百零二条).
    lines = land.sweep(session, now=at("2027-06-30"))
    assert cp.idle_warned_on is None and not any("idle" in line for line in lines)
    lines = land.sweep(session, now=at("2027-07-01"))
    assert any("idle-land warning (fee 600.00 万元)" in line for line in lines)
    assert cp.idle_warned_on == date(2027, 7, 1) and cp.recovery_warned_on is None
    assert land.sweep(session, now=at("2027-07-01")) == []
    assert warnings(land.sweep(session, now=at("2028-06-30"))) == []
    assert kinds(team["owner"]).count("idle_land") == 1 and "idle_land" in kinds(team["lead"])
    body = session.scalar(select(Notification.body).where(Notification.kind == "idle_land"))
    assert "600.00 万元" in body and "闲置土地处置办法" in body

    lines = land.sweep(session, now=at("2028-07-01"))
    assert warnings(lines) == [f"{project.code}: land-recovery warning"]
    assert land.sweep(session, now=at("2028-07-02")) == []
    assert kinds(team["owner"]).count("land_recovery") == 1
    assert kinds(team["owner"]).count("idle_land") == 1


def test_a_started_project_passes_its_start_check_and_gets_no_warning(session, team):
    project, _ = placed(session, team, stage="started")
    lines = land.sweep(session, now=MONDAY)
    # The construction permit's own deadline (开工 within 3 months) is met too.
    assert lines == [f"{project.code}: start check passed (started)",
                     f"{project.code}: 建筑工程施工许可证 → 开工 met"]
    assert checkpoint(session, project, "start").status == "passed"
    assert land.sweep(session, now=at("2028-07-01")) == [
        f"{project.code}: completion checkpoint overdue since 2027-06-30",
        f"{project.code}: production checkpoint overdue since 2027-09-30"]
    assert checkpoint(session, project, "start").idle_warned_on is None


def test_the_lead_is_told_once_when_a_checkpoint_passes_its_date_open(session, team):
    project, _ = placed(session, team)
    assert land.sweep(session, now=at("2026-06-30")) == []
    assert land.sweep(session, now=at("2026-07-01")) == [
        f"{project.code}: start checkpoint overdue since 2026-06-30"]
    assert land.sweep(session, now=at("2026-07-02")) == []
    assert session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == team["lead"].id, Notification.kind == "checkpoint_overdue")) == 1


def test_a_rectification_deadline_passed_is_told_once(session, team):
    project, _ = placed(session, team, stage="at_capacity", start_by="2026-03-02",
                        complete_by="2026-03-02", produce_by="2026-03-02", capacity_by="2026-03-31")
    land.review_capacity(session, project.id, figures(tax_wan="1800"), actor=team["lead"], now=MONDAY)

    def capacity(lines):
        return [line for line in lines if "capacity checkpoint" in line]

    assert capacity(land.sweep(session, now=at("2026-09-02"))) == []  # the deadline day itself
    assert capacity(land.sweep(session, now=at("2026-09-03"))) == [
        f"{project.code}: capacity checkpoint overdue since 2026-09-02"]
    assert land.sweep(session, now=at("2026-09-04")) == []


# -- the zone's figures -------------------------------------------------------------------------

def test_zone_figures_total_the_transferred_land_and_tabulate_each_project(session, team):
    admin = team["admin"]
    make_parcel(session, admin, code="ZY-A", area="186.52", transferred_on="2023-05-01")
    make_parcel(session, admin, code="ZY-B", area="152.36", transferred_on="2023-08-01")
    make_parcel(session, admin, code="ZY-C", area="99.00")  # not transferred yet
    project, _ = placed(session, team, stage="at_capacity")  # parcel ZY2026-01, 150 亩, not transferred
    land.review_capacity(session, project.id, figures(tax_wan="1800"), actor=team["lead"], now=MONDAY)

    result = land.zone_figures(session)
    assert (result.parcels, result.parcels_transferred) == (4, 2)
    assert result.mu_transferred == Decimal("338.88") and result.mu_total == Decimal("587.88")
    assert (result.agreements, result.passed, result.rectifying, result.breached) == (1, 0, 1, 0)
    row = land.figure_page(session).rows[0]
    assert row.project.code == project.code and row.status == "rectifying"
    assert row.lines["tax_per_mu"].actual == Decimal("12.00") and row.lines["tax_per_mu"].met is False
    assert row.lines["investment_intensity"].committed == Decimal("300")
    assert row.lines["investment_intensity"].met is True


# -- the lists, a page at a time in the database ------------------------------------------------

def bare_parcels(session, *codes, transferred_on=None):
    session.execute(insert(Parcel), [{"code": code, "name": f"{code}地块", "area_mu": Decimal("10.50"),
                                      "transferred_on": transferred_on} for code in codes])
    session.flush()
    return {p.code: p for p in session.scalars(select(Parcel).where(Parcel.code.in_(codes)))}


def placed_on(session, team, parcel, n, industry="equipment_manufacturing", lead=None):
    projects = []
    for _ in range(n):
        project = f.project(session, MONDAY, company=team["company"], lead=lead or team["lead"],
                            industry=industry, mandate=False)
        project.parcel_id = parcel.id
        projects.append(project)
    session.flush()
    return projects


def test_the_register_pages_through_every_parcel_once_by_code(session, team):
    bare_parcels(session, *(f"ZY-{n:02d}" for n in (7, 3, 1, 6, 2, 5, 4)))
    pages = walk(lambda cursor, limit: land.parcel_page(session, cursor=cursor, limit=limit), 3)
    assert [[line.parcel.code for line in p] for p in pages] == [
        ["ZY-01", "ZY-02", "ZY-03"], ["ZY-04", "ZY-05", "ZY-06"], ["ZY-07"]]
    assert pages[0].first and pages[0].prev is None and not pages[2].first
    back = land.parcel_page(session, cursor=pages[2].prev, limit=3)
    assert [line.parcel.code for line in back] == ["ZY-04", "ZY-05", "ZY-06"]
    # Parcels registered meanwhile, before and after the boundary, neither shift nor repeat.
    bare_parcels(session, "ZY-00", "ZY-035", "ZY-99")
    rest = land.parcel_page(session, cursor=pages[0].next, limit=3)
    assert [line.parcel.code for line in rest] == ["ZY-035", "ZY-04", "ZY-05"]


def test_the_register_shows_the_first_projects_of_a_parcel_and_its_page_lists_them_all(session, team):
    parcels = bare_parcels(session, "ZY-A", "ZY-B", "ZY-C")
    crowded = placed_on(session, team, parcels["ZY-A"], land.SHOWN_PER_PARCEL + 2)
    single = placed_on(session, team, parcels["ZY-B"], 1)
    lines = {line.parcel.code: line for line in land.parcel_page(session)}
    by_code = sorted(p.code for p in crowded)
    assert [p.code for p in lines["ZY-A"].projects] == by_code[:land.SHOWN_PER_PARCEL]
    assert lines["ZY-A"].more is True
    assert [p.code for p in lines["ZY-B"].projects] == [single[0].code] and lines["ZY-B"].more is False
    assert lines["ZY-C"].projects == [] and lines["ZY-C"].more is False

    pages = walk(lambda cursor, limit: land.projects_on(session, parcels["ZY-A"].id, cursor=cursor,
                                                        limit=limit), 3)
    assert [[p.code for p in page] for page in pages] == [by_code[:3], by_code[3:6], by_code[6:]]
    assert list(land.projects_on(session, parcels["ZY-C"].id)) == []


def test_the_evaluations_page_by_kind_then_date(session, team):
    admin = team["admin"]
    for n, (kind, day) in enumerate([("seismic", "2024-01-01"), ("geo_hazard", "2025-03-01"),
                                     ("geo_hazard", "2023-05-01"), ("seismic", "2022-01-01"),
                                     ("flood", "2024-06-01")]):
        land.save_evaluation(session, actor=admin, now=MONDAY, reference=f"左开区评〔2025〕{n}号",
                             kind=kind, title=kind, done_on=day, valid_until="2030-01-01")
    pages = walk(lambda cursor, limit: land.evaluation_page(session, cursor=cursor, limit=limit), 2)
    assert [(e.kind, e.done_on.isoformat()) for p in pages for e in p] == [
        ("flood", "2024-06-01"), ("geo_hazard", "2023-05-01"), ("geo_hazard", "2025-03-01"),
        ("seismic", "2022-01-01"), ("seismic", "2024-01-01")]
    assert [len(p) for p in pages] == [2, 2, 1]


def test_the_forms_suggest_vacant_parcels_and_valid_evaluations_and_find_typed_ones(session, team):
    parcels = bare_parcels(session, "ZY-A", "ZY-B")
    placed_on(session, team, parcels["ZY-A"], 1)
    assert [p.code for p in land.parcel_choices(session)] == ["ZY-B"]
    assert land.parcel_id_of(session, " ZY-A ") == parcels["ZY-A"].id
    admin = team["admin"]
    valid = evaluation(session, admin, parcels["ZY-A"], "geo_hazard", "左开区评〔2025〕2号")
    other = land.save_evaluation(session, actor=admin, now=MONDAY, reference="左开区评〔2025〕3号",
                                 kind="seismic", title="地震", done_on="2025-01-10", valid_until="2027-01-09")
    land.save_evaluation(session, actor=admin, now=MONDAY, reference="左开区评〔2020〕1号",
                         kind="flood", title="旧", done_on="2020-01-10", valid_until="2023-01-09")
    today = date(2026, 3, 2)
    assert [e.reference for e in land.evaluation_choices(session, parcels["ZY-A"].id, today)] == [
        other.reference]
    assert [e.reference for e in land.evaluation_choices(session, parcels["ZY-B"].id, today)] == [
        valid.reference, other.reference]
    assert land.evaluation_id_of(session, "左开区评〔2025〕3号") == other.id
    for bad in ("", "ZY-X", "ZY\x00A", "Z" * 65):
        with pytest.raises(ValidationError):
            land.parcel_id_of(session, bad)
    with pytest.raises(ValidationError):
        land.evaluation_id_of(session, "左开区评〔1999〕1号")


def _checkpoints(session, project, *dues, status="open"):
    for kind, due in zip(land.CHECK_KINDS, dues, strict=False):
        session.add(Checkpoint(project_id=project.id, kind=kind, due_on=date.fromisoformat(due),
                               status=status))
    session.flush()


def test_open_checkpoints_page_by_due_date_and_show_only_what_the_user_may_see(session, team):
    other_lead = f.user(session, "lead_coal", "lead", groups=("coal_chemical",))
    supervisor = f.user(session, "sup_l", "supervisor")
    ours = new_project(session, team, mandate=False)
    theirs = f.project(session, MONDAY, company=team["company"], lead=other_lead,
                       industry="coal_chemical", mandate=False)
    # Led by our lead although in the coal-chemical group: the lead sees it too.
    led = f.project(session, MONDAY, company=team["company"], lead=team["lead"],
                    industry="coal_chemical", mandate=False)
    gone = new_project(session, team, mandate=False)
    _checkpoints(session, ours, "2026-05-01", "2026-07-01", "2026-09-01")
    _checkpoints(session, theirs, "2026-04-01", "2026-06-01")
    _checkpoints(session, led, "2026-08-01")
    _checkpoints(session, gone, "2026-03-15")
    gone.stage = "terminated"
    session.add(Checkpoint(project_id=ours.id, kind="capacity", due_on=date(2026, 3, 20),
                           status="passed"))  # closed: never listed
    session.flush()

    def listed(user, limit):
        pages = walk(lambda cursor, limit: land.open_checkpoints(session, user, cursor=cursor,
                                                                  limit=limit), limit)
        return [(p.code, c.due_on.isoformat()) for page in pages for c, p in page]

    everything = [(theirs.code, "2026-04-01"), (ours.code, "2026-05-01"), (theirs.code, "2026-06-01"),
                  (ours.code, "2026-07-01"), (led.code, "2026-08-01"), (ours.code, "2026-09-01")]
    assert listed(supervisor, 2) == everything
    assert listed(team["admin"], 4) == everything
    assert listed(team["lead"], 2) == [row for row in everything if row[0] != theirs.code]
    assert listed(other_lead, 1) == [row for row in everything if row[0] in (theirs.code, led.code)]


def test_visible_projects_is_can_view_project_in_sql(session, team):
    coal_lead = f.user(session, "lead_coal", "lead", groups=("coal_chemical",))
    coal_agent = f.user(session, "agent_coal", "agent", groups=("coal_chemical",))
    projects = [new_project(session, team),
                f.project(session, MONDAY, company=team["company"], lead=coal_lead, industry="coal_chemical"),
                f.project(session, MONDAY, company=f.enterprise(session), lead=team["lead"],
                          industry="coal_chemical")]
    # The coal agent works on an item of the equipment project: that project is theirs to see.
    projects[0].tasks[0].assignee_id = coal_agent.id
    idle = f.user(session, "idle_lead", "lead")
    idle.active = False
    session.flush()
    users = [*team.values(), coal_lead, coal_agent, idle, f.user(session, "sup_v", "supervisor")]
    for user in (u for u in users if hasattr(u, "role")):
        seen = set(session.scalars(select(Project.id).where(permissions.visible_projects(user),
                                                            Project.id.in_([p.id for p in projects]))))
        assert seen == {p.id for p in projects if permissions.can_view_project(user, p)}, user.username


def _agreement_rows(session, projects, parcel):
    for project in projects:
        session.add(InvestmentAgreement(
            project_id=project.id, parcel_id=parcel.id, signed_on=date(2026, 1, 5),
            indicators={"tax_per_mu": {"name": "亩均税收", "unit": "万元/亩", "bound": "min",
                                       "value": "15"}},
            start_by=date(2026, 6, 30), complete_by=date(2027, 6, 30), produce_by=date(2027, 9, 30),
            capacity_by=date(2029, 6, 30), created_at=MONDAY))
    session.flush()


def test_the_headline_figures_count_in_sql(session, team):
    parcels = bare_parcels(session, "ZY-A", "ZY-B", "ZY-C")
    bare_parcels(session, "ZY-D", "ZY-E", transferred_on=date(2024, 1, 1))
    projects = placed_on(session, team, parcels["ZY-A"], 5)
    _agreement_rows(session, projects, parcels["ZY-A"])
    for project, status in zip(projects, ("passed", "passed", "rectifying", "breached", "open"),
                               strict=True):
        session.add(Checkpoint(project_id=project.id, kind="capacity", due_on=date(2029, 6, 30),
                               status=status))
        session.add(Checkpoint(project_id=project.id, kind="start", due_on=date(2026, 6, 30),
                               status="passed"))  # not a capacity verdict
    session.flush()
    result = land.zone_figures(session)
    assert (result.parcels, result.parcels_transferred) == (5, 2)
    assert result.mu_total == Decimal("52.50") and result.mu_transferred == Decimal("21.00")
    assert (result.agreements, result.passed, result.rectifying, result.breached) == (5, 2, 1, 1)


def test_the_figure_table_pages_by_project_code_and_the_export_reads_the_same_rows(session, team):
    parcel = bare_parcels(session, "ZY-A")["ZY-A"]
    projects = placed_on(session, team, parcel, 5)
    _agreement_rows(session, projects[:4], parcel)  # the fifth has no agreement: not in the table
    session.add(Checkpoint(project_id=projects[1].id, kind="capacity", due_on=date(2029, 6, 30),
                           status="rectifying", result={"reviews": [{"decided_on": "2029-07-01",
                           "indicators": [{"code": "tax_per_mu", "actual": "12.00", "met": False}]}]}))
    session.flush()
    pages = walk(lambda cursor, limit: land.figure_page(session, cursor=cursor, limit=limit), 3)
    codes = sorted(p.code for p in projects[:4])
    assert [[row.project.code for row in page] for page in pages] == [codes[:3], codes[3:]]
    rows = {row.project.code: row for page in pages for row in page}
    reviewed = rows[projects[1].code]
    assert reviewed.status == "rectifying" and reviewed.reviewed_on == "2029-07-01"
    assert reviewed.lines["tax_per_mu"].actual == Decimal("12.00")
    assert reviewed.lines["tax_per_mu"].met is False and reviewed.parcel.code == "ZY-A"
    assert rows[projects[0].code].status == "open" and rows[projects[0].code].reviewed_on is None
    assert [row.project.code for row in land.figure_rows(session, batch=2)] == codes


def test_a_cursor_of_another_list_or_a_bad_page_size_is_refused(session, team):
    bare_parcels(session, "ZY-A", "ZY-B")
    cursor = land.parcel_page(session, limit=1).next
    with pytest.raises(ValidationError):
        land.open_checkpoints(session, team["admin"], cursor=cursor)
    with pytest.raises(ValidationError):
        land.evaluation_page(session, cursor="not-a-cursor")
    for limit in (0, paging.MAX_LIMIT + 1):
        with pytest.raises(ValidationError):
            land.parcel_page(session, limit=limit)

"""Every field the land pages read is declared (``web.views.land_forms``): a
value beyond its column, of the wrong kind or too long answers 400 naming the
field, and nothing changes. Then the new forms do what they say: a start
deadline extended, a stoppage recorded and resumed, a government-caused delay
recorded and withdrawn, a tall storey counted twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import func, select

from tests.web import test_land as base
from tests.web.test_land import FIGURES, read, with_agreement
from workflow.models import (
    CapacityReport,
    Checkpoint,
    IdleExemption,
    InvestmentAgreement,
    LandStoppage,
    Parcel,
    ParcelEvaluation,
    ParcelIndicator,
    RegionalEvaluation,
)
from workflow.reforms import land

LONG = "长" * 2001
parcel = base.parcel  # the fixture: ZY2026-01 with its indicators and two evaluations


def refused(response, field):
    text = unescape(response.get_data(as_text=True))
    assert response.status_code == 400, text[:500]
    assert f"'{field}'" in text, text[:2000]


PARCEL = {"code": "ZY-NEW", "name": "新地块", "area_mu": "10", "park": "", "location": "",
          "servicing": "", "land_price_wan": "100", "transferred_on": ""}


@pytest.mark.parametrize(("field", "value"), [
    ("area_mu", "10000000000"),  # Numeric(12, 2): below 10^10 亩
    ("area_mu", "1.234"),  # two decimals
    ("area_mu", "-1"), ("area_mu", "1e999"), ("area_mu", "NaN"), ("area_mu", "十"),
    ("land_price_wan", "1000000000000"),  # Numeric(14, 2)
    ("transferred_on", "2026-02-30"),
    ("code", "Z" * 65), ("name", "名" * 201), ("park", "园" * 201), ("location", "位" * 301),
    ("servicing", "通" * 41),
])
def test_a_bad_parcel_field_is_refused_and_nothing_is_registered(as_user, db, field, value):
    client, token = as_user("admin")
    refused(client.post("/land/parcels", data={"csrf_token": token, **PARCEL, field: value}), field)
    assert read(db, select(func.count(Parcel.id))) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("area_mu", "99999999999"), ("land_price_wan", "-5"), ("name", "名" * 201),
    ("transferred_on", "soon"),
])
def test_a_bad_parcel_change_is_refused_and_the_parcel_stays(as_user, db, parcel, field, value):
    client, token = as_user("admin")
    data = {"csrf_token": token, **PARCEL, "code": "ZY2026-01", "name": "改名", field: value}
    refused(client.post(f"/land/parcels/{parcel.id}", data=data), field)
    row = read(db, select(Parcel).where(Parcel.id == parcel.id))
    assert (row.name, row.area_mu) == ("装备园一号地", Decimal("150.00"))


@pytest.mark.parametrize(("field", "value"), [
    ("value", "1000000000000"),  # Numeric(16, 4): below 10^12
    ("value", "0.12345"), ("value", "-1"), ("value", "inf"),
    ("bound", "around"), ("code", "c" * 65), ("name", "名" * 101), ("unit", "u" * 41),
])
def test_a_bad_indicator_is_refused_and_the_indicators_stay(as_user, db, parcel, field, value):
    client, token = as_user("admin")
    data = {"csrf_token": token, "code": "tax_per_mu", "name": "", "unit": "", "bound": "min",
            "value": "20", field: value}
    refused(client.post(f"/land/parcels/{parcel.id}/indicators", data=data), field)
    value_now = read(db, select(ParcelIndicator.value).where(
        ParcelIndicator.parcel_id == parcel.id, ParcelIndicator.code == "tax_per_mu"))
    assert value_now == Decimal("15")


@pytest.mark.parametrize(("field", "value"), [
    ("evaluation_id", "99999999999"), ("evaluation_id", "-1"), ("evaluation_id", "x"),
    ("reference", "文" * 65),
])
def test_a_bad_evaluation_to_attach_is_refused(as_user, db, parcel, field, value):
    client, token = as_user("admin")
    before = read(db, select(func.count(ParcelEvaluation.id)))
    refused(client.post(f"/land/parcels/{parcel.id}/evaluations",
                        data={"csrf_token": token, field: value}), field)
    assert read(db, select(func.count(ParcelEvaluation.id))) == before


@pytest.mark.parametrize(("field", "value"), [
    ("reference", "文" * 65), ("kind", "k" * 65), ("title", "题" * 301),
    ("done_on", "2026-02-30"), ("valid_until", "later"),
])
def test_a_bad_evaluation_is_refused_and_nothing_is_recorded(as_user, db, parcel, field, value):
    client, token = as_user("admin")
    data = {"csrf_token": token, "reference": "左开区评〔2026〕1号", "kind": "flood",
            "title": "洪水影响区域评价", "done_on": "2026-01-05", "valid_until": "2028-01-04",
            field: value}
    refused(client.post("/land/evaluations", data=data), field)
    assert read(db, select(func.count(RegionalEvaluation.id))) == 2


AGREEMENT = {"signed_on": "2026-03-02", "start_by": "2026-06-30", "complete_by": "2027-06-30",
             "produce_by": "2027-09-30", "capacity_by": "2029-06-30", "land_price_wan": "3000"}


@pytest.mark.parametrize(("field", "value"), [
    ("signed_on", "2026-02-30"), ("capacity_by", "2029"), ("land_price_wan", "1e12"),
    ("ind_tax_per_mu", "-1"), ("ind_tax_per_mu", "1000000000000"), ("ind_Tax", "18"),
    ("extra_code", "Rd-Share"), ("extra_bound", "around"), ("extra_value", "x"),
    ("extra_name", "名" * 101), ("extra_unit", "u" * 41),
])
def test_a_bad_agreement_field_is_refused_and_no_agreement_is_recorded(as_user, world, db, parcel,
                                                                       field, value):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token, "parcel_id": parcel.id})
    data = {"csrf_token": token, **AGREEMENT, "extra_code": "rd_share", "extra_value": "3",
            field: value}
    refused(client.post("/projects/P-ACME-1/land/agreement", data=data), field)
    assert read(db, select(func.count(InvestmentAgreement.id))) == 0


def test_too_many_prefixed_fields_are_refused(as_user, world, db, parcel):
    client, token = as_user("lead")
    client.post("/projects/P-ACME-1/land/parcel", data={"csrf_token": token, "parcel_id": parcel.id})
    many = {f"ind_x{n:03}": "1" for n in range(51)}
    response = client.post("/projects/P-ACME-1/land/agreement",
                           data={"csrf_token": token, **AGREEMENT, **many})
    assert response.status_code == 400
    assert read(db, select(func.count(InvestmentAgreement.id))) == 0


@pytest.mark.parametrize(("data", "field"), [
    ({"note": LONG}, "note"), ({"met": ["Bad-Code"]}, "met.0"),
    ({"met": [f"ind{n:03}" for n in range(101)]}, "met"),
])
def test_a_bad_completion_check_is_refused_and_the_check_stays_open(as_user, world, db, parcel,
                                                                   data, field):
    with_agreement(db, world, parcel, stage="completed")
    client, token = as_user("lead")
    refused(client.post("/projects/P-ACME-1/land/checks/completion",
                        data={"csrf_token": token, **data}), field)
    assert read(db, select(Checkpoint.status).where(Checkpoint.kind == "completion")) == "open"


@pytest.mark.parametrize(("field", "value"), [
    ("investment_wan", "1000000000000"), ("floor_area_m2", "-1"), ("tax_wan", "1.005"),
    ("energy_tce", "Infinity"), ("tall_floor_area_m2", "x"), ("note", LONG),
    ("x_value_added_wan", "NaN"), ("x_BAD", "1"),
])
def test_a_bad_capacity_figure_is_refused_and_nothing_is_reported(as_user, world, db, parcel, field,
                                                                 value):
    with_agreement(db, world, parcel, stage="at_capacity")
    lead, token = as_user("lead")
    refused(lead.post("/projects/P-ACME-1/land/capacity",
                      data={"csrf_token": token, **FIGURES, field: value}), field)
    owner, token = as_user("acme")
    if field != "note":
        refused(owner.post("/portal/projects/P-ACME-1/land/capacity",
                           data={"csrf_token": token, **FIGURES, field: value}), field)
    assert read(db, select(func.count(CapacityReport.id))) == 0
    assert read(db, select(Checkpoint.status).where(Checkpoint.kind == "capacity")) == "open"


def test_a_bad_confirmation_note_is_refused_and_the_report_stays_pending(as_user, world, db, parcel):
    with_agreement(db, world, parcel, stage="at_capacity")
    owner, token = as_user("acme")
    owner.post("/portal/projects/P-ACME-1/land/capacity", data={"csrf_token": token, **FIGURES})
    lead, token = as_user("lead")
    refused(lead.post("/projects/P-ACME-1/land/capacity/confirm",
                      data={"csrf_token": token, "note": LONG}), "note")
    assert read(db, select(Checkpoint.status).where(Checkpoint.kind == "capacity")) == "open"


# -- the new forms ----------------------------------------------------------------------------

def test_the_lead_extends_the_start_deadline_of_the_permit(as_user, world, db, parcel):
    """Permit on 2 March 2026: start by 2 June; one extension: 2 September."""
    with_agreement(db, world, parcel, stage="ready_to_start")
    client, token = as_user("lead")
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-deadline="construction_permit" data-kind="item_reach" data-status="open"' in page
    assert "建筑工程施工许可证 → 开工" in page and "2026-06-02" in page
    url = "/projects/P-ACME-1/land/deadlines/construction_permit/extend"
    refused(client.post(url, data={"csrf_token": token, "reason": LONG}), "reason")
    assert client.post(url, data={"csrf_token": token, "reason": "设备到货延迟"}).status_code == 302
    assert read(db, select(Checkpoint.due_on).where(Checkpoint.kind == "item_reach")) == \
        date(2026, 9, 2)
    assert "设备到货延迟" in client.get("/projects/P-ACME-1").get_data(as_text=True)
    checkpoints = client.get("/land/checkpoints").get_data(as_text=True)
    assert "建筑工程施工许可证 → 开工" in checkpoints


STOPPAGE = {"stopped_on": "2026-03-01", "built_area_mu": "40", "invested_wan": "8000",
            "total_investment_wan": "45000", "note": "资金链紧张"}


@pytest.mark.parametrize(("field", "value"), [
    ("stopped_on", "yesterday"), ("built_area_mu", "10000000000"), ("invested_wan", "-1"),
    ("total_investment_wan", "1e12"), ("note", LONG),
])
def test_a_bad_stoppage_is_refused_and_nothing_is_recorded(as_user, world, db, parcel, field, value):
    with_agreement(db, world, parcel, stage="started")
    client, token = as_user("lead")
    refused(client.post("/projects/P-ACME-1/land/stoppages",
                        data={"csrf_token": token, **STOPPAGE, field: value}), field)
    assert read(db, select(func.count(LandStoppage.id))) == 0


def test_the_lead_records_a_stoppage_and_its_end(as_user, world, db, parcel):
    """40 of 150 亩 built (under a third: 50) — the page says it may become idle land."""
    with_agreement(db, world, parcel, stage="started")
    client, token = as_user("lead")
    assert 'data-action="record_stoppage"' in client.get("/projects/P-ACME-1").get_data(as_text=True)
    response = client.post("/projects/P-ACME-1/land/stoppages", data={"csrf_token": token, **STOPPAGE})
    assert response.status_code == 302
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-idle="yes"' in page and 'data-action="resume_construction"' in page
    refused(client.post("/projects/P-ACME-1/land/stoppages/resume",
                        data={"csrf_token": token, "resumed_on": "soon"}), "resumed_on")
    assert client.post("/projects/P-ACME-1/land/stoppages/resume",
                       data={"csrf_token": token, "resumed_on": "2026-03-02"}).status_code == 302
    assert read(db, select(LandStoppage.resumed_on)) == date(2026, 3, 2)


@pytest.mark.parametrize(("field", "value"), [
    ("cause", "bad_weather"), ("reason", LONG), ("since", "2026-13-01"),
])
def test_a_bad_exemption_is_refused_and_nothing_is_recorded(as_user, world, db, parcel, field, value):
    with_agreement(db, world, parcel)
    client, token = as_user("lead")
    data = {"csrf_token": token, "cause": "land_not_delivered", "reason": "未按期交地",
            "since": "2026-03-01", field: value}
    refused(client.post("/projects/P-ACME-1/land/exemption", data=data), field)
    assert read(db, select(func.count(IdleExemption.id))) == 0


def test_the_lead_records_and_withdraws_a_government_caused_delay(as_user, world, db, parcel):
    with_agreement(db, world, parcel)
    client, token = as_user("lead")
    response = client.post("/projects/P-ACME-1/land/exemption", data={
        "csrf_token": token, "cause": "land_not_delivered", "reason": "管委会未按期交付净地",
        "since": "2026-03-01"})
    assert response.status_code == 302
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-exemption="land_not_delivered"' in page and "管委会未按期交付净地" in page
    owner, _ = as_user("acme")
    assert "未按约定期限、条件交付土地" in owner.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert client.post("/projects/P-ACME-1/land/exemption/withdraw",
                       data={"csrf_token": token}).status_code == 302
    assert read(db, select(IdleExemption.withdrawn_on)) == date(2026, 3, 2)
    assert land.standing_exemption(db, world["project"].id) is None


def test_the_enterprise_reports_a_tall_storey_and_sees_it_counted_twice(as_user, world, db, parcel):
    """150 亩 = 100 000 m²; 100 000 m² built, 20 000 of them higher than 8 m:
    a ratio of 1.20 (committed ≥ 1.2), not 1.00."""
    with_agreement(db, world, parcel, stage="at_capacity")
    owner, token = as_user("acme")
    assert 'name="tall_floor_area_m2"' in owner.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    response = owner.post("/portal/projects/P-ACME-1/land/capacity", data={
        "csrf_token": token, **FIGURES, "floor_area_m2": "100000", "tall_floor_area_m2": "20,000"})
    assert response.status_code == 302
    assert read(db, select(CapacityReport.tall_floor_area_m2)) == Decimal("20000.00")
    pending = read(db, select(Checkpoint.result).where(Checkpoint.kind == "capacity"))["pending"]
    line = next(i for i in pending["indicators"] if i["code"] == "floor_area_ratio")
    assert (line["actual"], line["met"]) == ("1.20", True)

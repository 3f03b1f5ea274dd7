"""Projects predicted to miss their investment agreement (``land.forecast``),
on SQLite and PostgreSQL: a project whose predicted dates keep to its
agreement is not listed; a late one is, with the working days late per
missed milestone and the item that holds it up; pages cover the list once in
order, most working days late first, per group too (one index range per
group); the late rows follow the stored predictions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from tests import factories as f
from tests.factories import at
from workflow.core import predict
from workflow.kernel import clock as wd
from workflow.models import AgreementMiss, ProjectPrediction
from workflow.reforms import land
from workflow.reforms.land import forecast

NOW = at("2026-03-02", 10)


def setting(session):
    admin = f.user(session, "admin_m", "admin")
    lead = f.user(session, "lead_m", "lead", groups=("equipment", "food"))
    parcel = land.save_parcel(session, actor=admin, now=NOW, code="ZY-M-01", name="一号地",
                              area_mu="100", park="园", servicing="五通一平", land_price_wan="100",
                              transferred_on="2026-02-01")
    land.set_indicator(session, parcel.id, code="investment_intensity", name="", unit=None,
                       bound="min", value="300", actor=admin, now=NOW)
    return lead, parcel


def project_with(session, lead, parcel, code, *, industry="equipment_manufacturing", **predicted):
    """A project agreed to start by 2026-06-30, complete by 2027-06-30 and
    produce by 2027-09-30, predicted as ``predicted`` says (the others on time)."""
    project = f.project(session, NOW, lead=lead, code=code, industry=industry)
    land.assign_parcel(session, project.id, parcel.id, actor=lead, now=NOW)
    land.record_agreement(session, project.id, actor=lead, now=NOW, signed_on="2026-03-02",
                          start_by="2026-06-30", complete_by="2027-06-30",
                          produce_by="2027-09-30", capacity_by="2029-06-30")
    predict.refresh_projects(session, [project.id], now=NOW)
    dates = {"started_on": date(2026, 6, 1), "completed_on": date(2027, 6, 1),
             "producing_on": date(2027, 9, 1)} | predicted
    session.execute(update(ProjectPrediction).where(ProjectPrediction.project_id == project.id)
                    .values(critical_item="u01_survey", **dates))
    forecast.recount(session, [project.id])  # as storing the prediction does
    session.flush()
    return project


def codes(page):
    return [m.project.code for m in page]


def test_an_on_time_project_is_not_listed_and_a_late_one_is_with_its_item(session):
    lead, parcel = setting(session)
    project_with(session, lead, parcel, "P-ON-TIME")
    # Started on the agreement's very day: on time.
    project_with(session, lead, parcel, "P-ON-THE-DAY", started_on=date(2026, 6, 30))
    late = project_with(session, lead, parcel, "P-LATE", started_on=date(2026, 7, 3))
    # Started late already: no longer a prediction (the start checkpoint's business).
    project_with(session, lead, parcel, "P-STARTED-LATE", started_on=date(2026, 7, 3),
                 reached="ready_to_start,started")
    page = forecast.agreement_misses(session)
    assert codes(page) == ["P-LATE"]
    miss = page.rows[0]
    # 2026-06-30 (Tue) → 07-03 (Fri): three working days.
    assert miss.late == {"started": 3} and miss.days_late == 3
    assert miss.prediction.critical_item == "u01_survey" and miss.project.id == late.id


def test_pages_cover_the_late_projects_once_in_order_and_per_group(session):
    lead, parcel = setting(session)
    project_with(session, lead, parcel, "P-FINE")
    for n, day in enumerate((date(2027, 8, 2), date(2027, 7, 1), date(2027, 9, 1))):
        project_with(session, lead, parcel, f"P-EQ-{n}", completed_on=day,
                     producing_on=date(2027, 9, 30))
    project_with(session, lead, parcel, "P-FOOD", industry="food_processing",
                 producing_on=date(2027, 10, 8))
    seen, cursor = [], None
    while True:
        page = forecast.agreement_misses(session, cursor=cursor, limit=2)
        seen += codes(page)
        if page.next is None:
            break
        cursor = page.next
    assert seen == ["P-EQ-2", "P-EQ-0", "P-FOOD", "P-EQ-1"]  # most working days late first
    equipment = f.group(session, "equipment").id
    food = f.group(session, "food").id
    assert codes(forecast.agreement_misses(session, group_ids={equipment})) == [
        "P-EQ-2", "P-EQ-0", "P-EQ-1"]
    assert codes(forecast.agreement_misses(session, group_ids={food})) == ["P-FOOD"]
    assert codes(forecast.agreement_misses(session, group_ids={equipment, food}, limit=3)) == [
        "P-EQ-2", "P-EQ-0", "P-FOOD"]
    assert codes(forecast.agreement_misses(session, group_ids=set())) == []
    assert [m.project.code for m in forecast.all_misses(session)] == seen
    food_miss = forecast.agreement_misses(session, group_ids={food}).rows[0]
    # Counted on the working-day calendar (2027's holidays as provisionally known).
    assert food_miss.late == {"producing": wd.working_days_between(date(2027, 9, 30),
                                                                   date(2027, 10, 8)).days}
    assert 0 < food_miss.days_late < 6  # the National Day holidays are not working days


def test_storing_a_prediction_keeps_the_late_rows(session):
    """The rows follow the predictions: refreshing a late project lists it,
    an agreement it keeps drops it, and a project that ends loses its row."""
    lead, parcel = setting(session)
    project = f.project(session, NOW, lead=lead, code="P-REAL")
    land.assign_parcel(session, project.id, parcel.id, actor=lead, now=NOW)
    # An agreement no prediction of this project can keep: start within the week.
    land.record_agreement(session, project.id, actor=lead, now=NOW, signed_on="2026-03-02",
                          start_by="2026-03-06", complete_by="2026-03-31",
                          produce_by="2026-04-30", capacity_by="2029-06-30")
    predict.refresh_projects(session, [project.id], now=NOW)
    page = forecast.agreement_misses(session)
    assert codes(page) == ["P-REAL"] and page.rows[0].late.keys() == {"started", "completed",
                                                                       "producing"}
    row = session.get(AgreementMiss, project.id)
    assert row.days_late == page.rows[0].days_late > 0
    predict.forget(session, [project.id])
    assert codes(forecast.agreement_misses(session)) == []
    assert session.get(AgreementMiss, project.id) is None

"""Standard land, the rules added to the checks: the construction permit's
start deadline and the enterprise's filing deadline as checkpoints, the second
criterion of idle land and the exemption for delays the government caused,
and the floor-area ratio that counts a storey higher than 8 m twice (each
test on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import test_land as base
from tests.factories import at
from tests.test_land import (
    MONDAY,
    agreement,
    figures,
    finish,
    make_parcel,
    new_project,
    placed,
    walk_to,
)
from workflow.core import operations as ops
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import Checkpoint, Notification
from workflow.reforms import land

team = base.team  # the fixture: a lead, an agent, an admin, the enterprise and its user


def placed_on(session, team, code, *, stage=None, **agreement_kw):
    """A second project on its own parcel (``placed`` uses ZY2026-01)."""
    parcel = make_parcel(session, team["admin"], code=code)
    project = new_project(session, team)
    land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)
    agreement(session, project, team, **agreement_kw)
    if stage:
        walk_to(session, project, stage, team)
    return project


def deadline(session, project, kind):
    return session.scalar(select(Checkpoint).where(Checkpoint.project_id == project.id,
                                                   Checkpoint.kind == kind))


def told(session, user, kind):
    return session.query(Notification).filter_by(user_id=user.id, kind=kind).count()


# -- 施工许可: start within 3 months, at most two extensions of 3 months ------------------------

def test_a_period_in_months_ends_on_the_corresponding_day_or_the_next_working_day():
    """2 March + 3 months = 2 June 2026 (a Tuesday); 1 July + 3 months = 1 October,
    国庆 (1–7 October 2026): the next working day, 8 October; 31 August + 3
    months = 30 November (November has no 31st)."""
    assert land.months_later(date(2026, 3, 2), 3) == date(2026, 6, 2)
    assert land.months_later(date(2026, 7, 1), 3) == date(2026, 10, 8)
    assert land.months_later(date(2026, 8, 31), 3) == date(2026, 11, 30)


def test_the_construction_permit_opens_a_start_deadline_of_three_months(session, team):
    """Permit issued (its item completed) on Monday 2 March 2026: work must start
    by 2 June. Not started on 3 June and never extended, the permit lapses
    (自行废止): the checkpoint fails and the lead and the enterprise are told."""
    project, _ = placed(session, team, stage="ready_to_start")
    row = deadline(session, project, "item_reach")
    assert (row.item_code, row.due_on, row.status) == ("construction_permit", date(2026, 6, 2), "open")
    assert land.sweep(session, now=at("2026-06-02")) == []
    lines = land.sweep(session, now=at("2026-06-03"))
    assert f"{project.code}: 建筑工程施工许可证 → 开工 lapsed on 2026-06-02" in lines
    assert row.status == "failed" and "自行废止" in row.note
    assert told(session, team["lead"], "deadline_lapsed") == 1
    assert told(session, team["owner"], "deadline_lapsed") == 1
    assert not [x for x in land.sweep(session, now=at("2026-06-04")) if "lapsed" in x]


def test_at_most_two_extensions_each_applied_for_before_the_period_ends(session, team):
    """2 June → 2 September (first extension) → 2 December (second); a third is
    refused, and so is one applied for after the period ended."""
    project, _ = placed(session, team, stage="ready_to_start")
    row = land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["lead"],
                                      now=at("2026-05-20"), reason="冬季施工方案调整")
    assert row.due_on == date(2026, 9, 2)
    row = land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["lead"],
                                      now=at("2026-08-31"), reason="设备到货延迟")
    assert row.due_on == date(2026, 12, 2)
    assert [e["to"] for e in row.result["extensions"]] == ["2026-09-02", "2026-12-02"]
    with pytest.raises(InvalidTransition, match="at most 2"):
        land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["lead"],
                                    now=at("2026-11-30"), reason="再次申请")
    assert row.due_on == date(2026, 12, 2)
    with pytest.raises(ValidationError):
        land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["lead"],
                                    now=at("2026-11-30"), reason="  ")
    with pytest.raises(NotPermitted):
        land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["owner"],
                                    now=at("2026-11-30"), reason="企业自行延期")


def test_an_extension_after_the_period_ended_is_refused(session, team):
    project, _ = placed(session, team, stage="ready_to_start")
    with pytest.raises(InvalidTransition, match="before it ends"):
        land.extend_item_checkpoint(session, project.id, "construction_permit", actor=team["lead"],
                                    now=at("2026-06-03"), reason="逾期申请")
    assert deadline(session, project, "item_reach").due_on == date(2026, 6, 2)


def test_a_project_that_started_in_time_meets_the_permit_deadline(session, team):
    project, _ = placed(session, team, stage="started")
    lines = land.sweep(session, now=at("2026-03-03"))
    assert f"{project.code}: 建筑工程施工许可证 → 开工 met" in lines
    assert deadline(session, project, "item_reach").status == "passed"


# -- 竣工验收备案: the enterprise files within 15 days of the acceptance --------------------------

def accepted_on(session, team, day):
    project, _ = placed(session, team, stage="started")
    acceptance = next(t for t in project.tasks if t.item_code == "completion_acceptance")
    ops.request_item(session, acceptance.id, actor=team["lead"], now=at(day))
    finish(session, acceptance, team, at(day))
    return project


def test_the_completion_filing_is_due_from_the_enterprise_fifteen_days_after_acceptance(session, team):
    """Accepted on Wednesday 16 September 2026: 16 September + 15 days = 1 October,
    国庆 (1–7 October): the deadline moves to Thursday 8 October. Not filed by
    then, the lead and the enterprise are told once on 9 October."""
    project = accepted_on(session, team, "2026-09-16")
    row = deadline(session, project, "item_submit")
    assert (row.item_code, row.due_on) == ("completion_filing", date(2026, 10, 8))
    assert not [x for x in land.sweep(session, now=at("2026-10-08")) if "报送" in x]
    lines = land.sweep(session, now=at("2026-10-09"))
    assert f"{project.code}: 竣工验收备案：企业报送 overdue since 2026-10-08" in lines
    assert told(session, team["owner"], "deadline_overdue") == 1
    assert told(session, team["lead"], "deadline_overdue") == 1
    land.sweep(session, now=at("2026-10-10"))
    assert told(session, team["owner"], "deadline_overdue") == 1


def test_a_filing_submitted_in_time_meets_its_deadline(session, team):
    project = accepted_on(session, team, "2026-09-16")
    filing = next(t for t in project.tasks if t.item_code == "completion_filing")
    ops.assign_task(session, filing.id, team["agent"], actor=team["lead"], now=at("2026-09-21"))
    ops.start_task(session, filing.id, actor=team["agent"], now=at("2026-09-21"))
    ops.submit_task(session, filing.id, actor=team["agent"], now=at("2026-09-21"))
    lines = land.sweep(session, now=at("2026-09-22"))
    assert f"{project.code}: 竣工验收备案：企业报送 met" in lines
    assert deadline(session, project, "item_submit").status == "passed"


# -- idle land: the second criterion and the government's delays ------------------------------

def stopped(session, team, *, built, invested, total="40000", on="2026-04-01", **kw):
    project, parcel = placed(session, team, stage="started", **kw)
    row = land.record_stoppage(session, project.id, stopped_on=on, built_area_mu=built,
                               invested_wan=invested, total_investment_wan=total,
                               actor=team["lead"], now=at("2026-04-02"), note="资金链紧张，停工")
    return project, row


def idle_lines(lines):
    return [x for x in lines if "idle-land" in x]


def test_a_third_of_the_area_not_built_and_stopped_a_year_is_idle_land(session, team):
    """Parcel of 150 亩: 49.99 亩 built is under a third (50 亩); 20 000 of
    40 000 万元 invested is half. Stopped on 1 April 2026, the year is full on
    2 April 2027: the warning then, with the fee 20 % × 3 000 = 600 万元, once."""
    project, row = stopped(session, team, built="49.99", invested="20000")
    assert land.idle_share(row) == {"by_area": True, "by_investment": False, "idle": True}
    assert idle_lines(land.sweep(session, now=at("2027-04-01"))) == []
    lines = idle_lines(land.sweep(session, now=at("2027-04-02")))
    assert lines == [f"{project.code}: idle-land warning (stopped since 2026-04-01, fee 600.00 万元)"]
    assert told(session, team["owner"], "idle_land") == 1
    body = session.scalar(select(Notification.body).where(Notification.kind == "idle_land"))
    assert "不足应开发面积 150.00 亩的三分之一" in body and "600.00 万元" in body
    assert idle_lines(land.sweep(session, now=at("2027-04-03"))) == []


@pytest.mark.parametrize(("built", "invested", "idle"), [
    ("50", "10000", False),  # exactly a third, exactly 25 %: not under either
    ("50", "9999.99", True),  # under 25 % of 40 000
    ("150", "0", True),  # all built, nothing invested: under 25 %
])
def test_both_shares_are_compared_exactly(session, team, built, invested, idle):
    project, row = stopped(session, team, built=built, invested=invested)
    assert land.idle_share(row)["idle"] is idle
    assert bool(idle_lines(land.sweep(session, now=at("2027-04-02")))) is idle


def test_a_stoppage_resumed_within_the_year_is_no_idle_land(session, team):
    project, row = stopped(session, team, built="10", invested="1000")
    land.resume_construction(session, project.id, resumed_on="2026-12-01", actor=team["lead"],
                             now=at("2026-12-02"))
    assert row.resumed_on == date(2026, 12, 1)
    assert idle_lines(land.sweep(session, now=at("2027-04-02"))) == []


def test_a_delay_the_government_caused_exempts_both_criteria_until_withdrawn(session, team):
    """The land was not delivered as agreed (第八条 (一)): neither the stoppage
    nor a missed start is warned of; withdrawn, the next sweep warns."""
    project, row = stopped(session, team, built="10", invested="1000")
    exemption = land.record_exemption(session, project.id, cause="land_not_delivered",
                                      reason="管委会未按期完成地块三通一平，无法继续施工", since="2026-03-20",
                                      actor=team["lead"], now=at("2026-04-03"))
    assert land.standing_exemption(session, project.id).id == exemption.id
    late = placed_on(session, team, "ZY2026-02", start_by="2026-03-31")
    land.record_exemption(session, late.id, cause="plan_changed", reason="控规调整，道路红线变更",
                          since="2026-03-10", actor=team["lead"], now=at("2026-04-03"))
    assert idle_lines(land.sweep(session, now=at("2027-04-02"))) == []
    assert told(session, team["owner"], "idle_land") == 0
    land.withdraw_exemption(session, project.id, actor=team["lead"], now=at("2027-04-05"))
    assert idle_lines(land.sweep(session, now=at("2027-04-06"))) == [
        f"{project.code}: idle-land warning (stopped since 2026-04-01, fee 600.00 万元)"]


def test_stoppage_and_exemption_refusals_change_nothing(session, team):
    project, _ = placed(session, team)  # not started: a late start is the start check's
    with pytest.raises(InvalidTransition, match="has not started"):
        land.record_stoppage(session, project.id, stopped_on="2026-03-01", built_area_mu="1",
                             invested_wan="1", total_investment_wan="100", actor=team["lead"], now=MONDAY)
    started = placed_on(session, team, "ZY2026-02", stage="started")
    for bad, error in ((dict(built_area_mu="150.01"), ValidationError),  # more than the parcel
                       (dict(stopped_on="2026-03-03"), ValidationError),  # not yet happened
                       (dict(invested_wan="-1"), ValidationError),
                       (dict(total_investment_wan="0"), ValidationError)):
        values = dict(stopped_on="2026-03-01", built_area_mu="10", invested_wan="100",
                      total_investment_wan="40000") | bad
        with pytest.raises(error):
            land.record_stoppage(session, started.id, actor=team["lead"], now=MONDAY, **values)
    assert land.stoppages(session, started.id) == []
    land.record_stoppage(session, started.id, stopped_on="2026-03-01", built_area_mu="10",
                         invested_wan="100", total_investment_wan="40000", actor=team["lead"], now=MONDAY)
    with pytest.raises(Conflict):
        land.record_stoppage(session, started.id, stopped_on="2026-03-02", built_area_mu="10",
                             invested_wan="100", total_investment_wan="40000", actor=team["lead"],
                             now=MONDAY)
    with pytest.raises(ValidationError, match="Unknown cause"):
        land.record_exemption(session, started.id, cause="bad_weather", reason="下雨", since="2026-03-01",
                              actor=team["lead"], now=MONDAY)
    with pytest.raises(ValidationError):
        land.record_exemption(session, started.id, cause="force_majeure", reason=" ", since="2026-03-01",
                              actor=team["lead"], now=MONDAY)
    with pytest.raises(NotPermitted):
        land.record_exemption(session, started.id, cause="force_majeure", reason="洪水",
                              since="2026-03-01", actor=team["owner"], now=MONDAY)
    assert land.standing_exemption(session, started.id) is None
    land.record_exemption(session, started.id, cause="force_majeure", reason="特大暴雨冲毁场地",
                          since="2026-03-01", actor=team["lead"], now=MONDAY)
    with pytest.raises(Conflict):
        land.record_exemption(session, started.id, cause="petitions", reason="信访", since="2026-03-01",
                              actor=team["lead"], now=MONDAY)


# -- the floor-area ratio: a storey higher than 8 m counts twice ------------------------------

def test_a_storey_higher_than_8_m_counts_twice_in_the_floor_area_ratio():
    """150 亩 = 100 000 m². 100 000 m² of floor area gives 1.00; if 20 000 m²
    of it are storeys higher than 8 m they count twice: 120 000 ÷ 100 000 = 1.20."""
    plain = land.parse_figures(figures(floor_area_m2="100000"))
    tall = land.parse_figures(figures(floor_area_m2="100000", tall_floor_area_m2="20000"))
    assert land.compute("floor_area_ratio", plain, Decimal("150")) == Decimal("1.00")
    assert land.compute("floor_area_ratio", tall, Decimal("150")) == Decimal("1.20")
    with pytest.raises(ValidationError, match="cannot exceed"):
        land.parse_figures(figures(floor_area_m2="100000", tall_floor_area_m2="100000.01"))


def test_the_capacity_review_judges_the_ratio_with_tall_storeys_doubled(session, team):
    """Committed ratio ≥ 1.2 on 150 亩; 100 000 m² built of which 20 000 m² are
    storeys of 9 m: 1.20, met — the same building counted once would fail."""
    project, _ = placed(session, team, stage="at_capacity")
    cp = land.review_capacity(session, project.id,
                              figures(floor_area_m2="100000", tall_floor_area_m2="20000"),
                              actor=team["lead"], now=MONDAY)
    line = next(i for i in cp.result["reviews"][-1]["indicators"] if i["code"] == "floor_area_ratio")
    assert (line["actual"], line["met"]) == ("1.20", True)
    report = session.scalar(select(land.models.CapacityReport).order_by(
        land.models.CapacityReport.id.desc()))
    assert report.tall_floor_area_m2 == Decimal("20000.00")
    assert cp.result["reviews"][-1]["figures"]["tall_floor_area_m2"] == "20000"

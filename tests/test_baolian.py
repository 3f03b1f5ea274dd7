"""包联服务: the promotion plan of each signed project — seeded at signing, dated
by the investment agreement, followed through the lifecycle, edited by the
lead alone (each edit in the audit chain), escalated on the 13710 rhythm on the
working-day calendar exactly once per level, and the leadership's list of
plans by member and status (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from tests.pages import walk
from tests.test_land import make_parcel, walk_to
from workflow.core import audit
from workflow.core import operations as ops
from workflow.kernel import paging
from workflow.kernel.errors import InvalidTransition, NotFound, NotPermitted, ValidationError
from workflow.models import AuditEvent, Notification, PlanReminder
from workflow.reforms import baolian, land

MONDAY = at("2026-03-02")


@pytest.fixture
def team(session):
    company = f.enterprise(session, "左云县恒达装备制造有限公司")
    return {
        "admin": f.user(session, "admin_b", "admin"),
        "lead": f.user(session, "lead_b", "lead", groups=("equipment",)),
        "lead2": f.user(session, "lead_c", "lead", groups=("equipment",)),
        "agent": f.user(session, "agent_b", "agent", groups=("equipment",), department="nature_resources"),
        "sup": f.user(session, "sup_b", "supervisor"),
        "owner": f.user(session, "ent_b", "enterprise", company=company),
        "company": company,
    }


def signed(session, team, lead=None, now=MONDAY):
    return f.project(session, now, company=team["company"], lead=lead or team["lead"])


def plan(session, project):
    return baolian.plan_of(session, project.id)


def milestone(session, project, kind):
    return next(m for m in plan(session, project).milestones if m.kind == kind)


def actions(session, project):
    return [e.action for e in session.scalars(
        select(AuditEvent).where(AuditEvent.project_id == project.id).order_by(AuditEvent.seq))]


# -- seeding -----------------------------------------------------------------------------------

def test_signing_seeds_the_plan_and_the_agreement_dates_it(session, team):
    project = signed(session, team)
    p = plan(session, project)
    assert [m.kind for m in p.milestones] == ["sign", "start", "completion", "production", "capacity"]
    sign, start = milestone(session, project, "sign"), milestone(session, project, "start")
    assert sign.achieved_on == date(2026, 3, 2) and sign.achieved_how == "stage"
    # No agreement yet: the zone's default months after signing, on a working day.
    assert (start.planned_on, start.source) == (date(2026, 6, 2), "default")
    assert p.next_due_on == date(2026, 6, 2)
    assert "baolian.plan_seeded" in actions(session, project)

    # The lead reschedules the completion; then the agreement is recorded.
    completion = milestone(session, project, "completion")
    baolian.edit_milestone(session, completion.id, planned_on="2027-05-31", reason="企业要求提前",
                           actor=team["lead"], now=MONDAY)
    parcel = make_parcel(session, team["admin"])
    land.assign_parcel(session, project.id, parcel.id, actor=team["lead"], now=MONDAY)
    land.record_agreement(session, project.id, actor=team["lead"], now=MONDAY, signed_on="2026-03-02",
                          start_by="2026-06-30", complete_by="2027-06-30", produce_by="2027-09-30",
                          capacity_by="2029-06-30")
    by_kind = {m.kind: (m.planned_on, m.source) for m in plan(session, project).milestones}
    assert by_kind["start"] == (date(2026, 6, 30), "agreement")
    assert by_kind["production"] == (date(2027, 9, 30), "agreement")
    assert by_kind["capacity"] == (date(2029, 6, 30), "agreement")
    assert by_kind["completion"] == (date(2027, 5, 31), "lead")  # the lead's own date stays
    assert "baolian.plan_from_agreement" in actions(session, project)
    assert audit.verify(session, [project.code]) == []


def test_an_intention_has_no_plan_until_it_is_signed(session, team):
    project = ops.create_project(session, code="YX-2026-0101", name="意向项目", enterprise=team["company"],
                                 industry="equipment_manufacturing", actor=team["lead"], now=MONDAY,
                                 lead=team["lead"], stage="intention")
    assert plan(session, project) is None
    ops.sign_project(session, project.id, actor=team["lead"], now=at("2026-03-09"))
    assert milestone(session, project, "sign").achieved_on == date(2026, 3, 9)


def test_reaching_a_stage_achieves_its_milestone(session, team):
    project = signed(session, team)
    walk_to(session, project, "started", {**team, "lead": team["lead"]}, now=at("2026-04-01"))
    start = milestone(session, project, "start")
    assert (start.achieved_on, start.achieved_how) == (date(2026, 4, 1), "stage")
    assert plan(session, project).next_due_on == milestone(session, project, "completion").planned_on
    assert milestone(session, project, "completion").achieved_on is None


# -- the lead's edits ----------------------------------------------------------------------------

def test_the_lead_adds_reschedules_removes_and_completes_milestones_each_audited(session, team):
    project = signed(session, team)
    lead = team["lead"]
    added = baolian.add_milestone(session, project.id, name="10千伏电力接入", planned_on="2026-05-15",
                                  reason="企业提出用电需求", actor=lead, now=MONDAY)
    assert plan(session, project).next_due_on == date(2026, 5, 15)
    baolian.edit_milestone(session, added.id, planned_on="2026-05-29", reason="供电公司排期",
                           name="10千伏双回路接入", actor=lead, now=MONDAY)
    baolian.mark_done(session, added.id, achieved_on="2026-03-02", note="提前完成", actor=lead, now=MONDAY)
    road = baolian.add_milestone(session, project.id, name="园区道路", planned_on="2026-04-30",
                                 reason="进场道路", actor=lead, now=MONDAY)
    baolian.remove_milestone(session, road.id, reason="已并入开工节点", actor=lead, now=MONDAY)
    unit = baolian.set_team(session, project.id, promoting_unit="园区经济发展局", staff=team["agent"],
                            actor=lead, now=MONDAY)
    assert (unit.promoting_unit, unit.staff_id) == ("园区经济发展局", team["agent"].id)
    session.flush()
    events = {e.action: e.data for e in session.scalars(
        select(AuditEvent).where(AuditEvent.project_id == project.id))}
    assert events["baolian.milestone_added"]["reason"] == "进场道路"
    assert events["baolian.milestone_changed"] == {
        "milestone": "10千伏双回路接入", "previous_date": "2026-05-15", "planned_on": "2026-05-29",
        "reason": "供电公司排期", "renamed_from": "10千伏电力接入"}
    assert events["baolian.milestone_removed"]["reason"] == "已并入开工节点"
    assert events["baolian.milestone_achieved"]["how"] == "lead"
    assert events["baolian.team_set"] == {"promoting_unit": "园区经济发展局", "staff": "agent_b",
                                          "previous_unit": "", "previous_staff": None}
    assert [m.name for m in plan(session, project).milestones].count("园区道路") == 0
    assert plan(session, project).next_due_on == date(2026, 6, 2)
    assert audit.verify(session, [project.code]) == []


@pytest.mark.parametrize("who", ["agent", "owner", "sup", "lead2"])
def test_only_the_projects_lead_or_an_admin_changes_the_plan(session, team, who):
    project = signed(session, team)
    start = milestone(session, project, "start")
    before = actions(session, project)
    for attempt in (
            lambda: baolian.add_milestone(session, project.id, name="x", planned_on="2026-05-01",
                                          reason="r", actor=team[who], now=MONDAY),
            lambda: baolian.edit_milestone(session, start.id, planned_on="2026-07-01", reason="r",
                                           actor=team[who], now=MONDAY),
            lambda: baolian.remove_milestone(session, start.id, reason="r", actor=team[who], now=MONDAY),
            lambda: baolian.mark_done(session, start.id, achieved_on="2026-03-02", note="",
                                      actor=team[who], now=MONDAY),
            lambda: baolian.set_team(session, project.id, promoting_unit="x", staff=None,
                                     actor=team[who], now=MONDAY)):
        with pytest.raises(NotPermitted):
            attempt()
    assert actions(session, project) == before
    assert milestone(session, project, "start").planned_on == date(2026, 6, 2)
    # The admin, as the zone's leadership, may.
    baolian.edit_milestone(session, start.id, planned_on="2026-07-01", reason="领导调度",
                           actor=team["admin"], now=MONDAY)
    assert baolian.can_edit_plan(team["lead"], project) and not baolian.can_edit_plan(team["lead2"], project)
    assert baolian.can_read_plans(team["sup"]) and not baolian.can_read_plans(team["agent"])
    assert not baolian.can_read_plans(team["owner"])


@pytest.mark.parametrize("change, error", [
    (dict(op="add", name="", planned_on="2026-05-01", reason="r"), ValidationError),
    (dict(op="add", name="x", planned_on="2026-13-01", reason="r"), ValidationError),
    (dict(op="add", name="x", planned_on="1900-01-01", reason="r"), ValidationError),
    (dict(op="add", name="x" * 201, planned_on="2026-05-01", reason="r"), ValidationError),
    (dict(op="add", name="x", planned_on="2026-05-01", reason="  "), ValidationError),
    (dict(op="edit", planned_on="2026-07-01", reason=""), ValidationError),
    (dict(op="edit", planned_on="2026-07-01", reason="r", name="改名"), ValidationError),
    (dict(op="done", achieved_on="2026-03-03"), ValidationError),  # the future
    (dict(op="done_sign", achieved_on="2026-03-02"), InvalidTransition),  # already achieved
    (dict(op="missing"), NotFound),
    (dict(op="staff"), ValidationError),
])
def test_bad_input_is_refused_and_changes_nothing(session, team, change, error):
    project = signed(session, team)
    start, sign = milestone(session, project, "start"), milestone(session, project, "sign")
    change = dict(change)  # the parameters are shared by the SQLite and PostgreSQL runs
    lead, op = team["lead"], change.pop("op")
    before = actions(session, project)
    with pytest.raises(error):
        if op == "add":
            baolian.add_milestone(session, project.id, actor=lead, now=MONDAY, **change)
        elif op == "edit":
            baolian.edit_milestone(session, start.id, actor=lead, now=MONDAY, **change)
        elif op == "done":
            baolian.mark_done(session, start.id, note="", actor=lead, now=MONDAY, **change)
        elif op == "done_sign":
            baolian.mark_done(session, sign.id, note="", actor=lead, now=MONDAY, **change)
        elif op == "missing":
            baolian.remove_milestone(session, 10**9, reason="r", actor=lead, now=MONDAY)
        else:
            baolian.set_team(session, project.id, promoting_unit="x", staff=team["owner"],
                             actor=lead, now=MONDAY)
    assert actions(session, project) == before
    assert len(plan(session, project).milestones) == 5


# -- the 13710 escalation ------------------------------------------------------------------------

def levels(recorded):
    return [line.split()[1] for line in recorded]


def test_a_late_milestone_escalates_on_working_days_once_per_level(session, team):
    project = signed(session, team)
    baolian.set_team(session, project.id, promoting_unit="经发局", staff=team["agent"],
                     actor=team["lead"], now=MONDAY)
    start = milestone(session, project, "start")
    # Planned on Wednesday 17 June 2026; 端午 is Friday 19 June to Sunday 21 June.
    baolian.edit_milestone(session, start.id, planned_on="2026-06-17", reason="协议约定",
                           actor=team["lead"], now=MONDAY)
    assert baolian.sweep(session, now=at("2026-06-17")) == []  # due today: not late yet
    assert levels(baolian.sweep(session, now=at("2026-06-18"))) == ["red"]
    assert baolian.sweep(session, now=at("2026-06-18")) == []  # run twice: nothing repeats
    # Three working days late: 18th, (19th-21st off), 22nd, 23rd.
    assert baolian.sweep(session, now=at("2026-06-22")) == []
    assert levels(baolian.sweep(session, now=at("2026-06-23"))) == ["escalate_lead"]
    # Seven: 18, 22, 23, 24, 25, 26, 29 June (the holiday and the weekend skipped).
    seventh = baolian.reached_on("escalate_supervisor", date(2026, 6, 17), _policy())
    assert seventh == date(2026, 6, 29)
    assert baolian.sweep(session, now=at("2026-06-26")) == []
    supervisor = baolian.sweep(session, now=at("2026-06-29"))
    assert levels(supervisor) == ["escalate_supervisor"] and "sup_b" in supervisor[0]
    assert levels(baolian.sweep(session, now=at("2026-07-17"))) == ["escalate_leadership"]
    assert baolian.sweep(session, now=at("2026-07-20")) == []
    rows = session.scalars(select(PlanReminder).order_by(PlanReminder.id)).all()
    assert [(r.level, r.catch_up) for r in rows] == [
        ("red", False), ("escalate_lead", False), ("escalate_supervisor", False),
        ("escalate_leadership", False)]
    told = session.scalars(select(Notification.user_id).where(Notification.kind == "plan_overdue")).all()
    assert told.count(team["agent"].id) == 4 and told.count(team["lead"].id) == 4
    assert told.count(team["sup"].id) == 2 and told.count(team["admin"].id) == 1
    assert actions(session, project).count("baolian.milestone_escalated") == 4
    assert audit.verify(session, [project.code]) == []


def _policy():
    from workflow.kernel.config import DeadlinePolicy
    return DeadlinePolicy()


def test_a_sweep_after_downtime_catches_up_once_and_a_new_date_escalates_anew(session, team):
    project = signed(session, team)
    start = milestone(session, project, "start")  # planned 2 June 2026
    first = baolian.sweep(session, now=at("2026-07-20"))
    assert levels(first) == ["red", "escalate_lead", "escalate_supervisor", "escalate_leadership"]
    assert all(r.catch_up for r in session.scalars(select(PlanReminder)))
    assert baolian.sweep(session, now=at("2026-07-21")) == []
    baolian.edit_milestone(session, start.id, planned_on="2026-07-31", reason="重新约定",
                           actor=team["lead"], now=at("2026-07-21"))
    assert levels(baolian.sweep(session, now=at("2026-08-03"))) == ["red"]


def test_an_achieved_milestone_or_a_suspended_project_is_not_chased(session, team):
    done = signed(session, team)
    baolian.mark_done(session, milestone(session, done, "start").id, achieved_on="2026-03-02", note="",
                      actor=team["lead"], now=MONDAY)
    paused = signed(session, team)
    ops.suspend_project(session, paused.id, actor=team["lead"], now=MONDAY, reason="企业资金未到位")
    assert baolian.sweep(session, now=at("2026-06-10")) == []
    assert session.scalar(select(func.count(PlanReminder.id))) == 0


# -- the leadership view -------------------------------------------------------------------------

def test_the_leadership_list_pages_plans_by_member_and_status(session, team):
    today = date(2026, 6, 10)
    late = [signed(session, team) for _ in range(3)]  # start planned 2 June: late on 10 June
    risky = [signed(session, team, lead=team["lead2"], now=at("2026-03-16")) for _ in range(2)]  # 16 June
    fine = signed(session, team, lead=team["lead2"], now=at("2026-05-11"))  # 11 August
    assert {baolian.status_of(plan(session, p).next_due_on, today) for p in late} == {"late"}
    assert {baolian.status_of(plan(session, p).next_due_on, today) for p in risky} == {"at_risk"}
    assert baolian.status_of(plan(session, fine).next_due_on, today) == "on_track"

    pages = walk(lambda **kw: baolian.plan_page(session, today=today, **kw), 2)
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [r.project_id for page in pages for r in page] == [p.id for p in late + risky + [fine]]
    pages = walk(lambda **kw: baolian.plan_page(session, today=today, member_id=team["lead"].id, **kw), 2)
    assert [r.project_id for page in pages for r in page] == [p.id for p in late]
    at_risk = baolian.plan_page(session, today=today, member_id=team["lead2"].id, status="at_risk")
    assert [r.project_id for r in at_risk] == [p.id for p in risky]
    assert baolian.plan_page(session, today=today, status="done").rows == []

    lines = {m.name: m for m in baolian.members(session, today=today)}
    assert (lines["lead_b"].late, lines["lead_b"].total) == (3, 3)
    assert (lines["lead_c"].at_risk, lines["lead_c"].on_track, lines["lead_c"].late) == (2, 1, 0)

    with pytest.raises(ValidationError):
        baolian.plan_page(session, today=today, status="sideways")
    with pytest.raises(paging.BadCursor):
        baolian.plan_page(session, today=today, cursor="bm90IGEgY3Vyc29y")

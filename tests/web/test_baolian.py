"""包联 on the web: the plan panel of the staff project page (the lead edits,
others are refused, bad input changes nothing) and the leadership view
(who may read it, its filters and pages)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.web.conftest import password_hash
from workflow.models import AuditEvent, PlanMilestone, PromotionPlan
from workflow.reforms import baolian


def fresh(db, query):
    value = db.scalar(query.execution_options(populate_existing=True))
    db.commit()
    return value


def milestones(db, project):
    rows = db.scalars(select(PlanMilestone).where(PlanMilestone.project_id == project.id)
                      .order_by(PlanMilestone.id).execution_options(populate_existing=True)).all()
    db.commit()
    return rows


def start_of(db, project):
    return next(m for m in milestones(db, project) if m.kind == "start")


def test_the_project_page_shows_the_plan_and_the_lead_edits_it(as_user, world, db):
    project = world["project"]
    client, token = as_user("lead")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert 'id="plan"' in page and 'data-kind="capacity"' in page and 'data-action="add_milestone"' in page
    response = client.post(f"/projects/{project.code}/plan/milestones", data={
        "csrf_token": token, "name": "10千伏电力接入", "planned_on": "2026-04-30", "reason": "企业用电需求"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#plan")
    start = start_of(db, project)
    response = client.post(f"/projects/{project.code}/plan/milestones/{start.id}", data={
        "csrf_token": token, "planned_on": "2026-07-15", "reason": "协议约定"})
    assert response.status_code == 302
    assert start_of(db, project).planned_on == date(2026, 7, 15)
    response = client.post(f"/projects/{project.code}/plan/team", data={
        "csrf_token": token, "promoting_unit": "园区经济发展局", "staff": "alice"})
    assert response.status_code == 302
    plan = fresh(db, select(PromotionPlan).where(PromotionPlan.project_id == project.id))
    assert (plan.promoting_unit, plan.staff_id) == ("园区经济发展局", world["users"]["alice"].id)
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert "10千伏电力接入" in page and "园区经济发展局" in page
    trail = client.get(f"/projects/{project.code}/audit").get_data(as_text=True)
    assert "调整推进节点" in trail and "新增推进节点" in trail and "原计划日期" in trail
    assert "专职人员" in trail and "previous_date" not in trail and "dated_by" not in trail


@pytest.mark.parametrize("who", ["alice", "acme", "sup"])
def test_agents_enterprises_and_supervisors_cannot_change_a_plan(as_user, world, db, who):
    project = world["project"]
    start = start_of(db, project)
    client, token = as_user(who)
    for path, data in ((f"/projects/{project.code}/plan/milestones",
                        {"name": "x", "planned_on": "2026-04-30", "reason": "r"}),
                       (f"/projects/{project.code}/plan/milestones/{start.id}",
                        {"planned_on": "2026-07-15", "reason": "r"}),
                       (f"/projects/{project.code}/plan/milestones/{start.id}/done",
                        {"achieved_on": "2026-03-02"}),
                       (f"/projects/{project.code}/plan/team", {"promoting_unit": "x"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    assert start_of(db, project).planned_on == start.planned_on
    if who != "acme":
        assert "data-action=\"add_milestone\"" not in client.get(f"/projects/{project.code}").get_data(
            as_text=True)


def test_another_lead_is_refused_by_the_plan_itself(app, world, db, as_user):
    other = f.user(db, "lead2", "lead", groups=("equipment",))
    other.password_hash = password_hash()
    db.commit()
    project = world["project"]
    client, token = as_user("lead2")
    response = client.post(f"/projects/{project.code}/plan/milestones", data={
        "csrf_token": token, "name": "x", "planned_on": "2026-04-30", "reason": "r"})
    assert response.status_code == 403
    assert len(milestones(db, project)) == 5


@pytest.mark.parametrize("data", [
    {"name": "x", "planned_on": "2026-02-30", "reason": "r"},
    {"name": "x", "planned_on": "1900-01-01", "reason": "r"},
    {"name": "", "planned_on": "2026-04-30", "reason": "r"},
    {"name": "x", "planned_on": "2026-04-30", "reason": ""},
    {"name": "x\x00y", "planned_on": "2026-04-30", "reason": "r"},
    {"name": "x" * 201, "planned_on": "2026-04-30", "reason": "r"},
])
def test_bad_input_answers_400_and_changes_nothing(as_user, world, db, data):
    project = world["project"]
    before = fresh(db, select(func.count(AuditEvent.id)).where(AuditEvent.project_id == project.id))
    client, token = as_user("lead")
    response = client.post(f"/projects/{project.code}/plan/milestones", data={"csrf_token": token, **data})
    assert response.status_code == 400
    assert fresh(db, select(func.count(AuditEvent.id)).where(AuditEvent.project_id == project.id)) == before


def test_a_future_completion_an_unknown_staff_member_and_a_foreign_milestone_are_refused(as_user, world, db):
    project, rival = world["project"], world["rival"]
    start, theirs = start_of(db, project), start_of(db, rival)
    client, token = as_user("lead")
    assert client.post(f"/projects/{project.code}/plan/milestones/{start.id}/done", data={
        "csrf_token": token, "achieved_on": "2026-03-03"}).status_code == 400
    assert client.post(f"/projects/{project.code}/plan/team", data={
        "csrf_token": token, "staff": "nobody"}).status_code == 400
    assert client.post(f"/projects/{project.code}/plan/team", data={
        "csrf_token": token, "staff": "acme"}).status_code == 400
    assert client.post(f"/projects/{project.code}/plan/milestones/{theirs.id}/remove", data={
        "csrf_token": token, "reason": "r"}).status_code == 404
    assert len(milestones(db, rival)) == 5 and start_of(db, project).achieved_on is None


def test_the_leadership_view_is_for_leads_supervisors_and_admins(as_user, world, clock):
    for who in ("sup", "lead", "admin"):
        client, _ = as_user(who)
        page = client.get("/baolian").get_data(as_text=True)
        assert 'data-list="plans"' in page and 'data-project="P-ACME-1"' in page, who
    for who in ("alice", "acme"):
        client, _ = as_user(who)
        assert client.get("/baolian").status_code == 403


def test_the_leadership_view_filters_and_pages(as_user, world, clock, db):
    clock.moment = clock.moment.replace(month=6, day=10)  # the start milestones (2 June) are late
    lead = world["users"]["lead"]
    client, _ = as_user("sup")
    page = client.get(f"/baolian?member={lead.id}&status=late").get_data(as_text=True)
    assert set(re.findall(r'data-project="([^"]+)"', page)) == {"P-ACME-1", "P-OTHER-1"}
    assert 'data-status="late"' in page
    assert 'data-project' not in client.get("/baolian?status=on_track").get_data(as_text=True)
    first = client.get("/baolian?limit=1").get_data(as_text=True)
    assert len(re.findall(r'<tr data-project=', first)) == 1
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', first).group(1)
    second = client.get(f"/baolian?limit=1&cursor={cursor}").get_data(as_text=True)
    rows = r'<tr data-project="([^"]+)"'
    assert len(re.findall(rows, second)) == 1 and re.findall(rows, second) != re.findall(rows, first)
    for bad in ("status=sideways", "member=abc", "member=99999999999", "cursor=garbage", "limit=0"):
        assert client.get(f"/baolian?{bad}").status_code == 400, bad


def test_the_leadership_view_in_english(as_user, world):
    client, token = as_user("sup")
    client.post("/lang/en", data={"csrf_token": token, "next": "/baolian"})
    page = client.get("/baolian").get_data(as_text=True)
    assert '<html lang="en">' in page and "On track" in page and "Leadership member" in page
    assert baolian.STATUSES == ("late", "at_risk", "on_track", "done")

"""好差评 and its follow-up: who may rate what and when, the rectification a
bad rating opens for the lead handler, its answer and the overdue sweep.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.factories import at
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import AuditEvent, Notification, Rectification
from workflow.reforms import ratings

MONDAY = at("2026-03-02")


@pytest.fixture
def zone(session):
    lead = f.user(session, "lead_rate", "lead", groups=("equipment",))
    alice = f.user(session, "alice_rate", "agent", groups=("equipment",),
                   department="nature_resources")
    company, rival = f.enterprise(session), f.enterprise(session)
    owner = f.user(session, "acme_rate", "enterprise", company=company)
    colleague = f.user(session, "acme_rate2", "enterprise", company=company)
    stranger = f.user(session, "rival_rate", "enterprise", company=rival)
    sup = f.user(session, "sup_rate", "supervisor")
    project = f.project(session, MONDAY, company=company, lead=lead, code="P-RATE-1")
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=MONDAY)
    ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    for step in (ops.submit_task, ops.approve_task, ops.complete_task):
        step(session, survey.id, actor=alice, now=MONDAY)
    return {"lead": lead, "alice": alice, "owner": owner, "colleague": colleague,
            "stranger": stranger, "sup": sup, "project": project, "survey": survey}


def rate(session, zone, level="satisfied", comment="", *, task="survey", actor="owner",
         now=MONDAY, **kw):
    task_id = zone[task].id if task else None
    return ratings.rate(session, zone["project"].id, task_id=task_id, level=level,
                        comment=comment, actor=zone[actor], now=now, **kw)


def notes(session, user):
    return [n for n in session.query(Notification).filter(Notification.user_id == user.id)]


def test_a_done_item_is_rated_by_its_enterprise_and_a_good_rating_opens_nothing(session, zone):
    rating = rate(session, zone, "very_satisfied", "代办员很专业")
    assert rating.level == "very_satisfied" and rating.task_id == zone["survey"].id
    assert session.query(Rectification).count() == 0
    assert not any(n.kind == "rectification" for n in notes(session, zone["lead"]))


def test_an_item_not_done_yet_cannot_be_rated(session, zone):
    planning = f.task(zone["project"], "u02_planning_conditions")
    with pytest.raises(InvalidTransition):
        ratings.rate(session, zone["project"].id, task_id=planning.id, level="satisfied",
                     comment="", actor=zone["owner"], now=MONDAY)


def test_the_project_is_rated_only_when_completed_or_every_item_closed(session, zone):
    with pytest.raises(InvalidTransition):
        rate(session, zone, task=None)
    ops.terminate_project(session, zone["project"].id, actor=zone["lead"], now=MONDAY,
                          reason="企业放弃")
    rating = rate(session, zone, "basically_satisfied", task=None)
    assert rating.task_id is None


def test_another_enterprise_or_staff_cannot_rate(session, zone):
    for actor in ("stranger", "alice", "lead", "sup"):
        with pytest.raises(NotPermitted):
            rate(session, zone, actor=actor)
    assert ratings.ratings_of(session, zone["project"].id) == []


def test_a_user_rates_an_item_once_and_a_colleague_may_rate_too(session, zone):
    rate(session, zone)
    with pytest.raises(Conflict):
        rate(session, zone, "very_satisfied")
    rate(session, zone, actor="colleague")
    assert len(ratings.ratings_of(session, zone["project"].id)) == 2


def test_the_project_is_rated_once_per_user(session, zone):
    ops.terminate_project(session, zone["project"].id, actor=zone["lead"], now=MONDAY,
                          reason="企业放弃")
    rate(session, zone, task=None)
    with pytest.raises(Conflict):
        rate(session, zone, task=None)


def test_a_bad_rating_needs_a_comment_and_an_unknown_level_is_refused(session, zone):
    for level in ("dissatisfied", "very_dissatisfied"):
        with pytest.raises(ValidationError):
            rate(session, zone, level, "   ")
    with pytest.raises(ValidationError):
        rate(session, zone, "meh", "x")
    assert ratings.ratings_of(session, zone["project"].id) == []


def test_a_bad_rating_opens_a_rectification_for_the_lead_with_a_deadline(session, zone):
    friday = at("2026-04-03")  # 清明 04-04..04-06: the fifth working day is Monday 04-13
    rating = rate(session, zone, "dissatisfied", "多次催办无回复", now=friday)
    row = session.query(Rectification).one()
    assert row.rating_id == rating.id and row.owner_id == zone["lead"].id
    assert row.due_on == clock.add_working_days(date(2026, 4, 3), 5).date == date(2026, 4, 13)
    assert row.closed_at is None
    told = [n for n in notes(session, zone["lead"]) if n.kind == "rectification"]
    assert len(told) == 1 and "多次催办无回复" in told[0].body and "2026-04-13" in told[0].body


def test_the_rectification_deadline_is_configurable(session, zone):
    rate(session, zone, "very_dissatisfied", "态度差", rectify_days=10)
    row = session.query(Rectification).one()
    assert row.due_on == clock.add_working_days(date(2026, 3, 2), 10).date


def test_the_lead_answers_and_closes_the_rectification(session, zone):
    rate(session, zone, "dissatisfied", "材料清单前后不一")
    row = session.query(Rectification).one()
    for actor in ("alice", "owner"):
        with pytest.raises(NotPermitted):
            ratings.answer_rectification(session, row.id, response="已整改", actor=zone[actor],
                                         now=MONDAY)
    with pytest.raises(ValidationError):
        ratings.answer_rectification(session, row.id, response=" ", actor=zone["lead"], now=MONDAY)
    ratings.answer_rectification(session, row.id, response="已统一材料清单并向企业致歉",
                                 actor=zone["lead"], now=at("2026-03-04"))
    assert row.closed_by_id == zone["lead"].id and row.response.startswith("已统一")
    assert ratings.rectifications_of(session, zone["project"].id, open_only=True) == []
    assert any(n.kind == "rectification_answered" for n in notes(session, zone["owner"]))
    with pytest.raises(Conflict):
        ratings.answer_rectification(session, row.id, response="再次", actor=zone["lead"],
                                     now=MONDAY)


def test_the_sweep_reports_an_overdue_rectification_once(session, zone):
    rate(session, zone, "dissatisfied", "超时未办")
    row = session.query(Rectification).one()
    assert ratings.sweep(session, now=at(row.due_on.isoformat())) == []  # due today: not late
    later = at("2026-03-12")
    lines = ratings.sweep(session, now=later)
    assert len(lines) == 1 and "P-RATE-1" in lines[0]
    assert ratings.sweep(session, now=later) == []
    assert ratings.sweep(session, now=at("2026-03-20")) == []
    events = session.query(AuditEvent).filter(AuditEvent.action == "rectification.overdue").all()
    assert len(events) == 1
    for user in ("lead", "sup"):
        assert sum(n.kind == "rectification_overdue" for n in notes(session, zone[user])) == 1


def test_a_closed_rectification_is_never_reported_overdue(session, zone):
    rate(session, zone, "dissatisfied", "超时未办")
    row = session.query(Rectification).one()
    ratings.answer_rectification(session, row.id, response="已处理", actor=zone["lead"],
                                 now=MONDAY)
    assert ratings.sweep(session, now=at("2026-04-01")) == []


def test_the_portal_lists_what_is_left_to_rate(session, zone):
    owner = zone["owner"]
    assert ratings.unrated_tasks(session, zone["project"], owner) == [zone["survey"]]
    assert not ratings.may_rate_project(session, zone["project"], owner)
    rate(session, zone)
    assert ratings.unrated_tasks(session, zone["project"], owner) == []

"""Staff are told of what concerns their own work (issue 12, 2): materials
supplied, extension requested and decided, assigned, reassigned, handed off,
returned by the department, a rating, a signed commitment; in-app always, by
email now, in the daily bundle or never, by webhook or not, as each chose.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from workflow.core import notify
from workflow.core import operations as ops
from workflow.kernel.config import Channels
from workflow.kernel.errors import ValidationError
from workflow.models import Notification, OutboxMessage

MONDAY = at("2026-03-02")


@pytest.fixture
def team(session):
    session.info.update(notify.session_info(Channels(email=True, webhook=True)))
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    bob = f.user(session, "bob", "agent", groups=("equipment",), department="nature_resources")
    for person in (lead, alice, bob):
        person.email = f"{person.username}@zone.example"
    return {"lead": lead, "alice": alice, "bob": bob}


def kinds(session, user) -> list[str]:
    return list(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)
                                .order_by(Notification.id)))


def mails(session, user) -> list[str]:
    return list(session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.channel == "email", OutboxMessage.recipient == user.email)
        .order_by(OutboxMessage.id)))


def started(session, team, project, code="u01_survey"):
    task = f.task(project, code)
    ops.claim_task(session, task.id, actor=team["alice"], now=MONDAY)
    ops.start_task(session, task.id, actor=team["alice"], now=MONDAY)
    return task


def test_the_agent_hears_that_the_enterprise_supplied_materials(session, team):
    project = f.project(session, MONDAY)
    task = started(session, team, project)
    ops.request_materials(session, task.id, [{"code": "a", "name": "宗地界址图"}],
                          deadline=date(2026, 3, 13), actor=team["alice"], now=MONDAY)
    company = f.user(session, "ent", "enterprise", company=project.enterprise)
    ops.supply_materials(session, task.id, actor=company, now=at("2026-03-04"))
    assert kinds(session, team["alice"]) == ["materials_supplied"]
    assert mails(session, team["alice"]) == ["【企业已补正材料】" + notify.item_name(project, task.item_code)]
    assert kinds(session, company) == []  # the enterprise is not told of its own act


def test_extension_requested_tells_the_lead_and_decided_tells_the_agent(session, team):
    project = f.project(session, MONDAY)
    task = started(session, team, project)
    request = ops.request_extension(session, task.id, 5, reason="部门联审", actor=team["alice"],
                                    now=MONDAY)
    assert kinds(session, team["lead"]) == ["extension_requested"]
    assert kinds(session, team["alice"]) == []  # not told of their own request
    ops.decide_extension(session, request.id, approve=False, actor=team["lead"], now=MONDAY,
                         note="材料齐全，无需延期")
    assert kinds(session, team["alice"]) == ["extension_decided"]
    body = session.scalars(select(Notification.body).where(
        Notification.user_id == team["alice"].id)).one()
    assert "未获批准" in body and "材料齐全" in body
    assert kinds(session, team["lead"]) == ["extension_requested"]


def test_assigned_reassigned_and_handed_off_reach_the_new_and_previous_agent(session, team):
    project = f.project(session, MONDAY)
    task = f.task(project, "u01_survey")
    ops.assign_task(session, task.id, team["alice"], actor=team["lead"], now=MONDAY)
    assert kinds(session, team["alice"]) == ["task_assigned"]
    ops.assign_task(session, task.id, team["bob"], actor=team["lead"], now=MONDAY,
                    reason="均衡工作量")
    assert kinds(session, team["bob"]) == ["task_reassigned"]
    assert kinds(session, team["alice"]) == ["task_assigned", "task_reassigned"]
    ops.handoff_task(session, task.id, team["alice"], actor=team["bob"], now=MONDAY,
                     reason="熟悉该地块")
    assert kinds(session, team["alice"])[-1] == "task_reassigned"
    assert kinds(session, team["bob"]) == ["task_reassigned"]  # the handoff was bob's own act
    assert kinds(session, team["lead"]) == []


def test_a_department_return_tells_the_lead_not_the_agent_who_recorded_it(session, team):
    project = f.project(session, MONDAY)
    task = started(session, team, project)
    ops.submit_task(session, task.id, actor=team["alice"], now=MONDAY)
    ops.return_task(session, task.id, actor=team["alice"], now=MONDAY, reason="图纸比例不符")
    assert kinds(session, team["lead"]) == ["department_returned"]
    assert kinds(session, team["alice"]) == []


def test_each_persons_channels_are_honoured(session, team):
    team["alice"].notify_email = "off"
    team["alice"].notify_webhook = False
    team["bob"].notify_email = "digest"
    project = f.project(session, MONDAY)
    task = f.task(project, "u01_survey")
    ops.assign_task(session, task.id, team["alice"], actor=team["lead"], now=MONDAY)
    ops.assign_task(session, task.id, team["bob"], actor=team["lead"], now=MONDAY, reason="调整")
    # In-app always; alice: no mail, no webhook; bob: no mail now, webhook on.
    assert kinds(session, team["alice"]) == ["task_assigned", "task_reassigned"]
    assert mails(session, team["alice"]) == [] and mails(session, team["bob"]) == []
    hooks = list(session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.channel == "webhook")))
    assert "alice" not in hooks and "bob" in hooks


def test_the_daily_bundle_sends_the_days_notices_once(session, team):
    team["bob"].notify_email = "digest"
    project = f.project(session, MONDAY)
    task = f.task(project, "u01_survey")
    ops.assign_task(session, task.id, team["bob"], actor=team["lead"], now=at("2026-03-02", 10))
    ops.start_task(session, task.id, actor=team["bob"], now=at("2026-03-02", 11))
    request = ops.request_extension(session, task.id, 3, reason="等待检测", actor=team["bob"],
                                    now=at("2026-03-02", 11))
    ops.decide_extension(session, request.id, approve=True, actor=team["lead"],
                         now=at("2026-03-02", 15))
    eight_thirty = time(8, 30)
    # Before the bundle time on Tuesday: nothing; after it: one bundle, once.
    assert notify.send_bundles(session, now=at("2026-03-03", 8), at_time=eight_thirty) == []
    tuesday = at("2026-03-03", 9)
    assert notify.send_bundles(session, now=tuesday, at_time=eight_thirty) == ["bob"]
    assert notify.send_bundles(session, now=tuesday, at_time=eight_thirty) == []
    bundle = session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like("bundle:%"))).one()
    assert bundle.recipient == "bob@zone.example"
    assert bundle.subject == "【每日汇总】2026-03-03：2 条通知"
    assert "新分配" in bundle.body and "延期申请已批准" in bundle.body
    # People who chose mail now are not bundled; nor is anyone without email on.
    session.info.update(notify.session_info(Channels()))
    assert notify.send_bundles(session, now=at("2026-03-04", 9), at_time=eight_thirty) == []


def test_a_choice_outside_the_three_is_refused(session, team):
    with pytest.raises(ValidationError):
        notify.set_channels(session, team["alice"], email="sms", webhook=True)
    assert team["alice"].notify_email == "now"


def test_a_signed_commitment_tells_the_lead(session, team):
    from workflow.reforms import commitments as cm

    project = f.project(session, MONDAY, lead=team["lead"])
    owner = f.user(session, "acme", "enterprise", company=project.enterprise)
    filing = f.task(project, "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=team["lead"], now=MONDAY)
    assert kinds(session, team["lead"]) == []  # the lead's own offer
    cm.sign_commitment(session, letter.id, actor=owner, now=MONDAY, signatory="张三", consent=True)
    assert kinds(session, team["lead"]) == ["commitment_signed"]
    body = session.scalars(select(Notification.body).where(
        Notification.user_id == team["lead"].id)).one()
    assert letter.number in body and letter.check_due.isoformat() in body


def test_a_rating_reaches_the_agent_and_the_lead(session, team):
    from workflow.reforms import ratings

    project = f.project(session, MONDAY, lead=team["lead"])
    owner = f.user(session, "acme", "enterprise", company=project.enterprise)
    task = started(session, team, project)
    ops.submit_task(session, task.id, actor=team["alice"], now=MONDAY)
    ops.approve_task(session, task.id, actor=team["alice"], now=MONDAY, reference="左开审〔2026〕1号")
    ops.complete_task(session, task.id, actor=team["alice"], now=MONDAY)
    ratings.rate(session, project.id, task_id=task.id, level="satisfied", comment="",
                 actor=owner, now=MONDAY)
    assert kinds(session, team["alice"]) == ["rating_received"]
    assert kinds(session, team["lead"]) == ["rating_received"]
    assert "满意" in session.scalars(select(Notification.title).where(
        Notification.user_id == team["alice"].id)).one()

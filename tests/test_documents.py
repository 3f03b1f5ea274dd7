"""Agency paperwork (DB14/T 2233—2020): each document's content, what the
suspension, termination and handoff do to the project and its items, and the
numbers. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.factories import at
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.errors import InvalidTransition, NotPermitted, ValidationError
from workflow.kernel.signatures import sha256_of
from workflow.models import AgencyDocument
from workflow.reforms import documents

MONDAY = at("2026-03-02")


@pytest.fixture
def zone(session):
    return make_zone(session)


def make_zone(session):
    """A lead and two agents of the equipment group, an enterprise with its
    user, and its project routed but not yet mandated."""
    lead = f.user(session, "lead_doc", "lead", groups=("equipment",))
    alice = f.user(session, "alice_doc", "agent", groups=("equipment",),
                   department="nature_resources")
    bob = f.user(session, "bob_doc", "agent", groups=("equipment",), department="planning")
    company = f.enterprise(session, "甲科技有限公司")
    company.contact_name, company.contact_phone = "张经理", "0352-1234567"
    owner = f.user(session, "acme_doc", "enterprise", company=company)
    project = f.project(session, MONDAY, company=company, lead=lead, mandate=False,
                        code="P-DOC-1")
    project.investment_wan = 52000
    session.flush()
    return {"lead": lead, "alice": alice, "bob": bob, "company": company, "owner": owner,
            "project": project}


def issued(session, zone, now=MONDAY):
    """The lead side issues the 委托书; it waits for the enterprise's signature."""
    return documents.mandate_with_document(session, zone["project"].id, actor=zone["lead"],
                                           now=now)


def sign(session, document, owner, now=MONDAY, **overrides):
    """The enterprise signs in the portal what it was shown."""
    answer = {"signatory": "张经理", "consent": True,
              "shown_sha256": sha256_of(documents.document_text(document)),
              **overrides}
    return documents.sign_document(session, document.id, actor=owner, now=now, **answer)


def mandated(session, zone):
    """Issued and signed: the approvals begin."""
    return sign(session, issued(session, zone), zone["owner"])


def work(session, task, agent, now=MONDAY):
    ops.claim_task(session, task.id, actor=agent, now=now)
    ops.start_task(session, task.id, actor=agent, now=now)


def test_the_mandate_lists_the_parties_and_every_item_in_scope(session, zone):
    document = mandated(session, zone)
    project = zone["project"]
    data = document.data
    assert project.stage == "approving" and len(project.tasks) > 20
    assert document.kind == "mandate" and document.number == "左开代委〔2026〕0001号"
    assert data["title"] == "代办服务委托书" and data["standard"] == "DB14/T 2233—2020"
    assert data["enterprise"] == {"name": "甲科技有限公司",
                                  "credit_code": zone["company"].credit_code,
                                  "contact_name": "张经理", "contact_phone": "0352-1234567"}
    assert data["trustee"].startswith("左云经济技术开发区")
    assert data["project"]["code"] == "P-DOC-1" and data["project"]["investment_wan"] == 52000
    assert data["project"]["lead"]["username"] == "lead_doc"
    assert data["project"]["group_name"] and data["project"]["industry_name"] == "装备制造"
    # Nobody has taken an item yet: the mandate names the group's agents.
    assert [a["username"] for a in data["agents"]] == ["alice_doc", "bob_doc"]
    assert [i["code"] for i in data["items"]] == data["scope"]
    assert {i["code"] for i in data["items"]} == {t.item_code for t in project.tasks}
    survey = next(i for i in data["items"] if i["code"] == "u01_survey")
    assert survey["name"] == "地形图测绘及土地勘测定界"
    assert survey["department_name"] and survey["limit"] == {"amount": 15, "unit": "working_days"}
    assert document.sha256 == documents.content_hash(data) and documents.verify(document)


def test_a_changed_snapshot_no_longer_verifies(session, zone):
    document = mandated(session, zone)
    document.data = {**document.data, "enterprise": {"name": "冒名公司"}}
    assert not documents.verify(document)


def test_the_mandate_is_issued_once_and_only_for_a_mandated_project(session, zone):
    with pytest.raises(InvalidTransition):
        documents.issue_document(session, zone["project"].id, "mandate", actor=zone["lead"],
                                 now=MONDAY)
    mandated(session, zone)
    with pytest.raises(InvalidTransition):
        documents.issue_document(session, zone["project"].id, "mandate", actor=zone["lead"],
                                 now=MONDAY)


def test_the_engine_operations_issue_their_document_whoever_calls_them(session, zone):
    """One door: the bare engine operations (what the project page's buttons,
    the API and the sweeps call) issue the 委托书 and the slips themselves."""
    project = zone["project"]
    ops.mandate_project(session, project.id, actor=zone["lead"], now=MONDAY)
    [mandate] = documents.documents_of(session, project.id, "mandate")
    assert len(mandate.data["items"]) == len(project.tasks)
    ops.suspend_project(session, project.id, actor=zone["lead"], now=MONDAY, reason="资金未到位")
    [slip] = documents.documents_of(session, project.id, "suspension")
    assert slip.data["reason"] == "资金未到位"
    ops.terminate_project(session, project.id, actor=zone["lead"], now=MONDAY, reason="企业放弃")
    [end] = documents.documents_of(session, project.id, "termination")
    assert {i["code"] for i in end.data["items"]} == {t.item_code for t in project.tasks}


def test_a_refused_lifecycle_change_issues_no_document(session, zone):
    project = zone["project"]
    ops.mandate_project(session, project.id, actor=zone["lead"], now=MONDAY)
    with pytest.raises(ValidationError):
        ops.suspend_project(session, project.id, actor=zone["lead"], now=MONDAY, reason="  ")
    assert documents.documents_of(session, project.id, "suspension") == []
    assert project.stage != "suspended"


def test_an_intention_dropped_before_any_mandate_gets_no_slip(session, zone):
    def intention(code: str):
        return ops.create_project(session, code=code, name="意向项目", enterprise=f.enterprise(session),
                                  industry="equipment_manufacturing", actor=None, now=MONDAY,
                                  stage="intention")
    dropped = intention("INT-DROPPED")
    ops.terminate_project(session, dropped.id, actor=None, now=MONDAY, reason="企业未落地")
    assert dropped.stage == "terminated" and documents.documents_of(session, dropped.id) == []
    waiting = intention("INT-WAITING")
    with pytest.raises(InvalidTransition, match="no mandate"):
        documents.suspend_with_slip(session, waiting.id, reason="暂缓", actor=zone["lead"],
                                    now=MONDAY)
    assert waiting.stage == "intention"


def test_a_project_mandated_before_the_paperwork_gets_its_mandate_document(session, zone):
    ops.mandate_project(session, zone["project"].id, actor=zone["lead"], now=MONDAY)
    for old in documents.documents_of(session, zone["project"].id):  # data from before
        session.delete(old)
    session.flush()
    document = documents.issue_document(session, zone["project"].id, "mandate",
                                        actor=zone["lead"], now=MONDAY)
    assert document.kind == "mandate" and len(document.data["items"]) == len(zone["project"].tasks)


def test_only_the_lead_side_issues_documents(session, zone):
    mandated(session, zone)
    for actor in (zone["alice"], zone["owner"]):
        with pytest.raises(NotPermitted):
            documents.suspend_with_slip(session, zone["project"].id, reason="资金未到位",
                                        actor=actor, now=MONDAY)
    assert zone["project"].stage == "approving"


def test_numbers_run_per_kind_and_year_without_gaps(session, zone):
    first = mandated(session, zone)
    other = f.project(session, MONDAY, lead=zone["lead"], mandate=False, code="P-DOC-2")
    second = documents.mandate_with_document(session, other.id, actor=zone["lead"], now=MONDAY)
    slip = documents.suspend_with_slip(session, other.id, reason="企业申请暂缓", actor=zone["lead"],
                                       now=MONDAY)
    later = f.project(session, at("2027-01-05"), lead=zone["lead"], mandate=False, code="P-DOC-3")
    next_year = documents.mandate_with_document(session, later.id, actor=zone["lead"],
                                                now=at("2027-01-05"))
    assert [first.number, second.number] == ["左开代委〔2026〕0001号", "左开代委〔2026〕0002号"]
    assert slip.number == "左开代中〔2026〕0001号"
    assert next_year.number == "左开代委〔2027〕0001号"
    assert documents.next_number(session, "mandate", 2026) == "左开代委〔2026〕0003号"
    numbers = [d.number for d in session.query(AgencyDocument)]
    assert len(numbers) == len(set(numbers)) == 4


def test_the_suspension_slip_has_the_reason_and_every_clock_pauses(session, zone):
    mandated(session, zone)
    project = zone["project"]
    survey = f.task(project, "u01_survey")
    work(session, survey, zone["alice"])
    running = [t for t in project.tasks if t.released_on is not None]
    assert len(running) >= 2  # the survey and the filing were released at the mandate
    slip = documents.suspend_with_slip(session, project.id, reason="企业融资方案调整",
                                       actor=zone["lead"], now=at("2026-03-03"))
    assert project.stage == "suspended"
    assert all(t.state == "suspended" for t in project.tasks)
    assert all(t.paused_since == date(2026, 3, 3) for t in running)
    assert slip.kind == "suspension" and slip.data["reason"] == "企业融资方案调整"
    assert slip.data["suspended_on"] == "2026-03-03"
    listed = {i["code"]: i for i in slip.data["items"]}
    assert set(listed) == {t.item_code for t in project.tasks}
    assert listed["u01_survey"]["suspended_from"] == "in_progress"
    assert listed["u01_survey"]["paused_since"] == "2026-03-03"


def test_resuming_adds_the_paused_working_days_to_each_clock(session, zone):
    mandated(session, zone)
    project = zone["project"]
    survey = f.task(project, "u01_survey")
    work(session, survey, zone["alice"])
    due_before = survey.due_on
    documents.suspend_with_slip(session, project.id, reason="等待规划调整", actor=zone["lead"],
                                now=at("2026-03-03"))
    ops.resume_project(session, project.id, actor=zone["lead"], now=at("2026-03-10"))
    assert survey.state == "in_progress" and survey.paused_since is None
    assert survey.service_paused_days == 5  # 03-04 .. 03-10, on the agent's service clock
    assert survey.due_on == clock.add_working_days(due_before, 5).date


def test_the_termination_slip_terminates_and_lists_every_open_item(session, zone):
    mandated(session, zone)
    project = zone["project"]
    filing = f.task(project, "project_filing")
    work(session, filing, zone["bob"])
    for step in (ops.submit_task, ops.approve_task, ops.complete_task):
        step(session, filing.id, actor=zone["bob"], now=MONDAY)
    slip = documents.terminate_with_slip(session, project.id, reason="企业放弃投资",
                                         actor=zone["lead"], now=at("2026-03-04"))
    assert project.stage == "terminated"
    assert filing.state == "done"
    others = [t for t in project.tasks if t is not filing]
    assert all(t.state == "terminated" and t.closed_on == date(2026, 3, 4) for t in others)
    assert slip.data["reason"] == "企业放弃投资" and slip.data["terminated_on"] == "2026-03-04"
    assert {i["code"] for i in slip.data["items"]} == {t.item_code for t in others}
    assert [i["code"] for i in slip.data["closed_before"]] == ["project_filing"]


def test_a_suspended_project_can_be_terminated_with_its_slip(session, zone):
    mandated(session, zone)
    project = zone["project"]
    documents.suspend_with_slip(session, project.id, reason="暂缓", actor=zone["lead"], now=MONDAY)
    slip = documents.terminate_with_slip(session, project.id, reason="终止合作",
                                         actor=zone["lead"], now=at("2026-03-05"))
    assert len(slip.data["items"]) == len(project.tasks)
    assert all(t.state == "terminated" for t in project.tasks)


def test_a_handoff_issues_a_continuation_naming_both_agents_and_the_reason(session, zone):
    mandated(session, zone)
    survey = f.task(zone["project"], "u01_survey")
    work(session, survey, zone["alice"])
    document = documents.handoff_with_continuation(session, survey.id, zone["bob"],
                                                   reason="alice 调岗", actor=zone["alice"],
                                                   now=at("2026-03-03"))
    assert survey.assignee_id == zone["bob"].id and survey.state == "in_progress"
    assert document.kind == "continuation" and document.number == "左开代续〔2026〕0001号"
    data = document.data
    assert data["change"] == "handoff" and data["reason"] == "alice 调岗"
    assert data["previous_agent"]["username"] == "alice_doc"
    assert data["new_agent"]["username"] == "bob_doc"
    assert [i["code"] for i in data["items"]] == ["u01_survey"]
    assert data["items"][0]["agent"] == "bob_doc"


def test_a_lead_reassignment_also_issues_the_continuation(session, zone):
    mandated(session, zone)
    survey = f.task(zone["project"], "u01_survey")
    work(session, survey, zone["alice"])
    document = documents.handoff_with_continuation(session, survey.id, zone["bob"],
                                                   reason="均衡工作量", actor=zone["lead"],
                                                   now=MONDAY)
    assert survey.assignee_id == zone["bob"].id
    assert document.data["previous_agent"]["username"] == "alice_doc"


def test_a_handoff_needs_a_reason_and_an_agent_to_hand_over_from(session, zone):
    mandated(session, zone)
    survey = f.task(zone["project"], "u01_survey")
    with pytest.raises(ValidationError):
        documents.handoff_with_continuation(session, survey.id, zone["bob"], reason="换人",
                                            actor=zone["lead"], now=MONDAY)
    work(session, survey, zone["alice"])
    with pytest.raises(ValidationError):
        documents.handoff_with_continuation(session, survey.id, zone["bob"], reason=" ",
                                            actor=zone["alice"], now=MONDAY)
    assert survey.assignee_id == zone["alice"].id
    assert documents.documents_of(session, zone["project"].id, "continuation") == []


def test_a_scope_change_takes_effect_only_once_the_enterprise_signs_it(session, zone):
    mandate = mandated(session, zone)
    project, lead, owner = zone["project"], zone["lead"], zone["owner"]
    everything = documents.current_scope(session, project)
    power = f.task(project, "power_connection")
    removed = documents.change_scope(session, project.id, remove=["power_connection"],
                                     reason="企业自行办理供电接入", actor=lead, now=MONDAY)
    assert removed.status == "awaiting" and removed.data["change"] == "scope"
    assert removed.number == "左开代续〔2026〕0001号" and removed.data["mandate"] == mandate.number
    assert [i["code"] for i in removed.data["removed"]] == ["power_connection"]
    assert "power_connection" not in removed.data["scope"]
    assert "企业自行办理供电接入" in removed.data["text"] and "供电" in removed.data["text"]
    # Until the enterprise signs, the signed mandate still covers the item.
    assert documents.current_scope(session, project) == everything
    assert power.state == "blocked"
    with pytest.raises(InvalidTransition, match="one change at a time"):
        documents.change_scope(session, project.id, remove=["u05_seismic"], reason="x",
                               actor=lead, now=MONDAY)
    sign(session, removed, owner, now=at("2026-03-03"))
    assert documents.current_scope(session, project) == removed.data["scope"]
    assert power.state == "terminated" and power.closed_on == date(2026, 3, 3)
    with pytest.raises(ValidationError, match="terminated item"):
        documents.change_scope(session, project.id, add=["power_connection"], reason="重新委托",
                               actor=lead, now=MONDAY)
    with pytest.raises(ValidationError):
        documents.change_scope(session, project.id, add=["u01_survey"], reason="已在范围内",
                               actor=lead, now=MONDAY)
    with pytest.raises(ValidationError):
        documents.change_scope(session, project.id, remove=["no_such_item"], reason="x",
                               actor=lead, now=MONDAY)
    assert len(documents.documents_of(session, project.id, "continuation")) == 1


def drive_to_the_end(session, project, agent, lead):
    """Finish every item with an approval number (one covered by a regional
    evaluation), advancing the project when it waits for a manual step."""
    ops.cover_task(session, f.task(project, "u03_mineral").id, reference="左开评〔2025〕3号",
                   kind="evaluation", actor=lead, now=MONDAY)
    for _round in range(20):
        ready = [t for t in project.tasks if t.state == "ready"]
        if not ready:
            if all(t.state in ("done", "covered", "terminated") for t in project.tasks):
                return
            on_request = [t for t in project.tasks
                          if "request_item" in ops.available_actions(t, lead)]
            for task in on_request:  # 竣工验收: applied for once the building stands
                ops.request_item(session, task.id, actor=lead, now=MONDAY)
            if not on_request:
                ops.advance_project(session, project.id, actor=lead, now=MONDAY)
            continue
        for task in ready:
            work(session, task, agent)
            ops.submit_task(session, task.id, actor=agent, now=MONDAY)
            ops.approve_task(session, task.id, actor=agent, now=MONDAY,
                             reference=f"左审〔2026〕{task.id}号")
            ops.complete_task(session, task.id, actor=agent, now=MONDAY)
    raise AssertionError("the project did not finish")


def test_the_completion_slip_lists_each_result_handed_over(session, zone):
    mandated(session, zone)
    project = zone["project"]
    with pytest.raises(InvalidTransition):
        documents.issue_completion(session, project.id, actor=zone["lead"], now=MONDAY)
    drive_to_the_end(session, project, zone["alice"], zone["lead"])
    slip = documents.issue_completion(session, project.id, actor=zone["lead"],
                                      now=at("2026-06-01"))
    assert slip.number == "左开代结〔2026〕0001号" and slip.data["handed_over_on"] == "2026-06-01"
    results = {i["code"]: (i["result_kind"], i["result"]) for i in slip.data["items"]}
    assert set(results) == {t.item_code for t in project.tasks}
    survey = f.task(project, "u01_survey")
    assert results["u01_survey"] == ("approval", f"左审〔2026〕{survey.id}号")
    assert results["u03_mineral"] == ("evaluation", "左开评〔2025〕3号")
    with pytest.raises(InvalidTransition):
        documents.issue_completion(session, project.id, actor=zone["lead"], now=MONDAY)


def test_issuing_a_document_tells_the_enterprise(session, zone):
    from workflow.models import Notification

    document = mandated(session, zone)
    titles = [n.title for n in session.query(Notification)
              .filter(Notification.user_id == zone["owner"].id)]
    assert any("代办服务委托书" in t for t in titles)
    assert document.number in " ".join(
        n.body for n in session.query(Notification).filter(Notification.user_id == zone["owner"].id))


def test_a_number_taken_meanwhile_is_retried_with_the_next_one(session, zone, monkeypatch):
    """A concurrent transaction that committed the same number first makes the
    insert fail on the unique index; the document takes the next number and
    the transaction goes on (simulated: the first guess is a number in use)."""
    first = mandated(session, zone)
    other = f.project(session, MONDAY, lead=zone["lead"], mandate=False, code="P-DOC-9")
    real, guesses = documents.next_number, []

    def stale_then_real(s, kind, year):
        guesses.append(kind)
        return first.number if len(guesses) == 1 else real(s, kind, year)

    monkeypatch.setattr(documents.paperwork, "next_number", stale_then_real)
    second = documents.mandate_with_document(session, other.id, actor=zone["lead"], now=MONDAY)
    assert len(guesses) == 2 and second.number == "左开代委〔2026〕0002号"
    assert other.stage == "mandated" and documents.verify(second)
    assert second.data["text"].startswith("代办服务委托书\n编号：左开代委〔2026〕0002号")

"""The enterprise's mandate (DB14/T 2233, 帮办代办不包办): the 委托书 and a change
of its scope wait for the enterprise's signature (typed name, consent, the
hash of the text shown) or its refusal; a lead handler may record a paper
signature with its scan; agents act on an item only within the signed
mandate, whatever calls the engine; the completion slip covers the
mandate's scope. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from tests.test_documents import MONDAY, drive_to_the_end, issued, make_zone, mandated, sign, work
from workflow.core import operations as ops
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.kernel.signatures import sha256_of
from workflow.models import AgencyDocument, Attachment, AuditEvent, Notification
from workflow.reforms import documents

SCAN = {"original_name": "委托书签字页.pdf", "storage_name": "a" * 32,
        "content_type": "application/pdf", "size": 1234, "sha256": "b" * 64}


@pytest.fixture
def zone(session):
    return make_zone(session)


def events(session, project, action):
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.project_id == project.id, AuditEvent.action == action)))


# -- the signature --------------------------------------------------------------------------

def test_the_mandate_waits_for_the_signature_which_begins_the_approvals(session, zone):
    project, owner = zone["project"], zone["owner"]
    mandate = issued(session, zone)
    assert mandate.status == "awaiting" and project.stage == "mandated"
    assert {t.state for t in project.tasks} == {"blocked"}  # no clock runs yet
    text = mandate.data["text"]
    assert text == documents.document_text(mandate) and "帮办代办不包办" in text
    assert "地形图测绘及土地勘测定界" in text and "签署前，代办员不代为办理" in text
    assert documents.current_scope(session, project) == []
    signed = sign(session, mandate, owner, now=at("2026-03-03"))
    assert signed.status == "signed" and signed.signed_via == "portal"
    assert signed.signatory == "张经理" and signed.signed_on == date(2026, 3, 3)
    assert signed.signed_sha256 == sha256_of(text) and signed.answered_by_id == owner.id
    assert documents.verify(signed)  # the answer lives beside the snapshot, not in it
    assert project.stage == "approving" and f.task(project, "u01_survey").state == "ready"
    assert f.task(project, "u01_survey").released_on == date(2026, 3, 3)  # its service clock starts
    assert documents.current_scope(session, project) == mandate.data["scope"]
    [event] = events(session, project, "document.signed")
    assert event.data["sha256"] == sha256_of(text) and event.data["via"] == "portal"
    told = session.scalars(select(Notification.title).where(
        Notification.user_id == zone["lead"].id)).all()
    assert any("代办服务委托书" in t for t in told)


def test_the_signature_needs_a_name_the_consent_and_the_text_that_was_shown(session, zone):
    mandate = issued(session, zone)
    owner = zone["owner"]
    with pytest.raises(ValidationError, match="signatory"):
        sign(session, mandate, owner, signatory="  ")
    with pytest.raises(ValidationError, match="signatory"):
        sign(session, mandate, owner, signatory="张" * 201)
    for consent in (False, "1", None):
        with pytest.raises(ValidationError, match="Tick the box"):
            sign(session, mandate, owner, consent=consent)
    with pytest.raises(ValidationError, match="read"):
        sign(session, mandate, owner, shown_sha256=None)
    with pytest.raises(Conflict, match="changed since it was shown"):
        sign(session, mandate, owner, shown_sha256=sha256_of("另一份委托书"))
    assert mandate.status == "awaiting" and zone["project"].stage == "mandated"
    assert events(session, zone["project"], "document.signed") == []


def test_only_the_project_s_enterprise_signs_and_only_once(session, zone):
    mandate = issued(session, zone)
    stranger = f.user(session, "stranger_doc", "enterprise", company=f.enterprise(session))
    for actor in (stranger, zone["lead"], zone["alice"]):
        with pytest.raises(NotPermitted):
            sign(session, mandate, actor)
        with pytest.raises(NotPermitted):
            documents.decline_document(session, mandate.id, actor=actor, now=MONDAY, reason="x")
    sign(session, mandate, zone["owner"])
    with pytest.raises(InvalidTransition, match="already signed"):
        sign(session, mandate, zone["owner"])
    with pytest.raises(InvalidTransition, match="already signed"):
        documents.decline_document(session, mandate.id, actor=zone["owner"], now=MONDAY,
                                   reason="改主意")


def test_a_slip_is_not_the_enterprise_s_to_sign(session, zone):
    mandated(session, zone)
    slip = documents.suspend_with_slip(session, zone["project"].id, reason="暂缓",
                                       actor=zone["lead"], now=MONDAY)
    assert slip.status is None
    with pytest.raises(InvalidTransition, match="not the enterprise's to sign"):
        sign(session, slip, zone["owner"])


def test_a_declined_mandate_keeps_the_agents_out_until_a_revised_one_is_signed(session, zone):
    project, owner, lead = zone["project"], zone["owner"], zone["lead"]
    first = issued(session, zone)
    with pytest.raises(ValidationError, match="reason"):
        documents.decline_document(session, first.id, actor=owner, now=MONDAY, reason=" ")
    documents.decline_document(session, first.id, actor=owner, now=MONDAY,
                               reason="供电接入由我公司自行办理，请调整代办范围")
    assert first.status == "declined" and first.decline_reason.startswith("供电接入")
    assert project.stage == "mandated" and documents.current_scope(session, project) == []
    [event] = events(session, project, "document.declined")
    assert event.public and "自行办理" in event.data["reason"]
    told = session.scalars(select(Notification.body).where(
        Notification.user_id == lead.id)).all()
    assert any("拒绝" in body for body in told)
    # The lead issues a revised mandate, without the item the enterprise keeps.
    codes = [t.item_code for t in project.tasks if t.item_code != "power_connection"]
    second = documents.issue_document(session, project.id, "mandate", actor=lead, now=MONDAY,
                                      scope=codes)
    assert second.number == "左开代委〔2026〕0002号" and second.status == "awaiting"
    with pytest.raises(InvalidTransition, match="already issued"):
        documents.issue_document(session, project.id, "mandate", actor=lead, now=MONDAY)
    sign(session, second, owner)
    assert project.stage == "approving"
    assert "power_connection" not in documents.current_scope(session, project)


# -- the guard: agents act only within the signed mandate ----------------------------------

def test_agents_cannot_act_on_the_items_before_the_mandate_is_signed(session, zone):
    """Through the bare engine operations (what the pages, the API and the CLI
    call): the approvals began at the mandate, the items are in the queue, but
    only routing and coaching are open until the enterprise signs."""
    project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                        signed=False, code="P-DOC-UNSIGNED")
    survey = f.task(project, "u01_survey")
    alice, lead = zone["alice"], zone["lead"]
    assert survey.state == "ready"
    ops.claim_task(session, survey.id, actor=alice, now=MONDAY)  # routing: allowed
    ops.add_comment(session, project.id, "请准备宗地界址图", actor=alice, now=MONDAY, public=True)
    for actor in (alice, lead):
        with pytest.raises(InvalidTransition, match="has not signed the mandate") as refused:
            ops.start_task(session, survey.id, actor=actor, now=MONDAY)
        assert refused.value.details["refusal"] == "mandate_unsigned"  # told in words
    assert survey.state == "assigned"
    [waiting] = documents.documents_of(session, project.id, "mandate")
    sign(session, waiting, zone["owner"])
    ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    assert survey.state == "in_progress"


def test_the_guard_refuses_every_acting_step_and_no_routing_step(session, zone):
    project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                        signed=False, code="P-DOC-GUARD")
    survey, alice = f.task(project, "u01_survey"), zone["alice"]
    assert documents.ACTING_EVENTS == {
        "start", "request_materials", "supply_materials", "submit", "approve",
        "department_return", "rework", "complete", "request_extension"}
    for event in sorted(documents.ACTING_EVENTS):
        with pytest.raises(InvalidTransition):
            documents.require_signed_mandate(session, survey, actor=alice, event=event)
    for event in ("claim", "assign", "reassign", "unassign", "cover", "release", "suspend",
                  "resume", "terminate", "decide_extension"):
        documents.require_signed_mandate(session, survey, actor=alice, event=event)
    # The enterprise's own steps (it supplies its own materials) are its own.
    documents.require_signed_mandate(session, survey, actor=zone["owner"],
                                     event="supply_materials")


def test_an_item_outside_the_signed_scope_is_acted_on_once_a_signed_change_adds_it(session, zone):
    project, owner, lead, alice = zone["project"], zone["owner"], zone["lead"], zone["alice"]
    first = issued(session, zone)
    documents.decline_document(session, first.id, actor=owner, now=MONDAY, reason="先不办测绘")
    codes = [t.item_code for t in project.tasks if t.item_code != "u01_survey"]
    sign(session, documents.issue_document(session, project.id, "mandate", actor=lead,
                                           now=MONDAY, scope=codes), owner)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=alice, now=MONDAY)
    with pytest.raises(InvalidTransition, match="outside the signed mandate") as refused:
        ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    assert refused.value.details["refusal"] == "outside_mandate"
    assert refused.value.details["item_zh"].startswith("地形图测绘")
    change = documents.change_scope(session, project.id, add=["u01_survey"],
                                    reason="企业同意委托测绘", actor=lead, now=MONDAY)
    with pytest.raises(InvalidTransition, match="outside the signed mandate"):
        ops.start_task(session, survey.id, actor=alice, now=MONDAY)  # not signed yet
    sign(session, change, owner)
    ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    assert survey.state == "in_progress"


def test_a_project_mandated_before_the_paperwork_keeps_its_agents(session, zone):
    """Old data: a project with items but no mandate document at all was
    mandated when the mandate was the enterprise's signature."""
    project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                        signed=False, code="P-DOC-OLD")
    for document in documents.documents_of(session, project.id):
        session.delete(document)
    session.flush()
    assert documents.signed_scope(session, project) is None
    work(session, f.task(project, "u01_survey"), zone["alice"])
    assert f.task(project, "u01_survey").state == "in_progress"


# -- the paper signature --------------------------------------------------------------------

def test_a_lead_records_a_paper_signature_with_its_scan(session, zone):
    project, lead = zone["project"], zone["lead"]
    mandate = issued(session, zone)
    paper = {"signatory": "李总", "signed_on": date(2026, 3, 3), "scan": SCAN}
    for actor in (zone["alice"], zone["owner"], f.user(session, "sup_doc", "supervisor"),
                  f.user(session, "admin_doc", "admin"),
                  f.user(session, "lead_food", "lead", groups=("food",))):
        with pytest.raises(NotPermitted):
            documents.record_paper_signature(session, mandate.id, actor=actor,
                                             now=at("2026-03-04"), **paper)
    with pytest.raises(ValidationError, match="scan"):
        documents.record_paper_signature(session, mandate.id, actor=lead, now=at("2026-03-04"),
                                         **{**paper, "scan": None})
    for day in (date(2026, 3, 1), date(2026, 3, 5)):  # before the issue, after today
        with pytest.raises(ValidationError, match="between"):
            documents.record_paper_signature(session, mandate.id, actor=lead,
                                             now=at("2026-03-04"), **{**paper, "signed_on": day})
    assert mandate.status == "awaiting" and session.scalars(select(Attachment)).all() == []
    documents.record_paper_signature(session, mandate.id, actor=lead, now=at("2026-03-04"),
                                     **paper)
    assert mandate.status == "signed" and mandate.signed_via == "paper"
    assert mandate.signatory == "李总" and mandate.signed_on == date(2026, 3, 3)
    assert mandate.answered_by_id == lead.id
    assert mandate.signed_sha256 == sha256_of(mandate.data["text"])
    scan = session.get(Attachment, mandate.scan_id)
    assert scan.project_id == project.id and scan.sha256 == "b" * 64
    assert project.stage == "approving"
    [event] = events(session, project, "document.signed")
    assert event.data["via"] == "paper" and event.data["scan"] == "b" * 64


def test_a_change_of_scope_signed_on_paper_removes_its_items(session, zone):
    mandated(session, zone)
    project, lead = zone["project"], zone["lead"]
    change = documents.change_scope(session, project.id, remove=["water_gas_connection"],
                                    reason="企业自行办理供水供气", actor=lead, now=MONDAY)
    documents.record_paper_signature(session, change.id, actor=lead, now=MONDAY,
                                     signatory="李总", signed_on=date(2026, 3, 2), scan=SCAN)
    assert f.task(project, "water_gas_connection").state == "terminated"
    assert "water_gas_connection" not in documents.current_scope(session, project)


# -- the completion slip covers the mandate's scope -----------------------------------------

def test_the_completion_slip_covers_the_items_of_the_mandate_s_scope(session, zone):
    mandated(session, zone)
    project, lead, owner = zone["project"], zone["lead"], zone["owner"]
    change = documents.change_scope(session, project.id,
                                    remove=["power_connection", "water_gas_connection"],
                                    reason="企业自行办理水电气接入", actor=lead, now=MONDAY)
    sign(session, change, owner)
    drive_to_the_end(session, project, zone["alice"], lead)
    assert {t.item_code for t in project.tasks if t.state == "terminated"} == {
        "power_connection", "water_gas_connection"}
    slip = documents.issue_completion(session, project.id, actor=lead, now=at("2026-06-01"))
    listed = [i["code"] for i in slip.data["items"]]
    assert listed == change.data["scope"] and len(listed) == len(project.tasks) - 2
    assert "power_connection" not in listed


def test_no_completion_slip_before_the_mandate_is_signed(session, zone):
    issued(session, zone)
    with pytest.raises(InvalidTransition, match="no signed mandate"):
        documents.issue_completion(session, zone["project"].id, actor=zone["lead"], now=MONDAY)
    assert session.scalars(select(AgencyDocument).where(
        AgencyDocument.kind == "completion")).all() == []

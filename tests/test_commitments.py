"""承诺制, 容缺受理 and credit records on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow.core import clocks
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import AuditEvent, CreditRecord, ItemTask, Notification
from workflow.reforms import commitments as cm

MONDAY = at("2026-03-02")


@pytest.fixture
def zone(session):
    """An equipment-group team, an enterprise with a project, and a rival enterprise."""
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="ecology_env")
    olga = f.user(session, "olga", "agent", groups=("food",), department="ecology_env")
    admin = f.user(session, "admin", "admin")
    acme = f.enterprise(session, "甲科技有限公司")
    rival = f.enterprise(session, "乙制造有限公司")
    owner = f.user(session, "acme", "enterprise", company=acme)
    stranger = f.user(session, "rival", "enterprise", company=rival)
    project = f.project(session, MONDAY, company=acme, lead=lead, code="P-ACME-1")
    project.name = "风电装备制造基地项目"
    second = f.project(session, MONDAY, company=acme, lead=lead, code="P-ACME-2")
    session.flush()
    return {"lead": lead, "alice": alice, "olga": olga, "admin": admin, "owner": owner,
            "stranger": stranger, "project": project, "second": second, "acme": acme}


def task_of(session, project, code) -> ItemTask:
    task = f.task(project, code)
    session.refresh(task)
    return task


def notes(session, user, kind) -> list[Notification]:
    return list(session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind == kind)))


def records(session, enterprise) -> list[CreditRecord]:
    return list(session.scalars(select(CreditRecord).where(
        CreditRecord.enterprise_id == enterprise.id).order_by(CreditRecord.id)))


def signed_letter(session, zone, project=None, now=MONDAY):
    project = project or zone["project"]
    filing = task_of(session, project, "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=now)
    cm.sign_commitment(session, letter.id, actor=zone["owner"], now=now, signatory="张三",
                       consent=True)
    return letter


def serious_record(session, zone):
    """A broken commitment on the second project: a serious record on acme."""
    letter = signed_letter(session, zone, zone["second"])
    cm.record_check(session, letter.id, outcome="broken", actor=zone["lead"],
                    now=at("2026-03-10"), note="未按备案内容建设")
    return letter


# -- 承诺制: the commitment path -------------------------------------------------------------

def test_offer_sign_covers_the_item_with_the_letter_number_and_releases_dependants(session, zone):
    project, owner = zone["project"], zone["owner"]
    filing = task_of(session, project, "project_filing")
    assert filing.state == "ready"
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=MONDAY, check_days=30)
    assert letter.status == "issued" and letter.number == "左开承〔2026〕0001号"
    for fact in ("甲科技有限公司", zone["acme"].credit_code, "P-ACME-1", "风电装备制造基地项目",
                 "企业投资项目备案", "行政审批服务管理局", "产业结构调整指导目录",
                 "企业投资项目核准和备案管理条例", "营业执照", "30个工作日"):
        assert fact in letter.text, fact
    assert notes(session, owner, "commitment_offered")

    cm.sign_commitment(session, letter.id, actor=owner, now=at("2026-03-03"), signatory="张三",
                       consent=True, shown_sha256=cm.sha256_of(letter.text))
    assert letter.status == "signed" and letter.signature == "张三"
    assert letter.signed_by_id == owner.id and letter.text_sha256 == cm.sha256_of(letter.text)
    assert letter.check_due == clock.add_working_days(date(2026, 3, 3), 30).date
    filing = task_of(session, project, "project_filing")
    assert filing.state == "covered" and filing.covered_ref == "commitment: 左开承〔2026〕0001号"
    assert task_of(session, project, "eia_approval").state == "ready"
    assert task_of(session, project, "energy_review").state == "ready"
    signed = session.scalar(select(AuditEvent).where(AuditEvent.project_id == project.id,
                                                     AuditEvent.action == "commitment.signed"))
    assert signed.actor_id == owner.id and signed.data["signatory"] == "张三"
    cover = session.scalar(select(AuditEvent).where(AuditEvent.project_id == project.id,
                                                    AuditEvent.action == "task.cover"))
    assert cover.actor_id is None and cover.data["reference"] == letter.number


def test_letter_numbers_count_up_within_the_year(session, zone):
    first = cm.offer_commitment(session, task_of(session, zone["project"], "project_filing").id,
                                actor=zone["lead"], now=MONDAY)
    second = cm.offer_commitment(session, task_of(session, zone["second"], "project_filing").id,
                                 actor=zone["lead"], now=MONDAY)
    assert (first.number, second.number) == ("左开承〔2026〕0001号", "左开承〔2026〕0002号")


def test_only_committable_items_and_the_right_staff_may_offer(session, zone):
    survey = task_of(session, zone["project"], "u01_survey")
    with pytest.raises(InvalidTransition):
        cm.offer_commitment(session, survey.id, actor=zone["lead"], now=MONDAY)
    filing = task_of(session, zone["project"], "project_filing")
    for outsider in (zone["alice"], zone["olga"], zone["owner"]):  # not the task's agent
        with pytest.raises(NotPermitted):
            cm.offer_commitment(session, filing.id, actor=outsider, now=MONDAY)
    ops.claim_task(session, filing.id, actor=zone["alice"], now=MONDAY)
    letter = cm.offer_commitment(session, filing.id, actor=zone["alice"], now=MONDAY)
    with pytest.raises(Conflict):  # one letter waiting at a time
        cm.offer_commitment(session, filing.id, actor=zone["alice"], now=MONDAY)
    cm.withdraw_commitment(session, letter.id, actor=zone["alice"], now=MONDAY, reason="改为正常办理")
    assert letter.status == "withdrawn"
    with pytest.raises(InvalidTransition):
        cm.sign_commitment(session, letter.id, actor=zone["owner"], now=MONDAY, signatory="张三",
                           consent=True)


def test_another_enterprise_cannot_sign_and_nothing_changes(session, zone):
    filing = task_of(session, zone["project"], "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=MONDAY)
    for actor in (zone["stranger"], zone["lead"]):
        with pytest.raises(NotPermitted):
            cm.sign_commitment(session, letter.id, actor=actor, now=MONDAY, signatory="李四",
                               consent=True)
    assert letter.status == "issued" and task_of(session, zone["project"], "project_filing").state == "ready"


@pytest.mark.parametrize("signatory, consent", [("", True), ("   ", True), ("张三", False)])
def test_signing_needs_a_typed_name_and_explicit_consent(session, zone, signatory, consent):
    filing = task_of(session, zone["project"], "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=MONDAY)
    with pytest.raises(ValidationError):
        cm.sign_commitment(session, letter.id, actor=zone["owner"], now=MONDAY,
                           signatory=signatory, consent=consent)
    assert letter.status == "issued"


def test_signing_what_was_not_shown_is_refused(session, zone):
    filing = task_of(session, zone["project"], "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=MONDAY)
    with pytest.raises(Conflict):
        cm.sign_commitment(session, letter.id, actor=zone["owner"], now=MONDAY, signatory="张三",
                           consent=True, shown_sha256="0" * 64)


def test_a_serious_record_bars_offering_and_signing(session, zone):
    filing = task_of(session, zone["project"], "project_filing")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=MONDAY)
    serious_record(session, zone)
    assert cm.has_serious_record(session, zone["acme"].id)
    with pytest.raises(NotPermitted, match="serious credit record"):
        cm.sign_commitment(session, letter.id, actor=zone["owner"], now=at("2026-03-10"),
                           signatory="张三", consent=True)
    cm.withdraw_commitment(session, letter.id, actor=zone["lead"], now=at("2026-03-10"), reason="失信")
    with pytest.raises(NotPermitted):
        cm.offer_commitment(session, filing.id, actor=zone["lead"], now=at("2026-03-10"))
    assert task_of(session, zone["project"], "project_filing").state == "ready"


# -- the compliance check --------------------------------------------------------------------

def test_kept_closes_the_check_without_a_credit_record(session, zone):
    letter = signed_letter(session, zone)
    cm.record_check(session, letter.id, outcome="kept", actor=zone["alice"], now=at("2026-04-01"))
    assert letter.status == "kept" and letter.checked_by_id == zone["alice"].id
    assert records(session, zone["acme"]) == []
    assert notes(session, zone["owner"], "commitment_checked")


def test_rectify_needs_a_date_and_a_later_check_re_decides(session, zone):
    letter = signed_letter(session, zone)
    with pytest.raises(ValidationError):
        cm.record_check(session, letter.id, outcome="rectify", actor=zone["lead"],
                        now=at("2026-04-01"), note="缺少在线报送")
    cm.record_check(session, letter.id, outcome="rectify", actor=zone["lead"], now=at("2026-04-01"),
                    note="未在平台报送开工信息", rectify_by=date(2026, 4, 20))
    assert (letter.status, letter.rectify_by, letter.check_due) == (
        "rectifying", date(2026, 4, 20), date(2026, 4, 20))
    assert records(session, zone["acme"]) == []
    cm.record_check(session, letter.id, outcome="kept", actor=zone["lead"], now=at("2026-04-21"),
                    note="已整改")
    assert letter.status == "kept"
    with pytest.raises(InvalidTransition):  # decided: no further check
        cm.record_check(session, letter.id, outcome="broken", actor=zone["lead"],
                        now=at("2026-04-22"), note="x")


@pytest.mark.parametrize("outcome, source", [("broken", "commitment_broken"),
                                             ("false", "commitment_false")])
def test_broken_or_false_commitment_creates_a_serious_credit_record(session, zone, outcome, source):
    letter = signed_letter(session, zone)
    with pytest.raises(ValidationError):  # a reason is required
        cm.record_check(session, letter.id, outcome=outcome, actor=zone["lead"], now=at("2026-04-01"))
    cm.record_check(session, letter.id, outcome=outcome, actor=zone["lead"], now=at("2026-04-01"),
                    note="备案信息与实际不符")
    assert letter.status == outcome
    [record] = records(session, zone["acme"])
    assert (record.severity, record.source, record.reference) == ("serious", source, letter.number)
    assert record.project_id == zone["project"].id
    assert cm.has_serious_record(session, zone["acme"].id)
    assert notes(session, zone["owner"], "credit_recorded")


def test_only_staff_of_the_group_record_the_check(session, zone):
    letter = signed_letter(session, zone)
    for outsider in (zone["olga"], zone["owner"]):
        with pytest.raises(NotPermitted):
            cm.record_check(session, letter.id, outcome="kept", actor=outsider, now=at("2026-04-01"))
    with pytest.raises(ValidationError):
        cm.record_check(session, letter.id, outcome="fine", actor=zone["lead"], now=at("2026-04-01"))
    assert letter.status == "signed"


def test_an_overdue_compliance_check_is_reported_to_the_lead_once(session, zone):
    letter = signed_letter(session, zone)
    assert cm.sweep(session, now=at("2026-03-20")) == []  # not due yet
    assert cm.sweep(session, now=at(letter.check_due.isoformat())) == []  # due today: not late
    day_after = at(clock.add_working_days(letter.check_due, 1).date.isoformat())
    lines = cm.sweep(session, now=day_after)
    assert len(lines) == 1 and letter.number in lines[0]
    assert len(notes(session, zone["lead"], "commitment_check_overdue")) == 1
    assert cm.sweep(session, now=day_after) == []
    assert cm.sweep(session, now=at("2026-12-01")) == []
    assert len(notes(session, zone["lead"], "commitment_check_overdue")) == 1


def test_a_recorded_check_is_not_reported_overdue(session, zone):
    letter = signed_letter(session, zone)
    cm.record_check(session, letter.id, outcome="kept", actor=zone["lead"], now=at("2026-04-01"))
    assert cm.sweep(session, now=at("2026-12-01")) == []


# -- 容缺受理 ----------------------------------------------------------------------------------

@pytest.fixture
def eia(session, zone):
    """The EIA approval, released (filing done by commitment) and claimed by alice."""
    signed_letter(session, zone)
    task = task_of(session, zone["project"], "eia_approval")
    ops.claim_task(session, task.id, actor=zone["alice"], now=MONDAY)
    return task_of(session, zone["project"], "eia_approval")


def test_accept_with_gaps_starts_the_item_and_records_the_promise(session, zone, eia):
    # The promise may not outlast the item's legal limit: 30 calendar days from the
    # release on 2 March (the department's clock has not started yet).
    assert clocks.legal_due(eia, ops.definition_for(eia.project).items["eia_approval"]) == \
        date(2026, 4, 1)
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=zone["alice"], now=MONDAY)
    assert gap.status == "open" and gap.missing["materials"][0]["code"] == "authorisation"
    assert task_of(session, zone["project"], "eia_approval").state == "in_progress"
    assert "法定代表人授权委托书" in gap.promise_text and "2026-03-20" in gap.promise_text
    assert "甲科技有限公司" in gap.promise_text
    assert notes(session, zone["owner"], "gap_accepted")


@pytest.mark.parametrize("missing, deadline, error", [
    (["application"], date(2026, 3, 20), ValidationError),  # a primary material
    (["authorisation", "eia_report_form"], date(2026, 3, 20), ValidationError),
    (["project_code"], date(2026, 3, 20), ValidationError),  # the 项目代码: never a gap
    (["no_such_material"], date(2026, 3, 20), ValidationError),
    ([], date(2026, 3, 20), ValidationError),
    (["authorisation"], date(2026, 4, 2), ValidationError),  # after the item's own limit
    (["authorisation"], date(2026, 3, 2), ValidationError),  # not after today
])
def test_gap_acceptance_refusals_change_nothing(session, zone, eia, missing, deadline, error):
    with pytest.raises(error):
        cm.accept_with_gaps(session, eia.id, missing, deadline=deadline, actor=zone["alice"],
                            now=MONDAY)
    assert task_of(session, zone["project"], "eia_approval").state == "assigned"
    assert cm.open_gap(session, eia.id) is None


def test_the_project_code_is_never_a_gap_even_where_a_definition_says_secondary(session, zone,
                                                                              monkeypatch):
    """A definition installed before the rule marked the 项目代码 secondary: its
    projects keep that definition, and still the code cannot be missing under
    容缺受理 (accept_with_gaps refuses it whatever the definition says)."""
    import copy

    from definitions import load_definition_from_source
    from workflow.kernel import registry
    from workflow.kernel.registry import current_version, definition_of, install_definition

    # Version ids repeat across the tests' databases: keep this one's mapping to itself.
    monkeypatch.setattr(registry, "_version_of_id", {})

    source = copy.deepcopy(dict(definition_of(current_version(session)).source))
    for item in source["items.toml"]["items"]:
        for material in item.get("materials", []):
            if material["code"] == "project_code":
                material["secondary"] = True
    old = load_definition_from_source(source, stored=True)
    install_definition(session, old, now=MONDAY)
    project = f.project(session, MONDAY, company=zone["project"].enterprise, lead=zone["lead"])
    assert ops.definition_for(project).items["eia_approval"].materials[3].secondary
    filing = task_of(session, project, "project_filing")
    ops.cover_task(session, filing.id, reference="承诺制备案", kind="commitment", actor=zone["lead"],
                   now=MONDAY)
    eia = task_of(session, project, "eia_approval")
    ops.claim_task(session, eia.id, actor=zone["alice"], now=MONDAY)
    with pytest.raises(ValidationError, match="can never be missing"):
        cm.accept_with_gaps(session, eia.id, ["project_code"], deadline=date(2026, 3, 20),
                            actor=zone["alice"], now=MONDAY)
    assert cm.open_gap(session, eia.id) is None


def test_the_deadline_may_be_the_item_limit_itself(session, zone, eia):
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 4, 1),
                              actor=zone["alice"], now=MONDAY)
    assert gap.deadline == date(2026, 4, 1)


def test_a_serious_record_bars_acceptance_with_gaps(session, zone, eia):
    serious_record(session, zone)
    with pytest.raises(NotPermitted):
        cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                            actor=zone["alice"], now=at("2026-03-10"))
    assert cm.open_gap(session, eia.id) is None


def test_only_the_task_agent_accepts_with_gaps(session, zone, eia):
    for outsider in (zone["olga"], zone["owner"]):
        with pytest.raises(NotPermitted):
            cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                                actor=outsider, now=MONDAY)


def test_the_enterprise_signs_its_promise(session, zone, eia):
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=zone["alice"], now=MONDAY)
    with pytest.raises(NotPermitted):
        cm.sign_promise(session, gap.id, actor=zone["stranger"], now=MONDAY, signatory="李四",
                        consent=True)
    with pytest.raises(ValidationError):
        cm.sign_promise(session, gap.id, actor=zone["owner"], now=MONDAY, signatory="张三",
                        consent=False)
    cm.sign_promise(session, gap.id, actor=zone["owner"], now=MONDAY, signatory="张三", consent=True)
    assert gap.promised_by_id == zone["owner"].id and gap.promised_at is not None
    with pytest.raises(InvalidTransition):
        cm.sign_promise(session, gap.id, actor=zone["owner"], now=MONDAY, signatory="张三",
                        consent=True)


def test_supplied_in_time_the_item_goes_on_to_completion(session, zone, eia):
    alice = zone["alice"]
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=alice, now=MONDAY)
    ops.submit_task(session, eia.id, actor=alice, now=MONDAY)
    ops.approve_task(session, eia.id, actor=alice, now=MONDAY, reference="左环审〔2026〕3号")
    with pytest.raises(InvalidTransition, match="容缺") as refused:  # materials still missing
        ops.complete_task(session, eia.id, actor=alice, now=MONDAY)
    assert refused.value.details["refusal"] == "gap_open"  # told in the user's language
    with pytest.raises(NotPermitted):
        cm.fulfil_gap(session, gap.id, actor=zone["stranger"], now=at("2026-03-10"))
    cm.fulfil_gap(session, gap.id, actor=zone["owner"], now=at("2026-03-20"), note="已上传")
    assert gap.status == "fulfilled"
    assert notes(session, alice, "gap_fulfilled")
    ops.complete_task(session, eia.id, actor=alice, now=at("2026-03-20"))
    assert task_of(session, zone["project"], "eia_approval").state == "done"
    assert cm.sweep(session, now=at("2026-04-30")) == []


def test_the_agent_may_record_the_materials_received(session, zone, eia):
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=zone["alice"], now=MONDAY)
    cm.fulfil_gap(session, gap.id, actor=zone["alice"], now=at("2026-03-05"))
    assert gap.status == "fulfilled" and notes(session, zone["owner"], "gap_fulfilled")


def test_a_missed_deadline_terminates_the_item_with_a_notice_and_a_minor_record(session, zone, eia):
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=zone["alice"], now=MONDAY)
    assert cm.sweep(session, now=at("2026-03-20", 18)) == []  # the deadline day itself is in time
    with pytest.raises(InvalidTransition):
        cm.fulfil_gap(session, gap.id, actor=zone["owner"], now=at("2026-03-23"))
    lines = cm.sweep(session, now=at("2026-03-23"))
    assert len(lines) == 1 and "eia_approval" in lines[0]
    assert gap.status == "expired" and gap.expired_at is not None
    task = task_of(session, zone["project"], "eia_approval")
    assert task.state == "terminated" and task.closed_on == date(2026, 3, 23)
    for who in ("owner", "alice", "lead"):
        assert len(notes(session, zone[who], "gap_expired")) == 1, who
    [record] = records(session, zone["acme"])
    assert (record.severity, record.source) == ("minor", "gap_expired")
    assert not cm.has_serious_record(session, zone["acme"].id)
    assert cm.sweep(session, now=at("2026-03-24")) == []  # idempotent
    assert len(records(session, zone["acme"])) == 1
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "gap.expired")) == 1


# -- credit records ----------------------------------------------------------------------------

def test_an_admin_clears_a_record_and_the_enterprise_can_commit_again(session, zone):
    serious_record(session, zone)
    [record] = records(session, zone["acme"])
    filing = task_of(session, zone["project"], "project_filing")
    with pytest.raises(NotPermitted):
        cm.offer_commitment(session, filing.id, actor=zone["lead"], now=at("2026-03-11"))
    for not_admin in (zone["lead"], zone["owner"]):
        with pytest.raises(NotPermitted):
            cm.clear_credit_record(session, record.id, actor=not_admin, now=at("2026-03-11"),
                                   note="已整改")
    with pytest.raises(ValidationError):
        cm.clear_credit_record(session, record.id, actor=zone["admin"], now=at("2026-03-11"), note="")
    cm.clear_credit_record(session, record.id, actor=zone["admin"], now=at("2026-03-11"),
                           note="企业已完成信用修复")
    assert record.cleared_by_id == zone["admin"].id and record.clear_note == "企业已完成信用修复"
    assert not cm.has_serious_record(session, zone["acme"].id)
    with pytest.raises(Conflict):
        cm.clear_credit_record(session, record.id, actor=zone["admin"], now=at("2026-03-11"), note="x")
    letter = cm.offer_commitment(session, filing.id, actor=zone["lead"], now=at("2026-03-11"))
    cm.sign_commitment(session, letter.id, actor=zone["owner"], now=at("2026-03-11"),
                       signatory="张三", consent=True)
    assert task_of(session, zone["project"], "project_filing").state == "covered"


def test_credit_records_filter_by_enterprise_severity_and_cleared(session, zone, eia):
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=zone["alice"], now=MONDAY)
    serious_record(session, zone)
    assert gap.status == "open"
    cm.sweep(session, now=at("2026-03-23"))
    acme = zone["acme"].id
    assert len(cm.credit_records(session, enterprise_id=acme)) == 2
    assert [r.severity for r in cm.credit_records(session, severity="minor")] == ["minor"]
    assert len(cm.credit_records(session, cleared=False)) == 2
    assert cm.credit_records(session, cleared=True).rows == []
    assert cm.credit_records(session, enterprise_id=zone["stranger"].enterprise_id).rows == []
    code = zone["acme"].credit_code
    assert len(cm.credit_records(session, credit_code=code)) == 2
    assert cm.enterprise_of_filter(session, None, code).id == acme


def test_terminate_task_is_refused_for_an_agent_and_for_a_closed_item(session, zone):
    survey = task_of(session, zone["project"], "u01_survey")
    with pytest.raises(NotPermitted):
        ops.terminate_task(session, survey.id, actor=zone["alice"], now=MONDAY, reason="x")
    ops.terminate_task(session, survey.id, actor=zone["lead"], now=MONDAY, reason="企业放弃")
    assert task_of(session, zone["project"], "u01_survey").state == "terminated"
    with pytest.raises(InvalidTransition):
        ops.terminate_task(session, survey.id, actor=zone["lead"], now=MONDAY, reason="again")

"""承诺制, 容缺受理 and credit records through Flask's test client."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from workflow.kernel import clock
from workflow.models import CommitmentLetter, CreditRecord, GapAcceptance, ItemTask
from workflow.reforms import commitments as cm


def fresh(db, model, **where):
    """Rows as the database has them now; the read transaction ends at once
    (SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    query = select(model).filter_by(**where).order_by(model.id).execution_options(
        populate_existing=True)
    rows = db.scalars(query).all()
    db.commit()
    return rows


def task(db, world, code, project="project") -> ItemTask:
    return fresh(db, ItemTask, project_id=world[project].id, item_code=code)[0]


def offer(as_user, db, world, project="project"):
    client, token = as_user("lead")
    filing = task(db, world, "project_filing", project)
    response = client.post(f"/tasks/{filing.id}/commitment", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return fresh(db, CommitmentLetter, task_id=filing.id)[-1]


def sign(client, token, letter, **extra):
    data = {"csrf_token": token, "signatory": "张三", "consent": "1",
            "sha256": cm.sha256_of(letter.text)}
    data.update(extra)
    return client.post(f"/commitments/{letter.id}/sign", data=data)


def serious(db, world, enterprise="project"):
    db.add(CreditRecord(enterprise_id=world[enterprise].enterprise_id, project_id=world[enterprise].id,
                        severity="serious", source="commitment_false", reason="虚假承诺",
                        reference="左开承〔2025〕0009号", created_at=f.at("2026-02-02")))
    db.commit()


# -- 承诺制 -----------------------------------------------------------------------------------

def test_the_enterprise_reads_and_signs_the_letter_and_the_item_is_covered(as_user, world, db):
    staff_page = as_user("lead")[0].get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="offer_commitment"' in staff_page
    letter = offer(as_user, db, world)
    assert letter.number == "左开承〔2026〕0001号" and letter.status == "issued"
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert letter.number in page and "产业结构调整指导目录" in page and "甲科技有限公司" in page
    assert 'data-action="sign_commitment"' in page
    response = sign(client, token, letter)
    assert response.status_code == 302 and "/portal/projects/P-ACME-1" in response.headers["Location"]
    letter = fresh(db, CommitmentLetter, id=letter.id)[0]
    assert letter.status == "signed" and letter.signature == "张三"
    assert letter.check_due == clock.add_working_days(date(2026, 3, 2), 60).date
    filing = task(db, world, "project_filing")
    assert filing.state == "covered" and letter.number in filing.covered_ref
    assert task(db, world, "eia_approval").state == "ready"
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "已按承诺制办结" in page and 'data-action="sign_commitment"' not in page
    assert "企业签署承诺书" in page  # the timeline names the event


def test_the_check_period_comes_from_the_configuration(app, as_user, world, db):
    app.config["COMMITMENT_CHECK_DAYS"] = 10
    letter = offer(as_user, db, world)
    assert "10个工作日" in letter.text
    client, token = as_user("acme")
    sign(client, token, letter)
    letter = fresh(db, CommitmentLetter, id=letter.id)[0]
    assert letter.check_due == clock.add_working_days(date(2026, 3, 2), 10).date


def test_another_enterprise_cannot_read_or_sign_the_letter(as_user, world, db):
    letter = offer(as_user, db, world)
    client, token = as_user("other")
    assert client.get(f"/commitments/{letter.id}").status_code == 404
    assert sign(client, token, letter).status_code == 404
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "issued"
    assert task(db, world, "project_filing").state == "ready"


def test_staff_cannot_sign_for_the_enterprise(as_user, world, db):
    letter = offer(as_user, db, world)
    client, token = as_user("lead")
    assert sign(client, token, letter).status_code == 403
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "issued"


@pytest.mark.parametrize("extra", [{"consent": ""}, {"signatory": " "}])
def test_signing_without_name_or_consent_is_a_clear_400(as_user, world, db, extra):
    letter = offer(as_user, db, world)
    client, token = as_user("acme")
    response = sign(client, token, letter, **extra)
    assert response.status_code == 400 and "输入有误" in response.get_data(as_text=True)
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "issued"


def test_an_enterprise_with_a_serious_record_cannot_sign(as_user, world, db):
    letter = offer(as_user, db, world)
    serious(db, world)
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "严重失信" in page and 'data-action="sign_commitment"' not in page
    assert sign(client, token, letter).status_code == 403
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "issued"
    lead, lead_token = as_user("lead")
    assert 'data-action="offer_commitment"' not in lead.get("/projects/P-ACME-1").get_data(as_text=True)
    filing = task(db, world, "project_filing")
    assert lead.post(f"/tasks/{filing.id}/commitment",
                     data={"csrf_token": lead_token}).status_code == 403


def test_an_agent_not_on_the_task_and_a_supervisor_cannot_offer(as_user, world, db):
    filing = task(db, world, "project_filing")
    for name in ("alice", "sup"):
        client, token = as_user(name)
        assert client.post(f"/tasks/{filing.id}/commitment",
                           data={"csrf_token": token}).status_code == 403
    olga, token = as_user("olga")  # another group: the project is not hers to see
    assert olga.post(f"/tasks/{filing.id}/commitment", data={"csrf_token": token}).status_code == 404
    assert fresh(db, CommitmentLetter) == []


def test_staff_record_the_compliance_check_and_a_broken_one_is_a_credit_record(as_user, world, db):
    letter = offer(as_user, db, world)
    sign(*as_user("acme"), letter)
    client, token = as_user("alice")  # an agent of the group records the department's check
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="check_commitment"' in page
    response = client.post(f"/commitments/{letter.id}/check", data={
        "csrf_token": token, "outcome": "rectify", "note": "未报送开工信息", "rectify_by": ""})
    assert response.status_code == 400
    client.post(f"/commitments/{letter.id}/check", data={
        "csrf_token": token, "outcome": "rectify", "note": "未报送开工信息",
        "rectify_by": "2026-04-10"})
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "rectifying"
    client.post(f"/commitments/{letter.id}/check", data={
        "csrf_token": token, "outcome": "broken", "note": "逾期未整改"})
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "broken"
    [record] = fresh(db, CreditRecord)
    assert (record.severity, record.source) == ("serious", "commitment_broken")
    portal = as_user("acme")[0].get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "未履行承诺" in portal and "严重" in portal


def test_the_letter_page_shows_the_signed_text_and_its_digest(as_user, world, db):
    letter = offer(as_user, db, world)
    sign(*as_user("acme"), letter)
    page = as_user("sup")[0].get(f"/commitments/{letter.id}").get_data(as_text=True)
    assert letter.number in page and cm.sha256_of(letter.text) in page and "张三" in page


def test_staff_withdraw_an_unsigned_letter(as_user, world, db):
    letter = offer(as_user, db, world)
    client, token = as_user("lead")
    assert client.post(f"/commitments/{letter.id}/withdraw",
                       data={"csrf_token": token, "reason": ""}).status_code == 400
    client.post(f"/commitments/{letter.id}/withdraw", data={"csrf_token": token, "reason": "改为正常办理"})
    assert fresh(db, CommitmentLetter, id=letter.id)[0].status == "withdrawn"


# -- 容缺受理 ----------------------------------------------------------------------------------

@pytest.fixture
def eia(as_user, world, db):
    """EIA approval released (the filing signed by commitment), claimed by alice."""
    letter = offer(as_user, db, world)
    sign(*as_user("acme"), letter)
    client, token = as_user("alice")
    item = task(db, world, "eia_approval")
    client.post(f"/tasks/{item.id}/claim", data={"csrf_token": token})
    return client, token, task(db, world, "eia_approval")


@pytest.mark.parametrize("missing, deadline", [
    (["application"], "2026-03-20"),  # a primary material
    (["authorisation"], "2026-04-02"),  # after the item's limit (1 April)
    (["authorisation"], "soon"),
    ([], "2026-03-20"),
])
def test_gap_acceptance_refusals_are_400_and_change_nothing(eia, db, missing, deadline):
    client, token, item = eia
    response = client.post(f"/tasks/{item.id}/gap", data={
        "csrf_token": token, "missing": missing, "deadline": deadline})
    assert response.status_code == 400
    assert fresh(db, GapAcceptance) == [] and fresh(db, ItemTask, id=item.id)[0].state == "assigned"


def test_gap_acceptance_refused_for_a_serious_record(eia, world, db):
    client, token, item = eia
    serious(db, world)
    response = client.post(f"/tasks/{item.id}/gap", data={
        "csrf_token": token, "missing": ["authorisation"], "deadline": "2026-03-20"})
    assert response.status_code == 403 and fresh(db, GapAcceptance) == []


def test_accept_with_gaps_then_the_enterprise_promises_and_supplies(eia, as_user, world, db):
    client, token, item = eia
    page = client.get("/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="accept_gap"' in page and "可容缺" in page
    response = client.post(f"/tasks/{item.id}/gap", data={
        "csrf_token": token, "missing": ["authorisation"], "deadline": "2026-03-20"})
    assert response.status_code == 302
    [gap] = fresh(db, GapAcceptance)
    assert gap.status == "open" and fresh(db, ItemTask, id=item.id)[0].state == "in_progress"

    acme, acme_token = as_user("acme")
    page = acme.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "容缺受理承诺书" in page and "2026-03-20" in page and 'data-action="sign_promise"' in page
    other, other_token = as_user("other")
    assert other.post(f"/gaps/{gap.id}/promise", data={
        "csrf_token": other_token, "signatory": "李四", "consent": "1"}).status_code == 404
    acme.post(f"/gaps/{gap.id}/promise", data={"csrf_token": acme_token, "signatory": "张三",
                                               "consent": "1"})
    assert fresh(db, GapAcceptance, id=gap.id)[0].promised_at is not None
    acme.post(f"/gaps/{gap.id}/fulfil", data={"csrf_token": acme_token})
    assert fresh(db, GapAcceptance, id=gap.id)[0].status == "fulfilled"
    assert fresh(db, ItemTask, id=item.id)[0].state == "in_progress"


def test_a_missed_deadline_terminates_the_item_and_the_portal_says_so(eia, as_user, world, db, clock):
    client, token, item = eia
    client.post(f"/tasks/{item.id}/gap", data={
        "csrf_token": token, "missing": ["authorisation"], "deadline": "2026-03-20"})
    assert len(cm.sweep(db, now=f.at("2026-03-23"))) == 1
    db.commit()
    assert fresh(db, ItemTask, id=item.id)[0].state == "terminated"
    clock.moment = f.at("2026-03-23", 10)
    page = as_user("acme")[0].get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "逾期未补齐，事项终止" in page and "容缺材料逾期未补齐" in page


# -- credit records (admin) ----------------------------------------------------------------------

def test_only_admins_open_the_credit_page(as_user, world):
    for name in ("lead", "acme", "sup"):
        assert as_user(name)[0].get("/admin/credit").status_code == 403


def test_the_admin_filters_and_clears_a_record_and_the_enterprise_can_commit_again(as_user, world, db):
    letter = offer(as_user, db, world)
    serious(db, world)
    client, token = as_user("admin")
    page = client.get("/admin/credit").get_data(as_text=True)
    assert "甲科技有限公司" in page and "虚假承诺" in page and 'data-action="clear_credit"' in page
    assert "data-credit=" not in client.get("/admin/credit?severity=minor").get_data(as_text=True)
    other_id = world["rival"].enterprise_id
    assert "data-credit=" not in client.get(f"/admin/credit?enterprise={other_id}").get_data(as_text=True)
    acme_id = world["project"].enterprise_id
    assert "data-credit=" in client.get(f"/admin/credit?enterprise={acme_id}&severity=serious"
                                        "&cleared=no").get_data(as_text=True)
    assert "data-credit=" not in client.get("/admin/credit?cleared=yes").get_data(as_text=True)
    [record] = fresh(db, CreditRecord)
    assert client.post(f"/admin/credit/{record.id}/clear",
                       data={"csrf_token": token, "note": ""}).status_code == 400
    lead, lead_token = as_user("lead")
    assert lead.post(f"/admin/credit/{record.id}/clear",
                     data={"csrf_token": lead_token, "note": "x"}).status_code == 403
    response = client.post(f"/admin/credit/{record.id}/clear",
                           data={"csrf_token": token, "note": "已完成信用修复"})
    assert response.status_code == 302
    assert fresh(db, CreditRecord, id=record.id)[0].cleared_at is not None
    assert "data-credit=" in client.get("/admin/credit?cleared=yes").get_data(as_text=True)
    assert sign(*as_user("acme"), letter).status_code == 302
    assert task(db, world, "project_filing").state == "covered"


def test_the_admin_nav_links_to_the_credit_page(as_user):
    page = as_user("admin")[0].get("/admin/credit").get_data(as_text=True)
    assert 'href="/admin/credit"' in page

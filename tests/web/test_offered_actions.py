"""The task page, the API and the desk offer only actions that can succeed:
an extension form only where the engine would accept the request; a refusal
comes back in the user's language, the form filled again."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.test_history_pages import statements
from web.support.errors import user_message
from workflow.accounts import tokens
from workflow.kernel.errors import InvalidTransition
from workflow.models import ExtensionRequest, ItemTask


def task_of(db, world, item):
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                            ItemTask.item_code == item)
                     .execution_options(populate_existing=True))
    db.commit()
    return task


def started(client, token, task):
    for action in ("claim", "start"):
        assert client.post(f"/tasks/{task.id}/{action}",
                           data={"csrf_token": token}).status_code == 302
    return task


def offers(client, task) -> set[str]:
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    return set(re.findall(r'<form[^>]*data-action="([a-z_]+)"', page))


def api_actions(client, task) -> list[str]:
    answer = client.get("/api/v1/projects/P-ACME-1").get_json()
    return next(t["actions"] for t in answer["tasks"] if t["id"] == task.id)


def test_an_item_that_allows_no_extension_offers_none_and_refuses_it_in_chinese(
        as_user, world, db):
    client, token = as_user("alice")
    filing = started(client, token, task_of(db, world, "project_filing"))
    assert "submit" in offers(client, filing)
    assert "request_extension" not in offers(client, filing)
    assert "request_extension" not in api_actions(client, filing)
    page = f"/tasks/{filing.id}"
    refused = client.post(f"/tasks/{filing.id}/request_extension", headers={"Referer": page},
                          data={"csrf_token": token, "days": "3", "reason": "专家论证"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "依法不得延长" in text and "企业投资项目备案" in text
    assert "cannot be extended" not in text and "project_filing" not in text
    assert db.scalar(select(ExtensionRequest.id)) is None


def test_the_refusal_is_in_english_for_an_english_user(app, as_user, world, db, clock):
    client, token = as_user("alice")
    filing = started(client, token, task_of(db, world, "project_filing"))
    client.set_cookie("lang", "en")
    refused = client.post(f"/tasks/{filing.id}/request_extension",
                          data={"csrf_token": token, "days": "3", "reason": "x"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "may not be extended by law" in text and "project_filing" not in text
    _, secret = tokens.issue_token(db, world["users"]["alice"], name="t", now=clock.moment)
    db.commit()
    answer = app.test_client().post(f"/api/v1/tasks/{filing.id}/request_extension",
                                    json={"days": 3, "reason": "x"},
                                    headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["details"]["refusal"] == "extension_not_allowed"


def test_a_pending_request_withdraws_the_form_until_it_is_decided(as_user, world, db):
    client, token = as_user("alice")
    survey = started(client, token, task_of(db, world, "u01_survey"))
    assert "request_extension" in offers(client, survey)
    assert "request_extension" in api_actions(client, survey)
    assert client.post(f"/tasks/{survey.id}/request_extension", data={
        "csrf_token": token, "days": "3", "reason": "等待测绘成果"}).status_code == 302
    assert "request_extension" not in offers(client, survey)
    assert "request_extension" not in api_actions(client, survey)
    again = client.post(f"/tasks/{survey.id}/request_extension",
                        data={"csrf_token": token, "days": "2", "reason": "再延"})
    assert again.status_code == 400
    assert "待领办人审批" in again.get_data(as_text=True)
    # The agent may not decide; the lead sees the decision form.
    assert f'action="/tasks/{survey.id}/decide_extension"' not in \
        client.get(f"/tasks/{survey.id}").get_data(as_text=True)
    lead, lead_token = as_user("lead")
    request_id = db.scalar(select(ExtensionRequest.id))
    db.commit()
    assert f'/tasks/{survey.id}/decide_extension' in lead.get(f"/tasks/{survey.id}").get_data(
        as_text=True)
    assert lead.post(f"/tasks/{survey.id}/decide_extension", data={
        "csrf_token": lead_token, "request_id": request_id, "approve": "true"}).status_code == 302
    page = client.get(f"/tasks/{survey.id}").get_data(as_text=True)
    assert 'data-action="request_extension"' in page
    assert "还可延长 7 天" in page and 'max="7"' in page


def test_a_request_over_the_allowance_comes_back_with_the_input_kept(as_user, world, db):
    client, token = as_user("alice")
    survey = started(client, token, task_of(db, world, "u01_survey"))
    page = f"/tasks/{survey.id}"
    refused = client.post(f"/tasks/{survey.id}/request_extension", headers={"Referer": page},
                          data={"csrf_token": token, "days": "11", "reason": "需要补测"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert 'value="需要补测"' in text and 'value="11"' in text
    assert "最多可延长 10 天" in text and "at most" not in text


def test_the_used_up_allowance_and_the_stopped_clock_offer_no_extension(as_user, world, db):
    client, token = as_user("alice")
    survey = started(client, token, task_of(db, world, "u01_survey"))
    lead, lead_token = as_user("lead")
    client.post(f"/tasks/{survey.id}/request_extension",
                data={"csrf_token": token, "days": "10", "reason": "全部用完"})
    request_id = db.scalar(select(ExtensionRequest.id))
    db.commit()
    decided = lead.post(f"/tasks/{survey.id}/decide_extension", data={
        "csrf_token": lead_token, "request_id": request_id, "approve": "true"})
    assert decided.status_code == 302, decided.get_data(as_text=True)
    db.commit()
    assert "request_extension" not in offers(client, survey)
    refused = client.post(f"/tasks/{survey.id}/request_extension",
                          data={"csrf_token": token, "days": "1", "reason": "再延"})
    assert refused.status_code == 400 and "还可申请 0 天" in refused.get_data(as_text=True)


def test_no_extension_once_the_department_decided(as_user, world, db):
    client, token = as_user("alice")
    survey = started(client, token, task_of(db, world, "u01_survey"))
    for action in ("submit", "approve"):
        assert client.post(f"/tasks/{survey.id}/{action}",
                           data={"csrf_token": token}).status_code == 302
    assert task_of(db, world, "u01_survey").state == "approved"
    assert "request_extension" not in offers(client, survey)
    assert "complete" in offers(client, survey)
    refused = client.post(f"/tasks/{survey.id}/request_extension",
                          data={"csrf_token": token, "days": "1", "reason": "x"})
    assert refused.status_code == 409 and "已停止计时" in refused.get_data(as_text=True)


def test_the_api_list_decides_the_extension_in_one_query(app, as_user, world, db):
    client, token = as_user("alice")
    for item in ("u01_survey", "project_filing"):
        started(client, token, task_of(db, world, item))
    with statements(app) as seen:
        answer = client.get("/api/v1/inbox").get_json()
    asked = [s for s in seen if "extension_request" in s]
    assert len(asked) == 1
    actions = {t["item"]["code"]: t["actions"] for t in answer["tasks"]
               if t["project"]["code"] == "P-ACME-1"}
    assert "request_extension" in actions["u01_survey"]
    assert "request_extension" not in actions["project_filing"]


OUTSIDE = {"refusal": "outside_mandate", "item": "u01_survey", "item_zh": "地形图测绘",
           "item_en": "Topographic survey"}


@pytest.mark.parametrize(("lang", "details", "sentence"), [
    ("zh_CN", {"refusal": "gap_open", "due": "2026-03-20"},
     "企业承诺的材料须于 2026-03-20 前补齐后才能办结"),
    ("en", {"refusal": "gap_open", "due": "2026-03-20"},
     "promised materials must be supplied by 2026-03-20"),
    ("zh_CN", {"refusal": "mandate_unsigned"}, "企业尚未签署代办服务委托书"),
    ("en", {"refusal": "mandate_unsigned"}, "has not signed the mandate"),
    ("zh_CN", OUTSIDE, "事项“地形图测绘”不在企业已签署的委托范围内"),
    ("en", OUTSIDE, "“Topographic survey” is outside the mandate"),
])
def test_an_engine_refusal_with_a_code_is_told_in_the_users_language(app, lang, details,
                                                                    sentence):
    refusal = InvalidTransition("Item eia_approval or u01_survey: refused.", **details)
    with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        said = user_message(refusal)
    assert sentence in said and "eia_approval" not in said and "u01_survey" not in said


def test_no_acting_step_is_offered_before_the_mandate_is_signed(as_user, world, db, clock):
    """The signing guard, asked when the page and the API list the actions:
    before the enterprise signs, the agent routes (claims, hands over) but is
    offered no step that acts for it; once it signs, the work is offered."""
    from tests import factories as f

    project = f.project(db, clock.moment, company=world["project"].enterprise,
                        lead=world["users"]["lead"], signed=False, code="P-UNSIGNED-1")
    db.commit()
    survey = next(t for t in project.tasks if t.item_code == "u01_survey")
    client, token = as_user("alice")
    assert client.post(f"/tasks/{survey.id}/claim", data={"csrf_token": token}).status_code == 302

    def api(code):
        answer = client.get(f"/api/v1/projects/{code}").get_json()
        return next(t["actions"] for t in answer["tasks"] if t["id"] == survey.id)

    offered = offers(client, survey)
    assert "handoff" in offered and "start" not in offered and "request_extension" not in offered
    assert "start" not in api("P-UNSIGNED-1") and "handoff" in api("P-UNSIGNED-1")
    db.rollback()
    db.expunge_all()  # the app moved the project on since this session read it
    f.sign_mandate_on_paper(db, db.get(type(project), project.id), clock.moment)
    db.commit()
    assert "start" in offers(client, survey) and "start" in api("P-UNSIGNED-1")
    assert client.post(f"/tasks/{survey.id}/start", data={"csrf_token": token}).status_code == 302

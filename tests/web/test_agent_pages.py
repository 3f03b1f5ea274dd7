"""The agent's inbox and task page, through Flask's test client."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from workflow.models import GroupMembership, ItemTask, User


def survey(db, world, project="project"):
    """The survey task as the database has it now (the read transaction ends
    at once: SQLite's BEGIN IMMEDIATE would otherwise block the app)."""
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world[project].id,
                                            ItemTask.item_code == "u01_survey")
                     .execution_options(populate_existing=True))
    db.commit()
    return task


def test_agent_sees_the_group_queue_and_claims_a_task(as_user, world, db):
    client, token = as_user("alice")
    page = client.get("/inbox?tab=queue").get_data(as_text=True)
    assert "P-ACME-1" in page and "地形图测绘" in page
    task = survey(db, world)
    response = client.post(f"/tasks/{task.id}/claim",
                           data={"csrf_token": token, "version": task.version})
    assert response.status_code == 302
    assert survey(db, world).assignee_id == world["users"]["alice"].id
    mine = client.get("/inbox").get_data(as_text=True)
    assert f'data-task="{task.id}"' in mine
    # The counts in the navigation and on the tabs: one task of hers; in the
    # queue the two projects' root items (survey, filing) less the one claimed.
    assert '我的待办<span class="badge ">1</span>' in mine
    assert '我的事项 <span class="badge">1</span>' in mine
    assert '本组待认领 <span class="badge">3</span>' in mine


def test_task_page_shows_the_actions_the_state_allows(as_user, world, db):
    client, token = as_user("alice")
    task = survey(db, world)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-action="claim"' in page and 'data-action="submit"' not in page
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    client.post(f"/tasks/{task.id}/start", data={"csrf_token": token})
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-action="submit"' in page and 'data-action="request_materials"' in page


def test_an_action_not_allowed_now_answers_409_and_changes_nothing(as_user, world, db):
    client, token = as_user("alice")
    task = survey(db, world)
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    response = client.post(f"/tasks/{task.id}/approve", data={"csrf_token": token})
    assert response.status_code == 409
    assert "当前状态不允许此操作" in response.get_data(as_text=True)
    assert survey(db, world).state == "assigned"


def test_a_form_without_csrf_token_is_refused(as_user, world, db):
    client, _ = as_user("alice")
    task = survey(db, world)
    response = client.post(f"/tasks/{task.id}/claim", data={})
    assert response.status_code == 400
    assert survey(db, world).state == "ready"


def test_an_agent_of_another_group_cannot_claim_by_url(as_user, world, db):
    client, token = as_user("olga")
    task = survey(db, world)
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    assert response.status_code in (403, 404)
    assert survey(db, world).state == "ready"


def test_request_materials_then_the_task_waits_for_the_enterprise(as_user, world, db):
    client, token = as_user("alice")
    task = survey(db, world)
    for action in ("claim", "start"):
        client.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token})
    response = client.post(f"/tasks/{task.id}/request_materials", data={
        "csrf_token": token, "materials": "宗地界址图\n营业执照副本", "deadline": "2026-03-09"})
    assert response.status_code == 302
    assert survey(db, world).state == "awaiting_enterprise"
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "宗地界址图" in page and "2026-03-09" in page


def test_bad_input_is_a_clear_400_and_changes_nothing(as_user, world, db):
    client, token = as_user("alice")
    task = survey(db, world)
    for action in ("claim", "start"):
        client.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token})
    response = client.post(f"/tasks/{task.id}/request_materials", data={
        "csrf_token": token, "materials": "", "deadline": "not-a-date"})
    assert response.status_code == 400
    assert survey(db, world).state == "in_progress"


def test_inbox_filters_by_light_and_project(as_user, world, db, clock):
    clock.moment = f.at("2026-03-12", 10)  # the queued surveys are due 16 March (service clock): yellow
    client, _ = as_user("alice")
    page = client.get("/inbox?tab=queue&project=P-OTHER").get_data(as_text=True)
    assert "P-OTHER-1" in page and "P-ACME-1" not in page
    page = client.get("/inbox?tab=queue&light=yellow&item=u01_survey").get_data(as_text=True)
    assert "P-ACME-1" in page and page.count('data-task="') == 2


def test_a_login_session_expires_after_its_lifetime(as_user, clock):
    client, _ = as_user("alice")
    assert client.get("/inbox").status_code == 200
    clock.moment = f.at("2026-03-02", 19)  # 9 hours later: past the 8-hour lifetime
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_enterprise_users_cannot_open_the_inbox(as_user):
    client, _ = as_user("acme")
    assert client.get("/inbox").status_code == 403


@pytest.mark.parametrize("action, form", [("claim", {}), ("complete", {}), ("start", {}),
                                          ("assign", {"assignee": "nobody"}),
                                          ("request_extension", {"days": "x"}),
                                          ("comment", {"body": "看看"})])
def test_a_task_one_may_not_see_answers_404_whatever_the_refusal(as_user, world, db, action, form):
    """No refusal reveals a task of a project one may not see: not its state
    (an invalid transition), not its form rules (bad input)."""
    client, token = as_user("olga")  # food group: the equipment project is not hers
    task = survey(db, world)
    response = client.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token, **form})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    after = survey(db, world)
    assert (after.state, after.version) == (task.state, task.version)
    assert client.post(f"/tasks/999999/{action}", data={"csrf_token": token, **form}).status_code == 404


def test_an_agent_who_left_the_group_can_still_give_back_the_task_she_holds(as_user, world, db):
    """Leaving a group leaves one's open tasks there (the admin is warned);
    giving such a task back is allowed although, once given back, its project
    is no longer one she may see."""
    client, token = as_user("alice")
    task = survey(db, world)
    assert client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}).status_code == 302
    alice = db.get(User, world["users"]["alice"].id)
    for membership in list(alice.memberships):
        db.delete(membership)
    db.add(GroupMembership(group_id=f.group(db, "food").id, user_id=alice.id))
    db.commit()
    response = client.post(f"/tasks/{task.id}/unassign", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    after = survey(db, world)
    assert (after.state, after.assignee_id) == ("ready", None)
    # Now she may not see it: any further action is a 404.
    assert client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}).status_code == 404


def clock_cells(page: str, row: str) -> list[str]:
    """The cells of one row of the task page's two-clock table, as text."""
    import re

    table = page.split('id="clocks"', 1)[1].split("</table>", 1)[0]
    found = re.search(rf"<tr><th>{row}</th>(.*?)</tr>", table, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_the_task_page_shows_both_clocks_and_records_the_departments_acceptance(
        as_user, world, db, clock):
    """The survey released Mon 03-02 (service limit 10 working days → 03-16),
    submitted on Thu 03-05 and accepted (受理) by the department on Fri 03-06,
    recorded on Mon 03-09: 15 working days from 03-06 → 03-27. An expert
    review from 03-10 stops the department's clock."""
    client, token = as_user("alice")
    task = survey(db, world)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert clock_cells(page, "到期日") == ["2026-03-16", "—"]
    assert clock_cells(page, "状态")[1] == "未开始"
    assert 'data-whose="agent"' in page  # the agent's time runs (代办)
    clock.moment = f.at("2026-03-05", 10)
    client, token = as_user("alice")  # a new day, a new login
    for action in ("claim", "start", "submit"):
        assert client.post(f"/tasks/{task.id}/{action}",
                           data={"csrf_token": token}).status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-action="accept"' in page and 'data-whose="department"' in page
    assert "报送日（部门受理日待登记）" in page
    clock.moment = f.at("2026-03-09", 10)
    client, token = as_user("alice")
    refused = client.post(f"/tasks/{task.id}/accept", data={
        "csrf_token": token, "accepted_on": "2026-03-04"})
    assert refused.status_code == 400 and survey(db, world).state == "submitted"
    response = client.post(f"/tasks/{task.id}/accept", data={
        "csrf_token": token, "accepted_on": "2026-03-06", "reference": "自然资受〔2026〕7号"})
    assert response.status_code == 302
    accepted = survey(db, world)
    assert (accepted.state, accepted.accepted_on.isoformat(), accepted.due_on.isoformat()) == (
        "accepted", "2026-03-06", "2026-03-27")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert clock_cells(page, "起算日") == ["2026-03-02 进入本组队列", "2026-03-06 部门受理日"]
    assert clock_cells(page, "到期日") == ["2026-03-16", "2026-03-27"]
    assert clock_cells(page, "截止于")[0] == "2026-03-05 报送部门"
    assert clock_cells(page, "状态")[0] == "已停止 · 按时"
    clock.moment = f.at("2026-03-10", 10)
    client, token = as_user("alice")
    response = client.post(f"/tasks/{task.id}/department_pause", data={
        "csrf_token": token, "kind": "expert_review", "reason": "组织专家评审"})
    assert response.status_code == 302 and survey(db, world).state == "on_hold"
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-action="department_resume"' in page and "部门中止计时" in page
    assert client.post(f"/tasks/{task.id}/department_pause", data={
        "csrf_token": token, "kind": "lunch", "reason": "x"}).status_code in (400, 409)

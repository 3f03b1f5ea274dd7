"""The lead handler's desk (领办台), through Flask's test client."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from workflow.core import desk as lead_desk
from workflow.core import operations as ops
from workflow.core import rollups
from workflow.kernel.paging import Count
from workflow.models import ExtensionRequest, ItemTask, User


def survey(db, project):
    """The survey task of ``project`` as the database has it now (the read
    transaction ends at once: SQLite's BEGIN IMMEDIATE would block the app)."""
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == project.id,
                                            ItemTask.item_code == "u01_survey")
                     .execution_options(populate_existing=True))
    db.commit()
    return task


def row_order(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-task="(\d+)"', page)]


def act(client, token, task, action, **data):
    return client.post(f"/tasks/{task.id}/{action}",
                       data={"csrf_token": token, "version": task.version, "next": "/desk",
                             **data})


@pytest.fixture
def lights_world(db, world, clock):
    """Three more surveys of the equipment group, queued on their service
    clock (10 working days): released early (due 14 Feb: red on 13 March) and
    late (10 March: due 24 March, green); the world's two are due 16 March
    (yellow: 1 working day left)."""
    lead = world["users"]["lead"]
    early = f.project(db, at("2026-02-02"), lead=lead, code="P-EARLY")
    late = f.project(db, at("2026-03-10"), lead=lead, code="P-LATE")
    db.commit()
    clock.moment = at("2026-03-13", 10)
    return {"red": survey(db, early), "yellow": survey(db, world["project"]),
            "green": survey(db, late)}


def test_the_desk_lists_red_before_yellow_before_green(as_user, lights_world, world, db):
    client, _ = as_user("lead")
    page = client.get("/desk").get_data(as_text=True)
    shown = re.findall(r'<tr data-task="(\d+)" data-light="(\w*)"', page)
    ranks = [{"red": 0, "yellow": 1}.get(shade, 2) for _, shade in shown]
    assert ranks == sorted(ranks) and set(ranks) == {0, 1, 2}
    order = [int(task_id) for task_id, _ in shown]
    positions = {shade: order.index(task.id) for shade, task in lights_world.items()}
    assert positions["red"] < positions["yellow"] < positions["green"]
    reds = sum(shade == "red" for _, shade in shown)
    assert f'data-count="red"><span class="kpi red">{reds}<' in page
    lead = db.get(User, world["users"]["lead"].id)
    assert lead_desk.desk_red_count(db, lead, date(2026, 3, 13)) == Count(reds, exact=True)  # nav badge
    db.commit()
    assert 'data-count="yellow"><span class="kpi yellow">2<' in page  # the world's two surveys
    assert "P-EARLY" in page and "P-LATE" in page  # the projects the lead leads
    # Each row says whose time runs: the queued items' service clock (代办).
    assert 'data-whose="agent"' in page


def test_the_desk_filters_by_light_agent_and_group(as_user, lights_world, world, db):
    client, token = as_user("lead")
    yellow = row_order(client.get("/desk?light=yellow").get_data(as_text=True))
    assert sorted(yellow) == sorted([lights_world["yellow"].id, survey(db, world["rival"]).id])
    act(client, token, lights_world["green"], "assign", assignee="bob")
    page = client.get("/desk?agent=bob").get_data(as_text=True)
    assert row_order(page) == [lights_world["green"].id]
    queued = row_order(client.get("/desk?agent=-&group=equipment").get_data(as_text=True))
    assert lights_world["green"].id not in queued and lights_world["red"].id in queued
    assert row_order(client.get("/desk?group=food").get_data(as_text=True)) == []


def test_a_lead_assigns_a_queued_task_then_reassigns_it_with_a_reason(as_user, world, db):
    client, token = as_user("lead")
    task = survey(db, world["project"])
    page = client.get("/desk").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/assign"' in page
    response = act(client, token, task, "assign", assignee="alice")
    assert response.status_code == 302 and response.headers["Location"].endswith("/desk")
    task = survey(db, world["project"])
    assert (task.state, task.assignee_id) == ("assigned", world["users"]["alice"].id)
    assert f'action="/tasks/{task.id}/reassign"' in client.get("/desk").get_data(as_text=True)

    refused = act(client, token, task, "reassign", assignee="bob", reason="")
    assert refused.status_code == 400
    assert survey(db, world["project"]).assignee_id == world["users"]["alice"].id

    response = act(client, token, task, "reassign", assignee="bob", reason="alice 出差")
    assert response.status_code == 302
    assert survey(db, world["project"]).assignee_id == world["users"]["bob"].id


def test_assigning_to_an_away_agent_lands_on_the_substitute(as_user, world, db):
    users = world["users"]
    bob = db.get(User, users["bob"].id)
    bob.away, bob.substitute_id = True, users["alice"].id
    db.commit()
    client, token = as_user("lead")
    page = client.get("/desk").get_data(as_text=True)
    assert "（外出，由alice代理）" in page
    task = survey(db, world["project"])
    assert act(client, token, task, "assign", assignee="bob").status_code == 302
    assert survey(db, world["project"]).assignee_id == users["alice"].id


def _extension_requested(db, world, clock):
    """alice takes the survey to the department, which accepts it, and asks
    for 5 more working days on its statutory clock (committed)."""
    alice = db.get(User, world["users"]["alice"].id)
    task = survey(db, world["project"])
    for step in (ops.claim_task, ops.start_task, ops.submit_task, ops.accept_task):
        step(db, task.id, actor=alice, now=clock.moment)
    request = ops.request_extension(db, task.id, 5, reason="地形复杂，需补测", actor=alice,
                                    now=clock.moment)
    db.commit()
    return request.id, survey(db, world["project"])


def test_a_lead_approves_an_extension_from_the_desk(as_user, world, db, clock):
    request_id, task = _extension_requested(db, world, clock)
    due_before = task.due_on
    client, token = as_user("lead")
    page = client.get("/desk").get_data(as_text=True)
    assert f'data-extension="{request_id}"' in page and "地形复杂，需补测" in page
    assert re.search(r'data-count="extensions"><span class="kpi">1<', page)
    response = client.post(f"/tasks/{task.id}/decide_extension", data={
        "csrf_token": token, "request_id": request_id, "approve": "true", "next": "/desk"})
    assert response.status_code == 302
    after = survey(db, world["project"])
    assert after.extension_days == 5 and after.due_on > due_before
    assert f'data-extension="{request_id}"' not in client.get("/desk").get_data(as_text=True)


def test_a_lead_refuses_an_extension_from_the_desk(as_user, world, db, clock):
    request_id, task = _extension_requested(db, world, clock)
    due_before = task.due_on
    client, token = as_user("lead")
    no_reason = client.post(f"/tasks/{task.id}/decide_extension", data={
        "csrf_token": token, "request_id": request_id, "approve": "false"})
    assert no_reason.status_code == 400
    response = client.post(f"/tasks/{task.id}/decide_extension", data={
        "csrf_token": token, "request_id": request_id, "approve": "false",
        "note": "可先办理其他事项", "next": "/desk"})
    assert response.status_code == 302
    after = survey(db, world["project"])
    decided = db.get(ExtensionRequest, request_id)
    db.commit()
    assert after.due_on == due_before and after.extension_days == 0
    assert decided.approved is False and decided.decision_note == "可先办理其他事项"


@pytest.mark.parametrize("username", ["alice", "acme", "sup"])
def test_agents_enterprises_and_supervisors_get_403_on_the_desk(as_user, username):
    client, _ = as_user(username)
    assert client.get("/desk").status_code == 403


def test_a_lead_of_another_group_cannot_assign_this_groups_tasks(as_user, world, db):
    f.user(db, "foodlead", "lead", groups=("food",)).password_hash = \
        db.get(User, world["users"]["lead"].id).password_hash
    db.commit()
    client, token = as_user("foodlead")
    task = survey(db, world["project"])
    assert f'data-task="{task.id}"' not in client.get("/desk").get_data(as_text=True)
    response = act(client, token, task, "assign", assignee="alice")
    assert response.status_code in (403, 404)
    after = survey(db, world["project"])
    assert (after.state, after.assignee_id, after.version) == ("ready", None, task.version)


def test_an_admin_sees_every_group_on_the_desk(as_user, world, db):
    client, _ = as_user("admin")
    page = client.get("/desk").get_data(as_text=True)
    assert f'data-task="{survey(db, world["project"]).id}"' in page
    assert "P-OTHER-1" in page


def test_the_desk_figures_are_the_sweeps_exact_counts_when_it_ran_today(as_user, lights_world, world,
                                                                         db, clock):
    client, _ = as_user("lead")
    live = client.get("/desk").get_data(as_text=True)
    assert "data-as-of" not in live  # no sweep yet: counted live, up to the cap
    reds = re.search(r'data-count="red"><span class="kpi red">(\d+)<', live).group(1)
    rollups.refresh(db, now=clock.moment)  # the scheduler's sweep
    db.commit()
    page = client.get("/desk").get_data(as_text=True)
    assert 'data-as-of="' in page and "10:00" in page
    assert f'data-count="red"><span class="kpi red">{reds}<' in page
    assert 'data-count="yellow"><span class="kpi yellow">2<' in page
    # Yesterday's counts are not today's: the desk counts live again.
    rollups.refresh(db, now=clock.moment - timedelta(days=1))
    db.commit()
    again = client.get("/desk").get_data(as_text=True)
    assert "data-as-of" not in again and f'<span class="kpi red">{reds}<' in again

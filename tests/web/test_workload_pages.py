"""The workload forecast's pages through Flask's test client: the admin page
(charts, tables, each agent's capacity set and validated), the compact
forecast on the lead's desk, and who is refused."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from workflow.core import predict
from workflow.models import AgentCapacity, ItemPrediction, ZoneAuditEvent


@pytest.fixture
def predicted(db, world, clock):
    predict.refresh(db, now=clock.moment)
    db.commit()
    return world


def test_the_admin_sees_each_group_and_agent_as_a_chart_and_a_table(as_user, predicted):
    client, _ = as_user("admin")
    page = client.get("/admin/workload").get_data(as_text=True)
    assert "<svg" in page and 'class="chart load-chart' in page
    equipment = re.search(r'data-scope="group:(\d+)"', page)
    assert equipment
    # 30 working days per chart, each a bar with its own title, and the table.
    first = page[page.index(equipment.group(0)):]
    first = first[:first.index("</figure>")]
    assert first.count('<g class="day') == 30 and first.count("<tr") == 31
    for name in ("alice", "bob", "olga"):
        assert f"<td>{name}</td>" in page


def test_the_page_shows_one_scope_at_a_time(as_user, predicted):
    """Groups (with every agent's figures and capacity), agents' charts and
    departments' charts are tabs: one scope's charts per answer."""
    client, _ = as_user("admin")
    scopes = {}
    for scope in ("", "group", "agent", "department"):
        page = client.get(f"/admin/workload?scope={scope}" if scope else "/admin/workload")
        assert page.status_code == 200
        scopes[scope] = set(re.findall(r'data-scope="(\w+):', page.get_data(as_text=True)))
    assert scopes[""] == scopes["group"] == {"group"}
    assert scopes["agent"] == {"agent"} and scopes["department"] == {"department"}
    agents = client.get("/admin/workload?scope=agent").get_data(as_text=True)
    assert 'name="capacity"' not in agents and 'aria-current="page"' in agents


@pytest.mark.parametrize("bad", ["agents", "GROUP", "\x00", "x" * 500])
def test_an_unknown_scope_is_refused(as_user, predicted, bad):
    client, _ = as_user("admin")
    response = client.get("/admin/workload", query_string={"scope": bad})
    assert response.status_code == 400
    assert "scope" in response.get_data(as_text=True)


def test_an_admin_sets_an_agents_capacity_and_blank_restores_the_default(as_user, predicted, db):
    client, token = as_user("admin")
    alice = predicted["users"]["alice"]
    response = client.post(f"/admin/workload/capacity/{alice.id}",
                           data={"csrf_token": token, "capacity": "3"})
    assert response.status_code == 302
    assert db.get(AgentCapacity, alice.id, populate_existing=True).capacity == 3
    assert db.scalar(select(ZoneAuditEvent.action).where(ZoneAuditEvent.subject == "alice")
                     .order_by(ZoneAuditEvent.seq.desc())) == "user.capacity"
    db.commit()
    page = client.get("/admin/workload").get_data(as_text=True)
    assert re.search(r'name="capacity"[^>]*value="3"', page)
    client.post(f"/admin/workload/capacity/{alice.id}", data={"csrf_token": token, "capacity": ""})
    assert db.get(AgentCapacity, alice.id, populate_existing=True) is None
    db.commit()


@pytest.mark.parametrize("bad", ["0", "501", "-1", "3.5", "abc", "1e3", "\x00"])
def test_a_bad_capacity_is_refused_and_changes_nothing(as_user, predicted, db, bad):
    client, token = as_user("admin")
    alice = predicted["users"]["alice"]
    response = client.post(f"/admin/workload/capacity/{alice.id}",
                           data={"csrf_token": token, "capacity": bad})
    assert response.status_code == 400
    assert db.get(AgentCapacity, alice.id) is None
    db.commit()


def test_only_an_agent_has_a_capacity(as_user, predicted, db):
    client, token = as_user("admin")
    lead = predicted["users"]["lead"]
    response = client.post(f"/admin/workload/capacity/{lead.id}",
                           data={"csrf_token": token, "capacity": "4"})
    assert response.status_code == 400
    assert db.get(AgentCapacity, lead.id) is None
    db.commit()
    assert client.post("/admin/workload/capacity/999999",
                       data={"csrf_token": token, "capacity": "4"}).status_code == 404


@pytest.mark.parametrize("who", ["alice", "acme", "sup", "lead"])
def test_agents_enterprises_supervisors_and_leads_are_refused_the_admin_page(as_user, predicted,
                                                                            who):
    client, token = as_user(who)
    assert client.get("/admin/workload").status_code == 403
    alice = predicted["users"]["alice"]
    assert client.post(f"/admin/workload/capacity/{alice.id}",
                       data={"csrf_token": token, "capacity": "2"}).status_code == 403


def test_the_desk_shows_the_leads_groups_and_agents_forecast(as_user, predicted, db):
    client, _ = as_user("lead")
    page = client.get("/desk").get_data(as_text=True)
    section = page[page.index('id="workload"'):page.index('id="extensions"')]
    assert section.count('data-scope="group:') == 1  # the lead's one group
    assert f'data-agent="{predicted["users"]["alice"].id}"' in section
    assert f'data-agent="{predicted["users"]["olga"].id}"' not in section  # food's
    # The items of the two projects opening today (released now) arrive on the first day.
    group = predicted["users"]["lead"].memberships[0].group_id
    today = db.scalar(select(func.count()).select_from(ItemPrediction).where(
        ItemPrediction.group_id == group, ItemPrediction.predicted_start <= date(2026, 3, 2)))
    db.commit()
    assert today >= 2
    assert f'<td class="nowrap">2026-03-02</td><td>{today}</td><td>0</td><td>{today}</td>' in section

"""The admin pages: users, roles, groups, away and substitutes, definitions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.web.conftest import PASSWORD, csrf_token, login
from workflow.models import Enterprise, GroupMembership, ItemTask, User

NEW_PASSWORD = "a-long-enough-secret"


def fetch(db, username):
    """The user as the database has it now (the read transaction ends at once)."""
    user = db.scalar(select(User).where(User.username == username)
                     .execution_options(populate_existing=True))
    groups = sorted(db.scalars(select(GroupMembership.group_id)
                               .where(GroupMembership.user_id == user.id))) if user else []
    db.commit()
    return user, groups


def count_users(db):
    n = db.scalar(select(func.count(User.id)))
    db.commit()
    return n


def new_agent(**overrides):
    form = {"username": "zhang.wei", "display_name": "张伟", "role": "agent",
            "password": NEW_PASSWORD, "department": "planning", "groups": "equipment"}
    form.update(overrides)
    return form


@pytest.fixture
def admin(as_user):
    return as_user("admin")


def test_admin_creates_a_user_who_can_then_log_in(app, admin, db):
    client, token = admin
    response = client.post("/admin/users", data={"csrf_token": token, **new_agent()})
    assert response.status_code == 302
    user, groups = fetch(db, "zhang.wei")
    assert (user.role, user.department, user.active) == ("agent", "planning", True)
    assert user.password_hash.startswith("$argon2id$")
    assert groups == [f.group(db, "equipment").id]
    db.commit()
    page = client.get("/admin/users?role=agent").get_data(as_text=True)
    assert 'data-user="zhang.wei"' in page and 'data-user="lead"' not in page

    newcomer = app.test_client()
    response = login(newcomer, "zhang.wei", NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert newcomer.get("/inbox").status_code == 200


def test_an_enterprise_user_gets_a_new_enterprise_registered(app, admin, db):
    client, token = admin
    response = client.post("/admin/users", data={
        "csrf_token": token, "username": "bingco", "display_name": "丙公司联系人",
        "role": "enterprise", "password": NEW_PASSWORD, "enterprise_name": "丙新材料有限公司",
        "credit_code": "91140226MA0BINGC01"})
    assert response.status_code == 302
    user, _ = fetch(db, "bingco")
    company = db.get(Enterprise, user.enterprise_id)
    db.commit()
    assert (company.name, company.credit_code) == ("丙新材料有限公司", "91140226MA0BINGC01")
    assert user.department is None
    assert login(app.test_client(), "bingco", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("bad", [
    {"password": "short-11chr"},  # 11 characters: one too few
    {"username": "alice"},  # taken
    {"username": "ALICE"},  # taken, whatever the case
    {"username": "no spaces"},
    {"role": "wizard"},
    {"department": ""},  # an agent needs a department
    {"department": "ministry_of_magic"},
    {"groups": "atlantis"},
    {"role": "enterprise", "department": ""},  # an enterprise user needs an enterprise
    {"role": "supervisor", "groups": "equipment"},  # only agents and leads join groups
])
def test_bad_input_for_a_new_user_is_a_400_and_saves_nothing(admin, db, bad):
    client, token = admin
    before = count_users(db)
    response = client.post("/admin/users", data={"csrf_token": token, **new_agent(**bad)})
    assert response.status_code == 400
    assert "输入有误" in response.get_data(as_text=True)
    assert count_users(db) == before


def test_edit_role_and_groups(admin, world, db):
    client, token = admin
    bob = world["users"]["bob"]
    page = client.get(f"/admin/users/{bob.id}").get_data(as_text=True)
    assert 'data-form="away"' in page and 'value="equipment" checked' in page
    response = client.post(f"/admin/users/{bob.id}/groups",
                           data={"csrf_token": token, "groups": ["equipment", "food"]})
    assert response.status_code == 302
    assert len(fetch(db, "bob")[1]) == 2
    response = client.post(f"/admin/users/{bob.id}/profile", data={
        "csrf_token": token, "display_name": "鲍勃", "role": "lead", "department": "planning"})
    assert response.status_code == 302
    user, groups = fetch(db, "bob")
    assert (user.role, user.display_name, user.department, len(groups)) == ("lead", "鲍勃", None, 2)
    response = client.post(f"/admin/users/{bob.id}/profile", data={
        "csrf_token": token, "display_name": "鲍勃", "role": "supervisor"})
    assert response.status_code == 302
    assert fetch(db, "bob")[1] == []  # a supervisor belongs to no group
    assert "已退出产业组" in client.get(f"/admin/users/{bob.id}").get_data(as_text=True)


def test_away_with_a_substitute_of_the_same_group(admin, world, db):
    client, token = admin
    alice, bob = world["users"]["alice"], world["users"]["bob"]
    response = client.post(f"/admin/users/{bob.id}/away",
                           data={"csrf_token": token, "away": "1", "substitute": "alice"})
    assert response.status_code == 302
    user, _ = fetch(db, "bob")
    assert (user.away, user.substitute_id) == (True, alice.id)
    assert "代理：alice" in client.get("/admin/users").get_data(as_text=True)
    response = client.post(f"/admin/users/{bob.id}/away", data={"csrf_token": token, "away": "0"})
    assert response.status_code == 302
    user, _ = fetch(db, "bob")
    assert (user.away, user.substitute_id) == (False, None)


@pytest.mark.parametrize("who, substitute", [
    ("bob", "olga"),  # olga is in the food group, bob in equipment
    ("bob", "bob"),  # not themselves
    ("bob", "lead"),  # a lead handler is not an agent
    ("bob", ""),  # away needs a substitute
    ("bob", "nobody"),
    ("lead", "alice"),  # only agents are marked away
])
def test_a_bad_substitute_is_a_400_and_saves_nothing(admin, world, db, who, substitute):
    client, token = admin
    response = client.post(f"/admin/users/{world['users'][who].id}/away",
                           data={"csrf_token": token, "away": "1", "substitute": substitute})
    assert response.status_code == 400
    user, _ = fetch(db, who)
    assert (user.away, user.substitute_id) == (False, None)


def test_no_chains_of_substitutes(admin, world, db):
    client, token = admin
    carol = f.user(db, "carol", "agent", groups=("equipment",), department="planning")
    db.commit()
    alice, bob = world["users"]["alice"], world["users"]["bob"]
    assert client.post(f"/admin/users/{alice.id}/away", data={
        "csrf_token": token, "away": "1", "substitute": "bob"}).status_code == 302
    # carol cannot hand her work to alice, who is away herself
    response = client.post(f"/admin/users/{carol.id}/away", data={
        "csrf_token": token, "away": "1", "substitute": "alice"})
    assert response.status_code == 400
    assert "alice也已外出，请选择在岗的代理人。" in response.get_data(as_text=True)
    # bob stands in for alice: he cannot go away, be deactivated or leave the group now
    response = client.post(f"/admin/users/{bob.id}/away", data={
        "csrf_token": token, "away": "1", "substitute": "carol"})
    assert response.status_code == 400
    assert "bob正在代理外出的alice，请先为其另选代理人。" in response.get_data(as_text=True)
    assert client.post(f"/admin/users/{bob.id}/deactivate",
                       data={"csrf_token": token}).status_code == 400
    assert client.post(f"/admin/users/{bob.id}/groups",
                       data={"csrf_token": token, "groups": "food"}).status_code == 400
    assert client.post(f"/admin/users/{bob.id}/profile", data={
        "csrf_token": token, "display_name": "bob", "role": "lead"}).status_code == 400
    user, groups = fetch(db, "bob")
    assert (user.away, user.active, user.role, groups) == (False, True, "agent",
                                                            [f.group(db, "equipment").id])
    db.commit()
    assert fetch(db, "carol")[0].away is False


def test_deactivating_a_user_ends_their_login_and_their_session(app, admin, as_user, world, db):
    client, token = admin
    alice_client, _ = as_user("alice")
    assert alice_client.get("/inbox").status_code == 200
    response = client.post(f"/admin/users/{world['users']['alice'].id}/deactivate",
                           data={"csrf_token": token})
    assert response.status_code == 302
    assert fetch(db, "alice")[0].active is False
    stale = alice_client.get("/inbox")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]
    assert login(app.test_client(), "alice").status_code == 401
    assert 'data-user="alice" class="admin-inactive"' in client.get("/admin/users").get_data(
        as_text=True)
    # reactivated, she logs in again (nothing was deleted)
    client.post(f"/admin/users/{world['users']['alice'].id}/reactivate", data={"csrf_token": token})
    assert login(app.test_client(), "alice").status_code == 302


def test_deactivating_an_agent_warns_about_their_open_work(admin, world, db, clock):
    from workflow.core import operations as ops

    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                            ItemTask.item_code == "u01_survey"))
    ops.claim_task(db, task.id, actor=db.get(User, world["users"]["alice"].id), now=clock.moment)
    db.commit()
    client, token = admin
    response = client.post(f"/admin/users/{world['users']['alice'].id}/deactivate",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "仍有 1 个未办结事项" in response.get_data(as_text=True)


def test_an_admin_cannot_lock_themselves_out(admin, world, db):
    client, token = admin
    me = world["users"]["admin"]
    assert client.post(f"/admin/users/{me.id}/deactivate", data={"csrf_token": token}).status_code == 400
    assert client.post(f"/admin/users/{me.id}/profile", data={
        "csrf_token": token, "display_name": "admin", "role": "agent",
        "department": "planning"}).status_code == 400
    user, _ = fetch(db, "admin")
    assert (user.active, user.role) == (True, "admin")


def test_reset_password(app, admin, as_user, world, db):
    client, token = admin
    bob_client, _ = as_user("bob")
    bob = world["users"]["bob"]
    assert client.post(f"/admin/users/{bob.id}/password",
                       data={"csrf_token": token, "password": "too-short"}).status_code == 400
    assert login(app.test_client(), "bob").status_code == 302  # unchanged
    assert client.post(f"/admin/users/{bob.id}/password",
                       data={"csrf_token": token, "password": NEW_PASSWORD}).status_code == 302
    assert login(app.test_client(), "bob", PASSWORD).status_code == 401
    assert login(app.test_client(), "bob", NEW_PASSWORD).status_code == 302
    assert bob_client.get("/inbox").status_code == 302  # the old session ended


def test_definitions_page_lists_the_version_and_the_14_unified_items(admin, db):
    client, _ = admin
    page = client.get("/admin/definitions").get_data(as_text=True)
    from workflow.kernel.registry import current_version

    version = current_version(db).version
    db.commit()
    assert f'data-version="{version}" class="admin-current"' in page
    assert len(re.findall(r'data-category="unified_service"', page)) == 14
    assert "地形图测绘及土地勘测定界" in page and "daiban init --definitions DIR" in page
    assert 'data-group="equipment"' in page and "装备制造组" in page


def test_definitions_page_shows_the_holiday_schedule_in_force(admin, db, world):
    from tests.factories import at
    from workflow.core import calendar_refresh

    client, _ = admin
    project = f.project(db, at("2027-01-25"), company=world["project"].enterprise)
    db.commit()
    page = client.get("/admin/definitions").get_data(as_text=True)
    published = re.search(r'data-calendar="published">(.*?)</tr>', page, re.S).group(1)
    assert "2004–2026" in published and "chinesecalendar" in published
    assert "2027–2099" in re.search(r'data-calendar="provisional">(.*?)</tr>', page, re.S).group(1)
    upcoming = re.search(r'data-calendar="next">(.*?)</tr>', page, re.S).group(1)
    assert "2027 年暂定放假日" in upcoming and "02-09 春节（补假）" in upcoming
    assert "05-04 劳动节（补假）" in upcoming and "10-05 国庆节（补假）" in upcoming
    assert "尚未记录" in page
    waiting = re.search(r'data-calendar="waiting">(.*?)</tr>', page, re.S).group(1)
    assert ">2<" in waiting.replace(" ", "")  # the 2027 project's survey and filing

    calendar_refresh.check(db, now=at("2027-01-25", 10))
    db.commit()
    assert project.id
    page = client.get("/admin/definitions").get_data(as_text=True)
    stored = re.search(r'data-calendar="stored">(.*?)</tr>', page, re.S).group(1)
    assert "与现行安排一致" in stored and "重算 2 项中的 0 项" in stored


@pytest.mark.parametrize("username", ["alice", "acme", "lead", "sup"])
@pytest.mark.parametrize("path", ["/admin/users", "/admin/definitions", "/admin/users/1"])
def test_only_admins_open_the_admin_pages(as_user, username, path):
    client, _ = as_user(username)
    assert client.get(path).status_code == 403


def test_only_admins_post_to_the_admin_pages(as_user, world, db):
    client, token = as_user("lead")
    before = count_users(db)
    response = client.post("/admin/users", data={"csrf_token": token, **new_agent()})
    assert response.status_code == 403 and count_users(db) == before
    response = client.post(f"/admin/users/{world['users']['alice'].id}/deactivate",
                           data={"csrf_token": token})
    assert response.status_code == 403 and fetch(db, "alice")[0].active


def test_anonymous_visitors_are_sent_to_the_login(app):
    response = app.test_client().get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert csrf_token(app.test_client())  # the login page still renders


def test_an_admin_change_through_the_pages_is_in_the_change_log(admin, as_user, db):
    """The engine writes it in the request's transaction, marked as from the web,
    and the admin reads it on /admin/changes; nobody else may."""
    from workflow.models import ZoneAuditEvent

    client, token = admin
    assert client.post("/admin/users", data={"csrf_token": token, **new_agent()}).status_code == 302
    event = db.scalar(select(ZoneAuditEvent).where(ZoneAuditEvent.subject == "user:zhang.wei"))
    db.commit()
    assert (event.action, event.via) == ("user.created", "web")
    page = client.get("/admin/changes").get_data(as_text=True)
    assert f'data-change="{event.seq}"' in page and "user:zhang.wei" in page and "网页" in page
    for other in ("sup", "lead"):
        visitor, _ = as_user(other)
        assert visitor.get("/admin/changes").status_code == 403

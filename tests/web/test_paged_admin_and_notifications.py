"""The admin's lists (users, failed deliveries, credit records), the
notifications and the open notices as pages in the browser: the next and
previous links walk every row once, keep the filters, and a bad cursor,
limit or filter is a clear 400."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from tests import factories as f
from workflow.models import CreditRecord, Notification, OutboxMessage, SupervisionNotice, User

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def link(page: str, param: str = "cursor", rel: str = "next") -> str | None:
    nav = re.search(rf'<nav class="pager"[^>]*data-pager="{param}">(.*?)</nav>', page, re.S)
    found = nav and re.search(rf'rel="{rel}" href="([^"]+)"', nav.group(1))
    return html.unescape(found.group(1)) if found else None


def walk(client, url: str, attr: str, param: str = "cursor") -> tuple[list[list[str]], list[str]]:
    """The rows (``attr`` values) of every page from ``url`` on, and the URLs read."""
    pages, urls = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        pages.append(re.findall(rf'{attr}="([^"]+)"', page))
        urls.append(url)
        url = link(page, param)
    return pages, urls


def flat(pages):
    return [row for page in pages for row in page]


# -- /admin/users ----------------------------------------------------------------------------

@pytest.fixture
def crowd(db, world):
    """130 enterprise accounts, every fourth deactivated."""
    company = world["project"].enterprise_id
    db.execute(insert(User), [{"username": f"ent{n:04d}", "display_name": f"企业联系人{n}",
                               "role": "enterprise", "enterprise_id": company,
                               "active": n % 4 != 0, "away": False} for n in range(130)])
    db.commit()


def test_the_user_list_pages_with_its_filters_kept(as_user, db, crowd):
    client, _ = as_user("admin")
    expected = db.scalars(select(User.username).where(User.role == "enterprise",
                                                      User.active.is_(True))
                          .order_by(User.username, User.id)).all()
    db.commit()
    pages, urls = walk(client, "/admin/users?role=enterprise&active=1&limit=40", "data-user")
    assert flat(pages) == expected and [len(p) for p in pages] == [40, 40, 19]
    assert all("role=enterprise" in u and "active=1" in u and "limit=40" in u for u in urls)
    back = client.get(urls[1]).get_data(as_text=True)
    previous = client.get(link(client.get(urls[2]).get_data(as_text=True), rel="prev"))
    assert re.findall(r'data-user="([^"]+)"', previous.get_data(as_text=True)) == \
        re.findall(r'data-user="([^"]+)"', back)


def test_the_user_list_is_by_role_then_username_across_pages(as_user, db, crowd):
    client, _ = as_user("admin")
    expected = db.scalars(select(User.username).order_by(User.role, User.username, User.id)).all()
    db.commit()
    pages, _ = walk(client, "/admin/users?limit=50", "data-user")
    assert flat(pages) == expected and len(pages) == 3
    searched, _ = walk(client, "/admin/users?q=ENT012&limit=3", "data-user")
    assert flat(searched) == [f"ent{n:04d}" for n in range(120, 130)]


@pytest.mark.parametrize("query", [
    "cursor=not-a-cursor", "limit=0", "limit=201", "limit=abc", "role=mayor", "active=2",
    "q=a%00b", "group=nowhere", "cursor=" + "A" * 3000,
])
def test_bad_arguments_of_the_user_list_are_a_400(as_user, crowd, query):
    client, _ = as_user("admin")
    assert client.get(f"/admin/users?{query}").status_code == 400


# -- /admin/deliveries -----------------------------------------------------------------------

def test_failed_deliveries_page_newest_first_and_a_retry_returns_to_its_page(as_user, db, world):
    db.execute(insert(OutboxMessage), [
        {"channel": "email", "recipient": f"r{n}@example.org", "subject": f"s{n}", "body": "",
         "dedupe_key": f"web:{n}", "status": "failed" if n % 4 else "sent", "attempts": 6,
         "next_attempt_at": T0, "created_at": T0 + timedelta(minutes=n // 3)} for n in range(100)])
    db.commit()
    expected = [str(i) for i in db.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))]
    db.commit()
    client, token = as_user("admin")
    pages, urls = walk(client, "/admin/deliveries?limit=30", "data-delivery")
    assert flat(pages) == expected and [len(p) for p in pages] == [30, 30, 15]
    assert 'data-failed="75"' in client.get(urls[0]).get_data(as_text=True)
    target = pages[1][0]
    response = client.post(f"/admin/deliveries/{target}/retry",
                           data={"csrf_token": token, "next": urls[1]})
    assert response.status_code == 302 and response.headers["Location"].endswith(urls[1])
    assert db.get(OutboxMessage, int(target)).status == "pending"
    db.commit()
    assert client.get("/admin/deliveries?cursor=x").status_code == 400


# -- /admin/credit ---------------------------------------------------------------------------

@pytest.fixture
def credit(db, world):
    companies = [world["project"].enterprise_id, world["rival"].enterprise_id]
    db.execute(insert(CreditRecord), [
        {"enterprise_id": companies[n % 2], "severity": ("minor", "serious")[n % 3 == 0],
         "source": "gap_expired", "reason": f"原因{n}", "created_at": T0 + timedelta(hours=n // 2),
         "cleared_at": T0 + timedelta(days=30) if n % 5 == 0 else None} for n in range(60)])
    db.commit()
    return companies


def credit_ids(db, *where):
    found = [str(i) for i in db.scalars(select(CreditRecord.id).where(*where).order_by(
        CreditRecord.created_at.desc(), CreditRecord.id.desc()))]
    db.commit()
    return found


def test_credit_records_page_with_their_filters(as_user, db, credit):
    client, _ = as_user("admin")
    pages, urls = walk(client, "/admin/credit?severity=serious&cleared=no&limit=4", "data-credit")
    assert flat(pages) == credit_ids(db, CreditRecord.severity == "serious",
                                     CreditRecord.cleared_at.is_(None))
    assert len(pages) > 2 and all("severity=serious" in u and "cleared=no" in u for u in urls)
    everything, _ = walk(client, "/admin/credit?limit=25", "data-credit")
    assert flat(everything) == credit_ids(db)


def test_credit_records_of_one_enterprise_by_link_or_credit_code(as_user, db, world, credit):
    client, _ = as_user("admin")
    rival = credit[1]
    page = client.get("/admin/credit").get_data(as_text=True)
    assert f'href="/admin/credit?enterprise={rival}"' in page
    by_link, _ = walk(client, f"/admin/credit?enterprise={rival}&limit=7", "data-credit")
    assert flat(by_link) == credit_ids(db, CreditRecord.enterprise_id == rival)
    code = world["rival"].enterprise.credit_code
    db.commit()
    by_code, _ = walk(client, f"/admin/credit?code={code.lower()}&limit=7", "data-credit")
    assert flat(by_code) == flat(by_link)
    shown = client.get(f"/admin/credit?code={code}").get_data(as_text=True)
    assert "乙制造有限公司" in shown
    unknown = client.get("/admin/credit?code=91140226MA99999999").get_data(as_text=True)
    assert "data-credit=" not in unknown and "没有使用该信用代码的企业" in unknown


def test_clearing_a_record_returns_to_the_filtered_page(as_user, db, credit):
    client, token = as_user("admin")
    url = "/admin/credit?cleared=no&severity=minor"
    record = credit_ids(db, CreditRecord.cleared_at.is_(None), CreditRecord.severity == "minor")[0]
    response = client.post(f"/admin/credit/{record}/clear",
                           data={"csrf_token": token, "note": "已修复", "next": url})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert record not in credit_ids(db, CreditRecord.cleared_at.is_(None))


@pytest.mark.parametrize("query", [
    "severity=grave", "cleared=maybe", "enterprise=abc", "enterprise=99999999999", "code=123",
    "cursor=%%%", "limit=500",
])
def test_bad_arguments_of_the_credit_list_are_a_400(as_user, credit, query):
    client, _ = as_user("admin")
    assert client.get(f"/admin/credit?{query}").status_code == 400


# -- /notifications --------------------------------------------------------------------------

@pytest.fixture
def inbox_full(db, world):
    """300 unread notifications for acme (more than any page), 5 for other."""
    acme, other = world["users"]["acme"], world["users"]["other"]
    db.execute(insert(Notification), [
        {"user_id": acme.id, "kind": "info", "title": f"第{n}条", "body": "",
         "created_at": T0 + timedelta(minutes=n // 2), "read_at": T0 if n % 2 else None}
        for n in range(600)] + [
        {"user_id": other.id, "kind": "info", "title": "别人的", "body": "", "created_at": T0}
        for _ in range(5)])
    db.commit()
    return acme, other


def notification_ids(db, user, unread=False):
    query = select(Notification.id).where(Notification.user_id == user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    found = [str(i) for i in db.scalars(query.order_by(Notification.created_at.desc(),
                                                       Notification.id.desc()))]
    db.commit()
    return found


def test_notifications_page_newest_first_all_or_unread(as_user, db, inbox_full):
    acme, _ = inbox_full
    client, _ = as_user("acme")
    pages, _ = walk(client, "/notifications?limit=200", "data-notification")
    assert flat(pages) == notification_ids(db, acme) and len(pages) >= 3
    unread, urls = walk(client, "/notifications?unread=1", "data-notification")
    assert flat(unread) == notification_ids(db, acme, unread=True) and len(unread) >= 6
    assert all("unread=1" in u for u in urls)


def test_mark_all_read_reads_every_one_of_mine_and_none_of_theirs(as_user, db, inbox_full):
    acme, other = inbox_full
    theirs = notification_ids(db, other, unread=True)
    client, token = as_user("acme")
    response = client.post("/notifications/read", data={"csrf_token": token, "all": "1",
                                                         "next": "/notifications?unread=1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("?unread=1")
    assert notification_ids(db, acme, unread=True) == []
    assert notification_ids(db, other, unread=True) == theirs and len(theirs) >= 5
    assert 'class="unread"' not in client.get("/notifications").get_data(as_text=True)


def test_ticked_notifications_are_a_page_at_most(as_user, db, inbox_full):
    acme, _ = inbox_full
    client, token = as_user("acme")
    mine = notification_ids(db, acme, unread=True)
    too_many = client.post("/notifications/read", data={"csrf_token": token, "id": mine[:201]})
    assert too_many.status_code == 400
    for bad in ("abc", "-1", "99999999999", "1.5"):
        response = client.post("/notifications/read", data={"csrf_token": token, "id": bad})
        assert response.status_code == 400
    assert notification_ids(db, acme, unread=True) == mine
    client.post("/notifications/read", data={"csrf_token": token, "id": mine[:200]})
    assert notification_ids(db, acme, unread=True) == mine[200:]


def test_bad_page_arguments_of_the_notifications_are_a_400(as_user, inbox_full):
    client, _ = as_user("acme")
    for query in ("cursor=zzz", "notices=zzz", "limit=0"):
        assert client.get(f"/notifications?{query}").status_code == 400


# -- open notices ----------------------------------------------------------------------------

@pytest.fixture
def notices(db, world):
    """Seven open notices for alice (and one answered)."""
    task = f.task(world["project"], "u01_survey")
    db.execute(insert(SupervisionNotice), [
        {"task_id": task.id, "project_id": task.project_id, "level": "manual",
         "addressee_id": world["users"]["alice"].id, "reason": f"请说明进度{n}",
         "issued_at": T0 + timedelta(hours=n), "ack_due": T0.date(), "report_due": T0.date(),
         "closed_at": T0 if n == 7 else None} for n in range(8)])
    db.commit()
    found = [str(i) for i in db.scalars(select(SupervisionNotice.id).where(
        SupervisionNotice.closed_at.is_(None)).order_by(SupervisionNotice.issued_at))]
    db.commit()
    return found


def test_the_inbox_shows_the_oldest_notices_with_the_count_and_a_link(as_user, notices):
    client, _ = as_user("alice")
    page = client.get("/inbox").get_data(as_text=True)
    assert re.findall(r'data-notice="(\d+)"', page) == notices[:5]
    assert "共 7 份" in page and 'href="/notifications#notices"' in page


def test_the_notifications_page_walks_every_open_notice(as_user, notices):
    client, _ = as_user("alice")
    pages, urls = walk(client, "/notifications?limit=3", "data-notice", param="notices")
    assert flat(pages) == notices and [len(p) for p in pages] == [3, 3, 1]
    assert all("notices=" in u for u in urls[1:])
    assert "共 7 份" in client.get(urls[-1]).get_data(as_text=True)
    full = client.get("/notifications").get_data(as_text=True)
    assert re.findall(r'data-notice="(\d+)"', full) == notices
    assert 'data-pager="notices"' not in full and "共 7 份" not in full

"""The admin's lists and each user's notifications, paged in the database on
both databases: every row once and in order, page after page and back;
filters combined with paging; stable while rows are inserted; bad filters
and cursors refused; "mark all read" touches only the user's own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests import factories as f
from tests.factories import at
from tests.pages import walk
from workflow.accounts import users as accounts
from workflow.accounts.users import UserFilter
from workflow.core import notify, supervision
from workflow.kernel import outbox, paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.moments import aware
from workflow.models import (
    CreditRecord,
    GroupMembership,
    IndustryGroup,
    Notification,
    OutboxMessage,
    SupervisionNotice,
    User,
)
from workflow.reforms import commitments as cm

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def ids(pages):
    return [row.id for page in pages for row in page]


# -- users -----------------------------------------------------------------------------------

@pytest.fixture
def people(session):
    """Users of every role, some deactivated, some in the equipment group;
    display names that repeat, usernames that sort apart from their ids."""
    equipment = f.group(session, "equipment").id
    rows = []
    for n in range(90):
        role = ("enterprise", "enterprise", "agent", "lead", "supervisor", "admin")[n % 6]
        rows.append({"username": f"u{(n * 37) % 90:03d}", "display_name": f"张{n % 4}_%",
                     "role": role, "active": n % 5 != 0, "away": False})
    session.execute(insert(User), rows)
    session.flush()
    staff = session.scalars(select(User.id).where(User.role.in_(("agent", "lead")),
                                                  User.username.like("u%"))).all()
    session.execute(insert(GroupMembership),
                    [{"group_id": equipment, "user_id": uid} for uid in staff[::2]])
    session.flush()
    return session.scalars(select(User).order_by(User.role, User.username, User.id)).all()


def users_of(session, filters):
    return lambda cursor, limit: accounts.list_users(session, filters, cursor=cursor, limit=limit)


def in_group(session, code):
    return set(session.scalars(select(GroupMembership.user_id).join(IndustryGroup)
                               .where(IndustryGroup.code == code)))


def test_the_user_list_pages_by_role_then_username(session, people):
    pages = walk(users_of(session, UserFilter()), 7)
    assert ids(pages) == [u.id for u in people]
    assert all(len(p) == 7 for p in pages[:-1]) and pages[-1].next is None
    assert pages[0].first and pages[0].prev is None and not pages[1].first
    back = accounts.list_users(session, UserFilter(), cursor=pages[3].prev, limit=7)
    assert [u.id for u in back] == [u.id for u in pages[2]]


@pytest.mark.parametrize("filters", [
    UserFilter(role="enterprise"), UserFilter(active=False), UserFilter(active=True, role="agent"),
    UserFilter(group="equipment"), UserFilter(group="equipment", active=True),
    UserFilter(text="U01"), UserFilter(text="张2"), UserFilter(text="_%", role="lead"),
])
def test_user_filters_combine_with_paging(session, people, filters):
    members = in_group(session, "equipment")

    def keeps(u):
        return ((filters.role is None or u.role == filters.role)
                and (filters.active is None or u.active == filters.active)
                and (filters.group is None or u.id in members)
                and (filters.text is None or filters.text.lower() in u.username.lower()
                     or filters.text.lower() in u.display_name.lower()))

    expected = [u.id for u in people if keeps(u)]
    assert expected  # the filter keeps some rows and drops others
    assert len(expected) < len(people)
    assert ids(walk(users_of(session, filters), 4)) == expected


def test_a_text_filter_matches_wildcards_literally(session, people):
    f.user(session, "plain", "agent")
    assert "plain" not in [u.username for u in accounts.list_users(session, UserFilter(text="%"))]
    assert [u.username for u in accounts.list_users(session, UserFilter(text="plai_"))] == []


def test_users_added_meanwhile_neither_repeat_nor_shift_the_pages(session, people):
    first = accounts.list_users(session, UserFilter(), limit=20)
    session.execute(insert(User), [
        {"username": "a000", "display_name": "x", "role": "admin", "active": True, "away": False},
        {"username": "zzz", "display_name": "x", "role": "supervisor", "active": True, "away": False},
        {"username": "u0445", "display_name": "x", "role": "agent", "active": False, "away": False}])
    session.flush()
    rest = ids(walk(lambda cursor, limit: accounts.list_users(
        session, UserFilter(), cursor=cursor or first.next, limit=limit), 20))
    everything = session.scalars(select(User.id).order_by(User.role, User.username, User.id)).all()
    assert rest == everything[everything.index(first.rows[-1].id) + 1:]
    assert not set(rest) & {u.id for u in first}
    # The new admin sorts before the first page (not shown), the new supervisor after it.
    added = dict(session.execute(select(User.username, User.id).where(
        User.username.in_(("a000", "zzz"))), ).all())
    assert added["zzz"] in rest and added["a000"] not in rest


@pytest.mark.parametrize("args", [
    {"role": "mayor"}, {"active": "yes"}, {"active": 2}, {"text": "a\x00b"}, {"text": "x" * 101},
    {"group": "g\x07"}, {"group": "g" * 65},
])
def test_bad_user_filters_are_refused(args):
    """The web parses the query arguments (``web.views.admin.UserArgs``); the
    engine's filter checks its typed values again."""
    with pytest.raises(ValidationError):
        UserFilter(**args)


def test_an_unknown_group_or_a_foreign_cursor_is_refused(session, people):
    with pytest.raises(ValidationError):
        accounts.list_users(session, UserFilter(group="nowhere"))
    agents = accounts.list_users(session, UserFilter(role="agent"), limit=3)
    with pytest.raises(paging.BadCursor):  # a cursor of another role filter
        accounts.list_users(session, UserFilter(), cursor=agents.next)
    with pytest.raises(paging.BadCursor):
        accounts.list_users(session, UserFilter(), cursor="bm90IGEgY3Vyc29y")
    with pytest.raises(ValidationError):
        accounts.list_users(session, UserFilter(), limit=201)


# -- notifications -----------------------------------------------------------------------------

@pytest.fixture
def told(session):
    """70 notifications for a reader (several at the same minute, every third
    read) and 10 for somebody else."""
    reader, other = f.user(session, "reader", "agent"), f.user(session, "other", "agent")
    session.execute(insert(Notification), [
        {"user_id": reader.id, "kind": "info", "title": f"n{n}", "body": "",
         "created_at": T0 + timedelta(minutes=n // 3), "read_at": T0 if n % 3 == 0 else None}
        for n in range(70)] + [
        {"user_id": other.id, "kind": "info", "title": "theirs", "body": "", "created_at": T0}
        for _ in range(10)])
    session.flush()
    return reader, other


def newest_first(session, user, unread=False):
    query = select(Notification.id).where(Notification.user_id == user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    return session.scalars(query.order_by(Notification.created_at.desc(),
                                          Notification.id.desc())).all()


def test_notifications_page_newest_first_all_or_unread(session, told):
    reader, _ = told
    for unread in (False, True):
        pages = walk(lambda cursor, limit, unread=unread: notify.notifications_for(
            session, reader, unread_only=unread, cursor=cursor, limit=limit), 9)
        assert ids(pages) == newest_first(session, reader, unread)
        back = notify.notifications_for(session, reader, unread_only=unread,
                                        cursor=pages[2].prev, limit=9)
        assert [n.id for n in back] == [n.id for n in pages[1]]


def test_new_notifications_do_not_shift_the_pages_being_read(session, told):
    reader, _ = told
    first = notify.notifications_for(session, reader, limit=10)
    session.execute(insert(Notification), [
        {"user_id": reader.id, "kind": "info", "title": "new", "body": "",
         "created_at": T0 + timedelta(hours=5)}])
    session.flush()
    second = notify.notifications_for(session, reader, cursor=first.next, limit=10)
    before = newest_first(session, reader)
    start = before.index(first.rows[-1].id) + 1
    assert [n.id for n in second] == before[start:start + 10]


def test_mark_all_read_is_one_update_of_the_users_own_unread_rows(session, told):
    reader, other = told
    unread = len(newest_first(session, reader, unread=True))
    assert int(notify.unread_count(session, reader)) == unread
    assert notify.mark_all_read(session, reader, T0 + timedelta(days=1)) == unread
    assert newest_first(session, reader, unread=True) == []
    assert len(newest_first(session, other, unread=True)) == 10
    assert notify.mark_all_read(session, reader, T0 + timedelta(days=1)) == 0


def test_mark_all_read_before_a_moment_leaves_the_later_ones(session, told):
    reader, _ = told
    cut = T0 + timedelta(minutes=10)
    notify.mark_all_read(session, reader, cut, before=cut)
    left = session.scalars(select(Notification).where(Notification.user_id == reader.id,
                                                      Notification.read_at.is_(None))).all()
    assert left and all(aware(n.created_at) >= cut for n in left)
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == reader.id, Notification.read_at.is_(None),
        Notification.created_at < cut)) == 0


def test_ticked_ids_are_at_most_a_page_and_in_range(session, told):
    reader, other = told
    theirs = newest_first(session, other)
    assert notify.mark_read(session, reader, theirs, T0) == 0
    with pytest.raises(ValidationError):
        notify.mark_read(session, reader, list(range(1, 203)), T0)
    for bad in (0, -3, 2**31, 10**20):
        with pytest.raises(ValidationError):
            notify.mark_read(session, reader, [bad], T0)
    assert len(newest_first(session, other, unread=True)) == 10


def test_the_unread_badge_is_a_capped_count(session):
    reader = f.user(session, "flooded", "enterprise")
    session.execute(insert(Notification), [
        {"user_id": reader.id, "kind": "info", "title": "x", "body": "", "created_at": T0}
        for _ in range(paging.COUNT_CAP + 1)])
    session.flush()
    badge = notify.unread_count(session, reader)
    assert (badge.value, badge.exact, str(badge)) == (paging.COUNT_CAP, False, f"{paging.COUNT_CAP:,}+")


# -- failed deliveries ---------------------------------------------------------------------------

def message(n, status, minute):
    return {"channel": "email", "recipient": f"r{n}@example.org", "subject": f"s{n}", "body": "",
            "dedupe_key": f"test:{n}", "status": status, "attempts": 6,
            "next_attempt_at": T0, "created_at": T0 + timedelta(minutes=minute)}


def test_failed_deliveries_page_newest_first_and_only_failed_ones(session):
    session.execute(insert(OutboxMessage), [
        message(n, "failed" if n % 3 else "sent", n // 2) for n in range(60)])
    session.flush()
    expected = session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "failed")
                               .order_by(OutboxMessage.created_at.desc(),
                                         OutboxMessage.id.desc())).all()
    pages = walk(lambda cursor, limit: outbox.failed_deliveries(session, cursor=cursor,
                                                                limit=limit), 6)
    assert ids(pages) == expected and len(expected) >= 40
    assert int(outbox.failed_count(session)) == len(expected)
    # A message failing meanwhile is newer: it does not shift the next page.
    session.execute(insert(OutboxMessage), [message(99, "failed", 500)])
    session.flush()
    second = outbox.failed_deliveries(session, cursor=pages[0].next, limit=6)
    assert [m.id for m in second] == [m.id for m in pages[1]]
    with pytest.raises(paging.BadCursor):
        outbox.failed_deliveries(session, cursor=pages[0].next + "x")


# -- credit records ------------------------------------------------------------------------------

@pytest.fixture
def records(session):
    """48 records on three enterprises, both severities, a quarter cleared,
    several created at the same moment."""
    companies = [f.enterprise(session) for _ in range(3)]
    session.execute(insert(CreditRecord), [
        {"enterprise_id": companies[n % 3].id, "severity": ("minor", "serious")[n % 2],
         "source": "gap_expired", "reason": f"r{n}", "created_at": T0 + timedelta(hours=n // 4),
         "cleared_at": T0 + timedelta(days=9) if n % 4 == 1 else None} for n in range(48)])
    session.flush()
    return companies


def all_records(session):
    return session.scalars(select(CreditRecord).order_by(CreditRecord.created_at.desc(),
                                                         CreditRecord.id.desc())).all()


@pytest.mark.parametrize("which", [
    {}, {"severity": "serious"}, {"cleared": True}, {"cleared": False},
    {"enterprise": 1}, {"enterprise": 0, "severity": "minor", "cleared": False}, {"code": 2},
])
def test_credit_records_page_newest_first_with_their_filters(session, records, which):
    args = dict(which)
    if "enterprise" in args:
        args["enterprise_id"] = records[args.pop("enterprise")].id
    if "code" in args:
        args["credit_code"] = records[args.pop("code")].credit_code
    company = args.get("enterprise_id") or (records[2].id if "credit_code" in args else None)
    expected = [r.id for r in all_records(session)
                if (company is None or r.enterprise_id == company)
                and r.severity == args.get("severity", r.severity)
                and ("cleared" not in args or (r.cleared_at is not None) == args["cleared"])]
    assert expected
    pages = walk(lambda cursor, limit: cm.credit_records(session, **args, cursor=cursor,
                                                         limit=limit), 5)
    assert ids(pages) == expected
    if len(pages) > 2:
        back = cm.credit_records(session, **args, cursor=pages[2].prev, limit=5)
        assert [r.id for r in back] == [r.id for r in pages[1]]


def test_an_unknown_credit_code_finds_no_records(session, records):
    assert cm.credit_records(session, credit_code="91140226MA99999999").rows == []


# -- open notices of the addressee ---------------------------------------------------------------

@pytest.fixture
def noticed(session):
    """12 open notices for one agent (two issued at the same moment), 3
    closed ones, and 4 open for somebody else."""
    agent, other = f.user(session, "noticed", "agent"), f.user(session, "bystander", "agent")
    project = f.project(session, at("2026-03-02"))
    task = project.tasks[0]

    def row(user, n, closed=False):
        return {"task_id": task.id, "project_id": project.id, "level": "manual",
                "addressee_id": user.id, "reason": f"督办{n}",
                "issued_at": T0 + timedelta(hours=n // 2 * 2), "ack_due": T0.date(),
                "report_due": T0.date(), "closed_at": T0 if closed else None}

    session.execute(insert(SupervisionNotice), [row(agent, n) for n in range(12)]
                    + [row(agent, n, closed=True) for n in range(3)]
                    + [row(other, n) for n in range(4)])
    session.flush()
    return agent


def test_the_inbox_shows_the_oldest_open_notices_with_their_count(session, noticed):
    expected = session.scalars(select(SupervisionNotice.id).where(
        SupervisionNotice.addressee_id == noticed.id, SupervisionNotice.closed_at.is_(None))
        .order_by(SupervisionNotice.issued_at, SupervisionNotice.id)).all()
    shown = supervision.open_notices_for(session, noticed)
    assert [n.id for n in shown] == expected[:supervision.NOTICES_IN_VIEW]
    assert shown.next and str(shown.extras["count"]) == "12"
    pages = walk(lambda cursor, limit: supervision.open_notices_for(session, noticed,
                                                                    cursor=cursor, limit=limit), 5)
    assert ids(pages) == expected
    assert [str(p.extras["count"]) for p in pages] == ["12", "12", "12"]


def test_a_few_open_notices_all_show_with_their_exact_count(session, noticed):
    other = session.scalar(select(User).where(User.username == "bystander"))
    page = supervision.open_notices_for(session, other)
    assert len(page) == 4 and page.next is None and page.extras["count"] == paging.Count(4, True)

"""Keyset pagination (``workflow.kernel.paging``) on both databases: every row once,
in order, page after page and back; stable while rows are inserted; segments
and branches; and cursors that do not belong are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from tests import factories as f
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.paging import Key, Keyset, Order, Segment
from workflow.models import Enterprise, Notification


@pytest.fixture
def companies(session):
    """60 enterprises whose names repeat (ties broken by id)."""
    session.execute(insert(Enterprise), [{"name": f"企业{n % 7:02d}"} for n in range(60)])
    session.flush()
    return list(session.scalars(select(Enterprise).order_by(Enterprise.name, Enterprise.id)))


BY_NAME = Order.by("companies", Key(Enterprise.name, str), Key(Enterprise.id, int))
BY_NAME_DESC = Order.by("companies-desc", Key(Enterprise.name, str, descending=True),
                        Key(Enterprise.id, int))


def walk(session, query, order, limit):
    pages, cursor = [], None
    while True:
        page = paging.fetch(session, query, order, cursor=cursor, limit=limit)
        pages.append(page)
        if page.next is None:
            return pages
        cursor = page.next


def test_pages_cover_every_row_once_in_order(session, companies):
    pages = walk(session, select(Enterprise), BY_NAME, 25)
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [e.id for p in pages for e in p] == [e.id for e in companies]
    assert pages[0].first and pages[0].prev is None
    assert not pages[1].first and pages[1].prev is not None
    assert pages[-1].next is None


def test_previous_goes_back_exactly_one_page(session, companies):
    pages = walk(session, select(Enterprise), BY_NAME, 25)
    back = paging.fetch(session, select(Enterprise), BY_NAME, cursor=pages[2].prev, limit=25)
    assert [e.id for e in back] == [e.id for e in pages[1]]
    assert back.next is not None and back.prev is not None
    # Going back from the second page lands on a full first page.
    first = paging.fetch(session, select(Enterprise), BY_NAME, cursor=pages[1].prev, limit=25)
    assert [e.id for e in first] == [e.id for e in pages[0]] and first.prev is None and first.first


def test_mixed_directions_and_filters_page_in_sql(session, companies):
    query = select(Enterprise).where(Enterprise.name != "企业03")
    pages = walk(session, query, BY_NAME_DESC, 7)
    expected = sorted((e for e in companies if e.name != "企业03"), key=lambda e: e.id)
    expected = sorted(expected, key=lambda e: e.name, reverse=True)
    assert [e.id for p in pages for e in p] == [e.id for e in expected]
    assert all(len(p) == 7 for p in pages[:-1])


def test_rows_inserted_meanwhile_neither_repeat_nor_shift(session, companies):
    query = select(Enterprise)
    first = paging.fetch(session, query, BY_NAME, limit=20)
    # New rows sort both before and after the page boundary.
    session.execute(insert(Enterprise), [{"name": "企业00"}, {"name": "企业06"}, {"name": "甲"}])
    session.flush()
    rest = []
    cursor = first.next
    while cursor:
        page = paging.fetch(session, query, BY_NAME, cursor=cursor, limit=20)
        rest.extend(page.rows)
        cursor = page.next
    seen = [e.id for e in first] + [e.id for e in rest]
    assert len(seen) == len(set(seen))
    boundary = (first.rows[-1].name, first.rows[-1].id)
    everything = session.scalars(select(Enterprise).order_by(Enterprise.name, Enterprise.id)).all()
    assert [e.id for e in rest] == [e.id for e in everything if (e.name, e.id) > boundary]


def test_segments_are_read_one_after_the_other(session, companies):
    """Names 企业05 and 企业06 first (newest first), then the rest by name."""
    late = Enterprise.name.in_(("企业05", "企业06"))
    order = Order("segments", (
        Segment(Keyset(Key(Enterprise.id, int, descending=True)), where=(late,)),
        Segment(Keyset(Key(Enterprise.name, str), Key(Enterprise.id, int)), where=(~late,)),
    ))
    pages = walk(session, select(Enterprise), order, 6)
    shown = [e.id for p in pages for e in p]
    first = sorted((e.id for e in companies if e.name in ("企业05", "企业06")), reverse=True)
    rest = [e.id for e in companies if e.name not in ("企业05", "企业06")]
    assert shown == first + rest
    # Every page but the last is full, across the segment boundary too.
    assert all(len(p) == 6 for p in pages[:-1])
    back = paging.fetch(session, select(Enterprise), order, cursor=pages[3].prev, limit=6)
    assert [e.id for e in back] == [e.id for e in pages[2]]


def test_branches_merge_index_ordered_scans(session, companies):
    order = Order.by("branches", Key(Enterprise.name, str), Key(Enterprise.id, int),
                     branches=(Enterprise.name == "企业01", Enterprise.name == "企业04",
                               Enterprise.name == "企业02"))
    pages = walk(session, select(Enterprise), order, 5)
    expected = [e.id for e in companies if e.name in ("企业01", "企业02", "企业04")]
    assert [e.id for p in pages for e in p] == expected


def test_column_rows_keep_their_names(session, companies):
    query = select(Enterprise.id, Enterprise.name)
    page = paging.fetch(session, query, BY_NAME, limit=3)
    assert [(r.id, r.name) for r in page] == [(e.id, e.name) for e in companies[:3]]


def test_datetime_keys_round_trip(session):
    user = f.user(session, "reader", "agent")
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    session.execute(insert(Notification), [
        {"user_id": user.id, "kind": "info", "title": f"n{n}", "body": "",
         "created_at": start + timedelta(minutes=n // 3)} for n in range(30)])
    session.flush()
    order = Order.by("notes", Key(Notification.created_at, datetime, descending=True),
                     Key(Notification.id, int, descending=True))
    pages = walk(session, select(Notification).where(Notification.user_id == user.id), order, 4)
    shown = [n.id for p in pages for n in p]
    expected = session.scalars(select(Notification.id).where(Notification.user_id == user.id)
                               .order_by(Notification.created_at.desc(), Notification.id.desc())).all()
    assert shown == expected


def _forge(body) -> str:
    return _forge_raw(json.dumps(body))


def _forge_raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_boundary_with_chinese_spacing_still_pages(session):
    """An ideographic space (U+3000) or a no-break space in a sort key is text
    like any other: the next page's link must work."""
    names = [f"企业\u3000{n:02d}" for n in range(6)] + [f"企业\u00a0{n:02d}" for n in range(6)]
    session.execute(insert(Enterprise), [{"name": name} for name in names])
    session.flush()
    pages = walk(session, select(Enterprise), BY_NAME, 5)
    assert sorted(e.name for p in pages for e in p) == sorted(names)


@pytest.mark.parametrize("cursor", [
    "%%%", "bm90IGpzb24", _forge_raw("[" * 1100), _forge({"a": 1}), _forge(["other", "a", 0, "x", 1]),
    _forge(["companies", "a", 1, "x", 1]), _forge(["companies", "z", 0, "x", 1]),
    _forge(["companies", "a", 0, "x"]), _forge(["companies", "a", 0, 5, 1]),
    _forge(["companies", "a", 0, "x", 99999999999999999999]), _forge(["companies", "a", 0, "x", "1"]),
    _forge(["companies", "a", 0, "a\x00b", 1]), _forge(["companies", "a", True, "x", 1]),
    "A" * 3000,
])
def test_a_cursor_that_does_not_belong_is_refused(session, companies, cursor):
    with pytest.raises(ValidationError) as refused:
        paging.fetch(session, select(Enterprise), BY_NAME, cursor=cursor)
    assert refused.value.details["field"] == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 201, True])
def test_page_sizes_are_bounded(session, limit):
    with pytest.raises(ValidationError):
        paging.fetch(session, select(Enterprise), BY_NAME, limit=limit)


def test_date_cursor_values_are_checked(session):
    order = Order.by("days", Key(func.date("2026-01-01"), date), Key(Enterprise.id, int))
    with pytest.raises(ValidationError):
        paging.Cursor.decode(_forge(["days", "a", 0, "2026-13-45", 1]), order)
    assert paging.Cursor.decode(_forge(["days", "a", 0, "2026-02-03", 1]), order).values == (
        date(2026, 2, 3), 1)


def test_counts_stop_at_the_cap(session, companies):
    assert paging.count_upto(session, select(Enterprise), cap=100) == paging.Count(60, True)
    capped = paging.count_upto(session, select(Enterprise), cap=25)
    assert capped == paging.Count(25, False) and str(capped) == "25+"
    both = paging.counts_upto(session, {"all": select(Enterprise),
                                        "one": select(Enterprise).where(Enterprise.name == "企业01")},
                              cap=30)
    assert both == {"all": paging.Count(30, False),
                    "one": paging.Count(sum(e.name == "企业01" for e in companies), True)}


def test_an_export_that_ends_its_reads_lets_writers_in_between_batches(tmp_path, sqlite_template):
    """On SQLite every transaction takes the write lock: a long export that
    kept one open would stop every writer until it finished."""
    import shutil

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from workflow.kernel.db import make_engine

    path = tmp_path / "export.sqlite3"
    shutil.copy(sqlite_template, path)
    reader_engine = make_engine(f"sqlite:///{path}")
    writer_engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(writer_engine, "connect")
    def _impatient(dbapi_connection, _record):  # give up at once rather than wait 30 s
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    with Session(reader_engine) as seed:
        seed.execute(insert(Enterprise), [{"name": f"企业{n:02d}"} for n in range(12)])
        seed.commit()

    def write_while_exporting(end_reads: bool) -> bool:
        with Session(reader_engine, expire_on_commit=False) as reader:
            rows = paging.pages_of(reader, select(Enterprise), BY_NAME, batch=5,
                                   end_reads=end_reads)
            first = next(rows)  # a batch is read; the export writes its rows out
            try:
                with writer_engine.begin() as conn:
                    conn.execute(insert(Enterprise).values(name="写入"))
                written = True
            except OperationalError:
                written = False
            names = [first.name] + [e.name for e in rows]  # the rows stay loaded
            assert len(names) >= 12 and names == sorted(names)
            return written

    assert write_while_exporting(end_reads=False) is False  # the reader holds the lock
    assert write_while_exporting(end_reads=True) is True
    reader_engine.dispose()
    writer_engine.dispose()

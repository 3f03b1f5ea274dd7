"""The enterprise requests' Excel export (``/requests.xlsx``): the rows of the
staff's list as its pages show them (the same filters, the same scope, the
same order), the zone's dates, bad filters refused before anything is
written, the list's permission, and a sheet that streams."""

from __future__ import annotations

import re
from datetime import date, datetime
from html import unescape
from io import BytesIO
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from tests import factories as f
from workflow.models import ServiceRequest
from workflow.reforms import requests as req

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["编号", "标题", "企业", "统一社会信用代码", "问题类型", "问题类别", "来源", "状态",
           "责任部门", "提出日期", "安排时限", "反馈时限", "办结时限", "办结日期", "是否超期",
           "超期环节", "企业评价", "评价意见"]


@pytest.fixture
def book(db, world):
    """Six requests of two enterprises, raised an hour apart on Monday 2 March:
    one solved (early on the 5th, zone time: still the 4th in UTC) and rated,
    one arranged to nature_resources, one to planning, three waiting."""
    users = world["users"]
    ids = {}
    for hour, (who, title, kind) in enumerate([
            ("acme", "厂区用电接入", "power"), ("acme", "道路未通", "road"),
            ("other", "融资困难", "financing"), ("other", "用地指标", "land"),
            ("acme", "政策咨询", "policy"), ("other", "=HYPERLINK(\"x\")", "other")], start=8):
        ids[title] = req.raise_request(db, actor=users[who], now=f.at("2026-03-02", hour),
                                       kind=kind, title=title).id
    lead = users["lead"]
    req.arrange(db, ids["厂区用电接入"], actor=lead, now=f.at("2026-03-02", 15),
                department="nature_resources")
    req.give_feedback(db, ids["厂区用电接入"], actor=users["alice"], now=f.at("2026-03-03", 10),
                      text="已约供电公司")
    req.solve(db, ids["厂区用电接入"], actor=users["alice"], now=f.at("2026-03-05", 7),
              text="已送电")
    req.rate(db, ids["厂区用电接入"], actor=users["acme"], now=f.at("2026-03-05", 9),
             rating="satisfied", comment="很快")
    req.arrange(db, ids["融资困难"], actor=lead, now=f.at("2026-03-02", 16),
                department="nature_resources", complexity="complex")
    req.arrange(db, ids["用地指标"], actor=lead, now=f.at("2026-03-02", 16), department="planning")
    db.commit()
    return ids


def open_xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    rows = [list(r) for r in load_workbook(BytesIO(response.data)).active.iter_rows(
        values_only=True)]
    assert rows[1] == HEADERS  # the caption, then the header
    return rows[0][0], [dict(zip(HEADERS, r, strict=True)) for r in rows[2:]]


def cell_day(text: str) -> datetime:
    """A date cell as openpyxl reads it back: midnight of that day."""
    return datetime.fromisoformat(text)


def listed(client, filters: str = "") -> list[int]:
    """The ids the list's pages show, two at a time, following its pager."""
    ids, url = [], "/requests?limit=2" + (f"&{filters}" if filters else "")
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        ids += [int(n) for n in re.findall(r'data-request="(\d+)"', html)]
        link = re.search(r'href="([^"]+)" data-page="next"', html)
        url = unescape(link.group(1)) if link else None
    return ids


def exported(client, filters: str = "") -> list[int]:
    _, lines = open_xlsx(client.get("/requests.xlsx" + (f"?{filters}" if filters else "")))
    return [line["编号"] for line in lines]


@pytest.mark.parametrize("username, filters", [
    ("sup", ""), ("sup", "status=open"), ("sup", "status=arranged"), ("sup", "kind=power"),
    ("sup", "department=nature_resources"), ("sup", "overdue=1"),
    ("sup", "status=open&department=planning&overdue=1"), ("sup", "department=nowhere"),
    ("lead", "status=submitted"), ("alice", ""), ("bob", "overdue=1"), ("admin", "kind=land"),
])
def test_the_export_has_the_rows_the_list_pages_show(as_user, book, clock, username, filters):
    clock.moment = f.at("2026-03-10", 10)
    client, _ = as_user(username)
    assert exported(client, filters) == listed(client, filters)


def test_the_filters_choose_the_rows(as_user, book, clock):
    clock.moment = f.at("2026-03-10", 10)
    client, _ = as_user("sup")
    everything = exported(client)
    assert sorted(everything) == sorted(book.values())
    assert everything == sorted(everything, reverse=True)  # newest first, as the list
    assert exported(client, "kind=power") == [book["厂区用电接入"]]
    assert exported(client, "department=nature_resources") == [book["融资困难"],
                                                                book["厂区用电接入"]]
    assert exported(client, "status=closed") == [book["厂区用电接入"]]
    open_ = set(everything) - {book["厂区用电接入"]}
    assert set(exported(client, "status=open")) == open_
    # On the 10th: the waiting ones missed their arrangement, planning its feedback;
    # the complex problem's feedback (5 March) is late too.
    assert set(exported(client, "overdue=1")) == open_
    clock.moment = f.at("2026-03-02", 17)
    assert exported(client, "overdue=1") == []
    assert exported(client, "department=nowhere") == []


def test_an_agent_exports_only_what_their_list_shows(as_user, book, clock):
    clock.moment = f.at("2026-03-10", 10)
    alice, _ = as_user("alice")  # nature_resources
    assert exported(alice) == [book["融资困难"], book["厂区用电接入"]]
    bob, _ = as_user("bob")  # planning
    assert exported(bob) == [book["用地指标"]]
    olga, _ = as_user("olga")  # water: nothing of theirs
    assert exported(olga) == []


def test_a_row_says_what_the_zone_office_reads(as_user, book, clock, db):
    clock.moment = f.at("2026-03-10", 10).replace(minute=30)
    client, _ = as_user("sup")
    response = client.get("/requests.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert 'filename="requests-2026-03-10.xlsx"' in disposition
    assert "filename*=UTF-8''" + quote("企业诉求清单-2026-03-10.xlsx") in disposition
    caption, lines = open_xlsx(response)
    assert caption == "企业诉求清单（数据截至 2026-03-10 10:30，北京时间）"
    by_id = {line["编号"]: line for line in lines}
    credit = db.scalar(select(ServiceRequest).where(ServiceRequest.id == book["厂区用电接入"])
                       ).enterprise.credit_code
    db.commit()
    assert by_id[book["厂区用电接入"]] == {
        "编号": book["厂区用电接入"], "标题": "厂区用电接入", "企业": "甲科技有限公司",
        "统一社会信用代码": credit, "问题类型": "用电接入", "问题类别": "一般问题（7 个工作日）",
        "来源": "企业提交", "状态": "已关闭", "责任部门": by_id[book["融资困难"]]["责任部门"],
        # Real dates; the solution at 07:00 on the 5th in the zone is the 4th in UTC.
        "提出日期": cell_day("2026-03-02"), "安排时限": cell_day("2026-03-02"),
        "反馈时限": cell_day("2026-03-05"), "办结时限": cell_day("2026-03-11"),
        "办结日期": cell_day("2026-03-05"),
        "是否超期": "否", "超期环节": None, "企业评价": "满意", "评价意见": "很快"}
    assert by_id[book["融资困难"]]["责任部门"] not in (None, "", "nature_resources")
    assert by_id[book["融资困难"]]["问题类别"] == "复杂问题（1 个月）"
    waiting = by_id[book["道路未通"]]
    assert (waiting["状态"], waiting["责任部门"], waiting["办结日期"]) == ("待安排", None, None)
    assert (waiting["是否超期"], waiting["超期环节"]) == ("是", "安排、反馈")
    assert by_id[book["用地指标"]]["超期环节"] == "反馈"
    # A title that looks like a formula stays text.
    assert by_id[book['=HYPERLINK("x")']]["标题"] == '=HYPERLINK("x")'


def test_the_dates_are_the_zones_days_not_utcs(as_user, book, world, db):
    """Raised at 07:00 on 3 March in the zone (still the 2nd in UTC), solved
    at 07:00 on the 4th (the 3rd in UTC)."""
    users = world["users"]
    row = req.raise_request(db, actor=users["acme"], now=f.at("2026-03-03", 7), kind="labour",
                            title="清晨提交")
    req.arrange(db, row.id, actor=users["lead"], now=f.at("2026-03-03", 7),
                department="nature_resources")
    req.solve(db, row.id, actor=users["alice"], now=f.at("2026-03-04", 7), text="已解决")
    db.commit()
    client, _ = as_user("sup")
    _, [line] = open_xlsx(client.get("/requests.xlsx?kind=labour"))
    assert line["编号"] == row.id
    assert line["提出日期"].date() == date(2026, 3, 3)
    assert line["办结日期"].date() == date(2026, 3, 4)


def test_the_sheet_reads_in_english(as_user, book, clock):
    clock.moment = f.at("2026-03-10", 10)
    client, token = as_user("sup")
    client.post("/lang/en", data={"csrf_token": token})
    response = client.get("/requests.xlsx?kind=road")
    assert "requests-2026-03-10.xlsx" in response.headers["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert not chinese.search(rows[0][0]) and "2026-03-10 10:00" in rows[0][0]
    assert len(rows[1]) == len(HEADERS) and not any(chinese.search(h) for h in rows[1])
    [line] = rows[2:]
    assert line[0] == book["道路未通"] and line[1] == "道路未通"  # the data stays as typed
    assert not any(chinese.search(str(v)) for v in line[4:9] + line[14:16] if v)


@pytest.mark.parametrize("bad, field", [
    ("status=bogus", "status"), ("kind=weather", "kind"), ("kind=%00", "kind"),
    ("department=" + "x" * 65, "department"), ("department=a%01b", "department"),
    ("overdue=perhaps", "overdue"),
])
def test_a_bad_filter_is_400_naming_the_field_and_writes_nothing(as_user, book, bad, field):
    client, _ = as_user("sup")
    response = client.get(f"/requests.xlsx?{bad}")
    assert response.status_code == 400
    assert response.mimetype != XLSX and "Content-Disposition" not in response.headers
    assert f"输入有误：&#39;{field}&#39;" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["acme", "other"])
def test_the_list_s_permission_decides(as_user, book, username):
    client, _ = as_user(username)
    assert client.get("/requests").status_code == 403
    response = client.get("/requests.xlsx")
    assert response.status_code == 403 and response.mimetype != XLSX


def test_anonymous_users_are_sent_to_the_login(app, book):
    response = app.test_client().get("/requests.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_sheet_streams_from_batches_read_on_the_list_s_keyset(app, as_user, book, db,
                                                                   monkeypatch):
    """The response is sent in chunks; the rows come from SQL a batch at a
    time (here two: three statements for six rows), never the whole list."""
    client, _ = as_user("sup")
    real = req.request_rows
    monkeypatch.setattr(req, "request_rows", lambda *a, **kw: real(*a, **{**kw, "batch": 2}))
    statements = []

    def seen(conn, cursor, statement, *args):
        if "FROM service_request" in statement:
            statements.append(statement)

    engine = app.extensions["daiban_engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = client.get("/requests.xlsx")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and response.is_streamed
    _, lines = open_xlsx(response)
    assert len(lines) == 6
    assert len(statements) == 3 and all("LIMIT" in s for s in statements)


def test_the_list_page_links_to_the_export_with_its_filters(as_user, book):
    client, _ = as_user("sup")
    html = client.get("/requests?status=open&kind=road&department=planning&overdue=1&limit=2"
                      ).get_data(as_text=True)
    link = unescape(re.search(r'data-export="requests" href="([^"]+)"', html).group(1))
    assert link.startswith("/requests.xlsx?")
    assert set(link.split("?", 1)[1].split("&")) == {"status=open", "kind=road",
                                                    "department=planning", "overdue=1"}
    plain = client.get("/requests").get_data(as_text=True)
    assert 'data-export="requests" href="/requests.xlsx"' in plain

"""The supervision exports as a supervisor downloads them in a real browser
(issue 12, item 12), by clicking the pages' own links: the ledger counts under
已办结 only the items done and under 已豁免 those a regional evaluation or a
signed commitment letter covered, and names the parcel (地块) once; the
overdue export says as of when (the zone's time) and carries the open 督办."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in
from workflow.core import operations as ops
from workflow.core import supervision
from workflow.models import ItemTask, Project, User
from workflow.reforms import commitments as cm

pytestmark = pytest.mark.browser

CODE = "2026-140226-34-03-000101"
OTHER = "2026-140226-34-03-000102"


@pytest.fixture
def zone(live):
    """One project with an item done, one covered by a regional evaluation and
    one by a signed commitment letter, its parcel stored as "code code名"; a
    second project untouched; weeks later a 督办 on one of the late items."""
    db, clock = live["db"], live["clock"]
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国")
    agent = add_user(db, "agent01", "agent", groups=("equipment",),
                     department="nature_resources", display="李娜")
    add_user(db, "supervisor", "supervisor", display="赵督查")
    acme = f.enterprise(db, "左云县恒达装备制造有限公司")
    owner = add_user(db, "ent01", "enterprise", company=acme, display="刘恒达")
    start = clock.moment
    project = f.project(db, start, company=acme, lead=lead, code=CODE)
    f.project(db, start, company=f.enterprise(db, "大同市塞北食品有限公司"), lead=lead, code=OTHER)

    def task(code):
        return db.scalar(select(ItemTask).where(ItemTask.project_id == project.id,
                                                ItemTask.item_code == code))

    survey = task("u01_survey")
    ops.claim_task(db, survey.id, actor=agent, now=start)
    ops.start_task(db, survey.id, actor=agent, now=start)
    ops.submit_task(db, survey.id, actor=agent, now=start)
    ops.approve_task(db, survey.id, actor=agent, now=start, reference="左自然资测〔2026〕1号")
    ops.complete_task(db, survey.id, actor=agent, now=start)
    ops.cover_task(db, task("u03_mineral").id, reference="左开评〔2025〕3号", kind="evaluation",
                   actor=lead, now=start)
    letter = cm.offer_commitment(db, task("project_filing").id, actor=lead, now=start)
    cm.sign_commitment(db, letter.id, actor=owner, now=start, signatory="刘恒达", consent=True)
    db.get(Project, project.id).parcel = "ZY2023-01 ZY2023-01标准地"  # as labels were stored
    clock.moment = f.at("2026-03-25", 10) + timedelta(minutes=30)
    late = db.scalar(select(ItemTask).where(
        ItemTask.project_id == project.id, ItemTask.state == "ready").order_by(ItemTask.id))
    supervisor = db.scalar(select(User).where(User.username == "supervisor"))
    supervision.issue_notice(db, late.id, supervisor, "请说明进度", clock.moment)
    counts = {state: sum(t.state == state for t in db.get(Project, project.id).tasks)
              for state in ("done", "covered")}
    db.commit()
    return {"late": late.id, "counts": counts}


def downloaded(page, selector):
    with page.expect_download() as download:
        page.click(selector)
    with open(download.value.path(), "rb") as fh:  # saved without a suffix
        book = load_workbook(BytesIO(fh.read()), read_only=True)
    return download.value, [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_ledger_counts_done_and_covered_items_apart(page, live, zone):
    assert zone["counts"] == {"done": 1, "covered": 2}  # the state column says both
    log_in(page, live["url"], "supervisor")
    page.goto(f"{live['url']}/supervision")
    file, rows = downloaded(page, "a.sv-download")
    assert file.suggested_filename.endswith(".xlsx") and "2026-03-25" in file.suggested_filename
    header = rows[0]
    lines = {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:]}
    assert set(lines) == {CODE, OTHER}
    ours = lines[CODE]
    assert (ours["已办结"], ours["已豁免"]) == (1, 2)
    assert ours["地块"] == "ZY2023-01标准地"  # the parcel once, not its code twice
    assert (lines[OTHER]["已办结"], lines[OTHER]["已豁免"]) == (0, 0)


def test_the_overdue_export_says_as_of_when_and_carries_the_notices(page, live, zone):
    log_in(page, live["url"], "supervisor")
    page.goto(f"{live['url']}/supervision")
    _file, rows = downloaded(page, "a[data-export=overdue]")
    # 02:30 UTC is 10:30 in the zone: the as-of line is the zone's time.
    assert rows[0][0] == "超期事项清单（数据截至 2026-03-25 10:30，北京时间）"
    header = rows[1]
    assert header[-1] == "督办中（件）"
    lines = [dict(zip(header, row, strict=False)) for row in rows[2:] if row[0]]
    assert lines and {x["项目代码"] for x in lines} == {CODE, OTHER}
    noticed = [x for x in lines if x["督办中（件）"]]
    assert len(noticed) == 1 and noticed[0]["项目代码"] == CODE and noticed[0]["督办中（件）"] == 1
    assert all(x["督办中（件）"] == 0 for x in lines if x is not noticed[0])

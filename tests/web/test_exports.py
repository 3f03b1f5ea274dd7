"""The supervision exports as a reader takes them (issue 12, item 12): the
ledger's 已办结 counts done items and 已豁免 the covered ones; 地块 says the
parcel once; the overdue export says as of when and carries the open 督办."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories as f
from tests.web.test_supervision import open_xlsx, task
from web.views.supervision import parcel_text
from workflow.core import operations as ops
from workflow.core import supervision
from workflow.reforms.land.coverage import parcel_label


def by_code(rows, header_row=0):
    header = rows[header_row]
    return {row[0]: dict(zip(header, row, strict=False)) for row in rows[header_row + 1:]}


def test_the_ledger_counts_done_and_covered_items_apart(as_user, world, db, clock):
    clock.moment = f.at("2026-03-10", 10)
    lead = world["users"]["lead"]
    mineral = task(db, world, item="u03_mineral")
    ops.cover_task(db, mineral.id, reference="左开评〔2025〕3号", kind="evaluation", actor=lead,
                   now=clock.moment)
    project = db.get(type(world["project"]), world["project"].id)
    project.parcel = "ZY2023-01 ZY2023-01标准地"  # as labels were stored before
    db.commit()
    client, _ = as_user("sup")
    _, rows = open_xlsx(client.get("/supervision/ledger.xlsx"))
    acme = by_code(rows)["P-ACME-1"]
    assert acme["已办结"] == 0 and acme["已豁免"] == 1
    assert acme["地块"] == "ZY2023-01标准地"
    assert by_code(rows)["P-OTHER-1"]["已豁免"] == 0


@pytest.mark.parametrize("label, shown", [
    ("ZY2023-01 ZY2023-01标准地", "ZY2023-01标准地"), ("ZY2023-02 东区一号", "ZY2023-02 东区一号"),
    ("ZY2025-06地块", "ZY2025-06地块"), (None, ""), ("", "")])
def test_the_parcel_is_named_once(label, shown):
    assert parcel_text(label) == shown


def test_a_parcel_assigned_now_is_labelled_once():
    assert parcel_label("ZY2023-01", "ZY2023-01标准地") == "ZY2023-01标准地"
    assert parcel_label("ZY2023-02", "东区一号") == "ZY2023-02 东区一号"


def test_the_overdue_export_says_as_of_when_and_counts_open_notices(as_user, world, db, clock):
    clock.moment = f.at("2026-03-25", 10) + timedelta(minutes=30)
    filing = task(db, world)
    supervision.issue_notice(db, filing.id, world["users"]["sup"], "请加快办理", clock.moment)
    db.commit()
    client, _ = as_user("sup")
    sheet, rows = open_xlsx(client.get("/supervision/overdue.xlsx"))
    assert rows[0][0] == "超期事项清单（数据截至 2026-03-25 10:30，北京时间）"
    lines = [dict(zip(rows[1], row, strict=False)) for row in rows[2:]]
    assert lines and all("督办中（件）" in x for x in lines)
    noticed = [x for x in lines if x["督办中（件）"]]
    assert [(x["项目代码"], x["督办中（件）"]) for x in noticed] == [("P-ACME-1", 1)]
    assert "项目备案" in noticed[0]["事项"]


def test_the_overdue_export_reads_notices_once_per_batch_not_per_row(app, as_user, world, db,
                                                                     clock):
    """Every item of both projects is on the list; their 督办 are counted by one
    statement for the batch, however many rows."""
    from sqlalchemy import event

    clock.moment = f.at("2026-06-01", 10)
    client, _ = as_user("sup")
    statements = []
    engine = app.extensions["daiban_engine"]

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        _, rows = open_xlsx(client.get("/supervision/overdue.xlsx"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(rows) - 2 > 2  # several rows
    assert sum("supervision_notice" in s for s in statements) == 1

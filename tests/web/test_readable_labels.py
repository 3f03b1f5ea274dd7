"""No internal code on the pages people read: the 督办 box of the inbox names
the item, the audit page names every event, item, group and person and shows
each recorded field under a label with its value in words, in Chinese and
English."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from workflow.core import supervision
from workflow.models import ItemTask

# An item, group, department or event code: lower-case words joined by _ or .
CODE = re.compile(r"\b[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+\b")


def visible(page: str) -> str:
    """The text a reader sees in the page's main part (no tags, scripts, attributes)."""
    main = page[page.index("<main"):]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def filing_of(db, world):
    task = db.scalar(select(ItemTask).where(ItemTask.project_id == world["project"].id,
                                            ItemTask.item_code == "project_filing"))
    db.commit()
    return task


def test_the_inbox_notice_box_names_the_item(as_user, world, db, clock):
    client, token = as_user("alice")
    filing = filing_of(db, world)
    client.post(f"/tasks/{filing.id}/claim", data={"csrf_token": token})
    supervision.issue_notice(db, filing.id, world["users"]["sup"], "请当日办结", clock.moment)
    db.commit()
    page = client.get("/inbox").get_data(as_text=True)
    start = page.index('id="notices"')
    box = visible("<main>" + page[start:page.index("</section>", start)])
    assert "企业投资项目备案" in box and "请当日办结" in box
    assert "project_filing" not in box and not CODE.findall(box)
    client.set_cookie("lang", "en")
    english = visible(client.get("/inbox").get_data(as_text=True))
    assert "project_filing" not in english


def test_the_audit_page_shows_no_code_and_renders_values_in_words(as_user, world, db):
    client, token = as_user("alice")
    filing = filing_of(db, world)
    for action in ("claim", "start"):
        client.post(f"/tasks/{filing.id}/{action}", data={"csrf_token": token})
    lead, lead_token = as_user("lead")
    lead.post(f"/tasks/{filing.id}/reassign", data={"csrf_token": lead_token,
                                                    "assignee": "bob", "reason": "alice 外出"})
    text = visible(client.get("/projects/P-ACME-1/audit?limit=200").get_data(as_text=True))
    assert not CODE.findall(text), CODE.findall(text)
    assert "items:" not in text and "group:" not in text
    assert "项目登记" in text and "产业组：" in text and "装备制造" in text
    assert "企业投资项目备案" in text
    assert "代办员：bob" in text and "原代办员：alice" in text  # the people by their names
    assert "[" not in text and "True" not in text and "None" not in text


def test_the_audit_page_in_english(as_user, world, db):
    client, _token = as_user("lead")
    client.set_cookie("lang", "en")
    text = visible(client.get("/projects/P-ACME-1/audit?limit=200").get_data(as_text=True))
    assert not CODE.findall(text), CODE.findall(text)
    assert "Industry group" in text and "项目登记" not in text and "产业组" not in text

"""In a real browser, on the demo zone as `daiban demo` seeds it: the task page
of an item whose limit cannot be extended offers no extension form, and the
audit page and the inbox's 督办 box show no internal code (item, group,
department or event codes), in Chinese and in English."""

from __future__ import annotations

import re
import shutil
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

import workflow.zone  # noqa: F401 - the areas' hooks, before an operation runs
from demo.seed import DEMO_PASSWORD, seed_demo
from tests.factories import at
from tests.web.conftest import Clock
from web import create_app
from workflow.core import supervision
from workflow.core.operations import definition_for
from workflow.kernel.db import make_engine
from workflow.models import AuditEvent, ItemTask, Project, User
from workflow.setup import initialise

pytestmark = pytest.mark.browser

NOW = at("2026-11-27", 10)
CODE = re.compile(r"\b[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+\b")
WORKED = ("assigned", "in_progress", "awaiting_enterprise", "submitted", "accepted", "returned")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo zone on a real port, with a 督办 notice to an agent whose
    task is an item that allows no extension."""
    path = tmp_path_factory.mktemp("offers") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    initialise(None, now=at("2024-01-02"), url=url)
    assert seed_demo(now=NOW, url=url)
    engine = make_engine(url)
    db = Session(engine, expire_on_commit=False)
    fixed = None
    for task in db.scalars(select(ItemTask).where(ItemTask.state.in_(WORKED),
                                                  ItemTask.assignee_id.is_not(None))
                           .order_by(ItemTask.id)):
        if definition_for(task.project).items[task.item_code].max_extension_days == 0:
            fixed = task
            break
    assert fixed is not None, "the demo has an agent working on an item without extensions"
    supervisor = db.scalar(select(User).where(User.role == "supervisor"))
    supervision.issue_notice(db, fixed.id, supervisor, "请说明进度并当日反馈", NOW)
    busiest = db.scalar(select(Project.code).join(AuditEvent, AuditEvent.project_id == Project.id)
                        .group_by(Project.code)
                        .order_by(func.count(func.distinct(AuditEvent.action)).desc()).limit(1))
    found = {"task": fixed.id, "agent": fixed.assignee.username, "project": busiest,
             "item_code": fixed.item_code}
    db.commit()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "offers-test", "CLOCK": Clock(NOW),
                      "SESSION_COOKIE_SECURE": False, "TOTP_REQUIRED": False,
                      "UPLOAD_FOLDER": str(path.parent / "uploads")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", **found}
    server.shutdown()
    thread.join(timeout=10)
    db.close()
    engine.dispose()
    app.extensions["daiban_engine"].dispose()
    shutil.rmtree(path.parent, ignore_errors=True)


def signed_in(browser, demo, username, english=False):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{demo['url']}/login")
    if english:
        with page.expect_navigation():
            page.click("header form.lang button")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")
    return page


def codes_in(page, selector="main") -> list[str]:
    return CODE.findall(page.locator(selector).inner_text())


def test_an_item_without_extensions_offers_no_extension_form(browser, demo):
    page = signed_in(browser, demo, demo["agent"])
    page.goto(f"{demo['url']}/tasks/{demo['task']}")
    assert page.locator("form[data-action]").count() > 0  # the work itself is offered
    assert page.locator("form[data-action=request_extension]").count() == 0
    assert page.get_by_text("申请延期", exact=True).count() == 0
    page.context.close()


@pytest.mark.parametrize("english", [False, True])
def test_the_inbox_notice_box_shows_no_code(browser, demo, english):
    page = signed_in(browser, demo, demo["agent"], english)
    page.goto(f"{demo['url']}/inbox")
    box = page.locator("#notices")
    assert box.count() == 1 and ("请说明进度" in box.inner_text())
    assert codes_in(page, "#notices") == [] and demo["item_code"] not in box.inner_text()
    page.context.close()


@pytest.mark.parametrize("english", [False, True])
def test_the_audit_page_shows_no_code(browser, demo, english):
    page = signed_in(browser, demo, "admin", english)
    page.goto(f"{demo['url']}/projects/{demo['project']}/audit?limit=200")
    assert page.locator("tr[data-seq]").count() > 20
    assert codes_in(page) == []
    text = page.locator("main").inner_text()
    for dump in ("items:", "group:", "['", "True", "None"):
        assert dump not in text, dump
    page.context.close()

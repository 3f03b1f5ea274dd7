"""Browser tests: the real pages in headless Chromium (Debian's package,
driven by Playwright for Python), against the app served on 127.0.0.1 by a
real HTTP server in a thread, on a fresh SQLite database."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests import factories as f
from tests.web.conftest import Clock, password_hash
from web import create_app
from workflow.kernel.db import make_engine

CHROMIUM = os.environ.get("DAIBAN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# `make screenshots` refreshes the README's pictures in docs/screenshots/; an
# ordinary test run writes them to a temporary folder and leaves the tree clean.
SCREENSHOTS = Path(os.environ.get("DAIBAN_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="daiban-shots-"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required under CI and is missing at {CHROMIUM}")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live(sqlite_template, tmp_path):
    """The app on a real port, its database, and its clock."""
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    clock = Clock(f.at("2026-03-02", 10))
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "browser-test",
                      "CLOCK": clock, "SESSION_COOKIE_SECURE": False,
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      "TOTP_REQUIRED": False})  # test_twofactor.py switches it on
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = make_engine(f"sqlite:///{path}")
    session = Session(engine, expire_on_commit=False)
    yield {"url": f"http://127.0.0.1:{server.server_port}", "db": session, "clock": clock,
           "app": app}
    session.close()
    engine.dispose()
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["daiban_engine"].dispose()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def add_user(session, name, role, display=None, **kw):
    user = f.user(session, name, role, **kw)
    user.password_hash = password_hash()
    user.display_name = display or name
    return user


def log_in(page, base_url, username):
    from tests.web.conftest import PASSWORD

    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

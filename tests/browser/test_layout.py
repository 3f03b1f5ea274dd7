"""Layout in a real browser, on the demo zone as `daiban demo` seeds it: the
pages people use on a phone (390 px) never scroll sideways and keep the header's
name and 退出 on screen; desktops (1366 px) in Chinese and English keep the
header whole; a status badge and a date are one line wherever they sit; the
portal's dependency graph fits its box. Each check measures what Chromium laid
out (boxes, line fragments), not the CSS that is meant to produce it."""

from __future__ import annotations

import base64
import shutil
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from demo.seed import DEMO_PASSWORD, seed_demo
from tests.browser.conftest import shoot
from tests.factories import at
from tests.web.conftest import Clock
from web import create_app
from workflow.accounts import access_codes
from workflow.kernel.db import make_engine
from workflow.models import AgencyDocument, FeeContract, ItemTask, Project, ServiceRequest, User, Visit
from workflow.setup import initialise

pytestmark = pytest.mark.browser

NOW = at("2026-11-27", 10)  # a Friday, as the demo's own tests use
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
ROLE_LABELS = {"agent": "代办员", "lead": "领办人", "supervisor": "督查"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo zone served on a real port; its database for finding pages."""
    path = tmp_path_factory.mktemp("layout") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    initialise(None, now=at("2024-01-02"), url=url)
    assert seed_demo(now=NOW, url=url, uploads=path.parent / "uploads")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "layout-test", "CLOCK": Clock(NOW),
                      "SESSION_COOKIE_SECURE": False, "TOTP_REQUIRED": False,
                      "UPLOAD_FOLDER": str(path.parent / "uploads")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = make_engine(url)
    session = Session(engine, expire_on_commit=False)
    yield {"url": f"http://127.0.0.1:{server.server_port}", "db": session}
    session.close()
    engine.dispose()
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["daiban_engine"].dispose()
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def places(demo):
    """Pages to visit: an agent with open tasks, one of them, an enterprise's project."""
    db = demo["db"]
    task = db.scalars(select(ItemTask).join(User, ItemTask.assignee_id == User.id)
                      .where(ItemTask.state.in_(("in_progress", "submitted", "awaiting_enterprise")))
                      .order_by(ItemTask.due_on, ItemTask.id)).first()
    assert task is not None, "the demo leaves agents work in hand"
    project = db.get(Project, task.project_id)
    enterprise_user = db.scalars(select(User).where(User.enterprise_id == project.enterprise_id)).first()
    found = {"agent": task.assignee.username, "task": task.id, "project": project.code,
             "project_id": project.id, "enterprise": enterprise_user.username,
             "lead": project.lead.username}
    db.commit()  # no read transaction left open: SQLite would hold the app's writes
    return found


def open_page(browser, demo, username, viewport, english=False):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{demo['url']}/login")
    if english:
        with page.expect_navigation():
            page.click("header form.lang button")
    if username:
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) button[type=submit]")
        assert page.locator("header .who-name").count() == 1, page.url
    return page


def go(page, demo, path):
    response = page.goto(f"{demo['url']}{path}")
    assert response.status == 200, (path, response.status)


# What the browser laid out, measured in the page.
SIDEWAYS = "document.documentElement.scrollWidth - window.innerWidth"
IN_VIEW = """el => { const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5
         && getComputedStyle(el).visibility === 'visible'; }"""
# The line boxes a piece of text occupies: a Range over it has one client
# rectangle per line fragment, so text broken over lines has several tops.
LINES_OF = """function linesOf(node, start, end) {
  const range = document.createRange();
  if (start === undefined) range.selectNodeContents(node);
  else { range.setStart(node, start); range.setEnd(node, end); }
  const tops = new Set();
  for (const r of range.getClientRects()) if (r.width > 0.5) tops.add(Math.round(r.top));
  return tops.size;
}"""
BROKEN_BADGES = """selector => { """ + LINES_OF + """
  return [...document.querySelectorAll(selector)]
    .filter(el => el.getClientRects().length && linesOf(el) > 1)
    .map(el => el.textContent.trim()); }"""
BROKEN_DATES = """() => { """ + LINES_OF + """
  const out = [];
  const walk = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    if (!node.parentElement.getClientRects().length) continue;
    for (const m of node.data.matchAll(/(?<![\\d-])\\d{4}-\\d{2}-\\d{2}(?![\\d-])/g))
      if (linesOf(node, m.index, m.index + m[0].length) > 1) out.push(m[0]);
  }
  return out; }"""


WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 6).map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


def assert_fits(page, what):
    assert page.evaluate(SIDEWAYS) <= 0, f"{what} scrolls sideways: {page.evaluate(WIDEST)}"


# The header's parts that the browser draws (a link folded under 更多 is not).
SHOWN = "header nav > a, header nav > details > summary"
# (What a closed <details> holds is not drawn, whatever its boxes say.)
OUTSIDE = """() => [...document.querySelectorAll('header, header *')].filter(e => {
    if (e.closest('details:not([open]) > :not(summary)')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.left < -0.5 || r.right > innerWidth + 0.5); })
  .map(e => { const r = e.getBoundingClientRect();
              return `${e.tagName}.${e.className} ${Math.round(r.left)}…${Math.round(r.right)}`; })"""


# A link's label is one line, and its count sits beside it, not under it.
BROKEN_LINKS = """selector => { """ + LINES_OF + """
  const labelOf = el => { const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode())
      if (n.data.trim() && n.parentElement.getClientRects().length
          && !n.parentElement.classList.contains('badge')) return n;
    return null; };
  return [...document.querySelectorAll(selector)].filter(el => el.getClientRects().length)
    .filter(el => { const label = labelOf(el), badge = el.querySelector('.badge');
      if (!label) return false;
      const range = document.createRange(); range.selectNodeContents(label);
      return linesOf(label) > 1
        || (badge && badge.getBoundingClientRect().top >= range.getBoundingClientRect().bottom); })
    .map(el => el.textContent.trim()); }"""


def assert_header_whole(page, what):
    for selector in ("header .who-name", "header form.logout button", "header form.lang button"):
        assert page.locator(selector).evaluate(IN_VIEW), f"{selector} off screen on {what}"
    assert page.evaluate(OUTSIDE) == [], f"the header overflows on {what}"
    shown = page.locator(SHOWN)
    for n in range(shown.count()):
        if shown.nth(n).evaluate("e => e.getClientRects().length > 0"):
            assert shown.nth(n).evaluate(IN_VIEW), f"link {n} of the header off screen on {what}"
    # Each link one line, never one character per line.
    assert page.evaluate(BROKEN_LINKS, SHOWN) == [], f"a header link wraps on {what}"


def assert_menu_whole(page, what, shot=None):
    """更多 (菜单 on a phone) opens from the keyboard and shows its links on
    screen, each on one line; every link of the role is reachable."""
    summary = page.locator("header details.more > summary")
    if not summary.count() or not summary.evaluate("e => e.getClientRects().length > 0"):
        return 0
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("header details.more").evaluate("d => d.open"), what
    links = page.locator("header details.more .menu a")
    shown = [n for n in range(links.count())
             if links.nth(n).evaluate("e => e.getClientRects().length > 0")]
    assert shown, f"an empty menu on {what}"
    for n in shown:
        assert links.nth(n).evaluate(IN_VIEW), f"menu link {n} off screen on {what}"
    assert page.evaluate(BROKEN_LINKS, "header details.more .menu a") == []
    assert page.evaluate(OUTSIDE) == [] and page.evaluate(SIDEWAYS) <= 0, f"the open menu overflows on {what}"
    if shot:
        shoot(page, shot)
    page.keyboard.press("Enter")  # closes it again
    assert not page.locator("header details.more").evaluate("d => d.open"), what
    return len(shown)


# -- phones ----------------------------------------------------------------------------------

@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_agent_works_on_a_phone(browser, demo, places, english):
    page = open_page(browser, demo, places["agent"], PHONE, english)
    go(page, demo, "/inbox")
    assert_fits(page, "the inbox")
    assert_header_whole(page, "the inbox")
    rows = page.locator("tr[data-task]")
    assert rows.count() >= 1
    for n in range(rows.count()):
        # A card per task, as wide as the screen allows: the item's name is
        # not a column of two to four characters.
        item = rows.nth(n).locator("td.c-item").bounding_box()
        assert item["width"] >= 0.7 * (PHONE["width"] - 40), item
        assert rows.nth(n).evaluate(IN_VIEW)
    assert page.evaluate(BROKEN_DATES) == []
    assert page.evaluate(BROKEN_BADGES, "main .state") == []
    if not english:
        shoot(page, "phone-inbox")

    go(page, demo, f"/tasks/{places['task']}")
    assert_fits(page, "the task page")
    assert_header_whole(page, "the task page")
    forms = page.locator("form[data-action]")
    assert forms.count() >= 1  # the actions its state allows, each usable on the phone
    for n in range(forms.count()):
        assert forms.nth(n).evaluate(IN_VIEW), n
    if not english:
        shoot(page, "phone-task")
    page.context.close()


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_enterprise_follows_its_project_on_a_phone(browser, demo, places, english):
    page = open_page(browser, demo, places["enterprise"], PHONE, english)
    go(page, demo, "/portal")
    assert_fits(page, "the portal")
    assert_header_whole(page, "the portal")
    if not english:
        shoot(page, "phone-portal")
    go(page, demo, f"/portal/projects/{places['project']}")
    assert_fits(page, "the portal's project page")
    assert_header_whole(page, "the portal's project page")
    assert_graph_fits(page)
    rows = page.locator("table.items tr[data-item]")
    assert rows.count() >= 10
    for n in range(rows.count()):
        assert rows.nth(n).evaluate(IN_VIEW), n
    assert page.evaluate(BROKEN_DATES) == []
    assert page.evaluate(BROKEN_BADGES, "main .state") == []
    page.context.close()


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_public_lookup_on_a_phone(browser, demo, places, english):
    db = demo["db"]
    code = access_codes.issue_access_code(db, places["project_id"], actor=None, now=NOW)
    db.commit()
    page = open_page(browser, demo, None, PHONE, english)
    go(page, demo, "/lookup")
    assert_fits(page, "the lookup form")
    assert page.locator("header form.lang button").evaluate(IN_VIEW)
    page.fill("input[name=project_code]", places["project"])
    page.fill("input[name=access_code]", code)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    rows = page.locator("table.items tr[data-item]")
    assert rows.count() >= 10, page.url
    assert_fits(page, "the lookup's answer")
    for n in range(rows.count()):
        assert rows.nth(n).evaluate(IN_VIEW), n
    assert page.evaluate(BROKEN_DATES) == []
    assert page.evaluate(BROKEN_BADGES, "main .state") == []
    page.context.close()


# -- the header on desktops --------------------------------------------------------------------

VISIBLE_HREFS = """() => [...document.querySelectorAll('header nav > a')]
  .filter(a => a.getClientRects().length > 0).map(a => a.getAttribute('href'))"""
ALL_HREFS = """() => [...new Set([...document.querySelectorAll('header nav a')]
  .map(a => a.getAttribute('href')))]"""


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_every_role_keeps_the_header_on_screen(browser, demo, places, english, viewport):
    """Every role, the admin with the most links (16) and the lead the second
    most (10): the bar keeps the most used, 更多 the rest, and every link is
    either in the bar or in the menu, on screen, on one line."""
    people = ("admin", places["lead"], "supervisor", "finance", places["agent"], places["enterprise"])
    for username in people:
        page = open_page(browser, demo, username, viewport, english)
        what = f"{username}'s first page at {viewport['width']} px"
        assert_fits(page, what)
        assert_header_whole(page, what)
        in_bar = page.evaluate(VISIBLE_HREFS)
        shot = {("admin", 1366, True): "header-admin-en", (places["lead"], 390, False): "phone-header-lead"}
        in_menu = assert_menu_whole(page, what, shot.get((username, viewport["width"], english)))
        every = page.evaluate(ALL_HREFS)
        assert len(in_bar) + in_menu == len(every), (what, in_bar, every)
        if username == "admin":
            assert in_menu >= 8 and "/admin/deliveries" in in_bar, what
        if username == "finance":
            assert "/fees" in in_bar, what
        if viewport is PHONE:  # a compact bar: one or two rows of links, not five
            nav = page.locator("header nav").bounding_box()
            assert nav["height"] <= 90, (what, nav)
        page.context.close()


def test_the_header_names_the_role_once(browser, demo, places):
    """Display names are names: the header adds the role, once."""
    db = demo["db"]
    names = db.scalars(select(User.display_name).where(User.role.in_(tuple(ROLE_LABELS)))).all()
    db.commit()
    assert names and not [name for name in names if "（" in name]
    people = ((places["agent"], "agent"), (places["lead"], "lead"), ("supervisor", "supervisor"))
    for username, role in people:
        page = open_page(browser, demo, username, DESKTOP)
        assert page.locator("header .who").inner_text().count(ROLE_LABELS[role]) == 1
        page.context.close()


def test_the_mandate_names_the_lead_without_a_role(browser, demo, places):
    db = demo["db"]
    mandate = db.scalars(select(AgencyDocument).join(Project)
                         .where(AgencyDocument.kind == "mandate", Project.code == places["project"])).first()
    lead_name = db.get(Project, places["project_id"]).lead.display_name
    mandate_id = mandate.id if mandate else None
    db.commit()
    assert mandate_id is not None
    page = open_page(browser, demo, places["enterprise"], DESKTOP)
    go(page, demo, f"/documents/{mandate_id}")
    text = page.locator("main").inner_text()
    assert lead_name in text and "（领办人）" not in text
    page.context.close()


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_requests_read_on_a_phone(browser, demo, english):
    """入企服务 on the demo's dozen requests: the enterprise's list and a request
    it raised, the staff's list, a request, the figures and a visit."""
    db = demo["db"]
    mine = db.scalars(select(ServiceRequest).where(ServiceRequest.status == "reopened")).first()
    owner = db.scalars(select(User).where(User.enterprise_id == mine.enterprise_id)).first()
    visit = db.scalars(select(Visit).order_by(Visit.id)).first()
    request_id, username, visit_id = mine.id, owner.username, visit.id
    db.commit()
    page = open_page(browser, demo, username, PHONE, english)
    for path in ("/portal/requests", f"/portal/requests/{request_id}"):
        go(page, demo, path)
        assert_fits(page, path)
        assert_header_whole(page, path)
        assert page.evaluate(BROKEN_BADGES, "main .state") == []
    page.context.close()
    page = open_page(browser, demo, "lead01", PHONE, english)
    for path in ("/requests", f"/requests/{request_id}", "/requests/figures", "/visits",
                 f"/visits/{visit_id}"):
        go(page, demo, path)
        assert_fits(page, path)
        assert_header_whole(page, path)
        assert page.evaluate(BROKEN_DATES) == []
        assert page.evaluate(BROKEN_BADGES, "main .state") == []
    go(page, demo, "/requests")
    assert page.locator("tr[data-request]").count() >= 12
    if not english:
        shoot(page, "phone-requests")
    page.context.close()


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_fees_read_on_a_phone(browser, demo, english):
    """The finance office's pages, and the fee panels of a project and a parcel."""
    db = demo["db"]
    own = db.scalars(select(FeeContract).where(FeeContract.project_id.is_not(None))
                     .order_by(FeeContract.id)).first()
    shared = db.scalars(select(FeeContract).where(FeeContract.parcel_id.is_not(None))
                        .order_by(FeeContract.id)).first()
    project, parcel, contract = own.project.code, shared.parcel_id, own.id
    db.commit()
    page = open_page(browser, demo, "finance", PHONE, english)
    for path in ("/fees", "/fees/projects", "/fees/parcels", "/fees/contracts",
                 f"/fees/contracts/{contract}", "/fees/subsidies", f"/projects/{project}",
                 f"/land/parcels/{parcel}"):
        go(page, demo, path)
        assert_fits(page, path)
        assert_header_whole(page, path)
        assert page.evaluate(BROKEN_DATES) == [], path
        assert page.evaluate(BROKEN_BADGES, "main .state") == [], path
    go(page, demo, f"/projects/{project}")
    assert page.locator(f"#fees [data-fees=own] tr[data-contract='{contract}']").count() == 1
    go(page, demo, f"/land/parcels/{parcel}")
    assert page.locator(f"[data-fees=shared] tr[data-contract='{shared.id}']").count() == 1
    page.context.close()


# -- wrapping ---------------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_badges_and_dates_stay_on_one_line(browser, demo, places, viewport):
    page = open_page(browser, demo, places["lead"], viewport)
    go(page, demo, f"/projects/{places['project']}")
    badges = page.locator("main table .state")
    assert badges.count() >= 20  # the items' states: 已办结, 已豁免, 办理中, …
    assert page.evaluate(BROKEN_BADGES, "main .state, main .light + .small") == []
    assert page.evaluate(BROKEN_DATES) == []
    assert_fits(page, "the staff project page")
    go(page, demo, "/desk")
    dates = page.locator("table.desk-tasks .nowrap")
    assert dates.count() >= 1
    assert page.evaluate(BROKEN_DATES) == []
    assert page.evaluate(BROKEN_BADGES, "main .state") == []
    assert_fits(page, "the desk")
    page.context.close()


def assert_graph_fits(page, least_scale=0.0):
    box = page.locator(".graph-wrap")
    fit = box.evaluate("""wrap => { const svg = wrap.querySelector('svg.depgraph');
      const outer = wrap.getBoundingClientRect(), r = svg.getBoundingClientRect();
      return {overflow: wrap.scrollWidth - wrap.clientWidth, left: r.left - outer.left,
              right: outer.right - r.right, scale: r.width / svg.viewBox.baseVal.width}; }""")
    assert fit["overflow"] <= 0 and fit["left"] >= 0 and fit["right"] >= 0, fit
    assert fit["scale"] >= least_scale, fit


@pytest.mark.parametrize("english", [False, True], ids=["zh", "en"])
def test_the_dependency_graph_fits_its_box(browser, demo, places, english):
    page = open_page(browser, demo, places["enterprise"], DESKTOP, english)
    go(page, demo, f"/portal/projects/{places['project']}")
    # The whole graph in view, drawn large enough to read the names (12 px at 1:1).
    assert_graph_fits(page, least_scale=0.8)
    assert page.locator("svg.depgraph g.node").count() >= 20
    assert_fits(page, "the portal's project page")
    page.context.close()


# -- small things -----------------------------------------------------------------------------

LOADS_AS_IMAGE = """href => new Promise(done => { const img = new Image();
  img.onload = () => done(img.naturalWidth > 0 && img.naturalHeight > 0);
  img.onerror = () => done(false); img.src = href; })"""


@pytest.mark.parametrize("username", [None, "agent"], ids=["signed-out", "signed-in"])
def test_pages_carry_the_favicon(browser, demo, places, username):
    page = open_page(browser, demo, places[username] if username else None, DESKTOP)
    href = page.locator("link[rel=icon]").get_attribute("href")
    kind, _, data = href.partition(",")
    assert kind == "data:image/svg+xml;base64"
    assert b"<svg" in base64.b64decode(data)
    assert page.evaluate(LOADS_AS_IMAGE, href)  # the browser draws it
    page.context.close()

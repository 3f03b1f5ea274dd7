"""Accessibility (GB/T 37668-2019, which follows WCAG 2.1 AA) in a real
browser, on the demo zone as `daiban demo` seeds it: axe-core, served from the
copy vendored in tests/browser/vendor/ (no network), checks every page of every
role and finds no critical and no serious violation; the portal's dependency
graph has a text equivalent; a skip link leads to the content; focus is drawn
by our own style and lands on the result of an action; and the paths people
take with the keyboard alone work: signing in, an agent claiming a task, an
enterprise supplying materials."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from demo.seed import DEMO_PASSWORD
from tests.browser.test_layout import DESKTOP, NOW, PHONE, demo  # noqa: F401 - fixture
from workflow.accounts import access_codes
from workflow.models import (
    AgencyDocument,
    Attachment,
    Checkpoint,
    ChemicalClass,
    CommitmentLetter,
    FeeContract,
    HazardousChemical,
    ItemTask,
    MaterialRequest,
    Parcel,
    Project,
    Screening,
    ScreeningRule,
    ServiceRequest,
    User,
    Visit,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async tags => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
}"""


def new_page(browser, viewport=DESKTOP):
    # axe is injected as an inline script: the app's CSP (script-src 'self')
    # would refuse it, so the test's browser context bypasses CSP; the app's
    # own pages carry no script either way.
    context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")
    assert page.locator("header .who-name").count() == 1, page.url


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page, with every
    ``<details>`` opened (axe skips what is hidden: the forms folded away, the
    graph's text equivalent)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE, WCAG_AA)


def describe(path, violations) -> str:
    lines = []
    for v in violations:
        lines.append(f"{path}: [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
        for node in v["nodes"][:4]:
            why = node["summary"].splitlines()[-1].strip() if node["summary"] else ""
            lines.append(f"    {node['target']}: {why}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def ids(demo):  # noqa: F811
    """Where each page of each role is in the demo zone."""
    db = demo["db"]
    task = db.scalars(select(ItemTask).join(User, ItemTask.assignee_id == User.id)
                      .where(ItemTask.state.in_(("in_progress", "submitted", "awaiting_enterprise")))
                      .order_by(ItemTask.due_on, ItemTask.id)).first()
    project = db.get(Project, task.project_id)
    request = db.scalars(select(MaterialRequest).order_by(MaterialRequest.id)).first()
    request_task = db.get(ItemTask, request.task_id)
    request_project = db.get(Project, request_task.project_id)
    mandate = db.scalars(select(AgencyDocument).where(AgencyDocument.kind == "mandate")
                         .order_by(AgencyDocument.id)).first()
    letter = db.scalars(select(CommitmentLetter).order_by(CommitmentLetter.id)).first()
    screening = db.scalars(select(Screening).order_by(Screening.id)).first()
    found = {
        "agent": task.assignee.username, "task": task.id, "project": project.code,
        "project_id": project.id, "lead": project.lead.username,
        "enterprise": db.scalars(select(User.username)
                                 .where(User.enterprise_id == project.enterprise_id)).first(),
        "request": request.id, "request_project": request_project.code,
        "request_enterprise": db.scalars(select(User.username).where(
            User.enterprise_id == request_project.enterprise_id)).first(),
        "document": mandate.id,
        "document_enterprise": db.scalars(select(User.username).where(
            User.enterprise_id == db.get(Project, mandate.project_id).enterprise_id)).first(),
        "letter": letter.id, "letter_project": db.get(Project, letter.project_id).code,
        # The paperwork is read by the lead handler of its own project.
        "letter_lead": db.get(Project, letter.project_id).lead.username,
        "document_lead": db.get(Project, mandate.project_id).lead.username,
        "screening_project": db.get(Project, screening.project_id).code if screening else None,
        "parcel": db.scalars(select(Parcel.id).order_by(Parcel.id)).first(),
        "checkpoint": db.scalars(select(Checkpoint.id).order_by(Checkpoint.id)).first(),
        "rule": db.scalars(select(ScreeningRule.id).order_by(ScreeningRule.id)).first(),
        "chemical": db.scalars(select(HazardousChemical.id).order_by(HazardousChemical.id)).first(),
        "class": db.scalars(select(ChemicalClass.id).order_by(ChemicalClass.id)).first(),
        "user": db.scalars(select(User.id).where(User.role == "agent").order_by(User.id)).first(),
    }
    service_request = db.scalars(select(ServiceRequest).order_by(ServiceRequest.id)).first()
    found.update({
        "contract": db.scalars(select(FeeContract.id).order_by(FeeContract.id)).first(),
        "service_request": service_request.id,
        "service_request_enterprise": db.scalars(select(User.username).where(
            User.enterprise_id == service_request.enterprise_id)).first(),
        "visit": db.scalars(select(Visit.id).order_by(Visit.id)).first(),
        # A person whose mobile is on file: the admin's mobile form shows its state.
        "mobile_user": db.scalars(select(User.id).where(User.mobile.is_not(None))
                                  .order_by(User.id)).first() or found["user"],
    })
    found["code"] = access_codes.issue_access_code(db, project.id, actor=None, now=NOW)
    db.commit()  # no read transaction left open: SQLite would hold the app's writes
    return found


def pages_of(role, p):
    """Every page a role opens, as (who signs in, path)."""
    project, task = p["project"], p["task"]
    common = ["/notifications", "/account/notifications"]
    if role == "agent":
        return p["agent"], ["/inbox", "/inbox?tab=queue", "/inbox?tab=archive", f"/tasks/{task}",
                            f"/projects/{project}", f"/projects/{project}/audit", "/search",
                            "/account/two-factor", *common]
    if role == "agent-phone":
        return p["agent"], ["/inbox", f"/tasks/{task}"]
    if role == "enterprise-phone":
        return p["enterprise"], ["/portal", f"/portal/projects/{project}"]
    if role == "agent-en":
        return p["agent"], ["/inbox", f"/tasks/{task}", f"/projects/{project}"]
    if role == "lead":
        pages = ["/desk", "/inbox", "/intentions", "/pipeline", "/land/parcels",
                 f"/land/parcels/{p['parcel']}", "/land/checkpoints", "/supervision",
                 f"/projects/{project}", f"/tasks/{task}", "/requests", "/visits", "/baolian",
                 f"/requests/{p['service_request']}", f"/visits/{p['visit']}",
                 "/supervision/agreement-misses", *common]
        if p["screening_project"]:
            pages.append(f"/projects/{p['screening_project']}/screening")
        return p["lead"], pages
    if role == "lead-letter":
        return p["letter_lead"], [f"/commitments/{p['letter']}"]
    if role == "lead-mandate":
        return p["document_lead"], [f"/documents/{p['document']}"]
    if role == "supervisor":
        return "supervisor", ["/supervision", "/supervision/figures", "/supervision/notices",
                              "/supervision/agreement-misses",
                              "/pipeline", "/land/figures", f"/projects/{project}", f"/tasks/{task}",
                              "/requests", "/requests/figures", "/visits", "/baolian", *common]
    if role in ("supervisor-fees", "finance"):  # reading the ledger; the finance office keeps it
        return role.removesuffix("-fees"), [
            "/fees", "/fees/projects", "/fees/parcels", "/fees/contracts",
            f"/fees/contracts/{p['contract']}", "/fees/subsidies", f"/projects/{project}"]
    if role == "admin":
        return "admin", ["/admin/users", f"/admin/users/{p['user']}",
                         f"/admin/users/{p['mobile_user']}", "/admin/definitions",
                         "/admin/deliveries", "/admin/changes", "/admin/security", "/admin/credit",
                         "/admin/workload", "/admin/workload?scope=agent",
                         "/admin/workload?scope=department",
                         "/chemicals/rules", f"/chemicals/rules/{p['rule']}",
                         f"/chemicals/catalogue/{p['chemical']}", f"/chemicals/classes/{p['class']}",
                         "/intentions", "/land/parcels", "/land/figures", *common]
    if role in ("enterprise", "enterprise-en"):
        return p["enterprise"], ["/portal", f"/portal/projects/{project}", "/portal/requests",
                                 *common]
    if role == "enterprise-materials":
        return p["request_enterprise"], [f"/portal/projects/{p['request_project']}",
                                         f"/requests/{p['request']}/notice"]
    if role == "enterprise-request":
        return p["service_request_enterprise"], [f"/portal/requests/{p['service_request']}"]
    if role == "enterprise-papers":
        return p["document_enterprise"], [f"/documents/{p['document']}"]
    return None, ["/login", "/lookup"]


ROLES = ("anonymous", "agent", "lead", "lead-letter", "lead-mandate", "supervisor", "supervisor-fees",
         "finance", "admin", "enterprise", "enterprise-materials", "enterprise-papers",
         "enterprise-request", "enterprise-en", "agent-en",
         "agent-phone", "enterprise-phone")  # -en: in English; -phone: at 390 px
MISSING = {"agent": "/tasks/999999", "enterprise": "/portal/projects/NO-SUCH-PROJECT"}  # the 404 page


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_passes_axe(browser, demo, ids, role):  # noqa: F811
    username, paths = pages_of(role, ids)
    page = new_page(browser, PHONE if role.endswith("-phone") else DESKTOP)
    if role.endswith("-en"):
        page.goto(f"{demo['url']}/login")
        with page.expect_navigation():
            page.click("header form.lang button")
        assert page.locator("html").get_attribute("lang") == "en"
    if username:
        sign_in(page, demo["url"], username)
    found, report = [], []

    def check(what):
        violations = axe_violations(page)
        if violations:
            report.append(describe(what, violations))
        found.extend((what, v["id"]) for v in violations if v["impact"] in ("critical", "serious"))

    for path in paths:
        response = page.goto(f"{demo['url']}{path}")
        assert response.status == 200, (role, path, response.status)
        check(path)
    if role in MISSING:
        response = page.goto(f"{demo['url']}{MISSING[role]}")
        assert response.status == 404
        check(MISSING[role])
    if role == "anonymous":  # the lookup refused, then answered with the access code
        for code, status in (("WRONG-CODE", 401), (ids["code"], 200)):
            page.goto(f"{demo['url']}/lookup")
            page.fill("input[name=project_code]", ids["project"])
            page.fill("input[name=access_code]", code)
            with page.expect_navigation() as answer:
                page.click("main form button[type=submit]")
            assert answer.value.status == status
            check(f"/lookup ({status})")
        assert page.locator("table.items tr[data-item]").count() >= 1
    print("\n".join(report) or f"{role}: no violations")
    page.context.close()
    assert found == [], "\n".join(report)


# -- the keyboard ---------------------------------------------------------------------------

# What has the focus: the element, its form's action, the task row or the
# materials request it sits in.
ACTIVE = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const row = e.closest('tr[data-task]'), request = e.closest('[data-material-request]');
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name'), type: e.getAttribute('type'),
          id: e.id, href: e.getAttribute('href'), cls: e.getAttribute('class') || '',
          text: (e.innerText || e.value || '').trim().slice(0, 60),
          form: e.form ? e.form.getAttribute('data-action') : null,
          row: row ? row.getAttribute('data-task') : null,
          request: request ? request.getAttribute('data-material-request') : null}; }"""
RING = """() => { const s = getComputedStyle(document.activeElement);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}; }"""


def active(page):
    return page.evaluate(ACTIVE)


def focused_flash(page):
    """The focused element once the flash message has taken the focus: the
    browser runs ``autofocus`` at a rendering update, which on a busy machine
    can come after the load event (up to 5 s, else the element focused then)."""
    try:
        page.wait_for_function("() => document.activeElement"
                               " && document.activeElement.classList.contains('flash')",
                               timeout=5000)
    except PlaywrightTimeout:
        pass
    return active(page)


def tab_to(page, wanted, limit=250, key="Tab"):
    """Press Tab until the focused element is the one ``wanted`` accepts."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = active(page)
        if now and wanted(now):
            return now
        seen.append(now)
    raise AssertionError(f"never reached with {key}: {seen[-8:]}")


def keyboard_sign_in(page, base, username):
    """Signing in with the keyboard alone: the name field has the focus as the
    page opens, Tab moves to the password, Enter sends the form."""
    page.goto(f"{base}/login")
    assert active(page)["name"] == "username"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert active(page)["name"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("header .who-name").count() == 1, page.url


def test_signing_in_with_the_keyboard_alone(browser, demo):  # noqa: F811
    page = new_page(browser)
    keyboard_sign_in(page, demo["url"], "supervisor")
    assert page.url.endswith("/supervision")
    page.context.close()


def test_a_skip_link_leads_past_the_header_and_focus_is_drawn(browser, demo, ids):  # noqa: F811
    for viewport in (DESKTOP, PHONE):
        page = new_page(browser, viewport)
        sign_in(page, demo["url"], ids["lead"])
        page.goto(f"{demo['url']}/desk")
        # The first Tab reaches the skip link, which then shows on screen.
        first = tab_to(page, lambda e: True, limit=1)
        assert first["href"] == "#main" and first["text"] == "跳到正文", first
        box = page.locator("a.skip-link").bounding_box()
        assert box["y"] >= 0 and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        ring = page.evaluate(RING)
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        page.keyboard.press("Enter")
        assert active(page)["id"] == "main"
        # The next Tab lands inside the content, not on the header's links.
        after = tab_to(page, lambda e: True, limit=1)
        inside = page.evaluate("() => !!document.activeElement.closest('main')")
        assert inside, after
        # Our own ring: 3 px in the zone's blue, not the browser's default.
        ring = page.evaluate(RING)
        assert ring == {"style": "solid", "width": 3.0, "color": "rgb(31, 78, 140)"}, ring
        page.context.close()


def test_an_agent_claims_a_task_with_the_keyboard(browser, demo):  # noqa: F811
    page = new_page(browser)
    keyboard_sign_in(page, demo["url"], "agent06")
    page.goto(f"{demo['url']}/inbox?tab=queue")
    link = tab_to(page, lambda e: e["row"] is not None and e["tag"] == "a"
                  and e["href"] == f"/tasks/{e['row']}")
    task_id = int(link["row"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/tasks/{task_id}")
    tab_to(page, lambda e: e["form"] == "claim" and e["tag"] == "button")
    assert page.evaluate(RING)["style"] == "solid"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The result has the focus: the message saying what was done, not the top of the page.
    now = focused_flash(page)
    assert now and "flash" in now["cls"] and "已完成" in now["text"], now
    db = demo["db"]
    task = db.scalar(select(ItemTask).where(ItemTask.id == task_id)
                     .execution_options(populate_existing=True))
    assert task.state == "assigned" and task.assignee.username == "agent06"
    db.commit()
    page.context.close()


@pytest.fixture
def open_request(demo):  # noqa: F811
    """A materials request the enterprise has yet to answer, and who answers it."""
    db = demo["db"]
    request = db.scalars(select(MaterialRequest).join(ItemTask, ItemTask.id == MaterialRequest.task_id)
                         .where(MaterialRequest.fulfilled_at.is_(None),
                                ItemTask.state == "awaiting_enterprise")
                         .order_by(MaterialRequest.id)).first()
    assert request is not None, "the demo leaves an enterprise materials to supply"
    task = db.get(ItemTask, request.task_id)
    project = db.get(Project, task.project_id)
    found = {"request": request.id, "task": task.id, "project": project.code,
             "username": db.scalars(select(User.username)
                                    .where(User.enterprise_id == project.enterprise_id)).first()}
    db.commit()
    return found


def test_an_enterprise_supplies_materials_with_the_keyboard(browser, demo, open_request, tmp_path):  # noqa: F811
    r = open_request
    scan = tmp_path / "营业执照.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page = new_page(browser)
    # Playwright asks Chromium to intercept file choosers when the first
    # listener is added, without waiting for it: a listener added only around
    # the key press can lose the race (the chooser then opens natively, which
    # headless cancels: one CI run timed out so). Adding one now lets every
    # round trip below settle the interception before Space is pressed.
    page.on("filechooser", lambda _chooser: None)
    keyboard_sign_in(page, demo["url"], r["username"])
    page.goto(f"{demo['url']}/portal/projects/{r['project']}")
    mine = str(r["request"])
    tab_to(page, lambda e: e["request"] == mine and e["type"] == "file")
    # The file input opens the file chooser from the keyboard (Space).
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(scan))
    tab_to(page, lambda e: e["request"] == mine and e["form"] == "upload" and e["tag"] == "button", limit=3)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"#request-{mine}")
    db = demo["db"]
    names = db.scalars(select(Attachment.original_name).where(Attachment.task_id == r["task"])).all()
    db.commit()
    assert "营业执照.pdf" in names
    # Back on the request that was answered: Tab goes on from it, to its note and its button.
    tab_to(page, lambda e: e["request"] == mine and e["name"] == "note", limit=12)
    page.keyboard.type("营业执照已上传")
    tab_to(page, lambda e: e["form"] == "supply_materials" and e["tag"] == "button", limit=1)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    now = focused_flash(page)
    assert now and "flash" in now["cls"], now
    request = db.get(MaterialRequest, r["request"], populate_existing=True)
    task = db.get(ItemTask, r["task"], populate_existing=True)
    assert request.fulfilled_at is not None and task.state != "awaiting_enterprise"
    db.commit()
    page.context.close()

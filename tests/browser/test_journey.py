"""The day's work in a real browser: an agent claims a task and asks for
materials; the enterprise sees the request and uploads; the agent finishes the
item; the enterprise sees the next items become ready; the supervisor finds an
overdue item and exports the list. Screenshots of each audience's main page
are written to docs/screenshots/."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.models import ItemTask

pytestmark = pytest.mark.browser


@pytest.fixture
def zone(live):
    """A small zone: one fresh project, one long overdue, the people around them."""
    db = live["db"]
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国")
    add_user(db, "agent01", "agent", groups=("equipment",), department="nature_resources",
             display="李娜")
    add_user(db, "supervisor", "supervisor", display="赵督查")
    add_user(db, "admin", "admin", display="系统管理员")
    acme = f.enterprise(db, "左云县恒达装备制造有限公司")
    add_user(db, "ent01", "enterprise", company=acme, display="刘恒达（恒达装备）")
    fresh = f.project(db, f.at("2026-03-02"), company=acme, lead=lead, code="2026-140226-34-03-000101")
    fresh.name = "风电装备制造基地项目"
    late = f.project(db, f.at("2026-01-05"), company=f.enterprise(db, "大同市塞北食品有限公司"),
                     lead=lead, code="2026-140226-34-03-000077")
    late.name = "年产5万吨杂粮深加工项目"
    db.commit()
    live["clock"].moment = f.at("2026-03-04", 10)
    return {"fresh": fresh, "late": late}


def task_state(live, project, item_code):
    task = live["db"].scalar(select(ItemTask).where(
        ItemTask.project_id == project.id, ItemTask.item_code == item_code)
        .execution_options(populate_existing=True))
    live["db"].commit()
    return task


def act(page, action):
    with page.expect_navigation():
        page.click(f"form[data-action={action}] button[type=submit]")


def test_agent_enterprise_and_supervisor_journey(page, live, zone, tmp_path):
    base, fresh = live["url"], zone["fresh"]
    survey = task_state(live, fresh, "u01_survey")

    # The agent claims the survey from the group queue and asks for materials.
    log_in(page, base, "agent01")
    page.goto(f"{base}/inbox?tab=queue")
    assert page.locator(f'tr[data-task="{survey.id}"]').count() == 1
    page.click(f'tr[data-task="{survey.id}"] a[href="/tasks/{survey.id}"]')
    act(page, "claim")
    act(page, "start")
    page.fill("form[data-action=request_materials] textarea[name=materials]", "宗地界址图\n营业执照副本")
    page.fill("form[data-action=request_materials] input[name=deadline]", "2026-03-13")
    act(page, "request_materials")
    assert task_state(live, fresh, "u01_survey").state == "awaiting_enterprise"
    page.goto(f"{base}/inbox")
    assert page.locator(f'tr[data-task="{survey.id}"]').count() == 1
    shoot(page, "agent-inbox")
    page.click("header form[action='/logout'] button")

    # The enterprise sees the request, uploads the file and says it is complete.
    log_in(page, base, "ent01")
    shoot(page, "enterprise-portal")
    page.goto(f"{base}/portal/projects/{fresh.code}")
    request_box = page.locator("[data-material-request]")
    assert request_box.count() == 1 and "宗地界址图" in request_box.inner_text()
    pdf = tmp_path / "界址图.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.set_input_files("form[data-action=upload] input[type=file]", str(pdf))
    act(page, "upload")
    act(page, "supply_materials")
    assert task_state(live, fresh, "u01_survey").state == "in_progress"
    shoot(page, "enterprise-project")
    page.click("header form[action='/logout'] button")

    # The agent takes it to the department and finishes it.
    log_in(page, base, "agent01")
    page.goto(f"{base}/tasks/{survey.id}")
    act(page, "submit")
    page.fill("form[data-action=approve] input[name=reference]", "左自然资测〔2026〕12号")
    act(page, "approve")
    act(page, "complete")
    assert task_state(live, fresh, "u01_survey").state == "done"
    page.click("header form[action='/logout'] button")

    # The enterprise sees the next items become ready.
    log_in(page, base, "ent01")
    page.goto(f"{base}/portal/projects/{fresh.code}")
    for code in ("u02_planning_conditions", "u03_mineral", "u07_soil_water"):
        assert page.locator(f'g.node.st-ready[data-item="{code}"]').count() == 1, code
    assert page.locator('g.node.st-done[data-item="u01_survey"]').count() == 1
    page.click("header form[action='/logout'] button")

    # The lead's desk, for the screenshot.
    log_in(page, base, "lead01")
    page.goto(f"{base}/desk")
    shoot(page, "lead-desk")
    page.click("header form[action='/logout'] button")

    # The supervisor finds the long-overdue survey and exports the list.
    log_in(page, base, "supervisor")
    page.goto(f"{base}/supervision")
    late_row = page.locator(f"tr:has-text('{zone['late'].code}')")
    assert late_row.count() >= 1
    shoot(page, "supervisor-overview")
    with page.expect_download() as download:
        page.click("a[data-export=overdue]")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    cells = [str(c.value) for row in workbook.active.iter_rows() for c in row if c.value]
    assert zone["late"].code in cells
    page.click("header form[action='/logout'] button")

    log_in(page, base, "admin")
    page.goto(f"{base}/admin/users")
    shoot(page, "admin-users")

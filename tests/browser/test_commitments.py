"""承诺制 in a real browser: the lead handler offers a commitment letter on the
project filing; the enterprise logs in, opens its project in the portal,
reads the generated letter, signs it and sees the item covered by commitment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.browser.conftest import add_user, log_in, shoot
from workflow.models import CommitmentLetter, ItemTask

pytestmark = pytest.mark.browser


@pytest.fixture
def zone(live):
    db = live["db"]
    lead = add_user(db, "lead01", "lead", groups=("equipment",), display="王建国（领办人）")
    company = f.enterprise(db, "左云县恒达装备制造有限公司")
    add_user(db, "ent01", "enterprise", company=company, display="恒达装备（企业）")
    project = f.project(db, f.at("2026-03-02"), company=company, lead=lead,
                        code="2026-140226-34-03-000101")
    project.name = "风电装备制造基地项目"
    db.commit()
    return {"project": project}


def row(live, model, **where):
    found = live["db"].scalar(select(model).filter_by(**where)
                              .execution_options(populate_existing=True))
    live["db"].commit()
    return found


def submit(page, action):
    with page.expect_navigation():
        page.click(f"form[data-action={action}] button[type=submit]")


def test_the_enterprise_signs_a_commitment_and_the_item_is_covered(page, live, zone):
    base, project = live["url"], zone["project"]
    filing = row(live, ItemTask, project_id=project.id, item_code="project_filing")

    # The lead handler offers the commitment letter from the project file.
    log_in(page, base, "lead01")
    page.goto(f"{base}/projects/{project.code}")
    with page.expect_navigation():
        page.click(f'form[data-action=offer_commitment][data-task="{filing.id}"] button')
    letter = row(live, CommitmentLetter, task_id=filing.id)
    assert letter.status == "issued"
    page.click("header form[action='/logout'] button")

    # The enterprise opens its project, reads the generated letter and signs it.
    log_in(page, base, "ent01")
    page.goto(f"{base}/portal/projects/{project.code}")
    to_sign = page.locator(f'.cm-to-sign[data-letter="{letter.id}"]')
    text = to_sign.locator(".cm-document").inner_text()
    for fact in (letter.number, "左云县恒达装备制造有限公司", project.code, "风电装备制造基地项目",
                 "产业结构调整指导目录", "企业投资项目核准和备案管理条例"):
        assert fact in text, fact
    page.fill("form[data-action=sign_commitment] input[name=signatory]", "张恒达")
    page.check("form[data-action=sign_commitment] input[name=consent]")
    shoot(page, "enterprise-commitment")
    submit(page, "sign_commitment")

    signed = page.locator(f'.cm-signed-list li[data-letter="{letter.id}"]')
    assert "已按承诺制办结" in signed.inner_text() and letter.number in signed.inner_text()
    assert page.locator("tr[data-item=project_filing] .state.covered").count() == 1
    assert page.locator("form[data-action=sign_commitment]").count() == 0
    assert row(live, ItemTask, id=filing.id).state == "covered"
    assert row(live, CommitmentLetter, id=letter.id).signature == "张恒达"
    assert row(live, ItemTask, project_id=project.id, item_code="eia_approval").state == "ready"

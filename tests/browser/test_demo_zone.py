"""The demo zone as a new user meets it, in a real browser: every group's
agent finds work to claim in the queue and claims it; the enterprise finds a
commitment letter to sign; staff find the reforms on a project's page and a
file on a task that downloads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser.test_layout import DESKTOP, demo, go, open_page  # noqa: F401 - fixture
from workflow.models import Attachment, CommitmentLetter, ItemTask, Project, User

pytestmark = pytest.mark.browser

# One agent of each of the five groups.
AGENTS = ("agent01", "agent06", "agent10", "agent14", "agent18")


@pytest.mark.parametrize("username", AGENTS)
def test_every_group_has_work_to_claim(browser, demo, username):  # noqa: F811
    page = open_page(browser, demo, username, DESKTOP)
    go(page, demo, "/inbox?tab=queue")
    rows = page.locator("tr[data-task]")
    assert rows.count() >= 1, f"{username}'s queue is empty"
    if username == "agent10":  # and the claim step works on it
        task_id = int(rows.first.get_attribute("data-task"))
        page.click(f'tr[data-task="{task_id}"] a[href="/tasks/{task_id}"]')
        with page.expect_navigation():
            page.click("form[data-action=claim] button[type=submit]")
        db = demo["db"]
        task = db.scalar(select(ItemTask).where(ItemTask.id == task_id)
                         .execution_options(populate_existing=True))
        assert task.state == "assigned" and task.assignee.username == "agent10"
        db.commit()
    page.context.close()


def test_the_reforms_show_to_the_enterprise_and_to_staff(browser, demo):  # noqa: F811
    db = demo["db"]
    waiting = db.scalar(select(CommitmentLetter).where(CommitmentLetter.status == "issued"))
    broken = db.scalar(select(CommitmentLetter).where(CommitmentLetter.status == "broken"))
    project = db.get(Project, waiting.project_id)
    owner = db.scalar(select(User.username).where(User.enterprise_id == project.enterprise_id))
    file = db.scalars(select(Attachment).order_by(Attachment.id)).first()
    codes = {"waiting": project.code, "broken": db.get(Project, broken.project_id).code,
             "lead": db.get(Project, broken.project_id).lead.username}
    db.commit()

    # The enterprise has a letter to sign on its project's page.
    page = open_page(browser, demo, owner, DESKTOP)
    go(page, demo, f"/portal/projects/{codes['waiting']}")
    assert page.locator(f'.cm-to-sign[data-letter="{waiting.id}"]').count() == 1
    page.context.close()

    # The lead sees the broken letter; the supervisor a file that downloads
    # as the PDF it is.
    page = open_page(browser, demo, codes["lead"], DESKTOP)
    go(page, demo, f"/projects/{codes['broken']}")
    assert page.locator(f'tr[data-letter="{broken.id}"]').count() == 1
    page.context.close()
    page = open_page(browser, demo, "supervisor", DESKTOP)
    go(page, demo, f"/tasks/{file.task_id}")
    link = page.locator(f'li[data-file="{file.id}"] a')
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    page.context.close()

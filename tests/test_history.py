"""A project's history a page at a time, on both databases: the audit chain
either way and filtered to a task, comments and files newest first, the task
page's lists, the enterprise's projects, timeline, requests and files; the
check of a page of the chain against its neighbours and the head; and the
plans: each list is read on the index declared for it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, update

from tests import factories as f
from tests.factories import at
from tests.pages import first_select, plan, walk
from workflow.core import audit, history, portal
from workflow.core import operations as ops
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.models import Attachment, AuditEvent, Comment, MaterialRequest, Project

NOW = at("2026-03-02")


@pytest.fixture
def people(session):
    company = f.enterprise(session)
    return {"company": company,
            "alice": f.user(session, "alice", "agent", groups=("equipment",),
                            department="nature_resources"),
            "lead": f.user(session, "lead", "lead", groups=("equipment",)),
            "acme": f.user(session, "acme", "enterprise", company=company)}


@pytest.fixture
def project(session, people):
    return f.project(session, NOW, company=people["company"], lead=people["lead"])


def survey(project):
    return f.task(project, "u01_survey")


def comment(session, project, who, n, *, public=None, task=None, minutes=0):
    return ops.add_comment(session, project.id, f"留言{n}", actor=who, public=public,
                           task_id=task.id if task else None,
                           now=NOW + timedelta(minutes=minutes))


def work_the_survey(session, project, agent, cycles):
    """Claim and hand back the survey ``cycles`` times: two task events each."""
    task = survey(project)
    for n in range(cycles):
        ops.claim_task(session, task.id, actor=agent, now=NOW + timedelta(minutes=n))
        ops.unassign_task(session, task.id, actor=agent, now=NOW + timedelta(minutes=n))
    return task


def upload(session, project, who, n, task=None):
    return ops.record_attachment(session, project.id, actor=who, now=NOW + timedelta(minutes=n),
                                 original_name=f"f{n}.pdf", storage_name=f"s-{project.id}-{n}",
                                 content_type="application/pdf", size=10, sha256="0" * 64,
                                 task_id=task.id if task else None)


def chain(session, project):
    return session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                           .order_by(AuditEvent.seq)).all()


# -- the audit chain -----------------------------------------------------------------------

def test_the_chain_pages_newest_first_and_back(session, project, people):
    for n in range(12):
        comment(session, project, people["lead"], n)
    session.commit()
    seqs = [e.seq for e in chain(session, project)]
    pages = walk(lambda **kw: history.audit_page(session, project, **kw), 7)
    assert [e.seq for p in pages for e in p] == list(reversed(seqs))
    assert all(len(p) == 7 for p in pages[:-1]) and pages[0].first and not pages[1].first
    back = history.audit_page(session, project, cursor=pages[2].prev, limit=7)
    assert [e.seq for e in back] == [e.seq for e in pages[1]]


def test_the_chain_pages_oldest_first_from_the_genesis_event(session, project, people):
    for n in range(9):
        comment(session, project, people["lead"], n)
    session.commit()
    pages = walk(lambda **kw: history.audit_page(session, project, order="oldest", **kw), 5)
    assert [e.seq for p in pages for e in p] == [e.seq for e in chain(session, project)]
    assert pages[0].rows[0].seq == 1 and pages[0].rows[0].prev_hash == audit.GENESIS


def test_events_recorded_meanwhile_neither_repeat_nor_shift_the_pages(session, project, people):
    for n in range(10):
        comment(session, project, people["lead"], n)
    session.commit()
    first = history.audit_page(session, project, limit=6)
    for n in range(4):
        comment(session, project, people["lead"], 100 + n)
    session.commit()
    rest = [e.seq for p in walk(lambda cursor=None, **kw: history.audit_page(
        session, project, cursor=cursor or first.next, **kw), 6) for e in p]
    assert rest == list(range(first.rows[-1].seq - 1, 0, -1))
    # The new events head a fresh first page.
    assert history.audit_page(session, project, limit=4).rows[0].seq == project.audit_seq


def test_a_tasks_events_page_on_their_own(session, project, people):
    task = work_the_survey(session, project, people["alice"], 6)
    for n in range(5):
        comment(session, project, people["lead"], n)
    session.commit()
    expected = [e.seq for e in reversed(chain(session, project)) if e.task_id == task.id]
    pages = walk(lambda **kw: history.audit_page(session, project, task=task, **kw), 4)
    shown = [e for p in pages for e in p]
    assert [e.seq for e in shown] == expected and len(expected) > 12
    assert {e.task_id for e in shown} == {task.id}
    oldest = walk(lambda **kw: history.audit_page(session, project, task=task, order="oldest",
                                                  **kw), 5)
    assert [e.seq for p in oldest for e in p] == list(reversed(expected))
    # The task's history on the task page: its latest events, and a sign of more.
    latest = history.task_history(session, task, limit=5)
    assert [e.seq for e in latest] == expected[:5] and latest.next is not None


def test_a_task_of_another_project_is_refused_as_a_filter(session, project, people):
    other = f.project(session, NOW)
    with pytest.raises(ValidationError):
        history.task_of(project, survey(other).id)
    assert history.task_of(project, survey(project).id).id == survey(project).id
    assert history.task_of(project, None) is None


def test_bad_orders_cursors_and_limits_are_refused(session, project, people):
    comment(session, project, people["lead"], 1)
    session.commit()
    with pytest.raises(ValidationError):
        history.audit_order("sideways")
    newest = history.audit_page(session, project, limit=1)
    # A cursor of one direction (or of another list) is refused by the other.
    for cursor in (newest.next, history.project_comments(session, project, limit=1).next
                   or paging.Cursor("comments", 0, (1,)).encode(), "\x00", "%%%"):
        with pytest.raises(ValidationError):
            history.audit_page(session, project, order="oldest", cursor=cursor)
    for limit in (0, 201, -5):
        with pytest.raises(ValidationError):
            history.audit_page(session, project, limit=limit)


# -- checking a page of the chain -------------------------------------------------------------

@pytest.fixture
def long_chain(session, project, people):
    for n in range(20):
        comment(session, project, people["lead"], n)
    session.commit()
    return chain(session, project)


def test_an_intact_page_verifies(session, project, long_chain):
    for order in ("newest", "oldest"):
        for page in walk(lambda o=order, **kw: history.audit_page(session, project, order=o, **kw), 6):
            assert audit.verify_shown(session, project, [e.seq for e in page]) == []
    assert audit.verify_shown(session, project, []) == []


def _tamper(session, event_id, **values):
    session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(**values))
    session.commit()
    session.expire_all()


def test_an_edited_event_on_the_page_is_reported(session, project, long_chain):
    target = long_chain[10]
    _tamper(session, target.id, data={"forged": True})
    project = session.get(Project, project.id)
    findings = audit.verify_shown(session, project, [e.seq for e in long_chain[8:13]])
    assert [(x.seq, "edited" in x.problem) for x in findings] == [(target.seq, True)]


def test_an_edit_off_the_page_waits_for_the_whole_chain_check(session, project, long_chain):
    """The trade-off: a page vouches for itself, its neighbours' links and
    the head; an edit elsewhere shows on its own page and in ``verify``."""
    _tamper(session, long_chain[2].id, data={"forged": True})
    project = session.get(Project, project.id)
    newest = [e.seq for e in long_chain[-6:]]
    assert audit.verify_shown(session, project, newest) == []
    assert [x.seq for x in audit.verify(session, [project.code])] == [long_chain[2].seq]
    assert [x.seq for x in audit.verify_shown(session, project, [1, 2, 3, 4])] == [3]


def test_a_rehashed_edit_breaks_the_link_from_the_next_event(session, project, long_chain):
    target = session.get(AuditEvent, long_chain[5].id)
    target.data = {**target.data, "forged": True}
    target.hash = audit.event_hash(target)
    session.commit()
    project = session.get(Project, project.id)
    findings = audit.verify_shown(session, project, [long_chain[4].seq, long_chain[5].seq])
    assert [(x.seq, "link" in x.problem) for x in findings] == [(long_chain[6].seq, True)]


def test_a_deleted_neighbour_is_reported(session, project, long_chain):
    gone = long_chain[7]
    session.execute(delete(AuditEvent).where(AuditEvent.id == gone.id))
    session.commit()
    session.expire_all()
    project = session.get(Project, project.id)
    after = audit.verify_shown(session, project, [e.seq for e in long_chain[8:12]])
    assert [x.seq for x in after] == [gone.seq + 1] and "deleted" in after[0].problem
    before = audit.verify_shown(session, project, [e.seq for e in long_chain[3:7]])
    assert [x.seq for x in before] == [gone.seq - 1] and "deleted" in before[0].problem


def test_a_deleted_or_altered_head_is_reported_on_every_page(session, project, long_chain):
    session.execute(delete(AuditEvent).where(AuditEvent.id == long_chain[-1].id))
    session.commit()
    session.expire_all()
    project = session.get(Project, project.id)
    findings = audit.verify_shown(session, project, [1, 2, 3])
    assert [x.seq for x in findings] == [None] and "head" in findings[0].problem


# -- comments and files -----------------------------------------------------------------------

def test_comments_and_files_page_newest_first(session, project, people):
    task = survey(project)
    for n in range(11):
        comment(session, project, people["lead"], n, task=task if n % 2 else None)
        upload(session, project, people["lead"], n, task=task if n % 3 == 0 else None)
    session.commit()
    comments = session.scalars(select(Comment).where(Comment.project_id == project.id)).all()
    files = session.scalars(select(Attachment).where(Attachment.project_id == project.id)).all()
    shown = walk(lambda **kw: history.project_comments(session, project, **kw), 4)
    assert [c.id for p in shown for c in p] == sorted((c.id for c in comments), reverse=True)
    shown = walk(lambda **kw: history.project_files(session, project, **kw), 4)
    assert [a.id for p in shown for a in p] == sorted((a.id for a in files), reverse=True)
    shown = walk(lambda **kw: history.task_comments(session, task, **kw), 2)
    assert [c.id for p in shown for c in p] == sorted((c.id for c in comments if c.task_id == task.id),
                                                     reverse=True)
    shown = walk(lambda **kw: history.task_files(session, task, **kw), 2)
    assert [a.id for p in shown for a in p] == sorted((a.id for a in files if a.task_id == task.id),
                                                     reverse=True)


def test_a_tasks_requests_page_newest_first(session, project, people):
    task = survey(project)
    alice = people["alice"]
    ops.claim_task(session, task.id, actor=alice, now=NOW)
    ops.start_task(session, task.id, actor=alice, now=NOW)
    asked = []
    for n in range(5):
        asked.append(ops.request_materials(session, task.id, [{"code": "m", "name": f"材料{n}"}],
                                           deadline=date(2026, 3, 20), actor=alice, now=NOW))
        ops.supply_materials(session, task.id, actor=people["acme"], now=NOW)
    for n in range(3):  # one waits for a decision at a time
        asked_for = ops.request_extension(session, task.id, 1, reason=f"原因{n}", actor=alice,
                                          now=NOW)
        if n < 2:
            ops.decide_extension(session, asked_for.id, approve=False, actor=people["lead"],
                                 now=NOW, note="不批准")
    session.commit()
    shown = walk(lambda **kw: history.task_material_requests(session, task, **kw), 2)
    assert [r.id for p in shown for r in p] == [r.id for r in reversed(asked)]
    shown = walk(lambda **kw: history.task_extensions(session, task, **kw), 2)
    assert [r.reason for p in shown for r in p] == ["原因2", "原因1", "原因0"]


# -- the enterprise's portal --------------------------------------------------------------------

def test_an_enterprises_projects_page_newest_first(session, people):
    made = [f.project(session, NOW + timedelta(hours=n // 2), company=people["company"])
            for n in range(9)]  # two by two at the same moment: the id breaks the tie
    f.project(session, NOW)  # another enterprise's
    session.commit()
    pages = walk(lambda **kw: portal.enterprise_projects(session, people["acme"], **kw), 4)
    expected = sorted(made, key=lambda p: (p.created_at, p.id), reverse=True)
    assert [p.id for pg in pages for p in pg] == [p.id for p in expected]
    assert all(p.tasks for pg in pages for p in pg)
    assert not portal.enterprise_projects(session, people["alice"]).rows


def test_the_public_timeline_pages_public_events_with_comment_texts(session, project, people):
    lead, alice = people["lead"], people["alice"]
    work_the_survey(session, project, alice, 2)
    for n in range(8):
        comment(session, project, lead, n, public=n % 2 == 0)
    comment(session, project, people["acme"], 99)  # the enterprise's own: always public
    session.commit()
    public = [e for e in reversed(chain(session, project)) if e.public]
    pages = walk(lambda **kw: portal.public_timeline(session, project, **kw), 3)
    entries = [e for p in pages for e in p]
    assert [e.action for e in entries] == [e.action for e in public]
    assert [e.body for e in entries if e.action == "comment.added"] == [
        "留言99", "留言6", "留言4", "留言2", "留言0"]
    assert all(e.body is None for e in entries if e.action != "comment.added")
    assert entries[0].actor.username == "acme"


def test_open_requests_page_by_deadline_with_their_files(session, people):
    company = people["company"]
    project = f.project(session, NOW, company=company, industry="equipment_manufacturing")
    alice = people["alice"]
    ready = [t for t in project.tasks if t.state == "ready"]
    made = []
    for n, task in enumerate(ready):
        ops.claim_task(session, task.id, actor=alice, now=NOW)
        ops.start_task(session, task.id, actor=alice, now=NOW)
        made.append(ops.request_materials(session, task.id, [{"code": "m", "name": "图"}],
                                          deadline=date(2026, 3, 20 - n), actor=alice, now=NOW))
    for n in range(4):
        upload(session, project, people["acme"], n, task=ready[0])
    upload(session, project, alice, 9, task=ready[0])  # staff's: not listed for the enterprise
    session.commit()
    pages = walk(lambda **kw: portal.open_requests(session, project, **kw), 1)
    assert [r.id for p in pages for r in p] == [r.id for r in sorted(made, key=lambda r: (
        r.deadline, r.id))]
    files = portal.request_files(session, project, made, per_task=2)
    assert [a.original_name for a in files[ready[0].id]] == ["f3.pdf", "f2.pdf", "f1.pdf"]
    shown = walk(lambda **kw: portal.enterprise_files(session, project, **kw), 3)
    assert [a.original_name for p in shown for a in p] == ["f3.pdf", "f2.pdf", "f1.pdf", "f0.pdf"]
    assert portal.open_request_counts(session, [project.id]) == {project.id: len(made)}
    ops.supply_materials(session, ready[0].id, actor=people["acme"], now=NOW)
    session.commit()
    assert len(portal.open_requests(session, project)) == len(made) - 1
    assert session.scalar(select(MaterialRequest.fulfilled_at).where(
        MaterialRequest.id == made[0].id)) is not None


# -- the plans --------------------------------------------------------------------------------

def test_each_list_reads_its_own_index(session, project, people):
    task = survey(project)
    lists = {
        "audit": (lambda: history.audit_page(session, project), "audit_event_"),
        "task events": (lambda: history.audit_page(session, project, task=task),
                        "ix_audit_event_task_id_seq"),
        "comments": (lambda: history.project_comments(session, project), "ix_comment_project_id_id"),
        "task comments": (lambda: history.task_comments(session, task), "ix_comment_task_id_id"),
        "files": (lambda: history.project_files(session, project), "ix_attachment_project_id_id"),
        "task files": (lambda: history.task_files(session, task), "ix_attachment_task_id_id"),
        "requests": (lambda: history.task_material_requests(session, task),
                     "ix_material_request_task_id_id"),
        "extensions": (lambda: history.task_extensions(session, task),
                       "ix_extension_request_task_id_id"),
        "projects": (lambda: portal.enterprise_projects(session, people["acme"]),
                     "ix_project_enterprise_created"),
        "timeline": (lambda: portal.public_timeline(session, project), "ix_audit_event_public"),
        "enterprise files": (lambda: portal.enterprise_files(session, project),
                             "ix_attachment_project_id_id"),
    }
    for name, (fn, index) in lists.items():
        shown = plan(session, *first_select(session, fn))
        assert index in shown, (name, shown)
    audit_plan = plan(session, *first_select(session, lambda: history.audit_page(session, project)))
    assert "uq_audit_event_project_id" in audit_plan or "sqlite_autoindex_audit_event" in audit_plan


def test_an_enterprise_s_comment_is_never_internal(session, project, people):
    """Issue 10, finding 10: the engine refuses an internal comment from an
    enterprise (it was made public silently); by default its comments are
    public and the staff's internal."""
    from workflow.kernel.errors import NotPermitted

    with pytest.raises(NotPermitted):
        ops.add_comment(session, project.id, "内部", actor=people["acme"], now=NOW, public=False)
    assert ops.add_comment(session, project.id, "企业", actor=people["acme"], now=NOW).public
    assert not ops.add_comment(session, project.id, "内部", actor=people["lead"], now=NOW).public

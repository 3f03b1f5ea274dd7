"""The hash-chained audit log detects edited and deleted events."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from tests import factories as f
from tests.factories import at
from workflow.core import audit
from workflow.core import operations as ops
from workflow.models import AuditEvent, Project

NOW = at("2026-03-02")


@pytest.fixture
def worked_project(session):
    agent = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    project = f.project(session, NOW)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=agent, now=NOW)
    ops.start_task(session, survey.id, actor=agent, now=NOW)
    ops.submit_task(session, survey.id, actor=agent, now=NOW)
    session.commit()
    return project


def events(session, project):
    return session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                           .order_by(AuditEvent.seq)).all()


def test_an_untouched_chain_verifies(session, worked_project):
    chain = events(session, worked_project)
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    assert audit.verify(session) == []


def test_an_edited_event_is_reported(session, worked_project):
    chain = events(session, worked_project)
    target = chain[3]
    session.execute(update(AuditEvent).where(AuditEvent.id == target.id)
                    .values(data={"item": "u01_survey", "forged": True}))
    session.commit()
    session.expire_all()
    findings = audit.verify(session)
    assert [(x.project_code, x.seq) for x in findings] == [(worked_project.code, target.seq)]
    assert "edited" in findings[0].problem


def test_an_edited_actor_or_time_is_reported(session, worked_project):
    chain = events(session, worked_project)
    session.execute(update(AuditEvent).where(AuditEvent.id == chain[-1].id)
                    .values(at=at("2026-03-01")))
    session.commit()
    session.expire_all()
    assert [x.seq for x in audit.verify(session)] == [chain[-1].seq]


def test_a_deleted_event_in_the_middle_is_reported(session, worked_project):
    chain = events(session, worked_project)
    session.execute(delete(AuditEvent).where(AuditEvent.id == chain[2].id))
    session.commit()
    session.expire_all()
    findings = audit.verify(session)
    assert len(findings) == 1 and findings[0].seq == chain[3].seq
    assert "deleted" in findings[0].problem and f"#{chain[2].seq}" in findings[0].problem


def test_a_deleted_last_event_is_reported(session, worked_project):
    chain = events(session, worked_project)
    session.execute(delete(AuditEvent).where(AuditEvent.id == chain[-1].id))
    session.commit()
    session.expire_all()
    findings = audit.verify(session)
    assert len(findings) == 1 and findings[0].seq is None
    assert "deleted" in findings[0].problem


def test_a_rewritten_chain_still_fails_against_the_project_head(session, worked_project):
    """Recomputing every hash after an edit is not enough: the project row
    keeps the head, so the forger must also change it (which the version and
    the head's own history make visible); here the head gives it away."""
    chain = events(session, worked_project)
    prev = audit.GENESIS
    for event in chain:
        if event.seq == 2:
            event.data = {**event.data, "forged": True}
        event.prev_hash = prev
        event.hash = audit.event_hash(event)
        prev = event.hash
    session.commit()
    findings = audit.verify(session)
    assert findings and findings[-1].seq is None


def test_verify_can_be_limited_to_one_project(session, worked_project):
    other = f.project(session, NOW)
    session.execute(delete(AuditEvent).where(AuditEvent.project_id == other.id,
                                             AuditEvent.seq == 1))
    session.commit()
    session.expire_all()
    assert audit.verify(session, [worked_project.code]) == []
    assert [x.project_code for x in audit.verify(session, [other.code])] == [other.code]
    assert session.get(Project, other.id).audit_seq > 1

"""The lean flush writes what the ORM's flush would, and loses no race."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests import factories as f
from tests.factories import at
from workflow.core import audit, fastflush
from workflow.core import operations as ops
from workflow.kernel.errors import Conflict
from workflow.models import AuditEvent, ItemTask, Project

NOW = at("2026-03-02")


@pytest.fixture
def claimable(session):
    agent = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    project = f.project(session, NOW)
    session.commit()
    return agent, project, f.task(project, "u01_survey")


def test_a_claim_takes_the_lean_path_and_leaves_the_same_rows(session, claimable, monkeypatch):
    agent, project, task = claimable
    used = []
    real = fastflush.fast_flush
    monkeypatch.setattr(fastflush, "fast_flush", lambda s: (used.append(1), real(s)))
    version, seq = task.version, project.audit_seq
    ops.claim_task(session, task.id, actor=agent, now=NOW)
    assert used, "a claim should be written by the lean flush"
    assert not session.dirty and not session.new
    session.commit()
    stored = session.execute(select(ItemTask.state, ItemTask.assignee_id, ItemTask.version)
                             .where(ItemTask.id == task.id)).one()
    assert tuple(stored) == ("assigned", agent.id, version + 1)
    head = session.execute(select(Project.audit_seq, Project.audit_head)
                           .where(Project.id == project.id)).one()
    event = session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id,
                                                     AuditEvent.seq == seq + 1)).one()
    assert head == (seq + 1, event.hash) and event.action == "task.claim"
    assert audit.verify(session, [project.code]) == []


def test_a_row_changed_behind_the_lean_flush_is_a_conflict(session, claimable):
    agent, project, task = claimable
    loaded = ops.load_task(session, task.id)
    session.execute(update(ItemTask).where(ItemTask.id == task.id)
                    .values(version=ItemTask.version + 5).execution_options(synchronize_session=False))
    ops.machine_for(project).fire(loaded, "claim")
    loaded.assignee_id = agent.id
    audit.record(session, project, actor=agent, now=NOW, action="task.claim", task=loaded,
                 from_state="ready", to_state="assigned")
    assert fastflush.can_fast_flush(session)
    with pytest.raises(Conflict):
        ops.flush(session)
    session.rollback()
    assert session.scalar(select(ItemTask.state).where(ItemTask.id == task.id)) == "ready"


def test_other_changes_go_through_the_orm(session, claimable):
    agent, project, task = claimable
    ops.claim_task(session, task.id, actor=agent, now=NOW)
    ops.start_task(session, task.id, actor=agent, now=NOW)
    # A materials request adds Pause and MaterialRequest rows: not the lean shape.
    ops.request_materials(session, task.id, [{"code": "a", "name": "图纸"}],
                          deadline=at("2026-03-09").date(), actor=agent, now=NOW)
    session.commit()
    assert session.scalar(select(ItemTask.state).where(ItemTask.id == task.id)) == \
        "awaiting_enterprise"
    assert audit.verify(session, [project.code]) == []

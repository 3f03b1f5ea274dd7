"""Two plan sweeps at once on PostgreSQL (two scheduler processes by mistake):
each escalation of a late milestone is recorded once, with one set of
notifications and one audit event."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from tests.races import at_once
from workflow.core import audit
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import AuditEvent, Notification, PlanReminder
from workflow.reforms import baolian

pytestmark = pytest.mark.postgres
PROJECTS = 4


@pytest.fixture
def late_plans():
    name = f"daiban_baolian_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        lead = f.user(session, "lead", "lead", groups=("equipment",))
        staff = f.user(session, "staff", "agent", groups=("equipment",))
        f.user(session, "sup", "supervisor")
        f.user(session, "boss", "admin")
        for _ in range(PROJECTS):
            project = f.project(session, at("2026-03-02"), lead=lead, mandate=False)
            baolian.set_team(session, project.id, promoting_unit="经发局", staff=staff, actor=lead,
                             now=at("2026-03-02"))
    yield factory
    engine.dispose()
    drop_pg_database(name)


def test_two_plan_sweeps_at_once_record_each_escalation_once(late_plans):
    factory, now = late_plans, at("2026-07-20")  # the start milestones (2 June) are a month late
    results = at_once(factory, lambda session: baolian.sweep(session, now=now))
    assert all(isinstance(r, list) for r in results), results
    lines = results[0] + results[1]
    assert len(lines) == len(set(lines)) == PROJECTS * 4
    with factory() as session:
        assert session.scalar(select(func.count(PlanReminder.id))) == PROJECTS * 4
        staff_told = session.scalar(select(func.count(Notification.id)).join(
            Notification.user).where(Notification.kind == "plan_overdue",
                                     Notification.user.has(username="staff")))
        assert staff_told == PROJECTS * 4
        assert session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "baolian.milestone_escalated")) == PROJECTS * 4
        assert audit.verify(session) == []
        assert baolian.sweep(session, now=now) == []

"""Two request sweeps at once on PostgreSQL (two scheduler processes by
mistake, or a manual ``daiban sweep`` during the scheduler's): each overdue
13710 step of each request is escalated exactly once, and each step due the
next working day is warned of exactly once, with one set of notifications."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.conftest import drop_pg_database, fresh_pg_engine
from tests.factories import at
from tests.races import at_once
from workflow.kernel.db import make_session_factory, transaction
from workflow.models import Notification, RequestEscalation, RequestWarning, User
from workflow.reforms import requests as req

pytestmark = pytest.mark.postgres
REQUESTS = 8


@pytest.fixture
def overdue_db():
    """Requests raised on 2026-03-02 and never arranged: on 2026-04-20 every
    step (arrange, feedback, solution) is overdue."""
    name = f"daiban_requests_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        company = f.enterprise(session)
        owner = f.user(session, "owner", "enterprise", company=company)
        f.user(session, "sup", "supervisor")
        f.user(session, "boss", "admin")
        for n in range(REQUESTS):
            req.raise_request(session, actor=owner, now=at("2026-03-02"), kind="road",
                              title=f"道路问题 {n}")
    yield factory
    engine.dispose()
    drop_pg_database(name)


def test_two_sweeps_at_once_escalate_each_step_once(overdue_db):
    factory, now = overdue_db, at("2026-04-20")
    results = at_once(factory, lambda session: req.sweep(session, now=now))
    assert all(isinstance(r, list) for r in results), results
    lines = results[0] + results[1]
    assert len(lines) == len(set(lines)) == 3 * REQUESTS
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RequestEscalation)) == 3 * REQUESTS
        sup = session.scalar(select(User).where(User.username == "sup"))
        told = session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == sup.id,
                                     Notification.kind == "request_overdue"))
        assert told == 3 * REQUESTS  # arrange, feedback and solution of each, once
        assert req.sweep(session, now=now) == []


@pytest.fixture
def due_soon_db():
    """Requests raised and arranged on Monday 2026-03-02: their feedback is due
    on Thursday 03-05, so the department is warned on Wednesday 03-04."""
    name = f"daiban_requests_warn_race_{os.getpid()}"
    engine = fresh_pg_engine(name)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        company = f.enterprise(session)
        owner = f.user(session, "owner", "enterprise", company=company)
        lead = f.user(session, "lead", "lead")
        f.user(session, "power", "agent", department="development_reform")
        for n in range(REQUESTS):
            request = req.raise_request(session, actor=owner, now=at("2026-03-02"), kind="power",
                                        title=f"用电问题 {n}")
            req.arrange(session, request.id, actor=lead, now=at("2026-03-02"),
                        department="development_reform")
    yield factory
    engine.dispose()
    drop_pg_database(name)


def test_two_warning_sweeps_at_once_warn_each_step_once(due_soon_db):
    factory, now = due_soon_db, at("2026-03-04")
    results = at_once(factory, lambda session: req.warn(session, now=now))
    assert all(isinstance(r, list) for r in results), results
    lines = results[0] + results[1]
    assert len(lines) == len(set(lines)) == REQUESTS
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RequestWarning)) == REQUESTS
        power = session.scalar(select(User).where(User.username == "power"))
        told = session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == power.id,
                                     Notification.kind == "request_due_soon"))
        assert told == REQUESTS  # each request's feedback, once
        assert req.warn(session, now=now) == []

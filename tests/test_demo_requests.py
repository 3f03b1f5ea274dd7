"""The demo's enterprise requests and visits: a dozen requests in every state
of the 13710 rhythm, two visits with the requests raised in them, and the
overdue steps escalated by yesterday evening's sweep — on a working day and
inside a long holiday."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from demo import seed as demo
from tests.factories import at
from workflow.models import REQUEST_STATES, RequestEscalation, ServiceRequest, Visit
from workflow.reforms import requests as req

# Inside 国庆 (10-01..10-07): the demo's working days and due dates step over it.
NATIONAL_DAY = at("2026-10-05", 10)


def test_the_demo_has_requests_in_every_state_and_visits(session):
    now = NATIONAL_DAY
    demo.seed_into(session, now=now)
    session.flush()
    rows = session.scalars(select(ServiceRequest).order_by(ServiceRequest.id)).all()
    assert len(rows) >= 12
    states = Counter(r.status for r in rows)
    assert set(states) == set(REQUEST_STATES), states
    assert {r.source for r in rows} == {"portal", "visit"}
    assert any(r.rating == "satisfied" for r in rows)
    assert any(r.status == "closed" and r.rating is None for r in rows)  # closed by staff
    assert any(r.complexity == "complex" for r in rows)
    visits = session.scalars(select(Visit).order_by(Visit.id)).all()
    assert len(visits) == 2
    for visit in visits:
        raised = req.requests_of_visit(session, visit.id)
        assert raised and all(r.enterprise_id == visit.enterprise_id for r in raised)
    # Yesterday evening's sweep escalated what was overdue; a sweep now adds
    # nothing for those steps again.
    escalated = {(e.request_id, e.step) for e in session.scalars(select(RequestEscalation))}
    waiting = [r for r in rows if r.status == "submitted"]
    assert any((r.id, "arrange") in escalated for r in waiting)
    later = req.sweep(session, now=now)
    assert not any(line.startswith(f"request {rid} {step} ") for rid, step in escalated
                   for line in later)
    assert req.sweep(session, now=now) == []
    # The supervisor's figure counts every unsolved request once.
    table = req.open_by_department(session, now.date())
    assert sum(line.total for line in table) == sum(
        states[s] for s in ("submitted", "arranged", "feedback_given", "reopened"))

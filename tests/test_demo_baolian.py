"""The demo's 包联 plans: every signed project has a plan with its team, the
plans show every status on any day the demo is seeded, the late ones were
escalated by last evening's sweep and a second sweep adds nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from demo import seed as demo
from tests.test_demo import NATIONAL_DAY, WORKING_DAY
from workflow.core import audit
from workflow.core import operations as ops
from workflow.models import PlanReminder, Project, PromotionPlan
from workflow.reforms import baolian


@pytest.mark.parametrize("now", [WORKING_DAY, NATIONAL_DAY], ids=["working-day", "national-day"])
def test_every_signed_project_has_a_plan_in_every_status(session, now):
    demo.seed_into(session, now=now)
    session.flush()
    today = ops.zone_today(now)
    signed = session.scalars(select(Project.id).where(
        Project.stage.notin_(("intention", "terminated")))).all()
    plans = session.scalars(select(PromotionPlan).where(PromotionPlan.project_id.in_(signed))).all()
    assert {p.project_id for p in plans} == set(signed) and len(signed) >= 25
    assert all(p.promoting_unit and p.staff is not None and p.staff.role == "agent" for p in plans)
    statuses = Counter(baolian.status_of(p.next_due_on, today) for p in plans)
    assert statuses["late"] >= 8 and statuses["at_risk"] >= 8 and statuses["on_track"] >= 5, statuses
    # Every late plan was escalated by last evening's sweep, up to the supervisors.
    late = {p.id for p in plans if baolian.status_of(p.next_due_on, today) == "late"}
    levels = Counter(r.level for r in session.scalars(select(PlanReminder)))
    assert levels["red"] >= len(late) and levels["escalate_supervisor"] >= len(late)
    assert any(m.kind == "custom" for p in plans for m in p.milestones)
    assert any(m.source == "agreement" for p in plans for m in p.milestones)
    assert any(m.achieved_how == "stage" and m.kind != "sign" for p in plans for m in p.milestones)
    baolian.sweep(session, now=now)
    assert baolian.sweep(session, now=now) == []  # nothing twice
    assert audit.verify(session) == []

"""The demo's fees mirror the zone: the 14 items budgeted, the seven regional
evaluations contracted once each, every parcel's shared survey paid once,
projects' own items, and element subsidies in every state."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from demo import seed as demo
from tests.factories import at
from workflow.core import audit
from workflow.kernel import zone_audit
from workflow.models import (
    ElementSubsidy,
    FeeBudget,
    FeeContract,
    FeePayment,
    Parcel,
    RegionalEvaluation,
    User,
)
from workflow.reforms import fees

NOW = at("2026-11-27", 10)  # a Friday


def test_the_demo_carries_what_the_zone_pays(session):
    demo.seed_into(session, now=NOW)
    session.flush()
    lines = fees.by_line(session, 2026)
    budgeted = {x.key for x in lines if x.figures.budget > 0}
    assert len(budgeted) == 18 and set(fees.unified_items(session)) <= budgeted  # 14 + 4 subsidies

    evaluations = session.scalars(select(FeeContract).where(FeeContract.evaluation_id.is_not(None))).all()
    assert len(evaluations) == 7 == session.scalar(select(func.count()).select_from(RegionalEvaluation))
    assert len({c.evaluation_id for c in evaluations}) == 7 and all(c.project_id is None for c in evaluations)
    assert all(sum(p.amount_fen for p in c.payments) == c.amount_fen for c in evaluations)

    parcels = session.scalar(select(func.count()).select_from(Parcel))
    shared = session.scalars(select(FeeContract).where(FeeContract.parcel_id.is_not(None))).all()
    assert Counter(c.item_code for c in shared) == {"u01_survey": parcels, "u02_planning_conditions": parcels}
    assert session.scalar(select(func.count()).select_from(FeeContract)
                          .where(FeeContract.project_id.is_not(None))) == 6

    # Every year's paid is exactly the payments, each counted once.
    years = fees.by_year(session)
    assert sum(y.figures.paid for y in years) == \
        session.scalar(select(func.sum(FeePayment.amount_fen))) + \
        session.scalar(select(func.sum(ElementSubsidy.amount_fen)).where(ElementSubsidy.status == "paid"))
    assert sum(y.figures.committed for y in years) == \
        session.scalar(select(func.sum(FeeContract.amount_fen))) + \
        session.scalar(select(func.sum(ElementSubsidy.amount_fen))
                       .where(ElementSubsidy.status.in_(("approved", "paid"))))
    assert {"2026"} < {y.key for y in years}  # the evaluations were paid years ago

    assert set(session.scalars(select(ElementSubsidy.status))) == {"proposed", "approved", "rejected",
                                                                     "paid"}
    assert session.scalar(select(func.count()).select_from(FeeBudget)) == 18
    keeper = session.scalar(select(User).where(User.username == "finance"))
    assert keeper.finance_office and keeper.role == "supervisor"
    assert audit.verify(session) == [] and zone_audit.verify(session)[0] == []

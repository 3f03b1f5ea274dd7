"""The intention ledger (意向项目台账) and the zone's pipeline."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow.core import audit, operations, rollups
from workflow.kernel.errors import InvalidTransition, NotPermitted, ValidationError
from workflow.models import AuditEvent, Enterprise, Notification, Project
from workflow.reforms import intentions

NOW = at("2026-03-02", 10)


@pytest.fixture
def people(session):
    return {
        "lead": f.user(session, "lead_eq", "lead", groups=("equipment",)),
        "chem_lead": f.user(session, "lead_chem", "lead", groups=("coal_chemical",)),
        "admin": f.user(session, "admin1", "admin"),
        "agent": f.user(session, "agent1", "agent", groups=("equipment",)),
        "sup": f.user(session, "sup1", "supervisor"),
    }


def intention(session, people, **kw):
    args = {"name": "年产5万台农机装备项目", "industry": "equipment_manufacturing",
            "investment_wan": 120000, "enterprise_name": "大同某装备有限公司",
            "actor": people["lead"], "now": NOW}
    args.update(kw)
    return intentions.create_intention(session, **args)


def actions(session, project):
    return [e.action for e in session.scalars(select(AuditEvent).where(
        AuditEvent.project_id == project.id).order_by(AuditEvent.seq))]


# -- registering -----------------------------------------------------------------------------

def test_a_lead_registers_an_intention_for_a_new_enterprise(session, people):
    project = intention(session, people, hesitation="等待电价政策", asks="协调专线供电",
                        contact_name="王经理", credit_code="91140226MA0K123456")
    assert project.stage == "intention"
    assert project.code == "YX-2026-0001"
    assert project.lead_id == people["lead"].id  # the registering lead is in charge
    assert project.enterprise.name == "大同某装备有限公司"
    assert project.enterprise.credit_code == "91140226MA0K123456"
    assert (project.hesitation, project.asks) == ("等待电价政策", "协调专线供电")
    assert project.investment_wan == 120000 and not project.is_chemical
    assert actions(session, project) == ["project.created", "intention.recorded"]
    second = intention(session, people, enterprise_id=project.enterprise_id, enterprise_name="")
    assert second.code == "YX-2026-0002" and second.enterprise_id == project.enterprise_id


def test_an_admin_registers_one_and_the_groups_lead_takes_charge(session, people):
    project = intention(session, people, actor=people["admin"], industry="coal_chemical",
                        enterprise_name="某煤化有限公司")
    assert project.lead_id == people["chem_lead"].id
    assert project.is_chemical  # a coal-chemical project is screened before signing
    told = session.scalars(select(Notification).where(
        Notification.user_id == people["chem_lead"].id)).all()
    assert [n.kind for n in told] == ["intention"]


@pytest.mark.parametrize("bad", [
    {"enterprise_name": ""},
    {"investment_wan": -5},
    {"investment_wan": "很多"},
    {"credit_code": "12345"},
    {"name": ""},
    {"industry": "mining"},
])
def test_bad_input_registers_nothing(session, people, bad):
    before = [session.scalar(select(func.count(m.id))) for m in (Project, Enterprise)]
    with pytest.raises(ValidationError):
        intention(session, people, **bad)
    assert [session.scalar(select(func.count(m.id))) for m in (Project, Enterprise)] == before


def test_an_enterprise_already_registered_is_chosen_not_duplicated(session, people):
    f.enterprise(session, "大同某装备有限公司")
    with pytest.raises(ValidationError, match="already registered"):
        intention(session, people)


@pytest.mark.parametrize("role", ["agent", "sup"])
def test_only_leads_and_admins_register_intentions(session, people, role):
    with pytest.raises(NotPermitted):
        intention(session, people, actor=people[role])


# -- follow-ups ------------------------------------------------------------------------------

def test_each_follow_up_is_kept_and_sets_the_latest_hesitation_and_asks(session, people):
    project = intention(session, people, hesitation="观望市场", asks="")
    intentions.record_follow_up(session, project.id, contacted_on="2026-02-10", channel="visit",
                                contact="王经理", summary="上门走访，介绍园区政策",
                                hesitation="担心用地指标", asks="希望拿地即开工",
                                actor=people["lead"], now=NOW)
    intentions.record_follow_up(session, project.id, contacted_on=date(2026, 3, 2), channel="call",
                                summary="电话沟通，企业仍在比较", actor=people["lead"], now=NOW)
    assert (project.hesitation, project.asks) == ("担心用地指标", "希望拿地即开工")
    history = intentions.follow_ups_of(session, project.id)
    assert [h.summary for h in history] == ["电话沟通，企业仍在比较", "上门走访，介绍园区政策"]
    assert history[1].hesitation == "担心用地指标" and history[1].recorded_by.username == "lead_eq"
    assert actions(session, project)[-2:] == ["intention.follow_up", "intention.follow_up"]


@pytest.mark.parametrize("bad", [
    {"contacted_on": "2026-03-03"},  # tomorrow
    {"contacted_on": "03/01/2026"},
    {"summary": "   "},
    {"channel": "carrier_pigeon"},
])
def test_a_bad_follow_up_is_refused(session, people, bad):
    project = intention(session, people)
    args = {"contacted_on": "2026-03-01", "summary": "走访", "actor": people["lead"], "now": NOW}
    args.update(bad)
    with pytest.raises(ValidationError):
        intentions.record_follow_up(session, project.id, **args)
    assert intentions.follow_ups_of(session, project.id) == []


def test_a_lead_of_another_group_cannot_follow_up(session, people):
    project = intention(session, people)
    with pytest.raises(NotPermitted):
        intentions.record_follow_up(session, project.id, contacted_on="2026-03-01", summary="x",
                                    actor=people["chem_lead"], now=NOW)


def test_changing_the_leader_in_charge_and_the_investment(session, people):
    project = intention(session, people)
    other = f.user(session, "lead_eq2", "lead", groups=("equipment",))
    intentions.update_intention(session, project.id, actor=people["admin"], now=NOW,
                                investment_wan="150000", lead=other)
    assert project.lead_id == other.id and project.investment_wan == 150000
    with pytest.raises(ValidationError):
        intentions.update_intention(session, project.id, actor=people["admin"], now=NOW,
                                    lead=people["agent"])


# -- conversion ------------------------------------------------------------------------------

def test_conversion_keeps_the_project_its_history_and_its_audit_chain(session, people):
    project = intention(session, people)
    intentions.record_follow_up(session, project.id, contacted_on="2026-02-20", summary="洽谈协议",
                                actor=people["lead"], now=NOW)
    signed = intentions.convert_intention(session, project.id, actor=people["lead"],
                                          now=at("2026-03-05"))
    assert signed.id == project.id and signed.stage == "signed"
    # Signing seeds the 包联 promotion plan in the same chain.
    assert actions(session, project) == ["project.created", "intention.recorded",
                                         "intention.follow_up", "project.sign", "baolian.plan_seeded"]
    assert audit.verify(session, [project.code]) == []
    assert [h.summary for h in intentions.follow_ups_of(session, project.id)] == ["洽谈协议"]
    book = intentions.ledger(session, people["admin"], today=date(2026, 3, 5))
    assert [line.project.id for line in book.converted] == [project.id]
    assert not book.open and book.converted.rows[0].follow_ups == 1
    assert book.converted.rows[0].last_contact == date(2026, 2, 20)
    assert book.converted.rows[0].moved_at is not None and int(book.summary.converted) == 1
    with pytest.raises(InvalidTransition):
        intentions.convert_intention(session, project.id, actor=people["lead"], now=NOW)
    with pytest.raises(InvalidTransition):  # no more follow-ups on a signed project
        intentions.record_follow_up(session, project.id, contacted_on="2026-03-01", summary="x",
                                    actor=people["lead"], now=at("2026-03-05"))


def test_the_ledger_separates_open_converted_and_dropped_and_respects_who_sees(session, people):
    big = intention(session, people, name="大项目", investment_wan=300000)
    small = intention(session, people, name="小项目", investment_wan=5000,
                      enterprise_name="另一家公司")
    dropped = intention(session, people, name="放弃的项目", enterprise_name="第三家公司")
    chem = intention(session, people, actor=people["admin"], industry="fine_chemical",
                     enterprise_name="化工公司")
    operations.terminate_project(session, dropped.id, actor=people["lead"], now=NOW,
                                 reason="企业转投外省")
    today = date(2026, 3, 2)
    book = intentions.ledger(session, people["admin"], today=today)
    assert [line.project.name for line in book.open] == ["大项目", chem.name, "小项目"]
    assert [line.project.id for line in book.dropped] == [dropped.id]
    assert book.summary.open == 3 and int(book.summary.dropped) == 1
    assert book.summary.open_investment_wan == 300000 + 120000 + 5000
    # the equipment lead: not the chemical one
    mine = intentions.ledger(session, people["lead"], today=today)
    assert [line.project.id for line in mine.open] == [big.id, small.id]
    assert mine.summary.open_investment_wan == 305000
    assert [line.project.id for line in intentions.ledger(
        session, people["admin"], intentions.LedgerFilter(text="另一家"), today=today).open] == [small.id]
    assert [line.project.id for line in intentions.ledger(
        session, people["admin"], intentions.LedgerFilter(group="coal_chemical"), today=today).open] \
        == [chem.id]


# -- the pipeline ----------------------------------------------------------------------------

def test_pipeline_totals_per_step_group_and_leader(session, people):
    company = f.enterprise(session)

    def make(industry, stage, wan, lead, suspended_from=None):
        project = operations.create_project(
            session, code=f"P-{stage}-{wan}", name=f"{stage}{wan}", enterprise=company,
            industry=industry, actor=None, now=NOW, lead=lead, investment_wan=wan,
            stage="intention" if stage == "intention" else "signed")
        project.stage = stage  # hand-built: the pipeline only reads stages
        project.suspended_from = suspended_from
        return project

    eq, chem = people["lead"], people["chem_lead"]
    make("equipment_manufacturing", "intention", 100, eq)
    make("coal_chemical", "intention", 200, chem)
    make("machinery", "mandated", 300, eq)
    make("coal_chemical", "approving", 400, chem)
    make("equipment_manufacturing", "completed", 500, eq)
    make("fine_chemical", "producing", 600, chem)
    make("coal_chemical", "verified", 700, chem)
    make("machinery", "suspended", 800, eq, suspended_from="started")  # counts where it stopped
    make("machinery", "terminated", 900, eq)  # counts nowhere
    session.flush()
    rollups.refresh(session, now=NOW)  # as the scheduler's sweep does
    view = intentions.pipeline(session)
    assert view.refreshed_at is not None
    assert {s: (t.count, t.investment_wan) for s, t in view.steps.items()} == {
        "intention": (2, 300), "signed": (2, 700), "started": (2, 1300), "producing": (1, 600),
        "at_capacity": (1, 700)}
    assert (view.total.count, view.total.investment_wan) == (8, 3600)
    groups = {row.key.code: row for row in view.groups}
    assert groups["equipment"].steps["started"].investment_wan == 1300
    assert groups["equipment"].total.investment_wan == 1700
    assert groups["coal_chemical"].steps["signed"].count == 1
    assert groups["coal_chemical"].total.investment_wan == 1900
    assert groups["food"].total.count == 0
    leads = {row.key.username: row for row in view.leads}
    assert leads["lead_chem"].total.investment_wan == 1900
    started = intentions.step_projects(session, "started")
    assert [p.investment_wan for p in started] == [800, 500]
    assert started.rows[0].lead.username == "lead_eq"


# -- the stale-intention reminder ------------------------------------------------------------

def test_sweep_reminds_a_silent_intention_once_per_silence(session, people):
    project = intention(session, people)
    intentions.record_follow_up(session, project.id, contacted_on="2026-03-01", summary="走访",
                                actor=people["lead"], now=NOW)
    assert intentions.sweep(session, now=at("2026-03-31")) == []  # 30 days: not yet
    first = intentions.sweep(session, now=at("2026-04-01"))
    assert len(first) == 1 and project.code in first[0]
    assert intentions.sweep(session, now=at("2026-04-02")) == []  # idempotent
    intentions.record_follow_up(session, project.id, contacted_on="2026-04-03", summary="再访",
                                actor=people["lead"], now=at("2026-04-03"))
    assert intentions.sweep(session, now=at("2026-04-20")) == []
    assert len(intentions.sweep(session, now=at("2026-05-05"))) == 1
    told = session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "intention_stale", Notification.project_id == project.id))
    assert told == 2


def test_enterprise_rows_are_created_only_with_the_intention(session, people):
    count = session.scalar(select(func.count(Enterprise.id)))
    intention(session, people)
    assert session.scalar(select(func.count(Enterprise.id))) == count + 1

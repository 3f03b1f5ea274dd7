"""Engine operations on a real database (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.factories import at
from workflow.core import operations as ops
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import AuditEvent, ItemTask, Pause, Project

MONDAY = at("2026-03-02")  # no holiday anywhere near


@pytest.fixture
def team(session):
    """An equipment-group team: a lead handler and agents, plus an outsider."""
    lead = f.user(session, "lead_eq", "lead", groups=("equipment",))
    alice = f.user(session, "alice", "agent", groups=("equipment",), department="nature_resources")
    bob = f.user(session, "bob", "agent", groups=("equipment",), department="nature_resources")
    carol = f.user(session, "carol", "agent", groups=("equipment",), department="planning")
    outsider = f.user(session, "olga", "agent", groups=("food",), department="nature_resources")
    return {"lead": lead, "alice": alice, "bob": bob, "carol": carol, "outsider": outsider}


def audit_count(session, project) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.project_id == project.id))


def walk_to_accepted(session, task, agent, now):
    """Claim, start, submit and have the department accept (受理) on ``now``."""
    ops.claim_task(session, task.id, actor=agent, now=now)
    ops.start_task(session, task.id, actor=agent, now=now)
    ops.submit_task(session, task.id, actor=agent, now=now)
    ops.accept_task(session, task.id, actor=agent, now=now)


def walk_to_done(session, task, agent, now):
    ops.claim_task(session, task.id, actor=agent, now=now)
    ops.start_task(session, task.id, actor=agent, now=now)
    ops.submit_task(session, task.id, actor=agent, now=now)
    ops.approve_task(session, task.id, actor=agent, now=now, reference="左开审〔2026〕1号")
    ops.complete_task(session, task.id, actor=agent, now=now)


# -- routing -------------------------------------------------------------------------

def test_a_new_project_goes_to_its_industry_group_and_gets_a_lead(session, team):
    project = f.project(session, MONDAY, industry="equipment_manufacturing", mandate=False)
    assert project.group.code == "equipment"
    assert project.lead_id == team["lead"].id
    assert project.stage == "signed"
    assert project.definition_version.is_current


def test_the_lead_with_fewest_live_projects_is_chosen(session, team):
    second = f.user(session, "lead_eq2", "lead", groups=("equipment",))
    first = f.project(session, MONDAY, mandate=False)
    other = f.project(session, MONDAY, mandate=False)
    assert {first.lead_id, other.lead_id} == {team["lead"].id, second.id}


def test_unknown_industry_and_duplicate_code_are_refused(session, team):
    company = f.enterprise(session)
    with pytest.raises(ValidationError, match="Unknown industry"):
        ops.create_project(session, code="X-1", name="n", enterprise=company,
                           industry="space_mining", actor=None, now=MONDAY)
    f.project(session, MONDAY, code="DUP-1", mandate=False)
    with pytest.raises(ValidationError, match="already registered"):
        ops.create_project(session, code="DUP-1", name="n", enterprise=company,
                           industry="food_processing", actor=None, now=MONDAY)


def test_mandate_creates_one_task_per_item_and_queues_the_roots(session, team):
    project = f.project(session, MONDAY)
    definition = ops.definition_for(project)
    assert project.stage == "approving"
    # One task per item the project does: a general project does neither the
    # chemical-only safety reviews nor the EIA report it did not choose.
    done_by_it = ops.project_items(definition, project)
    assert sorted(t.item_code for t in project.tasks) == sorted(i.code for i in done_by_it)
    assert {i.code for i in definition.items.values()} - {i.code for i in done_by_it} == {
        "eia_report", "chem_safety_conditions", "chem_safety_design"}
    ready = {t.item_code for t in project.tasks if t.state == "ready"}
    assert ready == {code for code, item in definition.items.items()
                     if not item.requires and item.available_from is None}
    survey = f.task(project, "u01_survey")
    # Released on Monday 2 March: the service clock (代办) runs on the zone's
    # 10-working-day promise for the survey; the department's clock waits for
    # its 受理. 3–6 March (4), 9–13 (9), 16 (10).
    assert survey.released_on == date(2026, 3, 2) and survey.clock == "service"
    assert survey.due_on == survey.service_due_on == date(2026, 3, 16)
    assert survey.accepted_on is None and survey.statutory_due_on is None
    assert survey.group_id == project.group_id and survey.department == "nature_resources"
    assert all(t.due_on is None for t in project.tasks if t.state == "blocked")


def test_an_agent_claims_from_the_group_queue(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    assert (survey.state, survey.assignee_id) == ("assigned", team["alice"].id)


def test_an_agent_of_another_group_cannot_claim_this_item(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    events = audit_count(session, project)
    with pytest.raises(NotPermitted):
        ops.claim_task(session, survey.id, actor=team["outsider"], now=MONDAY)
    assert survey.state == "ready" and survey.assignee_id is None
    assert audit_count(session, project) == events


def test_an_agent_cannot_work_a_task_assigned_to_someone_else(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    with pytest.raises(NotPermitted):
        ops.start_task(session, survey.id, actor=team["bob"], now=MONDAY)
    assert survey.state == "assigned"


def test_claiming_a_claimed_task_is_a_conflict(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    with pytest.raises(Conflict, match="already taken"):
        ops.claim_task(session, survey.id, actor=team["bob"], now=MONDAY)
    assert survey.assignee_id == team["alice"].id


def test_a_stale_version_is_a_conflict_and_changes_nothing(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    shown = survey.version
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY, expected_version=shown)
    with pytest.raises(Conflict, match="changed by someone else"):
        ops.assign_task(session, survey.id, team["bob"], actor=team["lead"], now=MONDAY,
                        expected_version=shown, reason="balance load")
    assert survey.assignee_id == team["alice"].id


def test_lead_assigns_and_reassigns_with_a_reason(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.assign_task(session, survey.id, team["alice"], actor=team["lead"], now=MONDAY)
    assert survey.assignee_id == team["alice"].id
    with pytest.raises(ValidationError, match="reason"):
        ops.assign_task(session, survey.id, team["bob"], actor=team["lead"], now=MONDAY)
    ops.assign_task(session, survey.id, team["bob"], actor=team["lead"], now=MONDAY,
                    reason="Alice is at the provincial training")
    assert survey.assignee_id == team["bob"].id and survey.state == "assigned"


def test_work_for_an_away_agent_goes_to_the_substitute(session, team):
    team["alice"].away = True
    team["alice"].substitute_id = team["carol"].id
    session.flush()
    session.refresh(team["alice"])
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.assign_task(session, survey.id, team["alice"], actor=team["lead"], now=MONDAY)
    assert survey.assignee_id == team["carol"].id
    event = session.scalars(select(AuditEvent).where(AuditEvent.task_id == survey.id)
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.data["substitute_for"] == "alice"


def test_an_agent_cannot_assign_and_cannot_be_assigned_outside_the_group(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    with pytest.raises(NotPermitted):
        ops.assign_task(session, survey.id, team["bob"], actor=team["alice"], now=MONDAY)
    with pytest.raises(ValidationError, match="not an active agent"):
        ops.assign_task(session, survey.id, team["outsider"], actor=team["lead"], now=MONDAY)
    assert survey.state == "ready"


def test_auto_assignment_picks_the_least_loaded_agent_of_the_department(session, team):
    project = f.project(session, MONDAY)
    busy = f.project(session, MONDAY)
    ops.claim_task(session, f.task(busy, "u01_survey").id, actor=team["alice"], now=MONDAY)
    survey = f.task(project, "u01_survey")
    ops.auto_assign(session, survey.id, actor=team["lead"], now=MONDAY)
    # alice and bob are both nature_resources; alice already carries one task.
    assert survey.assignee_id == team["bob"].id


def test_auto_assignment_skips_away_agents_and_falls_back_to_the_group(session, team):
    team["alice"].away = team["bob"].away = True
    session.flush()
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.auto_assign(session, survey.id, actor=None, now=MONDAY)
    assert survey.assignee_id == team["carol"].id  # planning, the only one left


# -- the item's path ---------------------------------------------------------------------

def test_done_item_releases_its_dependants_in_the_same_transaction(session, team):
    project = f.project(session, at("2026-03-02"))
    survey = f.task(project, "u01_survey")
    walk_to_done(session, survey, team["alice"], at("2026-03-10"))
    assert survey.state == "done" and survey.closed_on == date(2026, 3, 10)
    states = {t.item_code: t.state for t in project.tasks}
    assert states["u03_mineral"] == "ready" and states["u02_planning_conditions"] == "ready"
    assert states["u12_regional_eia"] == "blocked"  # needs the planning conditions
    assert states["land_transfer"] == "blocked"
    mineral = f.task(project, "u03_mineral")
    assert mineral.released_on == date(2026, 3, 10) and mineral.accepted_on is None


def test_department_return_goes_back_to_work(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.start_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.submit_task(session, survey.id, actor=team["alice"], now=MONDAY)
    with pytest.raises(ValidationError, match="reason"):
        ops.return_task(session, survey.id, actor=team["alice"], now=MONDAY, reason="  ")
    ops.return_task(session, survey.id, actor=team["alice"], now=MONDAY, reason="界址点坐标有误")
    assert survey.state == "returned"
    ops.rework_task(session, survey.id, actor=team["alice"], now=MONDAY)
    assert survey.state == "in_progress"


def test_an_event_not_allowed_now_says_why_and_changes_nothing(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    events = audit_count(session, project)
    with pytest.raises(InvalidTransition, match="the item is assigned"):
        ops.approve_task(session, survey.id, actor=team["alice"], now=MONDAY)
    assert survey.state == "assigned"
    assert audit_count(session, project) == events


def test_requesting_materials_pauses_the_clock_and_supplying_restarts_it(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.start_task(session, survey.id, actor=team["alice"], now=MONDAY)
    request = ops.request_materials(
        session, survey.id, [{"code": "plan", "name": "宗地界址图"},
                             {"code": "id", "name": "营业执照副本"}],
        deadline=date(2026, 3, 13), actor=team["alice"], now=at("2026-03-04"))
    assert survey.state == "awaiting_enterprise" and survey.paused_since == date(2026, 3, 4)
    assert [m["name"] for m in request.items["materials"]] == ["宗地界址图", "营业执照副本"]
    enterprise_user = f.user(session, "ent", "enterprise", company=project.enterprise)
    ops.supply_materials(session, survey.id, actor=enterprise_user, now=at("2026-03-09"))
    # Paused after Wed 4 March up to Mon 9 March: 5, 6 and 9 March = 3 working
    # days on the service clock: 10 + 3 working days after 2 March is 19 March.
    assert survey.service_paused_days == 3 and survey.statutory_paused_days == 0
    assert survey.due_on == date(2026, 3, 19)
    assert survey.state == "in_progress" and survey.paused_since is None
    pause = session.scalars(select(Pause).where(Pause.task_id == survey.id)).one()
    assert (pause.days, pause.ended_on, pause.clock, pause.kind) == (
        3, date(2026, 3, 9), "service", "materials")
    assert request.fulfilled_at is not None


def test_materials_request_needs_items_and_a_future_deadline(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.start_task(session, survey.id, actor=team["alice"], now=MONDAY)
    with pytest.raises(ValidationError, match="at least one"):
        ops.request_materials(session, survey.id, [], deadline=date(2026, 3, 9),
                              actor=team["alice"], now=MONDAY)
    with pytest.raises(ValidationError, match="after today"):
        ops.request_materials(session, survey.id, [{"code": "a", "name": "图纸"}],
                              deadline=date(2026, 3, 2), actor=team["alice"], now=MONDAY)
    assert survey.state == "in_progress"


def test_another_enterprise_cannot_supply_materials(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.start_task(session, survey.id, actor=team["alice"], now=MONDAY)
    ops.request_materials(session, survey.id, [{"code": "a", "name": "图纸"}],
                          deadline=date(2026, 3, 9), actor=team["alice"], now=MONDAY)
    stranger = f.user(session, "stranger", "enterprise", company=f.enterprise(session))
    with pytest.raises(NotPermitted):
        ops.supply_materials(session, survey.id, actor=stranger, now=MONDAY)
    assert survey.state == "awaiting_enterprise"


def test_due_date_counts_across_the_2026_spring_festival(session, team):
    project = f.project(session, at("2026-02-12"))
    survey = f.task(project, "u01_survey")
    # Service clock, 10 working days: 13 Feb (1), Sat 14 Feb make-up (2),
    # 24–27 Feb (6), Sat 28 Feb make-up (7), 2–4 Mar (10).
    assert survey.due_on == date(2026, 3, 4)
    walk_to_accepted(session, survey, team["alice"], at("2026-02-12"))
    # Statutory clock from the 受理 on 12 Feb, 15 working days: 13 Feb (1),
    # Sat 14 Feb (2), 24–27 Feb (6), Sat 28 Feb (7), 2–6 Mar (12), 9–11 Mar (15).
    assert survey.due_on == survey.statutory_due_on == date(2026, 3, 11)
    assert survey.service_due_on == date(2026, 3, 4)
    assert not survey.due_provisional


def test_an_approved_extension_adds_working_days_across_national_day(session, team):
    project = f.project(session, at("2026-09-07"))
    survey = f.task(project, "u01_survey")
    walk_to_accepted(session, survey, team["alice"], at("2026-09-07"))
    # The statutory clock from the 受理 on 7 Sep: 8–11 Sep (4), 14–18 (9), Sun 20
    # make-up (10), 21–24 (14), 25–27 中秋, 28 (15).
    assert survey.due_on == date(2026, 9, 28)
    request = ops.request_extension(session, survey.id, 5, reason="部门联审",
                                    actor=team["alice"], now=at("2026-09-21"))
    assert survey.due_on == date(2026, 9, 28)  # nothing moves before the decision
    with pytest.raises(NotPermitted):
        ops.decide_extension(session, request.id, approve=True, actor=team["alice"],
                             now=at("2026-09-22"))
    ops.decide_extension(session, request.id, approve=True, actor=team["lead"],
                         now=at("2026-09-22"))
    # The extension lengthens the statutory clock (行政许可法 Art. 42):
    # 29 (1), 30 (2), 1–7 Oct off, 8 (3), 9 (4), Sat 10 make-up (5).
    assert survey.due_on == date(2026, 10, 10) and survey.extension_days == 5
    assert survey.service_extension_days == 0
    with pytest.raises(Conflict, match="already decided"):
        ops.decide_extension(session, request.id, approve=False, actor=team["lead"],
                             now=at("2026-09-22"), note="no")


def test_an_item_whose_limit_cannot_be_extended_refuses_a_request(session, team):
    project = f.project(session, MONDAY)
    filing = f.task(project, "project_filing")
    agent = f.user(session, "dora", "agent", groups=("equipment",), department="admin_approval")
    ops.claim_task(session, filing.id, actor=agent, now=MONDAY)
    with pytest.raises(ValidationError, match="cannot be extended"):
        ops.request_extension(session, filing.id, 2, reason="x", actor=agent, now=MONDAY)
    assert filing.extension_days == 0


def test_a_mandate_signed_without_starting_approvals_advances_into_them(session, team):
    project = f.project(session, MONDAY, mandate=False)
    ops.mandate_project(session, project.id, actor=team["lead"], now=MONDAY, begin=False)
    assert project.stage == "mandated"
    assert {t.state for t in project.tasks} == {"blocked"}
    ops.advance_project(session, project.id, actor=team["lead"], now=MONDAY)
    assert project.stage == "approving"
    assert f.task(project, "u01_survey").state == "ready"


def test_extension_refusal_needs_a_reason_and_caps_hold(session, team):
    project = f.project(session, MONDAY)
    permit_agent = f.user(session, "pat", "agent", groups=("equipment",), department="planning")
    task = f.task(project, "u01_survey")
    ops.claim_task(session, task.id, actor=permit_agent, now=MONDAY)
    with pytest.raises(ValidationError, match="whole number"):
        ops.request_extension(session, task.id, 0, reason="x", actor=permit_agent, now=MONDAY)
    request = ops.request_extension(session, task.id, 3, reason="专家评审", actor=permit_agent,
                                    now=MONDAY)
    with pytest.raises(ValidationError, match="already waiting"):
        ops.request_extension(session, task.id, 2, reason="again", actor=permit_agent, now=MONDAY)
    with pytest.raises(ValidationError, match="reason"):
        ops.decide_extension(session, request.id, approve=False, actor=team["lead"], now=MONDAY)
    ops.decide_extension(session, request.id, approve=False, actor=team["lead"], now=MONDAY,
                         note="材料齐全，无需延期")
    assert task.extension_days == 0 and request.approved is False
    # land_use_planning_permit may be extended by at most 10 working days in all.
    permit = f.task(project, "land_use_planning_permit")
    permit.state, permit.assignee_id = "assigned", permit_agent.id
    session.flush()
    with pytest.raises(ValidationError, match="at most 10"):
        ops.request_extension(session, permit.id, 11, reason="x", actor=permit_agent, now=MONDAY)


# -- coverage and milestones -----------------------------------------------------------

def test_a_regional_evaluation_covers_an_item_with_its_reference(session, team):
    project = f.project(session, MONDAY)
    walk_to_done(session, f.task(project, "u01_survey"), team["alice"], MONDAY)
    mineral = f.task(project, "u03_mineral")
    ops.cover_task(session, mineral.id, reference="ZY-2025-07 压覆矿产区域评估",
                   kind="evaluation", actor=team["lead"], now=MONDAY)
    assert mineral.state == "covered"
    assert mineral.covered_ref == "evaluation: ZY-2025-07 压覆矿产区域评估"
    survey_like = f.task(project, "u14_site_servicing")
    with pytest.raises(InvalidTransition, match="cannot be covered by a regional evaluation"):
        ops.cover_task(session, survey_like.id, reference="x", kind="evaluation",
                       actor=team["lead"], now=MONDAY)
    filing = f.task(project, "project_filing")
    ops.cover_task(session, filing.id, reference="承诺书 CN-2026-001", kind="commitment",
                   actor=None, now=MONDAY)
    assert filing.state == "covered"


def test_milestones_are_guarded_by_the_items_that_gate_them(session, team):
    project = f.project(session, MONDAY)
    with pytest.raises(InvalidTransition, match="items still open") as caught:
        ops.advance_project(session, project.id, actor=team["lead"], now=MONDAY)
    assert "u01_survey" in caught.value.details["missing"]
    assert project.stage == "approving"


def test_closing_every_gating_item_reaches_ready_to_start_automatically(session, team):
    project = f.project(session, MONDAY)
    definition = ops.definition_for(project)
    gating = {i.code for i in definition.items_gating("ready_to_start")} & {
        t.item_code for t in project.tasks}
    for _ in range(len(definition.items)):
        ready = [t for t in project.tasks if t.state == "ready" and t.item_code in gating]
        if not ready:
            break
        for task in ready:
            ops.assign_task(session, task.id, team["alice"], actor=team["lead"], now=MONDAY)
            ops.start_task(session, task.id, actor=team["alice"], now=MONDAY)
            ops.submit_task(session, task.id, actor=team["alice"], now=MONDAY)
            ops.approve_task(session, task.id, actor=team["alice"], now=MONDAY)
            ops.complete_task(session, task.id, actor=team["alice"], now=MONDAY)
    assert project.stage == "ready_to_start"
    assert all(f.task(project, c).state == "done" for c in gating)
    # Completion acceptance opens only once construction has started.
    assert f.task(project, "completion_acceptance").state == "blocked"
    with pytest.raises(InvalidTransition, match="cannot open yet"):
        ops.request_item(session, f.task(project, "completion_acceptance").id,
                         actor=team["lead"], now=MONDAY)
    ops.advance_project(session, project.id, actor=team["lead"], now=MONDAY)
    assert project.stage == "started"
    # 竣工验收 is applied for when the building is finished: no clock runs during
    # construction, and the applicant's request opens it.
    acceptance = f.task(project, "completion_acceptance")
    assert acceptance.state == "blocked" and acceptance.due_on is None
    assert "request_item" in ops.available_actions(acceptance, team["lead"])
    with pytest.raises(NotPermitted):
        ops.request_item(session, acceptance.id, actor=team["outsider"], now=at("2026-09-01"))
    ops.request_item(session, acceptance.id, actor=team["lead"], now=at("2026-09-01"))
    assert acceptance.state == "ready" and acceptance.released_on == date(2026, 9, 1)
    with pytest.raises(InvalidTransition, match="already ready"):
        ops.request_item(session, acceptance.id, actor=team["lead"], now=at("2026-09-01"))
    with pytest.raises(InvalidTransition, match="opens by itself"):
        ops.request_item(session, f.task(project, "u01_survey").id, actor=team["lead"],
                         now=MONDAY)


def test_suspension_pauses_every_clock_and_resumption_adds_the_pause(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    with pytest.raises(ValidationError):
        ops.suspend_project(session, project.id, actor=team["lead"], now=MONDAY, reason="")
    ops.suspend_project(session, project.id, actor=team["lead"], now=at("2026-03-04"),
                        reason="企业融资调整")
    assert project.stage == "suspended"
    assert survey.state == "suspended" and survey.suspended_from == "assigned"
    assert f.task(project, "u02_planning_conditions").state == "suspended"
    ops.resume_project(session, project.id, actor=team["lead"], now=at("2026-03-11"))
    assert project.stage == "approving"
    assert survey.state == "assigned"
    # The service clock was running: 5, 6, 9, 10, 11 March; 10 + 5 working
    # days after 2 March: 3–6 (4), 9–13 (9), 16–20 (14), 23 March (15).
    assert survey.service_paused_days == 5 and survey.statutory_paused_days == 0
    assert survey.due_on == date(2026, 3, 23)
    # A blocked item never started its clock: nothing to add.
    planning = f.task(project, "u02_planning_conditions")
    assert planning.service_paused_days == planning.statutory_paused_days == 0


def test_termination_closes_every_open_task(session, team):
    project = f.project(session, MONDAY)
    ops.terminate_project(session, project.id, actor=team["lead"], now=MONDAY,
                          reason="企业放弃投资")
    assert project.stage == "terminated"
    assert {t.state for t in project.tasks} == {"terminated"}
    with pytest.raises(InvalidTransition):
        ops.resume_project(session, project.id, actor=team["lead"], now=MONDAY)


def test_only_the_lead_side_manages_the_project(session, team):
    project = f.project(session, MONDAY)
    supervisor = f.user(session, "sup", "supervisor")
    for actor in (team["alice"], supervisor):
        with pytest.raises(NotPermitted):
            ops.suspend_project(session, project.id, actor=actor, now=MONDAY, reason="x")
    assert project.stage == "approving"


def test_a_supervisor_cannot_change_a_task(session, team):
    project = f.project(session, MONDAY)
    supervisor = f.user(session, "sup", "supervisor")
    survey = f.task(project, "u01_survey")
    for call in (lambda: ops.claim_task(session, survey.id, actor=supervisor, now=MONDAY),
                 lambda: ops.assign_task(session, survey.id, team["alice"], actor=supervisor,
                                         now=MONDAY)):
        with pytest.raises(NotPermitted):
            call()
    assert survey.state == "ready"


def test_every_change_is_one_audit_event_with_the_versions(session, team):
    project = f.project(session, MONDAY)
    survey = f.task(project, "u01_survey")
    before, version = audit_count(session, project), survey.version
    ops.claim_task(session, survey.id, actor=team["alice"], now=MONDAY)
    assert audit_count(session, project) == before + 1
    assert survey.version == version + 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)
                            .order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.from_state, event.to_state, event.actor_id) == \
        ("task.claim", "ready", "assigned", team["alice"].id)


def test_naive_now_is_refused(session, team):
    project = f.project(session, MONDAY)
    with pytest.raises(ValidationError, match="timezone-aware"):
        ops.claim_task(session, f.task(project, "u01_survey").id, actor=team["alice"],
                       now=MONDAY.replace(tzinfo=None))


def test_task_rows_are_unique_per_project_and_item(session, team):
    project = f.project(session, MONDAY)
    assert session.scalar(select(func.count()).select_from(ItemTask)
                          .where(ItemTask.project_id == project.id)) == len(project.tasks)
    assert session.get(Project, project.id).tasks[0].project_id == project.id


def test_a_chemical_industry_project_is_screened_before_it_is_signed(session, team):
    lead = f.user(session, "lead_chem", "lead", groups=("coal_chemical",))
    project = ops.create_project(session, code="YX-CHEM-1", name="年产10万吨焦油加工",
                                 enterprise=f.enterprise(session), industry="coal_chemical",
                                 actor=lead, now=MONDAY, stage="intention")
    assert project.is_chemical
    with pytest.raises(InvalidTransition):
        ops.sign_project(session, project.id, actor=lead, now=MONDAY)
    assert project.stage == "intention"
    food = f.project(session, MONDAY, industry="food_processing", mandate=False)
    assert not food.is_chemical

"""Only actions that can succeed are offered (issue 12, item 4), the reform
areas' guards included: the core asks them as a dry run (``hooks.refusal``)
when it lists a task's actions, so an agent is not offered a step the
signing guard (a mandate not yet signed) or the 容缺 guard (materials
promised, not yet supplied) would refuse — and is offered it once the guard
passes. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from tests import factories as f
from tests.test_commitments import eia, signed_letter, task_of  # noqa: F401 - fixtures
from tests.test_commitments import zone as commitments_zone
from tests.test_documents import MONDAY, make_zone, sign
from workflow.core import hooks
from workflow.core import operations as ops
from workflow.kernel.errors import InvalidTransition
from workflow.reforms import commitments as cm
from workflow.reforms import documents

zone = commitments_zone


@pytest.fixture
def paper_zone(session):
    return make_zone(session)


def test_no_acting_step_is_offered_before_the_mandate_is_signed(session, paper_zone):
    zone = paper_zone
    project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                        signed=False, code="P-OFFER-UNSIGNED")
    survey, alice = f.task(project, "u01_survey"), zone["alice"]
    ops.claim_task(session, survey.id, actor=alice, now=MONDAY)  # routing stays open
    offered = ops.available_actions(survey, alice)
    assert "start" not in offered and "handoff" in offered
    assert not {"request_materials", "submit", "request_extension"} & set(offered)
    # What is not offered is what the operation refuses, for the same reason.
    refused = hooks.refusal("task.act", session, survey, actor=alice, event="start")
    assert refused.details["refusal"] == "mandate_unsigned"
    with pytest.raises(InvalidTransition, match="has not signed the mandate"):
        ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    # The enterprise signs: the same page now offers the work.
    [waiting] = documents.documents_of(session, project.id, "mandate")
    sign(session, waiting, zone["owner"])
    assert "start" in ops.available_actions(survey, alice)
    assert hooks.refusal("task.act", session, survey, actor=alice, event="start") is None
    ops.start_task(session, survey.id, actor=alice, now=MONDAY)
    assert survey.state == "in_progress"


def test_an_item_accepted_with_gaps_is_offered_completion_once_supplied(session, zone, eia):  # noqa: F811
    alice = zone["alice"]
    gap = cm.accept_with_gaps(session, eia.id, ["authorisation"], deadline=date(2026, 3, 20),
                              actor=alice, now=MONDAY)
    ops.submit_task(session, eia.id, actor=alice, now=MONDAY)
    ops.approve_task(session, eia.id, actor=alice, now=MONDAY, reference="左环审〔2026〕3号")
    assert "complete" not in ops.available_actions(eia, alice)
    assert hooks.refusal("task.complete", session, eia).details["refusal"] == "gap_open"
    cm.fulfil_gap(session, gap.id, actor=zone["owner"], now=f.at("2026-03-20"))
    assert "complete" in ops.available_actions(eia, alice)
    ops.complete_task(session, eia.id, actor=alice, now=f.at("2026-03-20"))
    assert task_of(session, zone["project"], "eia_approval").state == "done"


def test_a_dry_run_changes_nothing_and_forgets_its_look_ups(session, paper_zone):
    """The offer asks the guard early; an operation's own guard afterwards
    still looks again (nothing kept outside the offering)."""
    zone = paper_zone
    project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                        signed=False, code="P-OFFER-FORGET")
    survey, alice = f.task(project, "u01_survey"), zone["alice"]
    ops.claim_task(session, survey.id, actor=alice, now=MONDAY)
    assert "start" not in ops.available_actions(survey, alice)
    assert not session.dirty and not session.new
    [waiting] = documents.documents_of(session, project.id, "mandate")
    sign(session, waiting, zone["owner"])
    ops.start_task(session, survey.id, actor=alice, now=MONDAY)  # not the stale "unsigned"
    assert survey.state == "in_progress"


def test_a_list_reads_the_guards_look_ups_once_for_the_page(session, paper_zone):
    """Within ``hooks.offering(session, tasks)`` the areas read the mandates and
    the open promises of the whole page in one query each, not one per row,
    and only if a guard asks."""
    zone = paper_zone
    alice = zone["alice"]
    tasks = []
    for n in range(4):
        project = f.project(session, MONDAY, company=zone["company"], lead=zone["lead"],
                            signed=n % 2 == 0, code=f"P-OFFER-LIST-{n}")
        survey = f.task(project, "u01_survey")
        ops.claim_task(session, survey.id, actor=alice, now=MONDAY)
        tasks.append(survey)
    session.flush()
    statements: list[str] = []
    engine = session.get_bind()

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with hooks.offering(session, tasks):
            offered = [ops.available_actions(t, alice, pending=set()) for t in tasks]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert ["start" in actions for actions in offered] == [True, False, True, False]
    assert sum("agency_document" in s for s in statements) == 1
    # No task could complete: the open promises are not even read.
    assert sum("gap_acceptance" in s for s in statements) == 0

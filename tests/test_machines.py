"""Every (state, event) pair of the item-task machine, against a table written
from the domain (not derived from the machine's own transition list)."""

from __future__ import annotations

import pytest

from workflow.core.machines import ITEM_EVENTS, item_machine
from workflow.kernel.errors import InvalidTransition
from workflow.models import TASK_STATES

WORK = {"reassign": None, "request_extension": None, "decide_extension": None,
        "suspend": "suspended", "terminate": "terminated"}

# (state) -> {event: destination}; None means "stays in the same state".
EXPECTED: dict[str, dict[str, str | None]] = {
    "blocked": {"release": "ready", "cover": "covered", "suspend": "suspended",
                "terminate": "terminated"},
    "ready": {"claim": "assigned", "assign": "assigned", "cover": "covered",
              "suspend": "suspended", "terminate": "terminated"},
    "assigned": {**WORK, "unassign": "ready", "start": "in_progress", "cover": "covered"},
    "in_progress": {**WORK, "request_materials": "awaiting_enterprise", "submit": "submitted",
                    "cover": "covered"},
    # Materials supplied return the item to the agent (service clock); see
    # the test below for the department's 补正 (statutory clock).
    "awaiting_enterprise": {**WORK, "supply_materials": "in_progress", "cover": "covered"},
    "submitted": {**WORK, "accept": "accepted", "approve": "approved",
                  "department_return": "returned"},
    "accepted": {**WORK, "approve": "approved", "department_return": "returned",
                 "request_materials": "awaiting_enterprise", "department_pause": "on_hold"},
    "on_hold": {**WORK, "department_resume": "accepted"},
    "returned": {**WORK, "request_materials": "awaiting_enterprise", "rework": "in_progress",
                 "cover": "covered"},
    "approved": {**WORK, "complete": "done"},
    "done": {},
    "covered": {},
    "terminated": {},
    "suspended": {"resume": "<suspended_from>", "terminate": "terminated"},
}


class Row:
    def __init__(self, state: str, suspended_from: str | None = None) -> None:
        self.state = state
        self.suspended_from = suspended_from


PAIRS = [(s, e) for s in TASK_STATES for e in ITEM_EVENTS]


def test_the_table_covers_every_state() -> None:
    assert set(EXPECTED) == set(TASK_STATES)


@pytest.mark.parametrize(("state", "event"), PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_item_machine_pair(state: str, event: str) -> None:
    machine = item_machine("test")
    row = Row(state, suspended_from="in_progress")
    expected = EXPECTED[state]
    if event in expected:
        machine.fire(row, event)
        dest = expected[event]
        if dest == "<suspended_from>":
            dest = "in_progress"
        assert row.state == (state if dest is None else dest)
        assert machine.can(Row(state), event)
    else:
        with pytest.raises(InvalidTransition) as caught:
            machine.fire(row, event)
        assert row.state == state, "a refused event must not change the state"
        assert state in caught.value.message
        assert caught.value.details["state"] == state
        assert not machine.can(Row(state), event)


def test_materials_asked_by_the_department_return_the_item_to_the_department() -> None:
    """补正 after the 受理 stops the statutory clock; once supplied the item is
    back with the department (accepted), not with the agent."""
    machine = item_machine("test")
    row = Row("accepted")
    row.clock = "statutory"
    machine.fire(row, "request_materials")
    assert row.state == "awaiting_enterprise"
    machine.fire(row, "supply_materials")
    assert row.state == "accepted"
    agent = Row("awaiting_enterprise")
    agent.clock = "service"
    machine.fire(agent, "supply_materials")
    assert agent.state == "in_progress"


@pytest.mark.parametrize("origin", ["blocked", "ready", "assigned", "in_progress",
                                    "awaiting_enterprise", "submitted", "accepted", "on_hold",
                                    "returned", "approved"])
def test_resume_returns_to_the_state_it_was_suspended_from(origin: str) -> None:
    machine = item_machine("test")
    row = Row(origin)
    row.suspended_from = origin
    machine.fire(row, "suspend")
    assert row.state == "suspended"
    machine.fire(row, "resume")
    assert row.state == origin


def test_resume_without_a_recorded_origin_is_refused_with_a_reason() -> None:
    row = Row("suspended", suspended_from=None)
    with pytest.raises(InvalidTransition, match="condition refused"):
        item_machine("test").fire(row, "resume")
    assert row.state == "suspended"


def test_unknown_event_is_a_clear_error() -> None:
    with pytest.raises(InvalidTransition, match="Unknown item event 'teleport'"):
        item_machine("test").fire(Row("ready"), "teleport")


def test_no_auto_transitions_backdoor() -> None:
    machine = item_machine("test")
    assert not any(e.startswith("to_") for e in machine.machine.events)


def test_one_machine_per_definition_version() -> None:
    assert item_machine("v1") is item_machine("v1")
    assert item_machine("v1") is not item_machine("v2")

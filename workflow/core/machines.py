"""The state machines: the one module that moves state columns.

One ``transitions`` machine per kind (item task, project) and definition
version, built once and cached; a row holds only its state string. Building a
machine per row would cost ~150 KiB and milliseconds each, so events are fired
on rows that were never added to the machine (``model=None`` at build time):
the event looks up the row's state attribute, runs the transition and writes
the new state back.

``auto_transitions`` are off (no ``to_<state>`` backdoors). A condition that
fails makes ``transitions`` return False rather than raise; ``fire`` turns that,
and an event not allowed in the current state, into ``InvalidTransition``
with a sentence that says why.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from transitions import Machine

from definitions.model import Definition
from workflow.core.models import CLOSED_STATES, TASK_STATES
from workflow.kernel.errors import InvalidTransition, term

# States from which work on an item can be (re)assigned or extended.
WORKED = ["assigned", "in_progress", "awaiting_enterprise", "submitted", "accepted", "on_hold",
          "returned", "approved"]
COVERABLE = ["blocked", "ready", "assigned", "in_progress", "awaiting_enterprise", "returned"]
SUSPENDABLE = [s for s in TASK_STATES if s not in CLOSED_STATES and s != "suspended"]

def _resumes_to(state: str):
    """Condition: the row was suspended from ``state`` (so resume returns there)."""
    def check(event_data) -> bool:
        return event_data.model.suspended_from == state
    check.__name__ = f"resumes_to_{state}"
    return check


def _statutory(event_data) -> bool:
    """Condition: the statutory clock is the task's (the department has the
    application), so materials supplied return it to the department."""
    return getattr(event_data.model, "clock", None) == "statutory"


ITEM_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "release", "source": "blocked", "dest": "ready"},
    {"trigger": "claim", "source": "ready", "dest": "assigned"},
    {"trigger": "assign", "source": "ready", "dest": "assigned"},
    {"trigger": "reassign", "source": WORKED, "dest": None},  # internal: assignee only
    {"trigger": "unassign", "source": "assigned", "dest": "ready"},
    {"trigger": "start", "source": "assigned", "dest": "in_progress"},
    # 一次性告知: the agent's (service clock) or, once accepted, the
    # department's 补正 (statutory clock); either clock stops meanwhile.
    {"trigger": "request_materials", "source": ["in_progress", "returned", "accepted"],
     "dest": "awaiting_enterprise"},
    {"trigger": "supply_materials", "source": "awaiting_enterprise", "dest": "in_progress",
     "unless": [_statutory]},
    {"trigger": "supply_materials", "source": "awaiting_enterprise", "dest": "accepted",
     "conditions": [_statutory]},
    {"trigger": "submit", "source": "in_progress", "dest": "submitted"},
    # 受理: the department accepts the application; its statutory clock runs.
    {"trigger": "accept", "source": "submitted", "dest": "accepted"},
    # Art. 45: expert review, hearing, testing stop the statutory clock.
    {"trigger": "department_pause", "source": "accepted", "dest": "on_hold"},
    {"trigger": "department_resume", "source": "on_hold", "dest": "accepted"},
    # The decision; an approval straight from ``submitted`` is a 受理 and a
    # decision on the spot (当场受理、当场决定, Art. 32, 34).
    {"trigger": "approve", "source": ["submitted", "accepted"], "dest": "approved"},
    {"trigger": "department_return", "source": ["submitted", "accepted"], "dest": "returned"},
    {"trigger": "rework", "source": "returned", "dest": "in_progress"},
    {"trigger": "complete", "source": "approved", "dest": "done"},
    {"trigger": "cover", "source": COVERABLE, "dest": "covered"},
    {"trigger": "request_extension", "source": WORKED, "dest": None},
    {"trigger": "decide_extension", "source": WORKED, "dest": None},
    {"trigger": "suspend", "source": SUSPENDABLE, "dest": "suspended"},
    {"trigger": "terminate", "source": SUSPENDABLE + ["suspended"], "dest": "terminated"},
] + [
    # Resume goes back to where the task was suspended from.
    {"trigger": "resume", "source": "suspended", "dest": state,
     "conditions": [_resumes_to(state)]}
    for state in SUSPENDABLE
]

ITEM_EVENTS: tuple[str, ...] = tuple(dict.fromkeys(t["trigger"] for t in ITEM_TRANSITIONS))

# Readable names for messages (the web layer translates by code; a refusal's
# sentence names them through the engine's catalogue: term).
EVENT_LABELS = {
    "release": term("release to the queue"), "claim": term("claim"), "assign": term("assign"),
    "reassign": term("reassign"), "unassign": term("return to the queue"), "start": term("start"),
    "request_materials": term("request materials"),
    "supply_materials": term("record materials supplied"),
    "submit": term("submit to the department"),
    "accept": term("record the department's acceptance"),
    "department_pause": term("record a pause of the statutory clock"),
    "department_resume": term("resume the statutory clock"), "approve": term("record approval"),
    "department_return": term("record the department's return"), "rework": term("resume work"),
    "complete": term("complete"), "cover": term("cover"),
    "request_extension": term("request an extension"),
    "decide_extension": term("decide an extension"), "suspend": term("suspend"),
    "resume": term("resume"), "terminate": term("terminate"), "sign": term("sign"),
    "mandate": term("sign the mandate"), "begin_approvals": term("begin approvals"),
    "advance": term("advance"),
}


class StateMachine:
    """A shared machine for every row of one kind and definition version."""

    def __init__(self, kind: str, attribute: str, states: list[str],
                 transitions: list[dict[str, Any]], labels: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.attribute = attribute
        self.states = tuple(states)
        self.labels = {**EVENT_LABELS, **(labels or {})}
        self.machine = Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=None,
            auto_transitions=False,
            model_attribute=attribute,
            send_event=True,
        )
        self._sources: dict[str, set[str]] = {}
        for t in transitions:
            sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
            self._sources.setdefault(t["trigger"], set()).update(sources)

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(self._sources)

    def can(self, row: Any, event: str) -> bool:
        return getattr(row, self.attribute) in self._sources.get(event, ())

    def allowed_events(self, row: Any) -> list[str]:
        state = getattr(row, self.attribute)
        return [e for e, sources in self._sources.items() if state in sources]

    def fire(self, row: Any, event: str, **kwargs: Any) -> None:
        """Fire ``event`` on ``row`` or raise ``InvalidTransition`` saying why."""
        if event not in self._sources:
            raise InvalidTransition("Unknown {kind} event '{event}'.", event=event, kind=self.kind)
        state = getattr(row, self.attribute)
        if state not in self._sources[event]:
            allowed = self.allowed_events(row)
            if allowed:
                raise InvalidTransition(
                    "Cannot {action}: the {kind} is {state} (allowed now: {allowed_now}).",
                    event=event, state=state, allowed=allowed,
                    action=self.labels.get(event, event), kind=self.kind,
                    allowed_now=", ".join(allowed),
                )
            raise InvalidTransition(
                "Cannot {action}: the {kind} is {state} (allowed now: nothing).",
                event=event, state=state, allowed=allowed,
                action=self.labels.get(event, event), kind=self.kind,
            )
        ok = self.machine.events[event].trigger(row, **kwargs)
        if not ok:
            raise InvalidTransition(
                "Cannot {action}: a condition refused it while the {kind} is {state}.",
                event=event, state=state, action=self.labels.get(event, event), kind=self.kind,
            )


def status_machine(kind: str, states: tuple[str, ...], transitions: list[dict[str, Any]],
                   labels: dict[str, str] | None = None) -> StateMachine:
    """A lifecycle of a reform area's row (a commitment letter, a 容缺 promise,
    a checkpoint, a rectification) held in its ``status`` column: the same
    machinery as tasks and projects, so a status changes only by an event its
    machine allows."""
    return StateMachine(kind, "status", list(states), transitions, labels)


@lru_cache(maxsize=32)
def item_machine(definition_version: str) -> StateMachine:
    """The item-task machine for a definition version (cached)."""
    return StateMachine(term("item"), "state", list(TASK_STATES), ITEM_TRANSITIONS)


def project_transitions(definition: Definition) -> list[dict[str, Any]]:
    main = [s.code for s in definition.main_stages()]
    transitions: list[dict[str, Any]] = []
    named = {"intention": "sign", "signed": "mandate", "mandated": "begin_approvals"}
    for src, dst in zip(main, main[1:], strict=False):
        transitions.append({"trigger": named.get(src, "advance"), "source": src, "dest": dst})
    live = [s for s in main if not definition.stages[s].terminal]
    if "suspended" in definition.stages:
        transitions.append({"trigger": "suspend", "source": live, "dest": "suspended"})
        for s in live:
            transitions.append({"trigger": "resume", "source": "suspended", "dest": s,
                                "conditions": [_resumes_to(s)]})
    if "terminated" in definition.stages:
        sources = live + (["suspended"] if "suspended" in definition.stages else [])
        transitions.append({"trigger": "terminate", "source": sources, "dest": "terminated"})
    return transitions


_project_machines: dict[str, StateMachine] = {}


def project_machine(definition: Definition) -> StateMachine:
    """The project lifecycle machine for a definition version (cached)."""
    machine = _project_machines.get(definition.version)
    if machine is None:
        machine = StateMachine(term("project"), "stage", list(definition.stages),
                               project_transitions(definition))
        _project_machines[definition.version] = machine
    return machine

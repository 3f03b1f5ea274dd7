"""The lifecycle of an investment agreement's checkpoint (开工, 竣工, 投产, 达产), as
a machine: a status changes only by an event it allows.

A start, completion or production check is open until it passes, or fails
(then it is checked again: it may pass or fail once more). The capacity review
(达产复核) passes, orders a rectification (then is reviewed again) or finds
the agreement breached."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.kernel.errors import term
from workflow.reforms.land.models import CHECKPOINT_STATES

CHECKPOINTS = status_machine(term("checkpoint"), CHECKPOINT_STATES, [
    {"trigger": "pass", "source": ["open", "failed", "rectifying"], "dest": "passed"},
    {"trigger": "fail", "source": ["open", "failed"], "dest": "failed"},
    {"trigger": "rectify", "source": ["open", "rectifying"], "dest": "rectifying"},
    {"trigger": "breach", "source": ["open", "rectifying"], "dest": "breached"},
], labels={"pass": "pass the check", "fail": "fail the check",
           "rectify": "order a rectification", "breach": "find the agreement breached"})

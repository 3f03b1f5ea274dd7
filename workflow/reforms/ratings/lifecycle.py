"""The lifecycle of a rectification (整改) a bad rating opens, as a machine:
open until the lead handler answers in writing, which closes it."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.kernel.errors import term
from workflow.reforms.ratings.models import RECTIFICATION_STATES

RECTIFICATIONS = status_machine(term("rectification"), RECTIFICATION_STATES, [
    {"trigger": "close", "source": "open", "dest": "closed"},
], labels={"close": term("answer and close the rectification")})

"""An element subsidy's lifecycle as a machine: proposed, then approved or
rejected by the finance office; an approved subsidy is paid."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.reforms.fees.models import SUBSIDY_STATES

SUBSIDIES = status_machine("element_subsidy", SUBSIDY_STATES, [
    {"trigger": "approve", "source": "proposed", "dest": "approved"},
    {"trigger": "reject", "source": "proposed", "dest": "rejected"},
    {"trigger": "pay", "source": "approved", "dest": "paid"},
], labels={"approve": "approve the subsidy", "reject": "reject the subsidy",
           "pay": "record the subsidy paid"})

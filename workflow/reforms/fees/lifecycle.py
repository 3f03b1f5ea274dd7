"""An element subsidy's lifecycle as a machine: proposed, then approved or
rejected by the finance office; an approved subsidy is paid."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.kernel.errors import term
from workflow.reforms.fees.models import SUBSIDY_STATES

SUBSIDIES = status_machine(term("element_subsidy"), SUBSIDY_STATES, [
    {"trigger": "approve", "source": "proposed", "dest": "approved"},
    {"trigger": "reject", "source": "proposed", "dest": "rejected"},
    {"trigger": "pay", "source": "approved", "dest": "paid"},
], labels={"approve": term("approve the subsidy"), "reject": term("reject the subsidy"),
           "pay": term("record the subsidy paid")})

"""The lifecycle of an enterprise request on the 13710 rhythm, as a machine:

submitted → arranged (安排: a department takes it, the same working day) →
feedback_given (反馈: what is being done, within 3 working days) → solved
(办结: within 7 working days, a complex problem within a month) → closed when
the enterprise is satisfied (or staff close it); an unsatisfied enterprise
reopens it, and it is solved again. The enterprise may withdraw it while it
is not solved."""

from __future__ import annotations

from workflow.core.machines import status_machine
from workflow.kernel.errors import term
from workflow.reforms.requests.models import REQUEST_STATES

UNSOLVED = ["submitted", "arranged", "feedback_given", "reopened"]

REQUESTS = status_machine(term("request"), REQUEST_STATES, [
    {"trigger": "arrange", "source": "submitted", "dest": "arranged"},
    {"trigger": "give_feedback", "source": "arranged", "dest": "feedback_given"},
    {"trigger": "solve", "source": ["arranged", "feedback_given", "reopened"], "dest": "solved"},
    {"trigger": "confirm", "source": "solved", "dest": "closed"},
    {"trigger": "reopen", "source": "solved", "dest": "reopened"},
    {"trigger": "close", "source": "solved", "dest": "closed"},
    {"trigger": "withdraw", "source": UNSOLVED, "dest": "withdrawn"},
], labels={"arrange": term("arrange the request"), "give_feedback": term("give feedback"),
           "solve": term("record the solution"), "confirm": term("rate the outcome"),
           "reopen": term("rate the outcome"), "close": term("close the request"),
           "withdraw": term("withdraw the request")})

"""入企服务, 政企沟通: enterprise requests handled on the 13710 rhythm, and
leaders' visits (领导干部入企调研) that link to the requests raised in them.

An enterprise (in its portal) or a staff member (after a visit) records a
request or problem; the leadership arranges it to a department the same
working day; the department gives feedback within 3 working days and solves
an ordinary problem within 7, a complex one within a month; the enterprise
rates the outcome (satisfied closes it, unsatisfied reopens it). The
department is warned once on the working day before its feedback or solution
is due (``warn``), and an overdue step is escalated once (``sweep``).

The package's modules: ``models`` (tables), ``lifecycle`` (the machine),
``rules`` (who may see and change what), ``handling`` (the operations and
the 13710 dates), ``escalation`` (the two sweeps), ``pages`` (lists and figures);
their public names are re-exported here.
"""

from __future__ import annotations

from workflow.reforms.requests.escalation import (
    due_soon,
    overdue_steps,
    sweep,
    warn,
    warned_steps,
    warning_window,
)
from workflow.reforms.requests.handling import (
    COMPLEX_MONTHS,
    FEEDBACK_WORKING_DAYS,
    KIND_NAMES,
    ORDINARY_WORKING_DAYS,
    Dues,
    arrange,
    classify,
    close,
    current_due,
    departments,
    dues_for,
    give_feedback,
    load_for,
    raise_request,
    rate,
    record_visit,
    solve,
    solve_due,
    withdraw,
)
from workflow.reforms.requests.lifecycle import REQUESTS
from workflow.reforms.requests.pages import (
    AGES,
    DepartmentAges,
    RequestFilter,
    find_enterprise,
    get_visit,
    leaders,
    open_by_department,
    request_counts_for_visits,
    request_page,
    request_rows,
    requests_of_visit,
    visit_page,
)

__all__ = [
    "AGES", "COMPLEX_MONTHS", "FEEDBACK_WORKING_DAYS", "KIND_NAMES", "ORDINARY_WORKING_DAYS",
    "REQUESTS", "DepartmentAges", "Dues", "RequestFilter", "arrange", "classify", "close",
    "current_due", "departments", "due_soon", "dues_for", "find_enterprise", "get_visit", "give_feedback",
    "leaders", "load_for", "open_by_department", "overdue_steps", "raise_request", "rate",
    "record_visit", "request_counts_for_visits", "request_page", "request_rows",
    "requests_of_visit", "solve", "solve_due", "sweep", "visit_page", "warn", "warned_steps",
    "warning_window", "withdraw",
]

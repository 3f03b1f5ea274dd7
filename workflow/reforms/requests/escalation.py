"""The 13710 warning and escalation of enterprise requests: the department is
warned once on the working day before a step falls due, and each overdue step
is escalated once.

For the zone's date at ``now`` each sweep (``warn``, ``sweep``) finds, with
one query per step and an anti-join on its table of claims (probing its
unique key), every request whose step is due for it and not recorded yet.
The feedback and solution branches are a range of the step's due date within
its states (``ix_service_request_feedback_due``,
``ix_service_request_solve_due``); the arrangement's reads the requests not
arranged yet (``status``, a day's worth):

==================  =============================================  ==================================
step                due for it when                                told
==================  =============================================  ==================================
feedback (warning)  arranged, no feedback, today is the working     the department's agents
                    day before the 3rd working day (or later, up
                    to the due date itself)
solve (warning)     arranged, feedback given or reopened, today     the department's agents
                    is the working day before the solution's due
                    date (or later, up to the due date itself)
arrange             not arranged, the arrangement day has passed    supervisors and admins
feedback            no feedback, the 3rd working day has passed     the department's agents, supervisors
solve               not solved, the solution's due date passed      the department's agents,
                                                                   supervisors and admins
==================  =============================================  ==================================

"The working day before" is on the working-day calendar
(``workflow.kernel.clock``): a due date on Monday is warned on Friday, one
after a holiday on the last working day before it. A warning is due while
``today <= due <= next_working_day(today)``, so a sweep on a weekend or after
downtime still warns of a date not passed yet, once, saying how many working
days are left as of that sweep; a date already passed gets no warning, only
its escalation.

The warning goes to the people who can act on the step, the agents of the
department the request was arranged to, and to nobody else: the supervisors
and admins hear of a step only once it is overdue (the escalation), so that
their notices stay the exceptions. A request not arranged yet has no
department to warn: the leadership hears of it through the arrangement's
escalation, and its feedback and solution are warned once it is arranged (if
their dates have not passed).

Each warning or escalation is claimed by inserting its row (request, step,
due date) in ``service_request_warning`` or ``service_request_escalation``
with ``INSERT … ON CONFLICT DO NOTHING``, under the request's row lock: only
the transaction whose insert succeeded tells anyone, so two sweeps at once, a
sweep run twice or a restart never repeat one, and a sweep after downtime
escalates every step overdue now. A new due date (reopened, reclassified) is
warned and escalated again. A warning is a notice, not a change: it is not in
the zone's audit log (an escalation is).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import exists, literal, select, union_all
from sqlalchemy.orm import Session

from workflow.core import notify
from workflow.kernel import clock, zone_audit
from workflow.kernel.db import dialect_insert
from workflow.kernel.moments import utc, zone_today
from workflow.reforms.requests.handling import department_staff
from workflow.reforms.requests.models import (
    OPEN_REQUEST_STATES,
    RequestEscalation,
    RequestWarning,
    ServiceRequest,
)

STEPS = {
    "arrange": (("submitted",), ServiceRequest.arrange_due_on),
    "feedback": (("submitted", "arranged"), ServiceRequest.feedback_due_on),
    "solve": (OPEN_REQUEST_STATES, ServiceRequest.solve_due_on),
}
STEP_NAMES = {"arrange": "当天安排", "feedback": "3 个工作日内反馈", "solve": "限期办结"}


def _overdue(today: date):
    """A step's due date is passed on ``today`` (a date or its column)."""
    return lambda due: due < today


def _in_warning(today: date):
    """A step's due date is in ``today``'s warning window (a date or its column)."""
    first, last = warning_window(today)
    return lambda due: (due >= first) & (due <= last)


def _steps_of(request: ServiceRequest, steps: dict, within) -> list[tuple[str, date]]:
    """The steps of ``request`` in their states whose due date is ``within``, with their dates."""
    found = []
    for step, (states, column) in steps.items():
        due = getattr(request, column.key)
        if request.status in states and within(due):
            found.append((step, due))
    return found


def overdue_steps(request: ServiceRequest, today: date) -> list[tuple[str, date]]:
    """The steps of ``request`` overdue on ``today`` (escalated or not), with their due dates."""
    return _steps_of(request, STEPS, _overdue(today))


def _candidates(claims: type, steps: dict, within):
    """One indexed branch per step: the requests in its states whose due date
    is ``within``, not claimed in ``claims`` for that date yet."""
    def branch(step: str):
        states, column = steps[step]
        return (select(ServiceRequest.id, literal(step).label("step"))
                .where(ServiceRequest.status.in_(states), within(column),
                       ~exists().where(claims.request_id == ServiceRequest.id,
                                       claims.step == step, claims.due_on == column)))
    return union_all(*(branch(step) for step in steps))


def _claimed(session: Session, claims: type, steps: dict, within, now: datetime):
    """Each (request, step, due date) ``within`` that this transaction claims
    in ``claims`` (``INSERT … ON CONFLICT DO NOTHING`` under the request's row
    lock): only the claimant tells anyone."""
    ids = sorted({row.id for row in session.execute(_candidates(claims, steps, within))})
    insert = dialect_insert(session)
    for request_id in ids:
        # Re-read under the lock: the request may have moved on since the query.
        request = session.get(ServiceRequest, request_id, with_for_update=True,
                              populate_existing=True)
        for step, due in _steps_of(request, steps, within):
            statement = (insert(claims)
                         .values(request_id=request.id, step=step, due_on=due, recorded_at=utc(now))
                         .on_conflict_do_nothing().returning(claims.id))
            if session.execute(statement).scalar_one_or_none() is not None:
                yield request, step, due


def sweep(session: Session, *, now: datetime) -> list[str]:
    """Escalate every overdue 13710 step not escalated yet; one line each."""
    lines: list[str] = []
    for request, step, due in _claimed(session, RequestEscalation, STEPS,
                                       _overdue(zone_today(now)), now):
        told = _announce(session, request, step, due, now)
        zone_audit.record(session, actor=None, now=utc(now), action="request.escalated",
                          subject=f"request:{request.id}",
                          data={"step": step, "due_on": due.isoformat(),
                                "told": [u.username for u in told]})
        lines.append(f"request {request.id} {step} overdue since {due.isoformat()} -> "
                     f"{', '.join(u.username for u in told) or 'nobody'}")
    session.flush()
    return lines


def _announce(session: Session, request: ServiceRequest, step: str, due: date, now: datetime):
    supervisors = notify.users_with_role(session, "supervisor")
    admins = notify.users_with_role(session, "admin")
    staff = department_staff(session, request.department)
    users = {"arrange": supervisors + admins, "feedback": staff + supervisors,
             "solve": staff + supervisors + admins}[step]
    message = notify.Message(
        "request_overdue", f"【诉求超期督办】{request.title}",
        f"企业诉求「{request.title}」（{request.enterprise.name}，编号 {request.id}）"
        f"未按 13710 机制{STEP_NAMES[step]}（时限 {due.isoformat()}），请当日督办。")
    return notify.tell(session, users, message, now=now,
                       key=f"request:{request.id}:overdue:{step}:{due.isoformat()}")


# -- the warning before the due date --------------------------------------------------------

# The steps warned of, and the states in which the department the request was
# arranged to owes them (not "submitted": no department is named yet).
WARNED = {
    "feedback": (("arranged",), ServiceRequest.feedback_due_on),
    "solve": (("arranged", "feedback_given", "reopened"), ServiceRequest.solve_due_on),
}
WARNED_TEXT = {"feedback": ("反馈", "请在到期前向企业反馈办理进展（13710 机制：3 个工作日内反馈）"),
               "solve": ("办结", "请在到期前办结（13710 机制：一般问题 7 个工作日、复杂问题一个月内办结）")}


def warning_window(today: date) -> tuple[date, date]:
    """The due dates a warning is due for on ``today``: from ``today`` (not
    passed yet) to the next working day (today is the working day before it,
    or later)."""
    return today, clock.next_working_day(today)


def warned_steps(request: ServiceRequest, today: date) -> list[tuple[str, date]]:
    """The steps of ``request`` due for their warning on ``today`` (sent or
    not), with their due dates."""
    return _steps_of(request, WARNED, _in_warning(today))


def due_soon(request: ServiceRequest, today: date) -> bool:
    """True when the step ``request`` waits for is in its warning window on
    ``today`` (the lists' 即将到期)."""
    return any(due == request.due_on for _, due in warned_steps(request, today))


def warn(session: Session, *, now: datetime) -> list[str]:
    """Warn the department of every 13710 step due on the next working day (or
    due today, after a missed day) and not warned of yet; one line each."""
    today = zone_today(now)
    lines: list[str] = []
    for request, step, due in _claimed(session, RequestWarning, WARNED, _in_warning(today), now):
        told = _warn(session, request, step, due, today, now)
        lines.append(f"request {request.id} {step} due {due.isoformat()} (warning) -> "
                     f"{', '.join(u.username for u in told) or 'nobody'}")
    session.flush()
    return lines


def _warn(session: Session, request: ServiceRequest, step: str, due: date, today: date,
          now: datetime):
    left = clock.working_days_between(today, due).days
    when = f"还剩 {left} 个工作日" if left > 0 else "今日到期"
    what, ask = WARNED_TEXT[step]
    message = notify.Message(
        "request_due_soon", f"【诉求{what}即将到期】{request.title}",
        f"企业诉求「{request.title}」将于 {due.isoformat()} 到期（{when}）：{ask}。"
        f"企业：{request.enterprise.name}，编号 {request.id}。")
    return notify.tell(session, department_staff(session, request.department), message, now=now,
                       key=f"request:{request.id}:due_soon:{step}:{due.isoformat()}")

"""The 13710 escalation of enterprise requests: each overdue step once.

For the zone's date at ``now`` the sweep finds, with one indexed query per
step and an anti-join on ``service_request_escalation``, every request whose
step is overdue and not escalated yet:

========  ===========================================  ==================================
step      overdue when                                 told
========  ===========================================  ==================================
arrange   not arranged, the arrangement day has passed  supervisors and admins
feedback  no feedback, the 3rd working day has passed   the department's agents, supervisors
solve     not solved, the solution's due date passed    the department's agents,
                                                       supervisors and admins
========  ===========================================  ==================================

Each escalation is claimed by inserting its row (request, step, due date)
with ``INSERT … ON CONFLICT DO NOTHING``: only the transaction whose insert
succeeded tells anyone, so two sweeps at once, a sweep run twice or a restart
never repeat one, and a sweep after downtime escalates every step overdue
now. A new due date (reopened, reclassified) escalates again when it passes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import exists, literal, select, union_all
from sqlalchemy.orm import Session

from workflow.core import notify
from workflow.kernel import zone_audit
from workflow.kernel.db import dialect_insert
from workflow.kernel.moments import utc, zone_today
from workflow.reforms.requests.handling import department_staff
from workflow.reforms.requests.models import (
    OPEN_REQUEST_STATES,
    RequestEscalation,
    ServiceRequest,
)

STEPS = {
    "arrange": (("submitted",), ServiceRequest.arrange_due_on),
    "feedback": (("submitted", "arranged"), ServiceRequest.feedback_due_on),
    "solve": (OPEN_REQUEST_STATES, ServiceRequest.solve_due_on),
}
STEP_NAMES = {"arrange": "当天安排", "feedback": "3 个工作日内反馈", "solve": "限期办结"}


def overdue_steps(request: ServiceRequest, today: date) -> list[tuple[str, date]]:
    """The steps of ``request`` overdue on ``today`` (escalated or not), with their due dates."""
    found = []
    for step, (states, column) in STEPS.items():
        due = getattr(request, column.key)
        if request.status in states and due < today:
            found.append((step, due))
    return found


def _candidates(today: date):
    def branch(step: str):
        states, column = STEPS[step]
        return (select(ServiceRequest.id, literal(step).label("step"))
                .where(ServiceRequest.status.in_(states), column < today,
                       ~exists().where(RequestEscalation.request_id == ServiceRequest.id,
                                       RequestEscalation.step == step,
                                       RequestEscalation.due_on == column)))
    return union_all(*(branch(step) for step in STEPS))


def _claim(session: Session, request: ServiceRequest, step: str, due: date,
           now: datetime) -> bool:
    insert = dialect_insert(session)
    statement = (insert(RequestEscalation)
                 .values(request_id=request.id, step=step, due_on=due, recorded_at=utc(now))
                 .on_conflict_do_nothing().returning(RequestEscalation.id))
    return session.execute(statement).scalar_one_or_none() is not None


def sweep(session: Session, *, now: datetime) -> list[str]:
    """Escalate every overdue 13710 step not escalated yet; one line each."""
    today = zone_today(now)
    ids = sorted({row.id for row in session.execute(_candidates(today))})
    lines: list[str] = []
    for request_id in ids:
        request = session.get(ServiceRequest, request_id, with_for_update=True,
                              populate_existing=True)
        for step, due in overdue_steps(request, today):
            if not _claim(session, request, step, due, now):
                continue
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

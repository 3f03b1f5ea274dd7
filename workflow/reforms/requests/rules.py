"""Who may see and change an enterprise request or a visit record.

An enterprise sees, raises, withdraws and rates only its own requests. Staff
record requests and visits; the zone's leadership (lead handlers, admins)
arranges a request to a department and classifies it; the department's agents
(and the leadership) give feedback and record the solution; supervisors read
everything and change nothing here."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from workflow.core import permissions
from workflow.kernel.models import User
from workflow.reforms.requests.models import ServiceRequest

STAFF = ("agent", "lead", "supervisor", "admin")
LEADERSHIP = ("lead", "admin")


def _own_enterprise(user: User, request: ServiceRequest) -> bool:
    return (user.role == "enterprise" and user.enterprise_id is not None
            and user.enterprise_id == request.enterprise_id)


def can_raise_request(user: User) -> bool:
    """An enterprise account raises its own requests in the portal."""
    return permissions.can_act_for_enterprise(user) and user.enterprise_id is not None


# Staff who met the enterprise record its requests and the visit they were raised in.
can_record_for_enterprise = permissions.can_serve_enterprises
# 安排: lead handlers and admins dispatch a request to a department and classify it.
can_arrange = permissions.can_lead
# Open requests by department and age: supervisors and the leadership.
can_read_request_figures = permissions.can_supervise


def can_view_request(user: User, request: ServiceRequest) -> bool:
    if not user.active:
        return False
    if user.role in ("supervisor", "admin", "lead"):
        return True
    if user.role == "enterprise":
        return _own_enterprise(user, request)
    if user.role == "agent":
        return ((user.department is not None and user.department == request.department)
                or request.submitted_by_id == user.id)
    return False


def visible_requests(user: User) -> ColumnElement[bool]:
    """``can_view_request`` as a condition on ``ServiceRequest`` rows."""
    if not user.active:
        return false()
    if user.role in ("supervisor", "admin", "lead"):
        return true()
    if user.role == "enterprise":
        return (ServiceRequest.enterprise_id == user.enterprise_id
                if user.enterprise_id is not None else false())
    if user.role == "agent":
        mine = ServiceRequest.submitted_by_id == user.id
        if user.department:
            return or_(ServiceRequest.department == user.department, mine)
        return mine
    return false()


def can_handle(user: User, request: ServiceRequest) -> bool:
    """Feedback and the solution: an agent of the request's department, or the
    leadership."""
    if not user.active:
        return False
    if user.role in LEADERSHIP:
        return True
    return (user.role == "agent" and user.department is not None
            and user.department == request.department)


def can_answer_request(user: User, request: ServiceRequest) -> bool:
    """Withdrawing or rating the outcome: the request's own enterprise."""
    return user.active and _own_enterprise(user, request)


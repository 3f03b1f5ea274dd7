"""The lists and figures of enterprise requests and visits, read in SQL.

Every list is a keyset page (``workflow.kernel.paging``) newest first on an
index of ``service_request`` (all, by status, by department, by enterprise);
who sees which rows is a condition (``rules.visible_requests``). The
supervisor's open requests by department and age are one ``GROUP BY`` on
``ix_service_request_open``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, joinedload

from workflow.core.deadlines import add_months
from workflow.kernel import clock, paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import Enterprise, User
from workflow.kernel.paging import Key, Order, Page
from workflow.reforms.requests import rules
from workflow.reforms.requests.models import (
    OPEN_REQUEST_STATES,
    REQUEST_KINDS,
    REQUEST_STATES,
    ServiceRequest,
    Visit,
)

NEWEST = Order.by("requests", Key(ServiceRequest.submitted_at, datetime, descending=True),
                  Key(ServiceRequest.id, int, descending=True))
VISITS = Order.by("visits", Key(Visit.visited_on, date, descending=True),
                  Key(Visit.id, int, descending=True))
AGES = ("within_3", "within_7", "within_month", "over_month")
MAX_VISIT_REQUESTS = 100


@dataclass(frozen=True)
class RequestFilter:
    """The list's filters: a status (or ``open``: not solved yet), a
    department, a kind, an enterprise, only those past their current step's
    due date."""

    status: str | None = None
    department: str | None = None
    kind: str | None = None
    enterprise_id: int | None = None
    overdue: bool = False

    def conditions(self, today: date) -> list:
        found = []
        if self.status == "open":
            found.append(ServiceRequest.status.in_(OPEN_REQUEST_STATES))
        elif self.status is not None:
            if self.status not in REQUEST_STATES:
                raise ValidationError("Unknown status '{status}'.", field="status",
                                      status=self.status)
            found.append(ServiceRequest.status == self.status)
        if self.department:
            found.append(ServiceRequest.department == self.department)
        if self.kind:
            if self.kind not in REQUEST_KINDS:
                raise ValidationError("Unknown kind '{kind}'.", field="kind", kind=self.kind)
            found.append(ServiceRequest.kind == self.kind)
        if self.enterprise_id is not None:
            found.append(ServiceRequest.enterprise_id == self.enterprise_id)
        if self.overdue:
            found.append(ServiceRequest.status.in_(OPEN_REQUEST_STATES))
            found.append(ServiceRequest.due_on < today)
        return found


def _requests_query(user: User, filters: RequestFilter, today: date):
    return select(ServiceRequest).where(rules.visible_requests(user), *filters.conditions(today))


def request_page(session: Session, user: User, filters: RequestFilter, *, today: date,
                 cursor: str | None = None, limit: int | None = None) -> Page[ServiceRequest]:
    """A page of the requests ``user`` may see, newest first, filtered."""
    return paging.fetch(session, _requests_query(user, filters, today), NEWEST, cursor=cursor,
                        limit=limit, options=[joinedload(ServiceRequest.enterprise)])


def request_rows(session: Session, user: User, filters: RequestFilter, *, today: date,
                 batch: int = 500, end_reads: bool = False) -> Iterator[ServiceRequest]:
    """Every request of ``request_page``'s list (the same rows, filters and
    order), read ``batch`` at a time on the same keyset (the Excel export:
    memory for one batch, not the list; ``end_reads`` as ``paging.pages_of``).
    The filters are checked before the first row is read."""
    query = _requests_query(user, filters, today)
    return paging.pages_of(session, query, NEWEST, batch=batch, end_reads=end_reads,
                           options=[joinedload(ServiceRequest.enterprise)])


@dataclass(frozen=True)
class DepartmentAges:
    """One department's open (unsolved) requests by how long they have been
    open (``AGES``: up to 3 working days, up to 7, up to a month, longer),
    and how many are past their current step's due date."""

    department: str | None
    ages: dict[str, int]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.ages.values())


def open_by_department(session: Session, today: date) -> list[DepartmentAges]:
    """The supervisor's figure: open requests by department and age, one
    ``GROUP BY`` (departments without open requests do not appear; requests
    not arranged yet have no department)."""
    three = clock.working_day_before(clock.roll_forward(today), 3)
    seven = clock.working_day_before(clock.roll_forward(today), 7)
    month = add_months(today, -1)
    age = case((ServiceRequest.submitted_on >= three, "within_3"),
               (ServiceRequest.submitted_on >= seven, "within_7"),
               (ServiceRequest.submitted_on >= month, "within_month"),
               else_="over_month").label("age")
    late = func.sum(case((ServiceRequest.due_on < today, 1), else_=0)).label("late")
    rows = session.execute(
        select(ServiceRequest.department, age, func.count().label("n"), late)
        .where(ServiceRequest.status.in_(OPEN_REQUEST_STATES))
        .group_by(ServiceRequest.department, age)).all()
    table: dict[str | None, DepartmentAges] = {}
    for department, bucket, n, overdue in rows:
        line = table.setdefault(department, DepartmentAges(department, dict.fromkeys(AGES, 0), 0))
        line.ages[bucket] += n
        table[department] = DepartmentAges(department, line.ages, line.overdue + (overdue or 0))
    return sorted(table.values(), key=lambda d: (d.department is not None, -d.total,
                                                 d.department or ""))


def visit_page(session: Session, *, enterprise_id: int | None = None,
               cursor: str | None = None, limit: int | None = None) -> Page[Visit]:
    query = select(Visit)
    if enterprise_id is not None:
        query = query.where(Visit.enterprise_id == enterprise_id)
    return paging.fetch(session, query, VISITS, cursor=cursor, limit=limit,
                        options=[joinedload(Visit.enterprise), joinedload(Visit.leader)])


def requests_of_visit(session: Session, visit_id: int) -> list[ServiceRequest]:
    """The requests raised during a visit (a visit raises a handful)."""
    return list(session.scalars(select(ServiceRequest).where(ServiceRequest.visit_id == visit_id)
                                .order_by(ServiceRequest.id).limit(MAX_VISIT_REQUESTS)))


def request_counts_for_visits(session: Session, visit_ids: list[int]) -> dict[int, int]:
    if not visit_ids:
        return {}
    return dict(session.execute(
        select(ServiceRequest.visit_id, func.count()).where(ServiceRequest.visit_id.in_(visit_ids))
        .group_by(ServiceRequest.visit_id)).all())


def leaders(session: Session) -> list[User]:
    """Who may lead a visit: the active lead handlers and admins (a handful)."""
    return list(session.scalars(select(User).where(User.role.in_(rules.LEADERSHIP),
                                                   User.active.is_(True))
                                .order_by(User.role.desc(), User.display_name, User.id)))


def find_enterprise(session: Session, ref: str) -> Enterprise:
    """A registered enterprise by its credit code or its exact name."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 200:
        raise ValidationError("Name the enterprise by its credit code or exact name.",
                              field="enterprise")
    found = session.scalar(select(Enterprise).where(
        or_(Enterprise.credit_code == ref.upper(), Enterprise.name == ref))
        .order_by(Enterprise.id).limit(1))
    if found is None:
        raise ValidationError("No registered enterprise has the credit code or name '{ref}'.",
                              field="enterprise", ref=ref)
    return found


def get_visit(session: Session, visit_id: int) -> Visit | None:
    return session.get(Visit, visit_id)

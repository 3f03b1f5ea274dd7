"""Enterprise requests (入企服务, 政企沟通) and leaders' visits (领导干部入企调研).

A ``ServiceRequest`` is a problem or a question an enterprise raises (in its
portal, or a staff member records it after a visit). It is handled on the
13710 rhythm: arranged the same working day, feedback within 3 working days,
solved within 7 (ordinary) or a month (complex), tracked until closed. Its
``status`` moves only through ``workflow.reforms.requests.lifecycle``; each
overdue step is escalated once (``RequestEscalation``, one row per request,
step and due date, claimed with ``INSERT … ON CONFLICT DO NOTHING``), and the
department is warned once on the working day before its feedback or solution
falls due (``RequestWarning``, claimed the same way).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models import Base, Enterprise, User, _in

REQUEST_STATES = ("submitted", "arranged", "feedback_given", "solved", "reopened", "closed",
                  "withdrawn")
# Not solved yet: the states the 13710 clock runs in.
OPEN_REQUEST_STATES = ("submitted", "arranged", "feedback_given", "reopened")
REQUEST_KINDS = ("power", "utilities", "road", "land", "approval", "policy", "financing",
                 "labour", "other")
REQUEST_SOURCES = ("portal", "visit", "staff")
COMPLEXITIES = ("ordinary", "complex")
REQUEST_RATINGS = ("satisfied", "unsatisfied")
ESCALATION_STEPS = ("arrange", "feedback", "solve")
# The steps the department is warned of before they fall due (the arrangement
# is due the day the request arrives: there is no day before to warn on).
WARNING_STEPS = ("feedback", "solve")


class Visit(Base):
    """A leader's visit to an enterprise (领导干部入企调研): when, who went,
    what was seen and heard; the requests raised during it link to it."""

    __tablename__ = "enterprise_visit"
    __table_args__ = (
        # The visits list, newest first; one enterprise's visits.
        Index("ix_enterprise_visit_day", "visited_on", "id"),
        Index("ix_enterprise_visit_enterprise", "enterprise_id", "visited_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    leader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    companions: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    enterprise: Mapped[Enterprise] = relationship()
    leader: Mapped[User] = relationship(foreign_keys=[leader_id])


class ServiceRequest(Base):
    """An enterprise's request or problem and its handling on the 13710 rhythm.

    The three due dates are set when it is recorded (and the solution's again
    when staff classify it or it is reopened); ``due_on`` is the current
    step's, which the lists filter and sort on."""

    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATES), name="status_known"),
        CheckConstraint(_in("kind", REQUEST_KINDS), name="kind_known"),
        CheckConstraint(_in("source", REQUEST_SOURCES), name="source_known"),
        CheckConstraint(_in("complexity", COMPLEXITIES), name="complexity_known"),
        CheckConstraint("rating IS NULL OR " + _in("rating", REQUEST_RATINGS), name="rating_known"),
        CheckConstraint("arrange_due_on <= feedback_due_on", name="arrange_before_feedback"),
        # The lists, newest first: all, by status, by department, one enterprise's.
        Index("ix_service_request_recent", "submitted_at", "id"),
        Index("ix_service_request_status", "status", "submitted_at", "id"),
        Index("ix_service_request_department", "department", "submitted_at", "id"),
        Index("ix_service_request_enterprise", "enterprise_id", "submitted_at", "id"),
        # The supervisor's open requests by department and age; the overdue filter.
        Index("ix_service_request_open", "status", "department", "submitted_on"),
        Index("ix_service_request_due", "status", "due_on"),
        # The sweep's 13710 steps: each step's due date by state, as a range
        # (the warning's window; the escalation's "passed").
        Index("ix_service_request_feedback_due", "status", "feedback_due_on"),
        Index("ix_service_request_solve_due", "status", "solve_due_on"),
        Index("ix_service_request_visit", "visit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise_visit.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="submitted",
                                        server_default="submitted")
    complexity: Mapped[str] = mapped_column(String(16), default="ordinary",
                                            server_default="ordinary")
    department: Mapped[str | None] = mapped_column(String(64))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_on: Mapped[date] = mapped_column(Date)  # the zone's date of submitted_at
    arrange_due_on: Mapped[date] = mapped_column(Date)
    feedback_due_on: Mapped[date] = mapped_column(Date)
    solve_due_on: Mapped[date] = mapped_column(Date)
    solve_from: Mapped[date] = mapped_column(Date)  # the submission, or the last reopening
    due_on: Mapped[date | None] = mapped_column(Date)  # the current step's; None once solved
    arranged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    arranged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    arrangement: Mapped[str] = mapped_column(Text, default="")
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feedback: Mapped[str] = mapped_column(Text, default="")
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solution: Mapped[str] = mapped_column(Text, default="")
    reopened_times: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating: Mapped[str | None] = mapped_column(String(16))
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])


class _StepClaim:
    """A claim on one step of a request for one due date: the unique key
    (request, step, due date) its table declares is the claim."""

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"))
    step: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RequestEscalation(_StepClaim, Base):
    """One overdue 13710 step of a request, escalated once: the unique key
    (request, step, due date) is the claim, so a sweep run twice, two sweeps
    at once or a sweep after downtime never repeat one; a new due date (the
    request reopened or reclassified) is a new key."""

    __tablename__ = "service_request_escalation"
    __table_args__ = (
        CheckConstraint(_in("step", ESCALATION_STEPS), name="step_known"),
        UniqueConstraint("request_id", "step", "due_on"),
    )


class RequestWarning(_StepClaim, Base):
    """The warning of one 13710 step of a request on the working day before it
    falls due, sent once: the unique key (request, step, due date) is the
    claim, as for ``RequestEscalation``; a new due date (the request reopened
    or reclassified) is a new key. A table of its own, not escalation rows:
    a warning is not an escalation, and the escalations keep meaning overdue."""

    __tablename__ = "service_request_warning"
    __table_args__ = (
        CheckConstraint(_in("step", WARNING_STEPS), name="step_known"),
        UniqueConstraint("request_id", "step", "due_on"),
    )

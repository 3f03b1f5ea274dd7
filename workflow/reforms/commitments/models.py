"""承诺制 and 容缺受理: commitment letters, gap acceptances (容缺) and credit records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import (
    ItemTask,
    Project,
)
from workflow.kernel.models import (
    Base,
    Enterprise,
    _in,
)

# -- the three reforms: commitments, standard land, lifecycle checks, intentions,
# -- chemical entry, agency paperwork and ratings ----------------------------------------

COMMITMENT_STATES = ("issued", "signed", "kept", "rectifying", "broken", "false", "withdrawn")
GAP_STATES = ("open", "fulfilled", "expired")
CREDIT_SEVERITIES = ("minor", "serious")


class CommitmentLetter(Base):
    """承诺制: the enterprise commits to an item's standards instead of waiting
    for the prior approval; the department checks compliance afterwards."""

    __tablename__ = "commitment_letter"
    __table_args__ = (
        CheckConstraint(_in("status", COMMITMENT_STATES), name="status_known"),
        Index("ix_commitment_letter_check_due", "check_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)  # the letter as generated from the standards
    standards: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="issued")
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signature: Mapped[str | None] = mapped_column(String(200))  # the signatory's typed name
    text_sha256: Mapped[str | None] = mapped_column(String(64))  # what was signed
    check_due: Mapped[date | None] = mapped_column(Date)  # the department's compliance check
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_note: Mapped[str | None] = mapped_column(Text)
    rectify_by: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship()
    task: Mapped[ItemTask] = relationship()


class GapAcceptance(Base):
    """容缺受理: accepted with secondary materials missing, against the
    enterprise's written promise to supply them by a deadline."""

    __tablename__ = "gap_acceptance"
    __table_args__ = (
        CheckConstraint(_in("status", GAP_STATES), name="status_known"),
        Index("ix_gap_acceptance_open_deadline", "deadline",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    missing: Mapped[dict[str, Any]]  # {"materials": [{"code", "name"}]}
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    accepted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    promise_text: Mapped[str] = mapped_column(Text)
    promised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    promised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()
    task: Mapped[ItemTask] = relationship()


class CreditRecord(Base):
    """A bad-credit record (失信) on an enterprise. A serious one bars the
    enterprise from commitments and 容缺 until an admin clears it."""

    __tablename__ = "credit_record"
    __table_args__ = (
        CheckConstraint(_in("severity", CREDIT_SEVERITIES), name="severity_known"),
        # The admin's list, newest first: all records (a severity filter reads
        # on), one enterprise's, the records in force and the cleared ones.
        Index("ix_credit_record_created", "created_at", "id"),
        Index("ix_credit_record_enterprise", "enterprise_id", "created_at", "id"),
        Index("ix_credit_record_in_force", "created_at", "id",
              postgresql_where=text("cleared_at IS NULL"), sqlite_where=text("cleared_at IS NULL")),
        Index("ix_credit_record_cleared", "created_at", "id",
              postgresql_where=text("cleared_at IS NOT NULL"),
              sqlite_where=text("cleared_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40))  # commitment_broken, commitment_false, ...
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clear_note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()

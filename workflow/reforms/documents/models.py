"""Agency paperwork: the documents issued for a project (委托书, 中止/终止告知书, 办结单),
and the enterprise's answer to those it signs (the mandate and a change of its scope)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import (
    Attachment,
    Project,
)
from workflow.kernel.errors import term
from workflow.kernel.models import (
    Base,
    _in,
)

DOCUMENT_KINDS = ("mandate", "suspension", "termination", "continuation", "completion")
# The enterprise's answer to a document it signs (the mandate, a change of its
# scope): awaiting it, signed (in the portal or on paper), declined. Documents
# the enterprise does not sign (slips, a change of agent) have none.
SIGNATURE_STATES = (term("awaiting"), term("signed"), term("declined"))
SIGNED_VIA = ("portal", "paper")


class AgencyDocument(Base):
    """A generated agency document (DB14/T 2233): mandate, suspension slip,
    termination slip, continuation mandate, completion slip. ``data`` is the
    snapshot it was generated from, so it prints the same forever."""

    __tablename__ = "agency_document"
    __table_args__ = (
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind_known"),
        CheckConstraint(f"status IS NULL OR {_in('status', SIGNATURE_STATES)}",
                        name="status_known"),
        CheckConstraint(f"signed_via IS NULL OR {_in('signed_via', SIGNED_VIA)}",
                        name="signed_via_known"),
        CheckConstraint("status <> 'signed' OR (signed_via IS NOT NULL AND signed_on IS NOT NULL)",
                        name="signed_has_how_and_when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The enterprise's answer (委托方签署), for the documents it signs.
    status: Mapped[str | None] = mapped_column(String(16))
    signed_via: Mapped[str | None] = mapped_column(String(8))
    signed_on: Mapped[date | None] = mapped_column(Date)
    signatory: Mapped[str | None] = mapped_column(String(200))  # the typed (or written) name
    signed_sha256: Mapped[str | None] = mapped_column(String(64))  # of the text signed
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))  # a paper signature's
    # Who answered: the enterprise's user (signed or declined in the portal)
    # or the lead handler who recorded the paper signature; none when the
    # system recorded it (the migration of mandates issued before signatures).
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship()
    scan: Mapped[Attachment | None] = relationship()

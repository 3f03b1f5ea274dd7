"""Agency paperwork: the documents issued for a project (委托书, 中止/终止告知书, 办结单)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import (
    Project,
)
from workflow.kernel.models import (
    Base,
    _in,
)

DOCUMENT_KINDS = ("mandate", "suspension", "termination", "continuation", "completion")


class AgencyDocument(Base):
    """A generated agency document (DB14/T 2233): mandate, suspension slip,
    termination slip, continuation mandate, completion slip. ``data`` is the
    snapshot it was generated from, so it prints the same forever."""

    __tablename__ = "agency_document"
    __table_args__ = (CheckConstraint(_in("kind", DOCUMENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()

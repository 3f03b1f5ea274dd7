"""The intention ledger: follow-ups of intention projects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models import (
    Base,
    User,
)


class FollowUp(Base):
    """A contact with an intention project's enterprise (意向项目台账)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    contacted_on: Mapped[date] = mapped_column(Date)
    contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(40), default="")  # visit, call, meeting, ...
    summary: Mapped[str] = mapped_column(Text)
    hesitation: Mapped[str] = mapped_column(Text, default="")  # 观望原因
    asks: Mapped[str] = mapped_column(Text, default="")  # 企业要求
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    recorded_by: Mapped[User] = relationship()
# A project's contacts by date: its last contact, "contacted since" (stale intentions).
Index("ix_follow_up_project_contacted", FollowUp.project_id, FollowUp.contacted_on)

"""Ratings of the service and the rectifications a bad one opens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models import (
    Base,
    _in,
)

RECTIFICATION_STATES = ("open", "closed")
RATING_LEVELS = ("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
                 "very_dissatisfied")


class Rating(Base):
    """好差评: the enterprise rates the service on an item or the project."""

    __tablename__ = "rating"
    __table_args__ = (CheckConstraint(_in("level", RATING_LEVELS), name="level_known"),
                      UniqueConstraint("project_id", "task_id", "rated_by_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("item_task.id"))
    level: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Rectification(Base):
    """A bad rating's follow-up: the lead handler rectifies by a deadline and
    answers in writing, which closes it (``workflow.reforms.ratings.lifecycle``)."""

    __tablename__ = "rectification"
    __table_args__ = (CheckConstraint(_in("status", RECTIFICATION_STATES), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    response: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    rating: Mapped[Rating] = relationship()

"""化工项目准入: screening rules, the hazardous-chemical catalogue and screenings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models import (
    Base,
    _in,
)

RULE_KINDS = ("provincial", "admission", "prohibited_type")
CHEMICAL_LEVELS = ("prohibited", "restricted", "controlled")
SCREENING_VERDICTS = ("pass", "restricted", "prohibited")


class ScreeningRule(Base):
    """A chemical-entry rule: provincial conditions, the zone's admission
    rules, or a prohibited project type; ``params`` drive the check."""

    __tablename__ = "screening_rule"
    __table_args__ = (UniqueConstraint("code"),
                      CheckConstraint(_in("kind", RULE_KINDS), name="kind_known"),
                      # One table of rules per kind, by code.
                      Index("ix_screening_rule_kind_code", "kind", "code", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    check: Mapped[str] = mapped_column(String(40))  # which test the engine applies
    params: Mapped[dict[str, Any]]
    verdict: Mapped[str] = mapped_column(String(16), default="prohibited")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(300), default="")


class HazardousChemical(Base):
    """The 禁限控 catalogue: prohibited, restricted or controlled chemicals."""

    __tablename__ = "hazardous_chemical"
    __table_args__ = (UniqueConstraint("name"),
                      CheckConstraint(_in("level", CHEMICAL_LEVELS), name="level_known"),
                      # The catalogue level by level (prohibited first), by name.
                      Index("ix_hazardous_chemical_level_name", "level", "name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cas: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[bool] = mapped_column(Boolean, default=False)


class Screening(Base):
    """A chemical project's entry screening: every rule hit with its reason."""

    __tablename__ = "screening"
    __table_args__ = (CheckConstraint(_in("verdict", SCREENING_VERDICTS), name="verdict_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    inputs: Mapped[dict[str, Any]]
    hits: Mapped[dict[str, Any]]  # {"hits": [{"rule", "kind", "verdict", "reason"}]}
    verdict: Mapped[str] = mapped_column(String(16))
    screened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    screened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    review: Mapped[dict[str, Any] | None]  # expert review of a restricted result
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

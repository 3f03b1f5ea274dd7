"""化工项目准入: screening rules, the hazardous-chemical catalogue and screenings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
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
    """The 禁限控 catalogue: prohibited, restricted or controlled chemicals,
    each with the other names it goes by (液氯 for 氯气) and the classes it
    belongs to (``ChemicalClass.code``). A ``provincial`` row is a substance
    the provincial conditions name: it stays prohibited and is never removed."""

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
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    classes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    provincial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChemicalClass(Base):
    """A class of chemicals a rule bans as a whole (氰化物, 氯酸盐, 剧毒化学品):
    a product belongs to it when its name holds one of ``patterns`` once the
    ``excludes`` are taken out (亚铁氰化钾 is no cyanide, 高氯酸铵 no chlorate),
    or when the catalogue row it matches lists the class. A ``provincial``
    class is one the provincial conditions name: it stays prohibited."""

    __tablename__ = "chemical_class"
    __table_args__ = (UniqueConstraint("code"),
                      UniqueConstraint("name", name="uq_chemical_class_name"),
                      CheckConstraint(_in("level", CHEMICAL_LEVELS), name="level_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    excludes: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(300), default="")
    provincial: Mapped[bool] = mapped_column(Boolean, default=False)


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

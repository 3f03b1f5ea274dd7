"""标准地: regional evaluations, parcels and their indicators, investment agreements and their
checkpoints, capacity reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import (
    Project,
)
from workflow.kernel.errors import term
from workflow.kernel.models import (
    Base,
    _in,
)

# The agreement's four checks, and the deadlines an item of the definition
# sets once it closes: ``item_reach`` (the project reaches a stage in time:
# 施工许可 → 开工 within 3 months) and ``item_submit`` (the enterprise files the
# item in time: 竣工验收备案 within 15 days of the acceptance).
CHECKPOINT_KINDS = ("start", "completion", "production", "capacity", "item_reach", "item_submit")
# The states are catalogued words: a refusal names a checkpoint's state.
CHECKPOINT_STATES = (term("open"), term("passed"), term("rectifying"), term("failed"),
                     term("breached"))
# 闲置土地处置办法 第八条: delays the government caused (and force majeure), for
# which the land is not idle land to be charged or taken back.
EXEMPTION_CAUSES = ("land_not_delivered", "plan_changed", "policy_changed", "petitions",
                    "military_or_relics", "other_government", "force_majeure")


class RegionalEvaluation(Base):
    """A regional evaluation (区域评估) the zone has done, shared by every
    project later placed on a parcel it covers. ``kind`` is an evaluation code
    of the definition (mineral_overlay, regional_eia, ...)."""

    __tablename__ = "regional_evaluation"
    # The register's list of evaluations: by kind, then the oldest first.
    __table_args__ = (Index("ix_regional_evaluation_kind_done", "kind", "done_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. 左开评〔2025〕3号
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    done_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)


class Parcel(Base):
    """A standard-land parcel (标准地) with its servicing and control indicators."""

    __tablename__ = "parcel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    park: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    area_mu: Mapped[float] = mapped_column(Numeric(12, 2))  # 亩 (1 公顷 = 15 亩)
    servicing: Mapped[str] = mapped_column(String(40), default="")  # 三通一平 / 五通一平
    land_price_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    transferred_on: Mapped[date | None] = mapped_column(Date)

    indicators: Mapped[list[ParcelIndicator]] = relationship(
        back_populates="parcel", order_by="ParcelIndicator.id", cascade="all, delete-orphan")
    evaluations: Mapped[list[RegionalEvaluation]] = relationship(
        secondary="parcel_evaluation", order_by="RegionalEvaluation.id")


class ParcelEvaluation(Base):
    __tablename__ = "parcel_evaluation"
    __table_args__ = (UniqueConstraint("parcel_id", "evaluation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("regional_evaluation.id"))


class ParcelIndicator(Base):
    """A control indicator of a parcel: investment intensity (万元/亩),
    floor-area ratio, tax per 亩, or a zone-defined extra. ``bound`` says
    whether the value is a minimum or a maximum."""

    __tablename__ = "parcel_indicator"
    __table_args__ = (UniqueConstraint("parcel_id", "code"),
                      CheckConstraint("bound IN ('min', 'max')", name="bound_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(40))
    bound: Mapped[str] = mapped_column(String(3), default="min")
    value: Mapped[float] = mapped_column(Numeric(16, 4))

    parcel: Mapped[Parcel] = relationship(back_populates="indicators")


class InvestmentAgreement(Base):
    """投资建设协议: the committed indicators and dates of a project on its parcel."""

    __tablename__ = "investment_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    signed_on: Mapped[date] = mapped_column(Date)
    land_price_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    indicators: Mapped[dict[str, Any]]  # {code: {"name", "unit", "bound", "value"}}
    start_by: Mapped[date] = mapped_column(Date)
    complete_by: Mapped[date] = mapped_column(Date)
    produce_by: Mapped[date] = mapped_column(Date)
    capacity_by: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    parcel: Mapped[Parcel] = relationship()


class Checkpoint(Base):
    """A lifecycle check with a deadline: start, completion acceptance against
    the standard, production, and the 达产复核 capacity review."""

    __tablename__ = "checkpoint"
    __table_args__ = (
        UniqueConstraint("project_id", "kind", "item_code"),
        CheckConstraint(_in("kind", CHECKPOINT_KINDS), name="kind_known"),
        CheckConstraint(_in("status", CHECKPOINT_STATES), name="status_known"),
        # The open checkpoints, earliest due first (the checkpoint list, the sweep).
        Index("ix_checkpoint_open_due", "due_on", "id",
              postgresql_where=text("status IN ('open', 'rectifying')"),
              sqlite_where=text("status IN ('open', 'rectifying')")),
        # The zone's capacity verdicts counted by status (亩均 figures).
        Index("ix_checkpoint_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # The item an ``item_reach`` / ``item_submit`` deadline belongs to ('' for
    # the agreement's checks, so that the unique key holds for them too).
    item_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    rectify_by: Mapped[date | None] = mapped_column(Date)
    result: Mapped[dict[str, Any] | None]  # computed indicators and verdicts
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idle_warned_on: Mapped[date | None] = mapped_column(Date)  # start one year late: idle land
    recovery_warned_on: Mapped[date | None] = mapped_column(Date)  # two years: land taken back

    project: Mapped[Project] = relationship()


class CapacityReport(Base):
    """What the enterprise reports for the 达产复核 (or a production check)."""

    __tablename__ = "capacity_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id"), index=True)
    investment_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # fixed-asset investment
    floor_area_m2: Mapped[float] = mapped_column(Numeric(16, 2))
    # Of it, the area of storeys higher than 8 m, counted twice in the
    # floor-area ratio (工业项目建设用地控制指标).
    tall_floor_area_m2: Mapped[float] = mapped_column(Numeric(16, 2), default=0, server_default="0")
    tax_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # annual tax
    output_wan: Mapped[float] = mapped_column(Numeric(16, 2))  # annual output value
    energy_tce: Mapped[float] = mapped_column(Numeric(16, 2))  # tonnes of standard coal
    extras: Mapped[dict[str, Any] | None]
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LandStoppage(Base):
    """Construction stopped on a started project (中止开发建设), with how far it
    had come: the developed area against the area to develop and the
    investment made against the total. Started but under a third of the area
    or under 25 % of the investment, and stopped for a year, the land is idle
    land (闲置土地处置办法 第二条)."""

    __tablename__ = "land_stoppage"
    __table_args__ = (
        CheckConstraint("built_area_mu >= 0 AND area_mu > 0 AND built_area_mu <= area_mu",
                        name="area_within_parcel"),
        CheckConstraint("invested_wan >= 0 AND total_investment_wan > 0", name="investment_known"),
        CheckConstraint("resumed_on IS NULL OR resumed_on >= stopped_on", name="resumed_after"),
        # A project's stoppages, newest first (the land panel); the sweep's
        # stoppages still running.
        Index("ix_land_stoppage_project", "project_id", "id"),
        Index("ix_land_stoppage_running", "stopped_on", "id",
              postgresql_where=text("resumed_on IS NULL"), sqlite_where=text("resumed_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    stopped_on: Mapped[date] = mapped_column(Date)
    resumed_on: Mapped[date | None] = mapped_column(Date)
    built_area_mu: Mapped[float] = mapped_column(Numeric(12, 2))
    area_mu: Mapped[float] = mapped_column(Numeric(12, 2))  # the area to develop
    invested_wan: Mapped[float] = mapped_column(Numeric(14, 2))
    total_investment_wan: Mapped[float] = mapped_column(Numeric(14, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    idle_warned_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()


class IdleExemption(Base):
    """A delay the government caused (闲置土地处置办法 第八条), recorded with its
    cause and reason: while it stands, the project's late start or stoppage
    is not charged as idle land nor taken back (第十二条 applies instead)."""

    __tablename__ = "idle_exemption"
    __table_args__ = (
        CheckConstraint(_in("cause", EXEMPTION_CAUSES), name="cause_known"),
        # A project's exemptions, newest first; the one standing is unwithdrawn.
        Index("ix_idle_exemption_project", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    cause: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[date] = mapped_column(Date)  # the day the government's delay began
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship()


class AgreementMiss(Base):
    """A project whose prediction misses its investment agreement
    (``workflow.reforms.land.forecast``): the most working days late of its
    start, completion and production. Kept whenever the project's prediction
    is stored (the core's ``predictions.stored``), so that the supervisors'
    list is one index range, most late first, however few projects are late."""

    __tablename__ = "agreement_miss"
    __table_args__ = (
        Index("ix_agreement_miss_late", "days_late", "project_id"),
        Index("ix_agreement_miss_group_late", "group_id", "days_late", "project_id"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"))
    days_late: Mapped[int] = mapped_column(Integer)

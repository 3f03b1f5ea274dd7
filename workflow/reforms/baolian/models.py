"""包联服务 ("five ones" per project): the plan row (promoting unit, dedicated
staff member, the earliest open milestone), its milestones and the claims of
their escalations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import Project
from workflow.kernel.models import Base, User, _in

# A stage milestone is achieved when the project reaches its stage; an added
# one (``custom``) only when the lead marks it done.
MILESTONE_KINDS = ("sign", "start", "completion", "production", "capacity", "custom")
# Where a planned date came from: the investment agreement, the zone's default
# offsets from signing (no agreement yet), or the lead's edit.
DATE_SOURCES = ("agreement", "default", "lead")
PLAN_LEVELS = ("red", "escalate_lead", "escalate_supervisor", "escalate_leadership")
# ``PromotionPlan.next_due_on`` of a plan with every milestone achieved: the
# column stays NOT NULL so that the leadership list is one keyset on an index.
PLAN_DONE = date(9999, 12, 31)


class PromotionPlan(Base):
    """一个项目、一个班子成员、一个推进单位、一名专职人员、一套推进方案: the
    project's promotion plan. The leadership member is the project's lead
    handler (``Project.lead``), not a copy of it."""

    __tablename__ = "promotion_plan"
    __table_args__ = (
        # The leadership list: most urgent plan first.
        Index("ix_promotion_plan_next_due", "next_due_on", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    promoting_unit: Mapped[str] = mapped_column(String(200), default="", server_default="")  # 推进单位
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)  # 专职人员
    # The earliest planned date of a milestone not achieved (PLAN_DONE: none),
    # kept by every operation that changes a milestone.
    next_due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship()
    staff: Mapped[User | None] = relationship()
    milestones: Mapped[list[PlanMilestone]] = relationship(
        back_populates="plan", order_by="(PlanMilestone.planned_on, PlanMilestone.id)",
        cascade="all, delete-orphan")


class PlanMilestone(Base):
    """A milestone of the plan with its planned date; achieved when the project
    reaches ``stage`` (a stage milestone) or when the lead marks it done."""

    __tablename__ = "plan_milestone"
    __table_args__ = (
        CheckConstraint(_in("kind", MILESTONE_KINDS), name="kind_known"),
        CheckConstraint(_in("source", DATE_SOURCES), name="source_known"),
        CheckConstraint("(achieved_on IS NULL) = (achieved_how IS NULL)", name="achieved_how_known"),
        # The sweep's open milestones past their date, earliest first.
        Index("ix_plan_milestone_open_planned", "planned_on", "id",
              postgresql_where=text("achieved_on IS NULL"), sqlite_where=text("achieved_on IS NULL")),
        Index("ix_plan_milestone_plan", "plan_id", "planned_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("promotion_plan.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(32))  # the lifecycle stage that achieves it
    name: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    achieved_on: Mapped[date | None] = mapped_column(Date)
    achieved_how: Mapped[str | None] = mapped_column(String(16))  # 'stage' or 'lead'
    note: Mapped[str] = mapped_column(Text, default="", server_default="")

    plan: Mapped[PromotionPlan] = relationship(back_populates="milestones")


class PlanReminder(Base):
    """One escalation of a late milestone, recorded at most once per milestone,
    level and planned date (a rescheduled milestone may escalate again; the
    same date never repeats — not after a second sweep, a second scheduler
    process or a restart)."""

    __tablename__ = "plan_reminder"
    __table_args__ = (
        UniqueConstraint("milestone_id", "level", "planned_on"),
        CheckConstraint(_in("level", PLAN_LEVELS), name="level_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("plan_milestone.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(32))
    planned_on: Mapped[date] = mapped_column(Date)
    reached_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    catch_up: Mapped[bool] = mapped_column(Boolean, default=False)

"""The rollups: what the figure pages read instead of every task and project
(``workflow.core.rollups``), re-exported by ``workflow.core.models``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models import Base

# -- rollups: what the figure pages read instead of every task and project --------------------
# (``workflow.core.rollups``). ``agent_id`` / ``lead_id`` 0 stands for "nobody", so that
# the unique keys hold (NULLs are distinct in a unique constraint).


class FigureClosedDay(Base):
    """Done items per closing day, group, last assignee, department and item,
    written in the transaction that completes each one: the figures of any
    closing range are sums over its days, whatever the number of closed tasks.
    ``with_due``, ``on_time`` and ``days_used_*`` are the statutory clock's
    (decided by the due date), ``service_*`` the service clock's (submitted by
    its due date)."""

    __tablename__ = "figure_closed_day"
    __table_args__ = (
        UniqueConstraint("day", "group_id", "agent_id", "department", "item_code",
                         name="uq_figure_closed_day_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    closed: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    days_used_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_n: Mapped[int] = mapped_column(Integer, default=0)
    service_with_due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    service_on_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    service_days_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    service_days_n: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FigureClosedTotal(Base):
    """The same sums over every day (the figures without a closing range)."""

    __tablename__ = "figure_closed_total"
    __table_args__ = (
        UniqueConstraint("group_id", "agent_id", "department", "item_code",
                         name="uq_figure_closed_total_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    closed: Mapped[int] = mapped_column(BigInteger, default=0)
    with_due: Mapped[int] = mapped_column(BigInteger, default=0)
    on_time: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    days_used_n: Mapped[int] = mapped_column(BigInteger, default=0)
    service_with_due: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    service_on_time: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    service_days_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    service_days_n: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class FigureOpen(Base):
    """Open items with a due date, and those red and yellow, per group,
    assignee, department, item and the clock that runs (service or
    statutory), as of the scheduler's last refresh."""

    __tablename__ = "figure_open"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock: Mapped[str] = mapped_column(String(16), default="statutory", server_default="statutory")
    group_id: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    red: Mapped[int] = mapped_column(Integer, default=0)
    yellow: Mapped[int] = mapped_column(Integer, default=0)


class PipelineTotal(Base):
    """Projects and their planned investment per lifecycle stage, industry
    group and lead handler, as of the scheduler's last refresh."""

    __tablename__ = "pipeline_total"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    suspended_from: Mapped[str | None] = mapped_column(String(32))
    group_id: Mapped[int] = mapped_column(Integer)
    lead_id: Mapped[int] = mapped_column(Integer)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    investment_wan: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupState(Base):
    """When a refreshed rollup was last computed, and for which zone day."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[date] = mapped_column(Date)

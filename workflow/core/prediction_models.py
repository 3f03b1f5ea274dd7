"""The stored predictions (``workflow.core.predict``) and the handling-time
history they read, re-exported by ``workflow.core.models``.

- ``item_prediction``: one row per OPEN item task of an open project: when it
  is expected to open (``predicted_start``; the actual release once
  ``released``) and to close (``predicted_end``), whether it is on the
  critical path, whether a provisional year went into it, whether the zone's
  history or the legal limit gave its lengths (``basis``), and ``as_of``.
  ``group_id`` and ``department`` are copied from the task so that the
  workload forecast counts expected arrivals per day with an index range.
- ``project_prediction``: one row per open project: each milestone's date
  (``<milestone>_on``: actual once reached, see ``reached``), the critical
  item (the first open item of the critical path), ``provisional``,
  ``as_of`` and ``basis_seq``: the project's ``audit_seq`` the prediction was
  made from. Every change of a project writes an audit event and so moves
  ``audit_seq``: a prediction whose ``basis_seq`` differs is stale and the
  sweep recomputes it; so is one whose ``valid_until`` day has passed (it
  depended on the day: ``Prediction.valid_until``). No write path pays for
  keeping predictions current.
- ``workload_day``: the workload forecast's rollup (``workflow.core.workload``),
  kept by the writers of ``item_prediction``; ``agent_capacity``: an agent's
  own capacity (tasks at once), set by an admin.
- ``handling_history``: per item, department and clock, how many closed
  tasks took each number of days (in the clock's limit's unit): the
  histogram the medians come from, counted in the transaction that completes
  an item (``workflow.core.rollups.task_done``). Subjects ``stage:<gap>``
  (department "", clock ``gap``) hold the lifecycle gaps in working days.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models import Base

PREDICTION_BASES = ("history", "limit")
HISTORY_CLOCKS = ("service", "statutory", "gap")


class ItemPrediction(Base):
    """The predicted dates of one open item task (``workflow.core.predict``)."""

    __tablename__ = "item_prediction"
    __table_args__ = (
        CheckConstraint("basis IN ('history', 'limit')", name="basis_known"),
        CheckConstraint("predicted_end >= predicted_start", name="ends_after_start"),
        # The workload forecast: per group (or department), the items expected
        # to arrive on each of the next days (not released yet).
        Index("ix_item_prediction_arrivals_group", "group_id", "predicted_start",
              postgresql_where=text("NOT released"), sqlite_where=text("released = 0")),
        Index("ix_item_prediction_arrivals_department", "department", "predicted_start",
              postgresql_where=text("NOT released"), sqlite_where=text("released = 0")),
        # Per group, the items expected to close on each day (work leaving).
        Index("ix_item_prediction_group_end", "group_id", "predicted_end"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("item_task.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"))
    department: Mapped[str] = mapped_column(String(64))
    released: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    predicted_start: Mapped[date] = mapped_column(Date)
    predicted_end: Mapped[date] = mapped_column(Date)
    critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    basis: Mapped[str] = mapped_column(String(16))
    # The prerequisite item, or ``milestone:<code>``, that decides the opening.
    driver: Mapped[str | None] = mapped_column(String(80))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectPrediction(Base):
    """The predicted milestones of one open project (``workflow.core.predict``)."""

    __tablename__ = "project_prediction"
    __table_args__ = (
        # The supervisor's lists: projects by predicted start / completion /
        # production (compared with the agreement's dates), per group too.
        Index("ix_project_prediction_started", "started_on", "project_id"),
        Index("ix_project_prediction_completed", "completed_on", "project_id"),
        Index("ix_project_prediction_producing", "producing_on", "project_id"),
        Index("ix_project_prediction_group_completed", "group_id", "completed_on", "project_id"),
        # Oldest predictions first.
        Index("ix_project_prediction_as_of", "as_of", "project_id"),
        # The sweep's daily pass: predictions that depend on a day now past.
        Index("ix_project_prediction_valid_until", "valid_until", "project_id"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("industry_group.id"))
    ready_to_start_on: Mapped[date] = mapped_column(Date)
    started_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date] = mapped_column(Date)
    producing_on: Mapped[date] = mapped_column(Date)
    at_capacity_on: Mapped[date] = mapped_column(Date)
    # The milestones already reached (their dates are actual), comma-separated.
    reached: Mapped[str] = mapped_column(String(120), default="", server_default="")
    critical_item: Mapped[str | None] = mapped_column(String(64))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    basis_seq: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The last day on which recomputing with no new event gives the same
    # prediction (``Prediction.valid_until``): stale once it is past.
    valid_until: Mapped[date | None] = mapped_column(Date)


class WorkloadDay(Base):
    """The workload forecast's rollup (``workflow.core.workload``): per scope
    (``group``: the group's id; ``department``: its code) and day, how many
    open items of open projects are expected to open (``arrivals``: the
    actual release for released ones) and to close (``departures``, on their
    predicted end) that day. Kept by ``prediction_store.store_many`` and
    ``forget`` (the single writers of ``item_prediction``): they subtract a
    project's old rows and add its new ones, so the sum of a scope's rows is
    always the sum over its ``item_prediction`` rows."""

    __tablename__ = "workload_day"
    __table_args__ = (
        CheckConstraint("scope_kind IN ('group', 'department')", name="scope_known"),
    )

    scope_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    arrivals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    departures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AgentCapacity(Base):
    """An agent's own capacity (tasks at once), set by an admin; without a
    row the zone's default (``Definition.agent_capacity``) holds."""

    __tablename__ = "agent_capacity"
    __table_args__ = (
        CheckConstraint("capacity >= 1 AND capacity <= 500", name="capacity_in_range"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)


class HandlingHistory(Base):
    """How many closed tasks took ``days`` on one clock, per item and
    department: the histogram the prediction's medians come from."""

    __tablename__ = "handling_history"
    __table_args__ = (
        CheckConstraint("clock IN ('service', 'statutory', 'gap')", name="clock_known"),
        CheckConstraint("days >= 0 AND n >= 0", name="counts_nonnegative"),
    )

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    clock: Mapped[str] = mapped_column(String(16), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)

"""The demo's workload forecast: one agent of the new-energy group, part-time
on the zone's projects (侯晓峰, agent17), handles one task at once, so the
forecast pages show an overloaded agent next to the zone's default capacity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import workload
from workflow.models import User

PART_TIME = ("agent17", 1)


def add_capacities(session: Session, *, now: datetime) -> None:
    username, capacity = PART_TIME
    agent = session.scalar(select(User).where(User.username == username))
    admin = session.scalar(select(User).where(User.username == "admin"))
    workload.set_capacity(session, agent, capacity, actor=admin, now=now)

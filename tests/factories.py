"""Test data that reads like the domain: an enterprise, agents of a group, a
project routed and mandated."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.core import operations
from workflow.kernel.registry import group_by_code
from workflow.models import Enterprise, GroupMembership, IndustryGroup, Project, User
from workflow.reforms import documents

_seq = itertools.count(1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 9) -> datetime:
    """A moment in the zone's time: ``at("2026-03-02")``."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def enterprise(session: Session, name: str | None = None) -> Enterprise:
    n = next(_seq)
    row = Enterprise(name=name or f"测试企业{n}有限公司", credit_code=f"91140226MA{n:08d}")
    session.add(row)
    session.flush()
    return row


def group(session: Session, code: str = "equipment") -> IndustryGroup:
    return group_by_code(session, code)


def user(session: Session, username: str | None = None, role: str = "agent", *,
         groups: tuple[str, ...] = (), department: str | None = None,
         company: Enterprise | None = None, away: bool = False,
         substitute: User | None = None) -> User:
    username = username or f"{role}{next(_seq)}"
    row = User(username=username, display_name=username, role=role, department=department,
               enterprise_id=company.id if company else None, active=True, away=away,
               substitute_id=substitute.id if substitute else None)
    session.add(row)
    session.flush()
    for code in groups:
        session.add(GroupMembership(group_id=group(session, code).id, user_id=row.id))
    session.flush()
    session.refresh(row)
    return row


def project(session: Session, now: datetime, *, industry: str = "equipment_manufacturing",
            company: Enterprise | None = None, lead: User | None = None,
            mandate: bool = True, code: str | None = None, actor: User | None = None,
            signed: bool = True) -> Project:
    """A project routed to its group; ``mandate``: mandated (its tasks created,
    approvals begun) and, ``signed``, its 委托书 signed on paper the same day
    (recorded by the system), so that agents may act on its items."""
    company = company or enterprise(session)
    row = operations.create_project(
        session, code=code or f"2026-140226-34-03-{next(_seq):06d}", name="测试项目",
        enterprise=company, industry=industry, actor=actor, now=now, lead=lead)
    if mandate:
        operations.mandate_project(session, row.id, actor=actor, now=now)
        if signed:
            sign_mandate_on_paper(session, row, now)
            # The signature reloaded the locked project row; load its items again
            # now, so that tests read them after their commit without a query.
            session.refresh(row, ["tasks"])
    return row


def sign_mandate_on_paper(session: Session, project: Project, now: datetime) -> None:
    """The enterprise signed the waiting 委托书 on paper (the system records it)."""
    waiting = documents.awaiting(session, project.id, "mandate")
    documents.record_paper_signature(session, waiting.id, actor=None, now=now,
                                     signatory=project.enterprise.contact_name or "法定代表人",
                                     signed_on=operations.zone_today(now))


def task(project: Project, item_code: str):
    return next(t for t in project.tasks if t.item_code == item_code)

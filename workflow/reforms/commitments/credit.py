"""Credit records (信用记录): whether an enterprise has an uncleared serious
record (which bars it from commitments and 容缺), recording one, an admin
clearing one, and the admin's list of records a page at a time with its
filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload

from workflow.core import notify, permissions
from workflow.core import operations as ops
from workflow.core.models import ItemTask, Project
from workflow.kernel import paging
from workflow.kernel.errors import Conflict, NotFound, NotPermitted, ValidationError
from workflow.kernel.models import Enterprise, User
from workflow.reforms.commitments.common import _record, _tell
from workflow.reforms.commitments.models import CREDIT_SEVERITIES, CreditRecord


def has_serious_record(session: Session, enterprise_id: int) -> bool:
    """Whether the enterprise has an uncleared serious credit record (严重失信)."""
    return bool(session.scalar(select(exists().where(
        CreditRecord.enterprise_id == enterprise_id, CreditRecord.severity == "serious",
        CreditRecord.cleared_at.is_(None)))))


@dataclass(frozen=True)
class CreditFilter:
    """Filters of the admin's list of credit records; ``None`` is "any": the
    enterprise (by id, or by its unified social credit code), the severity,
    and whether an admin has cleared the record."""

    enterprise_id: int | None = None
    credit_code: str | None = None
    severity: str | None = None
    cleared: bool | None = None


CREDIT_ORDER = paging.Order.by("credit", paging.Key(CreditRecord.created_at, datetime, True),
                               paging.Key(CreditRecord.id, int, True))


def credit_records(session: Session, *, enterprise_id: int | None = None,
                   credit_code: str | None = None, severity: str | None = None,
                   cleared: bool | None = None, cursor: str | None = None,
                   limit: int | None = None) -> paging.Page[CreditRecord]:
    """A page of credit records, newest first, filtered in SQL by enterprise
    (id or credit code), severity and whether an admin has cleared them: one
    enterprise's on ``ix_credit_record_enterprise``, those in force or the
    cleared ones on their partial indexes, all on ``ix_credit_record_created``
    (a severity filter reads along the index: a record is one of two)."""
    if severity is not None and severity not in CREDIT_SEVERITIES:
        raise ValidationError("Unknown severity '{severity}'.", field="severity",
                              severity=severity)
    query = select(CreditRecord)
    if enterprise_id is not None:
        query = query.where(CreditRecord.enterprise_id == enterprise_id)
    if credit_code is not None:
        query = query.where(CreditRecord.enterprise_id == select(Enterprise.id).where(
            Enterprise.credit_code == credit_code).scalar_subquery())
    if severity:
        query = query.where(CreditRecord.severity == severity)
    if cleared is True:
        query = query.where(CreditRecord.cleared_at.is_not(None))
    elif cleared is False:
        query = query.where(CreditRecord.cleared_at.is_(None))
    return paging.fetch(session, query, CREDIT_ORDER, cursor=cursor, limit=limit,
                        options=(joinedload(CreditRecord.enterprise),))


def enterprise_of_filter(session: Session, enterprise_id: int | None,
                         credit_code: str | None) -> Enterprise | None:
    """The enterprise a filter of the credit records names (for the page to show)."""
    if credit_code is not None:
        return session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))
    return session.get(Enterprise, enterprise_id) if enterprise_id is not None else None


def _require_clean_credit(session: Session, project: Project, what: str) -> None:
    if has_serious_record(session, project.enterprise_id):
        raise NotPermitted(
            "{name} has an uncleared serious credit record (严重失信) and may "
            "not use {what} until an admin clears it.", enterprise=project.enterprise_id,
            name=project.enterprise.name, what=what)


def _add_credit(session: Session, project: Project, *, severity: str, source: str, reason: str,
                reference: str | None, actor: User | None, now: datetime,
                task: ItemTask | None = None) -> CreditRecord:
    record = CreditRecord(enterprise_id=project.enterprise_id, project_id=project.id,
                          severity=severity, source=source, reason=reason, reference=reference,
                          created_by_id=actor.id if actor is not None else None,
                          created_at=ops.utc(now))
    session.add(record)
    ops.flush(session)
    entry = _record(session, project, "credit.recorded", actor=actor, now=now, task=task,
                    data={"record": record.id, "severity": severity, "source": source,
                          "reason": reason, "reference": reference})
    what = "严重失信记录" if severity == "serious" else "信用记录（一般）"
    consequence = "在管理员清除前，贵单位不得适用承诺制和容缺受理。" if severity == "serious" else ""
    _tell(session, notify.enterprise_users(session, project), "credit_recorded",
          f"【信用记录】{project.enterprise.name}",
          f"因{reason}，贵单位被记入{what}。{consequence}", now=now,
          key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    return record


def clear_credit_record(session: Session, record_id: int, *, actor: User, now: datetime,
                        note: str) -> CreditRecord:
    """An admin clears a credit record (信用修复) with a note; an enterprise
    with no serious record left may use commitments and 容缺 again."""
    if not permissions.can_clear_credit(actor):
        raise NotPermitted("{user} may not clear credit records.", user=actor.username)
    note = (note or "").strip()
    if not note:
        raise ValidationError("A note on why the record is cleared is required.", field="note")
    project_id = session.scalar(select(CreditRecord.project_id).where(CreditRecord.id == record_id))
    record = session.get(CreditRecord, record_id)
    if record is None:
        raise NotFound("Credit record {record} does not exist.", record=record_id)
    project = ops.lock_project(session, project_id) if project_id is not None else None
    session.refresh(record, with_for_update=True)
    if record.cleared_at is not None:
        raise Conflict("This credit record was already cleared.")
    record.cleared_by_id, record.cleared_at, record.clear_note = actor.id, ops.utc(now), note
    if project is not None:
        _record(session, project, "credit.cleared", actor=actor, now=now,
                data={"record": record.id, "severity": record.severity, "note": note})
    ops.flush(session)
    return record

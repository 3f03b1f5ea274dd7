"""The append-only audit log, hash-chained per project.

Each event's hash covers its content and the previous event's hash; the
project row keeps the head (last sequence number and hash) under the same
row lock the operation already holds. An edited event breaks its own hash, a
deleted one breaks the sequence or the next event's link, and a deleted tail
no longer matches the head.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core.models import AuditEvent, ItemTask, Project
from workflow.kernel import paging
from workflow.kernel.models import User
from workflow.kernel.zone_audit import GENESIS, chain_hash, jsonable, utc_text


def event_hash(event: AuditEvent) -> str:
    body = {
        "project": event.project_id,
        "seq": event.seq,
        "at": utc_text(event.at),
        "actor": event.actor_id,
        "action": event.action,
        "task": event.task_id,
        "from": event.from_state,
        "to": event.to_state,
        "data": event.data,
        "public": bool(event.public),
        "prev": event.prev_hash,
    }
    return chain_hash(body)


def record(
    session: Session,
    project: Project,
    *,
    actor: User | None,
    now: datetime,
    action: str,
    task: ItemTask | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    data: dict[str, Any] | None = None,
    public: bool = False,
) -> AuditEvent:
    """Append one event to ``project``'s chain. The caller holds the project's
    row lock (every operation takes it first), so sequence numbers never race."""
    if project.id is None or (task is not None and task.id is None):
        session.flush()
    event = AuditEvent(
        project_id=project.id,
        seq=project.audit_seq + 1,
        at=now.astimezone(UTC),
        actor_id=actor.id if actor is not None else None,
        action=action,
        task_id=task.id if task is not None else None,
        from_state=from_state,
        to_state=to_state,
        data=jsonable(data or {}),
        public=public,
        prev_hash=project.audit_head or GENESIS,
    )
    event.hash = event_hash(event)
    project.audit_seq = event.seq
    project.audit_head = event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class Finding:
    project_code: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f" event #{self.seq}" if self.seq is not None else ""
        return f"{self.project_code}{where}: {self.problem}"


def verify(session: Session, project_codes: Iterable[str] | None = None) -> list[Finding]:
    """Walk every project's chain (or the named ones) and report each break.

    Projects and events are read in batches (keyset pages), so memory stays
    bounded however long the chains are; the time grows with them, which is
    why the audit page checks only what it shows (``verify_shown``) and walks
    the whole chain on demand."""
    query = select(Project)
    if project_codes is not None:
        query = query.where(Project.code.in_(list(project_codes)))
    findings: list[Finding] = []
    for project in paging.pages_of(session, query, _PROJECTS, batch=100):
        findings.extend(_verify_project(session, project))
    return findings


_PROJECTS = paging.Order.by("audit-projects", paging.Key(Project.id, int))
_CHAIN = paging.Order.by("audit-chain", paging.Key(AuditEvent.seq, int))


def _verify_project(session: Session, project: Project) -> list[Finding]:
    events = paging.pages_of(session, select(AuditEvent).where(AuditEvent.project_id == project.id),
                             _CHAIN, batch=1000)
    findings: list[Finding] = []
    expected_seq, prev, last = 1, GENESIS, None
    for event in events:
        if event.seq != expected_seq:
            missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else \
                f"#{expected_seq}–#{event.seq - 1}"
            findings.append(Finding(project.code, event.seq,
                                    f"event {missing} before it was deleted"))
        elif event.prev_hash != prev:
            findings.append(Finding(project.code, event.seq,
                                    "link to the previous event is broken"))
        if event_hash(event) != event.hash:
            findings.append(Finding(project.code, event.seq,
                                    f"was edited after it was recorded ({event.action})"))
        expected_seq, prev, last = event.seq + 1, event.hash, event
    findings.extend(_head_findings(project, last))
    return findings


def _head_findings(project: Project, last: AuditEvent | None) -> list[Finding]:
    """The chain's last event against the head the project row keeps."""
    last_seq = last.seq if last is not None else 0
    if project.audit_seq != last_seq or (last is not None and project.audit_head != last.hash):
        return [Finding(
            project.code, None,
            f"the chain ends at #{last_seq} but the project's head says #{project.audit_seq}"
            " (events at the end were deleted or the head was altered)",
        )]
    return []


def verify_shown(session: Session, project: Project, seqs: Collection[int]) -> list[Finding]:
    """Check the events ``seqs`` of ``project``'s chain (a page of it) and the
    chain's head: each event's own hash, its links to the events just before
    and after it, and the last event of the chain against the head the
    project row keeps (the same tests as ``verify``, where they apply).

    It reads the shown events with their neighbours (one statement, at most
    three rows per event) and the last event (one more), so a page of a chain
    of decades costs what a page of a new one does. It does not prove the
    events between the page and the head untouched, nor those on other pages:
    ``verify`` walks the whole chain for that."""
    shown = sorted(set(seqs))
    wanted = sorted({n for s in shown for n in (s - 1, s, s + 1) if n >= 1})
    by_seq = {e.seq: e for e in session.scalars(
        select(AuditEvent).where(AuditEvent.project_id == project.id,
                                 AuditEvent.seq.in_(wanted)))} if wanted else {}
    last = session.scalar(select(AuditEvent).where(AuditEvent.project_id == project.id)
                          .order_by(AuditEvent.seq.desc()).limit(1))
    findings: list[Finding] = []
    for seq in shown:
        event = by_seq.get(seq)
        if event is None:
            continue  # gone since the page was read; the head check or a neighbour tells
        before = by_seq.get(seq - 1)
        if seq > 1 and before is None:
            findings.append(Finding(project.code, seq, f"event #{seq - 1} before it was deleted"))
        elif event.prev_hash != (before.hash if before is not None else GENESIS):
            findings.append(Finding(project.code, seq, "link to the previous event is broken"))
        if event_hash(event) != event.hash:
            findings.append(Finding(project.code, seq,
                                    f"was edited after it was recorded ({event.action})"))
        after = by_seq.get(seq + 1)
        if seq + 1 in shown:
            continue  # checked as that event's link to its previous one
        if after is not None and after.prev_hash != event.hash:
            findings.append(Finding(project.code, seq + 1, "link to the previous event is broken"))
        elif after is None and last is not None and last.seq > seq:
            findings.append(Finding(project.code, seq, f"event #{seq + 1} after it was deleted"))
    if last is not None and last.seq not in shown and event_hash(last) != last.hash:
        findings.append(Finding(project.code, last.seq,
                                f"was edited after it was recorded ({last.action})"))
    findings.extend(_head_findings(project, last))
    return findings

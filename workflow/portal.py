"""What an enterprise (企业) sees of its projects: named queries for the portal.

Only public things leave here: audit events marked ``public``, public
comments, the enterprise's own files, and the open materials requests
(一次性告知) it has to answer. Access to the project itself is checked by the
caller (``permissions.can_view_project``) before any of these run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workflow.errors import NotFound, ValidationError
from workflow.models import (
    Attachment,
    AuditEvent,
    Comment,
    ItemTask,
    MaterialRequest,
    Project,
    User,
)

# A project's items in the order a progress bar shows them: finished first,
# then what is with the department, with the agent, with the enterprise, waiting.
PROGRESS_ORDER = ("done", "covered", "approved", "submitted", "returned", "in_progress",
                  "assigned", "awaiting_enterprise", "ready", "suspended", "blocked",
                  "terminated")


def enterprise_projects(session: Session, user: User) -> list[Project]:
    """The projects of ``user``'s enterprise, newest first (none without one)."""
    if user.role != "enterprise" or user.enterprise_id is None:
        return []
    return list(session.scalars(
        select(Project).where(Project.enterprise_id == user.enterprise_id)
        .options(selectinload(Project.tasks))
        .order_by(Project.created_at.desc(), Project.id.desc())))


def open_request_counts(session: Session, project_ids: Sequence[int]) -> dict[int, int]:
    """How many materials requests are open, per project."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(ItemTask.project_id, func.count(MaterialRequest.id))
        .join(ItemTask, ItemTask.id == MaterialRequest.task_id)
        .where(ItemTask.project_id.in_(project_ids), MaterialRequest.fulfilled_at.is_(None))
        .group_by(ItemTask.project_id))
    return {project_id: count for project_id, count in rows}


def open_requests(session: Session, project: Project) -> list[MaterialRequest]:
    """The project's open materials requests, earliest deadline first."""
    return list(session.scalars(
        select(MaterialRequest).join(ItemTask, ItemTask.id == MaterialRequest.task_id)
        .where(ItemTask.project_id == project.id, MaterialRequest.fulfilled_at.is_(None))
        .order_by(MaterialRequest.deadline, MaterialRequest.id)))


def request_of(session: Session, project: Project, request_id: int) -> MaterialRequest:
    """An open materials request of ``project``; another project's is NotFound
    (its existence must not leak), an answered one is a ValidationError."""
    row = session.get(MaterialRequest, request_id)
    task_project = (session.scalar(select(ItemTask.project_id).where(ItemTask.id == row.task_id))
                    if row is not None else None)
    if row is None or task_project != project.id:
        raise NotFound(f"Materials request {request_id} is not part of project {project.code}.")
    if row.fulfilled_at is not None:
        raise ValidationError("These materials were already marked as supplied.")
    return row


def enterprise_files(session: Session, project: Project) -> list[Attachment]:
    """Files the project's enterprise uploaded itself, oldest first."""
    return list(session.scalars(
        select(Attachment).join(User, User.id == Attachment.uploaded_by_id)
        .where(Attachment.project_id == project.id, User.role == "enterprise",
               User.enterprise_id == project.enterprise_id)
        .order_by(Attachment.id)))


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the public timeline: an audit event or a public comment."""

    at: datetime
    action: str  # the audit action; "comment.added" for comments
    task_id: int | None
    actor: User | None
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] | None = None
    body: str | None = None  # a comment's text


def public_timeline(session: Session, project: Project, limit: int = 300) -> list[TimelineEntry]:
    """Public audit events and public comments, newest first. The comment's own
    event is replaced by the comment (with its text)."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.project_id == project.id,
                                 AuditEvent.public.is_(True),
                                 AuditEvent.action != "comment.added")
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.seq.desc()).limit(limit))
    comments = session.scalars(
        select(Comment).where(Comment.project_id == project.id, Comment.public.is_(True))
        .options(joinedload(Comment.author))
        .order_by(Comment.id.desc()).limit(limit))
    entries = [TimelineEntry(at=e.at, action=e.action, task_id=e.task_id, actor=e.actor,
                             from_state=e.from_state, to_state=e.to_state, data=e.data)
               for e in events]
    entries += [TimelineEntry(at=c.created_at, action="comment.added", task_id=c.task_id,
                              actor=c.author, body=c.body) for c in comments]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]


@dataclass(frozen=True)
class Progress:
    """How far a project's items are: closed (done or covered) of all, and the
    count per state in ``PROGRESS_ORDER``."""

    total: int
    closed: int
    by_state: tuple[tuple[str, int], ...]

    @property
    def percent(self) -> int:
        return round(100 * self.closed / self.total) if self.total else 0


def progress_of(tasks: Iterable[ItemTask]) -> Progress:
    counts = Counter(t.state for t in tasks)
    by_state = tuple((s, counts[s]) for s in PROGRESS_ORDER if counts[s])
    return Progress(total=sum(counts.values()), closed=counts["done"] + counts["covered"],
                    by_state=by_state)

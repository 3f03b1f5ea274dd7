"""What an enterprise (企业) sees of its projects: named queries for the portal.

Only public things leave here: audit events marked ``public``, public
comments, the enterprise's own files, and the open materials requests
(一次性告知) it has to answer. Access to the project itself is checked by the
caller (``permissions.can_view_project``) before any of these run.

Every list is a keyset page (``workflow.kernel.paging``) on an index declared on its
model, so an enterprise with hundreds of projects, or a project carried for
decades, costs one page per view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from workflow.core.models import Attachment, AuditEvent, Comment, ItemTask, MaterialRequest, Project
from workflow.kernel import paging
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import User
from workflow.kernel.paging import Key, Order, Page

# A project's items in the order a progress bar shows them: finished first,
# then what is with the department, with the agent, with the enterprise, waiting.
PROGRESS_ORDER = ("done", "covered", "approved", "on_hold", "accepted", "submitted", "returned",
                  "in_progress",
                  "assigned", "awaiting_enterprise", "ready", "suspended", "blocked",
                  "terminated")


# The enterprise's projects, newest first (``ix_project_enterprise_created``).
PROJECTS = Order.by("portal-projects", Key(Project.created_at, datetime, descending=True),
                    Key(Project.id, int, descending=True))
# A project's open requests, earliest deadline first (``ix_material_request_open_task``).
OPEN_REQUESTS = Order.by("portal-requests", Key(MaterialRequest.deadline, date),
                         Key(MaterialRequest.id, int))
# The enterprise's own files, newest first (``ix_attachment_project_id_id``).
FILES = Order.by("portal-files", Key(Attachment.id, int, descending=True))
# The public timeline, newest first (``ix_audit_event_public``).
TIMELINE = Order.by("timeline", Key(AuditEvent.seq, int, descending=True))

# How many of the files answering a request are listed under it (the rest
# are in the files list).
FILES_PER_REQUEST = 20


def enterprise_projects(session: Session, user: User, *, cursor: str | None = None,
                        limit: int | None = None) -> Page[Project]:
    """A page of the projects of ``user``'s enterprise, newest first (none
    without an enterprise); their items' figures come from ``progress_for``."""
    if user.role != "enterprise" or user.enterprise_id is None:
        return Page(rows=[], limit=paging.check_limit(limit))
    return paging.fetch(session, select(Project).where(Project.enterprise_id == user.enterprise_id),
                        PROJECTS, cursor=cursor, limit=limit)


def progress_for(session: Session, project_ids: Sequence[int]) -> dict[int, Progress]:
    """Each project's ``Progress``, for a page of projects: one GROUP BY over
    their tasks by state, not the tasks themselves."""
    found: dict[int, Counter] = {}
    if project_ids:
        for project_id, state, n in session.execute(
                select(ItemTask.project_id, ItemTask.state, func.count(ItemTask.id))
                .where(ItemTask.project_id.in_(sorted(set(project_ids))))
                .group_by(ItemTask.project_id, ItemTask.state)):
            found.setdefault(project_id, Counter())[state] = n
    return {project_id: _progress(counts) for project_id, counts in found.items()}


def open_request_counts(session: Session, project_ids: Sequence[int]) -> dict[int, int]:
    """How many materials requests are open, per project (for a page of
    projects: one GROUP BY over their tasks' open requests)."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(ItemTask.project_id, func.count(MaterialRequest.id))
        .join(ItemTask, ItemTask.id == MaterialRequest.task_id)
        .where(ItemTask.project_id.in_(sorted(set(project_ids))),
               MaterialRequest.fulfilled_at.is_(None))
        .group_by(ItemTask.project_id))
    return {project_id: count for project_id, count in rows}


def open_requests(session: Session, project: Project, *, cursor: str | None = None,
                  limit: int | None = None) -> Page[MaterialRequest]:
    """A page of the project's open materials requests, earliest deadline first."""
    query = (select(MaterialRequest).join(ItemTask, ItemTask.id == MaterialRequest.task_id)
             .where(ItemTask.project_id == project.id, MaterialRequest.fulfilled_at.is_(None)))
    return paging.fetch(session, query, OPEN_REQUESTS, cursor=cursor, limit=limit)


def request_of(session: Session, project: Project, request_id: int) -> MaterialRequest:
    """An open materials request of ``project``; another project's is NotFound
    (its existence must not leak), an answered one is a ValidationError."""
    row = session.get(MaterialRequest, request_id)
    task_project = (session.scalar(select(ItemTask.project_id).where(ItemTask.id == row.task_id))
                    if row is not None else None)
    if row is None or task_project != project.id:
        raise NotFound("Materials request {request} is not part of project {project}.",
                       request=request_id, project=project.code)
    if row.fulfilled_at is not None:
        raise ValidationError("These materials were already marked as supplied.")
    return row


def _uploaded_by_enterprise(project: Project):
    return (User.id == Attachment.uploaded_by_id, (Attachment.project_id == project.id,
                                                  User.role == "enterprise",
                                                  User.enterprise_id == project.enterprise_id))


def enterprise_files(session: Session, project: Project, *, cursor: str | None = None,
                     limit: int | None = None) -> Page[Attachment]:
    """A page of the files the project's enterprise uploaded itself, newest first."""
    on, where = _uploaded_by_enterprise(project)
    return paging.fetch(session, select(Attachment).join(User, on).where(*where), FILES,
                        cursor=cursor, limit=limit)


def request_files(session: Session, project: Project, requests: Iterable[MaterialRequest],
                  per_task: int = FILES_PER_REQUEST) -> dict[int, list[Attachment]]:
    """The enterprise's latest files of each requested task (at most
    ``per_task + 1`` each, newest first: one more than shown says there are
    more), in one statement for a page of requests."""
    task_ids = sorted({r.task_id for r in requests})
    if not task_ids:
        return {}
    on, where = _uploaded_by_enterprise(project)
    ranked = (select(Attachment.id.label("id"),
                     func.row_number().over(partition_by=Attachment.task_id,
                                            order_by=Attachment.id.desc()).label("n"))
              .join(User, on).where(*where, Attachment.task_id.in_(task_ids)).subquery())
    found: dict[int, list[Attachment]] = {task_id: [] for task_id in task_ids}
    for row in session.scalars(select(Attachment).join(ranked, ranked.c.id == Attachment.id)
                               .where(ranked.c.n <= per_task + 1)
                               .order_by(Attachment.task_id, Attachment.id.desc())):
        found[row.task_id].append(row)
    return found


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


def public_timeline(session: Session, project: Project, *, cursor: str | None = None,
                    limit: int | None = None) -> Page[TimelineEntry]:
    """A page of the public audit events, newest first, a public comment's
    event shown as the comment (with its text): every comment is recorded
    with an event of the same visibility that names it, so the events alone
    give the order and the page's comments are read by id."""
    query = select(AuditEvent).where(AuditEvent.project_id == project.id,
                                     AuditEvent.public)  # ``public`` as ix_audit_event_public says it
    page = paging.fetch(session, query, TIMELINE, cursor=cursor, limit=limit,
                        options=(joinedload(AuditEvent.actor),))
    ids = sorted({_comment_id(e) for e in page.rows} - {None})
    comments = {c.id: c for c in session.scalars(
        select(Comment).where(Comment.id.in_(ids), Comment.project_id == project.id,
                              Comment.public.is_(True))
        .options(joinedload(Comment.author)))} if ids else {}
    entries = []
    for event in page.rows:
        if event.action != "comment.added":
            entries.append(TimelineEntry(at=event.at, action=event.action, task_id=event.task_id,
                                         actor=event.actor, from_state=event.from_state,
                                         to_state=event.to_state, data=event.data))
        elif (comment := comments.get(_comment_id(event))) is not None:
            entries.append(TimelineEntry(at=comment.created_at, action="comment.added",
                                         task_id=comment.task_id, actor=comment.author,
                                         body=comment.body))
    page.rows = entries
    return page


def _comment_id(event: AuditEvent) -> int | None:
    if event.action != "comment.added" or not isinstance(event.data, dict):
        return None
    value = event.data.get("comment")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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
    return _progress(Counter(t.state for t in tasks))


def _progress(counts: Counter) -> Progress:
    by_state = tuple((s, counts[s]) for s in PROGRESS_ORDER if counts[s])
    return Progress(total=sum(counts.values()), closed=counts["done"] + counts["covered"],
                    by_state=by_state)

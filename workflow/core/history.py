"""A project's history for the staff pages, a page at a time: its audit
events (the chain, either way, or one task's), its comments and files, and
the lists of the task page (comments, materials requests, extension
requests, files, the latest history).

Each list is a keyset page (``workflow.kernel.paging``) on an index declared on its
model: a project's chain on ``uq_audit_event_project_id`` (project, seq), a
task's events on ``ix_audit_event_task_id_seq``, comments and files on their
(project, id) and (task, id) indexes, the task's requests on (task, id).
Newest first, except the chain, which also reads oldest first (from the
genesis event, as an auditor walks it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflow.core.models import (
    Attachment,
    AuditEvent,
    Comment,
    ExtensionRequest,
    ItemTask,
    MaterialRequest,
    Project,
)
from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.paging import Key, Order, Page

# Within one project (or one task, which belongs to one project) the sequence
# number is unique: it ends the keyset.
AUDIT_NEWEST = Order.by("audit", Key(AuditEvent.seq, int, descending=True))
AUDIT_OLDEST = Order.by("audit-oldest", Key(AuditEvent.seq, int))
AUDIT_ORDERS = {"newest": AUDIT_NEWEST, "oldest": AUDIT_OLDEST}

COMMENTS = Order.by("comments", Key(Comment.id, int, descending=True))
FILES = Order.by("files", Key(Attachment.id, int, descending=True))
MATERIAL_REQUESTS = Order.by("requests", Key(MaterialRequest.id, int, descending=True))
EXTENSIONS = Order.by("extensions", Key(ExtensionRequest.id, int, descending=True))

# How many events of its history the task page shows (the rest: the audit
# page filtered to the task).
TASK_HISTORY = 20


def audit_order(value: str | None) -> str:
    """The audit page's direction (``newest`` first by default, or ``oldest``)."""
    value = (value or "newest").strip()
    if value not in AUDIT_ORDERS:
        raise ValidationError("Unknown order '{order}'; choose newest or oldest.",
                              field="order", order=value[:40])
    return value


def task_of(project: Project, task_id: int | None) -> ItemTask | None:
    """The task ``task_id`` among ``project``'s, for the audit page's filter;
    ``None`` when not given. A task of another project is refused."""
    if task_id is None:
        return None
    task = next((t for t in project.tasks if t.id == task_id), None)
    if task is None:
        raise ValidationError("Task {task} is not part of project {project}.",
                              field="task", task=task_id, project=project.code)
    return task


def audit_page(session: Session, project: Project, *, task: ItemTask | None = None,
               order: str = "newest", cursor: str | None = None,
               limit: int | None = None) -> Page[AuditEvent]:
    """A page of ``project``'s audit events (only ``task``'s when given) by
    sequence number, newest first or oldest first, with their actors."""
    if task is not None:
        # The task's own index: the task already pins the project.
        query = select(AuditEvent).where(AuditEvent.task_id == task.id)
    else:
        query = select(AuditEvent).where(AuditEvent.project_id == project.id)
    return paging.fetch(session, query, AUDIT_ORDERS[audit_order(order)], cursor=cursor,
                        limit=limit, options=(joinedload(AuditEvent.actor),))


def project_comments(session: Session, project: Project, *, cursor: str | None = None,
                     limit: int | None = None) -> Page[Comment]:
    """A page of the project's comments, newest first (``ix_comment_project_id_id``)."""
    return paging.fetch(session, select(Comment).where(Comment.project_id == project.id),
                        COMMENTS, cursor=cursor, limit=limit,
                        options=(joinedload(Comment.author),))


def project_files(session: Session, project: Project, *, cursor: str | None = None,
                  limit: int | None = None) -> Page[Attachment]:
    """A page of the project's files, newest first (``ix_attachment_project_id_id``)."""
    return paging.fetch(session, select(Attachment).where(Attachment.project_id == project.id),
                        FILES, cursor=cursor, limit=limit)


def task_comments(session: Session, task: ItemTask, *, cursor: str | None = None,
                  limit: int | None = None) -> Page[Comment]:
    """A page of the task's comments, newest first (``ix_comment_task_id_id``)."""
    return paging.fetch(session, select(Comment).where(Comment.task_id == task.id),
                        COMMENTS, cursor=cursor, limit=limit,
                        options=(joinedload(Comment.author),))


def task_files(session: Session, task: ItemTask, *, cursor: str | None = None,
               limit: int | None = None) -> Page[Attachment]:
    """A page of the task's files, newest first (``ix_attachment_task_id_id``)."""
    return paging.fetch(session, select(Attachment).where(Attachment.task_id == task.id),
                        FILES, cursor=cursor, limit=limit)


def task_material_requests(session: Session, task: ItemTask, *, cursor: str | None = None,
                           limit: int | None = None) -> Page[MaterialRequest]:
    """A page of the task's materials requests, newest first
    (``ix_material_request_task_id_id``)."""
    return paging.fetch(session, select(MaterialRequest).where(MaterialRequest.task_id == task.id),
                        MATERIAL_REQUESTS, cursor=cursor, limit=limit)


def task_extensions(session: Session, task: ItemTask, *, cursor: str | None = None,
                    limit: int | None = None) -> Page[ExtensionRequest]:
    """A page of the task's extension requests, newest first
    (``ix_extension_request_task_id_id``)."""
    return paging.fetch(session, select(ExtensionRequest).where(ExtensionRequest.task_id == task.id),
                        EXTENSIONS, cursor=cursor, limit=limit)


def task_history(session: Session, task: ItemTask, limit: int = TASK_HISTORY) -> Page[AuditEvent]:
    """The task's latest ``limit`` events, newest first; ``next`` is set when
    there are older ones (the audit page filtered to the task shows them)."""
    return paging.fetch(session, select(AuditEvent).where(AuditEvent.task_id == task.id),
                        AUDIT_NEWEST, limit=limit, options=(joinedload(AuditEvent.actor),))

"""The periodic reminder of the intention ledger (``sweep``): the leader of
an intention nobody contacted for ``STALE_AFTER_DAYS`` days is told once per
silence."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from workflow.core import notify
from workflow.core.models import Notification, Project
from workflow.core.operations import zone_today
from workflow.kernel import paging
from workflow.kernel.models import User
from workflow.kernel.moments import aware, stored_day
from workflow.reforms.intentions.ledger_pages import (
    OPEN,
    STALE_AFTER_DAYS,
    _is_open,
    _lit,
    _zone_midnight,
    silent_before,
)
from workflow.reforms.intentions.models import FollowUp

SWEEP_BATCH = 500


def sweep(session: Session, *, now: datetime, batch: int = SWEEP_BATCH) -> list[str]:
    """Remind the leader of every intention nobody contacted for more than
    ``STALE_AFTER_DAYS`` days, once per silence: a reminder is not repeated
    until a new contact is recorded and goes stale again.

    Only the silent intentions of active leaders are read (``silent_before``,
    in SQL), ``batch`` at a time in the ledger's order, each batch with one
    look-up of the reminders already sent (``ix_notification_intention_stale``)."""
    today = zone_today(now)
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    last = (select(func.max(FollowUp.contacted_on)).where(FollowUp.project_id == Project.id)
            .scalar_subquery())
    query = (select(Project, last.label("last_contact"))
             .join(User, User.id == Project.lead_id)
             .where(_is_open(), User.active.is_(True), silent_before(cutoff)))
    rows = paging.pages_of(session, query, OPEN, batch=batch, options=(contains_eager(Project.lead),))
    recorded = []
    while chunk := list(islice(rows, batch)):
        sent = _last_reminded(session, [row[0].id for row in chunk])
        for project, last_contact, *_ in chunk:
            since = last_contact or stored_day(project.created_at)
            if since >= cutoff:
                continue
            reminded = sent.get(project.id)
            if reminded is not None and aware(reminded) >= _zone_midnight(since + timedelta(days=1)):
                continue  # already reminded of this silence
            key = f"intention-stale:{project.id}:{since.isoformat()}"
            notify.tell(session, [project.lead], notify.Message(
                "intention_stale", f"【意向跟进提醒】{project.name}",
                f"意向项目「{project.name}」自 {since.isoformat()} 以来已超过 {STALE_AFTER_DAYS} 天未跟进，"
                "请及时联系企业并记录观望原因和企业要求。"), now=now, key=key, project=project)
            recorded.append(f"intention {project.code}: no contact since {since.isoformat()}, "
                            f"{project.lead.username} reminded")
        session.flush()
    return recorded


def _last_reminded(session: Session, project_ids: list[int]) -> dict[int, datetime]:
    """When each project's last stale reminder was sent (if ever)."""
    return dict(session.execute(
        select(Notification.project_id, func.max(Notification.created_at))
        .where(Notification.kind == _lit("intention_stale"),
               Notification.project_id.in_(sorted(set(project_ids))))
        .group_by(Notification.project_id)).all())

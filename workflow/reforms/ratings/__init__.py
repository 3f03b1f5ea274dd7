"""好差评: the enterprise rates the agency service, and a bad rating is followed up.

When an item is done or covered — or the whole project is completed or every
item closed — the enterprise's users rate the service once each, on five
levels, with a comment (required for a bad rating). A bad rating
(dissatisfied, very dissatisfied) opens a ``Rectification`` for the project's
lead handler with a deadline in working days; the lead answers it in writing,
which closes it. ``sweep`` reports an overdue rectification once, to its owner
and the supervisors.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import audit, notify, permissions, staffnotices
from workflow.core import operations as ops
from workflow.core.models import AuditEvent, ItemTask, Project
from workflow.kernel import clock, validate
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
    term,
)
from workflow.kernel.models import GroupMembership, User
from workflow.reforms.ratings.lifecycle import RECTIFICATIONS
from workflow.reforms.ratings.models import RATING_LEVELS, Rating, Rectification

BAD_LEVELS = ("dissatisfied", "very_dissatisfied")
LEVEL_NAMES = {"very_satisfied": "非常满意", "satisfied": "满意", "basically_satisfied": "基本满意",
               "dissatisfied": "不满意", "very_dissatisfied": "非常不满意"}
DEFAULT_RECTIFY_DAYS = 5
CLOSED_OK = ("done", "covered")
CLOSED_ALL = ("done", "covered", "terminated")
# Stages from which the project as a whole may be rated (竣工 and after).
RATABLE_FROM = "completed"
MAX_TEXT = 2000


_text = partial(validate.text, limit=MAX_TEXT)


def project_ratable(project: Project) -> bool:
    """The project is completed or beyond, or every item is closed."""
    definition = ops.definition_for(project)
    stage, start = definition.stages.get(project.stage), definition.stages.get(RATABLE_FROM)
    if stage is not None and start is not None and not stage.side and stage.order >= start.order:
        return True
    return bool(project.tasks) and all(t.state in CLOSED_ALL for t in project.tasks)


def _already_rated(session: Session, project_id: int, task_id: int | None, user_id: int) -> bool:
    # task_id NULL never collides in a UNIQUE index: check the project rating here.
    query = select(Rating.id).where(Rating.project_id == project_id, Rating.rated_by_id == user_id)
    query = query.where(Rating.task_id.is_(None) if task_id is None else Rating.task_id == task_id)
    return session.scalar(query) is not None


def _leads_of(session: Session, project: Project) -> list[User]:
    """Who answers for the project: its lead handler, else the group's leads."""
    if project.lead is not None and project.lead.active:
        return [project.lead]
    return list(session.scalars(
        select(User).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == project.group_id, User.role == "lead",
               User.active.is_(True)).order_by(User.id)))


def rate(session: Session, project_id: int, *, level: str, comment: str, actor: User,
         now: datetime, task_id: int | None = None,
         rectify_days: int = DEFAULT_RECTIFY_DAYS) -> Rating:
    """Record the enterprise's rating of an item (``task_id``) or of the project.

    Refused for anyone but the project's enterprise, before the item is done or
    covered (or the project completed / every item closed), a second time by
    the same user, and for a bad rating without a comment. A bad rating opens
    a rectification for the lead handler due ``rectify_days`` working days
    later and tells the lead."""
    if level not in RATING_LEVELS:
        raise ValidationError("Unknown rating '{level}'.", field="level", level=level)

    comment = _text(comment, term("comment explaining a bad rating"), required=level in BAD_LEVELS)
    if not isinstance(rectify_days, int) or rectify_days <= 0:
        raise ValidationError("The rectification deadline is a positive number of working days.")
    project = ops.lock_project(session, project_id)
    if not permissions.can_rate(actor, project):
        raise NotPermitted("{user} may not rate project {project}.", user=actor.username,
                           project=project.code)
    task = None
    if task_id is not None:
        task = session.get(ItemTask, task_id)
        if task is None or task.project_id != project.id:
            raise NotFound("Task {task} is not part of project {project}.", task=task_id,
                           project=project.code)
        if task.state not in CLOSED_OK:
            raise InvalidTransition("An item is rated once it is done or covered.",
                                    state=task.state)
    elif not project_ratable(project):
        raise InvalidTransition("The project is rated once it is completed or every item closed.",
                                state=project.stage)
    if _already_rated(session, project.id, task_id, actor.id):
        raise Conflict("You have already rated this.", task=task_id)
    rating = Rating(project_id=project.id, task_id=task_id, level=level, comment=comment,
                    rated_by_id=actor.id, rated_at=ops.utc(now))
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("You have already rated this.", task=task_id) from exc
    entry = audit.record(session, project, actor=actor, now=ops.utc(now),
                         action="rating.recorded", task=task,
                         data={"rating": rating.id, "level": level, "comment": comment})
    _tell_rated(session, project, task, entry, level, comment)
    if level in BAD_LEVELS:
        _open_rectification(session, project, rating, task, now=now, days=rectify_days)
    ops.flush(session)
    return rating


def _tell_rated(session: Session, project: Project, task: ItemTask | None, entry, level: str,
                comment: str) -> None:
    """The agent of a rated item and the lead handler hear of the rating (of a
    bad one the lead hears through the rectification it opens)."""
    what = f"事项「{notify.item_name(project, task.item_code)}」" if task is not None else "项目整体"
    said = f"：{comment}" if comment else ""
    with session.no_autoflush:
        staffnotices.tell_staff(
            session, [task.assignee if task is not None else None,
                      None if level in BAD_LEVELS else project.lead],
            notify.Message("rating_received", f"【企业评价】{project.name}：{LEVEL_NAMES[level]}",
                           f"企业对「{project.name}」（{project.code}）{what}的评价为"
                           f"「{LEVEL_NAMES[level]}」{said}。"),
            entry, project=project, task=task)


def _open_rectification(session: Session, project: Project, rating: Rating, task: ItemTask | None,
                        *, now: datetime, days: int) -> Rectification:
    due = clock.add_working_days(ops.zone_today(now), days).date
    leads = _leads_of(session, project)
    owner = leads[0] if leads else None
    row = Rectification(rating_id=rating.id, project_id=project.id,
                        owner_id=owner.id if owner else None, due_on=due, status="open")
    session.add(row)
    ops.flush(session)
    about = f"事项「{notify.item_name(project, task.item_code)}」" if task is not None else "项目整体"
    audit.record(session, project, actor=None, now=ops.utc(now), action="rectification.opened",
                 task=task, data={"rectification": row.id, "rating": rating.id,
                                  "owner": owner.username if owner else None, "due_on": due})
    message = notify.Message(
        "rectification", f"【差评整改】{project.name}",
        f"企业对项目「{project.name}」（{project.code}）{about}的代办服务评价为"
        f"「{LEVEL_NAMES[rating.level]}」：{rating.comment}\n请于 {due.isoformat()} 前整改并书面答复。")
    notify.tell(session, leads, message, now=now, key=f"rectification:{row.id}", project=project,
                task=task)
    return row


def answer_rectification(session: Session, rectification_id: int, *, response: str, actor: User,
                         now: datetime) -> Rectification:
    """The lead handler answers in writing what was rectified; that closes it
    and the enterprise user who rated is told."""
    response = _text(response, term("response"), required=True)
    row = session.get(Rectification, rectification_id)
    if row is None:
        raise NotFound("Rectification {rectification} does not exist.",
                       rectification=rectification_id)
    project = ops.lock_project(session, row.project_id)
    session.refresh(row, with_for_update=True)
    if not permissions.can_answer_rectification(actor, row.owner_id, project):
        raise NotPermitted("{user} may not answer rectification {rectification}.",
                           user=actor.username, rectification=row.id)
    if row.status != "open":
        raise Conflict("This rectification was already answered and closed.")
    RECTIFICATIONS.fire(row, "close")
    row.response, row.closed_by_id, row.closed_at = response, actor.id, ops.utc(now)
    task = session.get(ItemTask, row.rating.task_id) if row.rating.task_id else None
    audit.record(session, project, actor=actor, now=ops.utc(now), action="rectification.closed",
                 task=task, data={"rectification": row.id, "response": response})
    rater = session.get(User, row.rating.rated_by_id)
    message = notify.Message("rectification_answered", f"【整改答复】{project.name}",
                             f"您对项目「{project.name}」（{project.code}）的评价已整改答复：{response}")
    notify.tell(session, [rater], message, now=now, key=f"rectification:{row.id}:closed",
                project=project, task=task)
    ops.flush(session)
    return row


def _reported_overdue(session: Session, row: Rectification) -> bool:
    events = session.scalars(select(AuditEvent.data).where(
        AuditEvent.project_id == row.project_id, AuditEvent.action == "rectification.overdue"))
    return any((data or {}).get("rectification") == row.id for data in events)


def sweep(session: Session, *, now: datetime) -> list[str]:
    """Report every open rectification past its deadline once: an audit event
    (which is also the record that it was reported) and a message to the
    owner and the supervisors. Running it again records nothing new."""
    today = ops.zone_today(now)
    due = session.scalars(select(Rectification.id).where(
        Rectification.closed_at.is_(None), Rectification.due_on < today)
        .order_by(Rectification.due_on, Rectification.id)).all()
    lines = []
    for rectification_id in due:
        row = session.get(Rectification, rectification_id)
        project = ops.lock_project(session, row.project_id)
        session.refresh(row)
        if row.closed_at is not None or _reported_overdue(session, row):
            continue
        entry = audit.record(session, project, actor=None, now=ops.utc(now),
                             action="rectification.overdue",
                             data={"rectification": row.id, "due_on": row.due_on})
        owner = session.get(User, row.owner_id) if row.owner_id else None
        message = notify.Message(
            "rectification_overdue", f"【整改逾期】{project.name}",
            f"项目「{project.name}」（{project.code}）的差评整改应于 {row.due_on.isoformat()} "
            "前答复，现已逾期。")
        notify.tell(session, [owner, *notify.users_with_role(session, "supervisor")], message,
                    now=now, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"rectification {row.id} of {project.code} overdue since "
                     f"{row.due_on.isoformat()}")
    ops.flush(session)
    return lines


# -- named queries for the pages -----------------------------------------------------------

def ratings_of(session: Session, project_id: int) -> list[Rating]:
    return list(session.scalars(select(Rating).where(Rating.project_id == project_id)
                                .order_by(Rating.rated_at, Rating.id)))


def rectifications_of(session: Session, project_id: int, *, open_only: bool = False) -> list[Rectification]:
    query = select(Rectification).where(Rectification.project_id == project_id)
    if open_only:
        query = query.where(Rectification.closed_at.is_(None))
    return list(session.scalars(query.order_by(Rectification.due_on, Rectification.id)))


def unrated_tasks(session: Session, project: Project, user: User) -> list[ItemTask]:
    """The done or covered items ``user`` has not rated yet."""
    rated = set(session.scalars(select(Rating.task_id).where(
        Rating.project_id == project.id, Rating.rated_by_id == user.id,
        Rating.task_id.is_not(None))))
    return [t for t in project.tasks if t.state in CLOSED_OK and t.id not in rated]


def may_rate_project(session: Session, project: Project, user: User) -> bool:
    return (permissions.can_rate(user, project) and project_ratable(project)
            and not _already_rated(session, project.id, None, user.id))


def get_rectification(session: Session, rectification_id: int) -> Rectification | None:
    return session.get(Rectification, rectification_id)

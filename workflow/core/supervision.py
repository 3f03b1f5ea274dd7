"""Supervision notices (督办单): issued automatically by the 13710 escalation of
the deadline sweep, or by hand by a supervisor; acknowledged by the addressee
the same working day and reported on within 3 working days ("arrange the same
day, report in 3"). A notice stays in the addressee's inbox until the report
closes it, or until the item itself closes.

Like every operation, these take the session, the actor and the time, lock
the project row first (the audit chain's head lives there), write the audit
event and only flush: the caller commits once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflow.core import audit, notify, permissions
from workflow.core.models import CLOSED_STATES, ItemTask, SupervisionNotice
from workflow.core.notify import Message
from workflow.core.operations import flush, load_task, lock_project, utc, zone_today
from workflow.kernel import clock, paging
from workflow.kernel.errors import InvalidTransition, NotFound, NotPermitted, ValidationError
from workflow.kernel.models import User

REPORT_WORKING_DAYS = 3
LEVEL_NAMES = {"lead": "领办人督办", "supervisor": "督查督办", "leadership": "领导督办",
               "manual": "督查督办"}


def ack_due_for(day: date) -> date:
    """Acknowledge the same working day: the issue day, or the next working
    day when it was issued on a weekend or holiday."""
    return clock.roll_forward(day)


def report_due_for(day: date) -> date:
    """Report progress within 3 working days of the issue day (which does not count)."""
    return clock.add_working_days(day, REPORT_WORKING_DAYS).date


def new_notice(session: Session, task: ItemTask, *, level: str, addressee: User,
               issued_by: User | None, reason: str, now: datetime, actor: User | None = None,
               reminder_id: int | None = None) -> SupervisionNotice:
    """Write a notice and its audit event; the caller holds the project's lock
    and tells the people concerned. ``issued_by`` is whose name the notice
    bears (the lead handler for the automatic 3-day step), ``actor`` who
    actually issued it (None: the sweep)."""
    today = zone_today(now)
    notice = SupervisionNotice(
        task_id=task.id, project_id=task.project_id, level=level, reminder_id=reminder_id,
        issued_by_id=issued_by.id if issued_by else None, addressee_id=addressee.id,
        reason=reason, issued_at=utc(now), ack_due=ack_due_for(today),
        report_due=report_due_for(today))
    session.add(notice)
    flush(session)
    audit.record(session, task.project, actor=actor, now=utc(now), action="notice.issued",
                 task=task, data={"notice": notice.id, "level": level, "reason": reason,
                                  "addressee": addressee.username,
                                  "issued_by": issued_by.username if issued_by else None,
                                  "ack_due": notice.ack_due, "report_due": notice.report_due})
    return notice


def notice_message(notice: SupervisionNotice, task: ItemTask) -> Message:
    project = task.project
    item = notify.item_name(project, task.item_code)
    return Message(
        "notice", f"【{LEVEL_NAMES[notice.level]}】{item}（{project.code}）",
        f"项目「{project.name}」（{project.code}）的事项「{item}」：{notice.reason}\n"
        f"请于 {notice.ack_due.isoformat()} 当日签收，{notice.report_due.isoformat()} 前报告办理进展。")


def issue_notice(session: Session, task_id: int, actor: User, reason: str,
                 now: datetime) -> SupervisionNotice:
    """A supervisor issues a 督办 by hand on an open item: addressed to its
    assignee, or to the project's lead handler while nobody has claimed it."""
    if not permissions.can_issue_notice(actor):
        raise NotPermitted("{user} ({role}) may not issue a supervision notice.",
                           user=actor.username, role=actor.role)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("A supervision notice needs a reason.", field="reason")
    task = load_task(session, task_id)
    if task.state in CLOSED_STATES or task.state == "blocked":
        raise InvalidTransition("Task {task} is {state}: only open items can be supervised.",
                                state=task.state, task=task.id)
    project = task.project
    addressee = task.assignee or project.lead
    if addressee is None:
        raise ValidationError("Nobody to address: the item is unassigned and the project has no "
                              "lead handler.")
    notice = new_notice(session, task, level="manual", addressee=addressee, issued_by=actor,
                        reason=reason, now=now, actor=actor)
    notify.tell(session, [addressee], notice_message(notice, task), now=now,
                key=f"notice:{notice.id}", project=project, task=task)
    if project.lead is not None and project.lead.id != addressee.id:
        item = notify.item_name(project, task.item_code)
        notify.tell(session, [project.lead], Message(
            "escalation", f"【督查督办】{item}（{project.code}）",
            f"督查人员 {actor.display_name} 就项目「{project.name}」的事项「{item}」向 "
            f"{addressee.display_name} 签发了督办单：{reason}"),
            now=now, key=f"notice:{notice.id}:lead", project=project, task=task)
    flush(session)
    return notice


def _load_for_answer(session: Session, notice_id: int, actor: User) -> SupervisionNotice:
    project_id = session.scalar(select(SupervisionNotice.project_id)
                                .where(SupervisionNotice.id == notice_id))
    if project_id is None:
        raise NotFound("Supervision notice {notice} does not exist.", notice=notice_id)
    lock_project(session, project_id)
    notice = session.get(SupervisionNotice, notice_id, with_for_update=True, populate_existing=True)
    if not permissions.can_answer_notice(actor, notice.addressee_id):
        raise NotPermitted("{user} may not answer supervision notice {notice}: only its addressee "
                           "can.", notice=notice_id, user=actor.username)
    if notice.closed_at is not None:
        raise InvalidTransition("Supervision notice {notice} is already closed.", notice=notice_id)
    return notice


def acknowledge_notice(session: Session, notice_id: int, actor: User,
                       now: datetime) -> SupervisionNotice:
    """The addressee signs for the notice (签收)."""
    notice = _load_for_answer(session, notice_id, actor)
    if notice.acknowledged_at is not None:
        raise InvalidTransition("Supervision notice {notice} was already acknowledged.",
                                notice=notice_id)
    notice.acknowledged_at = utc(now)
    audit.record(session, notice.project, actor=actor, now=utc(now), action="notice.acknowledged",
                 task=notice.task, data={"notice": notice.id,
                                         "late": zone_today(now) > notice.ack_due})
    flush(session)
    return notice


def report_on_notice(session: Session, notice_id: int, text: str, actor: User,
                     now: datetime) -> SupervisionNotice:
    """The addressee reports progress; the report answers (closes) the notice
    and whoever issued it is told."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("The report on a supervision notice cannot be empty.")
    if len(text) > 5000:
        raise ValidationError("A report is at most 5000 characters.")
    notice = _load_for_answer(session, notice_id, actor)
    at = utc(now)
    if notice.acknowledged_at is None:
        notice.acknowledged_at = at
    notice.reported_at, notice.report, notice.closed_at = at, text, at
    task, project = notice.task, notice.project
    audit.record(session, project, actor=actor, now=at, action="notice.reported", task=task,
                 data={"notice": notice.id, "report": text,
                       "late": zone_today(now) > notice.report_due})
    reader = notice.issued_by or project.lead
    if reader is not None and reader.id != actor.id:
        item = notify.item_name(project, task.item_code)
        notify.tell(session, [reader], Message(
            "notice_report", f"【督办反馈】{item}（{project.code}）",
            f"{actor.display_name} 就督办单（{LEVEL_NAMES[notice.level]}）报告：{text}"),
            now=now, key=f"notice:{notice.id}:report", project=project, task=task)
    flush(session)
    return notice


# How many open notices the inbox and the desk show (the oldest), with a link
# to the whole list on the notifications page.
NOTICES_IN_VIEW = 5
OPEN_NOTICES = paging.Order.by("open-notices", paging.Key(SupervisionNotice.issued_at, datetime),
                               paging.Key(SupervisionNotice.id, int))


def open_notices_for(session: Session, user: User, *, cursor: str | None = None,
                     limit: int | None = NOTICES_IN_VIEW) -> paging.Page[SupervisionNotice]:
    """A page of ``user``'s notices not yet answered, oldest first
    (``ix_supervision_notice_open``): by default the few an inbox shows.
    ``page.extras["count"]`` says how many there are (a capped count, read
    only when they do not all fit on the page)."""
    query = select(SupervisionNotice).where(SupervisionNotice.addressee_id == user.id,
                                            SupervisionNotice.closed_at.is_(None))
    page = paging.fetch(session, query, OPEN_NOTICES, cursor=cursor, limit=limit,
                        options=(joinedload(SupervisionNotice.task),
                                 joinedload(SupervisionNotice.project)))
    page.extras["count"] = (paging.count_upto(session, query) if page.next or not page.first
                            else paging.Count(len(page.rows), True))
    return page

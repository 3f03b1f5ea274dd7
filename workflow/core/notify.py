"""Who is told what: the one owner of notifications.

Everything that tells a person something goes through ``tell``: it writes one
in-app ``Notification`` per user and, in the same transaction, the
``OutboxMessage`` rows for email (when the user has an address and email is
switched on) and for the webhook (when one is configured). The outbox is
delivered after the commit by ``workflow.kernel.outbox``, so a rolled-back operation
never mails anyone.

Which channels are on is not read from the environment here: the process that
opens the session says so through ``session.info`` (``session_info(channels)``
given to the session factory or to ``db.transaction``). A session without it
writes in-app notifications only.

Operations call ``task_event`` and ``project_event`` right after the audit
event of a transition, inside their transaction; the deadline sweep, the
digest and the supervision notices call ``tell`` directly. The web reads
``notifications_for``, ``unread_count`` and calls ``mark_read`` or ``mark_all_read``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.core.models import AuditEvent, ItemTask, Notification, Project, SupervisionNotice
from workflow.kernel import clock, paging
from workflow.kernel.config import Channels
from workflow.kernel.db import dialect_insert
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import EMAIL_CHOICES, GroupMembership, OutboxMessage, User
from workflow.kernel.moments import ZONE_TZ, utc
from workflow.kernel.registry import definition_of

CHANNELS_KEY = "daiban.channels"


def session_info(channels: Channels) -> dict[str, Any]:
    """``info`` for a session (or a session factory) whose notifications should
    also go out by the given channels: ``factory(info=session_info(c))``."""
    return {CHANNELS_KEY: channels}


def channels_of(session: Session) -> Channels:
    return session.info.get(CHANNELS_KEY) or Channels()


# -- writing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str


def tell(session: Session, users: Iterable[User | None], message: Message, *, now: datetime,
         key: str, project: Project | None = None, task: ItemTask | None = None) -> list[User]:
    """Notify each distinct active user once, in-app and on every channel that
    is on and that the user chose (email now, not in the daily bundle or never;
    the webhook on or off).

    ``key`` names the cause (``audit:<project>:<seq>``, ``reminder:<id>``,
    ``digest:<day>`` …) and must be unique per cause: the outbox rows' dedupe
    keys are built from it and the user, so one cause never mails one person
    twice. Returns the users told, in order."""
    channels = channels_of(session)
    at = utc(now)
    told: list[User] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        told.append(user)
        session.add(Notification(
            user_id=user.id, kind=message.kind, title=message.title[:300], body=message.body,
            project_id=project.id if project is not None else None,
            task_id=task.id if task is not None else None, created_at=at))
        if channels.email and user.email and user.notify_email == "now":
            row = _outbox("email", user.email, message, f"email:{key}:u{user.id}", at)
            row.payload = _email_links(user, project, task,
                                       digest=message.kind in DIGEST_KINDS)
            session.add(row)
        if channels.webhook and user.notify_webhook:
            row = _outbox("webhook", user.username, message, f"webhook:{key}:u{user.id}", at)
            row.payload = _webhook_payload(user, message, project, task, at)
            session.add(row)
    return told


def _outbox(channel: str, recipient: str, message: Message, dedupe_key: str,
            at: datetime) -> OutboxMessage:
    return OutboxMessage(channel=channel, recipient=recipient, subject=message.title[:300],
                         body=message.body, dedupe_key=dedupe_key[:200], status="pending",
                         attempts=0, next_attempt_at=at, created_at=at)


# Kinds of email that bundle many notices: they carry a one-click unsubscribe.
DIGEST_KINDS = ("digest", "bundle")


def page_of(user: User, project: Project | None, task: ItemTask | None) -> str:
    """The path of the page a message is about, for ``user``: an enterprise's
    portal page of the project; staff's task page, else the project's page;
    else the notifications list."""
    if project is not None and user.role == "enterprise":
        return f"/portal/projects/{quote(project.code)}"
    if task is not None and task.id is not None:
        return f"/tasks/{task.id}"
    if project is not None:
        return f"/projects/{quote(project.code)}"
    return "/notifications"


def unsubscribe_path(user: User) -> str:
    """The one-click unsubscribe link of ``user``'s digest emails (RFC 8058),
    its secret made on first use."""
    if not user.unsubscribe_token:
        user.unsubscribe_token = secrets.token_urlsafe(32)
    return f"/unsubscribe/{user.unsubscribe_token}"


def _email_links(user: User, project: Project | None, task: ItemTask | None, *,
                 digest: bool) -> dict[str, Any]:
    links: dict[str, Any] = {"link": page_of(user, project, task)}
    if digest:
        links["unsubscribe"] = unsubscribe_path(user)
    return links


def verified_mobile(user: User) -> str | None:
    """The person's own mobile number once an admin verified it, else None."""
    return user.mobile if user.mobile and user.mobile_verified_at is not None else None


def _webhook_payload(user: User, message: Message, project: Project | None,
                     task: ItemTask | None, at: datetime) -> dict[str, Any]:
    """The JSON an SMS or chat gateway receives: who (with the person's
    verified mobile, never the company's landline), what, about which project."""
    return {
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "recipient": {"username": user.username, "name": user.display_name, "role": user.role,
                      "email": user.email, "phone": verified_mobile(user)},
        "project": {"code": project.code, "name": project.name} if project is not None else None,
        "task": {"id": task.id, "item": task.item_code} if task is not None else None,
        "created_at": at.isoformat(),
    }


def set_channels(session: Session, user: User, *, email: str, webhook: bool) -> None:
    """``user``'s own choice: email for each message, in the daily bundle or
    never; the webhook on or off. The in-app list is always on."""
    if email not in EMAIL_CHOICES:
        raise ValidationError("Unknown email choice {email!r}.", field="email", email=email)
    if not isinstance(webhook, bool):
        raise ValidationError("The webhook choice is yes or no.", field="webhook")
    user.notify_email, user.notify_webhook = email, webhook
    session.flush()


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def unsubscribe(session: Session, token: str) -> User | None:
    """The one-click unsubscribe of a digest email (RFC 8058): the person whose
    link it is gets no more email (the in-app list stays). None for a token
    nobody has; the same answer twice is harmless."""
    if not 20 <= len(token) <= 64 or not set(token) <= _TOKEN_CHARS:
        return None
    user = session.scalar(select(User).where(User.unsubscribe_token == token))
    if user is not None:
        user.notify_email = "off"
        session.flush()
    return user


def unsubscriber(session: Session, token: str) -> User | None:
    """Whose unsubscribe link ``token`` is (to ask them to confirm), or None."""
    if not 20 <= len(token) <= 64 or not set(token) <= _TOKEN_CHARS:
        return None
    return session.scalar(select(User).where(User.unsubscribe_token == token))


# -- the daily email bundle -----------------------------------------------------------------

def send_bundles(session: Session, *, now: datetime, at_time: time) -> list[str]:
    """On a working day (Asia/Shanghai), at or after ``at_time``: one email to
    each person who chose the daily bundle, listing the notifications written
    for them since the previous working day's bundle time (Monday's covers the
    weekend). The outbox row's key names the day and the person, so calling
    this often, or from two schedulers at once, sends each bundle once.
    Returns the usernames a bundle was written for."""
    if not channels_of(session).email:
        return []
    local = utc(now).astimezone(ZONE_TZ)
    today = local.date()
    if not clock.is_working_day(today) or local.time().replace(tzinfo=None) < at_time:
        return []
    start = datetime.combine(clock.working_day_before(today, 1), at_time, ZONE_TZ)
    end = datetime.combine(today, at_time, ZONE_TZ)
    rows = session.execute(
        select(User, Notification)
        .join(Notification, Notification.user_id == User.id)
        .where(User.notify_email == "digest", User.active.is_(True), User.email.is_not(None),
               Notification.created_at >= utc(start), Notification.created_at < utc(end))
        .order_by(User.id, Notification.created_at, Notification.id)).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for user, note in rows:
        by_user.setdefault(user.id, (user, []))[1].append(note)
    insert = dialect_insert(session)
    sent: list[str] = []
    at = utc(now)
    for user, notes in by_user.values():
        lines = [f"{_local(n.created_at)} {n.title}\n{n.body}" for n in notes]
        subject = f"【每日汇总】{today.isoformat()}：{len(notes)} 条通知"
        statement = insert(OutboxMessage).values(
            channel="email", recipient=user.email, subject=subject,
            body="\n\n".join(lines), dedupe_key=f"bundle:{today.isoformat()}:u{user.id}",
            payload={"link": "/notifications", "unsubscribe": unsubscribe_path(user)},
            status="pending", attempts=0, next_attempt_at=at, created_at=at,
        ).on_conflict_do_nothing().returning(OutboxMessage.id)
        if session.execute(statement).scalar_one_or_none() is not None:
            sent.append(user.username)
    return sent


def _local(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZONE_TZ).strftime("%m-%d %H:%M")


# -- who ------------------------------------------------------------------------------------

def enterprise_users(session: Session, project: Project) -> list[User]:
    """The enterprise's own active accounts (申请人)."""
    return list(session.scalars(
        select(User).where(User.role == "enterprise", User.active.is_(True),
                           User.enterprise_id == project.enterprise_id).order_by(User.id)))


def group_agents(session: Session, group_id: int) -> list[User]:
    """Active agents of the group who can take work now (not away)."""
    return list(session.scalars(
        select(User).join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group_id, User.role == "agent",
               User.active.is_(True), User.away.is_(False)).order_by(User.id)))


def users_with_role(session: Session, role: str) -> list[User]:
    return list(session.scalars(
        select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)))


def responsible_for(session: Session, task: ItemTask) -> list[User]:
    """Who works the task: its assignee; unassigned, the group queue's agents;
    with nobody there, the project's lead handler (so a warning is never lost)."""
    if task.assignee is not None:
        return [task.assignee]
    agents = group_agents(session, task.group_id)
    if agents:
        return agents
    return [task.project.lead] if task.project.lead is not None else []


# -- names in messages --------------------------------------------------------------------

def item_name(project: Project, item_code: str) -> str:
    item = definition_of(project.definition_version).items.get(item_code)
    return item.name_zh if item is not None else item_code


def stage_name(project: Project, stage: str | None) -> str:
    found = definition_of(project.definition_version).stages.get(stage or "")
    return found.name_zh if found is not None else (stage or "")


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


# -- events of operations (called inside their transaction) -------------------------------

def _yours(project: Project, task: ItemTask) -> str:
    return f"您的项目「{project.name}」（{project.code}）的事项「{item_name(project, task.item_code)}」"


def _started(project: Project, task: ItemTask, data: dict[str, Any]) -> Message:
    due = (f"，代办服务时限至 {task.service_due_on.isoformat()}（园区承诺，代办计时）"
           if task.service_due_on else "")
    return Message("item_started", f"【开始办理】{item_name(project, task.item_code)}",
                   f"{_yours(project, task)}"
                   f"已由代办员开始办理{due}。")


def _accepted(project: Project, task: ItemTask, data: dict[str, Any]) -> Message:
    """受理: the department's statutory clock starts (行政许可法 Art. 42)."""
    due = f"，法定办理时限至 {_day(data['due_on'])}（部门计时）" if data.get("due_on") else ""
    return Message("item_accepted", f"【部门已受理】{item_name(project, task.item_code)}",
                   f"{_yours(project, task)}"
                   f"已于 {_day(data.get('accepted_on'))} 由办理部门受理{due}。")


def _materials_requested(project: Project, task: ItemTask, data: dict[str, Any]) -> Message:
    listed = "\n".join(f"  {n}. {name}" for n, name in enumerate(data.get("materials", []), 1))
    return Message("materials_requested", f"【需补正材料】{item_name(project, task.item_code)}",
                   f"{_yours(project, task)}"
                   f"需要补正以下材料（一次性告知），请于 {_day(data.get('deadline'))} 前提交：\n{listed}")


def _done(project: Project, task: ItemTask, data: dict[str, Any]) -> Message:
    return Message("item_done", f"【已办结】{item_name(project, task.item_code)}",
                   f"{_yours(project, task)}"
                   "已办结，结果已移交。")


def _covered(project: Project, task: ItemTask, data: dict[str, Any]) -> Message:
    how = "区域评估成果" if data.get("kind") == "evaluation" else "承诺制"
    return Message("item_covered", f"【已免于办理】{item_name(project, task.item_code)}",
                   f"{_yours(project, task)}"
                   f"已由{how}覆盖（{data.get('reference', '')}），无需另行办理。")


# Task events the enterprise is told about (开始办理, 受理, 一次性告知, 办结, 覆盖).
TASK_EVENTS: dict[str, Callable[[Project, ItemTask, dict[str, Any]], Message]] = {
    "start": _started,
    "accept": _accepted,
    "request_materials": _materials_requested,
    "complete": _done,
    "cover": _covered,
}
# Task events that close the item and with it its open 督办 notices.
CLOSING_EVENTS = ("complete", "cover", "terminate")


def task_event(session: Session, task: ItemTask, entry: AuditEvent) -> None:
    """An item task changed state (``entry`` is the audit event just recorded):
    tell the enterprise where it asked to be told, and let an item that closes
    close its open supervision notices."""
    event = entry.action.removeprefix("task.")
    build = TASK_EVENTS.get(event)
    # No autoflush: the operation decides when its changes are flushed.
    with session.no_autoflush:
        if event in CLOSING_EVENTS:
            session.execute(
                update(SupervisionNotice)
                .where(SupervisionNotice.task_id == task.id, SupervisionNotice.closed_at.is_(None))
                .values(closed_at=entry.at).execution_options(synchronize_session=False))
        if build is None:
            return
        project = task.project
        tell(session, enterprise_users(session, project), build(project, task, entry.data),
             now=entry.at, key=f"audit:{entry.project_id}:{entry.seq}", project=project, task=task)


def project_event(session: Session, project: Project, entry: AuditEvent) -> None:
    """The project moved in its lifecycle: tell the enterprise the milestone."""
    if entry.to_state is None or entry.to_state == entry.from_state:
        return
    with session.no_autoflush:
        stage = stage_name(project, entry.to_state)
        message = Message("milestone", f"【项目节点】{project.name}：{stage}",
                          f"您的项目「{project.name}」（{project.code}）已进入「{stage}」阶段。")
        tell(session, enterprise_users(session, project), message, now=entry.at,
             key=f"audit:{entry.project_id}:{entry.seq}", project=project)


# -- reading (for the web) ----------------------------------------------------------------

NEWEST_FIRST = paging.Order.by("notifications",
                               paging.Key(Notification.created_at, datetime, descending=True),
                               paging.Key(Notification.id, int, descending=True))
_ID_MAX = 2**31 - 1  # notification ids are 32-bit integers


def notifications_for(session: Session, user: User, *, unread_only: bool = False,
                      cursor: str | None = None,
                      limit: int | None = None) -> paging.Page[Notification]:
    """A page of ``user``'s notifications, newest first: all of them on
    ``ix_notification_user_created``, the unread ones on ``ix_notification_inbox``."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return paging.fetch(session, query, NEWEST_FIRST, cursor=cursor, limit=limit)


def unread_query(user: User):
    """``user``'s unread notifications (the badge counts them, on ``ix_notification_inbox``)."""
    return select(Notification.id).where(Notification.user_id == user.id,
                                         Notification.read_at.is_(None))


def unread_count(session: Session, user: User) -> paging.Count:
    """How many of ``user``'s notifications are unread, counted up to ``paging.COUNT_CAP``."""
    return paging.count_upto(session, unread_query(user))


def mark_read(session: Session, user: User, notification_ids: Sequence[int],
              now: datetime) -> int:
    """Mark the given notifications read (at most a page of them: the ones
    ticked on a page); ids of other users' notifications are ignored (never an
    error that would reveal they exist). Returns how many changed."""
    ids = sorted({int(i) for i in notification_ids})
    if not ids:
        return 0
    if len(ids) > paging.MAX_LIMIT:
        raise ValidationError("At most {limit} notifications are marked at a time.",
                              field="id", limit=paging.MAX_LIMIT)
    if ids[0] < 1 or ids[-1] > _ID_MAX:
        raise ValidationError("No notification has this number.", field="id")
    result = session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.user_id == user.id,
               Notification.read_at.is_(None))
        .values(read_at=utc(now)).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def mark_all_read(session: Session, user: User, now: datetime, *,
                  before: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read (only those created
    before ``before``, when given): one UPDATE on ``ix_notification_inbox``,
    however many there are. Notifications already loaded in the session are
    not refreshed (the caller commits, which expires them). Returns how many changed."""
    query = update(Notification).where(Notification.user_id == user.id,
                                       Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.created_at < utc(before))
    result = session.execute(query.values(read_at=utc(now))
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0

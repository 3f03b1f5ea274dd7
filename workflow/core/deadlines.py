"""The deadline sweep: graded warnings and the 13710 escalation, each recorded
exactly once; and the daily digest.

``sweep`` is run every few minutes by the scheduler (and by ``daiban sweep``).
For the zone's date at ``now`` it finds, with indexed queries and an
anti-join on ``reminder``, every task and level that is due and not yet
recorded:

=======================  ==========================================  ==========================
level                    due when (task's clock runs)                told
=======================  ==========================================  ==========================
yellow                   warn_on <= today                            assignee (or group queue)
red                      due_on < today                              assignee + lead handler
escalate_lead            red for 3 working days                      督办 from the lead handler
                                                                     to the assignee
escalate_supervisor      red for 7 working days                      督办 to every supervisor
escalate_leadership      red for 1 month                             督办 to every admin
materials_deadline       2 working days before a materials deadline  the enterprise
=======================  ==========================================  ==========================

Each level is due on the clock that runs (``ItemTask.clock``, see
``workflow.core.clocks``): the service clock while the agent prepares (代办's
time: the zone's promise), the statutory clock once the department has the
application (部门's time: the legal limit). The two clocks are two subjects of
reminders, so an item warned and escalated on its service clock warns and
escalates again on its statutory clock; each message says which clock and
whose time it is.

"Red for N working days" means today is at least the N-th working day after
the due date, so escalations fall on working days; the month step, like a
calendar-day limit, moves off a weekend or holiday to the next working day.
All thresholds are ``DeadlinePolicy`` settings.

Each reminder is one row keyed by (subject, level, due date), inserted with
``INSERT … ON CONFLICT DO NOTHING``: only the transaction whose insert
succeeded writes the notifications, the notice and the outbox rows, so two
sweeps at once, a sweep run twice or a restart never repeat one. A sweep
after downtime records every level whose condition holds now, once each, and
marks them ``catch_up``. Projects are locked in id order before their
reminders are written (the audit chain of a notice lives on the project row,
and a task's state is only stable under its project's lock).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, select, text, union
from sqlalchemy.orm import Session

from workflow.core import notify, supervision
from workflow.core.models import (
    CLOCK_STATES,
    DigestRun,
    ItemTask,
    MaterialRequest,
    Project,
    Reminder,
)
from workflow.core.notify import Message
from workflow.core.operations import ZONE_TZ, lock_project, utc, zone_today
from workflow.kernel import clock
from workflow.kernel.config import DeadlinePolicy
from workflow.kernel.db import dialect_insert
from workflow.kernel.models import User

# The clock-state filter written out literally, as the partial indexes' predicate
# is, so that PostgreSQL can match those indexes even in a generic (prepared) plan.
CLOCK_RUNS = text("item_task.state IN (" + ", ".join(f"'{s}'" for s in CLOCK_STATES) + ")")

TASK_LEVELS = ("yellow", "red", "escalate_lead", "escalate_supervisor", "escalate_leadership")
# What each clock is called in a message, and whose time it counts.
CLOCK_TEXT = {"service": "代办服务时限（园区承诺，代办计时）",
              "statutory": "法定办理时限（部门计时）"}
LEVEL_LABELS = {"yellow": "黄灯预警", "red": "红灯超期", "escalate_lead": "领办人督办",
                "escalate_supervisor": "升级督查", "escalate_leadership": "升级领导",
                "materials_deadline": "补正材料到期提醒"}


# -- calendar arithmetic ---------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's end:
    31 January + 1 month = 28 (29) February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _last_working_day(today: date) -> date:
    """``today`` if it is a working day, else the working day before it."""
    return today if clock.is_working_day(today) else clock.working_day_before(today, 1)


@dataclass(frozen=True)
class Bounds:
    """For one day, the latest due date (or materials deadline) each level is due for."""

    today: date
    lead: date
    supervisor: date
    leadership: date
    materials: date

    @classmethod
    def on(cls, today: date, policy: DeadlinePolicy) -> Bounds:
        anchor = _last_working_day(today)
        months = policy.leadership_after_months
        leadership = add_months(today, -months)
        # roll_forward can only move the escalation day later: step back past
        # due dates whose month ends on a weekend or holiday still ahead.
        while clock.roll_forward(add_months(leadership, months)) > today:
            leadership -= timedelta(days=1)
        return cls(
            today=today,
            lead=clock.working_day_before(anchor, policy.lead_after_working_days),
            supervisor=clock.working_day_before(anchor, policy.supervisor_after_working_days),
            leadership=leadership,
            materials=clock.add_working_days(today, policy.materials_remind_working_days).date,
        )


def reached_on(level: str, task: ItemTask, policy: DeadlinePolicy) -> date:
    """The first day ``level`` is due for ``task``'s current due date."""
    if level == "yellow":
        return task.warn_on or task.due_on
    if level == "red":
        return task.due_on + timedelta(days=1)
    if level == "escalate_lead":
        return clock.add_working_days(task.due_on, policy.lead_after_working_days).date
    if level == "escalate_supervisor":
        return clock.add_working_days(task.due_on, policy.supervisor_after_working_days).date
    if level == "escalate_leadership":
        return clock.roll_forward(add_months(task.due_on, policy.leadership_after_months))
    raise ValueError(f"not a task level: {level}")


def levels_due(task: ItemTask, bounds: Bounds) -> list[str]:
    """The task levels whose condition holds on ``bounds.today`` (recorded or not)."""
    if task.state not in CLOCK_STATES or task.due_on is None:
        return []
    due, today = task.due_on, bounds.today
    checks = {
        "yellow": task.warn_on is not None and task.warn_on <= today,
        "red": due < today,
        "escalate_lead": due <= bounds.lead,
        "escalate_supervisor": due <= bounds.supervisor,
        "escalate_leadership": due <= bounds.leadership,
    }
    return [level for level in TASK_LEVELS if checks[level]]


# -- what the sweep recorded -------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """One reminder or escalation a sweep recorded, and whom it told
    (``clock``: the task's clock it was due on; None for materials)."""

    level: str
    project_code: str
    item_code: str
    task_id: int
    due_on: date
    reached_on: date
    catch_up: bool
    recipients: tuple[str, ...]
    clock: str | None = None

    def line(self) -> str:
        told = ", ".join(self.recipients) or "nobody"
        late = f" (catch-up: due since {self.reached_on.isoformat()})" if self.catch_up else ""
        on = f" [{self.clock}]" if self.clock else ""
        return (f"{self.level} {self.project_code} {self.item_code}{on} due "
                f"{self.due_on.isoformat()} -> {told}{late}")


def _clock_of(task: ItemTask) -> str:
    return task.clock or "statutory"


# -- the sweep -----------------------------------------------------------------------------------

def sweep(session: Session, *, now: datetime, policy: DeadlinePolicy | None = None) -> list[Recorded]:
    """Record and announce every reminder and escalation due at ``now`` that is
    not recorded yet; one transaction (the caller commits). Returns one
    ``Recorded`` per new row, in project, task and level order."""
    policy = policy or DeadlinePolicy()
    bounds = Bounds.on(zone_today(now), policy)
    tasks_by_project: dict[int, set[int]] = defaultdict(set)
    requests_by_project: dict[int, set[int]] = defaultdict(set)
    for project_id, task_id in session.execute(_task_candidates(bounds)):
        tasks_by_project[project_id].add(task_id)
    for project_id, request_id in session.execute(_materials_candidates(bounds)):
        requests_by_project[project_id].add(request_id)

    recorded: list[Recorded] = []
    for project_id in sorted(tasks_by_project.keys() | requests_by_project.keys()):
        project = lock_project(session, project_id)
        for task in _fresh(session, ItemTask, tasks_by_project.get(project_id, ())):
            new: list[tuple[str, int]] = []
            for level in levels_due(task, bounds):
                reminder_id = _insert_reminder(
                    session, level=level, subject_key=f"task:{task.id}:{_clock_of(task)}",
                    task_id=task.id, clock=_clock_of(task), due_on=task.due_on,
                    reached=reached_on(level, task, policy), now=now, today=bounds.today)
                if reminder_id is not None:
                    new.append((level, reminder_id))
            # After downtime several levels fall due at once: the most advanced
            # one speaks, and each person hears of the task once per sweep; a
            # yellow warning for a date already past says nothing (the red
            # one tells the current state). Every level stays recorded.
            told: list[User] = []
            announced = {
                level: _announce(session, project, task, level, reminder_id, policy,
                                 bounds.today, now, told=told,
                                 quiet=level == "yellow" and task.due_on < bounds.today)
                for level, reminder_id in reversed(new)}
            recorded.extend(announced[level] for level, _ in new)
        for request in _fresh(session, MaterialRequest, requests_by_project.get(project_id, ())):
            found = _materials_reminder(session, project, request, policy, bounds, now)
            if found is not None:
                recorded.append(found)
    session.flush()
    return recorded


def _task_candidates(bounds: Bounds):
    """(project_id, task_id) of running tasks with a due level not yet recorded
    for their current clock and due date. Each branch is a range scan on a
    partial index (``ix_item_task_clock_warn`` / ``ix_item_task_clock_due``)
    with a probe of ``ix_reminder_task_level_due``."""
    def not_recorded(level: str):
        return ~exists().where(Reminder.task_id == ItemTask.id, Reminder.level == level,
                               Reminder.due_on == ItemTask.due_on,
                               Reminder.clock == ItemTask.clock)

    conditions = [
        ("yellow", ItemTask.warn_on <= bounds.today),
        ("red", ItemTask.due_on < bounds.today),
        ("escalate_lead", ItemTask.due_on <= bounds.lead),
        ("escalate_supervisor", ItemTask.due_on <= bounds.supervisor),
        ("escalate_leadership", ItemTask.due_on <= bounds.leadership),
    ]
    return union(*(
        select(ItemTask.project_id, ItemTask.id)
        .where(CLOCK_RUNS, condition, not_recorded(level))
        for level, condition in conditions))


def _materials_candidates(bounds: Bounds):
    """(project_id, request_id) of open materials requests whose deadline is
    within the reminder window and not yet reminded (``ix_material_request_open_deadline``)."""
    return (
        select(ItemTask.project_id, MaterialRequest.id)
        .join(ItemTask, ItemTask.id == MaterialRequest.task_id)
        .where(MaterialRequest.fulfilled_at.is_(None),
               MaterialRequest.deadline >= bounds.today,
               MaterialRequest.deadline <= bounds.materials,
               ItemTask.state == "awaiting_enterprise",
               ~exists().where(Reminder.material_request_id == MaterialRequest.id,
                               Reminder.level == "materials_deadline",
                               Reminder.due_on == MaterialRequest.deadline)))


def _fresh(session: Session, model, ids) -> list:
    """Rows re-read under the project's lock: the candidate query ran before it."""
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(sorted(ids)))
                                .order_by(model.id).execution_options(populate_existing=True)))


def _insert_reminder(session: Session, *, level: str, subject_key: str, task_id: int,
                     due_on: date, reached: date, now: datetime, today: date,
                     material_request_id: int | None = None,
                     clock: str | None = None) -> int | None:
    """Insert the reminder unless its key exists; the new id, or None when another
    sweep (this one earlier, or a concurrent one) already recorded it."""
    insert = dialect_insert(session)
    statement = (
        insert(Reminder)
        .values(subject_key=subject_key, level=level, task_id=task_id, clock=clock,
                material_request_id=material_request_id, due_on=due_on, reached_on=reached,
                recorded_at=utc(now), catch_up=today > reached)
        .on_conflict_do_nothing()
        .returning(Reminder.id))
    return session.execute(statement).scalar_one_or_none()


def _announce(session: Session, project: Project, task: ItemTask, level: str, reminder_id: int,
              policy: DeadlinePolicy, today: date, now: datetime, *,
              told: list[User] | None = None, quiet: bool = False) -> Recorded:
    """Tell the people a newly recorded task level concerns (none already in
    ``told``, the people a more advanced level of the same sweep told; none at
    all when ``quiet``); escalations issue their supervision notices."""
    key = f"reminder:{reminder_id}"
    item = notify.item_name(project, task.item_code)
    subject = f"项目「{project.name}」（{project.code}）的事项「{item}」"
    lead = project.lead
    workers = notify.responsible_for(session, task)
    told = [] if told is None else told
    mine: list[User] = []

    def tell(users, message: Message, suffix: str = "") -> None:
        if quiet:
            return
        fresh = [u for u in users if u is not None and u not in told]
        reached = notify.tell(session, fresh, message, now=now, key=key + suffix,
                              project=project, task=task)
        told.extend(reached)
        mine.extend(reached)

    which = _clock_of(task)
    limit = CLOCK_TEXT[which]
    due = task.due_on.isoformat()
    if level == "yellow":
        left = clock.working_days_between(today, task.due_on).days
        tell(workers, Message("yellow", f"【黄灯预警】{item}（{project.code}）",
                              f"{subject}的{limit}将于 {due} 到期，还剩 {max(left, 0)} 个"
                              "工作日，请抓紧办理。"))
    elif level == "red":
        ask = ("请立即处理并说明原因。" if which == "service"
               else "请督促办理部门作出决定并说明原因。")
        tell(workers + [lead], Message("red", f"【红灯超期】{item}（{project.code}）",
                                       f"{subject}已超过{limit}（{due}），{ask}"))
    elif level == "escalate_lead":
        days = policy.lead_after_working_days
        addressee = task.assignee or lead
        reason = (f"{limit}已超期 {days} 个工作日（时限 {due}），"
                  "请当日签收并安排办理，3 个工作日内报告进展。")
        if addressee is not None:
            # In the lead handler's name; an unclaimed item's notice goes to the lead
            # handler himself (to get it assigned), issued by the system.
            notice = supervision.new_notice(session, task, level="lead", addressee=addressee,
                                            issued_by=lead if addressee is not lead else None,
                                            reason=reason, now=now, reminder_id=reminder_id)
            tell([addressee], supervision.notice_message(notice, task), ":notice")
        tell([lead] + ([] if task.assignee else workers),
             Message("escalation", f"【领办人督办】{item}（{project.code}）",
                     f"{subject}的{limit}已超期 {days} 个工作日，系统已以领办人名义签发督办单。"))
    else:
        role, label = (("supervisor", "督查") if level == "escalate_supervisor"
                       else ("admin", "园区领导"))
        overdue = (f"{policy.supervisor_after_working_days} 个工作日" if role == "supervisor"
                   else f"{policy.leadership_after_months} 个月")
        reason = (f"{limit}已超期 {overdue}（时限 {due}），按 13710 机制升级至{label}，"
                  f"请当日签收，3 个工作日内报告督办情况。")
        for addressee in notify.users_with_role(session, role):
            notice = supervision.new_notice(session, task, level=_NOTICE_LEVEL[level],
                                            addressee=addressee, issued_by=None, reason=reason,
                                            now=now, reminder_id=reminder_id)
            tell([addressee], supervision.notice_message(notice, task), f":notice:{addressee.id}")
        tell([task.assignee, lead], Message(
            "escalation", f"【超期升级】{item}（{project.code}）",
            f"{subject}的{limit}已超期 {overdue}，已升级至{label}督办。"))
    return Recorded(level=level, project_code=project.code, item_code=task.item_code,
                    task_id=task.id, due_on=task.due_on,
                    reached_on=reached_on(level, task, policy),
                    catch_up=today > reached_on(level, task, policy),
                    recipients=tuple(u.username for u in mine), clock=which)


_NOTICE_LEVEL = {"escalate_supervisor": "supervisor", "escalate_leadership": "leadership"}


def _materials_reminder(session: Session, project: Project, request: MaterialRequest,
                        policy: DeadlinePolicy, bounds: Bounds, now: datetime) -> Recorded | None:
    task = session.get(ItemTask, request.task_id, populate_existing=True)
    if (request.fulfilled_at is not None or task.state != "awaiting_enterprise"
            or not bounds.today <= request.deadline <= bounds.materials):
        return None
    requested_at = request.requested_at
    if requested_at.tzinfo is None:  # SQLite hands timestamps back naive (stored in UTC)
        requested_at = requested_at.replace(tzinfo=UTC)
    asked_on = requested_at.astimezone(ZONE_TZ).date()
    reached = max(clock.working_day_before(request.deadline, policy.materials_remind_working_days),
                  asked_on)
    reminder_id = _insert_reminder(
        session, level="materials_deadline", subject_key=f"materials:{request.id}", task_id=task.id,
        material_request_id=request.id, due_on=request.deadline, reached=reached, now=now,
        today=bounds.today)
    if reminder_id is None:
        return None
    item = notify.item_name(project, task.item_code)
    names = [m.get("name", "") for m in (request.items or {}).get("materials", [])]
    listed = "\n".join(f"  {n}. {name}" for n, name in enumerate(names, 1))
    told = notify.tell(session, notify.enterprise_users(session, project), Message(
        "materials_deadline", f"【补正材料即将到期】{item}（{project.code}）",
        f"您的项目「{project.name}」（{project.code}）的事项「{item}」需补正的材料请于 "
        f"{request.deadline.isoformat()} 前提交，逾期可能导致该事项终止办理：\n{listed}"),
        now=now, key=f"reminder:{reminder_id}", project=project, task=task)
    return Recorded(level="materials_deadline", project_code=project.code,
                    item_code=task.item_code, task_id=task.id, due_on=request.deadline,
                    reached_on=reached, catch_up=bounds.today > reached,
                    recipients=tuple(u.username for u in told))


# -- the daily digest ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Digest:
    username: str
    day: date
    yellow: int
    red: int


def send_digests(session: Session, *, now: datetime, at_time: time = time(8, 30)) -> list[Digest]:
    """On a working day (Asia/Shanghai), at or after ``at_time``: one digest for
    each agent and lead handler with something in their scope turning yellow or
    red today (since the previous working day, so Monday's covers the weekend).
    At most one per user and day (``digest_run``), so it is safe to call often."""
    local = utc(now).astimezone(ZONE_TZ)
    today = local.date()
    if not clock.is_working_day(today) or local.time().replace(tzinfo=None) < at_time:
        return []
    previous = clock.working_day_before(today, 1)
    turning = session.scalars(
        select(ItemTask).where(CLOCK_RUNS, ItemTask.warn_on > previous,
                               ItemTask.warn_on <= today, ItemTask.due_on >= today)
        .order_by(ItemTask.due_on, ItemTask.id)).all()
    overdue = session.scalars(
        select(ItemTask).where(CLOCK_RUNS, ItemTask.due_on >= previous,
                               ItemTask.due_on < today)
        .order_by(ItemTask.due_on, ItemTask.id)).all()
    scope: dict[int, tuple[User, list[ItemTask], list[ItemTask]]] = {}
    for kind, tasks in ((1, turning), (2, overdue)):
        for task in tasks:
            for user in _digest_readers(session, task):
                scope.setdefault(user.id, (user, [], []))[kind].append(task)
    sent: list[Digest] = []
    for user_id in sorted(scope):
        user, yellow, red = scope[user_id]
        if not _insert_digest_run(session, user, today, len(yellow) + len(red), now):
            continue
        lines = [f"今日转黄（{len(yellow)}）："] + [_digest_line(t) for t in yellow]
        lines += [f"今日转红（{len(red)}）："] + [_digest_line(t) for t in red]
        notify.tell(session, [user], Message(
            "digest", f"【每日提醒】{today.isoformat()}：{len(yellow)} 项今日转黄，{len(red)} 项今日转红",
            "\n".join(lines)), now=now, key=f"digest:{today.isoformat()}")
        sent.append(Digest(user.username, today, len(yellow), len(red)))
    session.flush()
    return sent


def _digest_readers(session: Session, task: ItemTask) -> list[User]:
    readers = [u for u in notify.responsible_for(session, task) if u.role == "agent"]
    lead = task.project.lead
    if lead is not None and lead.active:
        readers.append(lead)
    return readers


def _digest_line(task: ItemTask) -> str:
    project = task.project
    return (f"  {project.code} {notify.item_name(project, task.item_code)}"
            f" {CLOCK_TEXT[_clock_of(task)]} {task.due_on.isoformat()}")


def _insert_digest_run(session: Session, user: User, day: date, items: int, now: datetime) -> bool:
    insert = dialect_insert(session)
    statement = (insert(DigestRun).values(user_id=user.id, day=day, items=items, sent_at=utc(now))
                 .on_conflict_do_nothing().returning(DigestRun.id))
    return session.execute(statement).scalar_one_or_none() is not None

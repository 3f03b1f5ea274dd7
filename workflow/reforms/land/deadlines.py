"""Deadlines an item of the definition sets once it closes, kept as
checkpoints beside the agreement's:

- ``item_reach`` (an item's ``checkpoint``): the project reaches a stage within
  some months of the day the item closed, the period extensible a few times
  (建筑法 第九条: work starts within 3 months of the construction permit, at
  most two extensions of 3 months; otherwise the permit lapses, 自行废止).
- ``item_submit`` (an item's ``applicant_limit``): the enterprise files the
  item within its own legal deadline from the day the item opens (建设工程质量
  管理条例 第四十九条: 竣工验收备案 within 15 days of the acceptance).

Both are created by the ``task.completed`` consequence, checked by the land
sweep (``sweep_item_checkpoint``) and shown on the land panel. A period in
months ends on the corresponding day (民法典 第二百零一、二百零二条) and, like
one in days, moves to the next working day when that day is not one (第二百零
三条)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from definitions import Definition, Item
from workflow.core import audit, hooks, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import ItemTask, Project
from workflow.kernel import clock
from workflow.kernel.errors import InvalidTransition, NotFound, term
from workflow.kernel.models import User
from workflow.reforms.land.agreements import _reached, _result
from workflow.reforms.land.indicators import _text, add_months
from workflow.reforms.land.lifecycle import CHECKPOINTS
from workflow.reforms.land.models import Checkpoint

ITEM_KINDS = ("item_reach", "item_submit")
# The task states from which an item counts as filed with its department.
FILED = ("submitted", "approved", "done", "covered")


def months_later(day: date, months: int) -> date:
    """The last day of a period of ``months`` from ``day``: the corresponding
    day (the month's last when it has none), rolled to a working day."""
    return clock.roll_forward(add_months(day, months))


@hooks.consequence("task.completed")
def _after_item(session: Session, task: ItemTask, *, actor: User | None, now: datetime) -> None:
    """Open the deadlines the closing of ``task`` starts: its own checkpoint,
    and the filing deadlines of the items it released."""
    project = task.project
    definition = ops.definition_for(project)
    item = definition.items.get(task.item_code)
    today = ops.zone_today(now)
    if item is not None and item.checkpoint is not None:
        check = item.checkpoint
        _open(session, project, "item_reach", item, months_later(task.closed_on or today, check.months),
              {"reach": check.reach, "from": (task.closed_on or today).isoformat(),
               "extensions": []}, now=now)
    for other in project.tasks:
        later = definition.items.get(other.item_code)
        if (later is not None and later.applicant_limit is not None and task.item_code in later.requires
                and other.released_on is not None and other.state not in FILED):
            # The applicant's own deadline runs from the day the item opened
            # (its release), not from a department's 受理.
            limit = later.applicant_limit
            due = clock.due_date(other.released_on, limit.amount, calendar_days=limit.calendar_days)
            _open(session, project, "item_submit", later, due.date,
                  {"from": other.released_on.isoformat(), "limit": str(limit)}, now=now)


def _open(session: Session, project: Project, kind: str, item: Item, due: date,
          result: dict[str, Any], *, now: datetime) -> None:
    exists = session.scalar(select(Checkpoint.id).where(
        Checkpoint.project_id == project.id, Checkpoint.kind == kind,
        Checkpoint.item_code == item.code))
    if exists is not None:  # a task completed again after a reopening keeps its deadline
        return
    session.add(Checkpoint(project_id=project.id, kind=kind, item_code=item.code, due_on=due,
                           status="open", result=result))
    audit.record(session, project, actor=None, now=ops.utc(now), action=f"land.{kind}_opened",
                 data={"item": item.code, "due_on": due, **result}, public=True)


def item_checkpoints(session: Session, project: Project) -> list[Checkpoint]:
    """The project's item deadlines, earliest due first (the land panel)."""
    return list(session.scalars(select(Checkpoint).where(
        Checkpoint.project_id == project.id, Checkpoint.kind.in_(ITEM_KINDS))
        .order_by(Checkpoint.due_on, Checkpoint.id)))


def deadline_name(definition: Definition, checkpoint: Checkpoint) -> str:
    """"建筑工程施工许可证 → 开工" / "竣工验收备案：企业报送" for a page or a message."""
    item = definition.items.get(checkpoint.item_code)
    name = item.name_zh if item is not None else checkpoint.item_code
    if checkpoint.kind == "item_reach":
        stage = definition.stages.get((checkpoint.result or {}).get("reach", ""))
        return f"{name} → {stage.name_zh if stage else '?'}"
    return f"{name}：企业报送"


def extend_item_checkpoint(session: Session, project_id: int, item_code: str, *,
                           actor: User | None, now: datetime, reason: str) -> Checkpoint:
    """Record an extension the issuing department granted (建筑法 第九条: applied
    for before the period ends, at most twice, each at most 3 months): the
    deadline moves by the item's ``extension_months``."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    reason = _text(reason, term("reason for the extension"), limit=2000)
    row = session.scalar(select(Checkpoint).where(
        Checkpoint.project_id == project.id, Checkpoint.kind == "item_reach",
        Checkpoint.item_code == item_code).with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise NotFound("Project {project} has no deadline after item {item}.",
                       project=project.code, item=item_code)
    item = ops.definition_for(project).items.get(item_code)
    check = item.checkpoint if item is not None else None
    today = ops.zone_today(now)
    result = _result(row)
    used = list(result.get("extensions") or [])
    if row.status != "open":
        raise InvalidTransition("The deadline after {item} is {status}, not open.",
                                status=row.status, item=item_code)
    if row.due_on < today:
        raise InvalidTransition("The period ended on {due_on}: an extension is applied for "
                                "before it ends.", due_on=row.due_on)
    if check is None or len(used) >= check.extensions:
        raise InvalidTransition("No more extensions: at most {most}.",
                                extensions=len(used), most=check.extensions if check else 0)
    before = row.due_on
    row.due_on = months_later(before, check.extension_months)
    used.append({"on": today.isoformat(), "reason": reason, "from": before.isoformat(),
                 "to": row.due_on.isoformat()})
    result["extensions"] = used
    result.pop("notified", None)
    row.result = result
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.deadline_extended",
                 data={"item": item_code, "from": before, "to": row.due_on, "reason": reason,
                       "extension": len(used)}, public=True)
    ops.flush(session)
    return row


def sweep_item_checkpoint(session: Session, project: Project, checkpoint: Checkpoint, today: date,
                          now: datetime) -> list[str]:
    """One open item deadline: met (the stage reached, the item filed) → passed;
    a stage not reached by the end of the period → failed (施工许可证自行废止),
    the lead and the enterprise told; an item not filed in time → both told
    once."""
    definition = ops.definition_for(project)
    at = ops.utc(now)
    name = deadline_name(definition, checkpoint)
    result = _result(checkpoint)
    if checkpoint.kind == "item_reach":
        met = _reached(definition, project, result.get("reach", "")) \
            if result.get("reach") in definition.stages else False
    else:
        task = next((t for t in project.tasks if t.item_code == checkpoint.item_code), None)
        met = task is not None and task.state in FILED
    if met:
        CHECKPOINTS.fire(checkpoint, "pass")
        checkpoint.decided_at = at
        audit.record(session, project, actor=None, now=at, action=f"land.{checkpoint.kind}_met",
                     from_state="open", to_state="passed", data={"item": checkpoint.item_code},
                     public=True)
        return [f"{project.code}: {name} met"]
    if checkpoint.due_on >= today:
        return []
    people = ([project.lead] if project.lead is not None else []) + \
        notify.enterprise_users(session, project)
    if checkpoint.kind == "item_reach":
        CHECKPOINTS.fire(checkpoint, "fail")
        checkpoint.decided_at = at
        checkpoint.note = f"期满未{name.split(' → ')[-1]}，{name.split(' → ')[0]}依法自行废止"
        entry = audit.record(session, project, actor=None, now=at, action="land.item_reach_lapsed",
                             from_state="open", to_state="failed",
                             data={"item": checkpoint.item_code, "due_on": checkpoint.due_on},
                             public=True)
        notify.tell(session, people, notify.Message(
            "deadline_lapsed", f"【期限届满】{project.name}：{name}",
            f"项目「{project.name}」（{project.code}）应于 {checkpoint.due_on} 前达到「{name}」，"
            f"期满未达到且未延期：{checkpoint.note}，需重新申领。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        return [f"{project.code}: {name} lapsed on {checkpoint.due_on}"]
    notified = dict(result.get("notified") or {})
    if notified.get("overdue") == checkpoint.due_on.isoformat():
        return []
    notified["overdue"] = checkpoint.due_on.isoformat()
    result["notified"] = notified
    checkpoint.result = result
    entry = audit.record(session, project, actor=None, now=at, action="land.item_submit_overdue",
                         data={"item": checkpoint.item_code, "due_on": checkpoint.due_on},
                         public=True)
    notify.tell(session, people, notify.Message(
        "deadline_overdue", f"【逾期未报】{project.name}：{name}",
        f"项目「{project.name}」（{project.code}）的{name.split('：')[0]}应于 {checkpoint.due_on} "
        "前报送，已逾期，请尽快报送。"),
        now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    return [f"{project.code}: {name} overdue since {checkpoint.due_on}"]

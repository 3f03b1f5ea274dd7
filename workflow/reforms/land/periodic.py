"""The periodic work of standard land (``sweep``): start and production
checks pass once the project gets there, idle-land and recovery warnings one
and two years after a missed start (闲置土地处置办法 第十四条, with the idle
fee), and the lead told once when a checkpoint passes its due date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.core import audit, notify
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.reforms.land.agreements import CHECK_STAGE, _agreement, _reached, _result
from workflow.reforms.land.deadlines import ITEM_KINDS, sweep_item_checkpoint
from workflow.reforms.land.idle import idle_due, idle_fee, standing_exemption, sweep_stoppages
from workflow.reforms.land.indicators import RULES, LandRules
from workflow.reforms.land.lifecycle import CHECKPOINTS
from workflow.reforms.land.models import Checkpoint


def sweep(session: Session, *, now: datetime, rules: LandRules = RULES) -> list[str]:
    """Periodic work of standard land; one line per thing recorded, nothing
    twice (each status or marker is checked under the project's lock):

    - an open start / production check whose project reached "started" /
      "producing" passes; an item's deadline met passes, one missed lapses or
      is overdue (``deadlines``);
    - a start not made a year after the agreed date: the idle-land warning
      with the fee; two years: the recovery warning (each once), unless a
      delay the government caused is recorded (``idle``);
    - a stoppage after an insufficient start that lasted a year: the
      idle-land warning (``idle.sweep_stoppages``);
    - a checkpoint still open after its due date (or a rectification after
      its deadline): the lead is told once per deadline."""
    today = ops.zone_today(now)
    lines: list[str] = []
    # Open checkpoints past their date (a rectification deadline is later
    # than its due date, so it is among them), and start/production checks
    # that pass as soon as the project gets there.
    candidates = session.execute(
        select(Checkpoint.id, Checkpoint.project_id)
        .where(Checkpoint.status.in_(("open", "rectifying")),
               or_(Checkpoint.due_on < today,
                   Checkpoint.kind.in_(("start", "production", *ITEM_KINDS))))
        .order_by(Checkpoint.project_id, Checkpoint.id)).all()
    for checkpoint_id, project_id in candidates:
        project = ops.lock_project(session, project_id)
        checkpoint = session.get(Checkpoint, checkpoint_id, with_for_update=True, populate_existing=True)
        if checkpoint.status not in ("open", "rectifying") or project.stage == "terminated":
            continue
        lines.extend(_sweep_one(session, project, checkpoint, today, now, rules))
    ops.flush(session)
    lines.extend(sweep_stoppages(session, now=now, rules=rules))
    return lines


def _sweep_one(session: Session, project: Project, checkpoint: Checkpoint, today: date,
               now: datetime, rules: LandRules) -> list[str]:
    if checkpoint.kind in ITEM_KINDS:
        return sweep_item_checkpoint(session, project, checkpoint, today, now)
    definition = ops.definition_for(project)
    at = ops.utc(now)
    if checkpoint.kind in ("start", "production") and checkpoint.status == "open" and _reached(
            definition, project, CHECK_STAGE[checkpoint.kind]):
        CHECKPOINTS.fire(checkpoint, "pass")
        checkpoint.decided_at = at
        checkpoint.note = f"项目已进入「{notify.stage_name(project, project.stage)}」阶段"
        audit.record(session, project, actor=None, now=at, action=f"land.{checkpoint.kind}_check",
                     from_state="open", to_state="passed", data={"auto": True}, public=True)
        return [f"{project.code}: {checkpoint.kind} check passed ({project.stage})"]
    lines = []
    if checkpoint.kind == "start":
        lines.extend(_idle_warnings(session, project, checkpoint, today, at, rules))
    due = checkpoint.rectify_by if checkpoint.status == "rectifying" and checkpoint.rectify_by else \
        checkpoint.due_on
    result = _result(checkpoint)
    notified = dict(result.get("notified") or {})
    if due < today and notified.get("overdue") != due.isoformat():
        notified["overdue"] = due.isoformat()
        result["notified"] = notified
        checkpoint.result = result
        what = CHECK_NAMES[checkpoint.kind]
        entry = audit.record(session, project, actor=None, now=at, action="land.checkpoint_overdue",
                             data={"checkpoint": checkpoint.kind, "due_on": due,
                                   "status": checkpoint.status})
        lead = [project.lead] if project.lead is not None else []
        notify.tell(session, lead, notify.Message(
            "checkpoint_overdue", f"【节点逾期】{project.name}：{what}",
            f"项目「{project.name}」（{project.code}）的{what}已于 {due} 到期，仍未完成，请跟进。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: {checkpoint.kind} checkpoint overdue since {due}")
    return lines


CHECK_NAMES = {"start": "开工核查", "completion": "竣工验收（对标）", "production": "投产核查",
               "capacity": "达产复核"}


def _idle_warnings(session: Session, project: Project, checkpoint: Checkpoint, today: date,
                   at: datetime, rules: LandRules) -> list[str]:
    if standing_exemption(session, project.id) is not None:
        return []  # 第八条: a delay the government caused is not charged nor taken back
    idle_day, recovery_day = idle_due(checkpoint.due_on)
    agreement = _agreement(session, project.id)
    people = ([project.lead] if project.lead is not None else []) + notify.enterprise_users(session, project)
    lines = []
    if today >= idle_day and checkpoint.idle_warned_on is None:
        checkpoint.idle_warned_on = today
        fee = idle_fee(agreement, rules)
        amount = (f"按出让价款的 {rules.idle_fee_rate * 100:.0f}% 征缴土地闲置费 {fee} 万元"
                  if fee is not None else "按出让价款的 20% 征缴土地闲置费（出让价款未登记）")
        entry = audit.record(session, project, actor=None, now=at, action="land.idle_warning",
                             data={"start_by": checkpoint.due_on,
                                   "fee_wan": str(fee) if fee is not None else None}, public=True)
        notify.tell(session, people, notify.Message(
            "idle_land", f"【闲置土地预警】{project.name}",
            f"项目「{project.name}」（{project.code}）约定 {checkpoint.due_on} 前动工，已满一年未动工开发。"
            f"依据《闲置土地处置办法》第十四条，可{amount}。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: idle-land warning (fee {fee} 万元)")
    if today >= recovery_day and checkpoint.recovery_warned_on is None:
        checkpoint.recovery_warned_on = today
        entry = audit.record(session, project, actor=None, now=at, action="land.recovery_warning",
                             data={"start_by": checkpoint.due_on}, public=True)
        notify.tell(session, people, notify.Message(
            "land_recovery", f"【土地收回预警】{project.name}",
            f"项目「{project.name}」（{project.code}）约定 {checkpoint.due_on} 前动工，已满两年未动工开发。"
            "依据《闲置土地处置办法》第十四条，可无偿收回国有建设用地使用权。"),
            now=at, key=f"audit:{entry.project_id}:{entry.seq}", project=project)
        lines.append(f"{project.code}: land-recovery warning")
    return lines

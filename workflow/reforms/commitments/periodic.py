"""The periodic work of commitments (``sweep``): 容缺 promises past their
deadline expire (the item is terminated, a minor credit record made) and
each overdue compliance check is reported to the project's lead once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import notify
from workflow.core import operations as ops
from workflow.core.models import CLOSED_STATES, AuditEvent
from workflow.reforms.commitments.common import _item_label, _record, _tell
from workflow.reforms.commitments.credit import _add_credit
from workflow.reforms.commitments.gaps import _load_gap
from workflow.reforms.commitments.letters import _load_letter
from workflow.reforms.commitments.lifecycle import CHECKABLE, PROMISES
from workflow.reforms.commitments.models import CommitmentLetter, GapAcceptance


def sweep(session: Session, *, now: datetime) -> list[str]:
    """Expire 容缺 promises whose deadline has passed unfulfilled (the item is
    terminated, enterprise, agent and lead are told, a minor credit record is
    made) and report each overdue compliance check to the project's lead once
    (per letter and due date). Idempotent: a second run records nothing new."""
    today = ops.zone_today(now)
    lines: list[str] = []
    expired = session.scalars(select(GapAcceptance.id).where(
        GapAcceptance.status == "open", GapAcceptance.deadline < today)
        .order_by(GapAcceptance.project_id, GapAcceptance.id)).all()
    for gap_id in expired:
        line = _expire_gap(session, gap_id, now=now, today=today)
        if line:
            lines.append(line)
    overdue = session.scalars(select(CommitmentLetter.id).where(
        CommitmentLetter.status.in_(CHECKABLE), CommitmentLetter.check_due < today)
        .order_by(CommitmentLetter.project_id, CommitmentLetter.id)).all()
    for letter_id in overdue:
        line = _report_overdue_check(session, letter_id, now=now)
        if line:
            lines.append(line)
    session.flush()
    return lines


def _expire_gap(session: Session, gap_id: int, *, now: datetime, today: date) -> str | None:
    gap = _load_gap(session, gap_id)
    project, task = gap.project, gap.task
    if gap.status != "open" or gap.deadline >= today:
        return None  # fulfilled meanwhile
    if task.state == "suspended":
        return None  # the project is suspended: its clocks (and this deadline) wait
    PROMISES.fire(gap, "expire")
    gap.expired_at = ops.utc(now)
    names = "、".join(m["name"] for m in gap.missing["materials"])
    entry = _record(session, project, "gap.expired", actor=None, now=now, task=task,
                    data={"gap": gap.id, "materials": [m["name"] for m in gap.missing["materials"]],
                          "deadline": gap.deadline})
    reason = f"容缺受理承诺的材料（{names}）未在{gap.deadline.isoformat()}前补齐"
    ops.flush(session)  # terminate_task reloads the project row
    if task.state not in CLOSED_STATES:
        ops.terminate_task(session, task.id, actor=None, now=now, reason=reason)
    _tell(session, [*notify.enterprise_users(session, project), task.assignee, project.lead],
          "gap_expired", f"【事项终止】{notify.item_name(project, task.item_code)}",
          f"{_item_label(project, task)}：{reason}，依容缺受理承诺终止办理。",
          now=now, key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    _add_credit(session, project, severity="minor", source="gap_expired", reason=reason,
                reference=f"gap:{gap.id}", actor=None, now=now, task=task)
    ops.flush(session)
    return f"{project.code} {task.item_code}: 容缺 deadline {gap.deadline} missed, item terminated"


def _report_overdue_check(session: Session, letter_id: int, *, now: datetime) -> str | None:
    letter = _load_letter(session, letter_id)
    project, task = letter.project, letter.task
    if letter.status not in CHECKABLE or letter.check_due is None:
        return None
    due = letter.check_due.isoformat()
    for data in session.scalars(select(AuditEvent.data).where(
            AuditEvent.project_id == project.id, AuditEvent.action == "commitment.check_overdue")):
        if data.get("letter") == letter.id and data.get("check_due") == due:
            return None
    entry = _record(session, project, "commitment.check_overdue", actor=None, now=now, task=task,
                    data={"letter": letter.id, "reference": letter.number, "check_due": due},
                    public=False)
    _tell(session, [project.lead], "commitment_check_overdue",
          f"【承诺核查超期】{letter.number}",
          f"{_item_label(project, task)}按承诺制办结，部门核查应于{due}前完成，现已超期，"
          "请督促核查并记录结果。",
          now=now, key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    ops.flush(session)
    return f"{project.code} {letter.number}: compliance check due {due} is overdue"

"""What happens at the department, on its statutory clock (部门's time): the
受理 of the application and the pauses the law excludes from its limit.

- ``accept_task`` records the 受理 (行政许可法 Art. 32, 42): the statutory
  clock, counted from the submission until then, now counts from the
  acceptance date (which may be earlier than today, never before the
  submission).
- ``pause_statutory`` / ``resume_statutory``: expert review (专家评审),
  hearing (听证), testing and appraisal (检验、检测、鉴定) do not count in the
  limit (Art. 45): the task is ``on_hold`` with the reason, and the days it
  lasted, in the limit's own unit, are added when it resumes. (补正 asked
  after the 受理 is ``request_materials``, which stops whichever clock runs.)

Each is an operation like the others: session, actor and time as arguments,
the machine fired by ``_transition``, only a flush.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from workflow.core import audit, clocks, permissions
from workflow.core.models import ItemTask
from workflow.core.taskstep import _end_pause, _require_text, _start_pause, _transition, recompute_due
from workflow.core.unitofwork import definition_for, flush, load_task
from workflow.kernel.errors import ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.moments import utc, zone_today

# The pauses of the statutory clock a department records (Art. 45), and how
# the reason reads in the record.
HOLD_KINDS = {"expert_review": "专家评审", "hearing": "听证", "testing": "检验检测鉴定",
              "other": "其他法定不计时情形"}


def accept_task(session: Session, task_id: int, *, actor: User, now: datetime,
                accepted_on: date | None = None, reference: str = "",
                expected_version: int | None = None) -> ItemTask:
    """受理: the department accepted the application on ``accepted_on`` (today
    when not given; not before the submission, not after today), with its
    acceptance number if any. The statutory due date is counted from it."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    today = zone_today(now)
    day = accepted_on or today
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError("The acceptance date (受理日) is a date.", field="accepted_on")
    if day > today:
        raise ValidationError("The acceptance date (受理日) cannot be after today.",
                              field="accepted_on")
    if task.submitted_on is not None and day < task.submitted_on:
        raise ValidationError(
            "The acceptance date (受理日) cannot be before the submission ({submitted}).",
            field="accepted_on", submitted=task.submitted_on.isoformat())
    if len(reference) > 100:
        raise ValidationError("An acceptance number is at most 100 characters.",
                              field="reference")
    item = definition_for(task.project).items[task.item_code]
    due = clocks.due(day, item.limit.amount + clocks.paused(task, "statutory")
                     + clocks.extensions(task, "statutory"), item.limit).date
    _transition(session, task, "accept", actor=actor, now=now, public=True,
                data={"accepted_on": day, "reference": reference.strip(), "due_on": due})
    task.accepted_on, task.clock = day, "statutory"
    recompute_due(task, item)
    flush(session)
    return task


def pause_statutory(session: Session, task_id: int, *, kind: str, reason: str, actor: User,
                    now: datetime, expected_version: int | None = None) -> ItemTask:
    """The department stops its clock for an expert review, a hearing or a
    test (Art. 45), with the reason: the task is on hold until it resumes."""
    if kind not in HOLD_KINDS:
        raise ValidationError("Unknown pause '{kind}'; choose one of {choices}.", field="kind",
                              kind=kind, choices=", ".join(HOLD_KINDS))
    reason = _require_text(reason, term("reason for the pause"))
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    _transition(session, task, "department_pause", actor=actor, now=now, public=True,
                data={"kind": kind, "reason": reason})
    _start_pause(session, task, zone_today(now), f"{HOLD_KINDS[kind]}: {reason}", kind=kind)
    flush(session)
    return task


def resume_statutory(session: Session, task_id: int, *, actor: User, now: datetime,
                     note: str = "", expected_version: int | None = None) -> ItemTask:
    """The expert review, hearing or test is over: the statutory clock runs
    again, its due date moved by the days it stood still (in its unit)."""
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    item = definition_for(task.project).items[task.item_code]
    _transition(session, task, "department_resume", actor=actor, now=now, public=True,
                data={"note": note})
    lasted = _end_pause(session, task, item, zone_today(now))
    audit.record(session, task.project, actor=actor, now=utc(now), action="task.clock_resumed",
                 task=task, data={"clock": task.clock, "paused_days": lasted,
                                  "due_on": task.due_on}, public=True)
    flush(session)
    return task

"""What the staff are told about their own work (issue 12, 2).

The enterprise hears of its case's milestones (``notify.task_event``); the
staff hear of what asks something of them: the enterprise supplied materials
(the assignee), an extension was requested (the project's lead handler) or
decided (the agent who asked), a task was assigned to them, reassigned or
handed off (the new and the previous assignee), the department returned an
item (the assignee and the lead), a rating was received, a commitment letter
was signed (the assignee and the lead). The one who acted is never told of
their own act.

Each cause is an audit event; its key (``audit:<project>:<seq>``) makes the
outbox rows unique, so a retried transaction never mails twice. Every
message goes through ``notify.tell`` and so honours each person's channels:
in-app always (the badge), email now, in the daily bundle or never, the
webhook on or off (``User.notify_email``, ``User.notify_webhook``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import notify
from workflow.core.models import AuditEvent, ItemTask, Project
from workflow.core.notify import Message
from workflow.kernel.models import User

# The kinds of message this module writes (and the reform areas through ``tell_staff``).
KINDS = ("materials_supplied", "extension_requested", "extension_decided", "task_assigned",
         "task_reassigned", "department_returned", "commitment_signed", "promise_signed",
         "rating_received")

Recipients = Callable[[Session, ItemTask, AuditEvent], Iterable[User | None]]
Builder = Callable[[Project, ItemTask, dict[str, Any]], Message]


def _by_username(session: Session, *names: Any) -> list[User]:
    wanted = [n for n in names if isinstance(n, str) and n]
    if not wanted:
        return []
    return list(session.scalars(select(User).where(User.username.in_(wanted)).order_by(User.id)))


def _item(project: Project, task: ItemTask) -> str:
    return f"「{project.name}」（{project.code}）的事项「{notify.item_name(project, task.item_code)}」"


def _assignee(session, task, entry):
    return [task.assignee]


def _lead(session, task, entry):
    return [task.project.lead]


def _assignee_and_lead(session, task, entry):
    return [task.assignee, task.project.lead]


def _new_assignee(session, task, entry):
    return _by_username(session, entry.data.get("assignee"))


def _new_and_previous(session, task, entry):
    return _by_username(session, entry.data.get("assignee"), entry.data.get("previous"))


def _supplied(project, task, data):
    note = f"\n企业说明：{data['note']}" if data.get("note") else ""
    return Message("materials_supplied", f"【企业已补正材料】{notify.item_name(project, task.item_code)}",
                   f"企业已提交{_item(project, task)}的补正材料，办理时限恢复计算。{note}")


def _extension_requested(project, task, data):
    return Message("extension_requested",
                   f"【延期申请待审批】{notify.item_name(project, task.item_code)}",
                   f"{_item(project, task)}申请延期 {data.get('days')} 个工作日，"
                   f"理由：{data.get('reason', '')}。请在待办中审批。")


def _extension_decided(project, task, data):
    verdict = "已批准" if data.get("approved") else "未获批准"
    note = f"，意见：{data['note']}" if data.get("note") else ""
    due = f"新的时限为 {task.due_on.isoformat()}。" if data.get("approved") and task.due_on else ""
    return Message("extension_decided", f"【延期申请{verdict}】{notify.item_name(project, task.item_code)}",
                   f"{_item(project, task)}延期 {data.get('days')} 个工作日的申请{verdict}{note}。{due}")


def _assigned(project, task, data):
    due = f"，时限 {task.due_on.isoformat()}" if task.due_on else ""
    how = "系统按工作量自动分配" if data.get("auto") else "领办人分配"
    return Message("task_assigned", f"【新分配】{notify.item_name(project, task.item_code)}",
                   f"{_item(project, task)}已由{how}给您办理{due}。")


def _reassigned(project, task, data):
    word = "移交" if data.get("handoff") else "改派"
    reason = f"，原因：{data['reason']}" if data.get("reason") else ""
    return Message("task_reassigned", f"【事项{word}】{notify.item_name(project, task.item_code)}",
                   f"{_item(project, task)}已{word}：{data.get('previous') or '—'} → "
                   f"{data.get('assignee') or '—'}{reason}。")


def _returned(project, task, data):
    return Message("department_returned", f"【部门退回】{notify.item_name(project, task.item_code)}",
                   f"{_item(project, task)}被审批部门退回，原因：{data.get('reason', '')}。"
                   "请整改后重新报送。")


# task event -> (who, what)
TASK_RULES: dict[str, tuple[Recipients, Builder]] = {
    "supply_materials": (_assignee, _supplied),
    "request_extension": (_lead, _extension_requested),
    "decide_extension": (_assignee, _extension_decided),
    "assign": (_new_assignee, _assigned),
    "reassign": (_new_and_previous, _reassigned),
    "department_return": (_assignee_and_lead, _returned),
}


def task_event(session: Session, task: ItemTask, entry: AuditEvent) -> None:
    """Tell the staff concerned by the task event ``entry`` (in its transaction)."""
    rule = TASK_RULES.get(entry.action.removeprefix("task."))
    if rule is None:
        return
    recipients, build = rule
    with session.no_autoflush:
        project = task.project
        tell_staff(session, recipients(session, task, entry), build(project, task, entry.data),
                   entry, project=project, task=task)


def tell_staff(session: Session, users: Iterable[User | None], message: Message,
               entry: AuditEvent, *, project: Project, task: ItemTask | None = None) -> list[User]:
    """``message`` to the staff among ``users`` but the actor of ``entry``,
    keyed by the audit event (one cause, one message per person)."""
    staff = [u for u in users if u is not None and u.role != "enterprise"
             and u.id != entry.actor_id]
    return notify.tell(session, staff, message, now=entry.at,
                       key=f"audit:{entry.project_id}:{entry.seq}:staff", project=project,
                       task=task)

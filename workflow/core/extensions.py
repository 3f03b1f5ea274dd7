"""Extensions of an item's limit (延期): who may ask now, the request and the
lead handler's decision.

``extension_refusal`` is the one rule: the pages offer the form only when it
finds nothing to refuse (``can_request_extension``), and the operation raises
its refusal, so the page and the engine agree. A refusal carries a ``refusal``
code and its figures in ``details``; the web turns them into a sentence in the
user's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import clocks, permissions
from workflow.core.models import ExtensionRequest, ItemTask
from workflow.core.taskstep import _require_text, _transition, recompute_due
from workflow.core.unitofwork import definition_for, flush, load_task, machine_for
from workflow.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.moments import utc


def granted(task: ItemTask, item) -> int:
    """The extensions granted so far on the item's extension clock."""
    return clocks.extensions(task, item.extension_clock)


def pending_extensions(session: Session, task_ids: Iterable[int]) -> set[int]:
    """The tasks among ``task_ids`` with an extension request waiting for a
    decision: one query for a whole list."""
    ids = sorted(set(task_ids))
    if not ids:
        return set()
    return set(session.scalars(select(ExtensionRequest.task_id).where(
        ExtensionRequest.task_id.in_(ids), ExtensionRequest.decided_at.is_(None)).distinct()))


def has_pending_extension(session: Session, task: ItemTask) -> bool:
    return task.id in pending_extensions(session, [task.id])


def extension_refusal(task: ItemTask, item, *, pending: bool,
                      days: int | None = None) -> ValidationError | InvalidTransition | None:
    """Why an extension of ``days`` (any number when None) cannot be asked for
    on ``task`` now, or None: the item allows none, its allowance is used up,
    a request already waits, the extension clock has stopped, or the task's
    state takes no request."""
    clock = item.extension_clock
    if item.max_extension_days == 0:
        return ValidationError("The limit of item {item} cannot be extended.",
                               refusal="extension_not_allowed", limit=0, **_named(item))
    left = item.max_extension_days - granted(task, item)
    if left <= 0 or (days is not None and days > left):
        return ValidationError(
            "Item {item} may be extended by at most {limit} days in all ({granted} granted "
            "already).",
            refusal="extension_used_up", limit=item.max_extension_days, **_named(item),
            granted=granted(task, item), left=max(left, 0), field="days" if left > 0 else None)
    if pending:
        return ValidationError(
            "An extension request for this task is already waiting for a decision.",
            refusal="extension_pending")
    if clocks.stop_of(task, clock) is not None:
        return InvalidTransition(
            "The {clock} clock of item {item} has stopped: there is nothing to extend.",
            refusal="extension_clock_stopped", clock=clock, state=task.state, item=item.code)
    if not machine_for(task.project).can(task, "request_extension"):
        return InvalidTransition("No extension can be requested while the item is {state}.",
                                 refusal="extension_state", state=task.state)
    return None


def _named(item) -> dict[str, str]:
    return {"item": item.code, "item_zh": item.name_zh, "item_en": item.name_en}


def can_request_extension(task: ItemTask, item, *, pending: bool) -> bool:
    """Whether a request for some extension would be accepted now (the
    actor's permission is checked apart, by ``permissions.can_work``)."""
    return extension_refusal(task, item, pending=pending) is None


def request_extension(session: Session, task_id: int, days: int, *, reason: str, actor: User,
                      now: datetime, expected_version: int | None = None) -> ExtensionRequest:
    """Ask for +N days (in the unit of the limit extended) on the item's
    extension clock: the statutory one unless the definition names the
    service clock (行政许可法 Art. 42); a lead handler decides."""
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise ValidationError("An extension is a whole number of days above zero.", field="days")
    reason = _require_text(reason, term("reason for the extension"))
    task = load_task(session, task_id, expected_version)
    permissions.require(actor, "work", task)
    item = definition_for(task.project).items[task.item_code]
    refusal = extension_refusal(task, item, pending=has_pending_extension(session, task),
                                days=days)
    if refusal is not None:
        raise refusal
    _transition(session, task, "request_extension", actor=actor, now=now,
                data={"days": days, "reason": reason})
    request = ExtensionRequest(task_id=task.id, days=days, reason=reason,
                               requested_by_id=actor.id, requested_at=utc(now))
    session.add(request)
    flush(session)
    return request


def decide_extension(session: Session, request_id: int, *, approve: bool, actor: User,
                     now: datetime, note: str = "") -> ExtensionRequest:
    """A lead handler approves (the extension clock's due date moves by N
    days of its unit) or refuses."""
    request = session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound("Extension request {request} does not exist.", request=request_id)
    task = load_task(session, request.task_id)
    session.refresh(request, with_for_update=True)
    permissions.require(actor, "decide_extension", task)
    if request.decided_at is not None:
        raise Conflict("This extension request was already decided.",
                       refusal="extension_decided")
    if not approve:
        _require_text(note, term("reason for refusing the extension"))
    item = definition_for(task.project).items[task.item_code]
    _transition(session, task, "decide_extension", actor=actor, now=now,
                data={"days": request.days, "approved": approve, "note": note})
    request.approved, request.decided_by_id = approve, actor.id
    request.decided_at, request.decision_note = utc(now), note
    if approve:
        if item.extension_clock == "service":
            task.service_extension_days = (task.service_extension_days or 0) + request.days
        else:
            task.extension_days += request.days
        recompute_due(task, item)
    flush(session)
    return request

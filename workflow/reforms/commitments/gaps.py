"""容缺受理: an item accepted with secondary materials missing against the
enterprise's written promise to supply them by a deadline, the promise
signed, the materials supplied, and the guard that keeps such an item from
completing before they arrive (``task.complete``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from definitions import ESSENTIAL_MATERIALS, Item
from workflow.core import clocks, hooks, notify, permissions, staffnotices
from workflow.core import operations as ops
from workflow.core.models import ItemTask, Project
from workflow.kernel.errors import Conflict, InvalidTransition, NotFound, ValidationError, term
from workflow.kernel.models import User
from workflow.kernel.signatures import check_signature
from workflow.reforms.commitments.common import (
    _item_and_department,
    _item_label,
    _record,
    _require_enterprise_user,
    _tell,
)
from workflow.reforms.commitments.credit import _require_clean_credit
from workflow.reforms.commitments.lifecycle import PROMISES
from workflow.reforms.commitments.models import GapAcceptance

# 容缺受理 is an acceptance: the agent accepts when starting the work.
GAP_STATES = ("assigned", "in_progress")


def gaps_of_project(session: Session, project_id: int) -> list[GapAcceptance]:
    return list(session.scalars(select(GapAcceptance).where(
        GapAcceptance.project_id == project_id).order_by(GapAcceptance.id)))


def open_gap(session: Session, task_id: int) -> GapAcceptance | None:
    return session.scalar(select(GapAcceptance).where(
        GapAcceptance.task_id == task_id, GapAcceptance.status == "open"))


@hooks.preparer("tasks.offer")
def read_open_gaps(session: Session, tasks: list[ItemTask]) -> None:
    """The open 容缺 promises of a list's tasks in one query (a page of tasks
    bounds the id list), read if the guard below asks while actions are offered."""
    ids = sorted({t.id for t in tasks})

    def load() -> dict:
        found = {gap.task_id: gap for gap in session.scalars(select(GapAcceptance).where(
            GapAcceptance.task_id.in_(ids), GapAcceptance.status == "open"))}
        return {("open_gap", i): found.get(i) for i in ids}

    hooks.prepare("open_gap", load)


@hooks.guard("task.complete")
def require_no_open_gap(session: Session, task: ItemTask) -> None:
    """An item accepted with gaps completes only once the promised materials
    arrived (the guard ``complete_task`` calls)."""
    gap = hooks.remembered(("open_gap", task.id), lambda: open_gap(session, task.id))
    if gap is not None:
        raise InvalidTransition(
            "Item {item} was accepted with materials missing (容缺受理); they must be "
            "supplied (by {due}) before it can be completed.",
            gap=gap.id, deadline=gap.deadline, refusal="gap_open",
            due=gap.deadline.isoformat(), item=task.item_code)


def promise_text(project: Project, item: Item, department: str,
                 missing: Sequence[dict[str, str]], deadline: date) -> str:
    """The enterprise's written promise under 容缺受理."""
    enterprise = project.enterprise
    listed = "\n".join(f"    {n}. {m['name']}" for n, m in enumerate(missing, 1))
    return (
        f"容缺受理承诺书\n\n致：{department}\n\n"
        f"本单位{enterprise.name}（统一社会信用代码：{enterprise.credit_code or '—'}）"
        f"就「{project.name}」项目（项目代码：{project.code}）办理「{item.name_zh}」事项，"
        f"经同意适用容缺受理。本单位承诺于{deadline.isoformat()}前补齐下列材料：\n{listed}\n\n"
        "逾期未补齐的，本单位同意该事项终止办理，并记入企业信用记录。\n\n"
        f"承诺单位：{enterprise.name}\n"
    )


def _load_gap(session: Session, gap_id: int) -> GapAcceptance:
    task_id = session.scalar(select(GapAcceptance.task_id).where(GapAcceptance.id == gap_id))
    if task_id is None:
        raise NotFound("Acceptance with gaps {gap} does not exist.", gap=gap_id)
    ops.load_task(session, task_id)
    gap = session.get(GapAcceptance, gap_id)
    session.refresh(gap, with_for_update=True)
    return gap


def accept_with_gaps(session: Session, task_id: int, missing: Sequence[str], *, deadline: date,
                     actor: User, now: datetime) -> GapAcceptance:
    """容缺受理: the agent accepts the item although the listed secondary
    materials are missing. Only materials the definition marks ``secondary``
    may be missing, never an essential one (the 项目代码); the deadline for
    them lies after today and no later than the end of the item's legal limit
    (``clocks.legal_due``). An assigned item is started (accepted) by this."""
    codes = list(dict.fromkeys(c.strip() for c in missing if c and c.strip()))
    if not codes:
        raise ValidationError("List the missing materials (at least one).", field="missing")
    task = ops.load_task(session, task_id)
    project = task.project
    permissions.require(actor, "work", task)
    item, department = _item_and_department(project, task.item_code)
    by_code = {m.code: m for m in item.materials}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValidationError("Item {item} has no material {codes}.", field="missing",
                              materials=unknown, item=item.code, codes=", ".join(unknown))
    essential = [by_code[c].name_zh for c in codes if c in ESSENTIAL_MATERIALS]
    if essential:
        # Whatever the item's definition says: the 项目代码 is the identity every
        # department checks, so an item is never accepted without it.
        raise ValidationError("{names} can never be missing under 容缺受理.", field="missing",
                              materials=essential, names="、".join(essential))
    primary = [by_code[c].name_zh for c in codes if not by_code[c].secondary]
    if primary:
        raise ValidationError(
            "Only secondary materials may be missing under 容缺受理; these are required at "
            "acceptance: {names}.", field="missing", materials=primary, names="、".join(primary))
    if task.state not in GAP_STATES:
        raise InvalidTransition("An item is accepted with gaps when its work starts, not while it "
                                "is {state}.", state=task.state)
    if open_gap(session, task.id) is not None:
        raise Conflict("This item already waits for promised materials (容缺受理).")
    _require_clean_credit(session, project, term("acceptance with gaps (容缺受理)"))
    today = ops.zone_today(now)
    if not isinstance(deadline, date) or deadline <= today:
        raise ValidationError("The deadline for the missing materials must be a date after today.",
                              field="deadline")
    limit = clocks.legal_due(task, item)
    if limit is not None and deadline > limit:
        raise ValidationError(
            "The deadline may not be later than the item's own limit ({due_on}).",
            field="deadline", due_on=limit)
    if task.state == "assigned":
        ops.start_task(session, task.id, actor=actor, now=now)
    listed = [{"code": c, "name": by_code[c].name_zh} for c in codes]
    gap = GapAcceptance(project_id=project.id, task_id=task.id, missing={"materials": listed},
                        deadline=deadline, status="open", accepted_by_id=actor.id,
                        accepted_at=ops.utc(now),
                        promise_text=promise_text(project, item, department, listed, deadline))
    session.add(gap)
    ops.flush(session)
    entry = _record(session, project, "gap.accepted", actor=actor, now=now, task=task,
                    data={"gap": gap.id, "materials": [m["name"] for m in listed],
                          "deadline": deadline})
    _tell(session, notify.enterprise_users(session, project), "gap_accepted",
          f"【容缺受理】{item.name_zh}",
          f"{_item_label(project, task)}已容缺受理。请登录企业端签署容缺受理承诺书，并于"
          f"{deadline.isoformat()}前补齐：{'、'.join(m['name'] for m in listed)}。逾期未补齐的，"
          "该事项将终止办理。", now=now, key=f"audit:{project.id}:{entry.seq}",
          project=project, task=task)
    ops.flush(session)
    return gap


def sign_promise(session: Session, gap_id: int, *, actor: User, now: datetime, signatory: str,
                 consent: bool) -> GapAcceptance:
    """The enterprise signs its written promise (容缺受理承诺书) in the portal."""
    gap = _load_gap(session, gap_id)
    project, task = gap.project, gap.task
    _require_enterprise_user(actor, project)
    if gap.status != "open" or gap.promised_at is not None:
        raise InvalidTransition("This promise is not waiting for a signature.", status=gap.status)
    _require_clean_credit(session, project, term("acceptance with gaps (容缺受理)"))
    signatory, digest = check_signature(gap.promise_text, signatory=signatory, consent=consent,
                                        what=term("promise"))
    gap.promised_by_id, gap.promised_at = actor.id, ops.utc(now)
    entry = _record(session, project, "gap.promised", actor=actor, now=now, task=task,
                    data={"gap": gap.id, "signatory": signatory,
                          "sha256": digest, "deadline": gap.deadline})
    with session.no_autoflush:
        item = notify.item_name(project, task.item_code)
        staffnotices.tell_staff(
            session, [task.assignee, project.lead], notify.Message(
                "promise_signed", f"【容缺承诺书已签署】{item}",
                f"企业已签署「{project.name}」（{project.code}）事项「{item}」的容缺受理承诺书，"
                f"须于 {gap.deadline.isoformat()} 前补齐所缺材料。"),
            entry, project=project, task=task)
    ops.flush(session)
    return gap


def fulfil_gap(session: Session, gap_id: int, *, actor: User, now: datetime,
               note: str = "") -> GapAcceptance:
    """The promised materials arrived in time (the agent records it, or the
    enterprise marks them supplied): the promise is kept and the item goes on."""
    gap = _load_gap(session, gap_id)
    project, task = gap.project, gap.task
    permissions.require(actor, "supply_materials", task)
    if gap.status != "open":
        raise InvalidTransition("This promise is already {status}.", status=gap.status)
    if ops.zone_today(now) > gap.deadline:
        raise InvalidTransition("The deadline ({deadline}) has passed; the item is "
                                "terminated by the next sweep.", deadline=gap.deadline)
    PROMISES.fire(gap, "fulfil")
    gap.fulfilled_at = ops.utc(now)
    entry = _record(session, project, "gap.fulfilled", actor=actor, now=now, task=task,
                    data={"gap": gap.id, "materials": [m["name"] for m in gap.missing["materials"]],
                          "note": note.strip()})
    staff = [task.assignee] if task.assignee is not None else [project.lead]
    told = notify.enterprise_users(session, project) if actor.role != "enterprise" else staff
    _tell(session, [u for u in told if u is not None and u.id != actor.id], "gap_fulfilled",
          f"【容缺材料已补齐】{notify.item_name(project, task.item_code)}",
          f"{_item_label(project, task)}容缺受理的材料已补齐，事项继续办理。",
          now=now, key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    ops.flush(session)
    return gap

"""承诺制: the commitment letter generated from the item's standards and the
project's data, numbered, offered, withdrawn and signed by the enterprise
(the item then completes by commitment), and the department's compliance
check (kept, rectify, broken, false)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from definitions import Item
from workflow.core import notify, permissions, staffnotices
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel import clock
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
    term,
)
from workflow.kernel.models import User
from workflow.kernel.signatures import check_signature
from workflow.reforms.commitments.common import (
    _item_and_department,
    _item_label,
    _record,
    _require_enterprise_user,
    _tell,
)
from workflow.reforms.commitments.credit import _add_credit, _require_clean_credit
from workflow.reforms.commitments.lifecycle import CHECKABLE, LETTERS
from workflow.reforms.commitments.models import CommitmentLetter

DEFAULT_CHECK_DAYS = 60
NUMBER_PREFIX = "左开承"
# States in which an item can still be completed by commitment (released, not
# yet with the department's decision).
OFFERABLE_STATES = ("ready", "assigned", "in_progress", "awaiting_enterprise", "returned")
CHECK_OUTCOMES = ("kept", "rectify", "broken", "false")
_OUTCOME_STATUS = {"kept": "kept", "rectify": "rectifying", "broken": "broken", "false": "false"}

# What the enterprise commits to, per committable item (the letter's 第二条).
# Short and plain; the item's ``basis`` in the definition is the legal rule.
STANDARDS: dict[str, tuple[str, ...]] = {
    "project_filing": (
        "项目符合国家和山西省产业政策，不属于《产业结构调整指导目录》限制类、淘汰类项目；",
        "项目备案信息（项目名称、建设地点、建设规模和内容、总投资）真实、准确、完整，"
        "如有重大变更及时告知备案机关；",
        "项目开工建设前依法取得其他所需的审批、许可和备案手续；",
        "通过投资项目在线审批监管平台如实报送开工、建设进度、竣工等信息。",
    ),
    "eia_approval": (
        "项目建设内容、规模和选址与环境影响报告表一致，符合生态环境分区管控要求；",
        "落实报告表提出的各项污染防治和生态保护措施，污染物排放符合国家和地方排放标准"
        "及总量控制要求；",
        "环境保护设施与主体工程同时设计、同时施工、同时投产使用（“三同时”）；",
        "项目竣工后依法开展环境保护设施竣工验收。",
    ),
    "energy_review": (
        "项目用能符合节能法律法规、强制性能耗限额标准和能效标准；",
        "落实节能报告提出的各项节能措施，不采用国家明令淘汰的用能设备和生产工艺；",
        "项目能源消费量和能效水平不突破节能报告确定的指标；",
        "项目投入生产、使用前接受节能审查意见落实情况的验收。",
    ),
    "drawing_commitment": (
        "施工图设计文件符合法律法规和工程建设强制性标准；",
        "建设单位、设计单位对施工图设计文件质量承担主体责任，设计深度满足施工需要；",
        "施工图设计文件按规定报送主管部门，接受事中事后抽查；",
        "发现违反强制性标准的，立即整改并依法承担相应责任。",
    ),
}


def committable(item: Item) -> bool:
    return bool(item.coverage.commitment)


def letters_of_project(session: Session, project_id: int) -> list[CommitmentLetter]:
    return list(session.scalars(select(CommitmentLetter).where(
        CommitmentLetter.project_id == project_id).order_by(CommitmentLetter.id)))


def letter_text(project: Project, item: Item, department: str, number: str,
                check_days: int) -> str:
    """The commitment letter (承诺书) as the enterprise reads and signs it."""
    enterprise = project.enterprise
    standards = STANDARDS.get(item.code) or (
        f"严格遵守「{item.name_zh}」适用的法律法规和标准要求；",)
    materials = "\n".join(f"    {n}. {m.name_zh}" for n, m in enumerate(item.materials, 1)) \
        or "    （无）"
    promised = "\n".join(f"    {n}. {s}" for n, s in enumerate(standards, 1))
    return (
        f"企业投资项目承诺书\n编号：{number}\n\n"
        f"致：{department}\n\n"
        f"本单位{enterprise.name}（统一社会信用代码：{enterprise.credit_code or '—'}）"
        f"就「{project.name}」项目（项目代码：{project.code}）办理「{item.name_zh}」事项，"
        "自愿适用企业投资项目承诺制，郑重承诺如下：\n\n"
        f"一、所提交的下列材料真实、合法、有效，无虚假内容：\n{materials}\n\n"
        f"二、本项目严格执行以下标准和要求：\n{promised}\n\n"
        f"三、本承诺的依据：{item.basis or '山西省企业投资项目承诺制规定'}。\n\n"
        f"四、本单位知悉：承诺书签署后该事项按承诺办结；{department}将在签署之日起"
        f"{check_days}个工作日内开展事中事后核查。经核查未履行承诺的，责令限期整改；"
        "拒不整改或承诺不实（虚假承诺）的，依法撤销相关手续，并记入企业信用记录；"
        "存在严重失信记录的企业不得适用承诺制和容缺受理。\n\n"
        "五、本承诺书经本单位在线签署即生效。\n\n"
        f"承诺单位：{enterprise.name}\n"
    )


def _next_number(session: Session, year: int) -> str:
    prefix = f"{NUMBER_PREFIX}〔{year}〕"
    issued = session.scalar(select(func.count(CommitmentLetter.id)).where(
        CommitmentLetter.number.like(f"{prefix}%"))) or 0
    return f"{prefix}{issued + 1:04d}号"


def _load_letter(session: Session, letter_id: int) -> CommitmentLetter:
    """The letter, after its project and task rows are locked (lock order)."""
    task_id = session.scalar(select(CommitmentLetter.task_id).where(CommitmentLetter.id == letter_id))
    if task_id is None:
        raise NotFound("Commitment letter {letter} does not exist.", letter=letter_id)
    ops.load_task(session, task_id)
    letter = session.get(CommitmentLetter, letter_id)
    session.refresh(letter, with_for_update=True)
    return letter


def offer_commitment(session: Session, task_id: int, *, actor: User, now: datetime,
                     check_days: int = DEFAULT_CHECK_DAYS) -> CommitmentLetter:
    """Staff (the task's agent or a lead) offer the enterprise a commitment
    letter for a committable item: the letter is generated from the item's
    standards and the project's data, numbered 左开承〔year〕NNNN号, and waits
    for the enterprise's signature. ``check_days`` (working days from signing
    to the department's compliance check) is written into the letter."""
    if not isinstance(check_days, int) or isinstance(check_days, bool) or check_days <= 0:
        raise ValidationError("The compliance check period must be a whole number of working days.")
    task = ops.load_task(session, task_id)
    project = task.project
    if not permissions.can_offer_commitment(actor, task):
        raise NotPermitted("{user} may not offer a commitment on task {task}.",
                           task=task.id, user=actor.username)
    item, department = _item_and_department(project, task.item_code)
    if not committable(item):
        raise InvalidTransition("Item {item} is not on the commitment list (承诺制).",
                                item=item.code)
    if task.state not in OFFERABLE_STATES:
        raise InvalidTransition("A commitment cannot be offered while the item is {state}.",
                                state=task.state)
    _require_clean_credit(session, project, term("the commitment system (承诺制)"))
    if session.scalar(select(CommitmentLetter.id).where(
            CommitmentLetter.task_id == task.id, CommitmentLetter.status == "issued")):
        raise Conflict("A commitment letter for this item is already waiting for the signature.")
    number = _next_number(session, ops.zone_today(now).year)
    text = letter_text(project, item, department, number, check_days)
    letter = CommitmentLetter(
        project_id=project.id, task_id=task.id, number=number, text=text, status="issued",
        standards={"item": item.code, "standards": list(STANDARDS.get(item.code, ())),
                   "basis": item.basis, "materials": [m.name_zh for m in item.materials],
                   "check_days": check_days},
        issued_by_id=actor.id, issued_at=ops.utc(now))
    session.add(letter)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("Another letter took this number at the same moment; try again.") from exc
    entry = _record(session, project, "commitment.offered", actor=actor, now=now, task=task,
                    data={"letter": letter.id, "reference": number})
    _tell(session, notify.enterprise_users(session, project), "commitment_offered",
          f"【承诺书待签署】{item.name_zh}",
          f"{_item_label(project, task)}可适用承诺制办理。请登录企业端阅读承诺书（{number}）并在线签署，"
          "签署后该事项即按承诺办结。", now=now, key=f"audit:{project.id}:{entry.seq}",
          project=project, task=task)
    ops.flush(session)
    return letter


def withdraw_commitment(session: Session, letter_id: int, *, actor: User, now: datetime,
                        reason: str) -> CommitmentLetter:
    """Staff withdraw a letter the enterprise has not signed yet."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("A reason for withdrawing the letter is required.", field="reason")
    letter = _load_letter(session, letter_id)
    if not permissions.can_offer_commitment(actor, letter.task):
        raise NotPermitted("{user} may not withdraw letter {number}.", user=actor.username,
                           number=letter.number)
    if letter.status != "issued":
        raise InvalidTransition("Letter {number} is {status}; only an unsigned "
                                "letter can be withdrawn.", status=letter.status,
                                number=letter.number)
    LETTERS.fire(letter, "withdraw")
    _record(session, letter.project, "commitment.withdrawn", actor=actor, now=now,
            task=letter.task, data={"letter": letter.id, "reference": letter.number,
                                    "reason": reason})
    ops.flush(session)
    return letter


def sign_commitment(session: Session, letter_id: int, *, actor: User, now: datetime,
                    signatory: str, consent: bool, shown_sha256: str | None = None
                    ) -> CommitmentLetter:
    """The enterprise signs the letter in the portal (typed signatory name and
    explicit consent): the SHA-256 of the signed text is kept, the item is
    completed by commitment (its dependants are released) and the department's
    compliance check falls due the letter's number of working days later.
    ``shown_sha256``, when given, must match the text (the user signed what
    they read)."""
    letter = _load_letter(session, letter_id)
    project, task = letter.project, letter.task
    _require_enterprise_user(actor, project)
    if letter.status != "issued":
        raise InvalidTransition("Letter {number} is {status}, not waiting for a "
                                "signature.", status=letter.status, number=letter.number)
    _require_clean_credit(session, project, term("the commitment system (承诺制)"))
    signatory, digest = check_signature(letter.text, signatory=signatory, consent=consent,
                                        what=term("commitment letter"), shown_sha256=shown_sha256)
    days = int(letter.standards.get("check_days") or DEFAULT_CHECK_DAYS)
    LETTERS.fire(letter, "sign")
    letter.signed_by_id, letter.signed_at = actor.id, ops.utc(now)
    letter.signature, letter.text_sha256 = signatory, digest
    letter.check_due = clock.add_working_days(ops.zone_today(now), days).date
    entry = _record(session, project, "commitment.signed", actor=actor, now=now, task=task,
                    data={"letter": letter.id, "reference": letter.number,
                          "signatory": signatory, "sha256": digest,
                          "check_due": letter.check_due})
    with session.no_autoflush:
        item = notify.item_name(project, task.item_code)
        staffnotices.tell_staff(
            session, [task.assignee, project.lead], notify.Message(
                "commitment_signed", f"【承诺书已签署】{item}",
                f"企业已签署「{project.name}」（{project.code}）事项「{item}」的告知承诺书"
                f" {letter.number}，事项以承诺方式办结；核查时限 {letter.check_due.isoformat()}。"),
            entry, project=project, task=task)
    ops.flush(session)
    # The system completes the item: the enterprise is not a staff member who may cover.
    ops.cover_task(session, task.id, reference=letter.number, kind="commitment", actor=None, now=now)
    return letter


def record_check(session: Session, letter_id: int, *, outcome: str, actor: User, now: datetime,
                 note: str = "", rectify_by: date | None = None) -> CommitmentLetter:
    """The department's compliance check (事中事后核查) on a signed letter:
    ``kept``; ``rectify`` by a date (the re-check falls due then); ``broken``
    or ``false`` (虚假承诺) — both a serious credit record on the enterprise."""
    if outcome not in CHECK_OUTCOMES:
        raise ValidationError("Unknown outcome '{outcome}' (kept, rectify, broken or false).",
                              field="outcome", outcome=outcome)
    note = (note or "").strip()
    if outcome != "kept" and not note:
        raise ValidationError("Say what the check found (a note is required unless the commitment "
                              "was kept).", field="note")
    letter = _load_letter(session, letter_id)
    project, task = letter.project, letter.task
    if not permissions.can_check_commitment(actor, task):
        raise NotPermitted("{user} may not record the check of {number}.", user=actor.username,
                           number=letter.number)
    if letter.status not in CHECKABLE:
        raise InvalidTransition("Letter {number} is {status}; only a signed letter "
                                "(or one under rectification) is checked.", status=letter.status,
                                number=letter.number)
    today = ops.zone_today(now)
    if outcome == "rectify":
        if not isinstance(rectify_by, date) or rectify_by <= today:
            raise ValidationError("Rectification needs a deadline after today.",
                                  field="rectify_by")

        letter.rectify_by, letter.check_due = rectify_by, rectify_by
    before = letter.status
    LETTERS.fire(letter, f"check_{outcome}")
    letter.checked_by_id, letter.checked_at, letter.check_note = actor.id, ops.utc(now), note
    entry = _record(session, project, "commitment.checked", actor=actor, now=now, task=task,
                    data={"letter": letter.id, "reference": letter.number, "outcome": outcome,
                          "from": before, "reason": note,
                          "deadline": rectify_by if outcome == "rectify" else None})
    verdict = {"kept": "承诺已履行", "rectify": f"需于{rectify_by}前整改",
               "broken": "未履行承诺", "false": "承诺不实（虚假承诺）"}[outcome]
    _tell(session, notify.enterprise_users(session, project), "commitment_checked",
          f"【承诺核查】{letter.number}：{verdict}",
          f"{_item_label(project, task)}的承诺核查结果：{verdict}。" + (f"\n说明：{note}" if note else ""),
          now=now, key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    if outcome in ("broken", "false"):
        _add_credit(session, project, severity="serious", source=f"commitment_{outcome}",
                    reason=f"{letter.number}：{verdict}。{note}", reference=letter.number,
                    actor=actor, now=now, task=task)
    ops.flush(session)
    return letter

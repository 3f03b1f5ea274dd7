"""承诺制 (commitments), 容缺受理 (acceptance with gaps) and credit records.

- 承诺制: for an item the definition marks as committable
  (``coverage.commitment``), staff offer a commitment letter generated from the
  item's standards and the project's data; the enterprise signs it in the
  portal and the item completes by commitment (``cover_task`` with the
  letter's number). The department's compliance check falls due a number of
  working days after signing (fixed in the letter when it is offered) and
  records kept, rectify by a date (a later check re-decides), broken or
  false (虚假承诺).
- 容缺受理: an agent accepts an item with secondary materials missing against
  the enterprise's written promise to supply them by a deadline no later than
  the item's own due date. Supplied in time, the item goes on (and may then be
  completed); a missed deadline terminates the item with a notice.
- 信用记录: a broken or false commitment is a serious record, a missed 容缺
  deadline a minor one. An enterprise with an uncleared serious record can use
  neither commitments nor 容缺 until an admin clears the record.

Operations follow ``workflow.core.operations``: explicit actor and time, permission
and input checks, one audit event per change on the project's chain, people
told through ``workflow.core.notify``, flush only. ``sweep`` does the periodic part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from definitions import Item
from workflow.core import audit, hooks, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import CLOSED_STATES, AuditEvent, ItemTask, Project
from workflow.kernel import clock, paging, validate
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
)
from workflow.kernel.models import Enterprise, User
from workflow.kernel.validate import CREDIT_CODE
from workflow.reforms.commitments.models import (
    CREDIT_SEVERITIES,
    CommitmentLetter,
    CreditRecord,
    GapAcceptance,
)

DEFAULT_CHECK_DAYS = 60
NUMBER_PREFIX = "左开承"
# States in which an item can still be completed by commitment (released, not
# yet with the department's decision).
OFFERABLE_STATES = ("ready", "assigned", "in_progress", "awaiting_enterprise", "returned")
# 容缺受理 is an acceptance: the agent accepts when starting the work.
GAP_STATES = ("assigned", "in_progress")
CHECK_OUTCOMES = ("kept", "rectify", "broken", "false")
_OUTCOME_STATUS = {"kept": "kept", "rectify": "rectifying", "broken": "broken", "false": "false"}
CHECKABLE = ("signed", "rectifying")

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


# -- reading -------------------------------------------------------------------------

def committable(item: Item) -> bool:
    return bool(item.coverage.commitment)


def has_serious_record(session: Session, enterprise_id: int) -> bool:
    """Whether the enterprise has an uncleared serious credit record (严重失信)."""
    return bool(session.scalar(select(exists().where(
        CreditRecord.enterprise_id == enterprise_id, CreditRecord.severity == "serious",
        CreditRecord.cleared_at.is_(None)))))


def letters_of_project(session: Session, project_id: int) -> list[CommitmentLetter]:
    return list(session.scalars(select(CommitmentLetter).where(
        CommitmentLetter.project_id == project_id).order_by(CommitmentLetter.id)))


def gaps_of_project(session: Session, project_id: int) -> list[GapAcceptance]:
    return list(session.scalars(select(GapAcceptance).where(
        GapAcceptance.project_id == project_id).order_by(GapAcceptance.id)))


def open_gap(session: Session, task_id: int) -> GapAcceptance | None:
    return session.scalar(select(GapAcceptance).where(
        GapAcceptance.task_id == task_id, GapAcceptance.status == "open"))


CLEARED_ARGS = {"yes": True, "no": False}


@dataclass(frozen=True)
class CreditFilter:
    """Filters of the admin's list of credit records; ``None`` is "any": the
    enterprise (by id, or by its unified social credit code), the severity,
    and whether an admin has cleared the record."""

    enterprise_id: int | None = None
    credit_code: str | None = None
    severity: str | None = None
    cleared: bool | None = None

    @classmethod
    def parse(cls, args) -> CreditFilter:
        """The filters in query arguments (``enterprise``, ``code``,
        ``severity``, ``cleared`` as yes or no), checked: anything else is refused."""
        enterprise = validate.text(args.get("enterprise"), "enterprise", required=False, limit=18)
        if enterprise and not (enterprise.isascii() and enterprise.isdigit()
                               and 0 < int(enterprise) < 2**31):
            raise ValidationError("'enterprise' is the number of an enterprise.", field="enterprise")
        code = validate.text(args.get("code"), "credit code", required=False, limit=18).upper()
        if code and not CREDIT_CODE.fullmatch(code):
            raise ValidationError("A unified social credit code (统一社会信用代码) has 18 digits "
                                  "or capital letters.", field="code")
        severity = validate.text(args.get("severity"), "severity", required=False, limit=16)
        if severity and severity not in CREDIT_SEVERITIES:
            raise ValidationError(f"Unknown severity '{severity}'; choose one of "
                                  f"{', '.join(CREDIT_SEVERITIES)}.", field="severity")
        cleared = validate.text(args.get("cleared"), "cleared", required=False, limit=3)
        if cleared and cleared not in CLEARED_ARGS:
            raise ValidationError("'cleared' is yes or no.", field="cleared")
        return cls(enterprise_id=int(enterprise) if enterprise else None,
                   credit_code=code or None, severity=severity or None,
                   cleared=CLEARED_ARGS.get(cleared))


CREDIT_ORDER = paging.Order.by("credit", paging.Key(CreditRecord.created_at, datetime, True),
                               paging.Key(CreditRecord.id, int, True))


def credit_records(session: Session, *, enterprise_id: int | None = None,
                   credit_code: str | None = None, severity: str | None = None,
                   cleared: bool | None = None, cursor: str | None = None,
                   limit: int | None = None) -> paging.Page[CreditRecord]:
    """A page of credit records, newest first, filtered in SQL by enterprise
    (id or credit code), severity and whether an admin has cleared them: one
    enterprise's on ``ix_credit_record_enterprise``, those in force or the
    cleared ones on their partial indexes, all on ``ix_credit_record_created``
    (a severity filter reads along the index: a record is one of two)."""
    if severity is not None and severity not in CREDIT_SEVERITIES:
        raise ValidationError(f"Unknown severity '{severity}'.", field="severity")
    query = select(CreditRecord)
    if enterprise_id is not None:
        query = query.where(CreditRecord.enterprise_id == enterprise_id)
    if credit_code is not None:
        query = query.where(CreditRecord.enterprise_id == select(Enterprise.id).where(
            Enterprise.credit_code == credit_code).scalar_subquery())
    if severity:
        query = query.where(CreditRecord.severity == severity)
    if cleared is True:
        query = query.where(CreditRecord.cleared_at.is_not(None))
    elif cleared is False:
        query = query.where(CreditRecord.cleared_at.is_(None))
    return paging.fetch(session, query, CREDIT_ORDER, cursor=cursor, limit=limit,
                        options=(joinedload(CreditRecord.enterprise),))


def enterprise_of_filter(session: Session, enterprise_id: int | None,
                         credit_code: str | None) -> Enterprise | None:
    """The enterprise a filter of the credit records names (for the page to show)."""
    if credit_code is not None:
        return session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))
    return session.get(Enterprise, enterprise_id) if enterprise_id is not None else None


@hooks.guard("task.complete")
def require_no_open_gap(session: Session, task: ItemTask) -> None:
    """An item accepted with gaps completes only once the promised materials
    arrived (the guard ``complete_task`` calls)."""
    gap = open_gap(session, task.id)
    if gap is not None:
        raise InvalidTransition(
            f"Item {task.item_code} was accepted with materials missing (容缺受理); they must be "
            f"supplied (by {gap.deadline.isoformat()}) before it can be completed.",
            gap=gap.id, deadline=gap.deadline)


# -- generating the texts -----------------------------------------------------------------

def _item_and_department(project: Project, code: str) -> tuple[Item, str]:
    definition = ops.definition_for(project)
    item = definition.items[code]
    dept = definition.departments.get(item.department)
    return item, dept.name_zh if dept is not None else item.department


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


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _next_number(session: Session, year: int) -> str:
    prefix = f"{NUMBER_PREFIX}〔{year}〕"
    issued = session.scalar(select(func.count(CommitmentLetter.id)).where(
        CommitmentLetter.number.like(f"{prefix}%"))) or 0
    return f"{prefix}{issued + 1:04d}号"


# -- helpers -------------------------------------------------------------------------------

def _require_clean_credit(session: Session, project: Project, what: str) -> None:
    if has_serious_record(session, project.enterprise_id):
        raise NotPermitted(
            f"{project.enterprise.name} has an uncleared serious credit record (严重失信) and may "
            f"not use {what} until an admin clears it.", enterprise=project.enterprise_id)


def _require_enterprise_user(actor: User, project: Project) -> None:
    if not permissions.can_sign_for_enterprise(actor, project):
        raise NotPermitted(f"Only a user of {project.enterprise.name} may sign for it.",
                           project=project.code)


def _load_letter(session: Session, letter_id: int) -> CommitmentLetter:
    """The letter, after its project and task rows are locked (lock order)."""
    task_id = session.scalar(select(CommitmentLetter.task_id).where(CommitmentLetter.id == letter_id))
    if task_id is None:
        raise NotFound(f"Commitment letter {letter_id} does not exist.")
    ops.load_task(session, task_id)
    letter = session.get(CommitmentLetter, letter_id)
    session.refresh(letter, with_for_update=True)
    return letter


def _load_gap(session: Session, gap_id: int) -> GapAcceptance:
    task_id = session.scalar(select(GapAcceptance.task_id).where(GapAcceptance.id == gap_id))
    if task_id is None:
        raise NotFound(f"Acceptance with gaps {gap_id} does not exist.")
    ops.load_task(session, task_id)
    gap = session.get(GapAcceptance, gap_id)
    session.refresh(gap, with_for_update=True)
    return gap


def _record(session: Session, project: Project, action: str, *, actor: User | None,
            now: datetime, task: ItemTask | None = None, data: dict | None = None,
            public: bool = True):
    return audit.record(session, project, actor=actor, now=ops.utc(now), action=action,
                        task=task, data=data or {}, public=public)


def _tell(session: Session, users: Iterable[User | None], kind: str, title: str, body: str, *,
          now: datetime, key: str, project: Project, task: ItemTask | None = None) -> None:
    with session.no_autoflush:
        notify.tell(session, users, notify.Message(kind, title, body), now=now, key=key,
                    project=project, task=task)


def _item_label(project: Project, task: ItemTask) -> str:
    return f"「{project.name}」（{project.code}）的事项「{notify.item_name(project, task.item_code)}」"


# -- 承诺制 ---------------------------------------------------------------------------------

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
        raise NotPermitted(f"{actor.username} may not offer a commitment on task {task.id}.",
                           task=task.id)
    item, department = _item_and_department(project, task.item_code)
    if not committable(item):
        raise InvalidTransition(f"Item {item.code} is not on the commitment list (承诺制).")
    if task.state not in OFFERABLE_STATES:
        raise InvalidTransition(f"A commitment cannot be offered while the item is {task.state}.",
                                state=task.state)
    _require_clean_credit(session, project, "the commitment system (承诺制)")
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
        raise ValidationError("A reason for withdrawing the letter is required.")
    letter = _load_letter(session, letter_id)
    if not permissions.can_offer_commitment(actor, letter.task):
        raise NotPermitted(f"{actor.username} may not withdraw letter {letter.number}.")
    if letter.status != "issued":
        raise InvalidTransition(f"Letter {letter.number} is {letter.status}; only an unsigned "
                                "letter can be withdrawn.", status=letter.status)
    letter.status = "withdrawn"
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
        raise InvalidTransition(f"Letter {letter.number} is {letter.status}, not waiting for a "
                                "signature.", status=letter.status)
    _require_clean_credit(session, project, "the commitment system (承诺制)")
    signatory = (signatory or "").strip()
    if not signatory or len(signatory) > 200:
        raise ValidationError("Type the signatory's name (at most 200 characters) to sign.")
    if consent is not True:
        raise ValidationError("Tick the box to confirm the commitment before signing.")
    digest = sha256_of(letter.text)
    if shown_sha256 is not None and shown_sha256 != digest:
        raise Conflict("The letter changed since it was shown; read it again before signing.")
    days = int(letter.standards.get("check_days") or DEFAULT_CHECK_DAYS)
    letter.status, letter.signed_by_id, letter.signed_at = "signed", actor.id, ops.utc(now)
    letter.signature, letter.text_sha256 = signatory, digest
    letter.check_due = clock.add_working_days(ops.zone_today(now), days).date
    _record(session, project, "commitment.signed", actor=actor, now=now, task=task,
            data={"letter": letter.id, "reference": letter.number, "signatory": signatory,
                  "sha256": digest, "check_due": letter.check_due})
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
        raise ValidationError(f"Unknown outcome '{outcome}' (kept, rectify, broken or false).")
    note = (note or "").strip()
    if outcome != "kept" and not note:
        raise ValidationError("Say what the check found (a note is required unless the commitment "
                              "was kept).")
    letter = _load_letter(session, letter_id)
    project, task = letter.project, letter.task
    if not permissions.can_check_commitment(actor, task):
        raise NotPermitted(f"{actor.username} may not record the check of {letter.number}.")
    if letter.status not in CHECKABLE:
        raise InvalidTransition(f"Letter {letter.number} is {letter.status}; only a signed letter "
                                "(or one under rectification) is checked.", status=letter.status)
    today = ops.zone_today(now)
    if outcome == "rectify":
        if not isinstance(rectify_by, date) or rectify_by <= today:
            raise ValidationError("Rectification needs a deadline after today.")
        letter.rectify_by, letter.check_due = rectify_by, rectify_by
    before = letter.status
    letter.status = _OUTCOME_STATUS[outcome]
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


# -- 容缺受理 -------------------------------------------------------------------------------

def accept_with_gaps(session: Session, task_id: int, missing: Sequence[str], *, deadline: date,
                     actor: User, now: datetime) -> GapAcceptance:
    """容缺受理: the agent accepts the item although the listed secondary
    materials are missing. Only materials the definition marks ``secondary``
    may be missing; the deadline for them lies after today and no later than
    the item's own due date. An assigned item is started (accepted) by this."""
    codes = list(dict.fromkeys(c.strip() for c in missing if c and c.strip()))
    if not codes:
        raise ValidationError("List the missing materials (at least one).")
    task = ops.load_task(session, task_id)
    project = task.project
    permissions.require(actor, "work", task)
    item, department = _item_and_department(project, task.item_code)
    by_code = {m.code: m for m in item.materials}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValidationError(f"Item {item.code} has no material {', '.join(unknown)}.",
                              materials=unknown)
    primary = [by_code[c].name_zh for c in codes if not by_code[c].secondary]
    if primary:
        raise ValidationError(
            f"Only secondary materials may be missing under 容缺受理; these are required at "
            f"acceptance: {'、'.join(primary)}.", materials=primary)
    if task.state not in GAP_STATES:
        raise InvalidTransition(f"An item is accepted with gaps when its work starts, not while it "
                                f"is {task.state}.", state=task.state)
    if open_gap(session, task.id) is not None:
        raise Conflict("This item already waits for promised materials (容缺受理).")
    _require_clean_credit(session, project, "acceptance with gaps (容缺受理)")
    today = ops.zone_today(now)
    if not isinstance(deadline, date) or deadline <= today:
        raise ValidationError("The deadline for the missing materials must be a date after today.")
    if task.due_on is not None and deadline > task.due_on:
        raise ValidationError(
            f"The deadline may not be later than the item's own limit ({task.due_on.isoformat()}).",
            due_on=task.due_on)
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
    _require_clean_credit(session, project, "acceptance with gaps (容缺受理)")
    signatory = (signatory or "").strip()
    if not signatory or len(signatory) > 200:
        raise ValidationError("Type the signatory's name (at most 200 characters) to sign.")
    if consent is not True:
        raise ValidationError("Tick the box to confirm the promise before signing.")
    gap.promised_by_id, gap.promised_at = actor.id, ops.utc(now)
    _record(session, project, "gap.promised", actor=actor, now=now, task=task,
            data={"gap": gap.id, "signatory": signatory, "sha256": sha256_of(gap.promise_text),
                  "deadline": gap.deadline})
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
        raise InvalidTransition(f"This promise is already {gap.status}.", status=gap.status)
    if ops.zone_today(now) > gap.deadline:
        raise InvalidTransition(f"The deadline ({gap.deadline.isoformat()}) has passed; the item is "
                                "terminated by the next sweep.", deadline=gap.deadline)
    gap.status, gap.fulfilled_at = "fulfilled", ops.utc(now)
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


# -- credit records ------------------------------------------------------------------------

def _add_credit(session: Session, project: Project, *, severity: str, source: str, reason: str,
                reference: str | None, actor: User | None, now: datetime,
                task: ItemTask | None = None) -> CreditRecord:
    record = CreditRecord(enterprise_id=project.enterprise_id, project_id=project.id,
                          severity=severity, source=source, reason=reason, reference=reference,
                          created_by_id=actor.id if actor is not None else None,
                          created_at=ops.utc(now))
    session.add(record)
    ops.flush(session)
    entry = _record(session, project, "credit.recorded", actor=actor, now=now, task=task,
                    data={"record": record.id, "severity": severity, "source": source,
                          "reason": reason, "reference": reference})
    what = "严重失信记录" if severity == "serious" else "信用记录（一般）"
    consequence = "在管理员清除前，贵单位不得适用承诺制和容缺受理。" if severity == "serious" else ""
    _tell(session, notify.enterprise_users(session, project), "credit_recorded",
          f"【信用记录】{project.enterprise.name}",
          f"因{reason}，贵单位被记入{what}。{consequence}", now=now,
          key=f"audit:{project.id}:{entry.seq}", project=project, task=task)
    return record


def clear_credit_record(session: Session, record_id: int, *, actor: User, now: datetime,
                        note: str) -> CreditRecord:
    """An admin clears a credit record (信用修复) with a note; an enterprise
    with no serious record left may use commitments and 容缺 again."""
    if not permissions.can_clear_credit(actor):
        raise NotPermitted(f"{actor.username} may not clear credit records.")
    note = (note or "").strip()
    if not note:
        raise ValidationError("A note on why the record is cleared is required.")
    project_id = session.scalar(select(CreditRecord.project_id).where(CreditRecord.id == record_id))
    record = session.get(CreditRecord, record_id)
    if record is None:
        raise NotFound(f"Credit record {record_id} does not exist.")
    project = ops.lock_project(session, project_id) if project_id is not None else None
    session.refresh(record, with_for_update=True)
    if record.cleared_at is not None:
        raise Conflict("This credit record was already cleared.")
    record.cleared_by_id, record.cleared_at, record.clear_note = actor.id, ops.utc(now), note
    if project is not None:
        _record(session, project, "credit.cleared", actor=actor, now=now,
                data={"record": record.id, "severity": record.severity, "note": note})
    ops.flush(session)
    return record


# -- the periodic sweep --------------------------------------------------------------------

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
    gap.status, gap.expired_at = "expired", ops.utc(now)
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

"""The screening rules: the checks a rule may name and the values they take,
a rule row parsed and validated, the rules in their order (provincial,
admission, prohibited types), a page of one kind, and an admin's edit of
one rule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from workflow.kernel import paging
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import User
from workflow.reforms.chemicals.classes import _LEVELS
from workflow.reforms.chemicals.editing import (
    EditedTable,
    RowError,
    TableChange,
    _number,
    _split,
    _untypeable,
    _whole,
    delete_row,
    save_row,
)
from workflow.reforms.chemicals.models import ScreeningRule

# Industries whose projects are chemical projects from the start.
RULE_VERDICTS = ("prohibited", "restricted", "notice")
CHECKS = ("in_chemical_park", "min_fixed_investment", "no_phasing", "no_catalogue_level",
          "no_process", "project_type", "attested")
# What a project builds (建设性质): the provincial minimum investment and the
# ban on phasing bind new projects (新建) only.
PROJECT_KINDS: dict[str, str] = {"new": "新建", "expansion": "改扩建", "renovation": "技术改造"}
_PROJECT_KINDS = {**{code: code for code in PROJECT_KINDS},
                  **{name: code for code, name in PROJECT_KINDS.items()},
                  "扩建": "expansion", "改建": "expansion", "技改": "renovation"}
KIND_ORDER = {"provincial": 0, "admission": 1, "prohibited_type": 2}

# Processes a screening asks about; the hazardous ones of the national list of
# 重点监管危险化工工艺 that matter most here, nitration split by mode.
PROCESSES: dict[str, str] = {
    "batch_nitration": "间歇硝化",
    "semi_batch_nitration": "半间歇硝化",
    "continuous_nitration": "连续硝化",
    "chlorination": "氯化",
    "fluorination": "氟化",
    "hydrogenation": "加氢",
    "oxidation": "氧化",
    "diazotization": "重氮化",
    "sulfonation": "磺化",
    "amination": "胺基化",
    "polymerization": "聚合",
    "cracking": "裂解（裂化）",
    "coal_gasification": "煤气化",
    "coking": "焦化",
}
_KINDS = {"provincial": "provincial", "省级": "provincial", "省级准入条件": "provincial",
          "admission": "admission", "准入": "admission", "准入条件": "admission",
          "prohibited_type": "prohibited_type", "禁止类项目": "prohibited_type",
          "禁止类型": "prohibited_type", "禁止项目类型": "prohibited_type"}
_VERDICTS = {"prohibited": "prohibited", "禁止": "prohibited", "restricted": "restricted",
             "限制": "restricted", "专家论证": "restricted", "notice": "notice", "提示": "notice"}
_FLAGS = {"1": True, "true": True, "yes": True, "y": True, "是": True, "启用": True,
          "0": False, "false": False, "no": False, "n": False, "否": False, "停用": False}
_PROCESS_NAMES = {name: code for code, name in PROCESSES.items()}

# Column headers an admin may write, in English or Chinese.
RULE_HEADERS = {"code": "code", "编号": "code", "kind": "kind", "类别": "kind", "text": "text",
                "条文": "text", "内容": "text", "check": "check", "检查": "check",
                "检查方式": "check", "value": "value", "参数": "value", "verdict": "verdict",
                "结论": "verdict", "active": "active", "启用": "active", "source": "source",
                "依据": "source", "来源": "source"}
RULE_REQUIRED = ("code", "text", "check", "verdict")


def parse_rule(row: Mapping[str, str], number: int = 0, *, kind: str | None = None
               ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one rule row (``code, kind, text, check, value, verdict,
    active, source``) into model fields, or return its problems. ``kind``
    fixes the kind the row must have (an import of one table)."""
    errors: list[RowError] = _untypeable(row, number)

    def problem(column: str, code: str, value: str = "") -> None:
        errors.append(RowError(number, column, code, value))

    code = (row.get("code") or "").strip()
    text = (row.get("text") or "").strip()
    if not code:
        problem("code", "required")
    elif len(code) > 64:
        problem("code", "too_long")
    if not text:
        problem("text", "required")
    raw_kind = (row.get("kind") or "").strip()
    row_kind = _KINDS.get(raw_kind.lower()) or _KINDS.get(raw_kind) if raw_kind else kind
    if raw_kind and row_kind is None:
        problem("kind", "unknown_kind", raw_kind)
    elif row_kind is None:
        problem("kind", "required")
    elif kind is not None and row_kind != kind:
        problem("kind", "kind_mismatch", kind)
    check = (row.get("check") or "").strip()
    params: dict[str, Any] | None = None
    if not check:
        problem("check", "required")
    elif check not in CHECKS:
        problem("check", "unknown_check", check)
    else:
        params = _params(check, (row.get("value") or "").strip(), problem)
    raw_verdict = (row.get("verdict") or "").strip()
    verdict = _VERDICTS.get(raw_verdict.lower()) or _VERDICTS.get(raw_verdict)
    if not raw_verdict:
        problem("verdict", "required")
    elif verdict is None:
        problem("verdict", "unknown_verdict", raw_verdict)
    raw_active = (row.get("active") or "").strip()
    active = _FLAGS.get(raw_active.lower(), None) if raw_active else True
    if active is None:
        problem("active", "bad_flag", raw_active)
    source = (row.get("source") or "").strip()
    if len(source) > 300:
        problem("source", "too_long")
    if errors:
        return None, errors
    return {"code": code, "kind": row_kind, "text": text, "check": check, "params": params,
            "verdict": verdict, "active": active, "source": source}, []


def _kinds(parts: list[str], problem) -> list[str]:
    kinds = []
    for part in parts:
        kind = _PROJECT_KINDS.get(part.lower()) or _PROJECT_KINDS.get(part)
        if kind is None:
            problem("value", "unknown_project_kind", part)
        elif kind not in kinds:
            kinds.append(kind)
    return kinds


def _params(check: str, value: str, problem) -> dict[str, Any] | None:
    if check in ("in_chemical_park", "attested"):
        return {}
    if check == "min_fixed_investment":  # "5000" or "5000|new": the kinds it binds
        amount, _, kinds = value.partition("|")
        number = _number(amount)
        if number is None or number <= 0:
            problem("value", "bad_number", amount)
            return None
        bound = _kinds(_split(kinds), problem)
        return {"min_wan": _whole(number), **({"kinds": bound} if bound else {})}
    if check == "no_phasing":  # the kinds it binds ("new"); empty: every kind
        bound = _kinds(_split(value), problem)
        return {"kinds": bound} if bound else {}
    parts = _split(value)
    if not parts:
        problem("value", "required")
        return None
    if check == "no_catalogue_level":
        levels = []
        for part in parts:
            level = _LEVELS.get(part.lower()) or _LEVELS.get(part)
            if level is None:
                problem("value", "unknown_level", part)
            elif level not in levels:
                levels.append(level)
        return {"levels": levels}
    if check == "no_process":
        processes = []
        for part in parts:
            process = part if part in PROCESSES else _PROCESS_NAMES.get(part)
            if process is None:
                problem("value", "unknown_process", part)
            elif process not in processes:
                processes.append(process)
        return {"processes": processes}
    return {"keywords": parts}  # project_type


def rule_value(rule: ScreeningRule) -> str:
    """The ``value`` column of a rule as an admin writes it (export, edit form);
    ``rule`` may be any row with the rule's ``check`` and ``params``."""
    params = rule.params or {}
    if rule.check == "min_fixed_investment":
        return "|".join([str(params.get("min_wan", "")), *params.get("kinds", [])])
    for key in ("levels", "processes", "keywords", "kinds"):
        if key in params:
            return "|".join(params[key])
    return ""


# -- reading the tables ----------------------------------------------------------------------

def _kind_rank():
    return case(KIND_ORDER, value=ScreeningRule.kind, else_=len(KIND_ORDER))


def rules(session: Session, *, active_only: bool = False, check: str | None = None
          ) -> list[ScreeningRule]:
    """Every rule (the screening applies them all): provincial first, then
    admission rules, then prohibited types, each by code; ``check`` keeps the
    rules of one check only. The rule tables hold the conditions of a
    regulation and a zone, not rows per project."""
    query = select(ScreeningRule).order_by(_kind_rank(), ScreeningRule.code, ScreeningRule.id)
    if active_only:
        query = query.where(ScreeningRule.active.is_(True))
    if check is not None:
        query = query.where(ScreeningRule.check == check)
    return list(session.scalars(query))


RULE_ORDERS = {kind: paging.Order.by(f"rules-{kind}", paging.Key(ScreeningRule.code, str),
                                     paging.Key(ScreeningRule.id, int))
               for kind in KIND_ORDER}


def _rule_kind(kind: str) -> str:
    if kind not in KIND_ORDER:
        raise ValidationError("Unknown table '{target}'.", target=kind)
    return kind


def rule_page(session: Session, kind: str, *, cursor: str | None = None,
              limit: int | None = None) -> paging.Page[ScreeningRule]:
    """A page of the rules of one kind, by code (``ix_screening_rule_kind_code``)."""
    query = select(ScreeningRule).where(ScreeningRule.kind == _rule_kind(kind))
    return paging.fetch(session, query, RULE_ORDERS[kind], cursor=cursor, limit=limit)


def _rule_clash(session: Session, rule: ScreeningRule | None, fields: dict[str, Any]) -> None:
    clash = session.scalar(select(ScreeningRule).where(ScreeningRule.code == fields["code"]))
    if clash is not None and clash is not rule:
        raise ValidationError("Rule code {code} is already used.", field="code",
                              code=fields["code"])



def _keep_provincial(session: Session, rule: ScreeningRule) -> None:
    if rule.kind == "provincial":
        raise ValidationError("{code} is a provincial condition: switch it off instead of "
                              "deleting it.", code=rule.code)


RULE_TABLE = EditedTable(ScreeningRule, "rule",
                         lambda row_id: NotFound("Rule {id} does not exist.", id=row_id), "code",
                         lambda session, row: parse_rule(row), _rule_clash, _keep_provincial)


def save_rule(session: Session, rule_id: int | None, *, code: str, kind: str, text: str,
              check: str, verdict: str, value: str = "", active: bool = True, source: str = "",
              actor: User | None, now: datetime) -> TableChange:
    """Create a rule, or change one (an edited example is the zone's own rule
    from then on: its example mark goes). ``value`` is the rule's parameter
    as the tables write it (``5000|new``, ``prohibited``, ``batch_nitration``)."""
    return save_row(session, RULE_TABLE, rule_id,
                    {"code": code, "kind": kind, "text": text, "check": check, "value": value,
                     "verdict": verdict, "active": "1" if active else "0", "source": source},
                    actor=actor, now=now)


def delete_rule(session: Session, rule_id: int, *, actor: User | None, now: datetime) -> TableChange:
    """Delete a rule of the zone (a provincial condition is switched off instead)."""
    return delete_row(session, RULE_TABLE, rule_id, actor=actor, now=now)

"""化工项目准入: the chemical-project entry screening.

Two editable tables drive it: ``ScreeningRule`` (the provincial conditions of
山西省化工项目安全准入条件(试行), the zone's admission rules and its prohibited
project types) and ``HazardousChemical`` (the 禁限控 catalogue: prohibited,
restricted or controlled chemicals). A rule names the ``check`` the engine
applies and the ``params`` it needs:

- ``in_chemical_park``: the project must sit inside a chemical park;
- ``min_fixed_investment`` ``{min_wan}``: fixed investment excluding land;
- ``no_catalogue_level`` ``{levels}``: no product listed at those levels;
- ``no_process`` ``{processes}``: none of those processes (batch nitration …);
- ``project_type`` ``{keywords}``: the project type matches a prohibited type;
- ``attested``: the screener confirms the condition holds (what no data shows).

A screening records every hit with its reason; the verdict is ``prohibited``
(any prohibited hit), ``restricted`` (any restricted hit: an expert review
must be recorded) or ``pass`` (``notice`` hits are recorded but do not block).
``require_entry_cleared`` is the guard ``operations.sign_project`` calls.

The tables ship with the provincial rules and clearly marked examples
(``definitions/chemicals``); an admin imports the zone's own from CSV or
Excel. An import is validated row by row and refused whole, listing every
problem, or applied whole.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from definitions import chemicals as shipped
from workflow.core import audit, hooks, notify, permissions
from workflow.core.models import Project
from workflow.core.operations import definition_for, flush, lock_project, utc, zone_today
from workflow.kernel import paging
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
)
from workflow.kernel.models import User
from workflow.kernel.moments import parse_day
from workflow.reforms.chemicals.models import (
    CHEMICAL_LEVELS,
    HazardousChemical,
    Screening,
    ScreeningRule,
)

# Industries whose projects are chemical projects from the start.
RULE_VERDICTS = ("prohibited", "restricted", "notice")
CHECKS = ("in_chemical_park", "min_fixed_investment", "no_catalogue_level", "no_process",
          "project_type", "attested")
KIND_ORDER = {"provincial": 0, "admission": 1, "prohibited_type": 2}
IMPORT_TARGETS = ("admission", "prohibited_type", "catalogue")
REVIEW_CONCLUSIONS = ("approve", "refuse")

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
LEVEL_NAMES = {"prohibited": "禁止类", "restricted": "限制类", "controlled": "控制类"}

_LEVELS = {"prohibited": "prohibited", "禁止": "prohibited", "禁止类": "prohibited", "禁": "prohibited",
           "restricted": "restricted", "限制": "restricted", "限制类": "restricted", "限": "restricted",
           "controlled": "controlled", "控制": "controlled", "控制类": "controlled", "控": "controlled"}
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
CATALOGUE_HEADERS = {"name": "name", "名称": "name", "品名": "name", "化学品名称": "name",
                     "cas": "cas", "cas号": "cas", "level": "level", "级别": "level",
                     "类别": "level", "note": "note", "备注": "note"}
RULE_REQUIRED = ("code", "text", "check", "verdict")
CATALOGUE_REQUIRED = ("name", "level")

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_SPLIT = re.compile(r"[|,，;；、\s]+")


# -- import errors -----------------------------------------------------------------------

REASONS = {
    "unreadable": "the file cannot be read: {value}",
    "empty": "the file has no rows",
    "missing_column": "the column is missing",
    "required": "a value is required",
    "too_long": "the value is too long",
    "unknown_level": "unknown level '{value}' (prohibited, restricted or controlled)",
    "unknown_kind": "unknown rule kind '{value}'",
    "kind_mismatch": "this import takes rows of the kind '{value}' only",
    "unknown_check": "unknown check '{value}'",
    "unknown_verdict": "unknown verdict '{value}' (prohibited, restricted or notice)",
    "bad_number": "'{value}' is not a positive number",
    "bad_cas": "'{value}' is not a valid CAS number",
    "bad_flag": "'{value}' is not yes/no",
    "unknown_process": "unknown process '{value}'",
    "duplicate": "duplicate of row {value}",
    "conflict": "already used by another row of the table ({value})",
}


@dataclass(frozen=True)
class RowError:
    """One problem of an imported file: the spreadsheet row (the header is row
    1; 0 means the file as a whole), the column and a reason code."""

    row: int
    column: str
    code: str
    value: str = ""

    def __str__(self) -> str:
        reason = REASONS[self.code].format(value=self.value)
        if self.row:
            return f"row {self.row}, column {self.column}: {reason}"
        return f"{self.column}: {reason}" if self.column else reason


class ImportRefused(ValidationError):
    """The whole file was refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        shown = "; ".join(str(e) for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"The file was refused, nothing changed: {shown}{more}.",
                         errors=[str(e) for e in errors])
        self.errors = errors


@dataclass
class Table:
    """An uploaded table: its header and its rows with their spreadsheet numbers."""

    headers: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def read_table(filename: str, data: bytes) -> Table:
    """The rows of an uploaded CSV (UTF-8, with or without BOM) or Excel
    (.xlsx) file. Blank rows are skipped but keep their numbers."""
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if name.endswith(".xls"):
        raise ImportRefused([RowError(0, "", "unreadable", "save the workbook as .xlsx")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused([RowError(0, "", "unreadable", "not UTF-8 text (save as CSV UTF-8)")]) \
            from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    return _table(lines)


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRefused([RowError(0, "", "unreadable", f"not an Excel workbook ({exc})")]) \
            from None
    try:
        sheet = book.worksheets[0]
        lines = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(lines)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).strip()


def _table(lines: list[list[str]]) -> Table:
    if not lines:
        raise ImportRefused([RowError(0, "", "empty")])
    headers = [h.strip() for h in lines[0]]
    table = Table(headers=headers)
    for number, cells in enumerate(lines[1:], start=2):
        if not any((c or "").strip() for c in cells):
            continue
        table.rows.append((number, {h: (cells[i] if i < len(cells) else "").strip()
                                    for i, h in enumerate(headers) if h}))
    return table


def _canonical_headers(table: Table, aliases: Mapping[str, str]) -> dict[str, str]:
    """Original header → canonical column name (unknown columns are ignored)."""
    found = {}
    for header in table.headers:
        key = aliases.get(header.strip().lower()) or aliases.get(header.strip())
        if key and key not in found.values():
            found[header] = key
    return found


def _rows(table: Table, aliases: Mapping[str, str], required: Iterable[str]
          ) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    mapping = _canonical_headers(table, aliases)
    missing = [RowError(1, column, "missing_column") for column in required
               if column not in mapping.values()]
    rows = [(n, {mapping[h]: v for h, v in row.items() if h in mapping}) for n, row in table.rows]
    return rows, missing


# -- parsing one row (shared by shipped tables, imports and the edit forms) ---------------

def _split(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value or "") if part]


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def valid_cas(value: str) -> bool:
    """A CAS registry number with a correct check digit (e.g. 75-44-5)."""
    match = _CAS.match(value or "")
    if not match:
        return False
    digits = (match.group(1) + match.group(2))[::-1]
    return sum(n * int(d) for n, d in enumerate(digits, start=1)) % 10 == int(match.group(3))


def _whole(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def parse_rule(row: Mapping[str, str], number: int = 0, *, kind: str | None = None
               ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one rule row (``code, kind, text, check, value, verdict,
    active, source``) into model fields, or return its problems. ``kind``
    fixes the kind the row must have (an import of one table)."""
    errors: list[RowError] = []

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


def _params(check: str, value: str, problem) -> dict[str, Any] | None:
    if check in ("in_chemical_park", "attested"):
        return {}
    if check == "min_fixed_investment":
        number = _number(value)
        if number is None or number <= 0:
            problem("value", "bad_number", value)
            return None
        return {"min_wan": _whole(number)}
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
        return str(params.get("min_wan", ""))
    for key in ("levels", "processes", "keywords"):
        if key in params:
            return "|".join(params[key])
    return ""


def parse_chemical(row: Mapping[str, str], number: int = 0
                   ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one catalogue row (``name, cas, level, note``)."""
    errors: list[RowError] = []
    name = (row.get("name") or "").strip()
    cas = (row.get("cas") or "").strip()
    raw_level = (row.get("level") or "").strip()
    level = _LEVELS.get(raw_level.lower()) or _LEVELS.get(raw_level)
    if not name:
        errors.append(RowError(number, "name", "required"))
    elif len(name) > 200:
        errors.append(RowError(number, "name", "too_long"))
    if cas and not valid_cas(cas):
        errors.append(RowError(number, "cas", "bad_cas", cas))
    if not raw_level:
        errors.append(RowError(number, "level", "required"))
    elif level is None:
        errors.append(RowError(number, "level", "unknown_level", raw_level))
    if errors:
        return None, errors
    return {"name": name, "cas": cas or None, "level": level,
            "note": (row.get("note") or "").strip()}, []


def _normal(name: str) -> str:
    return re.sub(r"\s+", "", name or "").replace("（", "(").replace("）", ")").lower()


# -- installing the shipped tables --------------------------------------------------------

def install_shipped(session: Session) -> dict[str, int]:
    """Install the shipped rules and catalogue into tables that are still
    empty (a zone's own tables are never touched). Returns what was added."""
    added = {"rules": 0, "chemicals": 0}
    if session.scalar(select(func.count(ScreeningRule.id))) == 0:
        for row, example in shipped.shipped_rules():
            fields, errors = parse_rule(row)
            if errors:
                raise ValidationError(f"Shipped rule {row.get('code')}: {errors[0]}")
            session.add(ScreeningRule(**fields, example=example))
            added["rules"] += 1
    if session.scalar(select(func.count(HazardousChemical.id))) == 0:
        for row, example in shipped.shipped_catalogue():
            fields, errors = parse_chemical(row)
            if errors:
                raise ValidationError(f"Shipped chemical {row.get('name')}: {errors[0]}")
            session.add(HazardousChemical(**fields, example=example))
            added["chemicals"] += 1
    session.flush()
    return added


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


def catalogue(session: Session) -> list[HazardousChemical]:
    """The whole 禁限控 catalogue, prohibited first, then restricted, then
    controlled, each by name: what a screening matches products against."""
    rank = case({level: n for n, level in enumerate(CHEMICAL_LEVELS)}, value=HazardousChemical.level,
                else_=len(CHEMICAL_LEVELS))
    return list(session.scalars(select(HazardousChemical)
                                .order_by(rank, HazardousChemical.name, HazardousChemical.id)))


RULE_ORDERS = {kind: paging.Order.by(f"rules-{kind}", paging.Key(ScreeningRule.code, str),
                                     paging.Key(ScreeningRule.id, int))
               for kind in KIND_ORDER}
# The catalogue level by level (prohibited, restricted, controlled), each by
# name: one stretch per level, each an index range of ``ix_hazardous_chemical_level_name``.
CATALOGUE_ORDER = paging.Order("catalogue", tuple(
    paging.Segment(paging.Keyset(paging.Key(HazardousChemical.name, str),
                                 paging.Key(HazardousChemical.id, int)),
                   where=(HazardousChemical.level == level,))
    for level in CHEMICAL_LEVELS))


def _rule_kind(kind: str) -> str:
    if kind not in KIND_ORDER:
        raise ValidationError(f"Unknown table '{kind}'.", target=kind)
    return kind


def rule_page(session: Session, kind: str, *, cursor: str | None = None,
              limit: int | None = None) -> paging.Page[ScreeningRule]:
    """A page of the rules of one kind, by code (``ix_screening_rule_kind_code``)."""
    query = select(ScreeningRule).where(ScreeningRule.kind == _rule_kind(kind))
    return paging.fetch(session, query, RULE_ORDERS[kind], cursor=cursor, limit=limit)


def catalogue_page(session: Session, *, cursor: str | None = None,
                   limit: int | None = None) -> paging.Page[HazardousChemical]:
    """A page of the catalogue: prohibited chemicals first, then restricted,
    then controlled, each level by name."""
    return paging.fetch(session, select(HazardousChemical), CATALOGUE_ORDER, cursor=cursor,
                        limit=limit)


def catalogue_size(session: Session) -> paging.Count:
    """How many chemicals the catalogue lists (counted up to ``paging.COUNT_CAP``)."""
    return paging.count_upto(session, select(HazardousChemical.id))


def _require_admin(actor: User | None) -> None:
    if actor is not None and not permissions.can_edit_chemical_rules(actor):
        raise NotPermitted(f"{actor.username} ({actor.role}) may not change the chemical-entry "
                           "tables.")


# -- editing one row -----------------------------------------------------------------------

@dataclass(frozen=True)
class TableChange:
    """What an admin changed in the tables (logged by the caller after the commit)."""

    action: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)


def _refuse(errors: list[RowError]) -> None:
    raise ValidationError("; ".join(str(e) for e in errors),
                          errors=[str(e) for e in errors])


def save_rule(session: Session, rule_id: int | None, form: Mapping[str, str], *,
              actor: User | None, now: datetime) -> TableChange:
    """Create a rule, or change one (an edited example is the zone's own rule
    from then on: its example mark goes)."""
    _require_admin(actor)
    fields, errors = parse_rule(form)
    if errors:
        _refuse(errors)
    rule = None
    if rule_id is not None:
        rule = session.get(ScreeningRule, rule_id)
        if rule is None:
            raise NotFound(f"Rule {rule_id} does not exist.")
    clash = session.scalar(select(ScreeningRule).where(ScreeningRule.code == fields["code"]))
    if clash is not None and clash is not rule:
        raise ValidationError(f"Rule code {fields['code']} is already used.", code=fields["code"])
    if rule is None:
        rule = ScreeningRule(**fields, example=False)
        session.add(rule)
        action = "rule.created"
    else:
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.example = False
        action = "rule.updated"
    flush(session)
    return TableChange(action, rule.code, {**fields, "at": utc(now).isoformat()})


def delete_rule(session: Session, rule_id: int, *, actor: User | None, now: datetime) -> TableChange:
    _require_admin(actor)
    rule = session.get(ScreeningRule, rule_id)
    if rule is None:
        raise NotFound(f"Rule {rule_id} does not exist.")
    session.delete(rule)
    flush(session)
    return TableChange("rule.deleted", rule.code, {"at": utc(now).isoformat()})


def save_chemical(session: Session, chemical_id: int | None, form: Mapping[str, str], *,
                  actor: User | None, now: datetime) -> TableChange:
    """Create or change a catalogue row (an edited example loses its mark)."""
    _require_admin(actor)
    fields, errors = parse_chemical(form)
    if errors:
        _refuse(errors)
    row = None
    if chemical_id is not None:
        row = session.get(HazardousChemical, chemical_id)
        if row is None:
            raise NotFound(f"Catalogue entry {chemical_id} does not exist.")
    for other in session.scalars(select(HazardousChemical)):
        if other is row:
            continue
        if _normal(other.name) == _normal(fields["name"]):
            raise ValidationError(f"{fields['name']} is already in the catalogue.")
        if fields["cas"] and other.cas == fields["cas"]:
            raise ValidationError(f"CAS {fields['cas']} is already in the catalogue ({other.name}).")
    if row is None:
        row = HazardousChemical(**fields, example=False)
        session.add(row)
        action = "chemical.created"
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        row.example = False
        action = "chemical.updated"
    flush(session)
    return TableChange(action, row.name, {**fields, "at": utc(now).isoformat()})


def delete_chemical(session: Session, chemical_id: int, *, actor: User | None,
                    now: datetime) -> TableChange:
    _require_admin(actor)
    row = session.get(HazardousChemical, chemical_id)
    if row is None:
        raise NotFound(f"Catalogue entry {chemical_id} does not exist.")
    session.delete(row)
    flush(session)
    return TableChange("chemical.deleted", row.name, {"at": utc(now).isoformat()})


# -- importing a whole table ------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    target: str
    added: int
    updated: int
    removed: int

    @property
    def change(self) -> TableChange:
        return TableChange("table.imported", self.target,
                           {"added": self.added, "updated": self.updated, "removed": self.removed})


def import_table(session: Session, target: str, table: Table, *, replace_all: bool = False,
                 actor: User | None, now: datetime) -> ImportResult:
    """Import the zone's own admission rules, prohibited types or catalogue.

    Every row is validated first (required columns, known level / kind /
    check / verdict, numbers, CAS check digits, duplicates in the file and
    clashes with rows that stay); any problem refuses the whole file with
    the list of them, and nothing changes. Applied, the import removes the
    example rows of that table (or every row, with ``replace_all``) and adds
    or updates its rows (matched by code, or by name for the catalogue), so
    importing the same file twice changes nothing the second time."""
    _require_admin(actor)
    if target not in IMPORT_TARGETS:
        raise ValidationError(f"Unknown table '{target}'.", target=target)
    if target == "catalogue":
        return _import_catalogue(session, table, replace_all=replace_all)
    return _import_rules(session, target, table, replace_all=replace_all)


def _import_rules(session: Session, kind: str, table: Table, *, replace_all: bool) -> ImportResult:
    rows, errors = _rows(table, RULE_HEADERS, RULE_REQUIRED)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(0, "", "empty")])
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    existing = session.scalars(select(ScreeningRule)).all()
    leaving = {r.id for r in existing if r.kind == kind and (replace_all or r.example)}
    staying = {r.code: r for r in existing if r.id not in leaving}
    for number, row in rows:
        fields, problems = parse_rule(row, number, kind=kind)
        errors.extend(problems)
        if fields is None:
            continue
        if fields["code"] in seen:
            errors.append(RowError(number, "code", "duplicate", str(seen[fields["code"]])))
            continue
        seen[fields["code"]] = number
        other = staying.get(fields["code"])
        if other is not None and other.kind != kind:
            errors.append(RowError(number, "code", "conflict", f"{other.kind} {other.code}"))
        parsed.append(fields)
    if errors:
        raise ImportRefused(errors)
    removed = session.execute(delete(ScreeningRule).where(ScreeningRule.id.in_(leaving))
                              .execution_options(synchronize_session="fetch")).rowcount if leaving else 0
    flush(session)
    added = updated = 0
    for fields in parsed:
        row = staying.get(fields["code"])
        if row is None:
            session.add(ScreeningRule(**fields, example=False))
            added += 1
        else:
            changed = any(getattr(row, k) != v for k, v in fields.items())
            for key, value in fields.items():
                setattr(row, key, value)
            updated += changed
    flush(session)
    return ImportResult(kind, added, updated, removed or 0)


def _import_catalogue(session: Session, table: Table, *, replace_all: bool) -> ImportResult:
    rows, errors = _rows(table, CATALOGUE_HEADERS, CATALOGUE_REQUIRED)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(0, "", "empty")])
    existing = session.scalars(select(HazardousChemical)).all()
    leaving = {c.id for c in existing if replace_all or c.example}
    staying = {_normal(c.name): c for c in existing if c.id not in leaving}
    staying_cas = {c.cas: c for c in staying.values() if c.cas}
    parsed: list[dict[str, Any]] = []
    names: dict[str, int] = {}
    numbers: dict[str, int] = {}
    for number, row in rows:
        fields, problems = parse_chemical(row, number)
        errors.extend(problems)
        if fields is None:
            continue
        key = _normal(fields["name"])
        if key in names:
            errors.append(RowError(number, "name", "duplicate", str(names[key])))
            continue
        names[key] = number
        cas = fields["cas"]
        if cas and cas in numbers:
            errors.append(RowError(number, "cas", "duplicate", str(numbers[cas])))
            continue
        if cas:
            numbers[cas] = number
            holder = staying_cas.get(cas)
            if holder is not None and _normal(holder.name) != key:
                errors.append(RowError(number, "cas", "conflict", holder.name))
        parsed.append(fields)
    if errors:
        raise ImportRefused(errors)
    removed = session.execute(delete(HazardousChemical).where(HazardousChemical.id.in_(leaving))
                              .execution_options(synchronize_session="fetch")).rowcount if leaving else 0
    flush(session)
    added = updated = 0
    for fields in parsed:
        row = staying.get(_normal(fields["name"]))
        if row is None:
            session.add(HazardousChemical(**fields, example=False))
            added += 1
        else:
            changed = any(getattr(row, k) != v for k, v in fields.items())
            for key, value in fields.items():
                setattr(row, key, value)
            updated += changed
    flush(session)
    return ImportResult("catalogue", added, updated, removed or 0)


EXPORT_BATCH = 500
RULE_COLUMNS = ("code", "kind", "text", "check", "value", "verdict", "active", "source")
CATALOGUE_COLUMNS = ("name", "cas", "level", "note")


def export_rows(session: Session, target: str, *, batch: int = EXPORT_BATCH
                ) -> tuple[list[str], Iterator[list[str]]]:
    """A table as an admin imports it (header, rows): the current content,
    usable as the template of an import. The rows are read ``batch`` at a
    time as they are consumed, as plain values (not entities), so that the
    reader may end its transaction between two batches."""
    if target == "catalogue":
        query = select(HazardousChemical.name, HazardousChemical.cas, HazardousChemical.level,
                       HazardousChemical.note)
        rows = paging.pages_of(session, query, CATALOGUE_ORDER, batch=batch, scalars=False)
        return list(CATALOGUE_COLUMNS), ([c.name, c.cas or "", c.level, c.note] for c in rows)
    query = select(ScreeningRule.code, ScreeningRule.kind, ScreeningRule.text, ScreeningRule.check,
                   ScreeningRule.params, ScreeningRule.verdict, ScreeningRule.active,
                   ScreeningRule.source).where(ScreeningRule.kind == _rule_kind(target))
    rows = paging.pages_of(session, query, RULE_ORDERS[target], batch=batch, scalars=False)
    return list(RULE_COLUMNS), ([r.code, r.kind, r.text, r.check, rule_value(r), r.verdict,
                                 "1" if r.active else "0", r.source] for r in rows)


# -- screening ---------------------------------------------------------------------------------

def products_from_text(text: str) -> list[dict[str, str]]:
    """Products written one per line, ``name`` or ``name, CAS`` (a trailing
    token that looks like a CAS number is taken as one)."""
    products = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,，\t]+|\s+(?=\d{2,7}-\d{2}-\d$)", line) if p.strip()]
        name, cas = parts[0].strip(), ""
        if len(parts) > 1 and _CAS.match(parts[-1].strip()):
            cas = parts[-1].strip()
            name = " ".join(p.strip() for p in parts[:-1])
        products.append({"name": name, "cas": cas})
    return products


def screening_inputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what a screening is decided on: in a chemical park (and which),
    fixed investment excluding land (万元), products (names, CAS), processes,
    the project type, and the admission conditions the screener confirms."""
    in_park = raw.get("in_chemical_park")
    if not isinstance(in_park, bool):
        raise ValidationError("Say whether the project is inside a chemical park.")
    park = str(raw.get("park_name") or "").strip()
    if in_park and not park:
        raise ValidationError("Name the chemical park the project is in.")
    investment = _number(raw.get("fixed_investment_wan"))
    if investment is None or investment < 0:
        raise ValidationError("The fixed investment excluding land (万元) is a number of at least 0.")
    products = []
    for product in raw.get("products") or []:
        name = str(product.get("name") or "").strip()
        cas = str(product.get("cas") or "").strip()
        if not name:
            raise ValidationError("Each product needs a name.")
        if cas and not valid_cas(cas):
            raise ValidationError(f"{cas} is not a valid CAS number ({name}).", cas=cas)
        products.append({"name": name, "cas": cas})
    if not products:
        raise ValidationError("List the project's products (at least one).")
    processes = list(dict.fromkeys(raw.get("processes") or []))
    unknown = [p for p in processes if p not in PROCESSES]
    if unknown:
        raise ValidationError(f"Unknown process: {', '.join(unknown)}.", processes=unknown)
    project_type = str(raw.get("project_type") or "").strip()
    if len(project_type) > 200:
        raise ValidationError("The project type is at most 200 characters.")
    attested = sorted({str(code) for code in raw.get("attested") or []})
    return {"in_chemical_park": in_park, "park_name": park,
            "fixed_investment_wan": _whole(investment), "products": products,
            "processes": processes, "project_type": project_type, "attested": attested}


@dataclass
class _Catalogue:
    by_cas: dict[str, list[HazardousChemical]]
    by_name: dict[str, list[HazardousChemical]]

    @classmethod
    def of(cls, entries: Iterable[HazardousChemical]) -> _Catalogue:
        index = cls({}, {})
        for entry in entries:
            if entry.cas:
                index.by_cas.setdefault(entry.cas, []).append(entry)
            index.by_name.setdefault(_normal(entry.name), []).append(entry)
        return index

    def matches(self, product: Mapping[str, str]) -> list[HazardousChemical]:
        found = list(self.by_cas.get(product.get("cas") or "", []))
        found += [e for e in self.by_name.get(_normal(product["name"]), []) if e not in found]
        return found


def _label(product: Mapping[str, str]) -> str:
    return f"“{product['name']}”" + (f"（CAS {product['cas']}）" if product.get("cas") else "")


def _check(rule: ScreeningRule, inputs: Mapping[str, Any], index: _Catalogue,
           project_name: str) -> list[str]:
    """The reasons ``rule`` is hit by ``inputs`` (empty: not hit)."""
    params = rule.params or {}
    if rule.check == "in_chemical_park":
        if inputs["in_chemical_park"]:
            return []
        return ["项目拟选址不在化工园区内"]
    if rule.check == "min_fixed_investment":
        minimum = params.get("min_wan", 0)
        amount = inputs["fixed_investment_wan"]
        if amount >= minimum:
            return []
        return [f"固定资产投资（不含土地）{amount:,} 万元，低于 {minimum:,} 万元"]
    if rule.check == "no_catalogue_level":
        levels = params.get("levels", [])
        reasons = []
        for product in inputs["products"]:
            for entry in index.matches(product):
                if entry.level in levels:
                    marked = "（示例目录）" if entry.example else ""
                    note = f"：{entry.note}" if entry.note else ""
                    reasons.append(f"产品{_label(product)}为{entry.name}，列入{LEVEL_NAMES[entry.level]}"
                                   f"危险化学品目录{marked}{note}")
        return reasons
    if rule.check == "no_process":
        banned = params.get("processes") or ([params["process"]] if params.get("process") else [])
        return [f"采用{PROCESSES.get(p, p)}工艺" for p in inputs["processes"] if p in banned]
    if rule.check == "project_type":
        described = f"{inputs['project_type']} {project_name}"
        for keyword in params.get("keywords", []):
            if keyword and keyword in described:
                return [f"项目类型“{inputs['project_type'] or project_name}”涉及“{keyword}”"]
        return []
    if rule.check == "attested":
        return [] if rule.code in inputs["attested"] else ["未确认满足该条件"]
    raise ValidationError(f"Rule {rule.code} names an unknown check '{rule.check}'.")


def evaluate(rule_rows: Iterable[ScreeningRule], chemicals: Iterable[HazardousChemical],
             inputs: Mapping[str, Any], *, project_name: str = "") -> list[dict[str, Any]]:
    """Every hit of the active rules on ``inputs``, with its reason, in rule order."""
    index = _Catalogue.of(chemicals)
    hits = []
    for rule in sorted(rule_rows, key=lambda r: (KIND_ORDER.get(r.kind, 9), r.code)):
        if not rule.active:
            continue
        for reason in _check(rule, inputs, index, project_name):
            hits.append({"rule": rule.code, "kind": rule.kind, "check": rule.check,
                         "verdict": rule.verdict, "text": rule.text, "reason": reason,
                         "example": rule.example})
    return hits


def verdict_of(hits: Iterable[Mapping[str, Any]]) -> str:
    """prohibited if any hit prohibits; restricted if any restricts; else pass."""
    verdicts = {hit["verdict"] for hit in hits}
    if "prohibited" in verdicts:
        return "prohibited"
    if "restricted" in verdicts:
        return "restricted"
    return "pass"


def latest_screening(session: Session, project_id: int) -> Screening | None:
    return session.scalar(select(Screening).where(Screening.project_id == project_id)
                          .order_by(Screening.screened_at.desc(), Screening.id.desc()).limit(1))


def screenings_of(session: Session, project_id: int) -> list[Screening]:
    """Every screening of a project, newest first."""
    return list(session.scalars(select(Screening).where(Screening.project_id == project_id)
                                .order_by(Screening.screened_at.desc(), Screening.id.desc())))


def _require_screener(actor: User | None, project: Project) -> None:
    if actor is not None and not permissions.can_screen(actor, project):
        raise NotPermitted(f"{actor.username} ({actor.role}) may not screen project {project.code}.",
                           project=project.code)


def screen_project(session: Session, project_id: int, raw_inputs: Mapping[str, Any], *,
                   actor: User | None, now: datetime) -> Screening:
    """Screen a chemical project before signing against every active rule;
    the result lists every hit with its reason and its verdict. A newer
    screening supersedes the older ones (which stay on record)."""
    project = lock_project(session, project_id)
    _require_screener(actor, project)
    if not project.is_chemical:
        raise ValidationError(f"Project {project.code} is not marked as a chemical project.")
    if project.stage != "intention":
        raise InvalidTransition(f"Project {project.code} is already {project.stage}: a chemical "
                                "project is screened before signing.", state=project.stage)
    inputs = screening_inputs(raw_inputs)
    active = rules(session, active_only=True)
    if not active:
        raise ValidationError("No chemical-entry rules are installed: an admin installs or "
                              "imports them first.")
    hits = evaluate(active, catalogue(session), inputs, project_name=project.name)
    verdict = verdict_of(hits)
    screening = Screening(project_id=project.id, inputs=inputs, verdict=verdict,
                          hits={"hits": hits, "rules_checked": len(active)},
                          screened_by_id=actor.id if actor else None, screened_at=utc(now))
    session.add(screening)
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.screened",
                 data={"screening": screening.id, "verdict": verdict,
                       "hits": [h["rule"] for h in hits]})
    if verdict != "pass":
        words = {"prohibited": "禁止准入", "restricted": "限制准入，须专家论证"}[verdict]
        _tell_lead(session, project, actor, now, key=f"screening:{screening.id}",
                   message=notify.Message("chemical_screening", f"【化工准入】{project.name}：{words}",
                                          f"项目「{project.name}」的化工项目准入评估结论为“{words}”，"
                                          f"共命中 {len(hits)} 条规则。"))
    flush(session)
    return screening


def _tell_lead(session: Session, project: Project, actor: User | None, now: datetime, *,
               key: str, message: notify.Message) -> None:
    if project.lead is not None and (actor is None or project.lead_id != actor.id):
        notify.tell(session, [project.lead], message, now=now, key=key, project=project)




def record_review(session: Session, screening_id: int, *, experts: Iterable[str] | str,
                  reviewed_on: date | str, conclusion: str, note: str = "",
                  actor: User | None, now: datetime) -> Screening:
    """Record the expert review (专家论证) a restricted result requires: the
    experts' names, the date, the conclusion (approve / refuse) and a note
    (required when they refuse). Only the latest screening is reviewed, once."""
    screening = session.get(Screening, screening_id)
    if screening is None:
        raise NotFound(f"Screening {screening_id} does not exist.")
    project = lock_project(session, screening.project_id)
    session.refresh(screening)
    _require_screener(actor, project)
    if screening.verdict != "restricted":
        raise InvalidTransition("Only a restricted screening result is reviewed by experts.",
                                verdict=screening.verdict)
    latest = latest_screening(session, project.id)
    if latest is not None and latest.id != screening.id:
        raise InvalidTransition("A newer screening of this project exists: review that one.")
    if screening.review is not None:
        raise Conflict("The expert review of this screening is already recorded.")
    if project.stage != "intention":
        raise InvalidTransition(f"Project {project.code} is already {project.stage}.")
    names = _split_names(experts)
    if not names:
        raise ValidationError("Name the experts of the review (at least one).")
    day = parse_day(reviewed_on, "date of the review")
    if day > zone_today(now):
        raise ValidationError("The date of the review cannot be in the future.")
    if conclusion not in REVIEW_CONCLUSIONS:
        raise ValidationError("The experts' conclusion is approve or refuse.", conclusion=conclusion)
    note = (note or "").strip()
    if conclusion == "refuse" and not note:
        raise ValidationError("Say why the experts refused.")
    screening.review = {"experts": names, "reviewed_on": day.isoformat(), "conclusion": conclusion,
                        "note": note}
    screening.reviewed_by_id = actor.id if actor else None
    screening.reviewed_at = utc(now)
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.reviewed",
                 data={"screening": screening.id, "conclusion": conclusion, "experts": names,
                       "reviewed_on": day})
    _tell_lead(session, project, actor, now, key=f"screening-review:{screening.id}",
               message=notify.Message("chemical_review", f"【化工准入】{project.name}：专家论证已记录",
                                      f"项目「{project.name}」的专家论证结论："
                                      f"{'同意' if conclusion == 'approve' else '不同意'}。"))
    flush(session)
    return screening


def _split_names(experts: Iterable[str] | str) -> list[str]:
    if isinstance(experts, str):
        experts = re.split(r"[\n,，、;；]+", experts)
    return list(dict.fromkeys(n.strip() for n in experts if n and n.strip()))


def mark_chemical(session: Session, project_id: int, is_chemical: bool, *, actor: User | None,
                  now: datetime, reason: str = "") -> Project:
    """A lead marks an intention as a chemical project (it must then be
    screened before signing), or unmarks it with a reason. A project of a
    chemical industry stays chemical."""
    project = lock_project(session, project_id)
    _require_screener(actor, project)
    if project.stage != "intention":
        raise InvalidTransition(f"Project {project.code} is already {project.stage}.")
    if project.is_chemical == is_chemical:
        return project
    reason = (reason or "").strip()
    if not is_chemical:
        if of_chemical_industry(project):
            raise ValidationError(f"A {project.industry} project is always a chemical project.")
        if not reason:
            raise ValidationError("Say why the project is not a chemical project.")
    project.is_chemical = is_chemical
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.marked",
                 data={"is_chemical": is_chemical, "reason": reason})
    flush(session)
    return project


# -- the signing guard ---------------------------------------------------------------------------

def of_chemical_industry(project: Project) -> bool:
    """The project's industry is a chemical one in its definition (a flag of
    the zone's data, ``chemical = true``): such a project is always chemical."""
    industry = definition_for(project).industries.get(project.industry)
    return industry is not None and industry.chemical


@hooks.guard("project.sign")
def require_entry_cleared(session: Session, project: Project) -> None:
    """The guard ``operations.sign_project`` calls: a chemical project cannot
    be signed without a screening; a prohibited result blocks signing (the
    reasons are given); a restricted one needs a recorded expert review that
    approves."""
    if not project.is_chemical:
        return
    screening = latest_screening(session, project.id)
    if screening is None:
        raise InvalidTransition(f"Chemical project {project.code} must pass the entry screening "
                                "(化工项目准入评估) before signing.", project=project.code)
    hits = (screening.hits or {}).get("hits", [])
    if screening.verdict == "prohibited":
        reasons = [f"{h['rule']}: {h['reason']}" for h in hits if h["verdict"] == "prohibited"]
        raise InvalidTransition(f"Chemical project {project.code} is prohibited by the entry "
                                f"screening: {'; '.join(reasons)}.", reasons=reasons)
    if screening.verdict == "restricted":
        review = screening.review
        if review is None:
            raise InvalidTransition(f"Chemical project {project.code} is restricted: an expert "
                                    "review (专家论证) must be recorded before signing.")
        if review.get("conclusion") != "approve":
            raise InvalidTransition(f"Chemical project {project.code}: the experts refused "
                                    f"({review.get('note', '')}).")

"""The tables in and out as a whole: the shipped rules and catalogue
installed (the examples into empty tables; the provincial conditions, their
substances and classes whenever they are missing), an admin's CSV or Excel
import (validated row by row, refused whole or applied whole) and the export
that doubles as the import's template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from definitions import chemicals as shipped
from workflow.core.operations import flush
from workflow.kernel import paging, zone_audit
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import User
from workflow.kernel.tabular import ImportRefused, Table, headed_rows
from workflow.reforms.chemicals.classes import chemical_classes, class_lookup, parse_class
from workflow.reforms.chemicals.editing import RowError, TableChange, _normal, _require_admin
from workflow.reforms.chemicals.hazardous import (
    CATALOGUE_HEADERS,
    CATALOGUE_ORDER,
    CATALOGUE_REQUIRED,
    names_of,
    parse_chemical,
)
from workflow.reforms.chemicals.models import ChemicalClass, HazardousChemical, ScreeningRule
from workflow.reforms.chemicals.rulebook import (
    RULE_HEADERS,
    RULE_ORDERS,
    RULE_REQUIRED,
    _rule_kind,
    parse_rule,
    rule_value,
)

IMPORT_TARGETS = ("admission", "prohibited_type", "catalogue")


# Provincial rules as earlier releases shipped them (text, params): a row still
# as shipped is brought to the current text; a row an admin changed stays.
_SUPERSEDED: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "SX-2": (("新建化工项目固定资产投资额（不含土地费用）不得低于5000万元。", {"min_wan": 5000}),),
    "SX-3": (("不得新建、扩建剧毒化学品和特别管控危险化学品（如光气、氯气、氰化物、硝酸铵、氯酸盐）"
              "生产项目。", {"levels": ["prohibited"]}),),
}


def install_shipped(session: Session) -> dict[str, int]:
    """Install what the product ships. The examples go into tables that are
    still empty (a zone's own tables are never touched); the provincial
    conditions, the classes they ban and the substances they name are added
    whenever they are missing (``daiban init`` after an upgrade), an example
    row of a provincial substance becoming the provincial row. Returns what
    was added."""
    added = {"rules": 0, "chemicals": 0, "classes": 0}
    known = set(session.scalars(select(ChemicalClass.code)))
    for row in shipped.shipped_classes():
        if row["code"] not in known:
            session.add(ChemicalClass(**_shipped(parse_class(row), row["code"]), provincial=True))
            added["classes"] += 1
    session.flush()
    empty = session.scalar(select(func.count(ScreeningRule.id))) == 0
    existing = {r.code: r for r in session.scalars(select(ScreeningRule))}
    for row, example in shipped.shipped_rules():
        fields = _shipped(parse_rule(row), row.get("code"))
        current = existing.get(fields["code"])
        if current is None and (empty or fields["kind"] == "provincial"):
            session.add(ScreeningRule(**fields, example=example))
            added["rules"] += 1
        elif current is not None and (current.text, current.params) in _SUPERSEDED.get(
                current.code, ()):
            current.text, current.params, current.source = (fields["text"], fields["params"],
                                                             fields["source"])
    if session.scalar(select(func.count(HazardousChemical.id))) == 0:
        for row, example in shipped.shipped_catalogue():
            session.add(HazardousChemical(**_shipped(parse_chemical(row), row.get("name")),
                                          example=example))
            added["chemicals"] += 1
        session.flush()
    added["chemicals"] += _install_provincial_substances(session)
    session.flush()
    return added


def _shipped(parsed: tuple[dict[str, Any] | None, list[RowError]], name: str | None
             ) -> dict[str, Any]:
    fields, errors = parsed
    if errors:
        raise ValidationError("Shipped row {name}: {problem}", name=name, problem=str(errors[0]))
    return fields


def _install_provincial_substances(session: Session) -> int:
    """Each substance the provincial conditions name: added when missing;
    a row of that name (or CAS number) becomes the provincial row, keeping
    its own aliases and classes beside the shipped ones."""
    lookup = class_lookup(chemical_classes(session))
    rows = list(session.scalars(select(HazardousChemical)))
    added = 0
    for row in shipped.provincial_catalogue():
        fields = _shipped(parse_chemical(row, classes=lookup), row.get("name"))
        key = _normal(fields["name"])
        entry = next((c for c in rows if _normal(c.name) == key), None) or next(
            (c for c in rows if fields["cas"] and c.cas == fields["cas"]), None)
        # The substance's own name is its own: another row's alias of it goes;
        # any other alias another row has stays that row's.
        for other in rows:
            if other is not entry and key in {_normal(a) for a in other.aliases or []}:
                other.aliases = [a for a in other.aliases if _normal(a) != key]
        taken = set().union(*(names_of(c) for c in rows if c is not entry))
        if entry is None:
            fields["aliases"] = [a for a in fields["aliases"] if _normal(a) not in taken]
            entry = HazardousChemical(**fields, example=False, provincial=True)
            session.add(entry)
            rows.append(entry)
            added += 1
            continue
        wanted = [a for a in [fields["name"], *fields["aliases"]] if _normal(a) not in taken]
        entry.aliases = list({_normal(a): a for a in [*(entry.aliases or []), *wanted]
                              if _normal(a) != _normal(entry.name)}.values())
        entry.classes = list(dict.fromkeys([*(entry.classes or []), *fields["classes"]]))
        entry.cas = entry.cas or fields["cas"]
        if entry.example:
            entry.note = fields["note"]
        entry.level, entry.example, entry.provincial = "prohibited", False, True
    return added


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
        raise ValidationError("Unknown table '{target}'.", target=target)
    if target == "catalogue":
        result = _import_catalogue(session, table, replace_all=replace_all)
    else:
        result = _import_rules(session, target, table, replace_all=replace_all)
    zone_audit.record(session, actor=actor, now=now, action="chemicals.table.imported",
                      subject=f"table:{target}",
                      data={**result.change.details, "replace_all": replace_all})
    return result


def _import_rules(session: Session, kind: str, table: Table, *, replace_all: bool) -> ImportResult:
    rows, errors = headed_rows(table, RULE_HEADERS, RULE_REQUIRED)
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
    rows, errors = headed_rows(table, CATALOGUE_HEADERS, CATALOGUE_REQUIRED)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(0, "", "empty")])
    lookup = class_lookup(chemical_classes(session))
    existing = session.scalars(select(HazardousChemical)).all()
    # Rows the provincial conditions name never leave; their level stays.
    leaving = {c.id for c in existing if not c.provincial and (replace_all or c.example)}
    staying = {_normal(c.name): c for c in existing if c.id not in leaving}
    staying_cas = {c.cas: c for c in staying.values() if c.cas}
    parsed: list[tuple[int, dict[str, Any], set[str]]] = []
    names: dict[str, int] = {}  # a name or alias of the file → its row
    numbers: dict[str, int] = {}
    for number, row in rows:
        fields, problems = parse_chemical(row, number, classes=lookup)
        errors.extend(problems)
        if fields is None:
            continue
        key = _normal(fields["name"])
        if key in names:
            errors.append(RowError(number, "name", "duplicate", str(names[key])))
            continue
        own = names_of(fields)
        repeated = sorted(n for n in own if n in names)
        if repeated:
            errors.append(RowError(number, "aliases", "duplicate", str(names[repeated[0]])))
            continue
        names.update({n: number for n in own})
        cas = fields["cas"]
        if cas and cas in numbers:
            errors.append(RowError(number, "cas", "duplicate", str(numbers[cas])))
            continue
        if cas:
            numbers[cas] = number
            holder = staying_cas.get(cas)
            if holder is not None and _normal(holder.name) != key:
                errors.append(RowError(number, "cas", "conflict", holder.name))
        same = staying.get(key)
        if same is not None and same.provincial and fields["level"] != "prohibited":
            errors.append(RowError(number, "level", "provincial", same.name))
        parsed.append((number, fields, set(row)))
    # A name or alias of a row that stays and that the file does not rewrite.
    rewritten = {_normal(fields["name"]) for _n, fields, _c in parsed}
    kept = [c for c in staying.values() if _normal(c.name) not in rewritten]
    for number, fields, _columns in parsed:
        clash = next((c for c in kept if names_of(fields) & names_of(c)), None)
        if clash is not None:
            errors.append(RowError(number, "aliases", "conflict", clash.name))
    if errors:
        raise ImportRefused(errors)
    removed = session.execute(delete(HazardousChemical).where(HazardousChemical.id.in_(leaving))
                              .execution_options(synchronize_session="fetch")).rowcount if leaving else 0
    flush(session)
    added = updated = 0
    for _number, fields, columns in parsed:
        row = staying.get(_normal(fields["name"]))
        if row is None:
            session.add(HazardousChemical(**fields, example=False))
            added += 1
            continue
        # A column the file does not have leaves that field as it is.
        fields = {k: v for k, v in fields.items() if k not in ("aliases", "classes") or k in columns}
        changed = any(getattr(row, k) != v for k, v in fields.items())
        for key, value in fields.items():
            setattr(row, key, value)
        updated += changed
    flush(session)
    return ImportResult("catalogue", added, updated, removed or 0)


EXPORT_BATCH = 500
RULE_COLUMNS = ("code", "kind", "text", "check", "value", "verdict", "active", "source")
CATALOGUE_COLUMNS = ("name", "cas", "level", "aliases", "classes", "note")


def export_rows(session: Session, target: str, *, batch: int = EXPORT_BATCH
                ) -> tuple[list[str], Iterator[list[str]]]:
    """A table as an admin imports it (header, rows): the current content,
    usable as the template of an import. The rows are read ``batch`` at a
    time as they are consumed, as plain values (not entities), so that the
    reader may end its transaction between two batches."""
    if target == "catalogue":
        query = select(HazardousChemical.name, HazardousChemical.cas, HazardousChemical.level,
                       HazardousChemical.aliases, HazardousChemical.classes, HazardousChemical.note)
        rows = paging.pages_of(session, query, CATALOGUE_ORDER, batch=batch, scalars=False)
        return list(CATALOGUE_COLUMNS), ([c.name, c.cas or "", c.level, "|".join(c.aliases or []),
                                          "|".join(c.classes or []), c.note] for c in rows)
    query = select(ScreeningRule.code, ScreeningRule.kind, ScreeningRule.text, ScreeningRule.check,
                   ScreeningRule.params, ScreeningRule.verdict, ScreeningRule.active,
                   ScreeningRule.source).where(ScreeningRule.kind == _rule_kind(target))
    rows = paging.pages_of(session, query, RULE_ORDERS[target], batch=batch, scalars=False)
    return list(RULE_COLUMNS), ([r.code, r.kind, r.text, r.check, rule_value(r), r.verdict,
                                 "1" if r.active else "0", r.source] for r in rows)

"""The tables in and out as a whole: the shipped rules and catalogue
installed into empty tables, an admin's CSV or Excel import (validated row by
row, refused whole or applied whole) and the export that doubles as the
import's template."""

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
from workflow.reforms.chemicals.editing import RowError, TableChange, _require_admin
from workflow.reforms.chemicals.hazardous import (
    CATALOGUE_HEADERS,
    CATALOGUE_ORDER,
    CATALOGUE_REQUIRED,
    _normal,
    parse_chemical,
)
from workflow.reforms.chemicals.models import HazardousChemical, ScreeningRule
from workflow.reforms.chemicals.rulebook import (
    RULE_HEADERS,
    RULE_ORDERS,
    RULE_REQUIRED,
    _rule_kind,
    parse_rule,
    rule_value,
)

IMPORT_TARGETS = ("admission", "prohibited_type", "catalogue")


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

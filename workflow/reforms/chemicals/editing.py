"""What the two editable tables share: the values of a row as an admin
writes them, the problems of a row (``RowError`` with this area's reasons),
who may change the tables, and the one way a row of either table is saved or
deleted (``save_row``, ``delete_row``), reported as a ``TableChange``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.core import permissions
from workflow.core.operations import flush, utc
from workflow.kernel import tabular, zone_audit
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import User

_SPLIT = re.compile(r"[|,，;；、\s]+")

# The problems a row of a rule or of the catalogue may have, beyond those of
# any table.
REASONS = {
    **tabular.REASONS,
    "unknown_level": "unknown level '{value}' (prohibited, restricted or controlled)",
    "unknown_kind": "unknown rule kind '{value}'",
    "kind_mismatch": "this import takes rows of the kind '{value}' only",
    "unknown_check": "unknown check '{value}'",
    "unknown_verdict": "unknown verdict '{value}' (prohibited, restricted or notice)",
    "bad_number": "'{value}' is not a positive number",
    "bad_cas": "'{value}' is not a valid CAS number",
    "bad_flag": "'{value}' is not yes/no",
    "unknown_process": "unknown process '{value}'",
}


class RowError(tabular.RowError):
    """A problem of a rule or catalogue row (as ``tabular.RowError``, with the
    reasons of these tables)."""

    REASONS = REASONS


def _split(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value or "") if part]


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _require_admin(actor: User | None) -> None:
    permissions.require_that(actor, permissions.can_edit_chemical_rules,
                             "Only an administrator may change the chemical-entry tables.")


# -- editing one row -----------------------------------------------------------------------

@dataclass(frozen=True)
class TableChange:
    """What an admin changed in the tables (also in the zone's change log)."""

    action: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)


def _refuse(errors: list[RowError]) -> None:
    raise ValidationError("; ".join(str(e) for e in errors),
                          errors=[str(e) for e in errors])


@dataclass(frozen=True)
class EditedTable:
    """How ``save_row`` and ``delete_row`` handle one of the two tables: its
    model, the word of its change actions ("rule" → ``rule.created``), how a
    missing row is named, the attribute naming a row in a change, how a form
    is parsed, and what refuses a clash with another row."""

    model: type[Any]
    noun: str
    missing: str  # "Rule {id} does not exist."
    subject: str  # the attribute naming a row: "code", "name"
    parse: Callable[[Mapping[str, str]], tuple[dict[str, Any] | None, list[RowError]]]
    check_clash: Callable[[Session, Any, dict[str, Any]], None]


def _row(session: Session, table: EditedTable, row_id: int) -> Any:
    row = session.get(table.model, row_id)
    if row is None:
        raise NotFound(table.missing.format(id=row_id))
    return row


def save_row(session: Session, table: EditedTable, row_id: int | None, form: Mapping[str, str],
             *, actor: User | None, now: datetime) -> TableChange:
    """Create a row (``row_id`` None) or change one; an edited example is the
    zone's own row from then on (its example mark goes)."""
    _require_admin(actor)
    fields, errors = table.parse(form)
    if errors:
        _refuse(errors)
    row = _row(session, table, row_id) if row_id is not None else None
    table.check_clash(session, row, fields)
    if row is None:
        row = table.model(**fields, example=False)
        session.add(row)
        action = f"{table.noun}.created"
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        row.example = False
        action = f"{table.noun}.updated"
    flush(session)
    change = TableChange(action, getattr(row, table.subject), {**fields, "at": utc(now).isoformat()})
    return _recorded(session, table, change, actor=actor, now=now)


def delete_row(session: Session, table: EditedTable, row_id: int, *, actor: User | None,
               now: datetime) -> TableChange:
    """Delete a row of the table."""
    _require_admin(actor)
    row = _row(session, table, row_id)
    session.delete(row)
    flush(session)
    change = TableChange(f"{table.noun}.deleted", getattr(row, table.subject),
                         {"at": utc(now).isoformat()})
    return _recorded(session, table, change, actor=actor, now=now)


def _recorded(session: Session, table: EditedTable, change: TableChange, *, actor: User | None,
              now: datetime) -> TableChange:
    """The change goes to the zone's change log, in the same transaction."""
    zone_audit.record(session, actor=actor, now=now, action=f"chemicals.{change.action}",
                      subject=f"{table.noun}:{change.subject}", data=change.details)
    return change

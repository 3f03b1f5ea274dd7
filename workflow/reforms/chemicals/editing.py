"""What the two editable tables share: the values of a row as an admin
writes them, the problems of a row (``RowError`` with this area's reasons),
who may change the tables, and the one way a row of either table is saved or
deleted (``save_row``, ``delete_row``), reported as a ``TableChange``."""

from __future__ import annotations

import math
import re
import unicodedata
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
# Lists of names (aliases, patterns): a name may hold spaces ("sodium cyanide")
# and ASCII commas ("1,2-二氯乙烷").
_NAMES = re.compile(r"[|，;；、\n\r]+")

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
    "unknown_project_kind": "unknown project kind '{value}' (new, expansion or renovation)",
    "unknown_class": "unknown class of chemicals '{value}'",
    "untypeable": "the value holds a character that cannot be typed (a control character)",
    "provincial": "'{value}' is named by the provincial conditions: it stays prohibited",
    "too_many": "at most {value} names",
    "bad_code": "'{value}' is not a code (lower-case letters, digits and _)",
}


class RowError(tabular.RowError):
    """A problem of a rule or catalogue row (as ``tabular.RowError``, with the
    reasons of these tables)."""

    REASONS = REASONS


def _split(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value or "") if part]


def _names(value: str) -> list[str]:
    """A list of names written in one cell (``|``, ；, 、, a full-width comma
    or a line break between them)."""
    return [part.strip() for part in _NAMES.split(value or "") if part.strip()]


def _untypeable(row: Mapping[str, Any], number: int) -> list[RowError]:
    """A problem for each cell holding a control character (a NUL would fail
    PostgreSQL's text; tabs and line breaks are allowed in long text)."""
    return [RowError(number, column, "untypeable") for column, value in row.items()
            if isinstance(value, str)
            and any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in value)]


def _normal(name: str) -> str:
    """A name as it is compared: full-width forms folded (NFKC), no spaces,
    lower case (液氯 = 液 氯, （） = (), Chlorine = chlorine)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _require_admin(actor: User | None) -> None:
    permissions.require_that(actor, permissions.can_edit_chemical_rules, permissions.NotPermitted(
        "Only an administrator may change the chemical-entry tables."))


# -- editing one row -----------------------------------------------------------------------

@dataclass(frozen=True)
class TableChange:
    """What an admin changed in the tables (also in the zone's change log)."""

    action: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)


def _refuse(errors: list[RowError]) -> None:
    # The row's problems are told in the reasons of ``RowError`` (which the
    # web layer translates by their codes): the sentence is their list.
    raise ValidationError("{problems}", problems=tabular.Problems(errors),
                          errors=[str(e) for e in errors])


@dataclass(frozen=True)
class EditedTable:
    """How ``save_row`` and ``delete_row`` handle one of the tables: its
    model, the word of its change actions ("rule" → ``rule.created``), the
    refusal of a missing row (its ``NotFound``, given the row's id), the
    attribute naming a row in a change, how a row is parsed (with the
    session: a catalogue row names classes), what refuses a clash with
    another row, and what refuses a deletion."""

    model: type[Any]
    noun: str
    missing: Callable[[int], NotFound]  # NotFound("Rule {id} does not exist.", id=…)
    subject: str  # the attribute naming a row: "code", "name"
    parse: Callable[[Session, Mapping[str, str]], tuple[dict[str, Any] | None, list[RowError]]]
    check_clash: Callable[[Session, Any, dict[str, Any]], None]
    check_delete: Callable[[Session, Any], None] = lambda session, row: None


def _row(session: Session, table: EditedTable, row_id: int) -> Any:
    row = session.get(table.model, row_id)
    if row is None:
        raise table.missing(row_id)
    return row


def save_row(session: Session, table: EditedTable, row_id: int | None, form: Mapping[str, str],
             *, actor: User | None, now: datetime) -> TableChange:
    """Create a row (``row_id`` None) or change one; an edited example is the
    zone's own row from then on (its example mark goes)."""
    _require_admin(actor)
    fields, errors = table.parse(session, form)
    if errors:
        _refuse(errors)
    row = _row(session, table, row_id) if row_id is not None else None
    table.check_clash(session, row, fields)
    marked = hasattr(table.model, "example")  # the classes have no examples
    if row is None:
        row = table.model(**fields, **({"example": False} if marked else {}))
        session.add(row)
        action = f"{table.noun}.created"
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        if marked:
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
    table.check_delete(session, row)
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

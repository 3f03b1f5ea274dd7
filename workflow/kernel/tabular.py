"""Reading an uploaded table: a CSV (UTF-8, with or without BOM) or Excel
(.xlsx) file into its header and numbered rows (``read_table``), the columns
renamed from the headers a user may write (``headed_rows``), and the
problems of a file (``RowError``), refused whole (``ImportRefused``). It
knows no area's table: an area adds the reasons of its own rows by
subclassing ``RowError`` with a larger ``REASONS``."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from workflow.kernel.errors import ValidationError

# The problems any table may have; ``{value}`` is the offending value.
REASONS = {
    "unreadable": "the file cannot be read: {value}",
    "empty": "the file has no rows",
    "missing_column": "the column is missing",
    "required": "a value is required",
    "too_long": "the value is too long",
    "duplicate": "duplicate of row {value}",
    "conflict": "already used by another row of the table ({value})",
}


# A cell whose text begins with one of these is a formula to a spreadsheet
# (OWASP's CSV injection): an export writes such text as text, never live.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` as a formula: it begins with
    a trigger and is not simply a number ("-5" is a number, not a formula)."""
    return text.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(text)


def guarded(value: Any) -> Any:
    """A CSV cell as written: formula-like text gets Excel's text marker, a
    leading apostrophe (``read_table`` takes it off again); anything else as is."""
    return "'" + value if isinstance(value, str) and is_formula_like(value) else value


def _unguarded(text: str) -> str:
    return text[1:] if text.startswith("'") and is_formula_like(text[1:]) else text


@dataclass(frozen=True)
class RowError:
    """One problem of an imported file: the spreadsheet row (the header is row
    1; 0 means the file as a whole), the column and a reason code (a key of
    ``REASONS``, which a subclass may extend)."""

    REASONS: ClassVar[Mapping[str, str]] = REASONS

    row: int
    column: str
    code: str
    value: str = ""

    def __str__(self) -> str:
        reason = self.REASONS[self.code].format(value=self.value)
        if self.row:
            return f"row {self.row}, column {self.column}: {reason}"
        return f"{self.column}: {reason}" if self.column else reason


class Problems(tuple):
    """Row problems carried as one detail of a refusal: in English they read
    joined by "; "; the web layer tells each by its code in the user's language."""

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class ImportRefused(ValidationError):
    """The whole file was refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        shown = Problems(errors[:20])
        if len(errors) > 20:
            super().__init__("The file was refused, nothing changed: {problems} (and {more} more).",
                             errors=[str(e) for e in errors], problems=shown,
                             more=len(errors) - 20)
        else:
            super().__init__("The file was refused, nothing changed: {problems}.",
                             errors=[str(e) for e in errors], problems=shown)
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
    lines = [[_unguarded(c) for c in line] for line in csv.reader(io.StringIO(text, newline=""))]
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


def canonical_headers(table: Table, aliases: Mapping[str, str]) -> dict[str, str]:
    """Original header → canonical column name (unknown columns are ignored)."""
    found = {}
    for header in table.headers:
        key = aliases.get(header.strip().lower()) or aliases.get(header.strip())
        if key and key not in found.values():
            found[header] = key
    return found


def headed_rows(table: Table, aliases: Mapping[str, str], required: Iterable[str]
                ) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The rows with their columns renamed by ``aliases`` (header as a user
    writes it → column name; unknown columns dropped), and a problem for each
    ``required`` column the file lacks."""
    mapping = canonical_headers(table, aliases)
    missing = [RowError(1, column, "missing_column") for column in required
               if column not in mapping.values()]
    rows = [(n, {mapping[h]: v for h, v in row.items() if h in mapping}) for n, row in table.rows]
    return rows, missing

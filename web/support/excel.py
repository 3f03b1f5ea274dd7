"""Excel (.xlsx) downloads, written row by row.

openpyxl's write-only mode streams each appended row to disk (through lxml,
which it uses when installed: several times faster than its fallback), so a
sheet of a million rows costs the memory of one row: the rows come from an iterator that
reads the database a page (or a server-side cursor batch) at a time, the
workbook is assembled in a temporary file, and the file is sent in chunks.

Every sheet has one header row, bold on a grey fill, frozen so it stays in
view, with an auto-filter and set column widths; dates are real date cells;
text is never a formula (``_cell``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from workflow.kernel import tabular

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)


def write(path: str | IO[bytes], sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence],
          widths: Sequence[int] | None = None, caption: str | None = None) -> int:
    """Write one sheet to ``path`` (a file name or a binary file): the
    ``caption`` line when given (what the sheet is and as of when), a styled,
    frozen header row, then ``rows`` as they come. Returns the number of data rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title[:31])  # Excel's limit for a sheet name
    top = 2 if caption else 1  # the header's row
    sheet.freeze_panes = f"A{top + 1}"
    for n, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    if caption:
        line = WriteOnlyCell(sheet, value=caption)
        line.font = HEADER_FONT
        sheet.append([line])
    sheet.append([_header(sheet, h) for h in headers])
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])
        count += 1
    if headers:
        sheet.auto_filter.ref = f"A{top}:{get_column_letter(len(headers))}{count + top}"
    book.save(path)
    return count


def _header(sheet, text) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=str(text))
    cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
    return cell


def _cell(sheet, value):
    """A value as a cell holds it: dates as dates (openpyxl formats a date
    ``yyyy-mm-dd``), numbers as numbers, anything else as text. Text that a
    spreadsheet would take for a formula (a project named ``=HYPERLINK(…)``)
    is a string cell with Excel's quote prefix, so it stays text even when
    edited; a negative number is a number."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones
    if value is None or isinstance(value, (int, float, date)):
        return value
    text = str(value)
    if not tabular.is_formula_like(text):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl would make "=…" a formula
    cell.quotePrefix = True
    return cell


def download(sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence],
             widths: Sequence[int] | None, filename: str, ascii_name: str,
             caption: str | None = None) -> Response:
    """The sheet as a download named ``filename`` (UTF-8, RFC 5987
    ``filename*``) with ``ascii_name`` for clients that only read ``filename``.
    The workbook is built in an anonymous temporary file, sent in chunks and
    gone once the response is closed."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the response ends
    try:
        write(spool, sheet_title, headers, rows, widths, caption)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = Response(_chunks(spool), mimetype=MIME, direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(filename, safe="")}')
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(spool, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()

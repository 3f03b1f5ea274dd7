"""Excel (.xlsx) workbooks for the supervisors' exports, built with openpyxl
and served as attachments.

Every sheet has one header row, bold on a grey fill, frozen so it stays in
view, with an auto-filter and set column widths; dates are real date cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from io import BytesIO
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def workbook(sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence],
             widths: Sequence[int] | None = None) -> bytes:
    """One sheet: a styled, frozen header row, then ``rows``; the file's bytes."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]  # Excel's limit for a sheet name
    sheet.append([str(h) for h in headers])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for n, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    if headers:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 1)}"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones
    if value is None or isinstance(value, (int, float, date)):
        return value
    return str(value)


def attachment(data: bytes, filename: str, ascii_name: str) -> Response:
    """Serve ``data`` as a download named ``filename`` (UTF-8, RFC 5987
    ``filename*``) with ``ascii_name`` for clients that only read ``filename``."""
    response = Response(data, mimetype=MIME)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(filename, safe="")}')
    response.headers["Cache-Control"] = "no-store"
    return response

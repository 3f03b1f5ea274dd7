"""Checks of user input shared by every engine module."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from workflow.kernel.errors import ValidationError

CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")  # 统一社会信用代码


def text(value: Any, what: str, *, required: bool = True, limit: int | None = None) -> str:
    """``value`` as stripped text: refused when required and empty, or longer
    than ``limit`` characters; an optional empty value is ``""``."""
    cleaned = str(value if value is not None else "").strip()
    if required and not cleaned:
        raise ValidationError(f"A {what} is required.", field=what)
    if limit is not None and len(cleaned) > limit:
        raise ValidationError(f"The {what} is at most {limit} characters.", field=what)
    return cleaned


def typeable(value: str) -> bool:
    """``value`` holds nothing a person cannot type into a field: no control
    character (NUL, escape, a line break) and no lone surrogate. Any other
    character is fine, the ideographic space of Chinese text included."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def code(value: Any, what: str, *, limit: int = 64) -> str | None:
    """An optional one-line value from a query argument or a field (a code, a
    username, a search fragment): stripped, at most ``limit`` characters,
    typeable; ``None`` when empty."""
    cleaned = text(value, what, required=False, limit=limit)
    if not typeable(cleaned):
        raise ValidationError(f"The {what} holds characters that cannot be typed.", field=what)
    return cleaned or None


def number(value: Any, what: str, *, low: int, high: int) -> int | None:
    """An optional whole number from a query argument or a field: ASCII digits
    (and a leading minus where ``low`` allows one) within ``low``–``high``;
    ``None`` when empty. Full-width or superscript digits, signs and huge
    values are refused rather than reaching the database."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        return None
    digits = raw[1:] if raw.startswith("-") and low < 0 else raw
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 18 \
            or not low <= int(raw) <= high:
        raise ValidationError(f"'{what}' is a whole number from {low} to {high}.", field=what)
    return int(raw)


def like_pattern(fragment: str) -> str:
    """``%fragment%`` for ``LIKE``/``ILIKE … ESCAPE '\\'``: the fragment's own
    ``%``, ``_`` and ``\\`` match literally."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""Checks of user input shared by every engine module."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from workflow.kernel.errors import ValidationError

CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")  # 统一社会信用代码


def text(value: Any, what: str, *, required: bool = True, limit: int | None = None) -> str:
    """``value`` as stripped text: refused when required and empty, or longer
    than ``limit`` characters; an optional empty value is ``""``."""
    cleaned = str(value if value is not None else "").strip()
    if required and not cleaned:
        raise ValidationError("A {field} is required.", field=what)
    if limit is not None and len(cleaned) > limit:
        raise ValidationError("The {field} is at most {limit} characters.", field=what, limit=limit)
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
        raise ValidationError("The {field} holds characters that cannot be typed.", field=what)
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
        raise ValidationError("'{field}' is a whole number from {low} to {high}.", field=what,
                              low=low, high=high)
    return int(raw)


def like_pattern(fragment: str) -> str:
    """``%fragment%`` for ``LIKE``/``ILIKE … ESCAPE '\\'``: the fragment's own
    ``%``, ``_`` and ``\\`` match literally."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- the national project code (投资项目统一代码) --------------------------------------

# YYYY-XXXXXX-XX-XX-XXXXXX: 24 characters in five groups (全国投资项目在线审批
# 监管平台; 固定资产投资项目代码管理规范, 发改投资〔2020〕1439号; GB/T 40058-2021).
NATIONAL_CODE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")
NATIONAL_FORMAT = "YYYY-XXXXXX-XX-XX-XXXXXX"
# The first two digits of a 行政区划代码 (GB/T 2260): the provinces.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split())
# 项目类型: 01 审批 (government investment), 02 核准, 03 备案.
PROJECT_TYPES = {"01": "审批", "02": "核准", "03": "备案"}
FIRST_YEAR = 2014  # the online platform assigned its first codes in 2014–2015


def project_code(value: Any, *, today: date) -> str:
    """A national project code (项目代码) as recorded, or ``ValidationError``
    naming the group that is wrong. Full-width digits and dashes are read as
    ASCII (NFKC). The groups: the time code — the year of assignment (2014 to
    this year), or its year and month (YYMM, GB/T 40058-2021), never in the
    future; the 6-digit region code of a province (GB/T 2260); a 2-digit
    industry or department code other than 00; the project type 01 审批, 02
    核准 or 03 备案; a 6-digit serial other than 000000."""
    raw = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    found = NATIONAL_CODE.match(raw)
    if found is None:
        raise ValidationError(
            "'{value}' is not a project code (项目代码) of the national format "
            "{format}: 24 characters, five groups of digits.", field="code", value=raw[:40],
            format=NATIONAL_FORMAT)
    time, region, industry, kind, serial = found.groups()
    if not _time_code(time, today):
        raise ValidationError(
            "The time code {time} of project code {value} is neither a year from {first} "
            "to {last} nor a past year and month (YYMM).", field="code", time=time, value=raw,
            first=FIRST_YEAR, last=today.year)
    if region[:2] not in PROVINCES:
        raise ValidationError("The region code {region} of project code {value} names no "
                              "province (GB/T 2260).", field="code", region=region, value=raw)
    if industry == "00":
        raise ValidationError("The industry code of project code {value} cannot be 00.",
                              field="code", value=raw)
    if kind not in PROJECT_TYPES:
        raise ValidationError("The project type {kind} of project code {value} is none of 01 审批, "
                              "02 核准, 03 备案.", field="code", kind=kind, value=raw)
    if serial == "000000":
        raise ValidationError("The serial number of project code {value} cannot be 000000.",
                              field="code", value=raw)
    return raw


def _time_code(time: str, today: date) -> bool:
    year = int(time)
    if FIRST_YEAR <= year <= today.year:
        return True
    yy, mm = int(time[:2]), int(time[2:])
    return 20 <= yy and 1 <= mm <= 12 and (2000 + yy, mm) <= (today.year, today.month)

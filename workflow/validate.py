"""Checks of user input shared by every engine module."""

from __future__ import annotations

from typing import Any

from workflow.errors import ValidationError


def text(value: Any, what: str, *, required: bool = True, limit: int | None = None) -> str:
    """``value`` as stripped text: refused when required and empty, or longer
    than ``limit`` characters; an optional empty value is ``""``."""
    cleaned = str(value if value is not None else "").strip()
    if required and not cleaned:
        raise ValidationError(f"A {what} is required.", field=what)
    if limit is not None and len(cleaned) > limit:
        raise ValidationError(f"The {what} is at most {limit} characters.", field=what)
    return cleaned

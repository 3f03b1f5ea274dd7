"""Time values the engine receives: aware instants stored in UTC, the zone's
calendar day, and dates typed by users."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from workflow.kernel.errors import ValidationError

ZONE_TZ = ZoneInfo("Asia/Shanghai")


def utc(now: datetime) -> datetime:
    """The engine's timestamps are aware and stored in UTC."""
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValidationError("`now` must be a timezone-aware datetime.")
    return now.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC instant (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def zone_today(now: datetime) -> date:
    """The zone's calendar date (Asia/Shanghai) at ``now``."""
    return utc(now).astimezone(ZONE_TZ).date()


def stored_day(moment: datetime | None) -> date | None:
    """The zone's date of a stored timestamp."""
    return None if moment is None else zone_today(aware(moment))


def parse_day(value: date | str | None, what: str) -> date:
    """A date given as a date or as YYYY-MM-DD text, or a clear error naming ``what``."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError("The {what} is a date (YYYY-MM-DD).", what=what) from None

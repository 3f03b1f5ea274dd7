"""The statutory clock: Chinese working-day arithmetic.

Limits in the licensing law (行政许可法) count working days (工作日): Monday to
Friday, minus the statutory holidays, plus the weekend make-up workdays (调休)
that the State Council announces each year. Where does a year's schedule come
from, first match wins:

1. a holiday-cn style JSON file in ``workflow/kernel/holidays/`` or in the directory
   named by ``DAIBAN_HOLIDAYS_DIR`` (the year is *published*);
2. the ``chinesecalendar`` package (published; it covers 2004-2026);
3. otherwise the year is *provisional*: weekdays minus the holidays fixed by
   the 全国年节及纪念日放假办法 (2024 revision) and minus their 补假: Art. 6
   makes a holiday that falls on a Saturday or Sunday up on the next working
   day (the ``holidays`` package's China rule, ``provisional_days_off``). No
   调休 make-up Saturday is guessed. Every result that depends on such a year
   carries ``provisional=True`` so that the engine can recompute it once the
   notice is out (around November of the year before).

``schedule_source()`` says which of these is in force and fingerprints it, so
that the engine notices when a published year arrives (``refresh()`` reloads
the holiday files when they changed on disk).

Each year is computed once into a sorted tuple of its working days, so that
adding or counting working days is a few binary searches, not a day-by-day
walk. The start day of a period never counts (the day of acceptance).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import chinese_calendar
import holidays as holiday_rules
from lunardate import LunarDate

HOLIDAYS_ENV = "DAIBAN_HOLIDAYS_DIR"
SHIPPED_HOLIDAYS_DIR = Path(__file__).with_name("holidays")

_ONE_DAY = timedelta(days=1)
# chinesecalendar raises outside the years it knows; ask it only inside them.
_CC_FIRST_YEAR = min(chinese_calendar.holidays).year
_CC_LAST_YEAR = max(chinese_calendar.holidays).year
# Before the package's first year the rules were different (7-day golden weeks),
# so a provisional year there would be wrong history. After 2099 lunardate and
# the Qingming formula (21st-century constant) no longer apply.
_PROVISIONAL_FIRST_YEAR = _CC_FIRST_YEAR
_PROVISIONAL_LAST_YEAR = 2099
# Names the provisional rule in the schedule's fingerprint: a change of the rule
# (as when 补假 was added) makes every provisional date worth recomputing.
PROVISIONAL_RULE = "放假办法(2024) Art. 2 + Art. 6 补假"


class Due(NamedTuple):
    """A computed date and whether it depends on an unpublished year."""

    date: date
    provisional: bool


class Count(NamedTuple):
    """A number of working days and whether it depends on an unpublished year."""

    days: int
    provisional: bool


class HolidayFile(NamedTuple):
    """One parsed holiday file: its year and, per listed date, whether it is worked."""

    year: int
    working: Mapping[date, bool]
    path: Path


class HolidayFileError(ValueError):
    """A holiday JSON file that cannot be read or does not follow the format."""


class CalendarRangeError(ValueError):
    """A date (or a count reaching a date) outside the years the clock knows."""


class ScheduleSource(NamedTuple):
    """Which holiday schedule is in force: what the clock counts with now."""

    fingerprint: str  # sha256 of everything below: changes when a year is published
    published_years: tuple[int, ...]
    provisional_years: tuple[int, int]  # first and last year counted provisionally
    package: str  # e.g. "chinesecalendar 1.11.0 (2004–2026)"
    rule: str  # the provisional years' rule and the package that applies it
    files: tuple[tuple[int, str, str], ...]  # (year, path, sha256) per holiday file

    def describe(self) -> list[str]:
        """Readable lines for the CLI's ``calendar status``."""
        lines = [f"published years: {year_ranges(self.published_years)}",
                 f"  from {self.package}"]
        lines += [f"  {year}: holiday file {path} (sha256 {digest[:12]})"
                  for year, path, digest in self.files]
        lines += [f"provisional years: {year_ranges(self.provisional)}"
                  if self.provisional else "provisional years: none",
                  f"  rule: {self.rule}",
                  f"schedule fingerprint: {self.fingerprint[:16]}"]
        return lines

    @property
    def provisional(self) -> tuple[int, ...]:
        first, last = self.provisional_years
        published = set(self.published_years)
        return tuple(y for y in range(first, last + 1) if y not in published)


class _Year(NamedTuple):
    workdays: tuple[date, ...]  # sorted, for bisect
    workday_set: frozenset[date]  # for O(1) membership
    published: bool


class _Extra(NamedTuple):
    years: frozenset[int]
    working: Mapping[date, bool]
    files: tuple[tuple[int, str, str], ...]  # (year, path, sha256) of the files in force
    signature: tuple[tuple[str, int, int], ...]  # what refresh() compares with the disk


# --- input checks -----------------------------------------------------------


def _check_date(value: object, name: str) -> None:
    # datetime is a subclass of date but never equals one, so it would silently
    # miss every per-day lookup; and which day a timestamp falls on depends on
    # its time zone, which is the caller's decision, not ours.
    if isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date, not a datetime (use .date())")
    if not isinstance(value, date):
        kind = type(value).__name__
        raise TypeError(f"{name} must be a datetime.date, got {kind}: {value!r}")


def _check_days(n: object) -> None:
    # bool is an int subclass; True days is a bug, not a limit.
    if isinstance(n, bool) or not isinstance(n, int):
        # ValueError, not TypeError, by the module's contract: a bad limit is a bad value.
        raise ValueError(f"n must be a whole number of days (int), got {type(n).__name__}: {n!r}")
    if n < 0:
        raise ValueError(f"n must be zero or positive, got {n}")


# --- holiday files ----------------------------------------------------------


def read_holiday_file(path: str | os.PathLike[str]) -> HolidayFile:
    """Parse and validate one holiday-cn style JSON file.

    The format is ``{"year": 2027, "days": [{"name": "元旦", "date":
    "2027-01-01", "isOffDay": true}, ...]}``: ``isOffDay`` true marks a day off,
    false a make-up workday; unlisted days follow Monday-Friday. Dates may lie
    in the neighbouring year (a 元旦 break can start on December 30). Raises
    HolidayFileError (a ValueError) naming the file on malformed content,
    because a silently skipped file would give wrong legal deadlines.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HolidayFileError(f"{path}: cannot read holiday file: {exc}") from exc
    year = raw.get("year") if isinstance(raw, dict) else None
    if isinstance(year, bool) or not isinstance(year, int):
        raise HolidayFileError(f"{path}: 'year' must be an integer")
    days = raw.get("days")
    if not isinstance(days, list):
        raise HolidayFileError(f"{path}: 'days' must be a list")
    working: dict[date, bool] = {}
    for entry in days:
        try:
            day = date.fromisoformat(entry["date"])
            off = entry["isOffDay"]
        except (TypeError, KeyError, ValueError) as exc:
            raise HolidayFileError(f"{path}: bad day entry {entry!r}") from exc
        if not isinstance(off, bool) or abs(day.year - year) > 1:
            raise HolidayFileError(f"{path}: bad day entry {entry!r}")
        working[day] = not off
    return HolidayFile(year, MappingProxyType(working), path)


def _holiday_dirs() -> list[Path]:
    dirs = [SHIPPED_HOLIDAYS_DIR] if SHIPPED_HOLIDAYS_DIR.is_dir() else []
    extra = os.environ.get(HOLIDAYS_ENV)
    if extra:
        # A mistyped setting must not quietly fall back to provisional years.
        if not Path(extra).is_dir():
            raise NotADirectoryError(f"{HOLIDAYS_ENV}={extra!r} is not a directory")
        dirs.append(Path(extra))
    return dirs


def _holiday_paths() -> list[Path]:
    return [path for folder in _holiday_dirs() for path in sorted(folder.glob("*.json"))]


def _signature(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:  # removed between the listing and the look
            continue
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _extra() -> _Extra:
    paths = _holiday_paths()
    files: dict[int, HolidayFile] = {}
    digests: dict[int, str] = {}
    for path in paths:
        parsed = read_holiday_file(path)
        # The configured directory comes last, so it wins over shipped data.
        files[parsed.year] = parsed
        digests[parsed.year] = hashlib.sha256(path.read_bytes()).hexdigest()
    working: dict[date, bool] = {}
    for year in sorted(files):
        # A later notice wins on a December date that two files list.
        working.update(files[year].working)
    in_force = tuple((year, str(files[year].path), digests[year]) for year in sorted(files))
    return _Extra(frozenset(files), MappingProxyType(working), in_force, _signature(paths))


def reset_cache() -> None:
    """Forget all computed years and loaded holiday files.

    The next call re-reads ``workflow/kernel/holidays/`` and ``DAIBAN_HOLIDAYS_DIR``
    as they are then. Use it after dropping in a newly published year, and in
    tests.
    """
    _extra.cache_clear()
    _year.cache_clear()
    _provisional_table.cache_clear()


_last_look = [float("-inf")]


def refresh(*, at_most_every: float = 0.0) -> bool:
    """Reload the holiday files if any was added, changed or removed since they
    were read (``reset_cache``); True when it did. A long-running process (the
    scheduler, a web worker) calls it now and then so that a file an admin drops
    in counts without a restart; ``at_most_every`` seconds skips the look (a few
    ``stat`` calls) when the last one was more recent."""
    moment = time.monotonic()
    if moment - _last_look[0] < at_most_every:
        return False
    _last_look[0] = moment
    if not _extra.cache_info().currsize:
        return False  # nothing loaded yet: the first use reads the files as they are
    if _signature(_holiday_paths()) == _extra().signature:
        return False
    reset_cache()
    return True


def year_ranges(years: Iterable[int]) -> str:
    """``2004–2026, 2028`` for a set of years; ``none`` when empty."""
    spans: list[list[int]] = []
    for year in sorted(set(years)):
        if spans and year == spans[-1][1] + 1:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in spans) or "none"


def schedule_source() -> ScheduleSource:
    """The holiday schedule in force: the published years (chinesecalendar and
    the holiday files), the provisional ones and their rule, and a fingerprint
    that changes whenever any of them does (a file added or edited, a newer
    chinesecalendar or ``holidays`` package, a new provisional rule)."""
    extra = _extra()
    published = sorted(set(range(_CC_FIRST_YEAR, _CC_LAST_YEAR + 1)) | extra.years)
    package = f"chinesecalendar {chinese_calendar.__version__} ({_CC_FIRST_YEAR}–{_CC_LAST_YEAR})"
    rule = (f"{PROVISIONAL_RULE}, applied by holidays {holiday_rules.__version__} "
            "(weekdays minus the statutory holidays and their 补假; no make-up Saturdays)")
    content = json.dumps({"package": package, "rule": rule, "published": published,
                          "files": [[year, digest] for year, _path, digest in extra.files]},
                         ensure_ascii=False, sort_keys=True)
    return ScheduleSource(
        fingerprint=hashlib.sha256(content.encode()).hexdigest(),
        published_years=tuple(published),
        provisional_years=(_PROVISIONAL_FIRST_YEAR, _PROVISIONAL_LAST_YEAR),
        package=package, rule=rule, files=extra.files)


# --- the law's own holidays (provisional years) -----------------------------


def qingming_day(year: int) -> date:
    """The date of the Qingming solar term (清明, April 4 or 5) in ``year``.

    Uses the usual 21st-century formula ``int(Y*0.2422 + 4.81) - int(Y/4)``
    with ``Y = year % 100``; it agrees with chinesecalendar for 2004-2026.
    """
    y = year % 100
    return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)


@functools.cache
def statutory_holidays(year: int) -> frozenset[date]:
    """The 13 days the 全国年节及纪念日放假办法 (2024 revision) itself makes holidays.

    元旦 Jan 1; 春节 除夕 and 正月初一 to 初三; 清明; 劳动节 May 1-2; 端午 (lunar
    5/5); 中秋 (lunar 8/15); 国庆 Oct 1-3. The State Council's yearly notice
    moves and extends these with 调休; this set is what a year without a notice
    can count on. Only meaningful for 1900-2099 (lunardate's range).
    """
    new_year = LunarDate(year, 1, 1).to_solar_date()
    # 除夕 is the eve of 初一, whether the 12th month has 29 or 30 days.
    spring = {new_year + timedelta(days=k) for k in range(-1, 3)}
    fixed = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2)}
    fixed |= {date(year, 10, k) for k in (1, 2, 3)}
    dragon_boat = LunarDate(year, 5, 5).to_solar_date()
    mid_autumn = LunarDate(year, 8, 15).to_solar_date()
    return frozenset(spring | fixed | {qingming_day(year), dragon_boat, mid_autumn})


@functools.lru_cache(maxsize=128)
def _provisional_table(year: int) -> holiday_rules.HolidayBase:
    return holiday_rules.China(years=year, language="zh_CN")


def provisional_days_off(year: int) -> dict[date, str]:
    """The days off a year without a published notice counts, with their names.

    The statutory holidays (``statutory_holidays``) and their 补假: 全国年节及纪念日
    放假办法 Art. 6, "全体公民放假的假日，如果适逢星期六、星期日，应当在工作日补假",
    applied by the ``holidays`` package's China rule (the next working day not
    already a holiday). 2027: 初一 and 初二 (02-06, 02-07) are a weekend, so
    02-09 and 02-10 are off after 初三 (02-08); May 1-2 give 05-03 and 05-04;
    Oct 2-3 give 10-04 and 10-05.
    """
    if not _PROVISIONAL_FIRST_YEAR <= year <= _PROVISIONAL_LAST_YEAR:
        raise CalendarRangeError(_range_message(year))
    return {day: name for day, name in _provisional_table(year).items() if day.year == year}


# --- per-year working-day tables --------------------------------------------


def year_is_published(year: int) -> bool:
    """True when the State Council schedule for ``year`` is known.

    Known means covered by the chinesecalendar package or by a holiday JSON
    file (shipped in ``workflow/kernel/holidays/`` or in ``DAIBAN_HOLIDAYS_DIR``).
    """
    return year in _extra().years or _CC_FIRST_YEAR <= year <= _CC_LAST_YEAR


def _base_rule(year: int, extra: _Extra) -> Callable[[date], bool]:
    if year in extra.years:
        return _is_weekday  # the JSON file lists every off day and make-up day itself
    if _CC_FIRST_YEAR <= year <= _CC_LAST_YEAR:
        return chinese_calendar.is_workday
    if _PROVISIONAL_FIRST_YEAR <= year <= _PROVISIONAL_LAST_YEAR:
        off = provisional_days_off(year)
        # A year the package already knows the notice of also lists its make-up
        # workdays; a provisional year has none.
        worked = getattr(_provisional_table(year), "weekend_workdays", frozenset())
        return lambda day: day in worked or (_is_weekday(day) and day not in off)
    raise CalendarRangeError(_range_message(year))


def supported_range() -> tuple[date, date]:
    """The first and last day the clock can count: the provisional rule's years
    and any adjacent years a holiday file adds."""
    years = _extra().years
    first, last = _PROVISIONAL_FIRST_YEAR, _PROVISIONAL_LAST_YEAR
    while first - 1 in years:
        first -= 1
    while last + 1 in years:
        last += 1
    return date(first, 1, 1), date(last, 12, 31)


def _range_message(year: int) -> str:
    first, last = supported_range()
    return (f"no working-day calendar for {year}: the supported range is "
            f"{first.isoformat()} to {last.isoformat()}")


def _is_weekday(day: date) -> bool:
    return day.weekday() < 5


@functools.cache
def _year(year: int) -> _Year:
    extra = _extra()
    rule = _base_rule(year, extra)
    workdays = []
    day, end = date(year, 1, 1), date(year, 12, 31)
    while day <= end:
        # Dates a JSON file lists win even outside its own year: the notice for
        # year Y may move late-December days of Y-1 (e.g. 2018-12-29 worked).
        if extra.working.get(day, rule(day)):
            workdays.append(day)
        day += _ONE_DAY
    return _Year(tuple(workdays), frozenset(workdays), year_is_published(year))


# --- public arithmetic ------------------------------------------------------


def is_working_day(d: date) -> bool:
    """True when ``d`` is a working day (工作日) under its year's schedule.

    Published years follow the State Council notice, make-up Saturdays and
    Sundays included; provisional years are Monday-Friday minus the statutory
    holidays. Raises ValueError for a year with no calendar at all.
    """
    _check_date(d, "d")
    return d in _year(d.year).workday_set


def is_provisional(d: date) -> bool:
    """True when ``d`` lies in a year whose holiday schedule is not published."""
    _check_date(d, "d")
    return not year_is_published(d.year)


def add_working_days(start: date, n: int) -> Due:
    """The ``n``-th working day after ``start``; ``start`` itself never counts.

    ``n == 0`` returns ``start`` unchanged (even on a holiday) and not
    provisional, since no day was looked at. The result is provisional when any
    day counted through lies in an unpublished year. Raises TypeError for a
    non-date ``start`` and ValueError for a negative or non-int ``n``.
    """
    _check_date(start, "start")
    _check_days(n)
    if n == 0:
        return Due(start, False)
    provisional = False
    # Walk year by year from the first day that can count (start + 1).
    year = start.year + 1 if (start.month, start.day) == (12, 31) else start.year
    while True:
        table = _year(year)
        first = bisect.bisect_right(table.workdays, start)
        available = len(table.workdays) - first
        provisional = provisional or not table.published
        if n <= available:
            return Due(table.workdays[first + n - 1], provisional)
        n -= available
        year += 1


def working_day_before(d: date, n: int) -> date:
    """The ``n``-th working day before ``d`` (``d`` itself never counts);
    ``n == 0`` returns ``d``. The mirror of ``add_working_days``, used to find
    the first day a deadline comes within ``n`` working days."""
    _check_date(d, "d")
    _check_days(n)
    year = d.year
    while n:
        table = _year(year)
        last = bisect.bisect_left(table.workdays, d)
        if n <= last:
            return table.workdays[last - n]
        n -= last
        year -= 1
    return d


def next_working_day(d: date) -> date:
    """The first working day strictly after ``d``."""
    return add_working_days(d, 1).date


def roll_forward(d: date) -> date:
    """``d`` itself when it is a working day, else the next working day."""
    return d if is_working_day(d) else next_working_day(d)


def due_date(start: date, n: int, *, calendar_days: bool = False) -> Due:
    """The due date of an ``n``-day limit that starts on ``start``.

    Working days (the default): ``add_working_days(start, n)``. Calendar days
    (自然日): ``start + n`` days, moved to the next working day when that day
    is not one (民法典 Art. 203: a period ending on a holiday ends on the next
    working day); this applies to ``n == 0`` too. Raises TypeError for a
    non-date ``start`` and ValueError for a negative or non-int ``n``.
    """
    _check_date(start, "start")
    _check_days(n)
    if not calendar_days:
        return add_working_days(start, n)
    try:
        end = start + timedelta(days=n)
    except OverflowError:
        first, last = supported_range()
        raise CalendarRangeError(f"{n} days after {start.isoformat()} is past the supported range "
                                 f"{first.isoformat()} to {last.isoformat()}") from None
    # The date itself does not depend on the calendar; only the holiday check does.
    if is_working_day(end):
        return Due(end, is_provisional(end))
    moved = add_working_days(end, 1)
    return Due(moved.date, moved.provisional or is_provisional(end))


def working_days_between(a: date, b: date) -> Count:
    """The number of working days ``d`` with ``a < d <= b``.

    Negative (the mirror count) when ``b < a``, 0 when equal. Provisional when
    any day in the interval lies in an unpublished year.
    """
    _check_date(a, "a")
    _check_date(b, "b")
    if b < a:
        mirror = working_days_between(b, a)
        return Count(-mirror.days, mirror.provisional)
    if a == b:
        return Count(0, False)
    days, provisional = 0, False
    for year in range((a + _ONE_DAY).year, b.year + 1):
        workdays, _, published = _year(year)
        days += bisect.bisect_right(workdays, b) - bisect.bisect_right(workdays, a)
        provisional = provisional or not published
    return Count(days, provisional)


def working_days_left(today: date, due: date) -> Count:
    """Working days from ``today`` to ``due``: ``working_days_between(today, due)``.

    Zero on the due date itself, negative once overdue (-1 on the first
    working day after it).
    """
    return working_days_between(today, due)


def late_bound(today: date, n: int) -> date:
    """The first due date that is *not* at least ``n`` working days late on
    ``today``: ``working_days_between(due, today) >= n`` exactly when
    ``due < late_bound(today, n)``, so "late by n or more" is an index range.

    ``n >= 1``: the n-th working day counting back from ``today`` (itself
    included); ``n <= 0``: the (1 - n)-th working day after ``today``."""
    _check_date(today, "today")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if n >= 1:
        return working_day_before(today + _ONE_DAY, n)
    return add_working_days(today, 1 - n).date

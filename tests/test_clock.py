"""The statutory clock: working days under the State Council's yearly notices.

Expected dates are written from the notices themselves (国务院办公厅关于2025年 /
2026年部分节假日安排的通知) and counted by hand, not taken from chinesecalendar.
"""

import hashlib
import json
import time
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from workflow.kernel import clock
from workflow.kernel.clock import (
    Count,
    Due,
    add_working_days,
    due_date,
    is_provisional,
    is_working_day,
    next_working_day,
    roll_forward,
    working_days_between,
    working_days_left,
    year_is_published,
)


@pytest.fixture(autouse=True)
def _no_extra_holiday_files(monkeypatch):
    """Every test starts from the shipped data only, whatever the shell has set."""
    monkeypatch.delenv(clock.HOLIDAYS_ENV, raising=False)
    clock.reset_cache()
    yield
    clock.reset_cache()


def _days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


# --- the 2025 and 2026 notices ------------------------------------------------

OFF_2025 = [
    date(2025, 1, 1),  # 元旦
    *_days("2025-01-28", "2025-02-04"),  # 春节
    *_days("2025-05-01", "2025-05-05"),  # 劳动节
    *_days("2025-10-01", "2025-10-08"),  # 国庆 + 中秋
]
MAKE_UP_WORKDAYS_2025 = [
    date(2025, 1, 26),  # Sunday before 春节
    date(2025, 2, 8),  # Saturday after 春节
    date(2025, 4, 27),  # Sunday before 劳动节
    date(2025, 9, 28),  # Sunday before 国庆
    date(2025, 10, 11),  # Saturday after 国庆
]
OFF_2026 = [
    *_days("2026-01-01", "2026-01-03"),  # 元旦
    *_days("2026-02-15", "2026-02-23"),  # 春节
    *_days("2026-04-04", "2026-04-06"),  # 清明
    *_days("2026-05-01", "2026-05-05"),  # 劳动节
    *_days("2026-06-19", "2026-06-21"),  # 端午
    *_days("2026-09-25", "2026-09-27"),  # 中秋
    *_days("2026-10-01", "2026-10-07"),  # 国庆
]
MAKE_UP_WORKDAYS_2026 = [
    date(2026, 1, 4),  # Sunday after 元旦
    date(2026, 2, 14),  # Saturday before 春节
    date(2026, 2, 28),  # Saturday after 春节
    date(2026, 5, 9),  # Saturday after 劳动节
    date(2026, 9, 20),  # Sunday before 国庆
    date(2026, 10, 10),  # Saturday after 国庆
]


@pytest.mark.parametrize("day", OFF_2025 + OFF_2026, ids=str)
def test_a_day_off_in_the_notice_is_not_a_working_day(day):
    assert not is_working_day(day)


@pytest.mark.parametrize("day", MAKE_UP_WORKDAYS_2025 + MAKE_UP_WORKDAYS_2026, ids=str)
def test_a_make_up_weekend_day_in_the_notice_is_a_working_day(day):
    assert day.weekday() >= 5
    assert is_working_day(day)


def test_ordinary_weekdays_work_and_ordinary_weekends_rest():
    assert is_working_day(date(2026, 3, 2))  # Monday
    assert is_working_day(date(2025, 2, 5))  # first day back after 春节 2025
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday


def test_every_day_of_the_published_years_agrees_with_chinesecalendar():
    # The package is the data source for 2004-2026: this checks we read it right.
    for day in _days("2004-01-01", "2026-12-31"):
        assert is_working_day(day) == chinese_calendar.is_workday(day), day


# --- due dates ------------------------------------------------------------------


def test_five_working_days_from_just_before_spring_festival_2026():
    # 02-13 (1), 02-14 make-up Saturday (2), 02-15..23 off, 02-24 (3), 02-25 (4), 02-26 (5)
    assert due_date(date(2026, 2, 12), 5) == Due(date(2026, 2, 26), False)
    assert add_working_days(date(2026, 2, 12), 5) == Due(date(2026, 2, 26), False)


def test_five_working_days_across_national_day_2026_end_on_the_make_up_saturday():
    # 09-29 (1), 09-30 (2), 10-01..07 off, 10-08 (3), 10-09 (4), 10-10 Saturday (5)
    assert due_date(date(2026, 9, 28), 5).date == date(2026, 10, 10)


def test_twenty_working_days_across_mid_autumn_and_national_day_2026():
    # 09-20 make-up Sunday (1), 09-21..24 (2-5), 09-25..27 off, 09-28..30 (6-8),
    # 10-01..07 off, 10-08..10 (9-11), 10-12..16 (12-16), 10-19..22 (17-20)
    assert due_date(date(2026, 9, 18), 20).date == date(2026, 10, 22)


def test_the_day_of_acceptance_never_counts():
    assert add_working_days(date(2026, 3, 6), 1).date == date(2026, 3, 9)  # Fri -> Mon
    assert add_working_days(date(2026, 3, 4), 1).date == date(2026, 3, 5)
    # accepted on a working day or a holiday: either way the count starts after it
    assert add_working_days(date(2026, 2, 14), 1).date == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 16), 1).date == date(2026, 2, 24)


def test_zero_working_days_is_the_start_day_itself_even_on_a_holiday():
    assert add_working_days(date(2026, 2, 16), 0) == Due(date(2026, 2, 16), False)
    assert due_date(date(2026, 3, 4), 0) == Due(date(2026, 3, 4), False)


def test_a_calendar_day_limit_ending_on_a_holiday_moves_to_the_next_working_day():
    # 2026-09-21 + 10 days = 10-01, inside 国庆 -> 10-08
    due = due_date(date(2026, 9, 21), 10, calendar_days=True)
    assert due == Due(date(2026, 10, 8), False)
    # 2026-01-26 + 20 days = 02-15, inside 春节 -> 02-24
    assert due_date(date(2026, 1, 26), 20, calendar_days=True).date == date(2026, 2, 24)
    # a plain Sunday moves to Monday
    assert due_date(date(2026, 3, 1), 7, calendar_days=True).date == date(2026, 3, 9)


def test_a_calendar_day_limit_ending_on_a_working_day_stays_put():
    assert due_date(date(2026, 3, 2), 30, calendar_days=True).date == date(2026, 4, 1)
    # 02-14 is a Saturday but a make-up workday
    assert due_date(date(2026, 2, 4), 10, calendar_days=True).date == date(2026, 2, 14)


def test_a_zero_calendar_day_limit_still_moves_off_a_holiday():
    assert due_date(date(2026, 2, 16), 0, calendar_days=True).date == date(2026, 2, 24)
    assert due_date(date(2026, 3, 4), 0, calendar_days=True).date == date(2026, 3, 4)


def test_next_working_day_and_roll_forward():
    assert next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert next_working_day(date(2026, 3, 4)) == date(2026, 3, 5)
    assert roll_forward(date(2026, 10, 1)) == date(2026, 10, 8)
    assert roll_forward(date(2026, 10, 9)) == date(2026, 10, 9)
    assert roll_forward(date(2026, 9, 20)) == date(2026, 9, 20)  # make-up Sunday


def test_adding_then_counting_gives_back_the_same_number_of_days():
    for start in _days("2025-12-01", "2026-03-31"):
        for n in (1, 5, 20, 45, 120):
            due = add_working_days(start, n).date
            assert working_days_between(start, due) == Count(n, False), (start, n)


# --- counting -----------------------------------------------------------------


def test_counting_working_days_is_signed_and_zero_on_the_same_day():
    a, b = date(2026, 2, 12), date(2026, 2, 26)
    assert working_days_between(a, b) == Count(5, False)
    assert working_days_between(b, a) == Count(-5, False)
    assert working_days_between(a, a) == Count(0, False)
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == Count(5, False)


def test_counting_across_the_2025_to_2026_year_end():
    # 12-30 (1), 12-31 (2), 01-01..03 off, 01-04 make-up Sunday (3), 01-05 (4)
    old_year, new_year = date(2025, 12, 29), date(2026, 1, 5)
    assert working_days_between(old_year, new_year) == Count(4, False)
    assert working_days_between(new_year, old_year) == Count(-4, False)


def test_working_days_left_counts_down_and_goes_negative_when_overdue():
    due = date(2026, 2, 26)
    assert working_days_left(date(2026, 2, 24), due) == Count(2, False)
    assert working_days_left(date(2026, 2, 20), due) == Count(3, False)  # on holiday
    assert working_days_left(due, due) == Count(0, False)
    assert working_days_left(date(2026, 2, 27), due) == Count(-1, False)
    # 02-27, 02-28 (make-up Saturday), 03-02
    assert working_days_left(date(2026, 3, 2), due) == Count(-3, False)


# --- provisional years ----------------------------------------------------------


def test_2027_has_no_published_schedule_and_its_dates_are_provisional():
    assert year_is_published(2004)
    assert year_is_published(2026)
    assert not year_is_published(2027)
    assert is_provisional(date(2027, 1, 4))
    assert not is_provisional(date(2026, 12, 31))


def test_a_provisional_year_keeps_the_holidays_the_law_itself_fixes():
    # 2027 春节: 除夕 02-05 (Fri), 初一 02-06, 初三 02-08 (Mon)
    assert clock.statutory_holidays(2027) == frozenset(
        [
            date(2027, 1, 1),  # 元旦
            *_days("2027-02-05", "2027-02-08"),  # 春节: 除夕 .. 初三
            date(2027, 4, 5),  # 清明
            date(2027, 5, 1),  # 劳动节
            date(2027, 5, 2),
            date(2027, 6, 9),  # 端午, lunar 5/5
            date(2027, 9, 15),  # 中秋, lunar 8/15
            *_days("2027-10-01", "2027-10-03"),  # 国庆
        ]
    )
    assert not is_working_day(date(2027, 2, 5))  # 除夕
    assert not is_working_day(date(2027, 2, 6))  # 初一
    assert not is_working_day(date(2027, 2, 8))  # 初三, a Monday
    assert is_working_day(date(2027, 2, 11))  # the Thursday after the 补假


def test_a_provisional_year_makes_up_weekend_holidays_on_working_days():
    """放假办法 Art. 6: a holiday on a Saturday or Sunday is made up (补假) on a
    working day. 2027, by hand: 初一 Sat 02-06 and 初二 Sun 02-07 → 02-09 (Tue)
    and 02-10 (Wed), since 初三 Mon 02-08 is a holiday itself; 劳动节 Sat 05-01
    and Sun 05-02 → Mon 05-03 and Tue 05-04; 国庆 Sat 10-02 and Sun 10-03 →
    Mon 10-04 and Tue 10-05 (10-01 is a Friday). 元旦 (Fri), 清明 (Mon 04-05),
    端午 (Wed 06-09) and 中秋 (Wed 09-15) fall on weekdays: nothing to make up."""
    made_up = [date(2027, 2, 9), date(2027, 2, 10), date(2027, 5, 3), date(2027, 5, 4),
               date(2027, 10, 4), date(2027, 10, 5)]
    for day in made_up:
        assert day.weekday() < 5 and not is_working_day(day), day
    off = clock.provisional_days_off(2027)
    assert set(off) - clock.statutory_holidays(2027) == set(made_up)
    assert all("补假" in off[day] for day in made_up)
    assert is_working_day(date(2027, 5, 5)) and is_working_day(date(2027, 10, 6))


def test_a_provisional_year_guesses_no_make_up_saturday():
    # 调休 is the notice's choice: without it a weekend stays a weekend.
    assert not is_working_day(date(2027, 9, 26))  # Sunday before 国庆
    assert not is_working_day(date(2027, 2, 20))  # Saturday after 春节
    assert not is_working_day(date(2027, 10, 9))


def test_twenty_working_days_from_28_january_2027_count_the_spring_festival_bujia():
    """Started Thu 2027-01-28 (does not count), 20 working days, by hand:
    01-29 (1); 02-01..02-04 (2-5); 02-05 除夕, 02-06/07 weekend (初一, 初二),
    02-08 初三, 02-09 and 02-10 补假 for 初一 and 初二; 02-11, 02-12 (6, 7);
    02-15..02-19 (8-12); 02-22..02-26 (13-17); 03-01, 03-02, 03-03 (18-20).
    Without 补假 it would wrongly come out on 03-01, two working days early."""
    assert due_date(date(2027, 1, 28), 20) == Due(date(2027, 3, 3), True)


def test_five_working_days_across_the_2027_labour_day_and_national_day():
    """Thu 2027-04-29 + 5: 04-30 (1); 05-01/02 weekend holidays; 05-03, 05-04
    补假; 05-05..05-07 (2-4); 05-10 (5). Thu 2027-09-30 + 3: 10-01 off, 10-02/03
    weekend holidays, 10-04, 10-05 补假; 10-06, 10-07, 10-08 (1-3)."""
    assert due_date(date(2027, 4, 29), 5) == Due(date(2027, 5, 10), True)
    assert due_date(date(2027, 9, 30), 3) == Due(date(2027, 10, 8), True)
    # A 7-calendar-day limit ending on a 补假 day moves to the next working day.
    assert due_date(date(2027, 9, 27), 7, calendar_days=True) == Due(date(2027, 10, 6), True)


def test_the_holidays_package_agrees_with_the_law_on_every_provisional_year():
    """The package's China holidays before 补假 are exactly the 13 days the
    放假办法 fixes (our own lunar and Qingming computation), 2027-2099."""
    import holidays

    for year in range(2027, 2100):
        assert set(holidays.China(years=year, observed=False)) == clock.statutory_holidays(year), year
        off = clock.provisional_days_off(year)
        for day in set(off) - clock.statutory_holidays(year):
            assert day.weekday() < 5, (year, day)  # 补假 always falls on a weekday


def test_a_due_date_reaching_into_2027_is_provisional():
    # 12-21..25 (5), 12-28..31 (9), 01-01 off, 01-04..08 (14), 01-11..15 (19), 01-18 (20)
    assert due_date(date(2026, 12, 20), 20) == Due(date(2027, 1, 18), True)
    assert due_date(date(2026, 3, 2), 10) == Due(date(2026, 3, 16), False)
    assert due_date(date(2026, 12, 25), 10, calendar_days=True).provisional


def test_a_count_reaching_into_2027_is_provisional_either_way_round():
    a, b = date(2026, 12, 28), date(2027, 1, 4)
    assert working_days_between(a, b) == Count(4, True)  # 12-29..31, (01-01 off), 01-04
    assert working_days_between(b, a) == Count(-4, True)
    assert working_days_left(date(2026, 12, 1), date(2026, 12, 31)).provisional is False


def test_the_qingming_formula_matches_chinesecalendar_2004_to_2026():
    for year in range(2004, 2027):
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        expected = next(day for day, name in terms if name == "清明")
        assert clock.qingming_day(year) == expected, year


def test_years_without_any_calendar_are_refused():
    with pytest.raises(ValueError, match="2100"):
        is_working_day(date(2100, 1, 4))
    with pytest.raises(ValueError, match="2003"):
        is_working_day(date(2003, 6, 2))


@pytest.mark.parametrize("call", [
    lambda: due_date(date(1999, 5, 4), 5),  # starts before the range
    lambda: due_date(date(2026, 3, 2), 10**9),  # runs past 2099
    lambda: due_date(date(2026, 3, 2), 10**12, calendar_days=True),  # past date.max
    lambda: due_date(date(9999, 12, 31), 1),
    lambda: add_working_days(date(2099, 12, 31), 1),
    lambda: clock.working_day_before(date(2004, 1, 2), 5),
    lambda: working_days_between(date(2003, 1, 1), date(2026, 1, 1)),
])
def test_a_date_outside_the_supported_range_says_which_range(call):
    with pytest.raises(clock.CalendarRangeError, match="2004-01-01 to 2099-12-31"):
        call()
    assert clock.supported_range() == (date(2004, 1, 1), date(2099, 12, 31))


# --- bad input ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2026-03-02", None, 20260302, datetime(2026, 3, 2, 9)])
def test_a_date_argument_that_is_not_a_date_is_a_type_error(bad):
    with pytest.raises(TypeError, match="datetime.date"):
        is_working_day(bad)
    with pytest.raises(TypeError, match="start"):
        due_date(bad, 5)
    with pytest.raises(TypeError, match="datetime.date"):
        working_days_between(date(2026, 3, 2), bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "5", None, True])
def test_a_day_count_that_is_not_a_whole_non_negative_number_is_a_value_error(bad):
    with pytest.raises(ValueError, match="n must be"):
        add_working_days(date(2026, 3, 2), bad)
    with pytest.raises(ValueError, match="n must be"):
        due_date(date(2026, 3, 2), bad, calendar_days=True)


# --- extra published years from JSON files --------------------------------------


def _write_year(folder, year, days):
    entries = [{"name": name, "date": iso, "isOffDay": off} for name, iso, off in days]
    path = folder / f"{year}.json"
    text = json.dumps({"year": year, "days": entries}, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


# A made-up 2027 notice for the tests (the real one is not out yet).
FICTIONAL_2027 = [
    ("元旦", "2027-01-01", True),
    *[("春节", day.isoformat(), True) for day in _days("2027-02-05", "2027-02-12")],
    ("春节", "2027-02-20", False),  # make-up Saturday
]


@pytest.fixture
def holidays_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(clock.HOLIDAYS_ENV, str(tmp_path))
    clock.reset_cache()
    return tmp_path


def test_a_json_file_publishes_2027_with_its_make_up_saturday(holidays_dir):
    _write_year(holidays_dir, 2027, FICTIONAL_2027)
    clock.reset_cache()
    assert year_is_published(2027)
    assert not is_provisional(date(2027, 3, 1))
    assert is_working_day(date(2027, 2, 20))  # make-up Saturday
    assert not is_working_day(date(2027, 2, 11))  # a Thursday the notice gives off
    assert due_date(date(2026, 12, 20), 20) == Due(date(2027, 1, 18), False)


def test_a_json_file_is_read_lazily_once_until_the_cache_is_reset(holidays_dir):
    assert not year_is_published(2027)
    _write_year(holidays_dir, 2027, FICTIONAL_2027)
    assert not year_is_published(2027)  # already loaded
    clock.reset_cache()
    assert year_is_published(2027)


def test_a_json_year_replaces_chinesecalendar_for_that_year(holidays_dir):
    _write_year(holidays_dir, 2026, [("测试", "2026-03-02", True)])
    clock.reset_cache()
    assert not is_working_day(date(2026, 3, 2))
    assert is_working_day(date(2026, 2, 16))  # 春节 not listed in this file


def test_a_json_file_may_move_december_days_of_the_year_before(holidays_dir):
    _write_year(holidays_dir, 2027, [("元旦", "2026-12-31", True), *FICTIONAL_2027])
    clock.reset_cache()
    assert not is_working_day(date(2026, 12, 31))
    assert is_working_day(date(2026, 12, 30))


def test_a_malformed_json_file_is_refused_with_its_name(holidays_dir):
    bad = {"year": 2027, "days": [{"date": "2027-13-01", "isOffDay": True}]}
    (holidays_dir / "2027.json").write_text(json.dumps(bad))
    clock.reset_cache()
    with pytest.raises(clock.HolidayFileError, match="2027.json"):
        is_working_day(date(2027, 1, 4))


def test_a_holidays_dir_setting_that_is_not_a_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(clock.HOLIDAYS_ENV, str(tmp_path / "missing"))
    clock.reset_cache()
    with pytest.raises(NotADirectoryError, match=clock.HOLIDAYS_ENV):
        is_working_day(date(2026, 3, 2))


# --- hot path -------------------------------------------------------------------


def test_adding_two_hundred_working_days_is_fast():
    add_working_days(date(2025, 3, 1), 200)  # builds the year tables once
    began = time.perf_counter()
    for _ in range(10_000):
        add_working_days(date(2025, 3, 1), 200)
    # about 1 microsecond a call on a laptop; the bound only catches a day-by-day walk
    assert time.perf_counter() - began < 1.0


def test_working_day_before_mirrors_add_working_days():
    # Monday 23 March 2026: Friday 20 is one working day before, Thursday 19 two.
    assert clock.working_day_before(date(2026, 3, 23), 1) == date(2026, 3, 20)
    assert clock.working_day_before(date(2026, 3, 23), 2) == date(2026, 3, 19)
    assert clock.working_day_before(date(2026, 3, 23), 0) == date(2026, 3, 23)
    # Across the Spring Festival: 24 Feb back 2 → Sat 14 Feb (make-up), then 13 Feb.
    assert clock.working_day_before(date(2026, 2, 24), 1) == date(2026, 2, 14)
    assert clock.working_day_before(date(2026, 2, 24), 2) == date(2026, 2, 13)
    # Across the year end.
    assert clock.working_day_before(date(2026, 1, 5), 1) == date(2026, 1, 4)  # Sun make-up
    assert clock.working_day_before(date(2026, 1, 4), 1) == date(2025, 12, 31)
    for start in (date(2026, 2, 10), date(2026, 9, 28), date(2025, 12, 30)):  # working days
        for n in (1, 5, 17):
            assert clock.working_day_before(clock.add_working_days(start, n).date, n) == start
    with pytest.raises(ValueError):
        clock.working_day_before(date(2026, 3, 23), -1)


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2026, 1, 4), date(2026, 2, 14),
                                   date(2026, 2, 16), date(2026, 3, 2), date(2026, 3, 7),
                                   date(2026, 10, 9), date(2026, 12, 31)])
@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 13])
def test_the_late_bound_is_exactly_where_lateness_reaches_n(today, n):
    bound = clock.late_bound(today, n)
    for offset in range(-40, 41):
        due = today + timedelta(days=offset)
        late = clock.working_days_between(due, today).days
        assert (late >= n) == (due < bound), (today, n, due, late, bound)


# --- which schedule is in force ------------------------------------------------


def test_the_schedule_source_names_the_published_and_provisional_years(holidays_dir):
    before = clock.schedule_source()
    assert before.published_years == tuple(range(2004, 2027))
    assert before.provisional[:2] == (2027, 2028) and before.provisional[-1] == 2099
    assert "chinesecalendar" in before.package and "补假" in before.rule
    assert any("published years: 2004–2026" == line for line in before.describe())
    assert clock.schedule_source() == before  # the same inputs, the same fingerprint
    _write_year(holidays_dir, 2027, FICTIONAL_2027)
    clock.reset_cache()
    after = clock.schedule_source()
    assert after.fingerprint != before.fingerprint
    assert after.published_years[-1] == 2027 and after.provisional[0] == 2028
    assert [(year, digest) for year, _path, digest in after.files] == [
        (2027, hashlib.sha256((holidays_dir / "2027.json").read_bytes()).hexdigest())]
    # Editing the file (a corrected notice) changes the fingerprint again.
    _write_year(holidays_dir, 2027, FICTIONAL_2027[:-1])
    clock.reset_cache()
    assert clock.schedule_source().fingerprint not in (before.fingerprint, after.fingerprint)


def test_refresh_notices_a_file_dropped_in_after_the_files_were_read(holidays_dir):
    assert not year_is_published(2027)  # the files are read
    assert clock.refresh() is False  # nothing changed on disk
    _write_year(holidays_dir, 2027, FICTIONAL_2027)
    assert not year_is_published(2027)  # still the cached reading
    assert clock.refresh(at_most_every=3600) is False  # looked a moment ago: skipped
    assert clock.refresh() is True
    assert year_is_published(2027)
    assert clock.refresh() is False
    (holidays_dir / "2027.json").unlink()
    assert clock.refresh() is True and not year_is_published(2027)


def test_year_ranges_reads_like_a_person_writes_them():
    assert clock.year_ranges([2004, 2005, 2006, 2026, 2028, 2027]) == "2004–2006, 2026–2028"
    assert clock.year_ranges([]) == "none"

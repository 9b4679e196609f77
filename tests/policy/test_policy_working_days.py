"""Working days: integer dates, the China-time calendar, and deadlines counted in working days."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_support import DEFAULT_PACK, china_ms
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.working_days import (
    DEADLINE_WORKING_DAYS_MAX,
    add_working_days,
    build_calendar,
    compute_civil_from_days,
    compute_days_from_civil,
    count_working_days_between,
    format_date,
    get_local_day,
    get_weekday,
    is_overdue,
    is_working_day,
    parse_date,
)

CALENDAR = DEFAULT_PACK.calendar
"""The shipped 2026 mainland calendar: China time, 2026 holidays and make-up days."""

PLAIN = build_calendar(utc_offset_minutes=480)
"""China time with weekends only."""

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


# Integer dates ----------------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_civil_dates_agree_with_the_standard_library(moment):
    day_number = moment.toordinal() - EPOCH_ORDINAL
    assert compute_days_from_civil(moment.year, moment.month, moment.day) == day_number
    assert compute_civil_from_days(day_number) == (moment.year, moment.month, moment.day)
    assert get_weekday(day_number) == moment.isoweekday()


def test_known_weekdays():
    assert get_weekday(0) == 4  # 1970-01-01 was a Thursday
    assert get_weekday(parse_date("2026-10-01")) == 4  # National Day 2026: a Thursday
    assert format_date(parse_date("2024-02-29")) == "2024-02-29"


@pytest.mark.parametrize("text", ["2026-02-29", "2026-13-01", "2026-1-01", "2026-04-31", "1969-12-31", "26-01-01", 20260101, None])
def test_malformed_dates(text):
    with pytest.raises(LedgerInputError, match="effective_from"):
        parse_date(text, where="effective_from")


# Calendars ----------------------------------------------------------------------------------------


def test_weekends_holidays_and_make_up_days():
    def is_working(text):
        return is_working_day(CALENDAR, parse_date(text))

    assert is_working("2026-03-13")          # an ordinary Friday
    assert not is_working("2026-03-14")      # an ordinary Saturday
    assert not is_working("2026-10-01")      # National Day, a Thursday
    assert not is_working("2026-10-07")      # last day of the holiday, a Wednesday
    assert is_working("2026-10-08")
    assert is_working("2026-09-20")          # a Sunday worked in exchange (调休)
    assert is_working("2026-10-10")          # a Saturday worked in exchange
    assert not is_working("2026-10-11")
    assert is_working("2026-01-04")          # the Sunday after New Year
    assert not is_working("2026-02-16")      # Spring Festival
    assert is_working("2026-02-14") and is_working("2026-02-28")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"make_up_working_days": ["2026-10-09"]}, "2026-10-09 is not a Saturday or Sunday"),
        ({"holidays": ["2026-10-10"], "make_up_working_days": ["2026-10-10"]}, "both a holiday and a make-up"),
        ({"holidays": ["2026-10-01", "2026-10-01"]}, r"holidays\[1\]: 2026-10-01 is listed twice"),
        ({"holidays": ["2026-10-32"]}, r"holidays\[0\]: 2026-10-32 is not a calendar date"),
        ({"utc_offset_minutes": 900}, "utc_offset_minutes must be an integer"),
        ({"utc_offset_minutes": 480.0}, "utc_offset_minutes must be an integer"),
    ],
)
def test_calendar_errors(arguments, message):
    arguments = {"utc_offset_minutes": 480, **arguments}
    with pytest.raises(LedgerInputError, match=message):
        build_calendar(**arguments)


# Deadlines ----------------------------------------------------------------------------------------


def test_three_working_days_from_monday_end_on_thursday_midnight():
    start = china_ms(2026, 3, 9, 10, 15)  # Monday
    assert add_working_days(CALENDAR, start, 3) == china_ms(2026, 3, 13)  # Thursday 24:00 = Friday 00:00
    assert add_working_days(PLAIN, start, 3) == china_ms(2026, 3, 13)
    assert add_working_days(CALENDAR, start, 5) == china_ms(2026, 3, 17)  # over the weekend: Monday 24:00


def test_a_deadline_is_local_midnight_expressed_in_utc():
    deadline = add_working_days(CALENDAR, china_ms(2026, 3, 9, 10), 3)
    assert deadline == 1773331200000  # 2026-03-12T16:00:00Z
    assert deadline % 86_400_000 == 16 * 3_600_000


def test_national_day_week_2026():
    # Wednesday 30 September: 1-7 October are holidays; Thursday 8, Friday 9, Saturday 10 (make-up).
    assert add_working_days(CALENDAR, china_ms(2026, 9, 30, 9), 3) == china_ms(2026, 10, 11)
    # Monday 28 September, a county decision of 10 working days:
    # 29, 30 Sept, 8, 9, 10 (Sat, make-up), 12, 13, 14, 15, 16 October.
    assert add_working_days(CALENDAR, china_ms(2026, 9, 28, 14), 10) == china_ms(2026, 10, 17)
    # Friday 18 September: Sunday 20 is a make-up working day.
    assert add_working_days(CALENDAR, china_ms(2026, 9, 18, 17), 3) == china_ms(2026, 9, 23)
    # Without holidays or make-up days the same period ends on Monday 12 October.
    assert add_working_days(PLAIN, china_ms(2026, 9, 28, 14), 10) == china_ms(2026, 10, 13)


def test_the_start_day_counts_by_local_date_not_utc_date():
    friday_late = china_ms(2026, 3, 13, 23, 30)    # Friday 15:30 UTC
    saturday_early = china_ms(2026, 3, 14, 0, 30)  # still Friday 16:30 UTC
    assert get_weekday(get_local_day(CALENDAR, friday_late)) == 5
    assert get_weekday(get_local_day(CALENDAR, saturday_early)) == 6
    sunday_late = china_ms(2026, 3, 15, 23, 30)
    monday_early = china_ms(2026, 3, 16, 0, 30)    # Sunday 16:30 UTC
    assert add_working_days(CALENDAR, sunday_late, 1) == china_ms(2026, 3, 17)  # Monday 24:00
    assert add_working_days(CALENDAR, monday_early, 1) == china_ms(2026, 3, 18)  # Tuesday 24:00


def test_friday_deadline_is_overdue_at_saturday_half_past_midnight_not_friday_half_past_eleven():
    start = china_ms(2026, 3, 12, 11)  # Thursday; one working day ends Friday 24:00
    deadline = add_working_days(CALENDAR, start, 1)
    assert not is_overdue(CALENDAR, start, 1, china_ms(2026, 3, 13, 23, 30))
    assert not is_overdue(CALENDAR, start, 1, deadline - 1)
    assert is_overdue(CALENDAR, start, 1, deadline)
    assert is_overdue(CALENDAR, start, 1, china_ms(2026, 3, 14, 0, 30))
    assert count_working_days_between(CALENDAR, start, china_ms(2026, 3, 13, 23, 30)) == 0
    assert count_working_days_between(CALENDAR, start, china_ms(2026, 3, 14, 0, 30)) == 1


def test_counting_across_national_day():
    start = china_ms(2026, 9, 28, 14)  # Monday
    assert count_working_days_between(CALENDAR, start, china_ms(2026, 10, 8)) == 2
    assert count_working_days_between(CALENDAR, start, china_ms(2026, 10, 12)) == 5
    assert count_working_days_between(CALENDAR, start, start) == 0
    assert count_working_days_between(CALENDAR, start, start - 10 * 86_400_000) == 0


@pytest.mark.parametrize("days", [0, -1, DEADLINE_WORKING_DAYS_MAX + 1, True, 3.0])
def test_deadline_length_is_bounded(days):
    with pytest.raises(LedgerInputError, match="a deadline must be an integer"):
        add_working_days(CALENDAR, 0, days)


def count_slowly(calendar, start_ms, end_ms):
    """The definition of count_working_days_between, one day at a time."""
    first = get_local_day(calendar, start_ms) + 1
    stop = get_local_day(calendar, end_ms)
    return sum(1 for day in range(first, stop) if is_working_day(calendar, day))


TIMES_2025_TO_2027 = st.integers(min_value=china_ms(2025, 11, 1), max_value=china_ms(2027, 3, 1))


@settings(max_examples=300)
@given(start=TIMES_2025_TO_2027, now=TIMES_2025_TO_2027, days=st.integers(min_value=1, max_value=45))
def test_overdue_exactly_when_enough_working_days_have_elapsed(start, now, days):
    deadline = add_working_days(CALENDAR, start, days)
    assert count_working_days_between(CALENDAR, start, deadline) == days
    assert count_working_days_between(CALENDAR, start, deadline - 1) == days - 1
    assert is_overdue(CALENDAR, start, days, now) == (count_working_days_between(CALENDAR, start, now) >= days)
    assert is_working_day(CALENDAR, get_local_day(CALENDAR, deadline - 1))


@settings(max_examples=300)
@given(start=TIMES_2025_TO_2027, end=TIMES_2025_TO_2027, offset=st.sampled_from([-300, 0, 330, 480, 840]))
def test_closed_form_count_equals_the_day_by_day_count(start, end, offset):
    calendar = build_calendar(
        utc_offset_minutes=offset,
        holidays=sorted(format_date(day) for day in CALENDAR.holidays),
        make_up_working_days=sorted(format_date(day) for day in CALENDAR.make_up_working_days),
    )
    assert count_working_days_between(calendar, start, end) == count_slowly(calendar, start, end)

"""Working days: the calendar that statutory deadlines are counted in.

Deadlines in social assistance are set in working days (the township starts the investigation
within 3, the county decides within 10, and so on). Whether a day is a working day depends on the
local date, not on UTC, so block time (milliseconds since the Unix epoch, UTC) is first moved into
the calendar's time zone by a fixed ``utc_offset_minutes`` (480 for China time, which has no
daylight saving). A local day is a working day when it is a Monday to Friday that is not a
holiday, or a weekend day declared a make-up working day (调休).

Counting follows Chinese administrative practice: the day on which a period starts is not counted,
and a deadline of N working days ends at local 24:00 of the Nth working day after it. A deadline is
therefore an instant (UTC milliseconds) that is *exclusive*: at that instant the period is over.

``ledger`` may not import ``datetime``, so dates are computed here with integers only: a date is
a day number (days since 1970-01-01), converted to and from the civil calendar with Howard
Hinnant's ``days_from_civil`` / ``civil_from_days`` algorithms (proleptic Gregorian calendar).
"""

import re
from dataclasses import dataclass
from typing import Iterable

from reliefledger.ledger.errors import LedgerInputError

MILLISECONDS_PER_DAY = 86_400_000
"""Length of a calendar day; UTC and fixed-offset zones have no leap seconds or DST."""

MILLISECONDS_PER_MINUTE = 60_000

UTC_OFFSET_MINUTES_MIN = -12 * 60
"""Westernmost offset in use (UTC-12:00)."""

UTC_OFFSET_MINUTES_MAX = 14 * 60
"""Easternmost offset in use (UTC+14:00)."""

DEADLINE_WORKING_DAYS_MAX = 366
"""Longest period ``add_working_days`` counts, in working days: it bounds the day-by-day walk."""

CALENDAR_DATES_MAX = 4096
"""Most holiday or make-up dates one calendar may list (about a century of public holidays)."""

YEAR_MIN = 1970
YEAR_MAX = 9999
"""Dates a calendar or a policy may name: from the Unix epoch to the end of four-digit years."""

ISO_WEEKDAY_SATURDAY = 6
ISO_WEEKDAY_SUNDAY = 7

DATE_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
"""``YYYY-MM-DD``, the one text form of a date."""


@dataclass(frozen=True)
class WorkingDayCalendar:
    """Which local days are working days, in one fixed-offset time zone."""

    utc_offset_minutes: int
    """Local time minus UTC, in minutes (480 for China time)."""

    holidays: frozenset[int]
    """Day numbers of public holidays: never working days, even on a weekday."""

    make_up_working_days: frozenset[int]
    """Day numbers of weekend days declared working days (调休): always working days."""


def build_calendar(
    *, utc_offset_minutes: int, holidays: Iterable[str] = (), make_up_working_days: Iterable[str] = ()
) -> WorkingDayCalendar:
    """Check the dates of a calendar and build it; ``LedgerInputError`` says what is wrong.

    A make-up working day must fall on a weekend (a weekday is a working day already, so listing
    it would hide a typo), and no date may be both a holiday and a make-up day.
    """
    if type(utc_offset_minutes) is not int or not UTC_OFFSET_MINUTES_MIN <= utc_offset_minutes <= UTC_OFFSET_MINUTES_MAX:
        raise LedgerInputError(
            f"utc_offset_minutes must be an integer in [{UTC_OFFSET_MINUTES_MIN}, {UTC_OFFSET_MINUTES_MAX}]"
        )
    holiday_days = _parse_date_set(holidays, "holidays")
    make_up_days = _parse_date_set(make_up_working_days, "make_up_working_days")
    for day in sorted(make_up_days):
        if not is_weekend(day):
            raise LedgerInputError(f"make_up_working_days: {format_date(day)} is not a Saturday or Sunday")
    both = sorted(holiday_days & make_up_days)
    if both:
        raise LedgerInputError(f"{format_date(both[0])} is both a holiday and a make-up working day")
    return WorkingDayCalendar(utc_offset_minutes, frozenset(holiday_days), frozenset(make_up_days))


def _parse_date_set(dates: Iterable[str], name: str) -> set[int]:
    days: set[int] = set()
    for index, text in enumerate(dates):
        if index >= CALENDAR_DATES_MAX:
            raise LedgerInputError(f"{name}: more than {CALENDAR_DATES_MAX} dates")
        day = parse_date(text, where=f"{name}[{index}]")
        if day in days:
            raise LedgerInputError(f"{name}[{index}]: {text} is listed twice")
        days.add(day)
    return days


# Dates as day numbers -----------------------------------------------------------------------------


def compute_days_from_civil(year: int, month: int, day: int) -> int:
    """Day number (days since 1970-01-01) of a proleptic Gregorian date (Hinnant's algorithm).

    The year is shifted to start in March so that the leap day is the last day of the year; an
    era is 400 years (146097 days), after which the Gregorian calendar repeats exactly.
    """
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    month_from_march = month - 3 if month > 2 else month + 9
    day_of_year = (153 * month_from_march + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def compute_civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number; the inverse of ``compute_days_from_civil``."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_from_march = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_from_march + 2) // 5 + 1
    month = month_from_march + 3 if month_from_march < 10 else month_from_march - 9
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def is_leap_year(year: int) -> bool:
    """Gregorian leap year: divisible by 4, except centuries not divisible by 400."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def get_days_in_month(year: int, month: int) -> int:
    """Number of days of ``month`` (1..12) in ``year``."""
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_date(text: object, *, where: str = "date") -> int:
    """Day number of a ``YYYY-MM-DD`` date; ``LedgerInputError`` naming ``where`` otherwise."""
    match = DATE_PATTERN.fullmatch(text) if type(text) is str else None
    if match is None:
        raise LedgerInputError(f"{where}: must be a date written YYYY-MM-DD")
    year, month, day = (int(part) for part in match.groups())
    if not YEAR_MIN <= year <= YEAR_MAX or not 1 <= month <= 12 or not 1 <= day <= get_days_in_month(year, month):
        raise LedgerInputError(f"{where}: {text} is not a calendar date between {YEAR_MIN} and {YEAR_MAX}")
    return compute_days_from_civil(year, month, day)


def format_date(day_number: int) -> str:
    """``YYYY-MM-DD`` of a day number."""
    year, month, day = compute_civil_from_days(day_number)
    return f"{year:04d}-{month:02d}-{day:02d}"


def get_weekday(day_number: int) -> int:
    """ISO weekday of a day number: 1 is Monday, 7 is Sunday (1970-01-01 was a Thursday, 4)."""
    return (day_number + 3) % 7 + 1


def is_weekend(day_number: int) -> bool:
    """True for Saturdays and Sundays."""
    return get_weekday(day_number) >= ISO_WEEKDAY_SATURDAY


# Block time in the calendar's zone ----------------------------------------------------------------


def get_local_month(calendar: WorkingDayCalendar, time_ms: int) -> str:
    """The local month ``YYYY-MM`` at block time ``time_ms``."""
    year, month, _ = compute_civil_from_days(get_local_day(calendar, time_ms))
    return f"{year:04d}-{month:02d}"


def get_local_day(calendar: WorkingDayCalendar, time_ms: int) -> int:
    """Day number of the local date at block time ``time_ms`` (floor division: exact for any sign)."""
    return (time_ms + calendar.utc_offset_minutes * MILLISECONDS_PER_MINUTE) // MILLISECONDS_PER_DAY


def get_day_start_ms(calendar: WorkingDayCalendar, day_number: int) -> int:
    """Block time (UTC ms) of local 00:00 at the start of ``day_number``."""
    return day_number * MILLISECONDS_PER_DAY - calendar.utc_offset_minutes * MILLISECONDS_PER_MINUTE


def get_day_end_ms(calendar: WorkingDayCalendar, day_number: int) -> int:
    """Block time (UTC ms) of local 24:00 at the end of ``day_number`` (the next day's 00:00)."""
    return get_day_start_ms(calendar, day_number + 1)


def is_working_day(calendar: WorkingDayCalendar, day_number: int) -> bool:
    """True when the local day is a working day: a make-up day, or a weekday that is no holiday."""
    if day_number in calendar.make_up_working_days:
        return True
    return not is_weekend(day_number) and day_number not in calendar.holidays


# Deadlines ----------------------------------------------------------------------------------------


def add_working_days(calendar: WorkingDayCalendar, start_ms: int, days: int) -> int:
    """Deadline of a period of ``days`` working days that starts at ``start_ms``.

    The start's own local day is not counted; the result is local 24:00 of the ``days``-th working
    day after it, in UTC milliseconds. The deadline is exclusive: ``is_overdue`` is true from that
    instant on. ``days`` must be in [1, DEADLINE_WORKING_DAYS_MAX].
    """
    if type(days) is not int or not 1 <= days <= DEADLINE_WORKING_DAYS_MAX:
        raise LedgerInputError(f"a deadline must be an integer in [1, {DEADLINE_WORKING_DAYS_MAX}] working days")
    day = get_local_day(calendar, start_ms)
    remaining = days
    while remaining > 0:
        day += 1
        if is_working_day(calendar, day):
            remaining -= 1
    return get_day_end_ms(calendar, day)


def count_working_days_between(calendar: WorkingDayCalendar, start_ms: int, end_ms: int) -> int:
    """Working days wholly elapsed after the start's local day and before ``end_ms``.

    A working day counts when it lies after the start's local day and has ended (local 24:00) by
    ``end_ms``. So for ``days >= 1``, ``is_overdue(calendar, start_ms, days, now_ms)`` holds
    exactly when ``count_working_days_between(calendar, start_ms, now_ms) >= days``. Computed in
    closed form (whole weeks, then the listed dates), so long periods cost no more than short ones.
    """
    first = get_local_day(calendar, start_ms) + 1
    stop = get_local_day(calendar, end_ms)
    if stop <= first:
        return 0
    count = _count_weekdays(first, stop)
    make_up = calendar.make_up_working_days
    count -= sum(1 for day in calendar.holidays if first <= day < stop and not is_weekend(day) and day not in make_up)
    count += sum(1 for day in make_up if first <= day < stop and is_weekend(day))
    return count


def _count_weekdays(first: int, stop: int) -> int:
    """Mondays to Fridays among the day numbers ``first <= day < stop``."""
    weeks, rest = divmod(stop - first, 7)
    count = weeks * 5
    for day in range(first + weeks * 7, stop):
        count += not is_weekend(day)
    return count


def is_overdue(calendar: WorkingDayCalendar, start_ms: int, days: int, now_ms: int) -> bool:
    """True once block time ``now_ms`` has reached the deadline of ``days`` working days from ``start_ms``."""
    return now_ms >= add_working_days(calendar, start_ms, days)

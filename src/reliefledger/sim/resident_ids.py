"""Resident ID numbers (GB 11643-1999) and birth dates for synthetic persons.

Each ID number is one a real person of that county, birth date and gender could hold, so every
check the ledger and the importer make (form, real date, check character) passes on it.
"""

import datetime
import random

from reliefledger.ledger.errors import require
from reliefledger.ledger.pseudonyms import compute_check_character

SEQUENCE_PAIRS = 500
"""Sequence numbers of one parity per county and birth date: ``001``-``999`` odd for men, ``002``-``998`` even for women."""

ATTEMPTS_MAX = 1000
"""Draws of a sequence number before giving up: at realistic sizes a collision is rare."""


def compute_age(birth_date: datetime.date, on: datetime.date) -> int:
    """Whole years between ``birth_date`` and ``on``."""
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1)


def draw_birth_date(rng: random.Random, age: int, on: datetime.date) -> datetime.date:
    """A birth date of someone ``age`` whole years old on ``on``, uniformly within that year of life."""
    latest = _subtract_years(on, age)
    earliest = _subtract_years(on, age + 1) + datetime.timedelta(days=1)
    birth_date = earliest + datetime.timedelta(days=rng.randrange((latest - earliest).days + 1))
    require(compute_age(birth_date, on) == age, "a drawn birth date gives the age it was drawn for")
    return birth_date


def issue_id_number(rng: random.Random, county: str, birth_date: datetime.date, gender: str, issued: set[str]) -> str:
    """A resident ID number not yet in ``issued`` (and add it there).

    Uniqueness is across the whole population, which is why the caller keeps one ``issued`` set.
    """
    require(len(county) == 6 and county.isdigit(), "a county code has six digits")
    parity = 1 if gender == "male" else 0
    for _ in range(ATTEMPTS_MAX):
        sequence = 2 * rng.randrange(1 - parity, SEQUENCE_PAIRS) + parity
        body = f"{county}{birth_date:%Y%m%d}{sequence:03d}"
        id_number = body + compute_check_character(body)
        if id_number not in issued:
            issued.add(id_number)
            return id_number
    raise RuntimeError(f"no free ID number for county {county} and birth date {birth_date} after {ATTEMPTS_MAX} draws")


def _subtract_years(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)

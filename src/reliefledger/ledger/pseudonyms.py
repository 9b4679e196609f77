"""Pseudonyms: how a person or a household is named on the ledger without naming them.

A pseudonym is a keyed hash (HMAC with the suite's hash) of a resident identity number or a
household number under the network key, a secret shared by the network's agencies that never goes
on the ledger. A plain hash is forbidden: there are only about 10^11 plausible identity numbers
(region, birth date, sequence), so anyone could hash them all and read the ledger. The same person
gets the same pseudonym at every agency of the network, which is what lets agencies match records.

Each kind of pseudonym has its own domain prefix, so a household number that happens to look like
an identity number never yields a person's pseudonym.

Identity numbers follow GB 11643-1999: six digits of region, eight of birth date (YYYYMMDD),
three of sequence and one check character. Legacy 15-digit numbers must be upgraded to 18
characters by the agency that holds them before they can be pseudonymised.
"""

from reliefledger.ledger import limits
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite
from reliefledger.ledger.working_days import get_days_in_month

PERSON_DOMAIN = b"reliefledger/person/v1\x00"
"""Prefix of the keyed-hash input of a person's pseudonym."""

HOUSEHOLD_DOMAIN = b"reliefledger/household/v1\x00"
"""Prefix of the keyed-hash input of a household's pseudonym."""

NETWORK_KEY_BYTES_MIN = 32
"""Shortest accepted network key: the key, not the identity number, carries the secrecy."""

RESIDENT_ID_LENGTH = 18
"""Characters in a GB 11643-1999 resident identity number."""

CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
"""Weight of each of the first 17 digits in the check sum (2^(18-i) mod 11)."""

CHECK_CHARACTERS = "10X98765432"
"""The check character, indexed by the weighted sum modulo 11."""

BIRTH_YEAR_MIN = 1800
"""Earliest birth year accepted; the ledger has no clock, so no latest year is checked."""

HOUSEHOLD_NUMBER_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-")
"""Characters of a normalised household number."""

DIGITS = "0123456789"
"""ASCII digits only: ``str.isdigit`` would accept full-width and other scripts' digits."""


def normalise_id_number(text: str) -> str:
    """Remove all whitespace and upper-case a final ``x``, the forms people actually type.

    Two spellings of one number must give one pseudonym, or one person would appear as two.
    """
    if type(text) is not str:
        raise LedgerInputError("an identity number must be a string", code="invalid_id_number")
    compact = "".join(text.split())
    if compact.endswith("x"):
        compact = compact[:-1] + "X"
    return compact


def is_valid_resident_id(text: str) -> bool:
    """True when the normalised ``text`` is an 18-character resident identity number.

    Checks the form (17 ASCII digits and a digit or ``X``), that the birth date is a real date,
    and the GB 11643-1999 check character.
    """
    if type(text) is not str:
        return False
    number = normalise_id_number(text)
    if len(number) != RESIDENT_ID_LENGTH:
        return False
    body, check = number[:-1], number[-1]
    if not all(character in DIGITS for character in body):
        return False
    if not is_real_date(int(body[6:10]), int(body[10:12]), int(body[12:14])):
        return False
    return compute_check_character(body) == check


def compute_check_character(body: str) -> str:
    """The check character of the first 17 digits of an identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(body, CHECK_WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def is_real_date(year: int, month: int, day: int) -> bool:
    """True when the date exists in the Gregorian calendar (integer arithmetic, no clock)."""
    if year < BIRTH_YEAR_MIN or not 1 <= month <= 12:
        return False
    return 1 <= day <= get_days_in_month(year, month)


def normalise_household_number(text: str) -> str:
    """Remove all whitespace and upper-case ASCII letters; raise unless the result is well formed.

    Household numbers are issued by several systems; the accepted form is 1 to 64 ASCII letters,
    digits and hyphens.
    """
    if type(text) is not str:
        raise LedgerInputError("a household number must be a string", code="invalid_household_number")
    compact = "".join(text.split())
    normalised = compact.upper() if compact.isascii() else compact
    if not 1 <= len(normalised) <= limits.IDENTIFIER_BYTES_MAX or not set(normalised) <= HOUSEHOLD_NUMBER_CHARACTERS:
        raise LedgerInputError(
            f"a household number is 1 to {limits.IDENTIFIER_BYTES_MAX} ASCII letters, digits and hyphens",
            code="invalid_household_number",
        )
    return normalised


def compute_person_pseudonym(suite: Suite, network_key: bytes, id_number: str) -> str:
    """Hex of the keyed hash that names a person on the ledger.

    Raises ``LedgerInputError`` (``invalid_id_number``) for a number that is not a valid
    resident identity number; the message never repeats the number, since errors get logged.
    """
    check_network_key(network_key)
    normalised = normalise_id_number(id_number)
    if not is_valid_resident_id(normalised):
        raise LedgerInputError(
            "not a valid 18-character resident identity number (form, birth date or check character)",
            code="invalid_id_number",
        )
    return suite.compute_keyed_hash(network_key, PERSON_DOMAIN + normalised.encode("utf-8")).hex()


def compute_household_pseudonym(suite: Suite, network_key: bytes, household_number: str) -> str:
    """Hex of the keyed hash that names a household on the ledger."""
    check_network_key(network_key)
    normalised = normalise_household_number(household_number)
    return suite.compute_keyed_hash(network_key, HOUSEHOLD_DOMAIN + normalised.encode("utf-8")).hex()


def check_network_key(network_key: bytes) -> None:
    """Raise ``LedgerInputError`` (``invalid_network_key``) unless the key is long enough bytes."""
    if type(network_key) is not bytes or len(network_key) < NETWORK_KEY_BYTES_MIN:
        raise LedgerInputError(
            f"the network key must be at least {NETWORK_KEY_BYTES_MIN} bytes", code="invalid_network_key"
        )

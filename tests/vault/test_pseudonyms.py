"""Pseudonyms: resident identity numbers (GB 11643-1999) and keyed, domain-separated hashes."""

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_support import ID_NUMBER, NETWORK_KEY, SUITE_NAMES
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.pseudonyms import (
    HOUSEHOLD_DOMAIN,
    PERSON_DOMAIN,
    compute_household_pseudonym,
    compute_person_pseudonym,
    is_valid_resident_id,
    normalise_household_number,
    normalise_id_number,
)
from reliefledger.ledger.suites import get_suite

STANDARD_EXAMPLES = ("11010519491231002X", "440524188001010014")
"""The worked examples of GB 11643-1999 itself."""


def make_id_number(region: str, birth_date: str, sequence: str) -> str:
    """An identity number with its check character, computed independently of the module.

    The weights are 2^(17-i) mod 11 and the check value is (12 - sum mod 11) mod 11, 10 written X.
    """
    body = region + birth_date + sequence
    total = sum(int(digit) * (2 ** (17 - index) % 11) for index, digit in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def replace_check(number: str, character: str) -> str:
    return number[:-1] + character


@pytest.fixture(params=SUITE_NAMES)
def suite(request: pytest.FixtureRequest):
    return get_suite(request.param)


# Identity numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", STANDARD_EXAMPLES)
def test_the_standards_examples_are_valid(number):
    assert is_valid_resident_id(number)
    assert make_id_number(number[:6], number[6:14], number[14:17]) == number


@pytest.mark.parametrize(
    "typed, normalised",
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002x ", "11010519491231002X"),
        ("110105\u300019491231\t002X\n", "11010519491231002X"),
        ("440524188001010014", "440524188001010014"),
    ],
)
def test_normalising_removes_whitespace_and_upper_cases_the_final_x(typed, normalised):
    assert normalise_id_number(typed) == normalised
    assert is_valid_resident_id(typed)


def test_a_lowercase_x_elsewhere_is_not_upper_cased():
    assert normalise_id_number("1101051949x231002X") == "1101051949x231002X"
    assert not is_valid_resident_id("1101051949x231002X")


def test_every_wrong_check_character_is_refused():
    for character in "0123456789X":
        number = replace_check(ID_NUMBER, character)
        assert is_valid_resident_id(number) == (character == "X"), number


@pytest.mark.parametrize(
    "number",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "1101051949123100XX",  # X in the body
        "11010A19491231002X",  # a letter in the region
        "１１０１０５19491231002X",  # full-width digits: isdigit() would accept them
        "11010519491231002Y",
    ],
)
def test_malformed_numbers_are_invalid(number):
    assert not is_valid_resident_id(number)


@pytest.mark.parametrize(
    "birth_date",
    ["19990230", "19990229", "19000229", "19991301", "19990001", "19990100", "19990431", "17991231", "00000000"],
)
def test_impossible_birth_dates_are_invalid_even_with_a_correct_check_character(birth_date):
    assert not is_valid_resident_id(make_id_number("110105", birth_date, "002"))


@pytest.mark.parametrize("birth_date", ["20000229", "19960229", "18000101", "20241231", "19990131"])
def test_real_birth_dates_are_valid(birth_date):
    assert is_valid_resident_id(make_id_number("110105", birth_date, "002"))


def test_non_strings_are_invalid():
    assert not is_valid_resident_id(110105194912310021)
    assert not is_valid_resident_id(None)
    with pytest.raises(LedgerInputError) as raised:
        normalise_id_number(b"11010519491231002X")
    assert raised.value.code == "invalid_id_number"


birth_dates = st.dates().filter(lambda day: day.year >= 1800).map(lambda day: day.strftime("%Y%m%d"))
digit_strings = lambda size: st.text("0123456789", min_size=size, max_size=size)  # noqa: E731


@given(region=digit_strings(6), birth_date=birth_dates, sequence=digit_strings(3), wrong=st.sampled_from("0123456789X"))
def test_any_real_date_with_its_check_character_is_valid_and_no_other_character_is(region, birth_date, sequence, wrong):
    number = make_id_number(region, birth_date, sequence)
    assert is_valid_resident_id(number)
    assert is_valid_resident_id(number.lower())
    if wrong != number[-1]:
        assert not is_valid_resident_id(replace_check(number, wrong))


# Pseudonyms --------------------------------------------------------------------------------------


def test_a_person_pseudonym_is_the_keyed_hash_of_the_domain_and_the_number(suite):
    expected = hmac.new(NETWORK_KEY, PERSON_DOMAIN + ID_NUMBER.encode(), suite.hash_name).hexdigest()
    assert compute_person_pseudonym(suite, NETWORK_KEY, ID_NUMBER) == expected
    assert len(expected) == 64


def test_every_spelling_of_a_number_gives_one_pseudonym(suite):
    spellings = ("11010519491231002X", "11010519491231002x", " 110105 19491231 002x")
    assert len({compute_person_pseudonym(suite, NETWORK_KEY, spelling) for spelling in spellings}) == 1


def test_another_network_key_gives_another_pseudonym(suite):
    first = compute_person_pseudonym(suite, NETWORK_KEY, ID_NUMBER)
    second = compute_person_pseudonym(suite, bytes([8]) * 32, ID_NUMBER)
    assert first != second


def test_a_pseudonym_is_never_a_plain_hash_of_the_number(suite):
    pseudonym = compute_person_pseudonym(suite, NETWORK_KEY, ID_NUMBER)
    number = ID_NUMBER.encode()
    plain_hashes = {
        hashlib.sha256(number).hexdigest(),
        hashlib.new("sm3", number).hexdigest(),
        hashlib.sha256(PERSON_DOMAIN + number).hexdigest(),
        hashlib.new("sm3", PERSON_DOMAIN + number).hexdigest(),
        suite.compute_hash(number).hex(),
        hmac.new(NETWORK_KEY, number, suite.hash_name).hexdigest(),  # keyed but without the domain
    }
    assert pseudonym not in plain_hashes


def test_the_suites_give_different_pseudonyms():
    pseudonyms = {compute_person_pseudonym(get_suite(name), NETWORK_KEY, ID_NUMBER) for name in SUITE_NAMES}
    assert len(pseudonyms) == len(SUITE_NAMES)


def test_person_and_household_pseudonyms_are_domain_separated(suite):
    person = compute_person_pseudonym(suite, NETWORK_KEY, ID_NUMBER)
    household = compute_household_pseudonym(suite, NETWORK_KEY, ID_NUMBER)
    assert person != household
    expected = hmac.new(NETWORK_KEY, HOUSEHOLD_DOMAIN + ID_NUMBER.encode(), suite.hash_name).hexdigest()
    assert household == expected


def test_household_numbers_are_normalised(suite):
    assert normalise_household_number(" ab-12 3\n") == "AB-123"
    assert compute_household_pseudonym(suite, NETWORK_KEY, "ab-123") == compute_household_pseudonym(
        suite, NETWORK_KEY, "AB-123"
    )


@pytest.mark.parametrize("number", ["", "   ", "户号123", "A" * 65, "12/34", 123456])
def test_malformed_household_numbers_are_refused(suite, number):
    with pytest.raises(LedgerInputError) as raised:
        compute_household_pseudonym(suite, NETWORK_KEY, number)
    assert raised.value.code == "invalid_household_number"


@pytest.mark.parametrize("number", ["11010519491231002Y", "11010519990230002X", "not a number", ""])
def test_an_invalid_number_is_refused_without_repeating_it(suite, number):
    with pytest.raises(LedgerInputError) as raised:
        compute_person_pseudonym(suite, NETWORK_KEY, number)
    assert raised.value.code == "invalid_id_number"
    if number:
        assert number not in raised.value.message


@pytest.mark.parametrize("key", [b"", bytes(31), "7" * 32, bytearray(32), None])
def test_a_short_or_mistyped_network_key_is_refused(suite, key):
    for compute in (compute_person_pseudonym, compute_household_pseudonym):
        with pytest.raises(LedgerInputError) as raised:
            compute(suite, key, ID_NUMBER)
        assert raised.value.code == "invalid_network_key"


def test_a_long_network_key_is_accepted(suite):
    pseudonym = compute_person_pseudonym(suite, bytes([9]) * 64, ID_NUMBER)
    assert len(pseudonym) == 64 and pseudonym != compute_person_pseudonym(suite, NETWORK_KEY, ID_NUMBER)

"""Policy packs: the shipped mainland pack, its digest, and a clear error for every bad field."""

import datetime
import json

import pytest

from policy_support import DEFAULT_DOCUMENT, DEFAULT_PACK, copy_default_document
from reliefledger.ledger.encoding import decode_canonical, encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import (
    PUBLIC_NOTICE_FIELDS_ALLOWED,
    PolicyError,
    compute_pack_digest,
    get_programme,
    parse_policy_pack,
)
from reliefledger.ledger.suites import SUITES, get_suite
from reliefledger.ledger.working_days import format_date

SUITE = get_suite("sm2-sm3")

PROGRAMME_IDS = ("dibao", "tekun", "medical", "education", "housing", "employment", "temporary", "disaster")


# The shipped pack ---------------------------------------------------------------------------------


def test_default_pack_identity():
    assert DEFAULT_PACK.version == "cn-mainland-2026.1"
    assert DEFAULT_PACK.currency == "CNY"
    assert DEFAULT_PACK.utc_offset_minutes == 480
    assert tuple(programme.id for programme in DEFAULT_PACK.programmes) == PROGRAMME_IDS


def test_default_pack_programmes():
    tiers = {programme.id: programme.tier for programme in DEFAULT_PACK.programmes}
    assert tiers == {
        "dibao": "basic", "tekun": "basic", "medical": "special", "education": "special", "housing": "special",
        "employment": "special", "temporary": "emergency", "disaster": "emergency",
    }
    departments = {programme.id: programme.deciding_department for programme in DEFAULT_PACK.programmes}
    assert departments["dibao"] == departments["tekun"] == departments["temporary"] == "civil-affairs"
    assert departments["medical"] == "medical-security"
    assert departments["employment"] == "human-resources"
    assert departments["disaster"] == "emergency-management"
    assert get_programme(DEFAULT_PACK, "temporary").fast_path.township_ceiling_fen > 0
    assert all(get_programme(DEFAULT_PACK, name).fast_path is None for name in PROGRAMME_IDS if name != "temporary")
    assert {programme.id for programme in DEFAULT_PACK.programmes if programme.means_test} == {"dibao", "tekun"}


def test_default_pack_deadlines_and_reviews():
    dibao = get_programme(DEFAULT_PACK, "dibao")
    tekun = get_programme(DEFAULT_PACK, "tekun")
    assert dibao.deadlines.investigation_start == 3
    assert dibao.deadlines.data_check_start == 3
    assert dibao.deadlines.county_decision == 10
    assert tekun.deadlines.county_decision == 15
    assert dibao.deadlines.whole_process == 30
    assert dibao.deadlines.whole_process_special == 45
    assert dibao.deadlines.refusal_notice == 3
    assert (dibao.review_months_stable, dibao.review_months_unstable) == (12, 6)
    assert get_programme(DEFAULT_PACK, "medical").review_months_stable is None


def test_default_pack_notice_categories_and_income():
    assert DEFAULT_PACK.public_notice.days == 7
    assert DEFAULT_PACK.public_notice.fields == ("name", "household_size", "amount_fen")
    categories = {category.id: category for category in DEFAULT_PACK.recipient_categories}
    assert list(categories) == ["dibao", "tekun", "low_income_edge", "rigid_expenditure", "other"]
    assert categories["low_income_edge"].multiplier_percent == 150
    assert categories["low_income_edge"].programme == "dibao"
    income = DEFAULT_PACK.income_category_index
    assert income["wages"].counted and income["wages"].deduction_percent == 20
    assert income["pensions"].counted and income["pensions"].deduction_percent == 0
    assert not income["disability_allowance"].counted
    assert not income["reward_for_merit"].counted


def test_default_pack_calendar_is_the_2026_schedule():
    holidays = sorted(format_date(day) for day in DEFAULT_PACK.calendar.holidays)
    assert [day for day in holidays if day.startswith("2026-10")] == [f"2026-10-0{day}" for day in range(1, 8)]
    assert len(holidays) == 33
    assert sorted(format_date(day) for day in DEFAULT_PACK.calendar.make_up_working_days) == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]


def test_default_pack_has_no_wallet_limits():
    text = json.dumps(DEFAULT_DOCUMENT)
    assert "wallet" not in text and "balance" not in text


def test_default_pack_converts_to_canonical_json_and_back():
    encoded = encode_canonical(DEFAULT_DOCUMENT)
    assert decode_canonical(encoded) == DEFAULT_DOCUMENT
    again = parse_policy_pack(json.loads(encoded))
    assert again == DEFAULT_PACK
    assert compute_pack_digest(SUITE, json.loads(encoded)) == compute_pack_digest(SUITE, DEFAULT_DOCUMENT)


@pytest.mark.parametrize("suite_name", sorted(SUITES))
def test_pack_digest_is_the_suite_hash_of_canonical_json(suite_name):
    suite = get_suite(suite_name)
    digest = compute_pack_digest(suite, DEFAULT_DOCUMENT)
    assert digest == suite.compute_hash(encode_canonical(DEFAULT_DOCUMENT))
    reordered = dict(reversed(list(DEFAULT_DOCUMENT.items())))
    assert compute_pack_digest(suite, reordered) == digest
    changed = copy_default_document()
    changed["standards"][0]["amount_fen_per_person_month"] += 1
    assert compute_pack_digest(suite, changed) != digest


def test_parse_keeps_the_document_for_hashing():
    assert DEFAULT_PACK.document is DEFAULT_DOCUMENT


# Validation: each bad field names its path ------------------------------------------------------


def mutate(change):
    document = copy_default_document()
    change(document)
    return document


def programme_index(document, name):
    return next(index for index, programme in enumerate(document["programmes"]) if programme["id"] == name)


BAD_PACKS = {
    "missing version": (lambda d: d.pop("version"), "version: is required"),
    "float amount": (
        lambda d: d["standards"][0].update(amount_fen_per_person_month=1170.0),
        r"standards\[0\]\.amount_fen_per_person_month: floats are not allowed",
    ),
    "float deadline": (
        lambda d: d["programmes"][2]["deadlines"].update(county_decision=10.5),
        r"programmes\[2\]\.deadlines\.county_decision: floats are not allowed",
    ),
    "float in a list": (
        lambda d: d["public_notice"]["fields"].append(1.5),
        r"public_notice\.fields\[3\]: floats are not allowed",
    ),
    "float at the top": (lambda d: d.update(utc_offset_minutes=480.0), "utc_offset_minutes: floats are not allowed"),
    "bare toml date": (
        lambda d: d["standards"][1].update(effective_from=datetime.date(2024, 9, 1)),
        r"standards\[1\]\.effective_from: a date has no JSON form",
    ),
    "zero deadline": (
        lambda d: d["programmes"][2]["deadlines"].update(county_decision=0),
        r"^programmes\[2\]\.deadlines\.county_decision: must be a positive integer",
    ),
    "boolean deadline": (
        lambda d: d["programmes"][0]["deadlines"].update(refusal_notice=True),
        r"programmes\[0\]\.deadlines\.refusal_notice: must be a positive integer",
    ),
    "missing deadline": (
        lambda d: d["programmes"][1]["deadlines"].pop("whole_process"),
        r"programmes\[1\]\.deadlines\.whole_process: is required",
    ),
    "decision longer than process": (
        lambda d: d["programmes"][0]["deadlines"].update(county_decision=31),
        r"programmes\[0\]\.deadlines\.county_decision: must not be longer than whole_process",
    ),
    "special shorter than process": (
        lambda d: d["programmes"][0]["deadlines"].update(whole_process_special=29),
        r"programmes\[0\]\.deadlines\.whole_process_special: must not be shorter",
    ),
    "unknown programme in a standard": (
        lambda d: d["standards"][1].update(programme="pension"),
        r"standards\[1\]\.programme: unknown programme 'pension'",
    ),
    "negative amount": (
        lambda d: d["standards"][0].update(amount_fen_per_person_month=-117000),
        r"standards\[0\]\.amount_fen_per_person_month: must be a positive integer",
    ),
    "bad region": (lambda d: d["standards"][0].update(region="110005"), r"standards\[0\]\.region: '110005' is not a GB/T 2260"),
    "bad date": (
        lambda d: d["standards"][0].update(effective_from="2024-02-30"),
        r"standards\[0\]\.effective_from: 2024-02-30 is not a calendar date",
    ),
    "duplicate standard": (
        lambda d: d["standards"].append(dict(d["standards"][0], amount_fen_per_person_month=1)),
        r"standards\[4\]: a second dibao standard for region 110000 from 2020-07-01",
    ),
    "deduction above 100": (
        lambda d: d["income_categories"][0].update(deduction_percent=101),
        r"income_categories\[0\]\.deduction_percent: must be a non-negative integer \(at most 100\)",
    ),
    "deduction on an excluded income": (
        lambda d: d["income_categories"][5].update(deduction_percent=10),
        r"income_categories\[5\]\.deduction_percent: must be 0 for an income that is not counted",
    ),
    "duplicate income category": (
        lambda d: d["income_categories"].append(dict(d["income_categories"][0])),
        r"income_categories\[8\]\.id: duplicate id 'wages'",
    ),
    "duplicate programme id": (
        lambda d: d["programmes"][1].update(id="dibao"),
        r"programmes\[1\]\.id: duplicate id 'dibao'",
    ),
    "programme id form": (lambda d: d["programmes"][3].update(id="Education"), r"programmes\[3\]\.id: must be a lowercase identifier"),
    "unknown tier": (lambda d: d["programmes"][0].update(tier="core"), r"programmes\[0\]\.tier: must be one of basic, special, emergency"),
    "unknown benefit kind": (lambda d: d["programmes"][0].update(benefit_kind="voucher"), r"programmes\[0\]\.benefit_kind: must be one of"),
    "reviews on a special programme": (
        lambda d: d["programmes"][2].update(review_months_stable=12),
        r"programmes\[2\]\.review_months_stable: only basic programmes have periodic reviews",
    ),
    "missing review on a basic programme": (
        lambda d: d["programmes"][0].pop("review_months_unstable"),
        r"programmes\[0\]\.review_months_unstable: must be a positive integer",
    ),
    "fast path on a basic programme": (
        lambda d: d["programmes"][0].update(fast_path={"township_ceiling_fen": 100000}),
        r"programmes\[0\]\.fast_path: only emergency programmes have a fast path",
    ),
    "unknown field": (lambda d: d["programmes"][4].update(budget_fen=1), r"programmes\[4\]\.budget_fen: is not a known field"),
    "unknown top-level field": (lambda d: d.update(wallet_limits={}), "wallet_limits: is not a known field"),
    "unknown flag": (
        lambda d: d["programmes"][1]["means_test"].update(required_flags=["elderly"]),
        r"programmes\[1\]\.means_test\.required_flags\[0\]: unknown flag 'elderly'",
    ),
    "gap against another standard": (
        lambda d: d["programmes"][0]["means_test"].update(income_standard_programme="tekun"),
        r"programmes\[0\]\.means_test\.income_standard_programme: the gap method",
    ),
    "notice field not allowed": (
        lambda d: d["public_notice"]["fields"].append("id_number"),
        r"public_notice\.fields\[3\]: 'id_number' may not be shown \(allowed: name, household_size, amount_fen\)",
    ),
    "notice field twice": (lambda d: d["public_notice"]["fields"].append("name"), r"public_notice\.fields: names a field twice"),
    "notice days": (lambda d: d["public_notice"].update(days=0), r"public_notice\.days: must be a positive integer"),
    "multiplier without programme": (
        lambda d: d["recipient_categories"][2].pop("programme"),
        r"recipient_categories\[2\]\.multiplier_percent: needs a programme",
    ),
    "no fallback category": (lambda d: d["recipient_categories"].pop(), "recipient_categories: must define the fallback category 'other'"),
    "asset limit region": (lambda d: d["asset_limits"][0].update(region="11"), r"asset_limits\[0\]\.region"),
    "negative vehicles": (lambda d: d["asset_limits"][1].update(vehicles_max=-1), r"asset_limits\[1\]\.vehicles_max: must be a non-negative integer"),
    "make-up day on a weekday": (
        lambda d: d["calendar"]["make_up_working_days"].append("2026-10-09"),
        "calendar: make_up_working_days: 2026-10-09 is not a Saturday or Sunday",
    ),
    "calendar date form": (lambda d: d["calendar"]["holidays"].append("2026/10/08"), r"calendar: holidays\[33\]: must be a date"),
    "currency": (lambda d: d.update(currency="cny"), "currency: must be an ISO 4217 code"),
    "version form": (lambda d: d.update(version="CN mainland"), "version: must be a version such as cn-mainland-2026.1"),
    "empty programmes": (lambda d: d.update(programmes=[]), "programmes: must be a list of 1 to 64 items"),
    "programme not an object": (lambda d: d["programmes"].append("dibao"), r"programmes\[8\]: must be an object"),
    "integer out of 64-bit range": (
        lambda d: d["standards"][0].update(amount_fen_per_person_month=2**64),
        r"\(pack\): an integer is outside the signed 64-bit range",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PACKS))
def test_each_bad_field_gives_a_clear_error_naming_its_path(case):
    change, message = BAD_PACKS[case]
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy_pack(mutate(change))
    assert caught.value.code == "invalid_policy_pack"
    assert isinstance(caught.value, LedgerInputError)


def test_a_pack_must_be_an_object():
    with pytest.raises(PolicyError, match=r"\(pack\): must be an object"):
        parse_policy_pack([DEFAULT_DOCUMENT])


def test_public_notice_fields_are_the_three_permitted():
    assert PUBLIC_NOTICE_FIELDS_ALLOWED == ("name", "household_size", "amount_fen")
    fewer = mutate(lambda d: d["public_notice"].update(fields=["name", "amount_fen"]))
    assert parse_policy_pack(fewer).public_notice.fields == ("name", "amount_fen")


def test_another_country_is_another_pack():
    document = mutate(
        lambda d: d.update(
            version="xx-example-2026.1",
            currency="EUR",
            utc_offset_minutes=60,
            calendar={"holidays": ["2026-12-25"], "make_up_working_days": []},
            standards=[{"programme": "dibao", "region": "000000", "amount_fen_per_person_month": 50000, "effective_from": "2026-01-01"}],
        )
    )
    pack = parse_policy_pack(document)
    assert pack.currency == "EUR" and pack.calendar.utc_offset_minutes == 60

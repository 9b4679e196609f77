"""Eligibility: standards by region and date, counted income, asset limits, categories, benefits."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_support import (
    BEIJING,
    CHAOYANG,
    DEFAULT_PACK,
    HAIDIAN,
    WANSHOULU,
    build_pack,
    china_ms,
    copy_default_document,
    make_facts,
)
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import (
    HouseholdFacts,
    PolicyError,
    compute_counted_income,
    compute_facts_digest,
    evaluate_eligibility,
    get_asset_limits,
    get_review_interval_months,
    get_standard,
    get_standard_entry,
    parse_household_facts,
)
from reliefledger.ledger.suites import get_suite

SUITE = get_suite("ed25519-sha256")
IN_2025 = china_ms(2025, 6, 15, 10)
IN_2022 = china_ms(2022, 3, 1, 10)
STANDARD_2025 = 139_500
"""Beijing dibao standard in the shipped pack from 2024-09-01, fen per person per month."""


# Standards by region and date ---------------------------------------------------------------------


def test_beijing_1170_yuan_is_117000_fen():
    assert get_standard(DEFAULT_PACK, "dibao", BEIJING, china_ms(2020, 7, 1)) == 117_000
    assert get_standard(DEFAULT_PACK, "dibao", BEIJING, IN_2022) == 117_000


def test_standard_changes_at_local_midnight_of_its_effective_date():
    before = china_ms(2024, 8, 31, 23, 59, 59)
    after = china_ms(2024, 9, 1)
    assert after == 1725120000000  # 2024-08-31T16:00:00Z: still 31 August in UTC
    assert get_standard(DEFAULT_PACK, "dibao", BEIJING, before) == 117_000
    assert get_standard(DEFAULT_PACK, "dibao", BEIJING, after - 1) == 117_000
    assert get_standard(DEFAULT_PACK, "dibao", BEIJING, after) == STANDARD_2025
    entry = get_standard_entry(DEFAULT_PACK, "dibao", BEIJING, after)
    assert entry.effective_from == "2024-09-01" and entry.region == BEIJING


def test_districts_and_townships_inherit_the_municipal_standard():
    for region in (HAIDIAN, WANSHOULU, "110100", "110119"):
        assert get_standard(DEFAULT_PACK, "dibao", region, IN_2025) == STANDARD_2025


def pack_with_haidian_standard():
    document = copy_default_document()
    document["standards"].append(
        {"programme": "dibao", "region": HAIDIAN, "amount_fen_per_person_month": 150_000, "effective_from": "2023-01-01"}
    )
    document["standards"].append(
        {"programme": "dibao", "region": WANSHOULU, "amount_fen_per_person_month": 160_000, "effective_from": "2026-01-01"}
    )
    return build_pack(document)


def test_the_most_specific_region_wins():
    pack = pack_with_haidian_standard()
    assert get_standard(pack, "dibao", HAIDIAN, IN_2025) == 150_000       # beats the newer city standard
    assert get_standard(pack, "dibao", WANSHOULU, IN_2025) == 150_000     # its own is not yet in force
    assert get_standard(pack, "dibao", WANSHOULU, china_ms(2026, 1, 1)) == 160_000
    assert get_standard(pack, "dibao", "110108002", china_ms(2026, 1, 1)) == 150_000
    assert get_standard(pack, "dibao", CHAOYANG, IN_2025) == STANDARD_2025
    assert get_standard(pack, "dibao", HAIDIAN, IN_2022) == 117_000       # before Haidian's: the city's


def test_missing_standards_are_typed_errors():
    with pytest.raises(PolicyError, match="no dibao standard for region 310000") as caught:
        get_standard(DEFAULT_PACK, "dibao", "310000", IN_2025)
    assert caught.value.code == "no_standard"
    with pytest.raises(PolicyError, match="on 2020-06-30") as caught:
        get_standard(DEFAULT_PACK, "dibao", BEIJING, china_ms(2020, 6, 30, 23, 59))
    assert caught.value.code == "no_standard"
    with pytest.raises(PolicyError) as caught:
        get_standard(DEFAULT_PACK, "medical", BEIJING, IN_2025)
    assert caught.value.code == "no_standard"
    with pytest.raises(PolicyError) as caught:
        get_standard(DEFAULT_PACK, "pension", BEIJING, IN_2025)
    assert caught.value.code == "unknown_programme"
    with pytest.raises(LedgerInputError) as caught:
        get_standard(DEFAULT_PACK, "dibao", "110005", IN_2025)
    assert caught.value.code == "invalid_region"


def test_asset_limits_follow_the_same_lookup():
    assert get_asset_limits(DEFAULT_PACK, WANSHOULU, IN_2025).deposits_fen_per_person == 3_348_000
    assert get_asset_limits(DEFAULT_PACK, WANSHOULU, IN_2022).deposits_fen_per_person == 2_808_000
    with pytest.raises(PolicyError) as caught:
        get_asset_limits(DEFAULT_PACK, "310000", IN_2025)
    assert caught.value.code == "no_asset_limits"


# Counted income -----------------------------------------------------------------------------------


def test_exclusions_and_deductions():
    facts = make_facts(3, wages=100_001, pensions=50_000, disability_allowance=40_000, reward_for_merit=200_000)
    # wages: 100001 * 80 // 100 = 80000 (rounded down); pensions in full; the rest excluded
    assert compute_counted_income(DEFAULT_PACK, facts) == 80_000 + 50_000


def test_no_income_counts_zero():
    assert compute_counted_income(DEFAULT_PACK, make_facts(1)) == 0


def test_deduction_rounds_in_the_households_favour():
    assert compute_counted_income(DEFAULT_PACK, make_facts(1, wages=1)) == 0
    assert compute_counted_income(DEFAULT_PACK, make_facts(1, wages=5)) == 4


def test_unknown_income_category_in_constructed_facts():
    with pytest.raises(PolicyError) as caught:
        compute_counted_income(DEFAULT_PACK, make_facts(1, lottery=100))
    assert caught.value.code == "invalid_household_facts"


# Eligibility --------------------------------------------------------------------------------------


def evaluate(facts, programme="dibao", region=HAIDIAN, time_ms=IN_2025, pack=DEFAULT_PACK):
    return evaluate_eligibility(pack, programme, region, time_ms, facts)


def test_household_just_below_the_standard_is_eligible():
    result = evaluate(make_facts(3, pensions=3 * STANDARD_2025 - 1))
    assert result.eligible and result.reasons == ()
    assert result.category == "dibao"
    assert result.monthly_benefit_fen == 1
    assert result.standard_fen == result.income_limit_fen == STANDARD_2025
    assert result.per_capita_income_fen == STANDARD_2025 - 1


def test_household_at_the_standard_is_not_eligible():
    result = evaluate(make_facts(3, pensions=3 * STANDARD_2025))
    assert not result.eligible
    assert result.reasons == ("income_at_or_above_standard",)
    assert result.monthly_benefit_fen == 0
    assert result.category == "low_income_edge"


def test_household_above_the_standard_is_not_eligible():
    result = evaluate(make_facts(2, wages=400_000))  # counted 320000 > 2 * 139500
    assert result.reasons == ("income_at_or_above_standard",)
    assert result.counted_income_fen == 320_000
    assert result.per_capita_income_fen == 160_000


def test_gap_method_benefit():
    result = evaluate(make_facts(3, wages=125_000, disability_allowance=60_000))
    # counted 100000; (139500 - 100000/3) * 3 = 418500 - 100000
    assert result.counted_income_fen == 100_000
    assert result.per_capita_income_fen == 33_333
    assert result.monthly_benefit_fen == 3 * STANDARD_2025 - 100_000


def test_excluded_income_does_not_refuse():
    result = evaluate(make_facts(1, reward_for_merit=10_000_000, disability_allowance=500_000))
    assert result.eligible and result.monthly_benefit_fen == STANDARD_2025


def test_benefit_uses_the_standard_in_force_on_the_date():
    assert evaluate(make_facts(2), time_ms=IN_2022).monthly_benefit_fen == 2 * 117_000
    assert evaluate(make_facts(2), time_ms=IN_2025).monthly_benefit_fen == 2 * STANDARD_2025


@pytest.mark.parametrize(
    ("assets", "reason"),
    [
        ({"deposits_fen": 2 * 3_348_000 + 1}, "deposits_above_limit"),
        ({"vehicles": 1}, "vehicles_above_limit"),
        ({"properties": 1}, "properties_above_limit"),
        ({"business_registrations": 1}, "business_registrations_above_limit"),
    ],
)
def test_asset_limit_refusals(assets, reason):
    result = evaluate(make_facts(2, pensions=10_000, **assets))
    assert not result.eligible
    assert result.reasons == (reason,)
    assert result.monthly_benefit_fen == 0
    assert result.category == "other"  # assets beyond the limits: not a low-income edge household either


def test_deposits_at_the_limit_are_within_it():
    assert evaluate(make_facts(2, deposits_fen=2 * 3_348_000)).eligible


def test_every_reason_is_reported_in_a_fixed_order():
    result = evaluate(make_facts(1, pensions=10**9, deposits_fen=10**9, vehicles=2, properties=3, business_registrations=1))
    assert result.reasons == (
        "income_at_or_above_standard",
        "deposits_above_limit",
        "vehicles_above_limit",
        "properties_above_limit",
        "business_registrations_above_limit",
    )


def test_low_income_edge_below_one_and_a_half_times_the_standard():
    threshold = 3 * STANDARD_2025 * 150 // 100  # 627750
    assert evaluate(make_facts(3, pensions=threshold - 1)).category == "low_income_edge"
    assert evaluate(make_facts(3, pensions=threshold)).category == "other"
    assert evaluate(make_facts(3, pensions=threshold + 1)).category == "other"


def test_tekun_requires_its_flags_and_pays_the_full_standard():
    facts = make_facts(1, pensions=50_000)
    refused = evaluate(facts, programme="tekun")
    assert refused.reasons == ("requires_unable_to_work", "requires_without_able_supporter")
    assert refused.monthly_benefit_fen == 0
    entitled = dataclasses.replace(facts, unable_to_work=True, without_able_supporter=True)
    result = evaluate(entitled, programme="tekun")
    assert result.eligible and result.category == "tekun"
    assert result.standard_fen == 181_400 and result.income_limit_fen == STANDARD_2025
    assert result.monthly_benefit_fen == 181_400
    poor_but_not_without_income = dataclasses.replace(entitled, monthly_income_fen={"pensions": STANDARD_2025})
    assert evaluate(poor_but_not_without_income, programme="tekun").reasons == ("income_at_or_above_standard",)


def test_programmes_without_a_means_test():
    with pytest.raises(PolicyError) as caught:
        evaluate(make_facts(1), programme="medical")
    assert caught.value.code == "no_means_test"


def test_result_has_a_canonical_json_form():
    result = evaluate(make_facts(3, wages=125_000))
    value = result.to_json()
    encode_canonical(value)
    assert value["monthly_benefit_fen"] == result.monthly_benefit_fen and value["reasons"] == []


def test_review_intervals():
    stable = make_facts(2)
    unstable = dataclasses.replace(stable, able_to_work_with_unstable_income=True)
    assert get_review_interval_months(DEFAULT_PACK, "dibao", stable) == 12
    assert get_review_interval_months(DEFAULT_PACK, "dibao", unstable) == 6
    assert get_review_interval_months(DEFAULT_PACK, "tekun", stable) == 12
    assert get_review_interval_months(DEFAULT_PACK, "temporary", stable) is None


# Household facts ----------------------------------------------------------------------------------

FACTS_JSON = {
    "members": 3,
    "monthly_income_fen": {"wages": 125_000, "pensions": 20_000, "disability_allowance": 60_000},
    "deposits_fen": 1_000_000,
    "vehicles": 0,
    "properties_beyond_residence": 0,
    "business_registrations": 0,
    "able_to_work_with_unstable_income": True,
}


def test_facts_round_trip():
    facts = parse_household_facts(FACTS_JSON, DEFAULT_PACK)
    assert facts.members == 3 and facts.able_to_work_with_unstable_income and not facts.unable_to_work
    value = facts.to_json()
    assert list(value["monthly_income_fen"]) == ["disability_allowance", "pensions", "wages"]
    assert parse_household_facts(value, DEFAULT_PACK) == facts
    assert value["unable_to_work"] is False  # omitted flags are false and always written


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"monthly_income_fen": {"lottery": 100}}, r"monthly_income_fen\.lottery: unknown income category 'lottery'"),
        ({"monthly_income_fen": {"wages": -1}}, r"monthly_income_fen\.wages: must be an integer"),
        ({"monthly_income_fen": {"wages": 1250.5}}, r"monthly_income_fen\.wages: must be an integer"),
        ({"monthly_income_fen": [1]}, "monthly_income_fen: must be an object"),
        ({"members": 0}, r"members: must be an integer in \[1, 64\]"),
        ({"members": True}, "members: must be an integer"),
        ({"vehicles": 1.0}, "vehicles: must be an integer"),
        ({"unable_to_work": "yes"}, "unable_to_work: must be true or false"),
        ({"salary": 1}, "salary: is not a known field"),
    ],
)
def test_malformed_facts(change, message):
    with pytest.raises(PolicyError, match=message) as caught:
        parse_household_facts({**FACTS_JSON, **change}, DEFAULT_PACK)
    assert caught.value.code == "invalid_household_facts"


def test_missing_fact():
    value = dict(FACTS_JSON)
    del value["deposits_fen"]
    with pytest.raises(PolicyError, match="deposits_fen: is required"):
        parse_household_facts(value, DEFAULT_PACK)


@settings(max_examples=100)
@given(st.permutations(list(FACTS_JSON)), st.permutations(list(FACTS_JSON["monthly_income_fen"])))
def test_facts_digest_is_stable_under_key_order(keys, income_keys):
    reordered = {key: FACTS_JSON[key] for key in keys}
    reordered["monthly_income_fen"] = {key: FACTS_JSON["monthly_income_fen"][key] for key in income_keys}
    expected = compute_facts_digest(SUITE, parse_household_facts(FACTS_JSON, DEFAULT_PACK))
    assert compute_facts_digest(SUITE, parse_household_facts(reordered, DEFAULT_PACK)) == expected


def test_facts_digest_changes_with_any_fact():
    facts = parse_household_facts(FACTS_JSON, DEFAULT_PACK)
    digest = compute_facts_digest(SUITE, facts)
    assert compute_facts_digest(SUITE, dataclasses.replace(facts, vehicles=1)) != digest
    assert compute_facts_digest(SUITE, dataclasses.replace(facts, monthly_income_fen={"wages": 125_001})) != digest
    assert compute_facts_digest(get_suite("sm2-sm3"), facts) != digest


# Properties ---------------------------------------------------------------------------------------

INCOME_CATEGORIES = sorted(DEFAULT_PACK.income_category_index)

households = st.builds(
    HouseholdFacts,
    members=st.integers(min_value=1, max_value=64),
    monthly_income_fen=st.dictionaries(st.sampled_from(INCOME_CATEGORIES), st.integers(min_value=0, max_value=5_000_000)),
    deposits_fen=st.integers(min_value=0, max_value=20_000_000),
    vehicles=st.integers(min_value=0, max_value=2),
    properties_beyond_residence=st.integers(min_value=0, max_value=1),
    business_registrations=st.integers(min_value=0, max_value=1),
    able_to_work_with_unstable_income=st.booleans(),
    unable_to_work=st.booleans(),
    without_able_supporter=st.booleans(),
)
moments = st.integers(min_value=china_ms(2020, 7, 1), max_value=china_ms(2027, 1, 1))
regions = st.sampled_from([BEIJING, "110100", HAIDIAN, CHAOYANG, WANSHOULU, "110105003"])


@settings(max_examples=400)
@given(facts=households, time_ms=moments, region=regions)
def test_dibao_benefit_is_never_negative_and_is_the_gap_when_eligible(facts, time_ms, region):
    result = evaluate_eligibility(DEFAULT_PACK, "dibao", region, time_ms, facts)
    standard = get_standard(DEFAULT_PACK, "dibao", region, time_ms)
    counted = compute_counted_income(DEFAULT_PACK, facts)
    assert result.monthly_benefit_fen >= 0
    assert result.eligible == (not result.reasons)
    if result.eligible:
        assert result.monthly_benefit_fen == standard * facts.members - counted > 0
        assert result.category == "dibao"
    else:
        assert result.monthly_benefit_fen == 0
        assert result.category in ("low_income_edge", "other")
    assert ("income_at_or_above_standard" in result.reasons) == (counted >= standard * facts.members)
    assert result.per_capita_income_fen == counted // facts.members


@settings(max_examples=200)
@given(facts=households, time_ms=moments)
def test_tekun_benefit_is_the_full_standard_when_eligible(facts, time_ms):
    result = evaluate_eligibility(DEFAULT_PACK, "tekun", HAIDIAN, time_ms, facts)
    assert result.monthly_benefit_fen >= 0
    if result.eligible:
        assert facts.unable_to_work and facts.without_able_supporter
        assert result.monthly_benefit_fen == get_standard(DEFAULT_PACK, "tekun", HAIDIAN, time_ms) * facts.members

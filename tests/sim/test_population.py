"""The synthetic population: deterministic for a seed, valid ID numbers, agency rows that add up to
the truth, expected facts that a means test summing those rows would find, and files the node reads."""

import csv
import datetime
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from reliefledger.ledger.pseudonyms import is_valid_resident_id
from reliefledger.policy_files import get_default_policy_path, read_policy_pack, read_region_table
from reliefledger.sim import (
    AGENCY_RESOURCES,
    DEFAULT_TOWNSHIPS,
    IMPORT_COLUMNS,
    INCOME_CATEGORIES,
    Household,
    Population,
    build_agency_tables,
    expected_facts,
    generate_population,
    write_csv,
    write_import_csv,
    write_sqlite,
)
from reliefledger.sim.agency_records import TRUE_FIGURES, AgencyTable
from reliefledger.sim.finances import DEPOSITS_LIMIT_FEN_PER_PERSON, DIBAO_STANDARD_FEN, WAGE_DEDUCTION_PERCENT

SEED = 20260101
HOUSEHOLDS = 300
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FFF


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(SEED, HOUSEHOLDS)


@pytest.fixture(scope="module")
def tables(population: Population) -> dict[str, AgencyTable]:
    return build_agency_tables(population)


def sum_rows(tables: dict[str, AgencyTable], household: Household) -> dict:
    """The facts recomputed from the agency rows alone, as ``node.means_test.combine_answers`` adds them up."""
    facts = {"business_registrations": 0, "deposits_fen": 0, "members": len(household.members), "monthly_income_fen": {},
             "properties_beyond_residence": 0, "vehicles": 0}
    for table in tables.values():
        for member in household.members:
            for row in table.get_rows(member.id_number):
                for spec in table.resource.fields:
                    if spec.feed == "income":
                        income = facts["monthly_income_fen"]
                        income[spec.income_category] = income.get(spec.income_category, 0) + row[spec.name]
                    elif spec.feed is not None:
                        facts["deposits_fen" if spec.feed == "deposits" else spec.feed] += row[spec.name]
    return facts


def is_eligible_looking(household: Household, facts: dict) -> bool:
    """Counted income per person (wages less 20 %, plus declared family support) below the standard, no disqualifying asset."""
    income = facts["monthly_income_fen"]
    counted = sum(amount * (100 - WAGE_DEDUCTION_PERCENT) // 100 if category == "wages" else amount for category, amount in income.items())
    counted += household.declared_income["family_support"]
    members = facts["members"]
    return (counted < DIBAO_STANDARD_FEN * members and facts["vehicles"] == 0 and facts["properties_beyond_residence"] == 0
            and facts["business_registrations"] == 0 and facts["deposits_fen"] <= DEPOSITS_LIMIT_FEN_PER_PERSON * members)


def test_the_same_seed_gives_the_same_population_and_tables(population: Population, tables: dict[str, AgencyTable]) -> None:
    again = generate_population(SEED, HOUSEHOLDS)
    assert again == population
    assert build_agency_tables(again) == tables


def test_another_seed_gives_another_population(population: Population) -> None:
    other = generate_population(SEED + 1, HOUSEHOLDS)
    assert other != population
    assert {person.id_number for _, person in other.iterate_persons()} != {person.id_number for _, person in population.iterate_persons()}


def test_the_default_townships_are_the_nine_digit_codes_of_the_shipped_region_table() -> None:
    assert set(DEFAULT_TOWNSHIPS) == {code for code in read_region_table().regions if len(code) == 9}


def test_id_numbers_are_valid_unique_and_agree_with_the_person(population: Population) -> None:
    id_numbers = [person.id_number for _, person in population.iterate_persons()]
    assert len(id_numbers) == len(set(id_numbers))
    for household, person in population.iterate_persons():
        assert is_valid_resident_id(person.id_number), person.id_number
        assert person.id_number[:6] == household.township[:6]
        assert person.id_number[6:14] == person.birth_date.strftime("%Y%m%d")
        assert int(person.id_number[16]) % 2 == (1 if person.gender == "male" else 0)
        reference = population.reference_date
        had_birthday = (reference.month, reference.day) >= (person.birth_date.month, person.birth_date.day)
        assert person.age == reference.year - person.birth_date.year - (0 if had_birthday else 1)


def test_households_have_a_realistic_make_up(population: Population) -> None:
    numbers = [household.number for household in population.households]
    assert len(numbers) == len(set(numbers)) == HOUSEHOLDS
    assert numbers[0] == "HB-000001"
    for household in population.households:
        assert household.township in DEFAULT_TOWNSHIPS
        assert 1 <= len(household.members) <= 5
        assert [member.relation for member in household.members].count("户主") == 1
        assert household.members[0].relation == "户主"
        assert household.address.startswith("北京市") and len(household.address) <= 200
    sizes = Counter(len(household.members) for household in population.households)
    assert set(sizes) == {1, 2, 3, 4, 5}
    relations = {member.relation for _, member in population.iterate_persons()}
    assert relations == {"户主", "配偶", "子女", "孙子女", "父母"}
    assert any(len(household.members) == 1 and household.members[0].age >= 60 for household in population.households)


def test_names_are_chinese(population: Population) -> None:
    for _, person in population.iterate_persons():
        assert 2 <= len(person.name) <= 4
        assert all(CJK_FIRST <= ord(character) <= CJK_LAST for character in person.name), person.name


def test_incomes_follow_age_and_work(population: Population) -> None:
    persons = [person for _, person in population.iterate_persons()]
    assert all(person.finances.pension_fen > 0 for person in persons if person.age >= 60)
    employed = [person for person in persons if person.employed]
    with_wages = [person for person in employed if person.finances.wages_fen > 0]
    assert len(with_wages) >= 0.8 * len(employed)
    assert any(len(person.finances.wages_fen_by_employer) == 2 for person in persons)
    assert any(person.finances.business_income_fen > 0 and person.finances.business_registrations > 0 for person in persons)
    assert all(person.finances.wages_fen == 0 for person in persons if person.age < 18)


def test_every_agency_row_adds_up_to_the_truth(population: Population, tables: dict[str, AgencyTable]) -> None:
    assert set(tables) == set(AGENCY_RESOURCES) and len(tables) == 9
    for _, person in population.iterate_persons():
        for table in tables.values():
            rows = table.get_rows(person.id_number)
            for spec in table.resource.fields:
                assert sum(row[spec.name] for row in rows) == TRUE_FIGURES[spec.name](person.finances)
            assert bool(rows) == any(TRUE_FIGURES[spec.name](person.finances) for spec in table.resource.fields)
    split = [id_number for table in tables.values() for id_number, rows in table.rows_by_id_number.items() if len(rows) > 1]
    assert {"tax", "operator-bank"} <= {agency for agency, table in tables.items() if any(len(rows) > 1 for rows in table.rows_by_id_number.values())}
    assert split


def test_declared_income_is_in_no_table(population: Population, tables: dict[str, AgencyTable]) -> None:
    fields = {spec.name for table in tables.values() for spec in table.resource.fields}
    assert not fields & {"family_support_fen", "disability_allowance_fen", "social_assistance_fen"}
    assert any(household.declared_income["family_support"] > 0 for household in population.households)
    assert any(household.declared_income["disability_allowance"] > 0 for household in population.households)


def test_expected_facts_equal_the_sum_of_the_agency_rows(population: Population, tables: dict[str, AgencyTable]) -> None:
    for household in population.households:
        assert expected_facts(household) == sum_rows(tables, household), household.number


def test_expected_facts_ask_only_the_given_resources(population: Population, tables: dict[str, AgencyTable]) -> None:
    only_tax = {"tax": AGENCY_RESOURCES["tax"]}
    for household in population.households:
        facts = expected_facts(household, only_tax)
        assert set(facts["monthly_income_fen"]) <= {"wages", "business"}
        assert facts["deposits_fen"] == facts["vehicles"] == 0
        assert facts == sum_rows({"tax": tables["tax"]}, household)


def test_the_outcomes_are_mixed(population: Population) -> None:
    outcomes = Counter(is_eligible_looking(household, expected_facts(household)) for household in population.households)
    assert 0.15 * HOUSEHOLDS <= outcomes[True] <= 0.6 * HOUSEHOLDS
    assert outcomes[False] >= 0.3 * HOUSEHOLDS
    profiles = Counter(household.economic_profile for household in population.households)
    assert set(profiles) == {"low", "near", "above", "assets"}


def test_the_schema_uses_the_policy_pack_categories() -> None:
    _, pack = read_policy_pack(get_default_policy_path())
    categories = {category.id: category for category in pack.income_categories}
    assert set(INCOME_CATEGORIES) <= set(categories)
    assert categories["wages"].deduction_percent == WAGE_DEDUCTION_PERCENT
    assert any(standard.amount_fen_per_person_month == DIBAO_STANDARD_FEN for standard in pack.standards)
    assert any(limits.deposits_fen_per_person == DEPOSITS_LIMIT_FEN_PER_PERSON for limits in pack.asset_limits)
    feeds = {spec.name: (spec.feed, spec.income_category) for resource in AGENCY_RESOURCES.values() for spec in resource.fields}
    assert feeds["wages_fen"] == ("income", "wages") and feeds["business_income_fen"] == ("income", "business")
    assert feeds["pension_fen"] == ("income", "pensions") and feeds["interest_fen"] == ("income", "property")
    assert feeds["deposits_fen"] == ("deposits", None)
    assert all(feeds[name] == (None, None) for name in ("provident_fund_fen", "medical_expenses_fen", "arrears_fen"))
    assert len({resource.table for resource in AGENCY_RESOURCES.values()}) == 9


def test_injected_cases_are_planted_once_each(population: Population) -> None:
    injected = {household.injected_case: household for household in population.households if household.injected_case}
    assert set(injected) == {"hidden_assets", "enrolled_twice", "deceased"}
    hidden = injected["hidden_assets"]
    assert hidden.economic_profile == "low"
    assert len(hidden.members[0].finances.deposits_fen_by_bank) >= 2
    assert expected_facts(hidden)["deposits_fen"] > DEPOSITS_LIMIT_FEN_PER_PERSON * len(hidden.members)
    assert sum(hidden.members[0].finances.deposits_fen_by_bank[:-1]) <= DEPOSITS_LIMIT_FEN_PER_PERSON
    twice = [member for member in injected["enrolled_twice"].members if member.duplicate_of]
    other = {household.number: household for household in population.households}[twice[0].duplicate_of]
    assert len(twice) == 1 and other.township != injected["enrolled_twice"].township
    dead = [member for member in injected["deceased"].members if member.death_date]
    assert len(dead) == 1 and dead[0].birth_date < dead[0].death_date < population.reference_date
    assert sum(1 for _, member in population.iterate_persons() if member.death_date or member.duplicate_of) == 2


def test_sqlite_round_trip(tables: dict[str, AgencyTable], tmp_path: Path) -> None:
    path = tmp_path / "agencies.sqlite"
    write_sqlite(tables, path)
    with sqlite3.connect(path) as connection:
        for table in tables.values():
            name, fields = table.resource.table, table.resource.field_names
            columns = [(row[1], row[2]) for row in connection.execute(f"PRAGMA table_info({name})")]
            assert columns == [("id_number", "TEXT"), *((field, "INTEGER") for field in fields)]
            indexed = [row[1] for row in connection.execute(f"PRAGMA index_list({name})")]
            assert indexed == [f"{name}_id_number"]
            read = [dict(zip(["id_number", *fields], row)) for row in connection.execute(f"SELECT * FROM {name} ORDER BY rowid")]
            assert read == table.list_rows()
    connection.close()
    with pytest.raises(FileExistsError):
        write_sqlite(tables, path)


def test_csv_round_trip(tables: dict[str, AgencyTable], tmp_path: Path) -> None:
    paths = write_csv(tables, tmp_path / "csv")
    assert set(paths) == set(tables)
    for agency, path in paths.items():
        table = tables[agency]
        assert path.name == f"{table.resource.table}.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == ["id_number", *table.resource.field_names]
            read = [{name: value if name == "id_number" else int(value) for name, value in row.items()} for row in reader]
        assert read == table.list_rows()


def test_the_import_file_is_read_by_the_household_importer(population: Population, tmp_path: Path) -> None:
    from reliefledger.node.household_import import COLUMNS_OPTIONAL, COLUMNS_REQUIRED, read_rows

    assert IMPORT_COLUMNS == COLUMNS_REQUIRED + COLUMNS_OPTIONAL
    path = tmp_path / "households.csv"
    write_import_csv(population, path)
    rows = list(read_rows(path))
    persons = list(population.iterate_persons())
    assert len(rows) == len(persons)
    for row, (household, person) in zip(rows, persons):
        assert row.unnamed_cells == 0 and not row.inexact_columns
        assert dict(row.fields) == {
            "household_number": household.number, "region": household.township, "address": household.address,
            "id_number": person.id_number, "name": person.name, "relation": person.relation,
            "birth_date": person.birth_date.isoformat(), "disability": person.disability,
        }
    assert any(row.fields["disability"] for row in rows)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate_population(1, -1)
    with pytest.raises(ValueError):
        generate_population(1, 10, ["110105"])
    assert generate_population(1, 0).households == ()
    single = generate_population(1, 120, ["110108003"])
    assert {household.township for household in single.households} == {"110108003"}
    assert not any(member.duplicate_of for _, member in single.iterate_persons())


def test_ten_thousand_households_are_generated_quickly() -> None:
    started = time.perf_counter()
    population = generate_population(SEED, 10_000, reference_date=datetime.date(2026, 1, 1))
    tables = build_agency_tables(population)
    elapsed_s = time.perf_counter() - started
    print(f"10,000 households ({sum(len(household.members) for household in population.households)} persons) and their tables: {elapsed_s:.2f} s")
    assert len(population.households) == 10_000 and len(tables) == 9
    assert elapsed_s < 60

"""The means test on a synthetic city whose true figures are known: every computed income and asset
total and every eligibility outcome must be what the truth says, for every household."""

import asyncio
from pathlib import Path

from reliefledger.ledger.policy import evaluate_eligibility, parse_household_facts
from reliefledger.node.agency_service import AgencyService, EmbeddedLedger
from reliefledger.node.agency_sources import SqliteSource
from reliefledger.node.desk import open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.means_test import run_means_test, run_means_tests
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import DATABASE_FILE, build_plans, get_expected_facts, prepare_city, write_agency_data

START_MS = 1_767_225_600_000 + 40 * 86_400_000  # 2026-02-10


def test_every_total_and_outcome_matches_the_truth(tmp_path: Path) -> None:
    population = generate_population(seed=11, households=120)
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES],
                                     region="110000", chain_id="truth", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    write_agency_data(population, directory.root, agency_urls="http://127.0.0.1:1")
    clock = {"now": START_MS + 1000}

    async def main():
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                city = await prepare_city(directory, node, casework, population)
                worker = StaffDirectory(directory).get("cw")
                services = {agency: AgencyService(agency, directory.read_organisation_key(agency),
                                                  SqliteSource(directory.root / DATABASE_FILE, table=resource.table, suite=node.suite, network_key=casework.network_key),
                                                  EmbeddedLedger(node)) for agency, resource in AGENCY_RESOURCES.items()}
                plans = [(plan, services[plan.agency]) for plan in build_plans()]
                numbers = [household.number for household in population.households]
                single = await run_means_test(casework, worker, city.case_ids[numbers[0]], plans)
                batch = await run_means_tests(casework, worker, [city.case_ids[number] for number in numbers[1:]], plans)
                return [single, *batch], casework.get_current_pack(), {number: casework.get_case(city.case_ids[number]) for number in numbers}

    outcomes, pack, cases = asyncio.run(main())
    eligible = 0
    for household, outcome in zip(population.households, outcomes):
        truth = get_expected_facts(household)
        assert outcome["complete"] and "error" not in outcome, outcome
        assert outcome["facts"] == truth, household.number
        expected = evaluate_eligibility(pack, "dibao", household.township, START_MS + 1000, parse_household_facts(truth, pack))
        assert outcome["result"] == expected.to_json(), household.number
        assessment = cases[household.number]["assessment"]
        assert assessment["eligible"] == expected.eligible and assessment["monthly_benefit_fen"] == expected.monthly_benefit_fen
        assert assessment["source"] == "data_sharing" and len(assessment["answers"]) == len(AGENCY_RESOURCES)
        eligible += expected.eligible
    assert 0 < eligible < len(population.households)  # the city has both outcomes, so the check can tell them apart

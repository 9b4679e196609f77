"""Active discovery in a deployment: the signals of households that never applied, gathered from the
agencies under approved discovery requests (brackets only, every answer recorded) and from the
registry (every read logged), are exactly the signals the model was trained on."""

import asyncio
import datetime
import json
import sqlite3
from pathlib import Path

import pytest

from reliefledger.analytics.discovery import extract_signals
from reliefledger.analytics.discovery_signals import DISCOVERY_QUESTIONS, compute_signals
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.node.agency_answers import QueryBatch
from reliefledger.node.agency_service import AgencyService, EmbeddedLedger
from reliefledger.node.agency_sources import SqliteSource
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.analytics.discovery_run import build_discovery_plans, gather_signals
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import DATABASE_FILE, get_discovery_request_id, prepare_city, write_agency_data
from reliefledger.web.figures import get_beneficiary

START_MS = 1_767_225_600_000 + 40 * 86_400_000  # 2026-02-10
AS_OF = datetime.date(2026, 2, 10)


class DownAgency:
    async def ask(self, batch: QueryBatch):
        raise ConnectionError("the agency's service is down")


def test_signals_gathered_through_the_agencies_and_the_registry_are_the_model_s_signals(tmp_path: Path) -> None:
    population = generate_population(seed=21, households=60)
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES],
                                     region="110000", chain_id="discovery", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    write_agency_data(population, directory.root, agency_urls="http://127.0.0.1:1")
    clock = {"now": START_MS + 1000}

    async def main():
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                await prepare_city(directory, node, casework, population, applies=lambda index, household: index % 3 == 0)
                await admit_staff(directory, node, organisation="civil-affairs", label="district", roles=["caseworker"], region="110105")
                staff = StaffDirectory(directory)
                services = {agency: AgencyService(agency, directory.read_organisation_key(agency),
                                                  SqliteSource(directory.root / DATABASE_FILE, table=resource.table, suite=node.suite, network_key=casework.network_key),
                                                  EmbeddedLedger(node)) for agency, resource in AGENCY_RESOURCES.items()}
                plans = [(plan, services[plan.agency]) for plan in build_discovery_plans({agency: get_discovery_request_id(agency) for agency in DISCOVERY_QUESTIONS})]
                holders = {compute_household_pseudonym(node.suite, casework.network_key, household.number): household
                           for index, household in enumerate(population.households) if index % 3 != 0}
                run = await gather_signals(casework, staff.get("cw"), [*holders, "f" * 64], plans, as_of=AS_OF)
                narrow = await gather_signals(casework, staff.get("district"), list(holders), plans, as_of=AS_OF)
                down = await gather_signals(casework, staff.get("cw"), list(holders)[:3], [*plans[:-1], (plans[-1][0], DownAgency())], as_of=AS_OF)
                with pytest.raises(ValueError, match="run id"):  # ids the ledger could not record are refused before anyone is asked
                    await gather_signals(casework, staff.get("cw"), list(holders)[:1], plans, as_of=AS_OF, run_id="Outreach-Feb")
                pages = {household: get_beneficiary(node.store, household) for household in list(holders)[:2]}
                return holders, run, narrow, down, pages

    holders, run, narrow, down, pages = asyncio.run(main())
    # A household that never applied sees on its own page who asked about it and read its members' records, and why.
    for household, page in pages.items():
        assert page is not None and not page["cases"]
        assert {item["agency"] for item in page["answered"] if item["purpose"] == "active_discovery"} == set(DISCOVERY_QUESTIONS)
        assert page["reads"] and all(read["purpose"] == "active_discovery" for read in page["reads"])
    # Every household that never applied is gathered, with exactly the signals the model is trained on.
    assert {gathered.household for gathered in run.gathered} == set(holders) and list(run.skipped) == ["f" * 64]
    assert "household_not_found" in run.skipped["f" * 64] and all(status["status"] == "answered" for status in run.agencies.values())
    for gathered in run.gathered:
        assert compute_signals(gathered.persons) == extract_signals(holders[gathered.household], AS_OF), gathered.household
        assert len(gathered.evidence) == len(DISCOVERY_QUESTIONS)
    assert any(compute_signals(gathered.persons)[1] > 0 for gathered in run.gathered)  # an income drop is among them: the signal carries information
    # A district caseworker gathers only the district's households; the others are refused before anyone is asked.
    assert narrow.gathered and all(holders[gathered.household].township.startswith("110105") for gathered in narrow.gathered)
    assert narrow.skipped and all(not holders[household].township.startswith("110105") for household in narrow.skipped)
    # An agency that is down: its status is reported and no household is scored on part of its signals.
    assert not down.gathered and down.agencies["housing-fund"]["status"] == "failed" and all("housing-fund" in reason for reason in down.skipped.values())
    with sqlite3.connect(f"file:{directory.store_path}?mode=ro", uri=True) as connection:
        answers = {key.removeprefix("catalog/answers/"): json.loads(value)
                   for key, value in connection.execute("SELECT key, value FROM state WHERE key >= 'catalog/answers/' AND key < 'catalog/answers0'")}
        reads = [json.loads(value) for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'vault/access/' AND key < 'vault/access0'")]
        members = {json.loads(value)["id"]: json.loads(value)["members"] for (value,) in connection.execute(
            "SELECT value FROM state WHERE key >= 'registry/household/' AND key < 'registry/household0'")}
    # Each answer an outreach task would cite is on the ledger, under the discovery request, naming the household.
    for gathered in run.gathered:
        for reference in gathered.evidence:
            record_id, query_id = reference.split("/")
            entry = answers[record_id]["answers"][query_id]
            assert answers[record_id]["request_id"].startswith("discovery.") and entry["household"] == gathered.household and entry["outcome"] == "answered"
    # Every registry read was logged with its purpose: one per person of each household in the actor's region.
    logged = [read for read in reads if read["purpose"] == "active_discovery"]
    persons = [person for household in holders for person in members[household]]
    narrow_persons = [person for gathered in narrow.gathered for person in members[gathered.household]]
    down_persons = [person for household in list(holders)[:3] for person in members[household]]
    assert len(logged) == len(persons) + len(narrow_persons) + len(down_persons)

"""The means test across real processes: the node with its desk, and the agencies' data services in
two processes of their own, over HTTP; the CLI; bad and forged batches; an agency process that dies."""

import asyncio
import json
from pathlib import Path

import httpx

from node_support import NodeProcess, find_free_port, flatten, run_cli
from reliefledger.analytics.discovery_signals import DISCOVERY_QUESTIONS
from reliefledger.ledger.policy import compute_facts_digest, evaluate_eligibility, parse_household_facts
from reliefledger.ledger.suites import get_suite
from reliefledger.node.agency_answers import AgencyQuery, Question, sign_query_batch
from reliefledger.node.desk import open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import DATABASE_FILE, get_expected_facts, prepare_city, write_agency_data

FIRST = ["tax", "human-resources", "natural-resources", "public-security", "market-regulation"]
"""Agencies of the first process; the others run in the second."""


def write_split_configs(root: Path) -> tuple[Path, Path]:
    paths = []
    for name, agencies in (("first", FIRST), ("second", [agency for agency in AGENCY_RESOURCES if agency not in FIRST])):
        path = root / f"agencies-{name}.toml"
        path.write_text("".join(f'[[agencies]]\nid = "{agency}"\nsource = "sqlite"\npath = "{DATABASE_FILE}"\ntable = "{AGENCY_RESOURCES[agency].table}"\n'
                                for agency in agencies), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def test_agencies_in_their_own_processes_answer_the_desk(tmp_path):
    population = generate_population(seed=5, households=12)
    node_port, first_port, second_port = find_free_port(), find_free_port(), find_free_port()
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES],
                                     region="110000", chain_id="agencies", time_ms=read_clock_ms(), settings=NodeSettings(port=node_port, block_wait_ms_max=5))
    urls = {agency: f"http://127.0.0.1:{first_port if agency in FIRST else second_port}" for agency in AGENCY_RESOURCES}
    write_agency_data(population, directory.root, agency_urls=urls)
    first_config, second_config = write_split_configs(directory.root)

    async def prepare():
        async with open_node(directory) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
                return await prepare_city(directory, node, casework, population), casework.get_current_pack()

    city, pack = asyncio.run(prepare())
    root = directory.root
    node = NodeProcess(root, None, tmp_path / "node.log")
    node.port = node_port
    first = NodeProcess(root, first_port, tmp_path / "first.log", command="agency", extra=["--config", first_config], ready_path="/v1/agencies")
    second = NodeProcess(root, second_port, tmp_path / "second.log", command="agency", extra=["--config", second_config], ready_path="/v1/agencies")
    numbers = [household.number for household in population.households]
    token = city.tokens["cw"]
    try:
        node.wait_ready()
        first.wait_ready()
        second.wait_ready()
        one = run_cli("case", "means-test", city.case_ids[numbers[0]], "--token", token, "--node", node.url)
        permissions = run_cli("catalog", "permissions", "--requester", "civil-affairs", "--token", token, "--node", node.url)
        pending = run_cli("catalog", "requests", "--status", "pending", "--token", token, "--node", node.url)
        tax_resource = run_cli("catalog", "resource", "tax.income", "--token", token, "--node", node.url)
        missing_resource = run_cli("catalog", "resource", "tax.nothing", "--token", token, "--node", node.url)
        with httpx.Client(base_url=node.url, headers={"authorization": f"Bearer {token}"}, timeout=60) as desk:
            many = desk.post("/v1/means-tests", json={"case_ids": [city.case_ids[number] for number in numbers[1:]]}).json()
            cases = {number: desk.get(f"/v1/cases/{city.case_ids[number]}").json() for number in numbers}
            bad_case = desk.post("/v1/cases/no.such.case/means-test/run", json={})
            bad_body = desk.post("/v1/means-tests", json={"case_ids": []})
            # The agency refuses batches not signed by a qualified member of the requesting organisation.
            tax_admin = directory.read_organisation_key("tax")
            query = AgencyQuery("x.1", "means-test.tax", city.case_ids[numbers[0]], "civil-affairs", (), (Question("wages_fen"),))
            forged = httpx.post(f"{urls['tax']}/v1/agencies/tax/queries", json=sign_query_batch(tax_admin, "forged", "civil-affairs", [query]).to_json())
            malformed = httpx.post(f"{urls['tax']}/v1/agencies/tax/queries", json={"batch_id": "x"})
            not_json = httpx.post(f"{urls['tax']}/v1/agencies/tax/queries", content=b"{not json")
            elsewhere = httpx.post(f"{urls['tax']}/v1/agencies/utilities/queries", json={"batch_id": "x"})
            # One agency process dies: the run is partial, shown per agency, and nothing is recorded.
            second.kill()
            partial = run_cli("case", "means-test", city.case_ids[numbers[1]], "--attempt", "2", "--timeout", "3", "--token", token, "--node", node.url)
            after = desk.get(f"/v1/cases/{city.case_ids[numbers[1]]}").json()
    finally:
        for process in (node, first, second):
            process.ensure_stopped()
    assert one.returncode == 0 and "Traceback" not in one.stderr, one.stderr
    assert json.loads(one.stdout)["complete"] is True and "facts" not in json.loads(one.stdout)
    assert many["complete"] == len(numbers) - 1, many
    granted = json.loads(permissions.stdout)
    assert sorted(permission["owner"] for permission in granted if permission["scope"] == "means_test") == sorted(AGENCY_RESOURCES) and json.loads(pending.stdout) == []
    assert sorted(permission["owner"] for permission in granted if permission["scope"] == "discovery") == sorted(DISCOVERY_QUESTIONS)
    assert json.loads(tax_resource.stdout)["versions"][0]["fields"][0]["name"] == "wages_fen"
    assert missing_resource.returncode == 1 and "resource_not_found" in flatten(missing_resource.stderr)
    for household in population.households:
        truth = parse_household_facts(get_expected_facts(household), pack)
        assessment = cases[household.number]["assessment"]
        expected = evaluate_eligibility(pack, "dibao", household.township, assessment["time_ms"], truth)
        assert assessment["facts_digest"] == compute_facts_digest(get_suite("ed25519-sha256"), truth).hex(), household.number  # every total, committed
        assert (assessment["eligible"], assessment["monthly_benefit_fen"]) == (expected.eligible, expected.monthly_benefit_fen)
    assert bad_case.status_code == 404 and bad_body.status_code == 400 and bad_body.json()["code"] == "invalid_request"
    assert forged.status_code == 403 and "not signed by an active key" in forged.json()["message"]
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_batch"
    assert not_json.status_code == 400 and elsewhere.status_code == 404
    assert partial.returncode == 0, partial.stderr
    statuses = {agency: outcome["status"] for agency, outcome in json.loads(partial.stdout)["agencies"].items()}
    assert json.loads(partial.stdout)["complete"] is False
    assert statuses == {agency: "answered" if agency in FIRST else "failed" for agency in AGENCY_RESOURCES}
    assert after["assessment"] == cases[numbers[1]]["assessment"]  # the partial run recorded nothing
    logs = "".join((tmp_path / name).read_text(errors="replace") for name in ("node.log", "first.log", "second.log"))
    assert "Traceback" not in logs
    for household in population.households:
        for person in household.members:
            assert person.id_number not in logs and person.name not in logs


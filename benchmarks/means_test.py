"""Cross-agency means tests for a synthetic city across nine agency sources. Prints JSON.

Generates a population (``reliefledger.sim``), writes each agency's records to SQLite (or loads
them into a PostgreSQL server started from Debian's package), initialises a chain of civil affairs
and the nine agencies, publishes the catalogue and approvals, imports the households and opens an
authorised, visited dibao case for each. Then it runs the means test:

- for all but ``--latency-sample`` cases in runs of ``--batch`` cases, ``--in-flight`` runs at once
  (households a second: a review cycle);
- for the rest one household at a time (p50/p99 latency of one household's test, as a desk
  checking one applicant sees it).

``--agencies process`` runs the nine agencies' data services as a separate process
(``reliefledger agency``) that the desk asks over HTTP and that reads the ledger from the node's
store, as an agency running its own service would; ``embedded`` answers in the node's process.
Every outcome is checked against the population's true figures.

    .venv/bin/python benchmarks/means_test.py --households 10000 --source sqlite --agencies process
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from reliefledger.ledger.policy import compute_facts_digest, parse_household_facts
from reliefledger.node.agency_http import HttpAgencyClient
from reliefledger.node.agency_service import AgencyService, EmbeddedLedger
from reliefledger.node.agency_sources import PostgresSource, SqliteSource
from reliefledger.node.api import create_app
from reliefledger.node.desk import create_desk_router, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.means_test import run_means_test, run_means_tests
from reliefledger.node.runtime import open_node, read_clock_ms, start_server
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES, build_agency_tables
from reliefledger.sim.data_sharing import DATABASE_FILE, build_plans, get_expected_facts, prepare_city, write_agency_data

ROOT = Path(__file__).resolve().parent.parent


def find_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_postgres(conninfo: str, population) -> None:
    """The agencies' tables in PostgreSQL (one table per agency, indexed by ID number)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as connection:
        for agency, table in build_agency_tables(population).items():
            resource = AGENCY_RESOURCES[agency]
            columns = ", ".join(f"{name} bigint" for name in resource.field_names)
            connection.execute(f"CREATE TABLE {resource.table} (id_number text, {columns})")
            connection.execute(f"CREATE INDEX {resource.table}_id ON {resource.table} (id_number)")
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY {resource.table} (id_number, {', '.join(resource.field_names)}) FROM STDIN") as copy:
                    for row in table.list_rows():
                        copy.write_row([row["id_number"], *(row.get(name, 0) for name in resource.field_names)])


async def run(arguments: argparse.Namespace) -> dict:
    population = generate_population(seed=arguments.seed, households=arguments.households)
    folder = Path(tempfile.mkdtemp(prefix="reliefledger-means-test-"))
    node_port, agency_port = find_free_port(), find_free_port()
    directory = initialise_directory(folder / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES], region="110000",
                                     chain_id="means-test-bench", time_ms=read_clock_ms(),
                                     settings=NodeSettings(port=node_port, verify_workers=1, pending_transactions_max=1_000_000))
    write_agency_data(population, directory.root, agency_urls=f"http://127.0.0.1:{agency_port}")
    server = None
    if arguments.source == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.postgres_server import start_postgres

        server, reason = start_postgres()
        if server is None:
            raise SystemExit(f"no PostgreSQL server: {reason}")
        load_postgres(server.conninfo, population)
        (directory.root / "agencies.toml").write_text("".join(
            f'[[agencies]]\nid = "{agency}"\nsource = "postgres"\nconninfo = "{server.conninfo}"\ntable = "{resource.table}"\n\n'
            for agency, resource in AGENCY_RESOURCES.items()), encoding="utf-8")
    try:
        return await measure(arguments, directory, population, agency_port, server.conninfo if server else None)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def measure(arguments: argparse.Namespace, directory, population, agency_port: int, conninfo: str | None) -> dict:
    agency_process = None
    async with open_node(directory) as node, httpx.AsyncClient(timeout=None) as client:
        with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
            setup_started = time.perf_counter()
            city = await prepare_city(directory, node, casework, population)
            setup_s = time.perf_counter() - setup_started
            worker = StaffDirectory(directory).get("cw")
            if arguments.agencies == "embedded":
                def open_source(resource):
                    if conninfo:
                        return PostgresSource(conninfo, table=resource.table, suite=node.suite, network_key=casework.network_key)
                    return SqliteSource(directory.root / DATABASE_FILE, table=resource.table, suite=node.suite, network_key=casework.network_key)
                clients = {agency: AgencyService(agency, directory.read_organisation_key(agency), open_source(resource), EmbeddedLedger(node))
                           for agency, resource in AGENCY_RESOURCES.items()}
            else:
                app = create_app(node, request_bytes_max=1024 * 1024, casework=create_desk_router(directory, casework))
                http_server, serving = await start_server(app, host="127.0.0.1", port=directory.read_settings().port)
                log = open(directory.root / "agency.log", "ab")
                agency_process = subprocess.Popen([str(Path(sys.executable).parent / "reliefledger"), "agency", str(directory.root), "--port", str(agency_port)],
                                                  stdout=log, stderr=subprocess.STDOUT, env=os.environ)
                for _ in range(600):
                    try:
                        if (await client.get(f"http://127.0.0.1:{agency_port}/v1/agencies")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
                clients = {agency: HttpAgencyClient(f"http://127.0.0.1:{agency_port}", agency, client) for agency in AGENCY_RESOURCES}
            plans = [(plan, clients[plan.agency]) for plan in build_plans()]
            numbers = [household.number for household in population.households]
            latency_sample = min(arguments.latency_sample, len(numbers) // 2)
            batched = numbers[:len(numbers) - latency_sample]
            outcomes: dict[str, dict] = {}
            runs = asyncio.Semaphore(arguments.in_flight)

            async def test_batch(chunk: list[str]) -> None:
                async with runs:
                    for number, outcome in zip(chunk, await run_means_tests(casework, worker, [city.case_ids[number] for number in chunk], plans, timeout_s=120)):
                        outcomes[number] = outcome

            started, cpu_started = time.perf_counter(), time.process_time()
            await asyncio.gather(*(test_batch(batched[first:first + arguments.batch]) for first in range(0, len(batched), arguments.batch)))
            elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
            latencies = []
            for number in numbers[len(batched):]:
                single_started = time.perf_counter()
                outcomes[number] = await run_means_test(casework, worker, city.case_ids[number], plans, timeout_s=30)
                latencies.append((time.perf_counter() - single_started) * 1000)
            pack = casework.get_current_pack()
            mismatches = [number for number, household in zip(numbers, population.households)
                          if not outcomes[number].get("complete") or "error" in outcomes[number] or outcomes[number]["case"]["assessment"]["facts_digest"]
                          != compute_facts_digest(node.suite, parse_household_facts(get_expected_facts(household), pack)).hex()]
            if agency_process is not None:
                agency_process.terminate()
                agency_process.wait(15)
                http_server.should_exit = True
                await serving
    latencies.sort()
    return {"households": len(numbers), "agencies": len(AGENCY_RESOURCES), "source": arguments.source, "agency_services": arguments.agencies,
            "batch": arguments.batch, "in_flight": arguments.in_flight, "batched_households": len(batched), "test_s": round(elapsed, 2),
            "households_per_s": round(len(batched) / elapsed, 1),
            "node_process_cpu_ms_per_household": round(cpu_s * 1000 / len(batched), 3), "single_household_runs": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1), "max_ms": round(latencies[-1], 1),
            "matching_the_truth": len(numbers) - len(mismatches), "case_setup_s": round(setup_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--source", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--agencies", choices=("process", "embedded"), default="process", help="agency services in their own process (HTTP) or in the node's")
    parser.add_argument("--batch", type=int, default=500, help="cases per means-test run (one query batch per agency)")
    parser.add_argument("--in-flight", type=int, default=2, help="runs in progress at once (answering overlaps committing)")
    parser.add_argument("--latency-sample", type=int, default=200, help="households then tested one at a time for the latency figures")
    parser.add_argument("--seed", type=int, default=2026)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()

"""Cross-agency means tests for many households across nine agency sources, embedded. Prints JSON.

Builds a chain with civil affairs and nine data-owning agencies, each serving one catalogued
resource from its own SQLite (or PostgreSQL) source of synthetic rows, approves civil affairs'
sharing requests, registers the households with the importer, opens and authorises a dibao case
for each, then runs the means test for all but ``--latency-sample`` of them in runs of ``--batch``
cases (households a second), and for the rest one household at a time (p50/p99 latency of one
household's test, as a desk checking one applicant sees it).

    .venv/bin/python benchmarks/means_test.py --households 10000 --source sqlite
"""

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reliefledger.ledger.pseudonyms import compute_check_character, compute_household_pseudonym
from reliefledger.node.agency_sources import PostgresSource, SqliteSource
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.household_import import ImportRow, import_households
from reliefledger.node.agency_service import AgencyService, EmbeddedLedger
from reliefledger.node.means_test import AgencyPlan, Feed, run_means_test, run_means_tests
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory, StaffMember
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

AGENCIES = {
    "tax": ("wages_fen", Feed("income", "wages")),
    "human-resources": ("pension_fen", Feed("income", "pensions")),
    "market-regulation": ("business_registrations", Feed("business_registrations")),
    "natural-resources": ("properties", Feed("properties_beyond_residence")),
    "public-security": ("vehicles", Feed("vehicles")),
    "operator-bank": ("deposits_fen", Feed("deposits")),
    "housing-fund": ("provident_fen", Feed("deposits")),
    "medical-security": ("insurance_fen", Feed("income", "property")),
    "emergency-management": ("relief_fen", Feed("income", "social_assistance")),
}
"""Nine agencies, each answering one field that feeds the household's facts."""
TOWNSHIP = "110105001"


def make_id(random_source: random.Random) -> str:
    body = f"110105{random_source.randint(1940, 2015)}{random_source.randint(1, 12):02d}{random_source.randint(1, 28):02d}{random_source.randint(0, 999):03d}"
    return body + compute_check_character(body)


async def run(households: int, source_kind: str, concurrency: int, batch: int, in_flight: int, latency_sample: int, seed: int) -> dict:
    random_source = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="reliefledger-means-test-"))
    directory = initialise_directory(folder / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCIES],
                                     region="110000", chain_id="means-test-bench", time_ms=read_clock_ms(),
                                     settings=NodeSettings(verify_workers=1, pending_transactions_max=1_000_000))
    people = {}
    rows = []
    for number in range(households):
        members = [make_id(random_source) for _ in range(random_source.choice((1, 2, 2, 3, 4)))]
        people[f"HB-{number}"] = members
        for position, id_number in enumerate(members):
            rows.append(ImportRow(number * 10 + position + 2, {"household_number": f"HB-{number}", "region": TOWNSHIP, "address": f"某路{number}号",
                                                             "id_number": id_number, "name": f"居民{number}-{position}", "relation": "户主" if position == 0 else "家人"}))
    sources, cleanup = build_sources(folder, people, random_source, source_kind)
    try:
        return await measure(directory, people, rows, sources, concurrency, batch, in_flight, latency_sample, source_kind)
    finally:
        cleanup()


async def measure(directory, people, rows, sources, concurrency: int, batch: int, in_flight: int, latency_sample: int, source_kind: str) -> dict:
    async with open_node(directory) as node:
        with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
            staff = StaffDirectory(directory)
            for label, roles, region in [("cw", ["caseworker"], TOWNSHIP), ("cw-2", ["caseworker"], TOWNSHIP), ("policy", ["policy_admin"], "110000"), ("officer", ["data_officer"], "110000")]:
                await admit_staff(directory, node, organisation="civil-affairs", label=label, roles=roles, region=region)
            await casework.submit(staff.get("policy"), "policy", "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]})
            plans = []
            for agency, (field_name, feed) in AGENCIES.items():
                key = directory.read_organisation_key(agency)
                admin = StaffMember(agency, key)
                field_type = "count" if feed.kind in ("vehicles", "properties_beyond_residence", "business_registrations") else "amount_fen"
                await casework.submit(admin, "catalog", "register_resource", {"resource_id": f"{agency}.data", "name": agency, "fields": [{"name": field_name, "type": field_type, "predicate_allowed": True}],
                                                                               "legal_basis": "社会救助暂行办法", "update_frequency": "daily", "sharing_class": "conditional", "level": "city", "region": "110000"})
                await casework.submit(staff.get("officer"), "catalog", "request_sharing", {"request_id": f"req.{agency}", "resource_id": f"{agency}.data", "purpose": "低保核对", "fields": [field_name], "legal_basis": "社会救助暂行办法"})
                await casework.submit(admin, "catalog", "decide_request", {"request_id": f"req.{agency}", "outcome": "approve"})
                plans.append((AgencyPlan(agency, f"req.{agency}", {field_name: feed}), AgencyService(agency, key, sources[agency](node.suite, casework.network_key), EmbeddedLedger(node))))
            worker, second = staff.get("cw"), staff.get("cw-2")
            report = await import_households(casework, worker, rows)
            households_by_number = {number: compute_household_pseudonym(node.suite, casework.network_key, number) for number in sorted(people)}
            # Random ID numbers can collide; the importer refuses those households, so test the registered ones.
            numbers = [number for number, household in households_by_number.items() if node.store.get(f"registry/household/{household}")]
            semaphore = asyncio.Semaphore(concurrency)

            async def open_case(index: int, number: str) -> None:
                async with semaphore:
                    await casework.apply(worker, application_id=f"a{index}", household=households_by_number[number], programmes=["dibao"], channel="in_person", application={}, related_to_staff=False)
                    await casework.record_authorisation(worker, f"a{index}.dibao", {"signed": True})
                    await casework.record_visit(worker, f"a{index}.dibao", report={"ok": True}, staff=[worker.key.public_key, second.key.public_key], by_county=False)

            setup_started = time.perf_counter()
            await asyncio.gather(*(open_case(index, number) for index, number in enumerate(numbers)))
            setup_s = time.perf_counter() - setup_started
            # Throughput: a review cycle, the cases in batches (one signed batch per agency each).
            complete = 0
            runs = asyncio.Semaphore(in_flight)

            async def test_batch(case_ids: list[str]) -> None:
                nonlocal complete
                async with runs:
                    outcomes = await run_means_tests(casework, worker, case_ids, plans, timeout_s=60)
                    complete += sum(1 for outcome in outcomes if outcome.get("complete") and "error" not in outcome)

            started = time.perf_counter()
            batched = len(numbers) - latency_sample
            await asyncio.gather(*(test_batch([f"a{index}.dibao" for index in range(first, min(first + batch, batched))]) for first in range(0, batched, batch)))
            elapsed = time.perf_counter() - started
            # Latency: one household at a time, as a desk checks one applicant.
            latencies = []
            for index in range(len(numbers) - latency_sample, len(numbers)):
                single_started = time.perf_counter()
                outcome = await run_means_test(casework, worker, f"a{index}.dibao", plans, timeout_s=30)
                latencies.append((time.perf_counter() - single_started) * 1000)
                complete += outcome["complete"]
    latencies.sort()
    batched = len(numbers) - latency_sample
    return {"households": len(numbers), "agencies": len(AGENCIES), "source": source_kind, "batch": batch, "in_flight": in_flight,
            "households_per_s": round(batched / elapsed, 1), "batched_households": batched, "test_s": round(elapsed, 2),
            "single_household_runs": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1), "max_ms": round(latencies[-1], 1), "complete": complete,
            "case_setup_s": round(setup_s, 1), "households_registered": report.households_registered}


def build_sources(folder: Path, people: dict[str, list[str]], random_source: random.Random, kind: str) -> dict:
    """One table per agency with a row for most people; a factory per agency (it needs the suite and network key)."""
    tables = {agency: [(id_number, random_source.randint(0, 3) if field_name in ("vehicles", "properties", "business_registrations") and random_source.random() < 0.05 else
                        (0 if field_name in ("vehicles", "properties", "business_registrations") else random_source.randint(0, 300_000)))
                       for members in people.values() for id_number in members if random_source.random() < 0.8]
              for agency, (field_name, _) in AGENCIES.items()}
    if kind == "sqlite":
        database = folder / "agencies.sqlite"
        with sqlite3.connect(database) as connection:
            for agency, (field_name, _) in AGENCIES.items():
                table = agency.replace("-", "_")
                connection.execute(f"CREATE TABLE {table} (id_number TEXT, {field_name} INTEGER)")
                connection.execute(f"CREATE INDEX {table}_id ON {table} (id_number)")
                connection.executemany(f"INSERT INTO {table} VALUES (?, ?)", tables[agency])
        return {agency: (lambda suite, key, table=agency.replace("-", "_"): SqliteSource(database, table=table, suite=suite, network_key=key)) for agency in AGENCIES}, lambda: None
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres_server import start_postgres

    server, reason = start_postgres()
    if server is None:
        raise SystemExit(f"no PostgreSQL server: {reason}")
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as connection:
        for agency, (field_name, _) in AGENCIES.items():
            table = agency.replace("-", "_")
            connection.execute(f"CREATE TABLE {table} (id_number text, {field_name} bigint)")
            connection.execute(f"CREATE INDEX {table}_id ON {table} (id_number)")
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s)", tables[agency])
    return {agency: (lambda suite, key, table=agency.replace("-", "_"): PostgresSource(server.conninfo, table=table, suite=suite, network_key=key)) for agency in AGENCIES}, server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--source", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=200, help="cases opened at once while setting up")
    parser.add_argument("--batch", type=int, default=1000, help="cases per means-test run (one query batch per agency)")
    parser.add_argument("--in-flight", type=int, default=4, help="runs in progress at once (answering overlaps committing)")
    parser.add_argument("--latency-sample", type=int, default=200, help="households then tested one at a time for the latency figures")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(run(arguments.households, arguments.source, arguments.concurrency, arguments.batch, arguments.in_flight, min(arguments.latency_sample, arguments.households // 2), arguments.seed))))


if __name__ == "__main__":
    main()

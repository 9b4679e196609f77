"""Analytics at scale (issue 9): score 1,000,000 households, run every anomaly check over a year of
payments for them, and time the dashboard's analytics queries over 50,000,000 payment records.

    .venv/bin/python benchmarks/analytics.py --households 1000000 --payments 50000000 --dir /tmp/analytics-bench

Three parts, each printing one JSON line:

``score``
    The synthetic population generated (reported apart: a deployment does not generate people),
    every household's signals extracted, scored by the discovery model (trained on another seed's
    100,000 households), and the top reasons of every household above the threshold.
``checks``
    Analytics tables written straight to Parquet for the same number of households (cases,
    persons with 0.3 % deaths, households, accounts — a third wallets — and a year of payments:
    12 monthly benefits per enrolled case and four shop payments a month per wallet, a cash-out
    merchant among 2,000), then ``run_checks`` over them.
``queries``
    A transfers table of ``--payments`` rows (one compacted part) with its accounts; each named
    query run ``--repeats`` times: p50 and p99 of the wall time.

Memory is the process's peak resident set (``ru_maxrss``) after each part. Synthetic tables carry
short ids (not 64-hex transaction ids): the figures are for the queries' work, not for id width.
"""

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy
import pyarrow
import pyarrow.compute
import pyarrow.parquet

from reliefledger.analytics.checks import run_checks
from reliefledger.analytics.export import get_schema, write_manifest
from reliefledger.analytics.projections import PROJECTIONS
from reliefledger.analytics.queries import QUERIES, open_analytics, run_query

DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01
REGIONS = numpy.array(["110105001", "110105002", "110105003", "110108001", "110108002", "110108003"])


def peak_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def flat(values: object) -> pyarrow.Array:
    """One contiguous Arrow array (Arrow may hand back a chunked one for large inputs)."""
    array = values if isinstance(values, (pyarrow.Array, pyarrow.ChunkedArray)) else pyarrow.array(values)
    return array.combine_chunks() if isinstance(array, pyarrow.ChunkedArray) else array


def ids(prefix: str, numbers: numpy.ndarray) -> pyarrow.Array:
    """``prefix<number>`` strings, built in Arrow's C++ (no Python string per row)."""
    return flat(pyarrow.compute.binary_join_element_wise(pyarrow.scalar(prefix), flat(numbers).cast(pyarrow.string()), ""))


def write_table(folder: Path, table: str, columns: dict[str, object], heights: pyarrow.Array | None = None) -> None:
    """One Parquet part of an analytics table from whole columns (missing ones are null)."""
    projection = next(item for item in PROJECTIONS if item.table == table)
    schema = get_schema(projection)
    length = len(next(iter(columns.values())))
    arrays = []
    for field in schema:
        if field.name == "_key":
            arrays.append(ids(f"{table}/", numpy.arange(length)))
        elif field.name == "_height":
            arrays.append(heights if heights is not None else pyarrow.array(numpy.ones(length, dtype=numpy.int64)))
        elif field.name == "_deleted":
            arrays.append(pyarrow.array(numpy.zeros(length, dtype=bool)))
        elif field.name in columns:
            arrays.append(flat(columns[field.name]).cast(field.type))
        else:
            arrays.append(pyarrow.nulls(length, type=field.type))
    (folder / table).mkdir(parents=True, exist_ok=True)
    pyarrow.parquet.write_table(pyarrow.Table.from_arrays(arrays, schema=schema), folder / table / "part-1.parquet", compression="zstd", row_group_size=1_000_000)


def score(households: int) -> dict:
    from reliefledger.analytics.discovery import THRESHOLD, build_matrix, is_in_hardship, train
    from reliefledger.policy_files import get_default_policy_path, read_policy_pack
    from reliefledger.sim.population import generate_population

    _, pack = read_policy_pack(get_default_policy_path())
    training = generate_population(seed=101, households=100_000).households
    model = train(build_matrix(training), numpy.array([is_in_hardship(household, pack, START_MS) for household in training]))
    del training
    started = time.perf_counter()
    population = generate_population(seed=202, households=households)
    generated = time.perf_counter()
    matrix = build_matrix(population.households)
    extracted = time.perf_counter()
    scores = model.score(matrix)
    scored = time.perf_counter()
    flagged = numpy.flatnonzero(scores >= THRESHOLD)
    reasons = [model.explain(matrix[index]) for index in flagged]
    explained = time.perf_counter()
    return {"part": "score", "households": households, "generate_s": round(generated - started, 1), "signals_s": round(extracted - generated, 1),
            "score_s": round(scored - extracted, 2), "flagged": int(len(flagged)), "reasons_s": round(explained - scored, 1),
            "households_per_s_signals_and_score": round(households / (scored - generated)), "reasons_given": len(reasons), "peak_memory_mb": peak_memory_mb()}


def build_year(folder: Path, households: int, rng: numpy.random.Generator) -> int:
    """Cases, persons, households, accounts and a year of payments; answers the transfer rows."""
    numbers = numpy.arange(households)
    region = REGIONS[rng.integers(0, len(REGIONS), households)]
    enrolled = rng.random(households) < 0.4
    benefit = rng.integers(20_000, 300_000, households)
    write_table(folder, "households", {"household": ids("h", numbers), "region": region, "status": numpy.full(households, "active"),
                                       "members": rng.integers(1, 6, households)})
    write_table(folder, "cases", {"case_id": ids("c", numbers), "household": ids("h", numbers), "programme": numpy.full(households, "dibao"), "region": region,
                                  "status": numpy.where(enrolled, "enrolled", "refused"), "outcome": numpy.where(enrolled, "approve", "refuse"),
                                  "monthly_benefit_fen": benefit, "related_to_staff": numpy.zeros(households, dtype=bool),
                                  "visits_by_county": numpy.zeros(households, dtype=numpy.int32), "review_eligible": numpy.ones(households, dtype=bool)})
    persons = int(households * 2.3)
    person_household = rng.integers(0, households, persons)
    dead = rng.random(persons) < 0.003
    write_table(folder, "persons", {"person": ids("p", numpy.arange(persons)), "household": ids("h", person_household),
                                    "status": numpy.where(dead, "deceased", "alive"), "death_height": numpy.where(dead, rng.integers(1, 12, persons), 0)})
    wallet = numbers % 3 == 0
    merchants = 2_000
    write_table(folder, "accounts", {
        "account_id": pyarrow.concat_arrays([ids("a", numbers), ids("m", numpy.arange(merchants)), flat(["budget"])]),
        "kind": numpy.concatenate([numpy.where(wallet, "beneficiary_wallet", "beneficiary_bank_account"), numpy.full(merchants, "merchant"), ["programme_budget"]]),
        "region": numpy.concatenate([region, REGIONS[numpy.arange(merchants) % len(REGIONS)], ["110000"]])})
    paid = numpy.flatnonzero(enrolled)
    month = numpy.repeat(numpy.arange(12), len(paid))
    benefit_rows = numpy.tile(paid, 12)
    wallets_paid = paid[paid % 3 == 0]
    spends_per_month = 4
    spend_wallet = numpy.tile(numpy.repeat(wallets_paid, spends_per_month), 12)
    spend_month = numpy.repeat(numpy.arange(12), len(wallets_paid) * spends_per_month)
    spend_amount = rng.integers(1_000, 30_000, len(spend_wallet))
    merchant = rng.integers(0, merchants, len(spend_wallet))
    cashing = rng.random(len(spend_wallet)) < 0.002  # the bad merchant 0 takes near-whole benefits in round hundreds
    merchant = numpy.where(cashing, 0, merchant)
    spend_amount = numpy.where(cashing, benefit[spend_wallet] * 9 // 10 // 10_000 * 10_000 + 10_000, spend_amount)
    rows = len(benefit_rows) + len(spend_wallet)
    write_table(folder, "transfers", {
        "transfer_id": ids("t", numpy.arange(rows)), "code": numpy.concatenate([numpy.full(len(benefit_rows), 101), numpy.full(len(spend_wallet), 300)]),
        "debit_account_id": pyarrow.concat_arrays([flat(numpy.full(len(benefit_rows), "budget")), ids("a", spend_wallet)]),
        "credit_account_id": pyarrow.concat_arrays([ids("a", benefit_rows), ids("m", merchant)]),
        "debit_kind": numpy.concatenate([numpy.full(len(benefit_rows), "programme_budget"), numpy.full(len(spend_wallet), "beneficiary_wallet")]),
        "credit_kind": numpy.concatenate([numpy.where(benefit_rows % 3 == 0, "beneficiary_wallet", "beneficiary_bank_account"), numpy.full(len(spend_wallet), "merchant")]),
        "credit_category": numpy.concatenate([numpy.full(len(benefit_rows), None), numpy.full(len(spend_wallet), "food")]),
        "flow": numpy.concatenate([numpy.where(benefit_rows % 3 == 0, "programme_budget>beneficiary_wallet>", "programme_budget>beneficiary_bank_account>"),
                                   numpy.full(len(spend_wallet), "beneficiary_wallet>merchant>food")]),
        "amount": numpy.concatenate([benefit[benefit_rows], spend_amount]), "posted_amount": numpy.concatenate([benefit[benefit_rows], spend_amount]),
        "status": numpy.full(rows, "posted"), "reference": pyarrow.concat_arrays([ids("c", benefit_rows), pyarrow.nulls(len(spend_wallet), pyarrow.string())]),
        "time_ms": numpy.concatenate([START_MS + month * 30 * DAY_MS, START_MS + spend_month * 30 * DAY_MS + rng.integers(0, 6 * DAY_MS, len(spend_wallet))]),
        "height": numpy.concatenate([month + 1, spend_month + 1]), "transaction": ids("x", numpy.arange(rows))})
    write_manifest(folder, {"height": 1, "parts": {projection.table: ["part-1.parquet"] if (folder / projection.table).exists() else [] for projection in PROJECTIONS}})
    return rows


def checks(folder: Path, households: int) -> dict:
    started = time.perf_counter()
    rows = build_year(folder, households, numpy.random.default_rng(7))
    built = time.perf_counter()
    connection = open_analytics(folder)
    alerts = run_checks(connection)
    connection.close()
    done = time.perf_counter()
    return {"part": "checks", "households": households, "payments_in_year": rows, "write_tables_s": round(built - started, 1), "checks_s": round(done - built, 1),
            "alerts": {check: sum(1 for alert in alerts if alert.check == check) for check in sorted({alert.check for alert in alerts})},
            "peak_memory_mb": peak_memory_mb()}


def queries(folder: Path, households: int, payments: int, repeats: int) -> dict:
    rng = numpy.random.default_rng(11)
    started = time.perf_counter()
    build_year(folder, households, rng)  # cases, accounts, ... of the same city
    # Replace the transfers with ``payments`` rows, written in chunks of 10 million.
    (folder / "transfers" / "part-1.parquet").unlink()
    projection = next(item for item in PROJECTIONS if item.table == "transfers")
    schema = get_schema(projection)
    with pyarrow.parquet.ParquetWriter(folder / "transfers" / "part-1.parquet", schema, compression="zstd") as writer:
        for start in range(0, payments, 10_000_000):
            count = min(10_000_000, payments - start)
            numbers = numpy.arange(start, start + count)
            retail = rng.random(count) < 0.6
            household = rng.integers(0, households, count)
            columns = {"transfer_id": ids("t", numbers), "code": pyarrow.array(numpy.where(retail, 300, 101)),
                       "debit_account_id": pyarrow.array(numpy.where(retail, "a" + (household // 3 * 3).astype(str), "budget")),
                       "credit_account_id": pyarrow.array(numpy.where(retail, "m" + rng.integers(0, 2_000, count).astype(str), "a" + household.astype(str))),
                       "debit_kind": pyarrow.array(numpy.where(retail, "beneficiary_wallet", "programme_budget")),
                       "credit_kind": pyarrow.array(numpy.where(retail, "merchant", numpy.where(household % 3 == 0, "beneficiary_wallet", "beneficiary_bank_account"))),
                       "credit_category": pyarrow.array(numpy.where(retail, numpy.array(["food", "medicine", "daily_goods"])[rng.integers(0, 3, count)], None)),
                       "amount": pyarrow.array(rng.integers(1_000, 300_000, count)), "status": pyarrow.array(numpy.full(count, "posted")),
                       "time_ms": pyarrow.array(START_MS + rng.integers(0, 365 * DAY_MS, count)), "height": pyarrow.array(rng.integers(1, 10_000, count)),
                       "transaction": ids("x", numbers)}
            columns["posted_amount"] = columns["amount"]
            columns["flow"] = pyarrow.compute.binary_join_element_wise(columns["debit_kind"], columns["credit_kind"],
                                                                       pyarrow.compute.fill_null(columns["credit_category"], ""), ">")
            arrays = [flat(columns[field.name]).cast(field.type) if field.name in columns else
                      (ids("transfers/", numbers) if field.name == "_key" else pyarrow.array(numpy.ones(count, dtype=numpy.int64)) if field.name == "_height"
                       else pyarrow.array(numpy.zeros(count, dtype=bool)) if field.name == "_deleted" else pyarrow.nulls(count, field.type)) for field in schema]
            writer.write_table(pyarrow.Table.from_arrays(arrays, schema=schema))
    built = time.perf_counter()
    connection = open_analytics(folder)
    timings = {}
    for name in QUERIES:
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            run_query(connection, name)
            samples.append(time.perf_counter() - began)
        samples.sort()
        timings[name] = {"p50_s": round(statistics.median(samples), 3), "p99_s": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3)}
    connection.close()
    return {"part": "queries", "payments": payments, "households": households, "write_s": round(built - started, 1), "repeats": repeats, "queries": timings,
            "peak_memory_mb": peak_memory_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=50_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dir", type=Path, required=True, help="Scratch folder for the Parquet tables (tens of GB free for the full size)")
    parser.add_argument("--parts", default="score,checks,queries")
    arguments = parser.parse_args()
    parts = arguments.parts.split(",")
    if "score" in parts:
        print(json.dumps(score(arguments.households)), flush=True)
    if "checks" in parts:
        print(json.dumps(checks(arguments.dir / "year", arguments.households)), flush=True)
    if "queries" in parts:
        print(json.dumps(queries(arguments.dir / "queries", arguments.households, arguments.payments, arguments.repeats)), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""Baseline: store the same signed transactions in a plain SQLite table, with no ledger at all.

This is what an agency would build instead of a ledger: one table keyed by transaction id, one
row per new member, no signatures checked, no blocks, no Merkle trees, no state digest. It bounds
what our store could reach and shows what the ledger's guarantees cost. Prints JSON.

    .venv/bin/python benchmarks/baseline_sqlite.py --count 50000
"""

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from reliefledger.node.bench import build_transactions
from reliefledger.node.keys import generate_key
from reliefledger.ledger.suites import get_suite

BATCH_TRANSACTIONS = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    arguments = parser.parse_args()
    key = generate_key(get_suite("ed25519-sha256"), "civil-affairs")
    envelopes = build_transactions(key, "bench", arguments.count)
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "baseline.sqlite", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE transactions (id BLOB PRIMARY KEY, envelope BLOB) WITHOUT ROWID")
        connection.execute("CREATE TABLE members (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
        started = time.perf_counter()
        for start in range(0, len(envelopes), BATCH_TRANSACTIONS):
            batch = envelopes[start:start + BATCH_TRANSACTIONS]
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO transactions VALUES (?, ?)", [(envelope.id, envelope.encoded) for envelope in batch])
            connection.executemany("INSERT INTO members VALUES (?, ?)", [(envelope.body.args["public_key"], b"{}") for envelope in batch])
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
    print(json.dumps({"baseline": "plain SQLite, no signatures, no ledger", "tx_per_s": round(len(envelopes) / elapsed), "transactions": len(envelopes)}))


if __name__ == "__main__":
    main()

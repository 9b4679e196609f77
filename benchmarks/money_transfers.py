"""Wallet-to-merchant payments through the node's commit path, and the same payments in PostgreSQL. Prints JSON.

The ledger side: a chain of the central bank and an operator bank; the central bank publishes the
shipped wallet classes and issues digital currency to the bank, which opens ``--wallets`` wallets
(2021 upgraded class, cannot go below zero), ``--merchants`` merchant accounts, and funds every
wallet (set-up, not timed). Then ``--transfers`` payments, each its own signed transaction (one
``create_transfers`` of one transfer, checked against the wallet's limits and balance), are signed
beforehand and pushed through the node's submission path (signature verification in worker
processes, durable mempool, solo ordering, execution, one SQLite commit a block), as
``reliefledger bench`` does: committed payments a second and each payment's latency from
submission to commit.

What a user would pick instead: the same payments in a plain PostgreSQL database (a real server
started from Debian's package, default durability): an ``accounts`` table and a ``transfers``
table, one SQL transaction per payment that debits the wallet only if its balance covers the
amount, credits the merchant and inserts the transfer under its id, from ``--clients``
concurrent connections. The ratio is ledger payments a second over PostgreSQL's.

    .venv/bin/python benchmarks/money_transfers.py --transfers 50000
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from reliefledger.ledger.blocks import Block
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.directory import initialise_directory
from reliefledger.node.keys import KeyFile
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.node.verification import get_core_count
from reliefledger.wallet_files import read_wallet_classes

ROOT = Path(__file__).resolve().parent.parent
CHAIN_ID = "money-bench"
FUNDING_FEN = 1_000_000
SUBMIT_BATCH = 2048


def sign(key: KeyFile, action: str, args: dict, nonce: str) -> Envelope:
    body = TransactionBody(CHAIN_ID, "money", action, args, key.public_key, nonce, read_clock_ms() + 24 * 3_600_000)
    return sign_transaction(key.suite, key.seed, body)


def build_payments(bank: KeyFile, count: int, wallets: int, merchants: int, seed: int) -> list[tuple[Envelope, tuple[str, str, int]]]:
    random_source = random.Random(seed)
    payments = []
    for number in range(count):
        wallet, merchant, amount = f"w{random_source.randrange(wallets)}", f"m{random_source.randrange(merchants)}", random_source.randint(100, 20_000)
        transfer = {"transfer_id": f"pay-{number}", "code": 2, "debit_account_id": wallet, "credit_account_id": merchant, "amount": amount}
        payments.append((sign(bank, "create_transfers", {"transfers": [transfer]}, f"pay-{number}"), (wallet, merchant, amount)))
    return payments


async def commit_all(node, envelopes: list[Envelope]) -> list[float]:
    """Submit in batches and wait until every envelope is in a block; each one's latency in ms."""
    submitted_at: dict[bytes, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    wanted = {envelope.id for envelope in envelopes}

    def record(block: Block) -> None:
        now = time.perf_counter()
        for envelope in block.transactions:
            if envelope.id in wanted:
                latencies.append((now - submitted_at[envelope.id]) * 1000)
        if len(latencies) >= len(envelopes):
            done.set()

    node.commit_listeners.append(record)
    for start in range(0, len(envelopes), SUBMIT_BATCH):
        batch = envelopes[start:start + SUBMIT_BATCH]
        now = time.perf_counter()
        for envelope in batch:
            submitted_at[envelope.id] = now
        answers = await node.submit_envelopes(batch)
        refused = [answer for answer in answers if isinstance(answer, Exception)]
        if refused:
            raise SystemExit(f"the node refused a submission: {refused[0]}")
    await done.wait()
    node.commit_listeners.remove(record)
    return latencies


async def run_ledger(arguments: argparse.Namespace, folder: Path) -> dict:
    workers = max(1, get_core_count() - 1)
    directory = initialise_directory(folder / "chain", suite_name="ed25519-sha256", organisation_ids=["central-bank", "operator-bank"], region="110000",
                                     chain_id=CHAIN_ID, time_ms=read_clock_ms(),
                                     settings=NodeSettings(verify_workers=workers, pending_transactions_max=arguments.transfers + arguments.wallets + 10))
    central, bank = directory.read_organisation_key("central-bank"), directory.read_organisation_key("operator-bank")
    limited = {"flags": ["debits_must_not_exceed_credits"], "currency": "CNY-DC"}
    setup = [
        [sign(central, "publish_wallet_classes", read_wallet_classes(), "classes"),
         sign(central, "create_account", {"account_id": "issuance", "kind": "central_bank", "currency": "CNY-DC"}, "issuance"),
         sign(bank, "create_account", {"account_id": "bank", "kind": "operator_bank", **limited}, "bank")],
        [sign(bank, "create_account", {"account_id": f"w{number}", "kind": "beneficiary_wallet", "wallet_class": "2021-upgraded", **limited}, f"w{number}")
         for number in range(arguments.wallets)]
        + [sign(bank, "create_account", {"account_id": f"m{number}", "kind": "merchant", "currency": "CNY-DC"}, f"m{number}") for number in range(arguments.merchants)]
        + [sign(central, "create_transfers", {"transfers": [{"transfer_id": "issue", "code": 1, "debit_account_id": "issuance", "credit_account_id": "bank",
                                                             "amount": FUNDING_FEN * arguments.wallets}]}, "issue")],
        [sign(bank, "create_transfers", {"transfers": [{"transfer_id": f"fund-w{number}", "code": 1, "debit_account_id": "bank", "credit_account_id": f"w{number}",
                                                        "amount": FUNDING_FEN}]}, f"fund-{number}") for number in range(arguments.wallets)],
    ]
    payments = build_payments(bank, arguments.transfers, arguments.wallets, arguments.merchants, arguments.seed)
    async with open_node(directory) as node:
        node.verifier.warm_up()
        for wave in setup:
            await commit_all(node, wave)
        started = time.perf_counter()
        latencies = await commit_all(node, [envelope for envelope, _ in payments])
        elapsed = time.perf_counter() - started
        merchants_received = sum(node.store.get(f"money/account/m{number}")["credits_posted"] for number in range(arguments.merchants))
        rejected = sum(1 for envelope, _ in payments if node.get_transaction_status(envelope.id, with_proofs=False)["status"] != "committed")
    latencies.sort()
    expected = sum(amount for _, (_, _, amount) in payments)
    return {"transfers_per_s": round(arguments.transfers / elapsed), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1), "rejected": rejected, "merchants_received_fen": merchants_received,
            "paid_fen": expected, "verify_workers": workers, "blocks": node.tip.height}


def run_postgres(arguments: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.postgres_server import start_postgres

    import psycopg

    server, reason = start_postgres()
    if server is None:
        raise SystemExit(f"no PostgreSQL server: {reason}")
    try:
        with psycopg.connect(server.conninfo, autocommit=True) as connection:
            connection.execute("CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL)")
            connection.execute("CREATE TABLE transfers (id text PRIMARY KEY, debit text NOT NULL, credit text NOT NULL, amount bigint NOT NULL)")
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO accounts VALUES (%s, %s)", [(f"w{number}", FUNDING_FEN) for number in range(arguments.wallets)]
                                   + [(f"m{number}", 0) for number in range(arguments.merchants)])
        random_source = random.Random(arguments.seed)
        payments = [(f"pay-{number}", f"w{random_source.randrange(arguments.wallets)}", f"m{random_source.randrange(arguments.merchants)}",
                     random_source.randint(100, 20_000)) for number in range(arguments.transfers)]
        refused = [0]
        lock = threading.Lock()

        def client(share: list[tuple[str, str, str, int]]) -> None:
            with psycopg.connect(server.conninfo) as connection:
                for transfer_id, wallet, merchant, amount in share:
                    with connection.transaction():
                        debited = connection.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (amount, wallet, amount))
                        if debited.rowcount != 1:
                            with lock:
                                refused[0] += 1
                            continue
                        connection.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, merchant))
                        connection.execute("INSERT INTO transfers VALUES (%s, %s, %s, %s)", (transfer_id, wallet, merchant, amount))

        threads = [threading.Thread(target=client, args=(payments[index::arguments.clients],)) for index in range(arguments.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        return {"transfers_per_s": round(arguments.transfers / elapsed), "clients": arguments.clients, "refused": refused[0]}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=50_000)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8, help="concurrent PostgreSQL connections")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reliefledger-money-bench-") as folder:
        ledger = asyncio.run(run_ledger(arguments, Path(folder)))
    postgres = run_postgres(arguments)
    print(json.dumps({"transfers": arguments.transfers, "wallets": arguments.wallets, "merchants": arguments.merchants, "ledger": ledger,
                      "postgres": postgres, "ratio": round(ledger["transfers_per_s"] / postgres["transfers_per_s"], 2)}))


if __name__ == "__main__":
    main()

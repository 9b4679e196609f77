"""The commit-path benchmark behind ``reliefledger bench``.

It signs N membership transactions beforehand (not timed), then submits them in batches through
the node's own submission path (parse checks, signature verification in worker processes, durable
mempool, solo ordering, execution, commit to SQLite), bypassing HTTP. It reports committed
transactions a second, per-transaction latency from submission to commit, and, measured in the
same run, how many signatures a second all cores can verify: the ceiling any peer that checks
every signature is held to.
"""

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from reliefledger.ledger.blocks import Block
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.directory import ChainDirectory, initialise_directory
from reliefledger.node.keys import KeyFile
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.node.verification import SignatureVerifier, get_core_count

SUBMIT_BATCH_TRANSACTIONS = 2048
VERIFY_SAMPLE_TRANSACTIONS = 4096


@dataclass(frozen=True)
class BenchmarkSettings:
    """What to measure."""

    transactions: int = 50_000
    suite_name: str = "ed25519-sha256"
    directory: Path | None = None
    """Where the chain is built (kept afterwards for ``reliefledger verify``)."""
    workers: int = 0
    """The node's verification processes; 0 means one per core but one, which the node's own
    thread (ordering, execution, SQLite) keeps busy."""


def build_transactions(key: KeyFile, chain_id: str, count: int, *, progress: Callable[[int], None] | None = None) -> list[Envelope]:
    """``count`` signed admissions of fresh member keys, signed by ``key``."""
    valid_until = read_clock_ms() + 24 * 3600 * 1000
    envelopes = []
    for index in range(count):
        member_key = key.suite.compute_public_key(index.to_bytes(8, "big") + key.seed[8:]).hex()
        body = TransactionBody(chain_id, "membership", "admit_member", {"public_key": member_key, "roles": ["caseworker"]}, key.public_key, f"bench-{index}", valid_until)
        envelopes.append(sign_transaction(key.suite, key.seed, body))
        if progress is not None and index % 1000 == 999:
            progress(1000)
    return envelopes


async def measure_verify_limit(envelopes: list[Envelope], workers: int) -> float:
    """Signatures a second that ``workers`` processes verify."""
    verifier = SignatureVerifier(workers)
    try:
        verifier.warm_up()
        sample = envelopes[:VERIFY_SAMPLE_TRANSACTIONS]
        started = time.perf_counter()
        await verifier.verify_many(sample)
        return len(sample) / (time.perf_counter() - started)
    finally:
        verifier.close()


async def run_benchmark(settings: BenchmarkSettings, *, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Build a chain, push the transactions through the commit path, and report the figures."""
    cores = get_core_count()
    workers = settings.workers or max(1, cores - 1)
    root = settings.directory or Path(os.environ.get("TMPDIR", "/tmp")) / f"reliefledger-bench-{os.getpid()}-{time.time_ns()}"
    directory = initialise_directory(
        root,
        suite_name=settings.suite_name,
        organisation_ids=["civil-affairs"],
        region="110000",
        chain_id="bench",
        time_ms=read_clock_ms(),
        settings=NodeSettings(verify_workers=workers, pending_transactions_max=settings.transactions + 1),
    )
    key = directory.read_organisation_key("civil-affairs")
    report = _progress_reporter(progress, settings.transactions)
    envelopes = build_transactions(key, "bench", settings.transactions, progress=lambda count: report("signing", count))
    verify_limit = await measure_verify_limit(envelopes, cores)
    submitted_at: dict[bytes, float] = {}
    latencies_ms: list[float] = []
    committed = 0
    async with open_node(directory) as node:
        node.verifier.warm_up()
        done = asyncio.Event()

        def record(block: Block) -> None:
            nonlocal committed
            now = time.perf_counter()
            for envelope in block.transactions:
                latencies_ms.append((now - submitted_at[envelope.id]) * 1000)
            committed += len(block.transactions)
            report("committing", len(block.transactions))
            if committed >= len(envelopes):
                done.set()

        node.commit_listeners.append(record)
        started = time.perf_counter()
        for start in range(0, len(envelopes), SUBMIT_BATCH_TRANSACTIONS):
            batch = envelopes[start:start + SUBMIT_BATCH_TRANSACTIONS]
            now = time.perf_counter()
            for envelope in batch:
                submitted_at[envelope.id] = now
            await node.submit_envelopes(batch)
        await done.wait()
        elapsed = time.perf_counter() - started
        status = node.get_status()
    latencies_ms.sort()
    tx_per_s = len(envelopes) / elapsed
    return {
        "tx_per_s": round(tx_per_s),
        "verify_limit_per_s": round(verify_limit),
        "ratio": round(tx_per_s / verify_limit, 3),
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p99_ms": round(latencies_ms[int(len(latencies_ms) * 0.99) - 1], 1),
        "transactions": len(envelopes),
        "blocks": status["height"],
        "suite": settings.suite_name,
        "cores": cores,
        "verify_workers": workers,
        "dir": str(directory.root),
    }


def _progress_reporter(progress: Callable[[str, int, int], None] | None, total: int) -> Callable[[str, int], None]:
    def report(stage: str, advance: int) -> None:
        if progress is not None:
            progress(stage, advance, total)

    return report


__all__ = ["BenchmarkSettings", "ChainDirectory", "run_benchmark"]

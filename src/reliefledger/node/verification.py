"""Signature verification at the edge, inline or spread over worker processes.

Verification is the most expensive step of accepting a transaction, and it is a pure function of
the envelope, so batches of it parallelise across processes. Workers receive only (suite name,
public key, message, signature) tuples.
"""

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import Envelope, is_signature_valid

CHUNK_TRANSACTIONS = 256
"""Signatures sent to a worker at once."""


def verify_chunk(items: list[tuple[str, bytes, bytes, bytes]]) -> list[bool]:
    """Verify (suite, public key, message, signature) tuples; runs in a worker process."""
    return [get_suite(suite).is_valid_signature(key, message, signature) for suite, key, message, signature in items]


class SignatureVerifier:
    """Verifies envelope signatures, with ``workers`` processes for batches (0: inline)."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def verify_one(self, envelope: Envelope) -> bool:
        """Verify one envelope in this process."""
        return is_signature_valid(envelope)

    async def verify_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """Verify a batch, in the worker processes when there are any."""
        if self._pool is None:
            return [is_signature_valid(envelope) for envelope in envelopes]
        loop = asyncio.get_running_loop()
        items = [(envelope.suite, envelope.signer_key, envelope.body_bytes, envelope.signature) for envelope in envelopes]
        chunks = [items[start:start + CHUNK_TRANSACTIONS] for start in range(0, len(items), CHUNK_TRANSACTIONS)]
        answers = await asyncio.gather(*(loop.run_in_executor(self._pool, verify_chunk, chunk) for chunk in chunks))
        return [valid for answer in answers for valid in answer]

    def warm_up(self) -> None:
        """Start every worker now rather than on the first batch."""
        if self._pool is not None:
            list(self._pool.map(verify_chunk, [[] for _ in range(self.workers)]))

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def get_core_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

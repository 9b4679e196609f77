"""The solo orderer: one in-process cutter batching by count, bytes and wait time.

It is what the embedded default runs: no network, no consensus, but the same protocol and the
same signed block headers as a clustered orderer. Block time comes from an injected clock and
never decreases. Every queue is bounded.
"""

import asyncio
from typing import Callable, Sequence

from reliefledger.ledger import limits
from reliefledger.ledger.blocks import Block, build_header, compute_block_hash
from reliefledger.ledger.errors import require
from reliefledger.ledger.suites import Suite
from reliefledger.ledger.transactions import Envelope
from reliefledger.ordering.protocol import BatchLimits, ChainPosition

BLOCK_QUEUE_MAX = 8
"""Cut blocks waiting for the node to take them."""


class SoloOrderer:
    """Orders transactions in arrival order, in this process."""

    def __init__(
        self,
        *,
        chain_id: str,
        suite: Suite,
        signing_seed: bytes,
        clock_ms: Callable[[], int],
        batch: BatchLimits = BatchLimits(),
    ) -> None:
        require(batch.transaction_count_max <= limits.BLOCK_TRANSACTIONS_MAX, "batch count above the protocol limit")
        require(batch.bytes_max <= limits.BLOCK_BYTES_MAX, "batch bytes above the protocol limit")
        self.chain_id = chain_id
        self.suite = suite
        self.signing_seed = signing_seed
        self.public_key = suite.compute_public_key(signing_seed).hex()
        self.clock_ms = clock_ms
        self.batch = batch
        self._pending: asyncio.Queue[Envelope] = asyncio.Queue(batch.queue_transactions_max)
        self._blocks: asyncio.Queue[Block] = asyncio.Queue(BLOCK_QUEUE_MAX)
        self._cutter: asyncio.Task | None = None
        self._carried: Envelope | None = None
        """The envelope that did not fit the last block: first in the next."""
        self._position: ChainPosition | None = None

    async def start(self, position: ChainPosition) -> None:
        """Start cutting blocks after ``position``."""
        self._position = position
        self._cutter = asyncio.create_task(self._run_cutter(), name="solo-cutter")

    async def submit(self, envelopes: Sequence[Envelope]) -> None:
        """Queue envelopes in order."""
        for envelope in envelopes:
            await self._pending.put(envelope)

    async def next_block(self) -> Block:
        """The next cut block."""
        return await self._blocks.get()

    async def close(self) -> None:
        """Stop the cutter."""
        if self._cutter is not None:
            self._cutter.cancel()
            try:
                await self._cutter
            except asyncio.CancelledError:
                pass

    async def _run_cutter(self) -> None:
        while True:
            batch = await self._collect_batch()
            await self._blocks.put(self._cut_block(batch))

    async def _collect_batch(self) -> list[Envelope]:
        first, self._carried = self._carried or await self._pending.get(), None
        batch = [first]
        size = len(first.encoded)
        deadline = asyncio.get_running_loop().time() + self.batch.wait_ms_max / 1000
        while len(batch) < self.batch.transaction_count_max:
            if self._pending.empty():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    envelope = await asyncio.wait_for(self._pending.get(), remaining)
                except asyncio.TimeoutError:
                    break
            else:
                envelope = self._pending.get_nowait()
            if size + len(envelope.encoded) > self.batch.bytes_max:
                self._carried = envelope
                break
            batch.append(envelope)
            size += len(envelope.encoded)
        return batch

    def _cut_block(self, batch: list[Envelope]) -> Block:
        position = self._position
        time_ms = max(self.clock_ms(), position.time_ms)
        header = build_header(
            self.suite,
            chain=self.chain_id,
            height=position.height + 1,
            previous_hash=position.hash,
            time_ms=time_ms,
            transactions=batch,
            orderer=self.public_key,
        )
        signature = self.suite.sign(self.signing_seed, header.encode())
        self._position = ChainPosition(header.height, compute_block_hash(self.suite, header), time_ms)
        return Block(header, signature, tuple(batch))

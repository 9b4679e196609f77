"""The ``Orderer`` protocol: submit envelopes; receive ordered, signed blocks in height order.

An orderer never executes. ``solo`` runs in-process for the embedded default; a NATS JetStream
orderer (a later issue) implements the same protocol across processes.
"""

from dataclasses import dataclass
from typing import Protocol, Sequence

from reliefledger.ledger.blocks import Block
from reliefledger.ledger.transactions import Envelope


@dataclass(frozen=True)
class BatchLimits:
    """When the orderer cuts a block: whichever limit is reached first."""

    transaction_count_max: int = 1024
    """Most transactions in one block."""
    bytes_max: int = 4 * 1024 * 1024
    """Most envelope bytes in one block."""
    wait_ms_max: int = 20
    """Longest a submitted transaction waits for its block to be cut."""
    queue_transactions_max: int = 65536
    """Most submitted transactions waiting to be ordered; ``submit`` waits beyond it."""


@dataclass(frozen=True)
class ChainPosition:
    """Where ordering resumes: the last committed block."""

    height: int
    hash: bytes
    time_ms: int


class Orderer(Protocol):
    """Orders envelopes into blocks."""

    async def start(self, position: ChainPosition) -> None:
        """Begin ordering after ``position``."""
        ...

    async def submit(self, envelopes: Sequence[Envelope]) -> None:
        """Queue envelopes for ordering (waits while the queue is full)."""
        ...

    async def next_block(self) -> Block:
        """The next block in height order (waits until one is cut)."""
        ...

    async def close(self) -> None:
        """Stop ordering; queued, uncut envelopes are dropped (the node's mempool keeps them)."""
        ...

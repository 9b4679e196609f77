"""Blocks: the ordered header the orderer signs, and the commit record every peer computes.

The orderer does not execute, so a block has two parts. The header (chain, height, previous hash,
time, transaction root and count, orderer key) is fixed by ordering and signed by the orderer; the
block hash is the suite hash of its canonical JSON. The commit record (result root, state digest)
is computed by each peer when it executes the block; peers sign it in their attestations.
"""

from dataclasses import dataclass
from typing import Any, Sequence

from reliefledger.ledger import merkle
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.suites import Suite
from reliefledger.ledger.transactions import Envelope


@dataclass(frozen=True)
class BlockHeader:
    """What ordering fixed about a block."""

    chain: str
    """The chain id."""
    height: int
    """1 for the first block after genesis."""
    previous_hash: bytes
    """Hash of the previous block's header; for height 1, the genesis hash."""
    time_ms: int
    """Block time, milliseconds since the Unix epoch, assigned by the orderer, never decreasing."""
    transaction_root: bytes
    """Merkle root over the transaction ids, in block order."""
    transaction_count: int
    """Number of transactions."""
    orderer: str
    """The orderer's public key, hex."""

    def to_json(self) -> dict[str, Any]:
        """The header as a JSON object (hashes as hex)."""
        return {
            "chain": self.chain,
            "height": self.height,
            "orderer": self.orderer,
            "previous_hash": self.previous_hash.hex(),
            "time_ms": self.time_ms,
            "transaction_count": self.transaction_count,
            "transaction_root": self.transaction_root.hex(),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "BlockHeader":
        """Inverse of ``to_json``."""
        return cls(
            chain=value["chain"],
            height=value["height"],
            previous_hash=bytes.fromhex(value["previous_hash"]),
            time_ms=value["time_ms"],
            transaction_root=bytes.fromhex(value["transaction_root"]),
            transaction_count=value["transaction_count"],
            orderer=value["orderer"],
        )

    def encode(self) -> bytes:
        """Canonical JSON: what the orderer signs and what is hashed into the block hash."""
        return encode_canonical(self.to_json())


@dataclass(frozen=True)
class Block:
    """An ordered block: signed header and its transactions."""

    header: BlockHeader
    orderer_signature: bytes
    """The orderer's signature over ``header.encode()``."""
    transactions: tuple[Envelope, ...]


@dataclass(frozen=True)
class CommitRecord:
    """What a peer computed by executing a block."""

    height: int
    block_hash: bytes
    result_root: bytes
    """Merkle root over the canonical result entries, in block order."""
    state_digest: bytes
    """Digest of the state after the block, chained onto the previous digest."""

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (hashes as hex)."""
        return {
            "block_hash": self.block_hash.hex(),
            "height": self.height,
            "result_root": self.result_root.hex(),
            "state_digest": self.state_digest.hex(),
        }


def compute_block_hash(suite: Suite, header: BlockHeader) -> bytes:
    """The block hash: suite hash of the canonical header."""
    return suite.compute_hash(header.encode())


def compute_transaction_root(suite: Suite, transaction_ids: Sequence[bytes]) -> bytes:
    """Merkle root whose leaves are the 32-byte transaction ids."""
    return merkle.compute_root(suite.compute_hash, transaction_ids)


def build_header(
    suite: Suite,
    *,
    chain: str,
    height: int,
    previous_hash: bytes,
    time_ms: int,
    transactions: Sequence[Envelope],
    orderer: str,
) -> BlockHeader:
    """Build the header of a block of ``transactions``."""
    return BlockHeader(
        chain=chain,
        height=height,
        previous_hash=previous_hash,
        time_ms=time_ms,
        transaction_root=compute_transaction_root(suite, [tx.id for tx in transactions]),
        transaction_count=len(transactions),
        orderer=orderer,
    )


def is_orderer_signature_valid(suite: Suite, block: Block) -> bool:
    """True when the header's orderer signed it."""
    return suite.is_valid_signature(
        bytes.fromhex(block.header.orderer), block.header.encode(), block.orderer_signature
    )

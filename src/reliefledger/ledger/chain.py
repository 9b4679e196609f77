"""Chain rules: checking that a block extends the chain, and starting state from genesis."""

from typing import Any

from reliefledger.ledger.blocks import Block, compute_block_hash, compute_transaction_root, is_orderer_signature_valid
from reliefledger.ledger.contracts import membership
from reliefledger.ledger.genesis import Genesis
from reliefledger.ledger.state import GENESIS_PREVIOUS_DIGEST, compute_state_digest


def compute_genesis_state(genesis: Genesis) -> tuple[dict[str, Any], bytes]:
    """The genesis write set and the state digest it yields (the digest at height 0)."""
    writes = membership.compute_genesis_writes(genesis)
    return writes, compute_state_digest(genesis.suite, GENESIS_PREVIOUS_DIGEST, writes)


def find_block_fault(
    genesis: Genesis, block: Block, *, previous_hash: bytes, previous_time_ms: int, height: int
) -> str | None:
    """Why ``block`` cannot follow the block with ``previous_hash`` at ``height - 1``, or None.

    A peer never accepts a block that does not extend the block it last committed.
    """
    header = block.header
    suite = genesis.suite
    if header.chain != genesis.chain_id:
        return f"chain id {header.chain!r} is not {genesis.chain_id!r}"
    if header.height != height:
        return f"height {header.height} where {height} was expected"
    if header.previous_hash != previous_hash:
        return "previous_hash does not match the hash of the block before"
    if header.time_ms < previous_time_ms:
        return "block time went backwards"
    if header.orderer not in genesis.orderers:
        return "signed by a key that is not an orderer of this chain"
    if not is_orderer_signature_valid(suite, block):
        return "the orderer signature does not verify"
    if header.transaction_count != len(block.transactions):
        return "transaction_count does not match the transactions"
    if header.transaction_root != compute_transaction_root(suite, [tx.id for tx in block.transactions]):
        return "transaction_root does not match the transactions"
    return None


__all__ = ["compute_block_hash", "compute_genesis_state", "find_block_fault"]

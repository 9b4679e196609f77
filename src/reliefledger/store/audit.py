"""Offline audit of a whole store: the check behind ``reliefledger verify``.

It trusts nothing stored. From the genesis document it recomputes the genesis state; for every
block it re-hashes the header, checks the chain link, the orderer's signature, every transaction
signature and the transaction root, re-executes the block and compares results, result root and
state digest; at the end it compares the stored world state and transaction index with the
replayed ones. Any changed byte in a block, a result or a state row is found, and the first bad
block is named. It never writes to the store.
"""

from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from reliefledger.ledger.blocks import Block, BlockHeader, compute_block_hash
from reliefledger.ledger.chain import compute_genesis_state, find_block_fault
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.execute import execute_block
from reliefledger.ledger.genesis import Genesis, parse_genesis
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.transactions import is_signature_valid
from reliefledger.store.block_store import BlockStore, StoredBlock
from reliefledger.store.money_audit import find_money_fault

ProgressCallback = Callable[[int, int], None]
"""Called with (height checked, tip height)."""


@dataclass
class AuditReport:
    """The outcome of an audit."""

    sound: bool = True
    blocks_checked: int = 0
    transactions_checked: int = 0
    tip_height: int = 0
    state_digest: str = ""
    bad_height: int | None = None
    """The first block found bad (None for faults in the final state or index)."""
    reason: str = ""
    problems: list[str] = field(default_factory=list)

    def fail(self, height: int | None, reason: str) -> "AuditReport":
        """Record the first fault and stop."""
        self.sound = False
        self.bad_height = height
        self.reason = reason
        return self

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "sound": self.sound,
            "blocks_checked": self.blocks_checked,
            "transactions_checked": self.transactions_checked,
            "tip_height": self.tip_height,
            "state_digest": self.state_digest,
            "bad_height": self.bad_height,
            "reason": self.reason,
        }


def audit_store(store: BlockStore, *, progress: ProgressCallback | None = None) -> AuditReport:
    """Re-check a whole store; see the module docstring."""
    report = AuditReport()
    genesis_row = store.get_block(0)
    if genesis_row is None:
        return report.fail(0, "the store holds no genesis")
    try:
        genesis = parse_genesis(orjson.loads(genesis_row.header_bytes))
    except (LedgerInputError, ValueError) as error:
        return report.fail(0, f"the genesis document does not parse: {error}")
    writes, digest = compute_genesis_state(genesis)
    if genesis_row.hash != genesis.compute_hash() or genesis_row.state_digest != digest:
        return report.fail(0, "the genesis hash or genesis state digest does not match the genesis document")
    if store.get_genesis_bytes() != genesis_row.header_bytes:
        return report.fail(0, "the genesis the node loads (meta) differs from the genesis block")
    state = MemoryState(writes)
    write_heights = {key: 0 for key in writes}
    claimed: dict[bytes, tuple[int, int, int]] = {}
    previous = genesis_row
    previous_time_ms = genesis.time_ms
    tip_height = store.get_tip_height()
    report.tip_height = tip_height
    for stored in store.iterate_blocks(1):
        try:
            written_keys = check_block(genesis, stored, previous, previous_time_ms, state, claimed)
        except BlockFault as fault:
            return report.fail(stored.height, str(fault))
        for key in written_keys:
            write_heights[key] = stored.height
        report.blocks_checked += 1
        report.transactions_checked += len(stored.results)
        previous, previous_time_ms = stored, stored.header.time_ms
        if progress is not None:
            progress(stored.height, tip_height)
    if previous.height != tip_height:
        return report.fail(previous.height + 1, "a block is missing below the tip")
    report.state_digest = previous.state_digest.hex()
    fault = find_state_fault(store, state, write_heights) or find_index_fault(store, claimed) or find_money_fault(
        (key, value) for key, value in state.values.items() if key.startswith("money/"))
    if fault is not None:
        return report.fail(None, fault)
    return report


class BlockFault(Exception):
    """A stored block that fails a check; the message says which."""


def check_block(
    genesis: Genesis,
    stored: StoredBlock,
    previous: StoredBlock,
    previous_time_ms: int,
    state: MemoryState,
    claimed: dict[bytes, tuple[int, int, int]],
) -> list[str]:
    """Check a stored block against its predecessor and apply it; return the keys it wrote.

    Raises ``BlockFault`` saying what is wrong.
    """
    suite = genesis.suite
    try:
        header = BlockHeader.from_json(orjson.loads(stored.header_bytes))
        envelopes = stored.get_envelopes()
        stored_results = stored.results
    except (LedgerInputError, ValueError, KeyError, TypeError) as error:
        raise BlockFault(f"the stored header or transactions do not parse: {error}") from None
    if encode_canonical(header.to_json()) != stored.header_bytes:
        raise BlockFault("the stored header is not in canonical form")
    if compute_block_hash(suite, header) != stored.hash:
        raise BlockFault("the stored block hash is not the hash of its header")
    block = Block(header, stored.orderer_signature, tuple(envelopes))
    fault = find_block_fault(genesis, block, previous_hash=previous.hash, previous_time_ms=previous_time_ms, height=previous.height + 1)
    if fault is not None:
        raise BlockFault(fault)
    bad = [envelope.id.hex() for envelope in envelopes if not is_signature_valid(envelope)]
    if bad:
        raise BlockFault(f"transaction {bad[0]} has a signature that does not verify")
    environment = BlockEnvironment(genesis.chain_id, suite, header.height, header.time_ms)
    outcome = execute_block(environment, envelopes, state, previous.state_digest, is_committed_id=lambda identifier: identifier in claimed)
    expected_results = [[result.id.hex(), int(result.code)] for result in outcome.results]
    if expected_results != stored_results:
        if type(stored_results) is not list or len(expected_results) != len(stored_results):
            raise BlockFault(f"the stored results do not list one entry for each of {len(expected_results)} transactions")
        position = next(index for index, (expected, found) in enumerate(zip(expected_results, stored_results)) if expected != found)
        raise BlockFault(f"stored result {position} differs from re-execution (expected {expected_results[position]})")
    if outcome.result_root != stored.result_root:
        raise BlockFault("the stored result root differs from re-execution")
    if outcome.state_digest != stored.state_digest:
        raise BlockFault("the stored state digest differs from re-execution")
    state.apply_writes(outcome.writes)
    for position, result in enumerate(outcome.results):
        if result.code.claims_id:
            claimed[result.id] = (header.height, position, int(result.code))
    return list(outcome.writes)


def find_state_fault(store: BlockStore, state: MemoryState, write_heights: dict[str, int]) -> str | None:
    """Compare every stored state row with the replayed state."""
    expected = {key: encode_canonical(value) for key, value in state.values.items()}
    seen = 0
    for key, value, height in store.iterate_state():
        if key not in expected:
            return f"state row {key!r} is not produced by the chain"
        if value != expected[key]:
            return f"state row {key!r} differs from re-execution"
        if height != write_heights.get(key):
            return f"state row {key!r} records height {height}, re-execution wrote it at {write_heights.get(key)}"
        seen += 1
    if seen != len(expected):
        return f"{len(expected) - seen} state rows are missing"
    return None


def find_index_fault(store: BlockStore, claimed: dict[bytes, tuple[int, int, int]]) -> str | None:
    """Compare the transaction index with the replayed one."""
    seen = 0
    for identifier, height, position, code in store.iterate_transaction_index():
        if claimed.get(identifier) != (height, position, code):
            return f"transaction index entry {identifier.hex()} differs from re-execution"
        seen += 1
    if seen != len(claimed):
        return f"{len(claimed) - seen} transaction index entries are missing"
    return None


__all__ = ["AuditReport", "audit_store"]

"""Determinism: replaying the stored blocks into a fresh state gives the stored digest at every height."""

import sqlite3

import orjson
import pytest

from node_support import build_sample_chain
from reliefledger.ledger.blocks import compute_block_hash
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.execute import execute_block
from reliefledger.ledger.state import MemoryState
from reliefledger.store.block_store import BlockStore


def replay(store: BlockStore) -> tuple[list[tuple[int, bytes, bytes]], MemoryState, dict[bytes, tuple[int, int, int]]]:
    """Execute every stored block over a fresh MemoryState; (height, replayed, stored digest) per height."""
    genesis = store.get_genesis()
    writes, digest = compute_genesis_state(genesis)
    state = MemoryState(writes)
    claimed: dict[bytes, tuple[int, int, int]] = {}
    digests = [(0, digest, store.get_block(0).state_digest)]
    previous_hash = genesis.compute_hash()
    for stored in store.iterate_blocks(1):
        header = stored.header
        assert header.previous_hash == previous_hash, f"block {stored.height} does not link"
        environment = BlockEnvironment(genesis.chain_id, genesis.suite, header.height, header.time_ms)
        outcome = execute_block(environment, stored.get_envelopes(), state, digest, is_committed_id=claimed.__contains__)
        assert [[result.id.hex(), int(result.code)] for result in outcome.results] == stored.results, stored.height
        assert outcome.result_root == stored.result_root, stored.height
        state.apply_writes(outcome.writes)
        for position, result in enumerate(outcome.results):
            if result.code.claims_id:
                claimed[result.id] = (header.height, position, int(result.code))
        digest = outcome.state_digest
        digests.append((stored.height, digest, stored.state_digest))
        previous_hash = compute_block_hash(genesis.suite, header)
    return digests, state, claimed


@pytest.mark.parametrize("suite", ["ed25519-sha256", "sm2-sm3"])
def test_replay_gives_the_stored_state_digest_at_every_height(tmp_path, suite):
    directory = build_sample_chain(tmp_path / "chain", suite=suite)
    store = BlockStore(directory.store_path, read_only=True)
    try:
        digests, state, claimed = replay(store)
        tip = store.get_tip()
        assert [height for height, _, _ in digests] == list(range(tip.height + 1))
        assert tip.height >= 5
        for height, replayed, stored in digests:
            assert replayed == stored, f"state digest differs at height {height}"
        assert digests[-1][1] == tip.state_digest

        # The stored world state and index are exactly the replayed ones.
        stored_state = {key: value for key, value, _ in store.iterate_state()}
        assert stored_state == {key: encode_canonical(value) for key, value in state.values.items()}
        assert {identifier: (height, position, code) for identifier, height, position, code in store.iterate_transaction_index()} == claimed
        # The chain did real work: commits and rejections, an organisation admitted by governance.
        codes = {code for _, _, code in claimed.values()}
        assert 0 in codes and len(codes) >= 4
        assert state.get("membership/organisation/charity-federation")["status"] == "active"

        # Replaying twice gives the same digests: nothing outside the blocks leaks in.
        again, _, _ = replay(store)
        assert again == digests
    finally:
        store.close()


def test_replay_of_the_shared_sample_chain_matches(sample_chain_master):
    store = BlockStore(sample_chain_master.store_path, read_only=True)
    try:
        digests, _, _ = replay(store)
        assert all(replayed == stored for _, replayed, stored in digests)
    finally:
        store.close()


def test_replay_detects_a_changed_block(sample_chain):
    """The replay check is not vacuous: reorder a block's transactions and the replay disagrees."""
    connection = sqlite3.connect(sample_chain.store_path)
    transactions = orjson.loads(connection.execute("SELECT transactions FROM blocks WHERE height=2").fetchone()[0])
    reordered = b"[" + b",".join(orjson.dumps(value, option=orjson.OPT_SORT_KEYS) for value in reversed(transactions)) + b"]"
    connection.execute("UPDATE blocks SET transactions=? WHERE height=2", (reordered,))
    connection.commit()
    connection.close()
    store = BlockStore(sample_chain.store_path, read_only=True)
    try:
        with pytest.raises(AssertionError):
            replay(store)
    finally:
        store.close()

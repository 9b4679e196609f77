"""The SQLite block store: founding, atomic block commits, the durable mempool, read-only use."""

import sqlite3
from dataclasses import replace

import pytest

from node_support import admit, build_block, genesis_digest, make_chain, sign_action
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.errors import InvariantViolation, LedgerInputError
from reliefledger.ledger.execute import TransactionResult
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.store.block_store import BlockStore, StoreError


def count_rows(store: BlockStore, table: str) -> int:
    return store.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def snapshot(store: BlockStore) -> dict:
    """Every row of every table, to compare before and after a failed write."""
    tables = ("meta", "blocks", "transaction_index", "state", "mempool")
    return {table: sorted(store.connection.execute(f"SELECT * FROM {table}").fetchall()) for table in tables}


@pytest.fixture
def store(chain):
    opened = chain.open_store()
    yield opened
    opened.close()


# --- founding -----------------------------------------------------------------------------------


def test_initialise_writes_genesis_block_and_state(chain, store):
    genesis = chain.read_genesis()
    writes, digest = compute_genesis_state(genesis)
    assert store.is_initialised()
    tip = store.get_tip()
    assert (tip.height, tip.hash, tip.time_ms, tip.state_digest) == (0, genesis.compute_hash(), genesis.time_ms, digest)
    assert store.get_genesis().compute_hash() == genesis.compute_hash()
    stored = {key: value for key, value, _ in store.iterate_state()}
    assert set(stored) == set(writes)
    for key, value in writes.items():
        assert store.get(key) == value
    assert all(height == 0 for _, _, height in store.iterate_state())
    assert list(store.iterate_blocks()) == []
    assert store.get_block(0).hash == genesis.compute_hash()


def test_initialise_again_with_same_genesis_is_a_no_op(chain, store):
    before = snapshot(store)
    genesis = chain.read_genesis()
    writes, digest = compute_genesis_state(genesis)
    store.initialise(genesis, writes, digest)
    assert snapshot(store) == before


def test_initialise_refuses_another_genesis(tmp_path, chain, store):
    other = parse_genesis(make_chain(tmp_path / "other").read_genesis().document)
    writes, digest = compute_genesis_state(other)
    before = snapshot(store)
    with pytest.raises(StoreError):
        store.initialise(other, writes, digest)
    assert snapshot(store) == before
    assert store.get_genesis().compute_hash() == chain.read_genesis().compute_hash()


def test_open_store_refuses_a_folder_whose_genesis_was_replaced(tmp_path, chain):
    other = make_chain(tmp_path / "other")
    chain.genesis_path.write_text(other.genesis_path.read_text())
    with pytest.raises(LedgerInputError) as raised:
        chain.open_store()
    assert raised.value.code == "genesis_mismatch"


def test_unknown_synchronous_mode_is_refused(chain):
    with pytest.raises(StoreError):
        BlockStore(chain.store_path, synchronous="SOMETIMES")


def test_uninitialised_store_says_so(tmp_path):
    store = BlockStore(tmp_path / "empty.sqlite")
    try:
        assert not store.is_initialised()
        with pytest.raises(StoreError):
            store.get_genesis()
    finally:
        store.close()


# --- commits ------------------------------------------------------------------------------------


def test_commit_block_writes_block_results_state_index_and_settles_mempool(chain, store):
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin), admit(admin), sign_action(admin, "pay", {}, contract="payments")]
    sequences = store.append_mempool(envelopes)
    block, block_hash, outcome = build_block(chain, store, envelopes)
    store.commit_block(block, block_hash, outcome, sequences[:2])

    tip = store.get_tip()
    assert (tip.height, tip.hash, tip.state_digest) == (1, block_hash, outcome.state_digest)
    stored = store.get_block(1)
    assert stored.header == block.header
    assert stored.header_bytes == block.header.encode()
    assert stored.orderer_signature == block.orderer_signature
    assert [envelope.encoded for envelope in stored.get_envelopes()] == [envelope.encoded for envelope in envelopes]
    assert stored.results == [[envelope.id.hex(), code] for envelope, code in zip(envelopes, [0, 0, 9])]
    assert stored.result_root == outcome.result_root
    assert stored.state_digest == outcome.state_digest
    for position, envelope in enumerate(envelopes):
        location = store.get_transaction_location(envelope.id)
        assert (location.height, location.position) == (1, position)
        assert store.is_committed_id(envelope.id)
    assert store.get_transaction_location(envelopes[2].id).code is ResultCode.UNKNOWN_CONTRACT
    for key, value in outcome.writes.items():
        assert store.get(key) == value
    assert [sequence for sequence, _ in store.list_mempool()] == [sequences[2]]
    assert [block.height for block in store.iterate_blocks()] == [1]


def test_commit_block_refuses_a_height_that_does_not_extend_the_tip_and_writes_nothing(chain, store):
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin)]
    sequences = store.append_mempool(envelopes)
    block, block_hash, outcome = build_block(chain, store, envelopes, height=2)
    before = snapshot(store)
    with pytest.raises(InvariantViolation):
        store.commit_block(block, block_hash, outcome, sequences)
    assert snapshot(store) == before
    assert store.get_tip().height == 0
    assert store.get_block(2) is None
    assert not store.is_committed_id(envelopes[0].id)


def test_commit_block_rolls_back_the_block_row_when_the_index_insert_fails(chain, store):
    """The block row is inserted first; a failing index insert must take it back out."""
    admin = chain.read_organisation_key("civil-affairs")
    first = admit(admin)
    block, block_hash, outcome = build_block(chain, store, [first])
    store.commit_block(block, block_hash, outcome, [])

    second = admit(admin)
    sequences = store.append_mempool([second])
    block, block_hash, outcome = build_block(chain, store, [second])
    assert outcome.writes, "the block must have state writes for the test to mean something"
    # An outcome claiming an id that is already indexed: the PRIMARY KEY refuses the 2nd statement.
    forged = replace(outcome, results=(TransactionResult(first.id, ResultCode.OK),))
    before = snapshot(store)
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_block(block, block_hash, forged, sequences)
    assert snapshot(store) == before
    assert store.get_tip().height == 1
    assert store.get_block(2) is None
    assert [sequence for sequence, _ in store.list_mempool()] == sequences

    # The connection is usable afterwards: the honest outcome commits.
    store.commit_block(block, block_hash, outcome, sequences)
    assert store.get_tip().height == 2
    assert store.list_mempool() == []


def test_commit_block_rolls_back_everything_when_a_state_write_fails(chain, store):
    """Block row and index rows are written before the state: a state value SQLite never gets undoes them.

    (The store trusts the executor's write set, checked whole by compute_state_digest; a value
    that cannot be encoded at all still fails inside the SQLite transaction.)
    """
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin)
    sequences = store.append_mempool([envelope])
    block, block_hash, outcome = build_block(chain, store, [envelope])
    poisoned = replace(outcome, writes={**outcome.writes, "zzz/poison": {"amount": {1, 2}}})
    before = snapshot(store)
    with pytest.raises(TypeError):
        store.commit_block(block, block_hash, poisoned, sequences)
    assert snapshot(store) == before
    assert store.get_block(1) is None
    assert not store.is_committed_id(envelope.id)


def test_deletions_in_a_write_set_remove_state_rows(chain, store):
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin)
    block, block_hash, outcome = build_block(chain, store, [envelope])
    key = next(iter(store.iterate_state()))[0]
    store.commit_block(block, block_hash, replace(outcome, writes={**outcome.writes, key: None}), [])
    assert store.get(key) is None


# --- mempool ------------------------------------------------------------------------------------


def test_mempool_append_list_delete_and_survives_reopening(chain, store):
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin) for _ in range(4)]
    first = store.append_mempool(envelopes[:3])
    second = store.append_mempool(envelopes[3:])
    sequences = first + second
    assert sequences == sorted(sequences) and len(set(sequences)) == 4
    assert store.list_mempool() == [(sequence, envelope.encoded) for sequence, envelope in zip(sequences, envelopes)]
    assert store.append_mempool([]) == []

    store.delete_mempool([sequences[1], sequences[3], 10_000])
    assert store.list_mempool() == [(sequences[0], envelopes[0].encoded), (sequences[2], envelopes[2].encoded)]
    store.close()

    reopened = chain.open_store()
    try:
        assert reopened.list_mempool() == [(sequences[0], envelopes[0].encoded), (sequences[2], envelopes[2].encoded)]
        assert reopened.append_mempool([envelopes[1]])[0] > sequences[2]
    finally:
        reopened.close()


# --- read-only ----------------------------------------------------------------------------------


def test_read_only_store_reads_but_refuses_every_write(chain, store):
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin)
    block, block_hash, outcome = build_block(chain, store, [envelope])
    store.commit_block(block, block_hash, outcome, [])
    store.append_mempool([admit(admin)])
    before = snapshot(store)

    reader = BlockStore(chain.store_path, read_only=True)
    try:
        assert reader.get_tip().height == 1
        assert reader.get_block(1).hash == block_hash
        assert len(reader.list_mempool()) == 1
        with pytest.raises(sqlite3.OperationalError):
            reader.append_mempool([admit(admin)])
        with pytest.raises(sqlite3.OperationalError):
            reader.delete_mempool([1])
        next_block, next_hash, next_outcome = build_block(chain, store, [admit(admin)])
        with pytest.raises(sqlite3.OperationalError):
            reader.commit_block(next_block, next_hash, next_outcome, [])
        with pytest.raises(sqlite3.OperationalError):
            reader.connection.execute("DELETE FROM state")
        with pytest.raises(sqlite3.OperationalError):
            reader.connection.execute("INSERT INTO mempool (envelope) VALUES (x'00')")
    finally:
        reader.close()
    assert snapshot(store) == before


def test_read_only_store_of_a_missing_file_is_refused_and_not_created(tmp_path):
    path = tmp_path / "nothing.sqlite"
    with pytest.raises(StoreError):
        BlockStore(path, read_only=True)
    assert not path.exists()


def test_genesis_digest_helper_matches_store(chain, store):
    assert store.get_tip().state_digest == genesis_digest(chain)

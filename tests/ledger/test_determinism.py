"""Determinism: replaying the same blocks from genesis gives the same results and digests."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import GENESIS_TIME_MS, SUITE_NAMES, Network, codes
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import parse_envelope

FOUNDERS = (1, 2, 3)
MEMBERS = (10, 11, 12, 13)
NEW_ADMINS = (20, 21)
UNKNOWN = (50,)
SIGNERS = FOUNDERS + MEMBERS + NEW_ADMINS + UNKNOWN
PROPOSALS = ("p1", "p2", "p3")
ORGANISATIONS = ("bank-a", "charity-b", "hrss", "medical-security")
BLOCK_SPACING_MS = 60_000

NONCES = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"])
SIGNER = st.sampled_from(SIGNERS)
OPERATIONS = st.one_of(
    st.tuples(st.just("admit"), SIGNER, st.sampled_from(MEMBERS + FOUNDERS), st.sampled_from([("clerk",), ("admin",), ("admin", "clerk")]), NONCES),
    st.tuples(st.just("revoke"), SIGNER, st.sampled_from(MEMBERS + FOUNDERS + UNKNOWN), NONCES),
    st.tuples(st.just("propose_admit"), SIGNER, st.sampled_from(PROPOSALS), st.sampled_from(ORGANISATIONS), st.sampled_from(NEW_ADMINS), st.booleans(), NONCES),
    st.tuples(st.just("propose_remove"), SIGNER, st.sampled_from(PROPOSALS), st.sampled_from(ORGANISATIONS + ("civil-affairs",)), NONCES),
    st.tuples(st.just("vote"), SIGNER, st.sampled_from(PROPOSALS), NONCES),
    st.tuples(st.just("bad_args"), SIGNER, NONCES),
    st.tuples(st.just("expired"), SIGNER, NONCES),
)
BLOCKS = st.lists(st.lists(OPERATIONS, max_size=8), min_size=1, max_size=5)


def build_envelope(builder: Network, operation: tuple, block_time_ms: int):
    """One envelope from a generated operation; its validity depends only on the block time."""
    kind, signer, *rest = operation
    nonce = rest[-1]
    options = {"nonce": nonce, "valid_until": block_time_ms + 3_600_000}
    if kind == "admit":
        member, roles, _ = rest
        return builder.admit(signer, member, roles=roles, **options)
    if kind == "revoke":
        return builder.revoke(signer, rest[0], **options)
    if kind == "propose_admit":
        proposal_id, organisation_id, admin, founding, _ = rest
        return builder.propose_admit(signer, proposal_id, organisation_id, admin, founding=founding, **options)
    if kind == "propose_remove":
        proposal_id, organisation_id, _ = rest
        return builder.propose_remove(signer, proposal_id, organisation_id, **options)
    if kind == "vote":
        return builder.vote(signer, rest[0], **options)
    if kind == "bad_args":
        return builder.sign(signer, "admit_member", {"roles": "clerk"}, **options)
    return builder.sign(signer, "vote", {"proposal_id": "p1"}, nonce=nonce, valid_until=block_time_ms - 1)


def build_blocks(suite_name: str, blocks: list[list[tuple]]):
    builder = Network.create(suite_name)
    return [
        (GENESIS_TIME_MS + BLOCK_SPACING_MS * height, [build_envelope(builder, op, GENESIS_TIME_MS + BLOCK_SPACING_MS * height) for op in block])
        for height, block in enumerate(blocks, start=1)
    ]


def replay(suite_name: str, blocks, *, reparse: bool = False):
    """Execute ``blocks`` from genesis; return per-height (codes, writes, result root, digest)."""
    network = Network.create(suite_name)
    history = [(None, None, None, network.digest)]
    for time_ms, envelopes in blocks:
        if reparse:
            envelopes = [parse_envelope(envelope.encoded) for envelope in envelopes]
        outcome = network.execute(envelopes, time_ms=time_ms)
        history.append((codes(outcome), outcome.writes, outcome.result_root, outcome.state_digest))
    return history, network


@pytest.mark.parametrize(
    "suite_name,examples", [("ed25519-sha256", 100), ("sm2-sm3", 30)], ids=["ed25519-sha256", "sm2-sm3"]
)
def test_replay_is_deterministic(suite_name, examples):
    @settings(max_examples=examples, deadline=None)
    @given(BLOCKS)
    def check(generated_blocks):
        blocks = build_blocks(suite_name, generated_blocks)
        first, first_network = replay(suite_name, blocks)
        second, second_network = replay(suite_name, blocks, reparse=True)
        assert first == second
        assert first_network.state.values == second_network.state.values
        assert len(first) == len(generated_blocks) + 1
        # The digest is a function of the whole history: all heights differ.
        assert len({entry[3] for entry in first}) == len(first)

    check()


def test_mixed_sequence_produces_many_codes_and_replays_identically():
    operations = [
        [("admit", 1, 10, ("admin",), "a"), ("admit", 10, 11, ("clerk",), "a"), ("admit", 11, 12, ("clerk",), "a"),
         ("admit", 50, 12, ("clerk",), "a"), ("admit", 1, 10, ("admin",), "a")],
        [("propose_admit", 1, "p1", "bank-a", 20, False, "a"), ("vote", 1, "p1", "a"), ("vote", 10, "p2", "a"),
         ("bad_args", 1, "b"), ("expired", 2, "a")],
        [("vote", 2, "p1", "a"), ("vote", 3, "p1", "a"), ("revoke", 1, 10, "a"), ("revoke", 10, 11, "b"),
         ("propose_remove", 20, "p2", "hrss", "a"), ("revoke", 1, 10, "c"), ("revoke", 1, 2, "a")],
    ]
    blocks = build_blocks("ed25519-sha256", operations)
    first, _ = replay("ed25519-sha256", blocks)
    second, _ = replay("ed25519-sha256", blocks, reparse=True)
    assert first == second
    seen = Counter(code for entry in first[1:] for code in entry[0])
    expected = {
        ResultCode.OK, ResultCode.NOT_AUTHORISED, ResultCode.UNKNOWN_SIGNER, ResultCode.DUPLICATE,
        ResultCode.ALREADY_VOTED, ResultCode.PROPOSAL_NOT_FOUND, ResultCode.INVALID_ARGUMENTS,
        ResultCode.EXPIRED, ResultCode.PROPOSAL_CLOSED, ResultCode.REVOKED_SIGNER, ResultCode.MEMBER_ALREADY_REVOKED,
    }
    assert expected <= set(seen), expected - set(seen)


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_order_of_conflicting_transactions_changes_the_digest(suite_name):
    network = Network.create(suite_name)
    admit = network.admit(1, 10)
    revoke = network.revoke(1, 10)
    admit_then_revoke = network.preview([admit, revoke])
    revoke_then_admit = network.preview([revoke, admit])
    assert codes(admit_then_revoke) == [ResultCode.OK, ResultCode.OK]
    assert codes(revoke_then_admit) == [ResultCode.MEMBER_NOT_FOUND, ResultCode.OK]
    assert admit_then_revoke.state_digest != revoke_then_admit.state_digest
    assert admit_then_revoke.writes != revoke_then_admit.writes


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_order_of_independent_transactions_changes_results_not_state(suite_name):
    network = Network.create(suite_name)
    first, second = network.admit(1, 10), network.admit(2, 11)
    forward, backward = network.preview([first, second]), network.preview([second, first])
    assert forward.state_digest == backward.state_digest
    assert list(forward.writes) == sorted(forward.writes) == list(backward.writes)
    assert forward.result_root != backward.result_root

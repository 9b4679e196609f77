"""The executor: the checks common to every transaction, their precedence, and block outputs."""

import json

import pytest

from helpers import SUITE_NAMES, Network, codes, make_key, other_suite_name
from reliefledger.ledger import limits, merkle
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.contracts import CONTRACTS
from reliefledger.ledger.contracts.membership import FOUNDING_KEY, get_member_key, get_organisation_key
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.results import Rejection, ResultCode
from reliefledger.ledger.state import GENESIS_PREVIOUS_DIGEST, MemoryState, compute_state_digest
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import parse_envelope, parse_envelope_value, sign_transaction

OK = ResultCode.OK


@pytest.fixture(params=SUITE_NAMES)
def network(request) -> Network:
    return Network.create(request.param)


def reference_digest(suite, previous: bytes, writes: dict) -> bytes:
    """H(previous || canonical [[key, value], ...]) written independently of the ledger's code."""
    pairs = [[key, writes[key]] for key in sorted(writes)]
    text = json.dumps(pairs, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return suite.compute_hash(previous + text)


def forged(network: Network, signer: int, forger: int, action="admit_member", args=None):
    """An envelope whose body names ``signer`` but whose signature is ``forger``'s."""
    args = args if args is not None else {"public_key": network.key(10).hex, "roles": ["clerk"]}
    body = network.body(signer, action, args)
    return sign_transaction(network.suite, network.key(forger).seed, body)


# Genesis and block outputs -------------------------------------------------------------------


def test_genesis_state_and_digest(network):
    writes, digest = compute_genesis_state(network.genesis)
    assert writes[FOUNDING_KEY] == {"organisations": ["civil-affairs", "hrss", "medical-security"]}
    for position, organisation_id in enumerate(("civil-affairs", "hrss", "medical-security"), start=1):
        assert writes[get_organisation_key(organisation_id)]["founding"] is True
        assert writes[get_organisation_key(organisation_id)]["status"] == "active"
        member = writes[get_member_key(network.key(position).hex)]
        assert member["organisation"] == organisation_id and member["roles"] == ["admin"]
        assert member["status"] == "active" and member["admitted_height"] == 0
    assert len(writes) == 7
    assert digest == reference_digest(network.suite, GENESIS_PREVIOUS_DIGEST, writes)
    assert network.organisation("civil-affairs")["name"] == "民政局"


def test_genesis_digest_depends_on_suite_and_founders():
    digests = {Network.create(name).digest for name in SUITE_NAMES}
    digests.add(Network.create("ed25519-sha256", founder_count=2).digest)
    assert len(digests) == 3


def test_ok_commits_writes_and_chains_digest(network):
    previous = network.digest
    outcome = network.execute([network.admit(1, 10, roles=["clerk", "auditor", "clerk"])])
    assert codes(outcome) == [OK]
    key = get_member_key(network.key(10).hex)
    assert outcome.writes == {
        key: {
            "admitted_height": 1,
            "organisation": "civil-affairs",
            "region": "330100",
            "revoked_height": None,
            "roles": ["auditor", "clerk"],
            "status": "active",
        }
    }
    assert outcome.state_digest == reference_digest(network.suite, previous, outcome.writes)
    assert network.state.get(key)["roles"] == ["auditor", "clerk"]


def test_result_root_is_merkle_root_of_canonical_results(network):
    good = network.admit(1, 10)
    bad = network.admit(50, 11)
    outcome = network.execute([good, bad])
    leaves = [
        json.dumps({"code": 0, "id": good.id.hex()}, separators=(",", ":")).encode(),
        json.dumps({"code": 7, "id": bad.id.hex()}, separators=(",", ":")).encode(),
    ]
    assert [result.id for result in outcome.results] == [good.id, bad.id]
    assert [result.encode() for result in outcome.results] == leaves
    assert outcome.result_root == merkle.compute_root(network.suite.compute_hash, leaves)


def test_empty_block(network):
    previous = network.digest
    outcome = network.execute([])
    assert outcome.results == () and outcome.writes == {}
    assert outcome.result_root == network.suite.compute_hash(b"")
    assert outcome.state_digest == network.suite.compute_hash(previous + b"[]")
    assert outcome.state_digest != previous


def test_result_code_numbers_are_stable():
    # Hashed into every block's result root: a renumbering would fork old chains.
    assert [int(code) for code in ResultCode][:13] == list(range(13))
    assert ResultCode.ORGANISATION_EXISTS == 100 and ResultCode.FOUNDING_SET_WOULD_BE_EMPTY == 109
    assert ResultCode.BAD_SIGNATURE.label == "bad_signature"


# Each executor code --------------------------------------------------------------------------


def test_wrong_chain(network):
    assert network.run_one(network.admit(1, 10, chain="other-chain")) is ResultCode.WRONG_CHAIN
    assert network.member(10) is None


def test_wrong_suite(network):
    other = get_suite(other_suite_name(network.suite.name))
    body = network.body(make_key(other, 1), "admit_member", {"public_key": network.key(10).hex, "roles": ["clerk"]})
    envelope = sign_transaction(other, make_key(other, 1).seed, body)
    assert network.run_one(envelope) is ResultCode.WRONG_SUITE


def test_bad_signature_from_check_signature(network):
    envelope = network.admit(1, 10)
    outcome = network.preview([envelope], check_signature=lambda _: False)
    assert codes(outcome) == [ResultCode.BAD_SIGNATURE]
    assert outcome.writes == {}
    seen = []
    outcome = network.preview([envelope], check_signature=lambda item: seen.append(item.id) or True)
    assert codes(outcome) == [OK] and seen == [envelope.id]


def test_bad_signature_by_another_key(network):
    # Key 2 is an admin too, so a wrong result could not come from a membership check.
    assert network.run_one(forged(network, signer=1, forger=2)) is ResultCode.BAD_SIGNATURE
    assert network.member(10) is None


def test_bad_signature_does_not_claim_the_id(network):
    body = network.body(1, "admit_member", {"public_key": network.key(10).hex, "roles": ["clerk"]})
    fake = sign_transaction(network.suite, network.key(2).seed, body)
    real = sign_transaction(network.suite, network.key(1).seed, body)
    assert fake.id == real.id
    assert network.run(fake, real) == [ResultCode.BAD_SIGNATURE, OK]
    assert network.run_one(fake) is ResultCode.BAD_SIGNATURE
    assert network.run_one(real) is ResultCode.DUPLICATE


def test_bad_signature_in_an_earlier_block_does_not_burn_the_id(network):
    body = network.body(1, "admit_member", {"public_key": network.key(10).hex, "roles": ["clerk"]})
    assert network.run_one(sign_transaction(network.suite, network.key(3).seed, body)) is ResultCode.BAD_SIGNATURE
    assert network.run_one(sign_transaction(network.suite, network.key(1).seed, body)) is OK


@pytest.mark.parametrize(
    "suite_name",
    ["ed25519-sha256", "sm2-sm3"],
)
@pytest.mark.parametrize("signature_hex", ["3000", "00" * 64, "ff" * 70])
def test_garbage_signature_is_bad_signature_not_a_crash(suite_name, signature_hex):
    network = Network.create(suite_name)
    value = json.loads(network.admit(1, 10).encoded)
    value["signature"] = signature_hex
    envelope = parse_envelope_value(value)  # well-formed at the edge: lowercase hex
    assert network.run_one(envelope) is ResultCode.BAD_SIGNATURE


def test_duplicate_within_a_block(network):
    envelope = network.admit(1, 10)
    alone = network.preview([envelope])
    outcome = network.execute([envelope, envelope])
    assert codes(outcome) == [OK, ResultCode.DUPLICATE]
    assert outcome.writes == alone.writes and outcome.state_digest == alone.state_digest


def test_resigned_body_is_a_duplicate(network):
    body = network.body(1, "admit_member", {"public_key": network.key(10).hex, "roles": ["clerk"]})
    first = sign_transaction(network.suite, network.key(1).seed, body)
    second = sign_transaction(network.suite, network.key(1).seed, body)
    assert network.run(first, second) == [OK, ResultCode.DUPLICATE]


def test_rejected_transaction_still_claims_its_id(network):
    envelope = network.revoke(1, 60)  # MEMBER_NOT_FOUND
    assert network.run(envelope, envelope) == [ResultCode.MEMBER_NOT_FOUND, ResultCode.DUPLICATE]
    assert network.run_one(envelope) is ResultCode.DUPLICATE


def test_duplicate_via_is_committed_id(network):
    envelope = network.admit(1, 10)
    other = network.admit(1, 11)
    outcome = network.preview([envelope, other], is_committed_id=lambda transaction_id: transaction_id == envelope.id)
    assert codes(outcome) == [ResultCode.DUPLICATE, OK]


def test_duplicate_across_blocks(network):
    envelope = network.admit(1, 10)
    assert network.run_one(envelope) is OK
    assert network.run_one(parse_envelope(envelope.encoded)) is ResultCode.DUPLICATE


def test_expired_and_its_boundary(network):
    time_ms = network.next_time_ms()
    assert network.preview([network.admit(1, 10, valid_until=time_ms - 1)]).results[0].code is ResultCode.EXPIRED
    assert codes(network.preview([network.admit(1, 10, valid_until=time_ms)])) == [OK]


def test_validity_too_long_and_its_boundary(network):
    time_ms = network.next_time_ms()
    too_long = network.admit(1, 10, valid_until=time_ms + limits.VALIDITY_MS_MAX + 1)
    assert codes(network.preview([too_long])) == [ResultCode.VALIDITY_TOO_LONG]
    longest = network.admit(1, 10, valid_until=time_ms + limits.VALIDITY_MS_MAX)
    assert codes(network.preview([longest])) == [OK]


def test_unknown_signer(network):
    assert network.run_one(network.admit(50, 10)) is ResultCode.UNKNOWN_SIGNER
    assert network.member(10) is None


def test_revoked_signer(network):
    assert network.run(network.admit(1, 10, roles=["admin"]), network.admit(10, 11)) == [OK, OK]
    assert network.run(network.revoke(1, 10), network.admit(10, 12)) == [OK, ResultCode.REVOKED_SIGNER]
    assert network.run_one(network.admit(10, 13)) is ResultCode.REVOKED_SIGNER
    assert network.member(10)["revoked_height"] == 2
    assert network.member(11)["status"] == "active"  # members admitted by a revoked key stay


def test_unknown_contract(network):
    envelope = network.sign(1, "admit_member", {"public_key": network.key(10).hex, "roles": ["clerk"]}, contract="payments_v0")
    assert network.run_one(envelope) is ResultCode.UNKNOWN_CONTRACT


def test_unknown_action(network):
    envelope = network.sign(1, "dissolve", {})
    assert network.run_one(envelope) is ResultCode.UNKNOWN_ACTION


# Precedence ----------------------------------------------------------------------------------


def test_expired_beats_unknown_signer(network):
    envelope = network.admit(50, 10, valid_until=network.next_time_ms() - 1)
    assert network.run_one(envelope) is ResultCode.EXPIRED


def test_precedence_of_envelope_checks(network):
    time_ms = network.next_time_ms()
    expired_wrong_chain = network.admit(50, 10, chain="other", valid_until=time_ms - 1)
    assert codes(network.preview([expired_wrong_chain], check_signature=lambda _: False)) == [ResultCode.WRONG_CHAIN]

    envelope = network.admit(1, 10)
    committed = {"is_committed_id": lambda _: True}
    assert codes(network.preview([envelope], check_signature=lambda _: False, **committed)) == [ResultCode.BAD_SIGNATURE]
    expired = network.admit(1, 11, valid_until=time_ms - 1)
    assert codes(network.preview([expired], **committed)) == [ResultCode.DUPLICATE]

    too_long_unknown = network.admit(50, 10, valid_until=time_ms + limits.VALIDITY_MS_MAX + 1)
    assert codes(network.preview([too_long_unknown])) == [ResultCode.VALIDITY_TOO_LONG]

    unknown_contract = network.sign(50, "x", {}, contract="nothing")
    assert codes(network.preview([unknown_contract])) == [ResultCode.UNKNOWN_SIGNER]


def test_wrong_suite_beats_bad_signature(network):
    other = get_suite(other_suite_name(network.suite.name))
    body = network.body(make_key(other, 1), "admit_member", {})
    envelope = sign_transaction(other, make_key(other, 2).seed, body)
    assert codes(network.preview([envelope], check_signature=lambda _: False)) == [ResultCode.WRONG_SUITE]


def test_revoked_signer_beats_unknown_contract_and_action(network):
    assert network.run(network.admit(1, 10), network.revoke(1, 10)) == [OK, OK]
    assert network.run_one(network.sign(10, "x", {}, contract="nothing")) is ResultCode.REVOKED_SIGNER
    assert network.run_one(network.sign(10, "x", {})) is ResultCode.REVOKED_SIGNER


def test_unknown_contract_beats_unknown_action(network):
    assert network.run_one(network.sign(1, "dissolve", {}, contract="nothing")) is ResultCode.UNKNOWN_CONTRACT


# A rejected transaction leaves nothing ---------------------------------------------------------


def write_then_reject(context, args):
    context.state.put("probe/written", {"by": context.envelope.body.nonce})
    context.state.put(get_member_key(context.envelope.body.signer), None)
    raise Rejection(ResultCode.INVALID_ARGUMENTS, "after writing")


def require_no_probe_write(context, args):
    if context.state.get("probe/written") is not None:
        raise Rejection(ResultCode.NOT_AUTHORISED, "saw a rejected write")
    if context.state.get(get_member_key(context.envelope.body.signer)) is None:
        raise Rejection(ResultCode.NOT_AUTHORISED, "saw a rejected deletion")
    context.state.put("probe/checked", {"ok": True})


def test_rejected_action_writes_are_discarded(network, monkeypatch):
    monkeypatch.setitem(CONTRACTS, "probe", {"write": write_then_reject, "check": require_no_probe_write})
    admit = network.admit(1, 10)
    reject = network.sign(1, "write", {}, contract="probe")
    check = network.sign(1, "check", {}, contract="probe")
    without = network.preview([admit, check])
    outcome = network.preview([admit, reject, check])
    assert codes(outcome) == [OK, ResultCode.INVALID_ARGUMENTS, OK]
    assert outcome.writes == without.writes
    assert "probe/written" not in outcome.writes and "probe/checked" in outcome.writes
    assert outcome.state_digest == without.state_digest
    assert outcome.result_root != without.result_root


def test_rejected_membership_transaction_leaves_state_digest_unchanged(network):
    admit = network.admit(1, 10, roles=["clerk"])
    by_clerk = network.admit(10, 11)  # NOT_AUTHORISED
    unknown = network.admit(50, 12)  # UNKNOWN_SIGNER
    again = network.admit(2, 10)  # MEMBER_EXISTS (admitted earlier in the same block)
    baseline = network.preview([admit])
    outcome = network.preview([admit, by_clerk, unknown, again])
    assert codes(outcome) == [OK, ResultCode.NOT_AUTHORISED, ResultCode.UNKNOWN_SIGNER, ResultCode.MEMBER_EXISTS]
    assert outcome.writes == baseline.writes
    assert outcome.state_digest == baseline.state_digest


def test_execution_reads_state_without_mutating_it(network):
    before = json.dumps(network.state.values, sort_keys=True)
    network.preview([network.admit(1, 10), network.revoke(1, 10), network.propose_admit(1, "p1", "bank-a", 20)])
    assert json.dumps(network.state.values, sort_keys=True) == before


def test_later_transactions_see_earlier_writes_of_the_block(network):
    assert network.run(network.admit(1, 10, roles=["admin"]), network.admit(10, 11), network.revoke(10, 11)) == [OK, OK, OK]
    assert network.member(11)["status"] == "revoked"


def test_state_digest_chains_over_blocks(network):
    digests = [network.digest]
    for member in (10, 11, 12):
        digests.append(network.execute([network.admit(1, member)]).state_digest)
    assert len(set(digests)) == 4
    # Same write sets on a different previous digest give different digests.
    replay = Network.create(network.suite.name)
    replay.execute([])
    assert replay.execute([network.admit(1, 10)]).state_digest != digests[1]


def test_memory_state_apply_writes_deletes_on_none():
    state = MemoryState({"a": 1, "b": 2})
    state.apply_writes({"a": None, "c": 3})
    assert state.values == {"b": 2, "c": 3}
    assert encode_canonical(state.values) == b'{"b":2,"c":3}'


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_state_digest_sorts_keys_whatever_the_write_order(suite_name):
    suite = get_suite(suite_name)
    previous = bytes(range(32))
    forward = {"a/1": {"x": 1}, "b/2": None, "c/3": [1, "二"]}
    backward = dict(reversed(list(forward.items())))
    digest = compute_state_digest(suite, previous, backward)
    assert digest == compute_state_digest(suite, previous, forward)
    assert digest == reference_digest(suite, previous, forward)
    assert digest != compute_state_digest(suite, bytes(32), forward)

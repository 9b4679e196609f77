"""The node's HTTP API, served in-process: status, submission, long-poll, proofs, blocks, bad input.

A real node (store, solo orderer, commit loop) runs under ``asyncio.run``; the client talks to the
FastAPI app through ``httpx.ASGITransport``. Unhandled errors come back as HTTP 500, which every
bad-input test forbids.
"""

import asyncio
import json
import time

import httpx
import orjson
import pytest

from node_support import (
    CHAIN_ID,
    HOUR_MS,
    admit,
    genesis_digest,
    make_chain,
    run_with_client,
    run_with_node,
    sign_action,
    wait_until_final,
)
from reliefledger.ledger import limits, merkle
from reliefledger.ledger.blocks import Block, BlockHeader, compute_block_hash, is_orderer_signature_valid
from reliefledger.ledger.execute import TransactionResult
from reliefledger.ledger.merkle import InclusionProof
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.suites import get_suite
from reliefledger.node.keys import generate_key
from reliefledger.node.runtime import read_clock_ms
from reliefledger.node.settings import NodeSettings


def parse_proof(value: dict) -> InclusionProof:
    assert set(value) == {"leaf_index", "tree_size", "audit_path"}
    return InclusionProof(value["leaf_index"], value["tree_size"], tuple(bytes.fromhex(node) for node in value["audit_path"]))


def assert_error(response: httpx.Response, status: int | None = None, code: str | None = None) -> dict:
    """A 4xx answered as exactly {"code", "message"}."""
    assert response.status_code < 500, f"HTTP {response.status_code}: {response.text}"
    assert 400 <= response.status_code < 500, f"HTTP {response.status_code}: {response.text}"
    if status is not None:
        assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"code", "message"}, answer
    assert isinstance(answer["code"], str) and answer["code"]
    assert isinstance(answer["message"], str) and answer["message"]
    if code is not None:
        assert answer["code"] == code, answer
    return answer


async def post(client: httpx.AsyncClient, data: bytes, **options) -> httpx.Response:
    return await client.post("/v1/transactions", content=data, headers={"content-type": "application/json"}, **options)


async def get_final(client: httpx.AsyncClient, identifier: str, wait: float = 10) -> dict:
    response = await client.get(f"/v1/transactions/{identifier}", params={"wait": wait})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] in ("committed", "rejected"), answer
    return answer


def check_proofs(suite_name: str, answer: dict) -> None:
    """Both inclusion proofs of a final status verify, and fail for another leaf."""
    hash_function = get_suite(suite_name).compute_hash
    identifier = bytes.fromhex(answer["id"])
    proof = parse_proof(answer["proof"])
    result_proof = parse_proof(answer["result_proof"])
    assert proof.leaf_index == result_proof.leaf_index == answer["index"]
    transaction_root = bytes.fromhex(answer["transaction_root"])
    result_root = bytes.fromhex(answer["result_root"])
    assert merkle.is_valid_inclusion_proof(hash_function, identifier, proof, transaction_root)
    leaf = TransactionResult(identifier, ResultCode(answer["code"])).encode()
    assert merkle.is_valid_inclusion_proof(hash_function, leaf, result_proof, result_root)
    # Not vacuous: another leaf or another code does not verify.
    assert not merkle.is_valid_inclusion_proof(hash_function, bytes(32), proof, transaction_root)
    other_code = ResultCode.MEMBER_EXISTS if answer["code"] == 0 else ResultCode.OK
    assert not merkle.is_valid_inclusion_proof(hash_function, TransactionResult(identifier, other_code).encode(), result_proof, result_root)


# --- status, docs ---------------------------------------------------------------------------------


def test_status_names_chain_height_last_block_and_state_digest(chain):
    async def scenario(node, client):
        response = await client.get("/v1/status")
        assert response.status_code == 200
        return response.json()

    status = run_with_client(chain, scenario)
    genesis = chain.read_genesis()
    assert status["chain_id"] == CHAIN_ID
    assert status["suite"] == "ed25519-sha256"
    assert status["height"] == 0
    assert status["last_block_hash"] == genesis.compute_hash().hex()
    assert status["state_digest"] == genesis_digest(chain).hex()
    assert status["pending"] == 0
    assert status["halted"] is None


def test_docs_and_openapi_are_served(chain):
    async def scenario(node, client):
        docs = await client.get("/docs")
        schema = await client.get("/openapi.json")
        genesis = await client.get("/v1/genesis")
        return docs, schema, genesis

    docs, schema, genesis = run_with_client(chain, scenario)
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/v1/status", "/v1/transactions", "/v1/transactions/{transaction_id}", "/v1/blocks/{height}"):
        assert path in paths, sorted(paths)
    assert "post" in paths["/v1/transactions"]
    assert genesis.status_code == 200
    assert genesis.json()["hash"] == chain.read_genesis().compute_hash().hex()


# --- submission, long-poll and proofs ---------------------------------------------------------------


@pytest.mark.parametrize("suite", ["ed25519-sha256", "sm2-sm3"])
def test_submit_202_then_200_then_committed_with_verifying_proofs(tmp_path, suite):
    chain = make_chain(tmp_path / "chain", suite=suite)
    admin = chain.read_organisation_key("civil-affairs")
    tax = chain.read_organisation_key("tax")
    envelopes = [admit(admin) for _ in range(4)] + [admit(tax) for _ in range(3)]

    async def scenario(node, client):
        first = await post(client, envelopes[0].encoded)
        again = await post(client, envelopes[0].encoded)
        others = await asyncio.gather(*(post(client, envelope.encoded) for envelope in envelopes[1:]))
        finals = [await get_final(client, envelope.id.hex()) for envelope in envelopes]
        after = await post(client, envelopes[0].encoded)
        blocks = {}
        for final in finals:
            if final["height"] not in blocks:
                blocks[final["height"]] = (await client.get(f"/v1/blocks/{final['height']}")).json()
        status = (await client.get("/v1/status")).json()
        return first, again, others, finals, after, blocks, status

    first, again, others, finals, after, blocks, status = run_with_client(chain, scenario)
    assert first.status_code == 202
    assert first.json() == {"id": envelopes[0].id.hex(), "status": "pending"}
    assert again.status_code == 200, again.text
    assert again.json()["id"] == envelopes[0].id.hex()
    assert again.json()["status"] in ("pending", "committed")
    assert [response.status_code for response in others] == [202] * len(others)
    for envelope, final in zip(envelopes, finals):
        assert final["id"] == envelope.id.hex()
        assert final["status"] == "committed"
        assert (final["code"], final["result"]) == (0, "ok")
        assert final["height"] >= 1 and final["index"] >= 0
        check_proofs(suite, final)
        block = blocks[final["height"]]
        assert final["transaction_root"] == block["header"]["transaction_root"]
        assert final["block_hash"] == block["hash"]
        assert final["result_root"] == block["result_root"]
        assert block["transaction_ids"][final["index"]] == final["id"]
        assert final["proof"]["tree_size"] == len(block["transaction_ids"]) == block["header"]["transaction_count"]
    # Resubmitting a committed transaction: 200 with its final status, same place, no new block.
    assert after.status_code == 200
    assert {key: after.json()[key] for key in ("id", "status", "height", "index", "code")} == {
        key: finals[0][key] for key in ("id", "status", "height", "index", "code")
    }
    assert status["height"] == max(blocks)
    assert status["pending"] == 0 and status["halted"] is None


def test_several_transactions_in_one_block_get_distinct_proofs(tmp_path):
    """A slow cutter puts all of them in one block, so proofs have real audit paths."""
    chain = make_chain(tmp_path / "chain", settings=NodeSettings(block_wait_ms_max=300))
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin) for _ in range(7)]

    async def scenario(node, client):
        responses = await asyncio.gather(*(post(client, envelope.encoded) for envelope in envelopes))
        assert [response.status_code for response in responses] == [202] * 7
        return [await get_final(client, envelope.id.hex()) for envelope in envelopes]

    finals = run_with_client(chain, scenario)
    assert {final["height"] for final in finals} == {1}
    assert sorted(final["index"] for final in finals) == list(range(7))
    for final in finals:
        assert final["proof"]["tree_size"] == 7
        assert len(final["proof"]["audit_path"]) >= 2
        check_proofs("ed25519-sha256", final)


def test_long_poll_returns_pending_when_time_runs_out_then_final(tmp_path):
    chain = make_chain(tmp_path / "chain", settings=NodeSettings(block_wait_ms_max=1500))
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin)

    async def scenario(node, client):
        assert (await post(client, envelope.encoded)).status_code == 202
        started = time.monotonic()
        short = await client.get(f"/v1/transactions/{envelope.id.hex()}", params={"wait": 0.2})
        short_elapsed = time.monotonic() - started
        now = await client.get(f"/v1/transactions/{envelope.id.hex()}")
        started = time.monotonic()
        final = await client.get(f"/v1/transactions/{envelope.id.hex()}", params={"wait": 10})
        return short, short_elapsed, now, final, time.monotonic() - started

    short, short_elapsed, now, final, final_elapsed = run_with_client(chain, scenario)
    assert short.status_code == 200 and short.json() == {**short.json(), "id": envelope.id.hex(), "status": "pending"}
    assert 0.15 <= short_elapsed < 1.4
    assert now.json()["status"] == "pending"
    assert final.json()["status"] == "committed"
    assert final_elapsed < 5


def test_unknown_id_is_404_and_malformed_id_is_400(chain):
    async def scenario(node, client):
        unknown = await client.get(f"/v1/transactions/{'ab' * 32}")
        unknown_waiting = await client.get(f"/v1/transactions/{'cd' * 32}", params={"wait": 5})
        malformed = [
            await client.get(f"/v1/transactions/{identifier}")
            for identifier in ("xyz", "AB" * 32, "a" * 63, "a" * 65, "g" * 64)
        ]
        bad_wait = [
            await client.get(f"/v1/transactions/{'ab' * 32}", params={"wait": wait}) for wait in ("soon", "-1")
        ]
        return unknown, unknown_waiting, malformed, bad_wait

    started = time.monotonic()
    unknown, unknown_waiting, malformed, bad_wait = run_with_client(chain, scenario)
    assert_error(unknown, 404, "not_found")
    assert_error(unknown_waiting, 404, "not_found")
    assert time.monotonic() - started < 4, "an unknown id must not be long-polled"
    for response in malformed:
        assert_error(response, 400, "invalid_id")
    for response in bad_wait:
        assert_error(response, 400)


def test_blocks_serve_signed_header_and_transaction_ids(chain):
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin), admit(admin)]

    async def scenario(node, client):
        for envelope in envelopes:
            assert (await post(client, envelope.encoded)).status_code == 202
        finals = [await get_final(client, envelope.id.hex()) for envelope in envelopes]
        heights = sorted({final["height"] for final in finals})
        blocks = [(await client.get(f"/v1/blocks/{height}")).json() for height in range(1, heights[-1] + 1)]
        missing = [await client.get(f"/v1/blocks/{height}") for height in (0, 999, -1)]
        not_a_number = await client.get("/v1/blocks/one")
        return finals, blocks, missing, not_a_number

    finals, blocks, missing, not_a_number = run_with_client(chain, scenario)
    genesis = chain.read_genesis()
    suite = genesis.suite
    previous_hash = genesis.compute_hash()
    seen_ids = []
    for height, block in enumerate(blocks, start=1):
        header = BlockHeader.from_json(block["header"])
        assert header.height == block["height"] == height
        assert header.chain == CHAIN_ID
        assert header.previous_hash == previous_hash
        assert header.orderer in genesis.orderers
        signed = Block(header, bytes.fromhex(block["orderer_signature"]), ())
        assert is_orderer_signature_valid(suite, signed)
        forged = Block(header, bytes.fromhex(block["orderer_signature"][:-2] + ("00" if block["orderer_signature"][-2:] != "00" else "01")), ())
        assert not is_orderer_signature_valid(suite, forged)
        assert compute_block_hash(suite, header).hex() == block["hash"]
        assert header.transaction_count == len(block["transaction_ids"])
        root = merkle.compute_root(suite.compute_hash, [bytes.fromhex(item) for item in block["transaction_ids"]])
        assert root == header.transaction_root
        seen_ids += block["transaction_ids"]
        previous_hash = compute_block_hash(suite, header)
    assert seen_ids == [envelope.id.hex() for envelope in envelopes]
    for response in missing:
        assert_error(response, 404, "not_found")
    assert_error(not_a_number, 400)


def test_block_height_beyond_sqlite_integers_is_404_not_500(chain):
    async def scenario(node, client):
        return [await client.get(f"/v1/blocks/{height}") for height in (2**63, 10**30)]

    for response in run_with_client(chain, scenario):
        assert_error(response, 404, "not_found")


# --- results recorded in blocks ------------------------------------------------------------------


def submit_follow_and_resubmit(chain, envelope):
    """Post an envelope, long-poll its final status, post it again, read the node's status."""

    async def scenario(node, client):
        accepted = await post(client, envelope.encoded)
        final = await get_final(client, envelope.id.hex())
        again = await post(client, envelope.encoded)
        status = (await client.get("/v1/status")).json()
        return accepted, final, again, status

    return run_with_client(chain, scenario)


@pytest.mark.parametrize(
    "build, code, label",
    [
        (lambda admin, tax: sign_action(admin, "disburse", {"amount": 100}, contract="payments"), 9, "unknown_contract"),
        (lambda admin, tax: sign_action(admin, "promote_member", {}), 10, "unknown_action"),
        (lambda admin, tax: admit(admin, tax), 102, "member_exists"),
        (lambda admin, tax: sign_action(admin, "admit_member", {"public_key": "00", "roles": ["x"]}), 11, "invalid_arguments"),
        (lambda admin, tax: sign_action(admin, "revoke_member", {"public_key": tax.public_key}), 12, "not_authorised"),
    ],
    ids=["unknown-contract", "unknown-action", "member-exists", "invalid-arguments", "not-authorised"],
)
def test_accepted_then_rejected_with_its_result_code(chain, build, code, label):
    admin = chain.read_organisation_key("civil-affairs")
    tax = chain.read_organisation_key("tax")
    envelope = build(admin, tax)

    accepted, final, again, status = submit_follow_and_resubmit(chain, envelope)
    assert accepted.status_code == 202, accepted.text
    assert final["status"] == "rejected"
    assert (final["code"], final["result"]) == (code, label)
    check_proofs("ed25519-sha256", final)
    assert again.status_code == 200 and again.json()["status"] == "rejected" and again.json()["code"] == code
    assert status["halted"] is None and status["pending"] == 0


# --- bad input at the edge ------------------------------------------------------------------------


def envelope_value(envelope) -> dict:
    return json.loads(envelope.encoded)


def encode(value) -> bytes:
    return json.dumps(value).encode()


def with_body(envelope, **changes) -> bytes:
    value = envelope_value(envelope)
    value["body"].update(changes)
    return encode(value)


def without(envelope, *path) -> bytes:
    value = envelope_value(envelope)
    target = value
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return encode(value)


def flip_signature(envelope) -> bytes:
    value = envelope_value(envelope)
    signature = value["signature"]
    middle = len(signature) // 2
    value["signature"] = signature[:middle] + ("0" if signature[middle] != "0" else "1") + signature[middle + 1:]
    return encode(value)


def sign_by_stranger(admin, tax):
    return admit(generate_key(admin.suite, "stranger")).encoded


BAD_INPUTS = {
    "malformed-json": (lambda admin, tax: b'{"body": {"action": ', 400, "invalid_encoding"),
    "empty-body": (lambda admin, tax: b"", 400, None),
    "not-utf8": (lambda admin, tax: b'{"body": "\xff\xfe"}', 400, None),
    "json-array": (lambda admin, tax: encode([envelope_value(admit(admin))]), 400, "invalid_envelope"),
    "json-string": (lambda admin, tax: b'"hello"', 400, "invalid_envelope"),
    "json-null": (lambda admin, tax: b"null", 400, "invalid_envelope"),
    "deeply-nested-json": (lambda admin, tax: b"[" * 5000 + b"]" * 5000, 400, None),
    "missing-body": (lambda admin, tax: without(admit(admin), "body"), 400, "invalid_envelope"),
    "missing-nonce": (lambda admin, tax: without(admit(admin), "body", "nonce"), 400, "invalid_envelope"),
    "missing-valid-until": (lambda admin, tax: without(admit(admin), "body", "valid_until"), 400, "invalid_envelope"),
    "extra-field": (lambda admin, tax: encode({**envelope_value(admit(admin)), "extra": 1}), 400, "invalid_envelope"),
    "valid-until-string": (lambda admin, tax: with_body(admit(admin), valid_until="tomorrow"), 400, "invalid_envelope"),
    "valid-until-float": (lambda admin, tax: with_body(admit(admin), valid_until=float(read_clock_ms() + HOUR_MS)), 400, "invalid_envelope"),
    "valid-until-negative": (lambda admin, tax: with_body(admit(admin), valid_until=-1), 400, "invalid_envelope"),
    "valid-until-huge": (lambda admin, tax: with_body(admit(admin), valid_until=2**64), 400, None),
    "args-list": (lambda admin, tax: with_body(admit(admin), args=[1, 2]), 400, "invalid_envelope"),
    "body-list": (lambda admin, tax: encode({**envelope_value(admit(admin)), "body": []}), 400, "invalid_envelope"),
    "signer-not-hex": (lambda admin, tax: with_body(admit(admin), signer="not-a-key"), 400, "invalid_envelope"),
    "signer-number": (lambda admin, tax: with_body(admit(admin), signer=12), 400, "invalid_envelope"),
    "contract-uppercase": (lambda admin, tax: with_body(admit(admin), contract="Membership"), 400, "invalid_envelope"),
    "nonce-empty": (lambda admin, tax: with_body(admit(admin), nonce=""), 400, "invalid_envelope"),
    "nonce-too-long": (lambda admin, tax: with_body(admit(admin), nonce="n" * (limits.NONCE_BYTES_MAX + 1)), 400, "invalid_envelope"),
    "float-in-args": (lambda admin, tax: sign_action_raw(admin, {"public_key": "00" * 32, "roles": ["x"], "amount": 1.5}), 400, "invalid_envelope"),
    "args-too-deep": (lambda admin, tax: with_body(admit(admin), args={"a": nested(limits.ARGS_DEPTH_MAX + 2)}), 400, "invalid_envelope"),
    "string-too-long": (lambda admin, tax: with_body(admit(admin), args={"a": "x" * (limits.STRING_BYTES_MAX + 1)}), 400, "invalid_envelope"),
    "integer-too-large": (lambda admin, tax: with_body(admit(admin), args={"a": 2**63}), 400, None),
    "unknown-suite": (lambda admin, tax: encode({**envelope_value(admit(admin)), "suite": "rsa-md5"}), 400, "unknown_suite"),
    "suite-number": (lambda admin, tax: encode({**envelope_value(admit(admin)), "suite": 7}), 400, None),
    "wrong-suite": (lambda admin, tax: admit(sm2_key()).encoded, 400, "wrong_suite"),
    "wrong-chain": (lambda admin, tax: admit(admin, chain="another-chain").encoded, 400, "wrong_chain"),
    "bad-signature": (lambda admin, tax: flip_signature(admit(admin)), 400, "bad_signature"),
    "signature-of-another-key": (lambda admin, tax: encode({**envelope_value(admit(admin)), "signature": envelope_value(admit(tax))["signature"]}), 400, "bad_signature"),
    "signature-too-short": (lambda admin, tax: encode({**envelope_value(admit(admin)), "signature": "abcd"}), 400, "bad_signature"),
    "missing-signature": (lambda admin, tax: without(admit(admin), "signature"), 400, "invalid_envelope"),
    "empty-signature": (lambda admin, tax: encode({**envelope_value(admit(admin)), "signature": ""}), 400, "invalid_envelope"),
    "uppercase-signature": (lambda admin, tax: encode({**envelope_value(admit(admin)), "signature": envelope_value(admit(admin))["signature"].upper()}), 400, "invalid_envelope"),
    "unknown-signer": (sign_by_stranger, 400, "unknown_signer"),
    "expired": (lambda admin, tax: admit(admin, valid_until=read_clock_ms() - 60_000).encoded, 400, "expired"),
    "validity-too-long": (lambda admin, tax: admit(admin, valid_until=read_clock_ms() + limits.VALIDITY_MS_MAX + HOUR_MS).encoded, 400, "validity_too_long"),
    "envelope-over-protocol-limit": (lambda admin, tax: oversized_envelope(admin, 100 * 1024), 413, "too_large"),
}


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def sm2_key():
    return generate_key(get_suite("sm2-sm3"), "sm2")


def sign_action_raw(admin, args: dict) -> bytes:
    """An envelope whose args hold a float (no signer would sign it: build the JSON by hand)."""
    value = envelope_value(admit(admin))
    value["body"]["args"] = args
    return json.dumps(value).encode()


def oversized_envelope(admin, size: int) -> bytes:
    """Valid JSON between the protocol's envelope limit and the HTTP request limit."""
    value = envelope_value(admit(admin))
    value["body"]["args"]["padding"] = ["p" * 4000] * (size // 4000)
    return encode(value)


def assert_nothing_accepted(status: dict) -> None:
    assert status["height"] == 0 and status["pending"] == 0 and status["halted"] is None, status


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_a_4xx_with_code_and_message(chain, name):
    build, status_code, code = BAD_INPUTS[name]
    admin = chain.read_organisation_key("civil-affairs")
    tax = chain.read_organisation_key("tax")
    data = build(admin, tax)

    async def scenario(node, client):
        response = await post(client, data)
        status = (await client.get("/v1/status")).json()
        return response, status

    response, status = run_with_client(chain, scenario)
    assert_error(response, status_code, code)
    assert_nothing_accepted(status)


def test_oversize_body_with_content_length_is_413(chain):
    admin = chain.read_organisation_key("civil-affairs")
    data = oversized_envelope(admin, 8 * 1024)
    assert len(data) > 4096

    async def scenario(node, client):
        response = await post(client, data)
        status = (await client.get("/v1/status")).json()
        return response, status

    response, status = run_with_client(chain, scenario, request_bytes_max=4096)
    assert "content-length" in response.request.headers
    assert_error(response, 413, "too_large")
    assert_nothing_accepted(status)


def test_oversize_streamed_body_without_content_length_is_413(chain):
    chunks_sent = []

    async def stream():
        for _ in range(64):
            chunks_sent.append(1)
            yield b" " * 16 * 1024

    async def scenario(node, client):
        response = await client.post("/v1/transactions", content=stream())
        status = (await client.get("/v1/status")).json()
        return response, status

    response, status = run_with_client(chain, scenario, request_bytes_max=64 * 1024)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")
    assert_nothing_accepted(status)


def test_revoked_signer_is_refused_at_the_edge(chain):
    admin = chain.read_organisation_key("civil-affairs")
    deputy = generate_key(admin.suite, "deputy")

    async def scenario(node, client):
        admitted = await post(client, admit(admin, deputy, roles=["admin"]).encoded)
        assert (await get_final(client, admitted.json()["id"]))["status"] == "committed"
        before = await post(client, admit(deputy).encoded)
        assert before.status_code == 202, before.text
        assert (await get_final(client, before.json()["id"]))["status"] == "committed"
        revoked = await post(client, sign_action(admin, "revoke_member", {"public_key": deputy.public_key}).encoded)
        assert (await get_final(client, revoked.json()["id"]))["status"] == "committed"
        after = await post(client, admit(deputy).encoded)
        status = (await client.get("/v1/status")).json()
        return after, status

    after, status = run_with_client(chain, scenario)
    assert_error(after, 400, "revoked_signer")
    assert status["halted"] is None and status["pending"] == 0


def test_busy_node_answers_503_with_code(tmp_path):
    """Beyond pending_transactions_max the node says busy (documented 503), and keeps working."""
    chain = make_chain(tmp_path / "chain", settings=NodeSettings(block_wait_ms_max=400, pending_transactions_max=2))
    admin = chain.read_organisation_key("civil-affairs")
    envelopes = [admit(admin) for _ in range(3)]

    async def scenario(node, client):
        responses = [await post(client, envelope.encoded) for envelope in envelopes]
        finals = [await get_final(client, envelope.id.hex()) for envelope in envelopes[:2]]
        retried = await post(client, envelopes[2].encoded)
        return responses, finals, retried

    responses, finals, retried = run_with_client(chain, scenario)
    assert [response.status_code for response in responses[:2]] == [202, 202]
    assert responses[2].status_code == 503
    assert responses[2].json()["code"] == "busy" and set(responses[2].json()) == {"code", "message"}
    assert [final["status"] for final in finals] == ["committed", "committed"]
    assert retried.status_code == 202


def test_everything_bad_in_one_session_leaves_the_node_running(chain):
    """All the bad inputs against one node, then good work still commits and nothing halted."""
    admin = chain.read_organisation_key("civil-affairs")
    tax = chain.read_organisation_key("tax")
    payloads = [build(admin, tax) for build, _, _ in BAD_INPUTS.values()]
    good = admit(admin)

    async def scenario(node, client):
        responses = [await post(client, data) for data in payloads]
        accepted = await post(client, good.encoded)
        final = await get_final(client, good.id.hex())
        status = (await client.get("/v1/status")).json()
        return responses, accepted, final, status

    responses, accepted, final, status = run_with_client(chain, scenario)
    for response in responses:
        assert_error(response)
    assert accepted.status_code == 202
    assert final["status"] == "committed"
    assert status["halted"] is None and status["pending"] == 0 and status["height"] >= 1


# --- the submission path in batches ---------------------------------------------------------------


def test_a_batch_holding_the_same_envelope_twice_orders_it_once_and_settles_the_mempool(chain):
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin)

    async def scenario(node):
        answers = await node.submit_envelopes([envelope, envelope])
        await wait_until_final(node, [envelope.id])
        await asyncio.sleep(0.05)
        block = node.store.get_block(node.store.get_transaction_location(envelope.id).height)
        return answers, block.results, node.store.list_mempool()

    answers, results, mempool = run_with_node(chain, scenario)
    assert all(not isinstance(answer, Exception) for answer in answers)
    assert [entry[0] for entry in results].count(envelope.id.hex()) == 1
    assert mempool == []


def test_batch_submission_reports_each_envelope(chain):
    admin = chain.read_organisation_key("civil-affairs")
    good = admit(admin)
    expired = admit(admin, valid_until=read_clock_ms() - 1000)
    forged = orjson.loads(flip_signature(admit(admin)))
    from reliefledger.ledger.transactions import parse_envelope_value

    forged_envelope = parse_envelope_value(forged)

    async def scenario(node):
        answers = await node.submit_envelopes([good, expired, forged_envelope])
        await wait_until_final(node, [good.id])
        again = await node.submit_envelopes([good])
        return answers, again

    answers, again = run_with_node(chain, scenario)
    assert answers[0].accepted and answers[0].id == good.id
    assert answers[1].code == "expired"
    assert answers[2].code == "bad_signature"
    assert not again[0].accepted and again[0].status["status"] == "committed"


def test_sm2_resigned_body_is_the_same_transaction(tmp_path):
    """SM2 signatures are randomised; the id (hash of the body) is the idempotency key."""
    from reliefledger.ledger.transactions import TransactionBody, sign_transaction

    chain = make_chain(tmp_path / "chain", suite="sm2-sm3")
    admin = chain.read_organisation_key("civil-affairs")
    member = generate_key(admin.suite, "member")
    body = TransactionBody(CHAIN_ID, "membership", "admit_member", {"public_key": member.public_key, "roles": ["x"]},
                           admin.public_key, "same", read_clock_ms() + HOUR_MS)
    first = sign_transaction(admin.suite, admin.seed, body)
    second = sign_transaction(admin.suite, admin.seed, body)
    assert first.signature != second.signature and first.id == second.id

    async def scenario(node, client):
        accepted = await post(client, first.encoded)
        repeated = await post(client, second.encoded)
        final = await get_final(client, first.id.hex())
        block = (await client.get(f"/v1/blocks/{final['height']}")).json()
        return accepted, repeated, final, block

    accepted, repeated, final, block = run_with_client(chain, scenario)
    assert accepted.status_code == 202 and repeated.status_code == 200
    assert final["status"] == "committed"
    assert block["transaction_ids"].count(first.id.hex()) == 1


def test_envelope_that_expires_before_its_block_is_rejected_expired(tmp_path):
    """Valid at the edge, expired at block time: accepted (202), then a recorded 'expired' result."""
    chain = make_chain(tmp_path / "chain", settings=NodeSettings(block_wait_ms_max=1000))
    admin = chain.read_organisation_key("civil-affairs")
    envelope = admit(admin, valid_until=read_clock_ms() + 300)

    accepted, final, again, status = submit_follow_and_resubmit(chain, envelope)
    assert accepted.status_code == 202, accepted.text
    assert final["status"] == "rejected" and (final["code"], final["result"]) == (5, "expired")
    check_proofs("ed25519-sha256", final)
    assert again.status_code == 200 and again.json()["result"] == "expired"
    assert status["halted"] is None


def test_the_batch_endpoint_answers_each_envelope_in_order_and_refuses_bad_batches(chain):
    admin = chain.read_organisation_key("civil-affairs")
    good, other = admit(admin), admit(admin)
    expired = admit(admin, valid_until=read_clock_ms() - 1000)
    forged = flip_signature(admit(admin))

    async def scenario(node, client):
        body = b"[" + b",".join([good.encoded, expired.encoded, forged, b'{"not": "an envelope"}', other.encoded]) + b"]"
        first = await client.post("/v1/transactions/batch", content=body)
        again = await client.post("/v1/transactions/batch", content=b"[" + good.encoded + b"]")
        bad = {name: await client.post("/v1/transactions/batch", content=content) for name, content in
               (("not_json", b"[{"), ("object", good.encoded), ("empty", b"[]"), ("too_many", b"[" + b",".join([good.encoded] * 4097) + b"]"))}
        await wait_until_final(node, [good.id, other.id])
        return first, again, bad

    first, again, bad = run_with_client(chain, scenario)
    answers = first.json()
    assert first.status_code == 200 and len(answers) == 5
    assert answers[0]["accepted"] is True and answers[0]["id"] == good.id.hex() and answers[4]["accepted"] is True
    assert answers[1]["code"] == "expired" and answers[2]["code"] == "bad_signature" and answers[3]["code"] == "invalid_envelope"
    assert again.json()[0]["accepted"] is False
    assert {name: (response.status_code, response.json()["code"]) for name, response in bad.items()} == {
        "not_json": (400, "invalid_envelope"), "object": (400, "invalid_envelope"), "empty": (400, "invalid_envelope"), "too_many": (400, "invalid_envelope")}

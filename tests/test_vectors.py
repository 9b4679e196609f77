"""Shared vectors (tests/vectors/membership_cases.json) through the pure core and the HTTP API.

The same cases must give the same result codes whether the executor runs them directly or a real
node orders, executes and commits them behind its HTTP API. A step with ``edge`` is refused by the
node's edge (HTTP 400 with that code) before ordering; the core records ``expected`` for it.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.execute import execute_block
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import Suite, get_suite
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.api import create_app
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.keys import KeyFile, write_key
from reliefledger.node.runtime import open_node

VECTORS = json.loads((Path(__file__).parent / "vectors" / "membership_cases.json").read_text())
ORDERER_SEED_INDEX = 99
STEP_INTERVAL_MS = 1000


def seed(index: int) -> bytes:
    return bytes([index]) * 32


def public_key(suite: Suite, index: int) -> str:
    return suite.compute_public_key(seed(index)).hex()


def substitute(value: Any, suite: Suite) -> Any:
    """Replace ``$key:N`` placeholders with public keys."""
    if isinstance(value, str) and value.startswith("$key:"):
        return public_key(suite, int(value[5:]))
    if isinstance(value, dict):
        return {key: substitute(item, suite) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, suite) for item in value]
    return value


def build_genesis_document(suite: Suite) -> dict[str, Any]:
    return {
        "chain_id": VECTORS["chain_id"],
        "orderers": [public_key(suite, ORDERER_SEED_INDEX)],
        "organisations": [
            {"admin_key": public_key(suite, index), "id": organisation, "kind": "government_department", "name": organisation, "region": "110000"}
            for index, organisation in enumerate(VECTORS["founders"], start=1)
        ],
        "suite": suite.name,
        "time_ms": VECTORS["genesis_time_ms"],
    }


def sign_step(suite: Suite, step: dict[str, Any], position: int) -> Envelope:
    body = TransactionBody(
        VECTORS["chain_id"], step.get("contract", "membership"), step["action"], substitute(step["args"], suite),
        public_key(suite, step["signer"]), f"step-{position}", VECTORS["genesis_time_ms"] + 3_600_000,
    )
    return sign_transaction(suite, seed(step["signer"]), body)


CASES = [pytest.param(suite_name, case, id=f"{suite_name}-{case['name']}") for suite_name in ("ed25519-sha256", "sm2-sm3") for case in VECTORS["cases"]]


@pytest.mark.parametrize(("suite_name", "case"), CASES)
def test_case_through_the_core(suite_name: str, case: dict[str, Any]) -> None:
    suite = get_suite(suite_name)
    genesis = parse_genesis(build_genesis_document(suite))
    writes, digest = compute_genesis_state(genesis)
    state = MemoryState(writes)
    claimed: set[bytes] = set()
    for position, step in enumerate(case["steps"], start=1):
        envelope = sign_step(suite, step, position)
        environment = BlockEnvironment(genesis.chain_id, suite, position, genesis.time_ms + position * STEP_INTERVAL_MS)
        outcome = execute_block(environment, [envelope], state, digest, is_committed_id=claimed.__contains__)
        state.apply_writes(outcome.writes)
        digest = outcome.state_digest
        claimed.add(envelope.id)
        assert outcome.results[0].code.label == step["expected"], f"step {position}"


@pytest.mark.parametrize(("suite_name", "case"), CASES)
def test_case_through_the_http_api(tmp_path: Path, suite_name: str, case: dict[str, Any]) -> None:
    suite = get_suite(suite_name)
    directory = ChainDirectory(tmp_path / "chain")
    directory.root.mkdir()
    directory.genesis_path.write_text(json.dumps(build_genesis_document(suite), ensure_ascii=False))
    orderer_seed = seed(ORDERER_SEED_INDEX)
    write_key(directory.orderer_key_path, KeyFile(suite, orderer_seed, public_key(suite, ORDERER_SEED_INDEX), "orderer"))
    clock = {"now": VECTORS["genesis_time_ms"]}

    def read_clock() -> int:
        clock["now"] += STEP_INTERVAL_MS
        return clock["now"]

    async def run() -> None:
        async with open_node(directory, clock_ms=read_clock) as node:
            transport = httpx.ASGITransport(app=create_app(node))
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                for position, step in enumerate(case["steps"], start=1):
                    envelope = sign_step(suite, step, position)
                    response = await client.post("/v1/transactions", content=envelope.encoded)
                    if "edge" in step:
                        assert response.status_code == 400 and response.json()["code"] == step["edge"], f"step {position}"
                        continue
                    assert response.status_code == 202, response.text
                    final = (await client.get(f"/v1/transactions/{envelope.id.hex()}", params={"wait": 10})).json()
                    assert final["result"] == step["expected"], f"step {position}"
                    assert final["status"] == ("committed" if step["expected"] == "ok" else "rejected")

    asyncio.run(run())

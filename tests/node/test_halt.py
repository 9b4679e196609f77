"""A node that cannot commit stops loudly: it refuses a block that does not extend its tip, and a
failed commit halts it; either way /v1/status says why and submissions get 503 ``halted``."""

import asyncio
import sqlite3

from node_support import admit, run_with_client
from reliefledger.ledger.blocks import Block, build_header
from reliefledger.ledger.errors import InvariantViolation


def test_a_block_that_does_not_extend_the_tip_halts_the_node(chain):
    admin = chain.read_organisation_key("civil-affairs")
    orderer = chain.read_orderer_key()

    async def scenario(node, client):
        forged = [admit(admin)]
        header = build_header(node.suite, chain=node.genesis.chain_id, height=1, previous_hash=bytes(32),
                              time_ms=node.tip.time_ms + 1, transactions=forged, orderer=orderer.public_key)
        block = Block(header, node.suite.sign(orderer.seed, header.encode()), tuple(forged))
        try:
            node.commit_block(block)
        except InvariantViolation as error:
            refused = str(error)
        status = (await client.get("/v1/status")).json()
        submitted = await client.post("/v1/transactions", content=admit(admin).encoded)
        return refused, status, submitted

    refused, status, submitted = run_with_client(chain, scenario)
    assert "previous_hash" in refused
    assert status["height"] == 0 and "previous_hash" in status["halted"]
    assert submitted.status_code == 503 and submitted.json()["code"] == "halted"


def test_a_commit_that_fails_halts_the_node_and_commits_nothing(chain):
    admin = chain.read_organisation_key("civil-affairs")

    async def scenario(node, client):
        def failing_commit(*arguments, **options):
            raise sqlite3.OperationalError("disk I/O error")

        node.store.commit_block = failing_commit
        first = await client.post("/v1/transactions", content=admit(admin).encoded)
        for _ in range(200):
            status = (await client.get("/v1/status")).json()
            if status["halted"]:
                break
            await asyncio.sleep(0.01)
        second = await client.post("/v1/transactions", content=admit(admin).encoded)
        return first, status, second

    first, status, second = run_with_client(chain, scenario)
    assert first.status_code == 202
    assert status["height"] == 0 and "disk I/O error" in status["halted"]
    assert second.status_code == 503 and second.json()["code"] == "halted"


def test_a_redelivered_block_is_skipped_and_a_different_block_at_a_committed_height_halts(chain):
    admin = chain.read_organisation_key("civil-affairs")
    orderer = chain.read_orderer_key()

    async def scenario(node, client):
        envelope = admit(admin)
        await client.post("/v1/transactions", content=envelope.encoded)
        for _ in range(200):
            if node.tip.height >= 1:
                break
            await asyncio.sleep(0.01)
        stored = node.store.get_block(1)
        committed = Block(stored.header, stored.orderer_signature, tuple(stored.get_envelopes()))
        redelivered = node.is_already_committed(committed)
        other = [admit(admin)]
        header = build_header(node.suite, chain=node.genesis.chain_id, height=1, previous_hash=stored.header.previous_hash,
                              time_ms=stored.header.time_ms, transactions=other, orderer=orderer.public_key)
        try:
            node.is_already_committed(Block(header, node.suite.sign(orderer.seed, header.encode()), tuple(other)))
            refused = None
        except InvariantViolation as error:
            refused = str(error)
        return redelivered, refused, (await client.get("/v1/status")).json()

    redelivered, refused, status = run_with_client(chain, scenario)
    assert redelivered is True
    assert refused is not None and "conflicting block at height 1" in refused
    assert "conflicting block" in status["halted"]

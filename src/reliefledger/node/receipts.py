"""Building a receipt for a committed (or rejected) transaction from the node's store."""

from typing import Any

import orjson

from reliefledger.ledger.receipts import RECEIPT_FORMAT
from reliefledger.node.peer import Node


def build_receipt(node: Node, transaction_id: bytes) -> dict[str, Any] | None:
    """The receipt of a transaction that is in a block (None while pending or unknown)."""
    status = node.get_transaction_status(transaction_id, with_proofs=True)
    if status is None or status["status"] == "pending":
        return None
    block = node.store.get_block(status["height"])
    transaction = orjson.loads(block.transactions_bytes)[status["index"]]
    return {
        "format": RECEIPT_FORMAT,
        "chain_id": node.genesis.chain_id,
        "suite": node.suite.name,
        "genesis_hash": node.genesis.compute_hash().hex(),
        "orderers": list(node.genesis.orderers),
        "transaction": transaction,
        "status": {name: status[name] for name in ("id", "status", "height", "index", "code", "result")},
        "block": {"header": block.header.to_json(), "orderer_signature": block.orderer_signature.hex(), "hash": block.hash.hex(),
                  "result_root": block.result_root.hex()},
        "proof": status["proof"],
        "result_proof": status["result_proof"],
    }

"""Receipts: a transaction with the evidence that it is in a block, checkable offline.

A receipt carries the signed transaction, the block header the orderer signed, and the RFC 9162
inclusion proofs of the transaction id (against the header's ``transaction_root``) and of its
result (against the block's ``result_root``), with the chain's genesis hash and orderer keys.
``check_receipt`` verifies all of it with nothing but the receipt: the transaction's signature
and id, the orderer's signature and that the orderer is one of the genesis orderers, and both
proofs. What it cannot know alone is that the genesis is the right one: compare ``genesis_hash``
with the chain you trust (``reliefledger verify-receipt --genesis-hash``). The result root is
recomputed by every peer (``reliefledger verify``), not signed by the orderer.
"""

from dataclasses import dataclass, field
from typing import Any

from reliefledger.ledger.blocks import BlockHeader
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.merkle import InclusionProof, is_valid_inclusion_proof
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import is_signature_valid, parse_envelope_value

RECEIPT_FORMAT = "reliefledger.receipt.v1"


@dataclass
class ReceiptCheck:
    """What checking a receipt found."""

    problems: list[str] = field(default_factory=list)
    transaction: dict[str, Any] | None = None
    """The transaction's body, once its signature checked."""

    @property
    def is_valid(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def check_receipt(receipt: Any, *, genesis_hash: str | None = None) -> ReceiptCheck:
    """Check a receipt offline; every problem found is listed (an empty list: the receipt holds)."""
    check = ReceiptCheck()
    try:
        if type(receipt) is not dict or receipt.get("format") != RECEIPT_FORMAT:
            raise LedgerInputError(f"not a {RECEIPT_FORMAT} document", code="invalid_receipt")
        suite = get_suite(receipt["suite"])
        envelope = parse_envelope_value(receipt["transaction"])
        header = BlockHeader.from_json(receipt["block"]["header"])
        status = receipt["status"]
        transaction_proof = _parse_proof(receipt["proof"])
        result_proof = _parse_proof(receipt["result_proof"])
        orderers = receipt["orderers"]
        signature = bytes.fromhex(receipt["block"]["orderer_signature"])
        result_root = bytes.fromhex(receipt["block"]["result_root"])
    except (LedgerInputError, KeyError, TypeError, ValueError) as error:
        check.problems.append(f"the receipt is malformed: {error}")
        return check
    if genesis_hash is not None and receipt.get("genesis_hash") != genesis_hash:
        check.problems.append("the receipt is from another chain than the genesis you trust")
    if envelope.body.chain != receipt.get("chain_id") or header.chain != receipt.get("chain_id"):
        check.problems.append("the transaction or block is of another chain than the receipt names")
    if not is_signature_valid(envelope):
        check.problems.append("the transaction's signature does not verify")
    else:
        check.transaction = envelope.body.to_json()
    if envelope.id.hex() != status.get("id"):
        check.problems.append("the transaction id is not the one the status names")
    if header.orderer not in orderers or not suite.is_valid_signature(bytes.fromhex(header.orderer), header.encode(), signature):
        check.problems.append("the block header is not signed by a genesis orderer")
    if header.height != status.get("height"):
        check.problems.append("the block is not at the height the status names")
    if not is_valid_inclusion_proof(suite.compute_hash, envelope.id, transaction_proof, header.transaction_root):
        check.problems.append("the transaction is not in the block (its inclusion proof fails)")
    result_leaf = encode_canonical({"code": status.get("code"), "id": envelope.id.hex()})
    if not is_valid_inclusion_proof(suite.compute_hash, result_leaf, result_proof, result_root):
        check.problems.append("the result is not the block's (its inclusion proof fails)")
    return check


def _parse_proof(value: Any) -> InclusionProof:
    return InclusionProof(int(value["leaf_index"]), int(value["tree_size"]), tuple(bytes.fromhex(node) for node in value["audit_path"]))

"""The worked example of docs/protocol.md, computed by the project's own code.

tests/test_protocol_doc.py checks that every value printed in the document equals the value
computed here, so the document cannot drift from the code. Run this file to print the values.
"""

from reliefledger.ledger import merkle
from reliefledger.ledger.blocks import build_header, compute_block_hash
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.execute import execute_block
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import TransactionBody, sign_transaction

SIGNER_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
"""RFC 8032 section 7.1, test 1: the civil-affairs admin in the example."""
ORDERER_SEED = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
"""RFC 8032 section 7.1, test 3: the example's orderer."""
MEMBER_KEY = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
"""RFC 8032 section 7.1, test 2's public key: the caseworker being admitted."""


def compute_worked_example() -> dict[str, str]:
    """Every value the document prints, by name."""
    suite = get_suite("ed25519-sha256")
    signer = suite.compute_public_key(SIGNER_SEED).hex()
    orderer = suite.compute_public_key(ORDERER_SEED).hex()
    genesis = parse_genesis({
        "chain_id": "example",
        "orderers": [orderer],
        "organisations": [{"admin_key": signer, "id": "civil-affairs", "kind": "government_department", "name": "Civil Affairs", "region": "110000"}],
        "suite": "ed25519-sha256",
        "time_ms": 1767139200000,
    })
    writes, genesis_digest = compute_genesis_state(genesis)

    def sign(action: str, args: dict, nonce: str):
        return sign_transaction(suite, SIGNER_SEED, TransactionBody("example", "membership", action, args, signer, nonce, 1767225600000))

    admit = sign("admit_member", {"public_key": MEMBER_KEY, "roles": ["caseworker"]}, "0001")
    again = sign("admit_member", {"public_key": MEMBER_KEY, "roles": ["caseworker"]}, "0002")
    revoke = sign("revoke_member", {"public_key": MEMBER_KEY}, "0003")
    transactions = [admit, again, revoke]
    header = build_header(suite, chain="example", height=1, previous_hash=genesis.compute_hash(), time_ms=1767139260000, transactions=transactions, orderer=orderer)
    outcome = execute_block(BlockEnvironment("example", suite, 1, header.time_ms), transactions, MemoryState(writes), genesis_digest, is_committed_id=lambda identifier: False)
    leaf_hashes = [merkle.compute_leaf_hash(suite.compute_hash, envelope.id) for envelope in transactions]
    proof = merkle.compute_inclusion_proof(suite.compute_hash, leaf_hashes, 0)
    result_leaves = [merkle.compute_leaf_hash(suite.compute_hash, result.encode()) for result in outcome.results]
    result_proof = merkle.compute_inclusion_proof(suite.compute_hash, result_leaves, 0)
    node_01 = merkle.compute_node_hash(suite.compute_hash, leaf_hashes[0], leaf_hashes[1])
    return {
        "signer_public_key": signer,
        "orderer_public_key": orderer,
        "genesis_canonical": encode_canonical(genesis.document).decode(),
        "genesis_hash": genesis.compute_hash().hex(),
        "genesis_state_digest": genesis_digest.hex(),
        "body_canonical": admit.body_bytes.decode(),
        "transaction_id": admit.id.hex(),
        "signature": admit.signature.hex(),
        "envelope": admit.encoded.decode(),
        "transaction_id_2": again.id.hex(),
        "transaction_id_3": revoke.id.hex(),
        "leaf_hash_1": leaf_hashes[0].hex(),
        "leaf_hash_2": leaf_hashes[1].hex(),
        "leaf_hash_3": leaf_hashes[2].hex(),
        "node_hash_1_2": node_01.hex(),
        "transaction_root": header.transaction_root.hex(),
        "audit_path": " ".join(node.hex() for node in proof.audit_path),
        "header_canonical": header.encode().decode(),
        "block_hash": compute_block_hash(suite, header).hex(),
        "orderer_signature": suite.sign(ORDERER_SEED, header.encode()).hex(),
        "result_codes": " ".join(str(int(result.code)) for result in outcome.results),
        "result_leaf_1": outcome.results[0].encode().decode(),
        "result_root": outcome.result_root.hex(),
        "result_audit_path": " ".join(node.hex() for node in result_proof.audit_path),
        "block_write_set": encode_canonical([[key, value] for key, value in outcome.writes.items()]).decode(),
        "state_digest": outcome.state_digest.hex(),
    }


if __name__ == "__main__":
    for name, value in compute_worked_example().items():
        print(f"{name}: {value}")

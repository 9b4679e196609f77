"""docs/protocol.md must match the code: its worked example and its result-code table."""

import re
from pathlib import Path

from reliefledger.ledger import merkle
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.suites import get_suite
from tests.worked_example import compute_worked_example

PROTOCOL = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()


def read_documented_values() -> dict[str, str]:
    """The ``name: value`` lines between the worked-example markers."""
    block = PROTOCOL.split("<!-- worked-example:begin -->")[1].split("<!-- worked-example:end -->")[0]
    values = {}
    for line in block.splitlines():
        match = re.match(r"^([a-z0-9_]+): (.+)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def test_worked_example_matches_the_code() -> None:
    documented = read_documented_values()
    computed = compute_worked_example()
    assert set(documented) == set(computed)
    for name, value in computed.items():
        assert documented[name] == value, f"docs/protocol.md shows a stale {name}"


def test_worked_example_receipt_verifies_by_hand() -> None:
    """Follow the document's own recipe with hashlib-level steps, not the project's verifier."""
    values = read_documented_values()
    hash_function = get_suite("ed25519-sha256").compute_hash
    leaf = hash_function(b"\x00" + bytes.fromhex(values["transaction_id"]))
    assert leaf.hex() == values["leaf_hash_1"]
    sibling, uncle = (bytes.fromhex(node) for node in values["audit_path"].split())
    root = hash_function(b"\x01" + hash_function(b"\x01" + leaf + sibling) + uncle)
    assert root.hex() == values["transaction_root"]
    proof = merkle.InclusionProof(0, 3, (sibling, uncle))
    assert merkle.is_valid_inclusion_proof(hash_function, bytes.fromhex(values["transaction_id"]), proof, root)
    assert hash_function(values["body_canonical"].encode()).hex() == values["transaction_id"]
    assert hash_function(values["header_canonical"].encode()).hex() == values["block_hash"]


def test_every_result_code_is_documented() -> None:
    for code in ResultCode:
        assert f"| {int(code)} | `{code.label}` |" in PROTOCOL, f"{code.label} is missing from docs/protocol.md"

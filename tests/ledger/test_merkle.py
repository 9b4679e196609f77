"""Merkle trees against the RFC 6962 reference vectors and an independent recursive MTH."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import load_vectors
from reliefledger.ledger import merkle
from reliefledger.ledger.merkle import InclusionProof

VECTORS = load_vectors("rfc6962_sha256.json")
LEAVES = [bytes.fromhex(item) for item in VECTORS["leaf_inputs"]]
ROOTS = [bytes.fromhex(item) for item in VECTORS["root_hashes"]]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH, written from the RFC: split at the largest power of two < n."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:]))


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 section 2.1.1 PATH(m, D[n]), recursive, leaf-level sibling first."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if index < k:
        return reference_path(index, leaves[:k]) + [reference_root(leaves[k:])]
    return reference_path(index - k, leaves[k:]) + [reference_root(leaves[:k])]


def leaf_hashes(leaves: list[bytes]) -> list[bytes]:
    return [merkle.compute_leaf_hash(sha256, leaf) for leaf in leaves]


def proofs_of_small_trees():
    """(tree size, leaf index) for every leaf of every tree of 1..8 vector leaves."""
    return [(size, index) for size in range(1, 9) for index in range(size)]


def test_vectors_have_a_root_for_every_prefix():
    assert len(ROOTS) == len(LEAVES) + 1 == 9


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_root_of_every_prefix_matches_rfc6962_vector(size):
    assert merkle.compute_root(sha256, LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_reference_implementation_matches_vector(size):
    # Guards the test's own reference: the property test below leans on it.
    assert reference_root(LEAVES[:size]) == ROOTS[size]


def test_leaf_and_node_hashes_use_domain_prefixes():
    assert merkle.compute_leaf_hash(sha256, b"x") == sha256(b"\x00x")
    assert merkle.compute_node_hash(sha256, b"l", b"r") == sha256(b"\x01lr")
    assert merkle.compute_root(sha256, [b"x"]) != sha256(b"x")


@pytest.mark.parametrize(("size", "index"), proofs_of_small_trees())
def test_inclusion_proof_verifies_for_every_leaf(size, index):
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    assert proof.leaf_index == index and proof.tree_size == size
    assert list(proof.audit_path) == reference_path(index, leaves)
    assert merkle.is_valid_inclusion_proof(sha256, leaves[index], proof, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), proofs_of_small_trees())
def test_tampered_leaf_fails(size, index):
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    assert not merkle.is_valid_inclusion_proof(sha256, leaves[index] + b"\x00", proof, ROOTS[size])
    assert not merkle.is_valid_inclusion_proof(sha256, b"tampered", proof, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), proofs_of_small_trees())
def test_wrong_index_fails(size, index):
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    for other in [*range(size + 2), -1]:
        if other == index:
            continue
        moved = InclusionProof(other, size, proof.audit_path)
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], moved, ROOTS[size]), other


@pytest.mark.parametrize(("size", "index"), proofs_of_small_trees())
def test_wrong_tree_size_fails(size, index):
    """A claimed size whose audit path has another length must fail (RFC 9162 2.1.3.2)."""
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    checked = 0
    for other_size in range(0, 12):
        if other_size == size:
            continue
        if other_size > index and len(reference_path(index, [b""] * other_size)) == len(proof.audit_path):
            continue  # same path shape: only the signed root binds the size
        resized = InclusionProof(index, other_size, proof.audit_path)
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], resized, ROOTS[size]), other_size
        checked += 1
    assert checked >= 5


def test_wrong_tree_size_with_same_path_length_but_other_directions_fails():
    # Leaf 2 of 3 has the path [MTH(D[0:2])] on its left; as leaf 2 of 4 it would be on the right.
    leaves = LEAVES[:3]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), 2)
    assert len(proof.audit_path) == 1
    for other_size in (4, 5, 6):
        resized = InclusionProof(2, other_size, proof.audit_path)
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[2], resized, ROOTS[3])


@pytest.mark.parametrize(("size", "index"), [case for case in proofs_of_small_trees() if case[0] > 1])
def test_truncated_path_fails(size, index):
    leaves = LEAVES[:size]
    hashes = leaf_hashes(leaves)
    proof = merkle.compute_inclusion_proof(sha256, hashes, index)
    for keep in range(len(proof.audit_path)):
        truncated = InclusionProof(index, size, proof.audit_path[:keep])
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], truncated, ROOTS[size])
        assert merkle.compute_root_from_inclusion_proof(sha256, hashes[index], truncated) is None
    without_first = InclusionProof(index, size, proof.audit_path[1:])
    assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], without_first, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), proofs_of_small_trees())
def test_extended_path_fails(size, index):
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    for extra in (ROOTS[size], bytes(32), proof.audit_path[-1] if proof.audit_path else ROOTS[0]):
        longer = InclusionProof(index, size, (*proof.audit_path, extra))
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], longer, ROOTS[size])
        assert merkle.compute_root_from_inclusion_proof(sha256, leaf_hashes(leaves)[index], longer) is None
        prefixed = InclusionProof(index, size, (extra, *proof.audit_path))
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], prefixed, ROOTS[size])


@pytest.mark.parametrize(("size", "index"), [case for case in proofs_of_small_trees() if case[0] > 1])
def test_tampered_path_node_fails(size, index):
    leaves = LEAVES[:size]
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(leaves), index)
    for position in range(len(proof.audit_path)):
        path = list(proof.audit_path)
        path[position] = bytes([path[position][0] ^ 1]) + path[position][1:]
        tampered = InclusionProof(index, size, tuple(path))
        assert not merkle.is_valid_inclusion_proof(sha256, leaves[index], tampered, ROOTS[size])


def test_proof_for_index_outside_tree_is_refused():
    with pytest.raises(merkle.LedgerInputError):
        merkle.compute_inclusion_proof(sha256, leaf_hashes(LEAVES[:3]), 3)
    with pytest.raises(merkle.LedgerInputError):
        merkle.compute_inclusion_proof(sha256, leaf_hashes(LEAVES[:3]), -1)


def test_proof_wire_form_is_lowercase_hex():
    proof = merkle.compute_inclusion_proof(sha256, leaf_hashes(LEAVES[:5]), 4)
    assert proof.to_json() == {
        "leaf_index": 4,
        "tree_size": 5,
        "audit_path": [node.hex() for node in reference_path(4, LEAVES[:5])],
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=70))
def test_every_proof_verifies_and_root_equals_recursive_mth(leaves):
    root = merkle.compute_root(sha256, leaves)
    assert root == reference_root(leaves)
    hashes = leaf_hashes(leaves)
    for index, leaf in enumerate(leaves):
        proof = merkle.compute_inclusion_proof(sha256, hashes, index)
        assert merkle.is_valid_inclusion_proof(sha256, leaf, proof, root)

"""Merkle trees as RFC 9162 (and RFC 6962 before it) define them, over any suite's hash.

leaf hash = H(0x00 || data); node hash = H(0x01 || left || right); the root of the empty tree is
H(""). A tree of n leaves splits at the largest power of two below n. Building bottom-up and
carrying a level's lone last node up unchanged yields exactly that tree, in linear time.
Inclusion proofs and their verification follow RFC 9162 section 2.1.3.
"""

from dataclasses import dataclass
from typing import Callable, Sequence

from reliefledger.ledger.errors import LedgerInputError

HashFunction = Callable[[bytes], bytes]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def compute_leaf_hash(hash_function: HashFunction, data: bytes) -> bytes:
    """H(0x00 || data)."""
    return hash_function(LEAF_PREFIX + data)


def compute_node_hash(hash_function: HashFunction, left: bytes, right: bytes) -> bytes:
    """H(0x01 || left || right)."""
    return hash_function(NODE_PREFIX + left + right)


def compute_root_from_leaf_hashes(hash_function: HashFunction, leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of the tree whose leaves have the given hashes."""
    if not leaf_hashes:
        return hash_function(b"")
    level = list(leaf_hashes)
    while len(level) > 1:
        level = _compute_parent_level(hash_function, level)
    return level[0]


def compute_root(hash_function: HashFunction, leaves: Sequence[bytes]) -> bytes:
    """The root of the tree of the given leaf inputs."""
    return compute_root_from_leaf_hashes(
        hash_function, [compute_leaf_hash(hash_function, leaf) for leaf in leaves]
    )


@dataclass(frozen=True)
class InclusionProof:
    """Evidence that one leaf is in a tree of a given size (RFC 9162 section 2.1.3.1)."""

    leaf_index: int
    """Zero-based position of the leaf."""
    tree_size: int
    """Number of leaves in the tree."""
    audit_path: tuple[bytes, ...]
    """Sibling hashes from the leaf level upward."""

    def to_json(self) -> dict:
        """The wire form: the path as lowercase hex strings."""
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "audit_path": [node.hex() for node in self.audit_path],
        }


def compute_inclusion_proof(
    hash_function: HashFunction, leaf_hashes: Sequence[bytes], leaf_index: int
) -> InclusionProof:
    """The audit path of leaf ``leaf_index`` in the tree of ``leaf_hashes``."""
    if not 0 <= leaf_index < len(leaf_hashes):
        raise LedgerInputError(f"leaf index {leaf_index} outside a tree of {len(leaf_hashes)}")
    path = []
    level = list(leaf_hashes)
    index = leaf_index
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level = _compute_parent_level(hash_function, level)
        index //= 2
    return InclusionProof(leaf_index, len(leaf_hashes), tuple(path))


def compute_root_from_inclusion_proof(
    hash_function: HashFunction, leaf_hash: bytes, proof: InclusionProof
) -> bytes | None:
    """The root the proof leads to (RFC 9162 section 2.1.3.2), or None for a malformed proof."""
    if not 0 <= proof.leaf_index < proof.tree_size:
        return None
    first = proof.leaf_index
    last = proof.tree_size - 1
    result = leaf_hash
    for sibling in proof.audit_path:
        if last == 0:
            return None
        if first & 1 or first == last:
            result = compute_node_hash(hash_function, sibling, result)
            if not first & 1:
                while not first & 1 and first != 0:
                    first >>= 1
                    last >>= 1
        else:
            result = compute_node_hash(hash_function, result, sibling)
        first >>= 1
        last >>= 1
    if last != 0:
        return None
    return result


def is_valid_inclusion_proof(
    hash_function: HashFunction, leaf_data: bytes, proof: InclusionProof, root: bytes
) -> bool:
    """True when ``proof`` shows ``leaf_data`` at its index in the tree with ``root``."""
    leaf_hash = compute_leaf_hash(hash_function, leaf_data)
    return compute_root_from_inclusion_proof(hash_function, leaf_hash, proof) == root


def _compute_parent_level(hash_function: HashFunction, level: list[bytes]) -> list[bytes]:
    parents = [
        hash_function(NODE_PREFIX + level[index] + level[index + 1])
        for index in range(0, len(level) - 1, 2)
    ]
    if len(level) % 2:
        parents.append(level[-1])
    return parents

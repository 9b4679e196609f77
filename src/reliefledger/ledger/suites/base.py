"""The interface every crypto suite provides."""

import hmac
from typing import Callable, Protocol


class Suite(Protocol):
    """A hash function, a keyed hash and a signature scheme, under one recorded name."""

    name: str
    """The identifier stored beside every key, hash and signature, e.g. ``ed25519-sha256``."""

    hash_name: str
    """The ``hashlib`` name of the suite's hash."""

    seed_bytes: int
    """Length of the secret seed a private key is derived from."""

    def compute_hash(self, data: bytes) -> bytes:
        """Hash ``data`` with the suite's hash function."""
        ...

    def compute_keyed_hash(self, key: bytes, data: bytes) -> bytes:
        """HMAC of ``data`` under ``key`` with the suite's hash (used for pseudonyms)."""
        ...

    def compute_public_key(self, seed: bytes) -> bytes:
        """The public key that belongs to the private key derived from ``seed``."""
        ...

    def sign(self, seed: bytes, message: bytes) -> bytes:
        """Sign ``message`` with the private key derived from ``seed``."""
        ...

    def is_valid_signature(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is a valid signature of ``message`` by ``public_key``."""
        ...

    def is_valid_public_key(self, public_key: bytes) -> bool:
        """True when ``public_key`` has the suite's encoding and lies on its curve."""
        ...


def make_keyed_hash(hash_name: str) -> Callable[[bytes, bytes], bytes]:
    """Build an HMAC function over the named hashlib hash."""

    def compute_keyed_hash(key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hash_name).digest()

    return compute_keyed_hash

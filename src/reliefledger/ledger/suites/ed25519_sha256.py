"""The default suite: Ed25519 signatures (RFC 8032, via libsodium) with SHA-256 hashing.

PyNaCl's low-level bindings are used directly: building a ``VerifyKey`` object per transaction
costs more than the verification itself on the commit path.
"""

import functools
import hashlib
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from reliefledger.ledger.suites.base import make_keyed_hash

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class Ed25519Sha256:
    """Ed25519 + SHA-256."""

    name: str = "ed25519-sha256"
    hash_name: str = "sha256"
    seed_bytes: int = 32

    def compute_hash(self, data: bytes) -> bytes:
        """SHA-256 of ``data``."""
        return hashlib.sha256(data).digest()

    def compute_keyed_hash(self, key: bytes, data: bytes) -> bytes:
        """HMAC-SHA-256 of ``data`` under ``key``."""
        return _hmac_sha256(key, data)

    def compute_public_key(self, seed: bytes) -> bytes:
        """The Ed25519 public key of the 32-byte secret seed."""
        public_key, _ = nacl.bindings.crypto_sign_seed_keypair(seed)
        return public_key

    def sign(self, seed: bytes, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return nacl.bindings.crypto_sign(message, _get_secret_key(seed))[:SIGNATURE_BYTES]

    def is_valid_signature(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Verify with libsodium (strict: rejects non-canonical encodings)."""
        if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
            return False
        try:
            nacl.bindings.crypto_sign_open(signature + message, public_key)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
            return False
        return True

    def is_valid_public_key(self, public_key: bytes) -> bool:
        """32 bytes that encode a point on the curve, not of small order (libsodium's check)."""
        return len(public_key) == PUBLIC_KEY_BYTES and nacl.bindings.crypto_core_ed25519_is_valid_point(public_key)


@functools.lru_cache(maxsize=256)
def _get_secret_key(seed: bytes) -> bytes:
    """libsodium's 64-byte secret key of a seed; deriving it costs as much as signing, and a node
    signs with the same few keys (orderer, staff) again and again."""
    return nacl.bindings.crypto_sign_seed_keypair(seed)[1]


_hmac_sha256 = make_keyed_hash("sha256")

ED25519_SHA256 = Ed25519Sha256()

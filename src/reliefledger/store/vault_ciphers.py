"""Record ciphers: the authenticated encryption a vault uses, chosen by the vault's crypto suite.

A vault on the international suite (``ed25519-sha256``) encrypts with AES-256-GCM from
``cryptography``; one on the national suite (``sm2-sm3``) with SM4-GCM (GB/T 32907, RFC 8998)
from ``tongsuopy``. Both take a fresh random 12-byte nonce per encryption; a sealed value is
``nonce || ciphertext || 16-byte tag``. Data keys are used once, and a vault's wrapping key seals
one 12-byte-nonce value per record, far below the 2^32 random-nonce bound of GCM.

The key that wraps data keys is derived from the vault's 32-byte master key with the suite hash
under its own domain (``compute_wrapping_key``), and truncated to the cipher's key length (32 bytes
for AES-256, 16 for SM4); the key-check value stored in the vault is another domain-separated hash
of the master key, so no two uses share a key.
"""

import os
from dataclasses import dataclass
from typing import Callable, Protocol

from cryptography.exceptions import InvalidTag as CryptographyInvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tongsuopy.crypto.ciphers.aead import SM4GCM
from tongsuopy.crypto.exceptions import InvalidTag as TongsuoInvalidTag

from reliefledger.ledger.errors import UnknownSuiteError
from reliefledger.ledger.suites import Suite

NONCE_BYTES = 12
"""GCM nonce length: the 96-bit form, which GCM uses without hashing."""

TAG_BYTES = 16
"""GCM authentication tag length."""

WRAPPING_KEY_DOMAIN = b"reliefledger/vault/wrapping-key/v1\x00"
"""Prefix of the hash input that derives the wrapping key from the master key."""

KEY_CHECK_DOMAIN = b"reliefledger/vault/key-check/v1\x00"
"""Prefix of the hash input that derives the key-check value from the master key."""


class Aead(Protocol):
    """The encrypt/decrypt pair that ``AESGCM`` and ``SM4GCM`` both provide."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


@dataclass(frozen=True)
class RecordCipher:
    """One authenticated cipher and the length of its keys."""

    name: str
    """How the cipher is named in documentation and errors, e.g. ``AES-256-GCM``."""
    key_bytes: int
    """Length of a data key and of the wrapping key."""
    make_aead: Callable[[bytes], Aead]
    """Build the cipher object for a key."""

    def generate_key(self) -> bytes:
        """A fresh random data key."""
        return os.urandom(self.key_bytes)

    def seal(self, key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        """``nonce || ciphertext || tag`` of ``plaintext``, bound to ``associated_data``."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self.make_aead(key).encrypt(nonce, plaintext, associated_data)

    def open(self, key: bytes, sealed: bytes, associated_data: bytes) -> bytes | None:
        """The plaintext of a sealed value, or None when it fails authentication."""
        if len(sealed) < NONCE_BYTES + TAG_BYTES or len(key) != self.key_bytes:
            return None
        try:
            return self.make_aead(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)
        except (CryptographyInvalidTag, TongsuoInvalidTag):
            return None


AES_256_GCM = RecordCipher("AES-256-GCM", 32, AESGCM)
SM4_GCM = RecordCipher("SM4-GCM", 16, SM4GCM)

CIPHERS_BY_SUITE = {"ed25519-sha256": AES_256_GCM, "sm2-sm3": SM4_GCM}
"""The record cipher of each crypto suite."""


def get_record_cipher(suite: Suite) -> RecordCipher:
    """The cipher a vault on ``suite`` uses."""
    try:
        return CIPHERS_BY_SUITE[suite.name]
    except KeyError:
        raise UnknownSuiteError(f"no record cipher for the suite {suite.name!r}") from None


def compute_wrapping_key(suite: Suite, cipher: RecordCipher, master_key: bytes) -> bytes:
    """The key that wraps data keys: the suite hash of the master key under its own domain."""
    return suite.compute_hash(WRAPPING_KEY_DOMAIN + master_key)[: cipher.key_bytes]


def compute_key_check(suite: Suite, master_key: bytes) -> bytes:
    """A value stored in the vault that tells a wrong master key from a damaged record."""
    return suite.compute_hash(KEY_CHECK_DOMAIN + master_key)

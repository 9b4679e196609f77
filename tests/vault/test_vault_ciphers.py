"""Record ciphers: a published SM4-GCM vector, the sealed form, and key derivation."""

import pytest

from vault_support import MASTER_KEY, OTHER_MASTER_KEY, SUITE_NAMES
from reliefledger.ledger.suites import get_suite
from reliefledger.store.vault_ciphers import (
    AES_256_GCM,
    NONCE_BYTES,
    SM4_GCM,
    TAG_BYTES,
    compute_key_check,
    compute_wrapping_key,
    get_record_cipher,
)

RFC_8998_SM4_GCM = {
    "key": "0123456789ABCDEFFEDCBA9876543210",
    "nonce": "00001234567800000000ABCD",
    "associated_data": "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2",
    "plaintext": "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    "ciphertext": "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
    "tag": "83DE3541E4C2B58177E065A9BF7B62EC",
}
"""RFC 8998 appendix A.1: SM4-GCM."""


def test_sm4_gcm_matches_rfc_8998():
    vector = {name: bytes.fromhex(value) for name, value in RFC_8998_SM4_GCM.items()}
    sealed = vector["nonce"] + vector["ciphertext"] + vector["tag"]
    assert SM4_GCM.open(vector["key"], sealed, vector["associated_data"]) == vector["plaintext"]
    aead = SM4_GCM.make_aead(vector["key"])
    assert aead.encrypt(vector["nonce"], vector["plaintext"], vector["associated_data"]) == sealed[NONCE_BYTES:]


@pytest.mark.parametrize("cipher", [AES_256_GCM, SM4_GCM], ids=lambda cipher: cipher.name)
def test_a_sealed_value_is_nonce_ciphertext_and_tag_and_fails_when_changed(cipher):
    key = cipher.generate_key()
    sealed = cipher.seal(key, "低保 / dibao".encode(), b"bound")
    assert len(sealed) == NONCE_BYTES + len("低保 / dibao".encode()) + TAG_BYTES
    assert cipher.open(key, sealed, b"bound") == "低保 / dibao".encode()
    assert cipher.seal(key, b"same", b"") != cipher.seal(key, b"same", b""), "nonces are random"
    assert cipher.open(key, sealed, b"other") is None
    assert cipher.open(cipher.generate_key(), sealed, b"bound") is None
    assert cipher.open(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"bound") is None
    assert cipher.open(key, sealed[: NONCE_BYTES + TAG_BYTES - 1], b"bound") is None
    assert cipher.open(key[:-1], sealed, b"bound") is None


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_the_wrapping_key_and_key_check_are_separate_derivations_of_the_master_key(suite_name):
    suite = get_suite(suite_name)
    cipher = get_record_cipher(suite)
    wrapping_key = compute_wrapping_key(suite, cipher, MASTER_KEY)
    assert len(wrapping_key) == cipher.key_bytes
    assert wrapping_key == suite.compute_hash(b"reliefledger/vault/wrapping-key/v1\x00" + MASTER_KEY)[: cipher.key_bytes]
    key_check = compute_key_check(suite, MASTER_KEY)
    assert key_check == suite.compute_hash(b"reliefledger/vault/key-check/v1\x00" + MASTER_KEY)
    assert wrapping_key not in key_check and MASTER_KEY not in (wrapping_key, key_check)
    assert compute_key_check(suite, OTHER_MASTER_KEY) != key_check

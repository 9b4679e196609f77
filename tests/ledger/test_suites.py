"""Crypto suites: published SM3 and Ed25519 vectors, and the behaviour both suites share."""

import hmac

import nacl.bindings
import pytest

from helpers import SUITE_NAMES, load_vectors, seed_for
from reliefledger.ledger.errors import LedgerInputError, UnknownSuiteError
from reliefledger.ledger.suites import DEFAULT_SUITE_NAME, SUITES, get_suite

VECTORS = load_vectors("crypto.json")
MESSAGE = "申请最低生活保障 / application for minimum living allowance".encode()




@pytest.fixture(params=SUITE_NAMES)
def suite(request):
    return get_suite(request.param)


def flip_bit(data: bytes, position: int, bit: int = 1) -> bytes:
    changed = bytearray(data)
    changed[position] ^= bit
    return bytes(changed)


def find_ed25519_point_off_curve() -> bytes:
    """32 bytes encoding a y for which no x exists: not an Ed25519 point (RFC 8032 5.1.3)."""
    p = 2**255 - 19
    d = -121665 * pow(121666, p - 2, p) % p
    for y in range(2, 1000):
        u = (y * y - 1) % p
        v = (d * y * y + 1) % p
        x_squared = u * pow(v, p - 2, p) % p
        if x_squared and pow(x_squared, (p - 1) // 2, p) == p - 1:
            return y.to_bytes(32, "little")
    raise AssertionError("no off-curve y found")


# SM3 (GB/T 32905-2016 examples) ------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["sm3"], ids=lambda vector: vector["message_ascii"][:8])
def test_sm3_vectors(vector):
    sm2_sm3 = get_suite("sm2-sm3")
    digest = sm2_sm3.compute_hash(vector["message_ascii"].encode("ascii"))
    assert digest.hex() == vector["digest"]


# Ed25519 (RFC 8032 section 7.1, test 1) ----------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["ed25519"])
def test_ed25519_rfc8032_vector(vector):
    ed25519 = get_suite("ed25519-sha256")
    seed = bytes.fromhex(vector["secret_key"])
    message = bytes.fromhex(vector["message"])
    public_key = ed25519.compute_public_key(seed)
    assert public_key.hex() == vector["public_key"]
    signature = ed25519.sign(seed, message)
    assert signature.hex() == vector["signature"]
    assert ed25519.is_valid_signature(public_key, message, bytes.fromhex(vector["signature"]))
    assert not ed25519.is_valid_signature(public_key, message + b"x", signature)


def test_ed25519_hash_is_sha256():
    assert get_suite("ed25519-sha256").compute_hash(b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# Both suites ------------------------------------------------------------------------------


def test_suite_records_its_name(suite):
    assert SUITES[suite.name] is suite
    assert suite.seed_bytes == 32


def test_public_key_is_deterministic_per_seed(suite):
    assert suite.compute_public_key(seed_for(1)) == suite.compute_public_key(seed_for(1))
    assert suite.compute_public_key(seed_for(1)) != suite.compute_public_key(seed_for(2))
    assert suite.is_valid_public_key(suite.compute_public_key(seed_for(1)))


def test_sign_verify_round_trip(suite):
    public_key = suite.compute_public_key(seed_for(1))
    signature = suite.sign(seed_for(1), MESSAGE)
    assert suite.is_valid_signature(public_key, MESSAGE, signature)
    assert suite.is_valid_signature(public_key, b"", suite.sign(seed_for(1), b""))


def test_wrong_message_fails(suite):
    public_key = suite.compute_public_key(seed_for(1))
    signature = suite.sign(seed_for(1), MESSAGE)
    assert not suite.is_valid_signature(public_key, MESSAGE + b"!", signature)
    assert not suite.is_valid_signature(public_key, flip_bit(MESSAGE, 0), signature)
    assert not suite.is_valid_signature(public_key, b"", signature)


def test_wrong_key_fails(suite):
    signature = suite.sign(seed_for(1), MESSAGE)
    other_key = suite.compute_public_key(seed_for(2))
    assert not suite.is_valid_signature(other_key, MESSAGE, signature)


def test_signature_with_flipped_bit_in_value_fails(suite):
    """Flips inside the signature values (not its encoding) must give False."""
    public_key = suite.compute_public_key(seed_for(1))
    signature = suite.sign(seed_for(1), MESSAGE)
    # The last 32 bytes are scalar bytes for Ed25519 (S) and for DER SM2 (the end of s).
    for position in range(len(signature) - 32, len(signature)):
        assert not suite.is_valid_signature(public_key, MESSAGE, flip_bit(signature, position)), position


@pytest.mark.parametrize(
    "suite_name", ["ed25519-sha256", "sm2-sm3"]
)
def test_signature_truncated_or_extended_fails(suite_name):
    suite = get_suite(suite_name)
    public_key = suite.compute_public_key(seed_for(1))
    signature = suite.sign(seed_for(1), MESSAGE)
    assert not suite.is_valid_signature(public_key, MESSAGE, signature[:-1])
    assert not suite.is_valid_signature(public_key, MESSAGE, signature + b"\x00")
    assert not suite.is_valid_signature(public_key, MESSAGE, signature + bytes(200))


@pytest.mark.parametrize(
    "suite_name", ["ed25519-sha256", "sm2-sm3"]
)
def test_mangled_signature_fails_at_every_byte(suite_name):
    """Any single-bit change anywhere in a signature, encoding included, is answered False.

    A verifier that raises instead would crash the executor on an ordered transaction.
    """
    suite = get_suite(suite_name)
    public_key = suite.compute_public_key(seed_for(1))
    signature = suite.sign(seed_for(1), MESSAGE)
    for position in range(len(signature)):
        assert suite.is_valid_signature(public_key, MESSAGE, flip_bit(signature, position)) is False, position
    for garbage in (b"", b"\x00" * 64, b"\x30\x00", b"\xff" * 70):
        assert suite.is_valid_signature(public_key, MESSAGE, garbage) is False, garbage


def test_invalid_public_key_lengths_rejected(suite):
    good = suite.compute_public_key(seed_for(1))
    for bad in (b"", good[:-1], good + b"\x00", bytes(len(good) + 1)):
        assert not suite.is_valid_public_key(bad)
    signature = suite.sign(seed_for(1), MESSAGE)
    assert not suite.is_valid_signature(good[:-1], MESSAGE, signature)


def test_sm2_public_key_off_curve_or_badly_encoded_rejected():
    sm2 = get_suite("sm2-sm3")
    good = sm2.compute_public_key(seed_for(1))
    assert len(good) == 65 and good[0] == 4
    assert not sm2.is_valid_public_key(flip_bit(good, 64))  # y no longer on the curve
    assert not sm2.is_valid_public_key(b"\x04" + bytes(64))  # (0, 0) is not a point
    assert not sm2.is_valid_public_key(b"\x02" + good[1:])  # not the uncompressed form
    assert not sm2.is_valid_public_key(get_suite("ed25519-sha256").compute_public_key(seed_for(1)))


def test_ed25519_public_key_off_curve_rejected():
    ed25519 = get_suite("ed25519-sha256")
    off_curve = find_ed25519_point_off_curve()
    # Cross-check the test's own construction with libsodium before asking the suite.
    assert not nacl.bindings.crypto_core_ed25519_is_valid_point(off_curve)
    assert not ed25519.is_valid_public_key(off_curve)


def test_ed25519_off_curve_key_never_verifies():
    """Whatever is_valid_public_key says, verification with a non-point key must be False."""
    ed25519 = get_suite("ed25519-sha256")
    off_curve = find_ed25519_point_off_curve()
    assert ed25519.is_valid_signature(off_curve, MESSAGE, ed25519.sign(seed_for(1), MESSAGE)) is False


def test_sm2_signatures_are_randomised_but_both_verify():
    sm2 = get_suite("sm2-sm3")
    public_key = sm2.compute_public_key(seed_for(1))
    first, second = sm2.sign(seed_for(1), MESSAGE), sm2.sign(seed_for(1), MESSAGE)
    assert first != second
    assert sm2.is_valid_signature(public_key, MESSAGE, first)
    assert sm2.is_valid_signature(public_key, MESSAGE, second)


def test_keyed_hash_differs_from_plain_hash_and_matches_hmac(suite):
    key, data = b"network pseudonym key", "110101199003071234".encode()
    keyed = suite.compute_keyed_hash(key, data)
    assert keyed == hmac.new(key, data, suite.hash_name).digest()
    assert keyed != suite.compute_hash(data)
    assert keyed != suite.compute_hash(key + data)
    assert keyed != suite.compute_keyed_hash(b"another key", data)
    assert len(keyed) == len(suite.compute_hash(data)) == 32


def test_suites_hash_differently():
    assert get_suite("sm2-sm3").compute_hash(b"abc") != get_suite("ed25519-sha256").compute_hash(b"abc")


def test_default_suite_is_ed25519():
    assert DEFAULT_SUITE_NAME == "ed25519-sha256"


@pytest.mark.parametrize("name", ["rsa-sha1", "", "ED25519-SHA256", "sm2", None, 3, ["sm2-sm3"]])
def test_unknown_suite_raises(name):
    with pytest.raises(UnknownSuiteError) as raised:
        get_suite(name)
    assert isinstance(raised.value, LedgerInputError)
    assert raised.value.code == "unknown_suite"

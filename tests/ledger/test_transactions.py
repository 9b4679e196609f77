"""Transaction envelopes: signing, parsing, ids, and the typed errors of malformed input."""

import json

import pytest

from helpers import CHAIN_ID, SUITE_NAMES, make_key, other_suite_name
from reliefledger.ledger import limits
from reliefledger.ledger.encoding import decode_json, encode_canonical
from reliefledger.ledger.errors import (
    EncodingError,
    EnvelopeError,
    LedgerInputError,
    UnknownSuiteError,
)
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import (
    TransactionBody,
    compute_transaction_id,
    is_signature_valid,
    parse_envelope,
    parse_envelope_value,
    sign_transaction,
)


@pytest.fixture(params=SUITE_NAMES)
def suite(request):
    return get_suite(request.param)


def build_body(suite, signer_index=1, **changes) -> TransactionBody:
    fields = {
        "chain": CHAIN_ID,
        "contract": "membership",
        "action": "admit_member",
        "args": {"public_key": make_key(suite, 9).hex, "roles": ["clerk"], "备注": "新成员"},
        "signer": make_key(suite, signer_index).hex,
        "nonce": "nonce-1",
        "valid_until": 1_700_000_100_000,
    }
    fields.update(changes)
    return TransactionBody(**fields)


def signed(suite, signer_index=1, **changes):
    return sign_transaction(suite, make_key(suite, signer_index).seed, build_body(suite, signer_index, **changes))


def wire(envelope) -> dict:
    """The envelope's wire JSON as a mutable dict."""
    return json.loads(envelope.encoded)


def to_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_round_trip(suite):
    envelope = signed(suite)
    parsed = parse_envelope(envelope.encoded)
    assert parsed.id == envelope.id
    assert parsed.body == envelope.body
    assert parsed.signature == envelope.signature
    assert parsed.suite == suite.name
    assert parsed.body_bytes == envelope.body_bytes
    assert parsed.encoded == envelope.encoded
    assert is_signature_valid(parsed)
    assert parsed.signer_key == make_key(suite, 1).public


def test_wire_form_is_canonical_json_with_hex_signature(suite):
    envelope = signed(suite)
    value = wire(envelope)
    assert sorted(value) == ["body", "signature", "suite"]
    assert value["suite"] == suite.name
    assert value["signature"] == envelope.signature.hex()
    assert encode_canonical(value) == envelope.encoded
    assert "新成员".encode() in envelope.encoded


def test_parse_accepts_whitespace_and_reencodes_canonically(suite):
    envelope = signed(suite)
    loose = json.dumps(wire(envelope), indent=2, ensure_ascii=True).encode()
    parsed = parse_envelope(loose)
    assert parsed.encoded == envelope.encoded
    assert parsed.id == envelope.id


def test_id_is_suite_hash_of_canonical_body(suite):
    envelope = signed(suite)
    body_json = {
        "action": "admit_member",
        "args": envelope.body.args,
        "chain": CHAIN_ID,
        "contract": "membership",
        "nonce": "nonce-1",
        "signer": make_key(suite, 1).hex,
        "valid_until": 1_700_000_100_000,
    }
    reference = json.dumps(body_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert envelope.body_bytes == reference
    assert envelope.id == suite.compute_hash(reference)
    assert envelope.id == compute_transaction_id(suite, envelope.body)


def test_id_excludes_signature_and_depends_on_every_body_field(suite):
    first = signed(suite)
    again = signed(suite)
    assert again.id == first.id  # re-signing (randomised for SM2) keeps the idempotency key
    variants = [
        signed(suite, nonce="nonce-2"),
        signed(suite, valid_until=1_700_000_100_001),
        signed(suite, chain="other-chain"),
        signed(suite, action="revoke_member"),
        signed(suite, contract="registry"),
        signed(suite, args={"roles": ["clerk"]}),
        signed(suite, signer_index=2),
    ]
    assert len({variant.id for variant in variants} | {first.id}) == len(variants) + 1


def test_id_differs_between_suites():
    ed25519, sm2 = get_suite("ed25519-sha256"), get_suite("sm2-sm3")
    body = build_body(ed25519)
    assert compute_transaction_id(ed25519, body) != compute_transaction_id(sm2, body)


# Malformed envelopes -------------------------------------------------------------------------


def set_body(field, value):
    def change(envelope_json):
        envelope_json["body"][field] = value

    return change


def set_envelope(field, value):
    def change(envelope_json):
        envelope_json[field] = value

    return change


def drop_body(field):
    def change(envelope_json):
        del envelope_json["body"][field]

    return change


def drop_envelope(field):
    def change(envelope_json):
        del envelope_json[field]

    return change


def upper_signer(envelope_json):
    envelope_json["body"]["signer"] = envelope_json["body"]["signer"].upper()


def upper_signature(envelope_json):
    envelope_json["signature"] = envelope_json["signature"].upper()


def float_in_args(envelope_json):
    envelope_json["body"]["args"]["amount"] = 1.5


def nested_float_in_args(envelope_json):
    envelope_json["body"]["args"]["items"] = [{"amount": 100.0}]


def big_integer_in_args(envelope_json):
    envelope_json["body"]["args"]["amount"] = 2**63


MALFORMED = {
    # field presence
    "envelope-missing-body": (drop_envelope("body"), EnvelopeError, "invalid_envelope"),
    "envelope-missing-signature": (drop_envelope("signature"), EnvelopeError, "invalid_envelope"),
    "envelope-missing-suite": (drop_envelope("suite"), EnvelopeError, "invalid_envelope"),
    "envelope-extra-field": (set_envelope("id", "00"), EnvelopeError, "invalid_envelope"),
    **{f"body-missing-{field}": (drop_body(field), EnvelopeError, "invalid_envelope") for field in
       ("action", "args", "chain", "contract", "nonce", "signer", "valid_until")},
    "body-extra-field": (set_body("fee", 1), EnvelopeError, "invalid_envelope"),
    # wrong types of envelope fields
    "body-not-object": (set_envelope("body", []), EnvelopeError, "invalid_envelope"),
    "suite-not-string": (set_envelope("suite", 1), EnvelopeError, "invalid_envelope"),
    "signature-not-string": (set_envelope("signature", [1]), EnvelopeError, "invalid_envelope"),
    # wrong types of body fields
    "chain-int": (set_body("chain", 1), EnvelopeError, "invalid_envelope"),
    "chain-empty": (set_body("chain", ""), EnvelopeError, "invalid_envelope"),
    "contract-int": (set_body("contract", 7), EnvelopeError, "invalid_envelope"),
    "contract-uppercase": (set_body("contract", "Membership"), EnvelopeError, "invalid_envelope"),
    "action-list": (set_body("action", ["admit_member"]), EnvelopeError, "invalid_envelope"),
    "action-null": (set_body("action", None), EnvelopeError, "invalid_envelope"),
    "args-list": (set_body("args", []), EnvelopeError, "invalid_envelope"),
    "args-string": (set_body("args", "{}"), EnvelopeError, "invalid_envelope"),
    "signer-int": (set_body("signer", 12), EnvelopeError, "invalid_envelope"),
    "signer-not-hex": (set_body("signer", "zz"), EnvelopeError, "invalid_envelope"),
    "signer-odd-length": (set_body("signer", "abc"), EnvelopeError, "invalid_envelope"),
    "nonce-int": (set_body("nonce", 5), EnvelopeError, "invalid_envelope"),
    "nonce-empty": (set_body("nonce", ""), EnvelopeError, "invalid_envelope"),
    "nonce-too-long": (set_body("nonce", "n" * (limits.NONCE_BYTES_MAX + 1)), EnvelopeError, "invalid_envelope"),
    "valid-until-string": (set_body("valid_until", "1700000100000"), EnvelopeError, "invalid_envelope"),
    "valid-until-bool": (set_body("valid_until", True), EnvelopeError, "invalid_envelope"),
    "valid-until-float": (set_body("valid_until", 1.7e12), EnvelopeError, "invalid_envelope"),
    "valid-until-negative": (set_body("valid_until", -1), EnvelopeError, "invalid_envelope"),
    # hex must be lowercase
    "signer-uppercase-hex": (upper_signer, EnvelopeError, "invalid_envelope"),
    "signature-uppercase-hex": (upper_signature, EnvelopeError, "invalid_envelope"),
    "signature-empty": (set_envelope("signature", ""), EnvelopeError, "invalid_envelope"),
    # args must be canonical
    "float-in-args": (float_in_args, EnvelopeError, "invalid_envelope"),
    "nested-float-in-args": (nested_float_in_args, EnvelopeError, "invalid_envelope"),
    "big-integer-in-args": (big_integer_in_args, EnvelopeError, "invalid_envelope"),
    # suite
    "unknown-suite": (set_envelope("suite", "rsa-sha1"), UnknownSuiteError, "unknown_suite"),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_envelope_raises_typed_error(case, suite):
    change, error_type, code = MALFORMED[case]
    envelope_json = wire(signed(suite))
    change(envelope_json)
    with pytest.raises(error_type) as raised:
        parse_envelope(to_bytes(envelope_json))
    assert isinstance(raised.value, LedgerInputError)
    assert raised.value.code == code
    assert raised.value.message


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"{", b'{"body":', b"\xff\xfe\x00", b"{'body': {}}"],
    ids=["empty", "text", "open-brace", "truncated", "binary", "single-quotes"],
)
def test_not_json_raises_encoding_error(data):
    with pytest.raises(EncodingError) as raised:
        parse_envelope(data)
    assert raised.value.code == "invalid_encoding"


@pytest.mark.parametrize("value", [[], "envelope", 3, None], ids=["list", "string", "int", "null"])
def test_envelope_not_an_object(value):
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(to_bytes(value))
    assert raised.value.code == "invalid_envelope"


def test_oversize_bytes_rejected_before_parsing():
    data = b" " * (limits.TRANSACTION_BYTES_MAX + 1)
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(data)
    assert raised.value.code == "too_large"


def build_padded_envelope_json(suite, total_bytes: int) -> dict:
    """An Ed25519 envelope whose canonical form is exactly ``total_bytes`` long.

    The signature covers ``args={"pad": []}``; Ed25519 signatures have a fixed length, so the
    size is exact, and a test that needs a valid signature re-signs the padded body.
    """
    value = wire(signed(suite, args={"pad": []}))
    padding = total_bytes - len(encode_canonical(value))
    strings: list[str] = []
    while padding > 0:
        overhead = 2 + (1 if strings else 0)  # quotes, and a comma after the first string
        take = min(limits.STRING_BYTES_MAX, padding - overhead)
        assert take >= 0, "cannot pad to the exact size"
        strings.append("x" * take)
        padding -= take + overhead
    value["body"]["args"] = {"pad": strings}
    return value


def test_envelope_of_exactly_the_limit_is_accepted():
    suite = get_suite("ed25519-sha256")
    padded = build_padded_envelope_json(suite, limits.TRANSACTION_BYTES_MAX)
    envelope = signed(suite, args=padded["body"]["args"])
    assert len(envelope.encoded) == limits.TRANSACTION_BYTES_MAX
    parsed = parse_envelope(envelope.encoded)
    assert parsed.id == envelope.id
    assert is_signature_valid(parsed)


def test_canonical_envelope_one_byte_over_the_limit_is_too_large():
    suite = get_suite("ed25519-sha256")
    value = build_padded_envelope_json(suite, limits.TRANSACTION_BYTES_MAX + 1)
    data = encode_canonical(value)
    assert len(data) == limits.TRANSACTION_BYTES_MAX + 1
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(data)
    assert raised.value.code == "too_large"
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope_value(value)
    assert raised.value.code == "too_large"


def test_signing_an_oversize_body_is_refused(suite):
    args = {"pad": ["x" * limits.STRING_BYTES_MAX] * 17}
    with pytest.raises(EnvelopeError) as raised:
        signed(suite, args=args)
    assert raised.value.code == "too_large"


def test_suite_of_the_other_family_parses_but_its_id_uses_its_own_hash(suite):
    other = get_suite(other_suite_name(suite.name))
    envelope = signed(other)
    parsed = parse_envelope(envelope.encoded)
    assert parsed.suite == other.name
    assert parsed.id == other.compute_hash(parsed.body_bytes)


# Signatures ----------------------------------------------------------------------------------


def test_tampered_body_fails_signature_check(suite):
    envelope = signed(suite)
    envelope_json = wire(envelope)
    envelope_json["body"]["args"]["roles"] = ["admin"]
    tampered = parse_envelope(encode_canonical(envelope_json))
    assert tampered.signature == envelope.signature
    assert tampered.id != envelope.id
    assert not is_signature_valid(tampered)


@pytest.mark.parametrize("field,value", [("nonce", "nonce-2"), ("valid_until", 1_700_000_100_001), ("chain", "other")])
def test_tampered_other_body_fields_fail_signature_check(suite, field, value):
    envelope_json = wire(signed(suite))
    envelope_json["body"][field] = value
    assert not is_signature_valid(parse_envelope(encode_canonical(envelope_json)))


def test_signature_by_another_key_fails(suite):
    # Body names signer 1 but is signed with key 2.
    body = build_body(suite, signer_index=1)
    forged = sign_transaction(suite, make_key(suite, 2).seed, body)
    assert not is_signature_valid(forged)
    assert not is_signature_valid(parse_envelope(forged.encoded))
    assert forged.id == signed(suite).id  # same body, same id: the id does not prove authorship


def test_signature_moved_to_another_signer_fails(suite):
    envelope_json = wire(signed(suite, signer_index=1))
    envelope_json["body"]["signer"] = make_key(suite, 2).hex
    assert not is_signature_valid(parse_envelope(encode_canonical(envelope_json)))


def test_decoded_wire_form_is_what_parse_sees(suite):
    envelope = signed(suite)
    assert parse_envelope_value(decode_json(envelope.encoded)).id == envelope.id

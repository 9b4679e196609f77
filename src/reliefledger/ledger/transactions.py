"""Transactions: the signed envelope, its canonical body and its id.

Wire form (canonical JSON)::

    {"body": {"action", "args", "chain", "contract", "nonce", "signer", "valid_until"},
     "signature": "<hex>", "suite": "ed25519-sha256"}

The signature covers the canonical bytes of ``body``; the id is the suite hash of those same
bytes. The signature is outside the id on purpose: SM2 signatures are randomised, and a client
that re-signs the same body must still get the same id, which is the idempotency key.
"""

import re
from dataclasses import dataclass
from typing import Any

from reliefledger.ledger import limits
from reliefledger.ledger.encoding import check_canonical_value, decode_json, encode_canonical, encode_checked
from reliefledger.ledger.errors import EncodingError, EnvelopeError, LedgerInputError
from reliefledger.ledger.suites import Suite, get_suite

BODY_FIELDS = ("action", "args", "chain", "contract", "nonce", "signer", "valid_until")
ENVELOPE_FIELDS = ("body", "signature", "suite")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HEX_PATTERN = re.compile(r"^(?:[0-9a-f]{2})+$")


@dataclass(frozen=True)
class TransactionBody:
    """What the signer asks the ledger to do."""

    chain: str
    """The chain id; a transaction is valid on one chain only."""
    contract: str
    """The contract that handles it (``membership``...)."""
    action: str
    """The contract's action (``admit_member``...)."""
    args: dict[str, Any]
    """The action's arguments, canonical JSON."""
    signer: str
    """The signer's public key, lowercase hex."""
    nonce: str
    """Any string the client chooses so that two otherwise equal requests differ."""
    valid_until: int
    """Block time (milliseconds since the Unix epoch) after which the transaction is rejected."""

    def to_json(self) -> dict[str, Any]:
        """The body as a JSON object."""
        return {
            "action": self.action,
            "args": self.args,
            "chain": self.chain,
            "contract": self.contract,
            "nonce": self.nonce,
            "signer": self.signer,
            "valid_until": self.valid_until,
        }


@dataclass(frozen=True)
class Envelope:
    """A signed transaction, with its derived bytes computed once."""

    body: TransactionBody
    suite: str
    signature: bytes
    body_bytes: bytes
    """Canonical JSON of the body: what is signed and hashed."""
    id: bytes
    """Suite hash of ``body_bytes``."""
    encoded: bytes
    """Canonical JSON of the whole envelope: what is stored and ordered."""

    @property
    def signer_key(self) -> bytes:
        """The signer's public key as bytes."""
        return bytes.fromhex(self.body.signer)


def sign_transaction(suite: Suite, seed: bytes, body: TransactionBody) -> Envelope:
    """Sign a body with the private key derived from ``seed``."""
    body_bytes = encode_canonical(body.to_json())
    signature = suite.sign(seed, body_bytes)
    return _build_envelope(suite, body, body_bytes, signature)


def parse_envelope(data: bytes) -> Envelope:
    """Parse and check the form of an envelope (not its signature: see ``is_signature_valid``)."""
    if len(data) > limits.TRANSACTION_BYTES_MAX:
        raise EnvelopeError(
            f"transaction of {len(data)} bytes exceeds {limits.TRANSACTION_BYTES_MAX}",
            code="too_large",
        )
    value = decode_json(data)
    return parse_envelope_value(value)


def parse_envelope_value(value: Any) -> Envelope:
    """Check a decoded envelope object field by field and build the ``Envelope``."""
    _require_object(value, ENVELOPE_FIELDS, "envelope")
    suite = get_suite(_require_type(value, "suite", str, "envelope"))
    signature = _require_hex(value, "signature", "envelope")
    raw_body = value["body"]
    _require_object(raw_body, BODY_FIELDS, "body")
    body = TransactionBody(
        chain=_require_text(raw_body, "chain"),
        contract=_require_name(raw_body, "contract"),
        action=_require_name(raw_body, "action"),
        args=_require_type(raw_body, "args", dict, "body"),
        signer=_require_hex(raw_body, "signer", "body").hex(),
        nonce=_require_text(raw_body, "nonce", limit=limits.NONCE_BYTES_MAX),
        valid_until=_require_integer(raw_body, "valid_until"),
    )
    try:
        check_canonical_value(body.args, depth=1)
    except EncodingError as error:
        raise EnvelopeError(f"body.args: {error}") from None
    body_bytes = encode_checked(body.to_json())
    return _build_envelope(suite, body, body_bytes, signature)


def is_signature_valid(envelope: Envelope) -> bool:
    """Verify the envelope's signature with its suite."""
    suite = get_suite(envelope.suite)
    return suite.is_valid_signature(envelope.signer_key, envelope.body_bytes, envelope.signature)


def compute_transaction_id(suite: Suite, body: TransactionBody) -> bytes:
    """The id of a body under a suite: H(canonical body)."""
    return suite.compute_hash(encode_canonical(body.to_json()))


def _build_envelope(suite: Suite, body: TransactionBody, body_bytes: bytes, signature: bytes) -> Envelope:
    # Canonical JSON of {"body", "signature", "suite"}: keys already in order, parts already checked.
    encoded = b'{"body":' + body_bytes + b',"signature":"' + signature.hex().encode() + b'","suite":"' + suite.name.encode() + b'"}'
    if len(encoded) > limits.TRANSACTION_BYTES_MAX:
        raise EnvelopeError(
            f"transaction of {len(encoded)} bytes exceeds {limits.TRANSACTION_BYTES_MAX}",
            code="too_large",
        )
    return Envelope(body, suite.name, signature, body_bytes, suite.compute_hash(body_bytes), encoded)


def _require_object(value: Any, fields: tuple[str, ...], where: str) -> None:
    if type(value) is not dict:
        raise EnvelopeError(f"{where} must be a JSON object")
    missing = [name for name in fields if name not in value]
    if missing:
        raise EnvelopeError(f"{where} is missing {', '.join(missing)}")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise EnvelopeError(f"{where} has unknown fields {', '.join(unknown)}")


def _require_type(value: dict, name: str, kind: type, where: str) -> Any:
    item = value[name]
    if type(item) is not kind:
        raise EnvelopeError(f"{where}.{name} must be a {_KIND_NAMES[kind]}")
    return item


def _require_text(value: dict, name: str, *, limit: int = limits.IDENTIFIER_BYTES_MAX) -> str:
    text = _require_type(value, name, str, "body")
    if not text or len(text.encode()) > limit:
        raise EnvelopeError(f"body.{name} must be a non-empty string of at most {limit} bytes")
    return text


def _require_name(value: dict, name: str) -> str:
    text = _require_type(value, name, str, "body")
    if not NAME_PATTERN.fullmatch(text):
        raise EnvelopeError(f"body.{name} must be lowercase letters, digits and _ ({text!r})")
    return text


def _require_hex(value: dict, name: str, where: str) -> bytes:
    text = _require_type(value, name, str, where)
    if len(text) > 512 or not HEX_PATTERN.fullmatch(text):
        raise EnvelopeError(f"{where}.{name} must be lowercase hex")
    return bytes.fromhex(text)


def _require_integer(value: dict, name: str) -> int:
    number = _require_type(value, name, int, "body")
    if not 0 <= number <= limits.INTEGER_ABSOLUTE_MAX:
        raise EnvelopeError(f"body.{name} must be a non-negative 64-bit integer")
    return number


_KIND_NAMES = {str: "string", dict: "JSON object", int: "integer", list: "list"}

__all__ = [
    "Envelope",
    "LedgerInputError",
    "TransactionBody",
    "compute_transaction_id",
    "is_signature_valid",
    "parse_envelope",
    "parse_envelope_value",
    "sign_transaction",
]

"""Message signatures of the DCI and G2P Connect envelope: ``{signature, header, message}``.

The specifications carry the signature as a string in the body ("Signature of {header}+{message}
body verified using sender's signing public key") in the form they copy from Beckn::

    Signature: namespace="dci", kidId="<sender id>|<key id>|ed25519", algorithm="ed25519",
      created="<unix s>", expires="<unix s>", headers="(created) (expires) digest", signature="<base64>"

They do not fix what is signed, so ReliefLedger states it (docs/interop.md) and both sides of
every test use it: the digest is BLAKE2b-512 of the canonical JSON of ``{"header": …, "message":
…}`` (keys sorted, no spaces, UTF-8), and the Ed25519 signature covers the signing string
``(created): <created>\\n(expires): <expires>\\ndigest: BLAKE-512=<base64 digest>``. The sender's
public keys are its JWKS (``/.well-known/jwks.json``, OKP Ed25519 keys), found by the key id.
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import nacl.exceptions
import nacl.signing

VALIDITY_S = 300
"""How long a signature we make is valid."""
CLOCK_SKEW_S = 60
"""How far a sender's clock may be ahead of ours."""
VALIDITY_MAX_S = 3600
"""The longest validity a signature we accept may claim: a captured message cannot be replayed
later than this (message ids seen are kept longer than that)."""
PARAMETER = re.compile(r'([a-zA-Z]+)="([^"]*)"')


class SignatureError(Exception):
    """A signature that cannot be accepted; ``code`` is the DCI error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SigningKey:
    """One of our Ed25519 signing keys, with its key id."""

    kid: str
    seed: bytes

    @property
    def public_key(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.seed).verify_key)


def encode_canonical(value: Any) -> bytes:
    """The canonical JSON of a value: keys sorted, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_digest(envelope: Mapping[str, Any]) -> bytes:
    """BLAKE2b-512 of the canonical ``{"header", "message"}`` (a missing message is null)."""
    return hashlib.blake2b(encode_canonical({"header": envelope.get("header"), "message": envelope.get("message")}), digest_size=64).digest()


def _signing_string(created: int, expires: int, digest: bytes) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={base64.b64encode(digest).decode()}".encode()


def sign_envelope(key: SigningKey, sender_id: str, envelope: Mapping[str, Any], now_s: int, *, namespace: str = "dci") -> str:
    """The ``signature`` string for an envelope we send."""
    created, expires = now_s, now_s + VALIDITY_S
    signature = nacl.signing.SigningKey(key.seed).sign(_signing_string(created, expires, compute_digest(envelope))).signature
    return (f'Signature: namespace="{namespace}", kidId="{sender_id}|{key.kid}|ed25519", algorithm="ed25519", created="{created}", '
            f'expires="{expires}", headers="(created) (expires) digest", signature="{base64.b64encode(signature).decode()}"')


def verify_envelope(envelope: Mapping[str, Any], sender_id: str, keys: Mapping[str, bytes], now_s: int) -> str:
    """Check an envelope's signature against ``keys`` (public keys by key id) of ``sender_id``;
    answer the key id used, or raise ``SignatureError`` (``err.signature.missing`` or ``…invalid``)."""
    text = envelope.get("signature")
    if not text:
        raise SignatureError("err.signature.missing", "the message carries no signature")
    if type(text) is not str:
        raise SignatureError("err.signature.invalid", "the signature is not a string")
    parameters = dict(PARAMETER.findall(text))
    try:
        signer, kid, algorithm = parameters["kidId"].split("|")
        created, expires = int(parameters["created"]), int(parameters["expires"])
        signature = base64.b64decode(parameters["signature"], validate=True)
    except (KeyError, ValueError) as error:
        raise SignatureError("err.signature.invalid", f"the signature is malformed: {error}") from None
    if algorithm != "ed25519" or parameters.get("algorithm", "ed25519") != "ed25519":
        raise SignatureError("err.signature.invalid", "only ed25519 signatures are accepted")
    if signer != sender_id:
        raise SignatureError("err.signature.invalid", f"the signature names {signer!r}, not the sender {sender_id!r}")
    if not created <= now_s + CLOCK_SKEW_S or not now_s <= expires:
        raise SignatureError("err.signature.invalid", "the signature is expired or not yet valid")
    if expires - created > VALIDITY_MAX_S or created < now_s - VALIDITY_MAX_S - CLOCK_SKEW_S:
        raise SignatureError("err.signature.invalid", f"a signature is valid for at most {VALIDITY_MAX_S} s after it is made")
    public_key = keys.get(kid)
    if public_key is None:
        raise SignatureError("err.signature.invalid", f"the sender publishes no key {kid!r}")
    try:
        nacl.signing.VerifyKey(public_key).verify(_signing_string(created, expires, compute_digest(envelope)), signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        raise SignatureError("err.signature.invalid", "the signature does not verify") from None
    return kid


def to_jwk(kid: str, public_key: bytes) -> dict[str, str]:
    """A public key as a JWKS entry (OKP, Ed25519)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(public_key).rstrip(b"=").decode(), "kid": kid, "use": "sig", "alg": "EdDSA"}


def read_jwks(document: Any) -> dict[str, bytes]:
    """Ed25519 signing keys by key id from a JWKS document (other keys are ignored)."""
    keys = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if isinstance(entry, dict) and entry.get("kty") == "OKP" and entry.get("crv") == "Ed25519" and entry.get("use", "sig") == "sig" \
                and isinstance(entry.get("kid"), str) and isinstance(entry.get("x"), str):
            try:
                raw = base64.urlsafe_b64decode(entry["x"] + "=" * (-len(entry["x"]) % 4))
            except ValueError:
                continue
            if len(raw) == 32:
                keys[entry["kid"]] = raw
    return keys

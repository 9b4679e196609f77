"""OAuth2 client-credentials tokens (DCI authz_core): a partner trades its id and secret for a
short-lived bearer token, a JWT we sign with our interop key (EdDSA) and check on every call."""

import secrets
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reliefledger.interop.settings import UNKNOWN_CLIENT_HASH, Client, InteropSettings, matches_secret


class TokenError(Exception):
    """A token request or a bearer token that is refused; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Grant:
    """What a valid bearer token says: which client, with which scopes."""

    client: Client
    scopes: frozenset[str]


def is_client_secret(settings: InteropSettings, client_id: str, client_secret: str) -> bool:
    """Whether the secret is the client's; as slow for an unknown client as for a wrong secret
    (scrypt: run it off the event loop)."""
    client = settings.clients.get(client_id)
    matches = matches_secret(client.secret_hash if client is not None else UNKNOWN_CLIENT_HASH, client_secret)
    return client is not None and matches


def issue_token(settings: InteropSettings, client_id: str, client_secret: str, requested_scope: str | None, now_s: int, *, checked: bool = False) -> tuple[str, int]:
    """A token for a client whose secret is right (``checked``: already verified with
    ``is_client_secret``), for the scopes asked (all of its own when none are named); answer the
    token and its lifetime in seconds."""
    client = settings.clients.get(client_id)
    if client is None or not (checked or is_client_secret(settings, client_id, client_secret)):
        raise TokenError("unknown client or wrong secret")
    scopes = set(requested_scope.split()) if requested_scope else set(client.scopes)
    beyond = scopes - set(client.scopes)
    if beyond:
        raise TokenError(f"scopes beyond the client's: {', '.join(sorted(beyond))}", status=400)
    claims = {"iss": settings.sender_id, "sub": client.client_id, "aud": settings.sender_id, "scope": " ".join(sorted(scopes)), "iat": now_s,
              "exp": now_s + settings.token_lifetime_s, "jti": secrets.token_hex(8)}
    key = Ed25519PrivateKey.from_private_bytes(settings.key.seed)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": settings.key.kid}), settings.token_lifetime_s


ISSUED_AHEAD_S_MAX = 60
"""A token issued this far ahead of the node's clock is still taken (the clock was stepped back)."""


def check_bearer(settings: InteropSettings, authorization: str | None, scope: str | None, now_s: int) -> Grant:
    """The grant of an ``Authorization: Bearer …`` header, or ``TokenError`` (401 missing, expired
    or forged; 403 without ``scope``, when one is needed)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise TokenError("a bearer token is required (POST /oauth2/client/token)")
    public_key = Ed25519PrivateKey.from_private_bytes(settings.key.seed).public_key()
    try:  # times are checked below against the node's clock, the one that issued the token
        claims = jwt.decode(authorization[7:].strip(), public_key, algorithms=["EdDSA"], audience=settings.sender_id, issuer=settings.sender_id,
                            options={"require": ["exp", "iat", "sub", "scope"], "verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.InvalidTokenError as error:
        raise TokenError(f"the token is not valid: {error}") from None
    if not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int) or claims["exp"] <= now_s:
        raise TokenError("the token has expired")
    if claims["iat"] > now_s + ISSUED_AHEAD_S_MAX:
        raise TokenError("the token is issued in the future")
    client = settings.clients.get(claims["sub"])
    if client is None:
        raise TokenError("the token's client is no longer onboarded")
    scopes = frozenset(str(claims["scope"]).split()) & frozenset(client.scopes)
    if scope is not None and scope not in scopes:
        raise TokenError(f"the token does not carry the scope {scope}", status=403)
    return Grant(client, scopes)

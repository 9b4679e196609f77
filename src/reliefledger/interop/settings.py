"""Who may exchange DCI and G2P Connect messages with this node: ``DIR/interop.toml``.

Each partner system is onboarded as a client: its OAuth2 client id and a hash of its secret (the
secret itself is shown once, when the client is added, and never stored), the sender id its
messages carry, where its callbacks go (the base URI: ``<callback_uri>/registry/on-search`` …;
a request's own ``sender_uri`` is accepted only when it is that base, so a message can never
make this node call anywhere else), its public keys (a JWKS URI or the JWKS inline), the scopes
it may use, the record fields it may receive, and the bearer token (if any) it gave us for its
callback endpoints. Our own signing key (Ed25519) is
``DIR/interop-key.json``, readable by its owner only.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reliefledger.interop.signatures import SigningKey

SETTINGS_FILE = "interop.toml"
KEY_FILE = "interop-key.json"
SCOPES = ("registry.search", "registry.subscribe", "registry.txn-status", "registry.enrolled", "registry.enrollment-updates", "crvs.notify", "disburse.disburse", "mapper.link",
          "mapper.resolve")
"""What a client may be allowed to do."""
RECORD_FIELDS = ("household_id", "region", "status", "members_count", "head_id", "programmes", "person_id", "alive", "death_recorded")
"""The fields a registry record can carry: pseudonymous ledger facts only (no names, no ID numbers)."""
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


class InteropSettingsError(ValueError):
    """``interop.toml`` or the key file cannot be used, with the reason."""


@dataclass(frozen=True)
class Client:
    """One onboarded partner system."""

    client_id: str
    secret_hash: str
    sender_id: str
    callback_uri: str
    scopes: tuple[str, ...]
    fields: tuple[str, ...]
    jwks_uri: str | None = None
    jwks: dict[str, Any] | None = None
    callback_token: str | None = None
    """A bearer token the partner issued us for its callback endpoints (its specifications require one)."""
    budget_account: str | None = None
    """For a client with the scope ``disburse.disburse``: the one programme budget account on the
    money ledger its disbursements are paid from (G2P Connect disburse)."""

    def is_secret(self, secret: str) -> bool:
        """True when ``secret`` is this client's (compared in constant time)."""
        return matches_secret(self.secret_hash, secret)


def matches_secret(stored: str, secret: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (``scrypt$<salt>$<hash>``), compared in constant time."""
    return hmac.compare_digest(hash_secret(secret, bytes.fromhex(stored.split("$")[1])), stored)


UNKNOWN_CLIENT_HASH = "scrypt$" + "00" * 16 + "$" + "00" * 32
"""Compared against when the client id is unknown, so an unknown id takes as long as a wrong secret."""
ID_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")
"""Client and sender ids: printable ASCII, no spaces (the evidence records them as sent)."""


@dataclass(frozen=True)
class CivilRegistrationSettings:
    """The civil registry this node subscribes to (``[civil_registration]`` in ``interop.toml``)."""

    client_id: str
    """The onboarded client that is the civil registry: scope ``crvs.notify``, its base URI as
    ``callback_uri`` (where our subscriptions go) and the token it issued us as ``callback_token``."""
    registrar: str
    """The label of the staff member (a caseworker of the region) who records the births and deaths
    and opens the reviews."""
    public_uri: str
    """Where the civil registry reaches this node's callbacks (``…/registry/notify`` is appended)."""


@dataclass(frozen=True)
class InteropSettings:
    """This node's side of the exchanges."""

    sender_id: str
    key: SigningKey
    clients: dict[str, Client] = field(default_factory=dict)
    token_lifetime_s: int = 3600
    recorder: str = "interop"
    """The label of the staff member (a data officer) whose key records the evidence."""
    civil_registration: CivilRegistrationSettings | None = None
    disburser: str = "disburser"
    """The label of the staff member (a finance officer of the budget accounts' owner) whose key
    signs the transfers of G2P Connect disbursements."""

    def find_by_sender(self, sender_id: str) -> Client | None:
        """The client whose messages carry ``sender_id``."""
        return next((client for client in self.clients.values() if client.sender_id == sender_id), None)


def hash_secret(secret: str, salt: bytes) -> str:
    """``scrypt$<salt>$<hash>`` of a client secret."""
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def read_interop_settings(root: Path) -> InteropSettings | None:
    """The settings of the node in ``root``, or None when it exchanges with nobody (no file)."""
    path = Path(root) / SETTINGS_FILE
    if not path.exists():
        return None
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        clients = {}
        for entry in document.get("clients", []):
            client = Client(entry["client_id"], entry["secret"], entry["sender_id"], entry["callback_uri"].rstrip("/"), tuple(entry["scopes"]),
                            tuple(entry["fields"]), entry.get("jwks_uri"), json.loads(entry["jwks"]) if "jwks" in entry else None, entry.get("callback_token"),
                            entry.get("budget_account"))
            unknown = (set(client.scopes) - set(SCOPES)) | (set(client.fields) - set(RECORD_FIELDS))
            if unknown:
                raise InteropSettingsError(f"client {client.client_id}: unknown scopes or fields {', '.join(sorted(unknown))}")
            if not ID_PATTERN.fullmatch(client.client_id) or not ID_PATTERN.fullmatch(client.sender_id):
                raise InteropSettingsError(f"client {client.client_id!r}: client and sender ids are printable ASCII without spaces")
            if client.client_id in clients or any(other.sender_id == client.sender_id for other in clients.values()):
                raise InteropSettingsError(f"client {client.client_id}: another client has this client id or sender id")
            if client.jwks_uri is None and client.jwks is None:
                raise InteropSettingsError(f"client {client.client_id}: give jwks_uri or jwks (its public keys)")
            _check_budget_account(client.scopes, client.budget_account, f"client {client.client_id}: ")
            clients[client.client_id] = client
        return InteropSettings(document["sender_id"], read_signing_key(Path(root) / KEY_FILE), clients, int(document.get("token_lifetime_s", 3600)),
                               str(document.get("recorder", "interop")), _read_civil_registration(document, clients), str(document.get("disburser", "disburser")))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, InteropSettingsError):
            raise
        raise InteropSettingsError(f"{path}: {error}") from None


def _read_civil_registration(document: dict[str, Any], clients: dict[str, Client]) -> CivilRegistrationSettings | None:
    section = document.get("civil_registration")
    if section is None:
        return None
    settings = CivilRegistrationSettings(str(section["client_id"]), str(section["registrar"]), str(section["public_uri"]).rstrip("/"))
    client = clients.get(settings.client_id)
    if client is None or "crvs.notify" not in client.scopes:
        raise InteropSettingsError(f"civil_registration: {settings.client_id!r} is not a client with the scope crvs.notify")
    if not settings.public_uri.startswith(("http://", "https://")):
        raise InteropSettingsError("civil_registration: public_uri is an http(s) address")
    return settings


def write_civil_registration(root: Path, *, client_id: str, registrar: str, public_uri: str) -> None:
    """Name the civil registry this node subscribes to (once; the client must be onboarded)."""
    path = Path(root) / SETTINGS_FILE
    settings = read_interop_settings(root)
    if settings is None:
        raise InteropSettingsError(f"{path} does not exist: onboard the civil registry as a client first (add-client --scopes crvs.notify)")
    if settings.civil_registration is not None:
        raise InteropSettingsError("a civil registry is already named in interop.toml")
    section = {"client_id": client_id, "registrar": registrar, "public_uri": public_uri}
    _read_civil_registration({"civil_registration": section}, settings.clients)  # refused here, before anything is written
    text = path.read_text(encoding="utf-8")
    _replace_checked(path, text.rstrip("\n") + "\n\n[civil_registration]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in section.items()))


def write_disburser(root: Path, label: str) -> None:
    """Name the staff member who signs the G2P disbursements' transfers (``disburser``, a top-level
    key of ``interop.toml``: written before the first table, replacing one already there)."""
    path = Path(root) / SETTINGS_FILE
    if not path.exists():
        raise InteropSettingsError(f"{path} does not exist: onboard a client first (add-client)")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("disburser =")]
    first_table = next((index for index, line in enumerate(lines) if line.startswith("[")), len(lines))
    while first_table > 0 and not lines[first_table - 1].strip():
        first_table -= 1
    lines.insert(first_table, f"disburser = {json.dumps(label)}")
    _replace_checked(path, "\n".join(lines) + "\n")


def _replace_checked(path: Path, written: str) -> None:
    """Replace ``path`` with ``written`` only when it reads back as TOML (never half a file)."""
    try:
        tomllib.loads(written)
    except tomllib.TOMLDecodeError as error:
        raise InteropSettingsError(f"{path.name} cannot be written: {error}") from None
    temporary = path.with_suffix(".partial")
    temporary.write_text(written, encoding="utf-8")
    os.replace(temporary, path)


def read_signing_key(path: Path) -> SigningKey:
    """Our interop signing key; made (owner-readable only) the first time."""
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"kid": f"key-{secrets.token_hex(4)}", "seed": secrets.token_hex(32)}, file)
    document = json.loads(path.read_text())
    return SigningKey(document["kid"], bytes.fromhex(document["seed"]))


def write_client(root: Path, *, client_id: str, sender_id: str, callback_uri: str, scopes: list[str], fields: list[str], jwks_uri: str | None = None,
                 jwks: dict[str, Any] | None = None, callback_token: str | None = None, node_sender_id: str = "reliefledger",
                 budget_account: str | None = None) -> str:
    """Onboard a client in ``root``'s ``interop.toml`` (made if missing); answer its new secret,
    which is stored only as a hash."""
    path = Path(root) / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else f'# Partner systems (DCI / G2P Connect): docs/interop.md\nsender_id = "{node_sender_id}"\n'
    existing = tomllib.loads(text)
    if any(entry.get("client_id") == client_id or entry.get("sender_id") == sender_id for entry in existing.get("clients", [])):
        raise InteropSettingsError(f"a client with the id {client_id} or the sender id {sender_id} exists")
    if not ID_PATTERN.fullmatch(client_id) or not ID_PATTERN.fullmatch(sender_id) or not ID_PATTERN.fullmatch(node_sender_id):
        raise InteropSettingsError("client and sender ids are printable ASCII without spaces")
    unknown = (set(scopes) - set(SCOPES)) | (set(fields) - set(RECORD_FIELDS))
    if unknown:
        raise InteropSettingsError(f"unknown scopes or fields: {', '.join(sorted(unknown))}")
    if (jwks_uri is None) == (jwks is None):
        raise InteropSettingsError("give exactly one of jwks_uri and jwks")
    _check_budget_account(tuple(scopes), budget_account, "")
    secret = secrets.token_urlsafe(24)
    lines = ["", "[[clients]]", f"client_id = {json.dumps(client_id)}", f"secret = {json.dumps(hash_secret(secret, secrets.token_bytes(16)))}",
             f"sender_id = {json.dumps(sender_id)}", f"callback_uri = {json.dumps(callback_uri)}", f"scopes = {json.dumps(scopes)}",
             f"fields = {json.dumps(fields)}"]
    lines.append(f"jwks_uri = {json.dumps(jwks_uri)}" if jwks_uri is not None else f"jwks = {json.dumps(json.dumps(jwks))}")
    if callback_token is not None:
        lines.append(f"callback_token = {json.dumps(callback_token)}")
    if budget_account is not None:
        lines.append(f"budget_account = {json.dumps(budget_account)}")
    _replace_checked(path, text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    return secret


DISBURSE_SCOPE = "disburse.disburse"
BUDGET_ACCOUNT_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
"""An account id of the money ledger."""


def _check_budget_account(scopes: tuple[str, ...], budget_account: str | None, where: str) -> None:
    """A client that disburses is bound to exactly one budget account, and only such a client is."""
    if (DISBURSE_SCOPE in scopes) != (budget_account is not None):
        raise InteropSettingsError(f"{where}a client has a budget_account exactly when it has the scope {DISBURSE_SCOPE}")
    if budget_account is not None and not BUDGET_ACCOUNT_PATTERN.fullmatch(budget_account):
        raise InteropSettingsError(f"{where}budget_account {budget_account!r} is not an account id")

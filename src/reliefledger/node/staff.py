"""Staff of an agency node: their custodial signing keys and the API tokens that select them.

A caseworker works through the node's API; the node signs each step with the caseworker's own
member key (kept in ``DIR/keys/staff/<label>.json``, mode 0600), so the ledger records who did
what. A bearer token selects the key; only the token's SHA-256 is stored (``DIR/tokens.json``),
so a stolen tokens file signs nothing.
"""

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.keys import KeyFile, read_key, write_key

LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class StaffMember:
    """A staff member as the node knows them."""

    label: str
    """A name for people (no personal data: a work id such as ``chaoyang-cw-01``)."""
    key: KeyFile


class StaffDirectory:
    """The staff keys and token hashes of one chain directory."""

    def __init__(self, directory: ChainDirectory) -> None:
        self.directory = directory
        self.tokens_path = directory.root / "tokens.json"
        self._tokens: dict[str, str] = {}
        self._tokens_mtime_ns = -1

    def get_key_path(self, label: str) -> Path:
        """Where a staff member's key lives."""
        return self.directory.root / "keys" / "staff" / f"{label}.json"

    def add(self, label: str, key: KeyFile) -> str:
        """Store a staff key and return a new bearer token for it (shown once, stored hashed)."""
        if not LABEL_PATTERN.fullmatch(label):
            raise LedgerInputError(f"staff label {label!r}: use lowercase letters, digits, '.', '_', '-'", code="invalid_label")
        path = self.get_key_path(label)
        if path.exists():
            raise LedgerInputError(f"staff member {label} exists", code="staff_exists")
        write_key(path, key)
        token = secrets.token_urlsafe(32)
        tokens = self._read_tokens()
        tokens[hash_token(token)] = label
        descriptor = os.open(self.tokens_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(tokens, handle, indent=2)
        return token

    def authenticate(self, token: str) -> StaffMember | None:
        """The staff member a bearer token selects, or None."""
        label = self._read_tokens().get(hash_token(token))
        return None if label is None else self.get(label)

    def get(self, label: str) -> StaffMember:
        """A staff member by label."""
        return StaffMember(label, read_key(self.get_key_path(label)))

    def _read_tokens(self) -> dict[str, str]:
        """The token hashes, re-read when the file changed (staff added while the node runs)."""
        try:
            mtime = self.tokens_path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if mtime != self._tokens_mtime_ns:
            self._tokens = json.loads(self.tokens_path.read_text())
            self._tokens_mtime_ns = mtime
        return dict(self._tokens)


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex: tokens are random, so a plain hash is enough to hide them."""
    return hashlib.sha256(token.encode()).hexdigest()

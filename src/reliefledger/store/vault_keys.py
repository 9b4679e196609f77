"""Secret key files: an agency's vault master key and the network's pseudonym key.

A chain directory keeps two such files::

    DIR/keys/vault.key      this agency's vault master key (never leaves the agency)
    DIR/keys/network.key    the network key for pseudonyms (shared by the network's agencies,
                            never on the ledger)

A file holds the key as hex and a newline. Keys are drawn from the operating system's generator
here, at the edge. Files are created with mode 0600 and never overwritten: overwriting a vault
master key would make every record in the vault unreadable, and a new network key would give
every person a new pseudonym. A file that others can read is refused, as ssh refuses one.
"""

import os
import stat
from pathlib import Path

from reliefledger.ledger.errors import LedgerInputError

MASTER_KEY_BYTES = 32
"""Length of a vault master key (an AES-256 key)."""

NETWORK_KEY_BYTES = 32
"""Length of a generated network key."""

SECRET_KEY_BYTES_MIN = 32
"""Shortest key a secret key file may hold."""

VAULT_KEY_PATH = Path("keys") / "vault.key"
"""Where a chain directory keeps its agency's vault master key."""

NETWORK_KEY_PATH = Path("keys") / "network.key"
"""Where a chain directory keeps the network key."""


def generate_master_key() -> bytes:
    """A new random vault master key."""
    return os.urandom(MASTER_KEY_BYTES)


def generate_network_key() -> bytes:
    """A new random network key; generate it once per network and share it out of band."""
    return os.urandom(NETWORK_KEY_BYTES)


def write_secret_key(path: Path, data: bytes) -> None:
    """Write a new key file readable by its owner only; refuse to replace an existing one."""
    if type(data) is not bytes or len(data) < SECRET_KEY_BYTES_MIN:
        raise LedgerInputError(f"a secret key must be at least {SECRET_KEY_BYTES_MIN} bytes", code="invalid_key")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LedgerInputError(f"{path} already exists: a key file is never replaced", code="key_exists") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(data.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_secret_key(path: Path) -> bytes:
    """Read a key file; refuse one that is missing, malformed or readable by others."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise LedgerInputError(f"no key file at {path}", code="key_not_found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerInputError(f"{path} cannot be read as a key file ({error})", code="invalid_key_file") from None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise LedgerInputError(f"{path} is readable by others: run 'chmod 600 {path}'", code="key_file_exposed")
    try:
        data = bytes.fromhex(text.strip())
    except ValueError:
        raise LedgerInputError(f"{path} does not hold a hex key", code="invalid_key_file") from None
    if len(data) < SECRET_KEY_BYTES_MIN:
        raise LedgerInputError(f"{path} holds a key shorter than {SECRET_KEY_BYTES_MIN} bytes", code="invalid_key_file")
    return data

"""Key files: a member's or orderer's secret seed with its suite and public key.

Seeds are drawn from the operating system's generator here, at the edge, never inside the
ledger core. Key files are written with mode 0600 and never belong in a repository.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite, get_suite


@dataclass(frozen=True)
class KeyFile:
    """A signing key as stored on disk."""

    suite: Suite
    seed: bytes
    public_key: str
    """Hex of the public key derived from ``seed``."""
    label: str
    """What the key is for: an organisation id or ``orderer``."""

    def to_json(self) -> dict:
        """The file's JSON form."""
        return {"label": self.label, "public_key": self.public_key, "seed": self.seed.hex(), "suite": self.suite.name}


def generate_key(suite: Suite, label: str) -> KeyFile:
    """A new key with a random seed."""
    seed = os.urandom(suite.seed_bytes)
    return KeyFile(suite, seed, suite.compute_public_key(seed).hex(), label)


def write_key(path: Path, key: KeyFile) -> None:
    """Write a key file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(key.to_json(), handle, indent=2)


def read_key(path: Path) -> KeyFile:
    """Read and check a key file; the public key must match the seed."""
    try:
        value = json.loads(Path(path).read_text())
        suite = get_suite(value["suite"])
        seed = bytes.fromhex(value["seed"])
        public_key = value["public_key"]
        label = value.get("label", "")
    except FileNotFoundError:
        raise LedgerInputError(f"no key file at {path}", code="key_not_found") from None
    except (ValueError, KeyError, TypeError) as error:
        raise LedgerInputError(f"{path} is not a key file ({error})", code="invalid_key_file") from None
    if suite.compute_public_key(seed).hex() != public_key:
        raise LedgerInputError(f"{path}: the public key does not match the seed", code="invalid_key_file")
    return KeyFile(suite, seed, public_key, label)

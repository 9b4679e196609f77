"""Shared builders of the vault tests: a fake clock, sample personal data, file scanning."""

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reliefledger.ledger.encoding import decode_json, encode_canonical
from reliefledger.store.vault import Vault
from reliefledger.store.vault_ciphers import compute_wrapping_key

SUITE_NAMES = ("ed25519-sha256", "sm2-sm3")
START_MS = 1_700_000_000_000
MASTER_KEY = bytes(range(32))
OTHER_MASTER_KEY = bytes(range(1, 33))
NETWORK_KEY = bytes([7]) * 32

NAME = "张秀英"
ID_NUMBER = "11010519491231002X"
ADDRESS = "北京市朝阳区幸福路1号院3单元502室 / Xingfu Road 1"
SUBJECT = "ab" * 32
OTHER_SUBJECT = "cd" * 32

PERSON_RECORD = {
    "name": NAME,
    "id_number": ID_NUMBER,
    "address": ADDRESS,
    "household_members": [{"name": "李明", "relation": "儿子", "income_fen_per_month": 180000}],
    "disability": {"category": "肢体", "grade": 2},
    "health": "高血压，需长期服药",
    "income_fen_per_month": 0,
    "receives_minimum_living_allowance": True,
    "notes": None,
}

SECRETS = (NAME, ID_NUMBER, ADDRESS, "李明", "高血压")
"""Personal values that must never appear in the clear: in files, reprs or errors."""


@dataclass
class FakeClock:
    """An injected clock that moves one millisecond each time it is read."""

    now_ms: int = START_MS
    readings: list[int] = field(default_factory=list)

    def __call__(self) -> int:
        self.now_ms += 1
        self.readings.append(self.now_ms)
        return self.now_ms


def create_vault(path: Path, suite_name: str, *, master_key: bytes = MASTER_KEY) -> Vault:
    return Vault.create(path, suite_name=suite_name, master_key=master_key, clock_ms=FakeClock())


def open_vault(path: Path, *, master_key: bytes = MASTER_KEY, busy_timeout_ms: int = 5000) -> Vault:
    return Vault.open(path, master_key=master_key, clock_ms=FakeClock(), busy_timeout_ms=busy_timeout_ms)


def read_vault_bytes(path: Path) -> bytes:
    """Every byte of the vault file, its WAL and its shared-memory index, as one string."""
    parts = [path] + [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def is_in_clear(path: Path, text: str) -> bool:
    """True when ``text`` appears in the vault files in UTF-8 or UTF-16 (SQLite's text encodings)."""
    data = read_vault_bytes(path)
    return any(text.encode(encoding) in data for encoding in ("utf-8", "utf-16-le", "utf-16-be"))


def edit_database(path: Path, statement: str, parameters: tuple = ()) -> None:
    """Change the vault file behind the vault's back, as an attacker or a bad disk would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(statement, parameters)
    finally:
        connection.close()


def read_blob(path: Path, statement: str, parameters: tuple = ()) -> bytes:
    connection = sqlite3.connect(path)
    try:
        return bytes(connection.execute(statement, parameters).fetchone()[0])
    finally:
        connection.close()


def flip_byte(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def read_secrets_of(vault: Vault, record_id: str) -> tuple[bytes, bytes, bytes, dict]:
    """(wrapped key, data key, ciphertext, plaintext value) of a record, unwrapped by hand."""
    identifier = bytes.fromhex(record_id)
    entry = vault.get_entry(record_id)
    wrapped_key = read_blob(vault.path, "SELECT wrapped_key FROM data_keys WHERE record_id=?", (identifier,))
    ciphertext = read_blob(vault.path, "SELECT ciphertext FROM ciphertexts WHERE record_id=?", (identifier,))
    wrapping_key = compute_wrapping_key(vault.suite, vault.cipher, MASTER_KEY)
    key_binding = ["reliefledger/vault/data-key/v1", record_id, entry.subject, entry.kind, entry.owner]
    record_binding = ["reliefledger/vault/record/v1", record_id, entry.subject, entry.kind, entry.owner]
    data_key = vault.cipher.open(wrapping_key, wrapped_key, encode_canonical(key_binding))
    plaintext = vault.cipher.open(data_key, ciphertext, encode_canonical(record_binding))
    return wrapped_key, data_key, ciphertext, decode_json(plaintext)

"""An agency's personal-data vault: encrypted records off the ledger, commitments on it.

Names, identity numbers, addresses, incomes, health and disability data never go on the ledger.
They live in the owning agency's vault, a SQLite file (WAL) of its own, where each record is
encrypted with its own random data key (AES-256-GCM or SM4-GCM, by the vault's suite), and each
data key is stored wrapped under the vault's master key. The ledger holds only the record's
commitment::

    commitment = suite_hash(b"reliefledger/vault/v1\\x00" || salt || canonical JSON of the record)

The 32-byte random salt is encrypted together with the record (the plaintext is the canonical JSON
``{"record": ..., "salt": hex}``), so a commitment cannot be tested against guessed records, and
destroying the data key destroys the salt too: the commitment then links to nothing. That is
crypto-shredding, the way a person's data is erased while the ledger stays append-only.

The associated data of both encryptions binds the record id, subject, kind and owner, so a
ciphertext or wrapped key copied to another row fails authentication instead of answering for
another person. A wrong master key is told apart from a damaged record by a key-check value.

The vault never logs, and its errors and reprs never contain personal data.
"""

import hmac
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from reliefledger.ledger.encoding import JsonValue, decode_json, encode_canonical, encode_checked
from reliefledger.ledger.errors import EncodingError, LedgerInputError, require
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.suites import Suite, get_suite
from reliefledger.store.vault_ciphers import (
    RecordCipher,
    compute_key_check,
    compute_wrapping_key,
    get_record_cipher,
)
from reliefledger.store.vault_keys import MASTER_KEY_BYTES
from reliefledger.store.sqlite_transaction import SqliteTransaction
from reliefledger.store.vault_schema import FORMAT_NAME, SCHEMA_VERSION, STATEMENTS

COMMITMENT_DOMAIN = b"reliefledger/vault/v1\x00"
"""Prefix of the hash input of a record's commitment."""

RECORD_ASSOCIATED_DOMAIN = "reliefledger/vault/record/v1"
"""First element of the associated data that binds a ciphertext to its row."""

DATA_KEY_ASSOCIATED_DOMAIN = "reliefledger/vault/data-key/v1"
"""First element of the associated data that binds a wrapped data key to its row."""

RECORD_ID_BYTES = 16
"""Length of a random record id."""

SALT_BYTES = 32
"""Length of the random salt hidden in each record's plaintext."""

RECORD_BYTES_MAX = 1024 * 1024
"""Largest record, as canonical JSON bytes."""

RECORD_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
"""A record id as text: lowercase hex of 16 bytes."""

PSEUDONYM_PATTERN = re.compile(r"[0-9a-f]+")
"""A subject is a pseudonym (lowercase hex of a keyed hash), never a name or an identity number."""

BUSY_TIMEOUT_MS_DEFAULT = 5000
"""How long a call waits for another connection's lock before giving up."""

SYNCHRONOUS_MODE = "FULL"
"""A put acknowledged to the caller is on disk: its commitment may already be on the ledger."""

PUT_MANY_RECORDS_MAX = 100_000
"""Most records one ``put_many`` stores (one SQLite transaction holds them all in memory)."""

PUT_ITEM_FIELDS = frozenset({"subject", "kind", "record", "owner"})
"""The keys of each item given to ``put_many``: the keyword arguments of ``put``."""


class VaultError(LedgerInputError):
    """The vault cannot do what was asked. ``code`` is one of:

    ``vault_exists``, ``vault_not_found``, ``not_a_vault``, ``unsupported_vault_version``,
    ``invalid_master_key``, ``wrong_master_key`` (opening); ``invalid_subject``,
    ``invalid_kind``, ``invalid_owner``, ``invalid_record``, ``record_too_large``,
    ``invalid_record_id`` (input); ``record_not_found``, ``record_destroyed`` (lookup);
    ``record_corrupt`` (a stored row fails authentication or is missing a part);
    ``compaction_incomplete`` (another connection kept the WAL from being emptied).
    """

    code = "vault_error"


@dataclass(frozen=True)
class VaultReceipt:
    """What ``put`` answers: enough to put the record's commitment on the ledger."""

    record_id: str
    """Hex of the record's random 16-byte id."""
    commitment: str
    """Hex of the record's commitment, the only trace of it the ledger keeps."""
    suite: str
    """The suite whose hash made the commitment."""


@dataclass(frozen=True, repr=False)
class VaultRecord:
    """A decrypted record. Its repr hides the personal data, so logging one leaks nothing."""

    record_id: str
    """Hex of the record's id."""
    subject: str
    """The pseudonym of the person or household the record is about."""
    kind: str
    """What the record holds, e.g. ``identity``, ``income``, ``health``."""
    owner: str
    """The organisation that owns the record."""
    record: dict[str, JsonValue]
    """The personal data itself."""
    commitment: str
    """Hex of the record's commitment, recomputed from the decrypted plaintext."""
    created_ms: int
    """When the vault stored the record, by its injected clock."""

    def __repr__(self) -> str:
        return (
            f"VaultRecord(record_id={self.record_id!r}, subject={self.subject!r}, kind={self.kind!r}, "
            f"owner={self.owner!r}, commitment={self.commitment!r}, created_ms={self.created_ms}, "
            "record=<hidden>)"
        )


@dataclass(frozen=True)
class VaultEntry:
    """What the vault knows about a record without decrypting it; a tombstone once destroyed."""

    record_id: str
    """Hex of the record's id."""
    subject: str
    """The pseudonym of the person or household the record is about."""
    kind: str
    """What the record holds."""
    owner: str
    """The organisation that owns the record."""
    commitment: str
    """Hex of the record's commitment (kept after destruction)."""
    created_ms: int
    """When the vault stored the record."""
    destroyed_ms: int | None
    """When the record's data key and ciphertext were destroyed, or None."""

    @property
    def destroyed(self) -> bool:
        """True once the record has been crypto-shredded."""
        return self.destroyed_ms is not None


@dataclass(frozen=True)
class VaultTombstone:
    """What ``destroy`` answers: the commitment stays, the data it committed to is gone."""

    record_id: str
    """Hex of the destroyed record's id."""
    commitment: str
    """Hex of the commitment, which now links to nothing."""
    destroyed_ms: int
    """When the record was destroyed (the first time, if destroy was repeated)."""


class Vault:
    """One agency's vault file. Safe to share between threads: every call takes one lock.

    Build one with ``Vault.create`` or ``Vault.open``, never with the constructor.
    """

    def __init__(self, *, connection: sqlite3.Connection, path: Path, suite: Suite, master_key: bytes,
                 clock_ms: Callable[[], int]) -> None:
        self.connection = connection
        self.path = path
        self.suite = suite
        self.cipher: RecordCipher = get_record_cipher(suite)
        self._wrapping_key = compute_wrapping_key(suite, self.cipher, master_key)
        self._clock_ms = clock_ms
        self._lock = threading.RLock()

    # Opening -----------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, suite_name: str, master_key: bytes, clock_ms: Callable[[], int],
               busy_timeout_ms: int = BUSY_TIMEOUT_MS_DEFAULT) -> "Vault":
        """Create a new vault file (mode 0600) on ``suite_name``; refuse an existing file."""
        suite = get_suite(suite_name)
        get_record_cipher(suite)
        check_master_key(master_key)
        path = Path(path)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise VaultError(f"{path} already exists", code="vault_exists") from None
        connection = connect(path, busy_timeout_ms)
        with SqliteTransaction(connection) as cursor:
            for statement in STATEMENTS:
                cursor.execute(statement)
            cursor.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", FORMAT_NAME),
                    ("schema_version", str(SCHEMA_VERSION).encode()),
                    ("suite", suite.name.encode()),
                    ("key_check", compute_key_check(suite, master_key)),
                ],
            )
        return cls(connection=connection, path=path, suite=suite, master_key=master_key, clock_ms=clock_ms)

    @classmethod
    def open(cls, path: Path, *, master_key: bytes, clock_ms: Callable[[], int],
             busy_timeout_ms: int = BUSY_TIMEOUT_MS_DEFAULT) -> "Vault":
        """Open an existing vault; its suite is read from the file, the master key is checked."""
        check_master_key(master_key)
        path = Path(path)
        if not path.is_file():
            raise VaultError(f"no vault at {path}", code="vault_not_found")
        connection = connect(path, busy_timeout_ms)
        try:
            meta = read_meta(connection, path)
            if meta.get("format") != FORMAT_NAME:
                raise VaultError(f"{path} is not a ReliefLedger vault", code="not_a_vault")
            if meta.get("schema_version") != str(SCHEMA_VERSION).encode():
                raise VaultError(f"{path} has a vault format this build does not know", code="unsupported_vault_version")
            suite = get_suite(meta.get("suite", b"").decode("utf-8", "replace"))
            if not hmac.compare_digest(meta.get("key_check", b""), compute_key_check(suite, master_key)):
                raise VaultError(f"the master key does not open the vault {path}", code="wrong_master_key")
        except BaseException:
            connection.close()
            raise
        return cls(connection=connection, path=path, suite=suite, master_key=master_key, clock_ms=clock_ms)

    def close(self) -> None:
        """Close the file (SQLite folds the WAL into it)."""
        with self._lock:
            self.connection.close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *exception: Any) -> None:
        self.close()

    # Writing -----------------------------------------------------------------------------------

    def put(self, *, subject: str, kind: str, record: dict[str, JsonValue], owner: str) -> VaultReceipt:
        """Encrypt and store a record under a fresh data key; answer its id and commitment.

        The row is durable (synchronous FULL) before this returns, so the commitment can go on
        the ledger at once.
        """
        return self.put_many([{"kind": kind, "owner": owner, "record": record, "subject": subject}])[0]

    def put_many(self, items: list[dict[str, Any]]) -> list[VaultReceipt]:
        """Encrypt and store many records in one SQLite transaction; answer their receipts in order.

        Each item is a dict with the keyword arguments of ``put`` (``subject``, ``kind``,
        ``record``, ``owner``), and each record gets its own id, salt and data key exactly as
        ``put`` gives it. All items are checked and sealed before anything is written, and the
        rows go in one transaction: either every record is stored (durably, synchronous FULL) or,
        on any error, none is. One transaction for thousands of records is what makes a bulk
        import fast: a ``put`` each would wait for the disk once per record.
        """
        if type(items) is not list or len(items) > PUT_MANY_RECORDS_MAX:
            raise VaultError(f"put_many takes a list of at most {PUT_MANY_RECORDS_MAX} items", code="invalid_record")
        sealed = [self._seal_item(item) for item in items]
        in_key_order = sorted(sealed)  # random ids: sorted, each B-tree is walked once, left to right
        with self._lock, SqliteTransaction(self.connection) as cursor:
            created_ms = self._read_clock()
            cursor.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [(record_id, subject, kind, owner, commitment, created_ms)
                 for record_id, subject, kind, owner, commitment, _, _ in in_key_order],
            )
            cursor.executemany("INSERT INTO data_keys VALUES (?, ?)", [(row[0], row[5]) for row in in_key_order])
            cursor.executemany("INSERT INTO ciphertexts VALUES (?, ?)", [(row[0], row[6]) for row in in_key_order])
        return [VaultReceipt(row[0].hex(), row[4].hex(), self.suite.name) for row in sealed]

    def destroy(self, record_id: str, *, compact: bool = True) -> VaultTombstone:
        """Crypto-shred a record: delete its wrapped data key and ciphertext, keep a tombstone.

        Both rows go in one transaction, with SQLite's ``secure_delete`` on so the freed bytes
        are overwritten with zeros. With ``compact`` (the default), the vault is then compacted
        so no copy of the wrapped key survives in the WAL or in free pages; to erase many
        records, pass ``compact=False`` and call ``compact`` once at the end. Destroying a
        destroyed record answers its tombstone again, so an interrupted erasure can be retried.
        """
        identifier = parse_record_id(record_id)
        with self._lock:
            with SqliteTransaction(self.connection) as cursor:
                row = cursor.execute(
                    "SELECT commitment, destroyed_ms FROM records WHERE record_id=?", (identifier,)
                ).fetchone()
                if row is None:
                    raise VaultError(f"no record {record_id} in the vault", code="record_not_found")
                commitment, destroyed_ms = bytes(row[0]), row[1]
                if destroyed_ms is None:
                    destroyed_ms = self._read_clock()
                    cursor.execute("DELETE FROM data_keys WHERE record_id=?", (identifier,))
                    cursor.execute("DELETE FROM ciphertexts WHERE record_id=?", (identifier,))
                    cursor.execute("UPDATE records SET destroyed_ms=? WHERE record_id=?", (destroyed_ms, identifier))
            if compact:
                self.compact()
        return VaultTombstone(record_id, commitment.hex(), destroyed_ms)

    def compact(self) -> None:
        """Rebuild the file without free pages and empty the WAL, so destroyed keys are gone.

        ``VACUUM`` copies only live rows into a fresh file; ``wal_checkpoint(TRUNCATE)`` moves
        every page into the main file and truncates the WAL to zero bytes. Raises
        ``compaction_incomplete`` when another connection's reader kept the WAL from emptying:
        call again once it has finished.
        """
        incomplete = VaultError(
            "another connection is using the vault: it was not compacted; call compact again",
            code="compaction_incomplete",
        )
        with self._lock:
            try:
                self.connection.execute("VACUUM")
                busy, _, _ = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.OperationalError:
                raise incomplete from None
            if busy:
                raise incomplete

    # Reading -----------------------------------------------------------------------------------

    def get(self, record_id: str) -> VaultRecord:
        """Decrypt a record, checking that it is the one its row and commitment describe."""
        identifier = parse_record_id(record_id)
        with self._lock:
            entry = self._read_entry(identifier)
            if entry.destroyed:
                raise VaultError(f"record {record_id} was destroyed", code="record_destroyed")
            wrapped_key = self._read_blob("SELECT wrapped_key FROM data_keys WHERE record_id=?", identifier)
            ciphertext = self._read_blob("SELECT ciphertext FROM ciphertexts WHERE record_id=?", identifier)
        if wrapped_key is None or ciphertext is None:
            raise VaultError(f"record {record_id} is missing its data key or ciphertext", code="record_corrupt")
        data_key = self.cipher.open(
            self._wrapping_key, wrapped_key,
            compute_associated_data(DATA_KEY_ASSOCIATED_DOMAIN, identifier, entry.subject, entry.kind, entry.owner),
        )
        if data_key is None:
            raise VaultError(f"the data key of record {record_id} fails authentication", code="record_corrupt")
        plaintext = self.cipher.open(
            data_key, ciphertext,
            compute_associated_data(RECORD_ASSOCIATED_DOMAIN, identifier, entry.subject, entry.kind, entry.owner),
        )
        if plaintext is None:
            raise VaultError(f"the ciphertext of record {record_id} fails authentication", code="record_corrupt")
        record, commitment = self._open_plaintext(record_id, plaintext)
        if not hmac.compare_digest(commitment.hex(), entry.commitment):
            raise VaultError(f"record {record_id} does not match its stored commitment", code="record_corrupt")
        return VaultRecord(record_id, entry.subject, entry.kind, entry.owner, record, entry.commitment, entry.created_ms)

    def get_entry(self, record_id: str) -> VaultEntry:
        """What the vault knows about a record without decrypting it (also for a tombstone)."""
        identifier = parse_record_id(record_id)
        with self._lock:
            return self._read_entry(identifier)

    def list_records(self, subject: str) -> list[VaultEntry]:
        """Every record about ``subject``, destroyed ones included, oldest first."""
        self._check_subject(subject)
        with self._lock:
            rows = self.connection.execute(
                "SELECT record_id, subject, kind, owner, commitment, created_ms, destroyed_ms FROM records "
                "WHERE subject=? ORDER BY created_ms, record_id",
                (subject,),
            ).fetchall()
        return [make_entry(row) for row in rows]

    def verify_commitment(self, record_id: str, commitment: str) -> bool:
        """True when ``commitment`` (hex, e.g. read from the ledger) commits to this record.

        Recomputed from the decrypted plaintext; raises ``record_destroyed`` for a destroyed
        record, whose commitment can no longer be checked by anyone.
        """
        stored = self.get(record_id)
        return type(commitment) is str and hmac.compare_digest(stored.commitment, commitment.lower())

    # Helpers -----------------------------------------------------------------------------------

    def _seal_item(self, item: dict[str, Any]) -> tuple[bytes, str, str, str, bytes, bytes, bytes]:
        """(record id, subject, kind, owner, commitment, wrapped key, ciphertext) of one put_many item.

        The same checks and the same sealing as ``put``, without the write.
        """
        if type(item) is not dict or set(item) != PUT_ITEM_FIELDS:
            raise VaultError("each put_many item is a dict of subject, kind, record and owner", code="invalid_record")
        subject, kind, owner, record = item["subject"], item["kind"], item["owner"], item["record"]
        self._check_subject(subject)
        check_identifier(kind, "kind")
        check_identifier(owner, "owner")
        record_bytes = encode_record(record)
        record_id, salt, data_key = os.urandom(RECORD_ID_BYTES), os.urandom(SALT_BYTES), self.cipher.generate_key()
        commitment = compute_commitment(self.suite, salt, record_bytes)
        plaintext = encode_checked({"record": record, "salt": salt.hex()})
        ciphertext = self.cipher.seal(
            data_key, plaintext, compute_associated_data(RECORD_ASSOCIATED_DOMAIN, record_id, subject, kind, owner)
        )
        wrapped_key = self.cipher.seal(
            self._wrapping_key, data_key,
            compute_associated_data(DATA_KEY_ASSOCIATED_DOMAIN, record_id, subject, kind, owner),
        )
        return record_id, subject, kind, owner, commitment, wrapped_key, ciphertext


    def _check_subject(self, subject: str) -> None:
        length = 2 * len(self.suite.compute_hash(b""))
        if type(subject) is not str or len(subject) != length or not PSEUDONYM_PATTERN.fullmatch(subject):
            raise VaultError(
                f"a subject is a pseudonym: {length} lowercase hex characters, never a name or an identity number",
                code="invalid_subject",
            )

    def _read_clock(self) -> int:
        now_ms = self._clock_ms()
        require(type(now_ms) is int and now_ms >= 0, "the vault's clock must answer a non-negative int of ms")
        return now_ms

    def _read_entry(self, identifier: bytes) -> VaultEntry:
        row = self.connection.execute(
            "SELECT record_id, subject, kind, owner, commitment, created_ms, destroyed_ms FROM records "
            "WHERE record_id=?",
            (identifier,),
        ).fetchone()
        if row is None:
            raise VaultError(f"no record {identifier.hex()} in the vault", code="record_not_found")
        return make_entry(row)

    def _read_blob(self, query: str, identifier: bytes) -> bytes | None:
        row = self.connection.execute(query, (identifier,)).fetchone()
        return None if row is None or type(row[0]) is not bytes else row[0]

    def _open_plaintext(self, record_id: str, plaintext: bytes) -> tuple[dict[str, JsonValue], bytes]:
        """The record and its recomputed commitment, from an authenticated plaintext."""
        malformed = VaultError(f"record {record_id} decrypts to a malformed plaintext", code="record_corrupt")
        try:
            value = decode_json(plaintext)
            if type(value) is not dict or set(value) != {"record", "salt"} or type(value["salt"]) is not str:
                raise malformed
            salt = bytes.fromhex(value["salt"])
            record_bytes = encode_record(value["record"])
        except (EncodingError, VaultError, ValueError):
            raise malformed from None
        if len(salt) != SALT_BYTES:
            raise malformed
        return value["record"], compute_commitment(self.suite, salt, record_bytes)


def compute_commitment(suite: Suite, salt: bytes, record_bytes: bytes) -> bytes:
    """The suite hash of the domain, the salt and the record's canonical JSON."""
    return suite.compute_hash(COMMITMENT_DOMAIN + salt + record_bytes)


def compute_associated_data(domain: str, record_id: bytes, subject: str, kind: str, owner: str) -> bytes:
    """Canonical JSON of the row a sealed value belongs to (a list, so no two rows collide)."""
    return encode_checked([domain, record_id.hex(), subject, kind, owner])


def encode_record(record: dict[str, JsonValue]) -> bytes:
    """Canonical JSON of a record, or ``invalid_record`` / ``record_too_large``."""
    if type(record) is not dict:
        raise VaultError("a record must be a JSON object", code="invalid_record")
    try:
        record_bytes = encode_canonical(record)
    except EncodingError as error:
        raise VaultError(f"the record has no canonical JSON form: {error}", code="invalid_record") from None
    if len(record_bytes) > RECORD_BYTES_MAX:
        raise VaultError(f"a record is at most {RECORD_BYTES_MAX} bytes of JSON", code="record_too_large")
    return record_bytes


def parse_record_id(record_id: str) -> bytes:
    """The 16 bytes of a record id given as 32 lowercase hex characters."""
    if type(record_id) is not str or not RECORD_ID_PATTERN.fullmatch(record_id):
        raise VaultError("a record id is 32 lowercase hex characters", code="invalid_record_id")
    return bytes.fromhex(record_id)


def check_identifier(value: str, name: str) -> None:
    """Raise ``invalid_<name>`` unless ``value`` is a lowercase identifier (as organisation ids)."""
    if type(value) is not str or not IDENTIFIER_PATTERN.fullmatch(value):
        raise VaultError(
            f"the {name} must be 1 to 64 lowercase letters, digits, '.', '_', '-'", code=f"invalid_{name}"
        )


def check_master_key(master_key: bytes) -> None:
    """Raise ``invalid_master_key`` unless the key is 32 bytes."""
    if type(master_key) is not bytes or len(master_key) != MASTER_KEY_BYTES:
        raise VaultError(f"a vault master key is {MASTER_KEY_BYTES} bytes", code="invalid_master_key")


def make_entry(row: tuple) -> VaultEntry:
    """A ``VaultEntry`` from a ``records`` row."""
    record_id, subject, kind, owner, commitment, created_ms, destroyed_ms = row
    return VaultEntry(bytes(record_id).hex(), subject, kind, owner, bytes(commitment).hex(), created_ms, destroyed_ms)


def connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection in WAL mode, fully synchronous, overwriting deleted content with zeros."""
    try:
        connection = sqlite3.connect(
            path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS_MODE}")
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as error:
        raise VaultError(f"{path} is not a ReliefLedger vault: {error}", code="not_a_vault") from None
    return connection


def read_meta(connection: sqlite3.Connection, path: Path) -> dict[str, bytes]:
    """The ``meta`` table as a dict; ``not_a_vault`` when there is none."""
    try:
        rows = connection.execute("SELECT name, value FROM meta").fetchall()
    except sqlite3.DatabaseError:
        raise VaultError(f"{path} is not a ReliefLedger vault", code="not_a_vault") from None
    return {name: bytes(value) for name, value in rows}


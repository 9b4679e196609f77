"""The SQLite (WAL) block store: blocks, results, world state, transaction index, mempool.

A block is committed with its results, state writes, index entries and the removal of its
settled mempool rows in one SQLite transaction, so a crash leaves either all of it or none of it.
Height 0 holds the genesis document, so the tip is always a row.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import orjson

from reliefledger.ledger.blocks import Block, BlockHeader
from reliefledger.ledger.encoding import encode_canonical, encode_checked
from reliefledger.ledger.errors import LedgerInputError, require
from reliefledger.ledger.execute import BlockOutcome
from reliefledger.ledger.genesis import Genesis, parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import Envelope, parse_envelope_value
from reliefledger.store.schema import SCHEMA_VERSION, STATEMENTS
from reliefledger.store.sqlite_transaction import SqliteTransaction

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL")


class StoreError(LedgerInputError):
    """The store cannot be opened or does not hold what was asked for."""

    code = "store_error"


@dataclass(frozen=True)
class Tip:
    """The last committed block."""

    height: int
    hash: bytes
    time_ms: int
    state_digest: bytes


@dataclass(frozen=True)
class StoredBlock:
    """A committed block as stored, with its commit record."""

    height: int
    hash: bytes
    header_bytes: bytes
    """Canonical header JSON (at height 0, the genesis document)."""
    orderer_signature: bytes
    transactions_bytes: bytes
    results_bytes: bytes
    """Canonical JSON [[id hex, code], ...] in block order."""
    result_root: bytes
    state_digest: bytes

    @property
    def header(self) -> BlockHeader | None:
        """The parsed header; None at height 0. Parsed on access, so a damaged row fails here."""
        return None if self.height == 0 else BlockHeader.from_json(orjson.loads(self.header_bytes))

    @property
    def results(self) -> list[list[Any]]:
        """[[id hex, code], ...] in block order."""
        return orjson.loads(self.results_bytes)

    def get_envelopes(self) -> list[Envelope]:
        """Parse the stored envelopes (raises LedgerInputError when a byte was changed)."""
        return [parse_envelope_value(value) for value in orjson.loads(self.transactions_bytes)]


@dataclass(frozen=True)
class TransactionLocation:
    """Where an id was first committed, and how it ended."""

    height: int
    position: int
    code: ResultCode


class BlockStore:
    """One peer's SQLite store. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path, *, synchronous: str = "FULL", read_only: bool = False) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise StoreError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}")
        try:
            if read_only:
                self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            else:
                self.connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.execute(f"PRAGMA synchronous={synchronous}")
            self.connection.execute("PRAGMA cache_size=-65536")
            self.connection.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not a ReliefLedger store: {error}") from None
        self._genesis: Genesis | None = None

    def close(self) -> None:
        """Close the connection (a checkpoint folds the WAL into the database file)."""
        self.connection.close()

    def initialise(self, genesis: Genesis, writes: dict[str, Any], state_digest: bytes) -> None:
        """Create the schema and commit the genesis; refuse a store founded by another genesis."""
        with self._transaction() as cursor:
            for statement in STATEMENTS:
                cursor.execute(statement)
            row = cursor.execute("SELECT value FROM meta WHERE name='genesis'").fetchone()
            document = encode_canonical(genesis.document)
            if row is not None:
                if bytes(row[0]) != document:
                    raise StoreError(f"{self.path} already holds a chain with another genesis")
                return
            cursor.execute("INSERT INTO meta VALUES ('genesis', ?)", (document,))
            cursor.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION).encode(),))
            cursor.execute(
                "INSERT INTO blocks VALUES (0, ?, ?, x'', x'5b5d', x'5b5d', ?, ?)",
                (genesis.compute_hash(), document, genesis.suite.compute_hash(b""), state_digest),
            )
            self._write_state(cursor, writes, 0)

    def is_initialised(self) -> bool:
        """True when the store holds a genesis."""
        try:
            return self.connection.execute("SELECT 1 FROM meta WHERE name='genesis'").fetchone() is not None
        except sqlite3.OperationalError:
            return False

    def get_genesis(self) -> Genesis:
        """The chain's genesis, parsed once."""
        if self._genesis is None:
            if not self.is_initialised():
                raise StoreError(f"{self.path} holds no chain: run 'reliefledger init' first")
            row = self.connection.execute("SELECT value FROM meta WHERE name='genesis'").fetchone()
            self._genesis = parse_genesis(orjson.loads(row[0]))
        return self._genesis

    def get_tip(self) -> Tip:
        """The last committed block (height 0 when only the genesis is there)."""
        height, block_hash, header, state_digest = self.connection.execute(
            "SELECT height, hash, header, state_digest FROM blocks ORDER BY height DESC LIMIT 1"
        ).fetchone()
        time_ms = self.get_genesis().time_ms if height == 0 else orjson.loads(header)["time_ms"]
        return Tip(height, bytes(block_hash), time_ms, bytes(state_digest))

    def get_tip_height(self) -> int:
        """The highest stored height, read without parsing any row."""
        return self.connection.execute("SELECT MAX(height) FROM blocks").fetchone()[0]

    def get_genesis_bytes(self) -> bytes:
        """The genesis document as kept in ``meta`` (what the node loads at start)."""
        row = self.connection.execute("SELECT value FROM meta WHERE name='genesis'").fetchone()
        return b"" if row is None else bytes(row[0])

    def get(self, key: str) -> Any | None:
        """The committed value at ``key`` (the executor's ``StateReader``)."""
        row = self.connection.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def is_committed_id(self, transaction_id: bytes) -> bool:
        """True when an earlier block claimed this id."""
        row = self.connection.execute("SELECT 1 FROM transaction_index WHERE id=?", (transaction_id,)).fetchone()
        return row is not None

    def get_transaction_location(self, transaction_id: bytes) -> TransactionLocation | None:
        """Where the id was first committed, or None."""
        row = self.connection.execute(
            "SELECT height, position, code FROM transaction_index WHERE id=?", (transaction_id,)
        ).fetchone()
        return None if row is None else TransactionLocation(row[0], row[1], ResultCode(row[2]))

    def commit_block(self, block: Block, block_hash: bytes, outcome: BlockOutcome, settled_sequences: Sequence[int]) -> None:
        """Write a block, its results, state writes and index entries, and settle its mempool rows."""
        height = block.header.height
        envelopes = b"[" + b",".join(envelope.encoded for envelope in block.transactions) + b"]"
        results = encode_canonical([[result.id.hex(), int(result.code)] for result in outcome.results])
        with self._transaction() as cursor:
            (tip_height,) = cursor.execute("SELECT MAX(height) FROM blocks").fetchone()
            require(tip_height == height - 1, f"block {height} does not extend the tip {tip_height}")
            cursor.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (height, block_hash, block.header.encode(), block.orderer_signature, envelopes, results,
                 outcome.result_root, outcome.state_digest),
            )
            cursor.executemany(
                "INSERT INTO transaction_index VALUES (?, ?, ?, ?)",
                [(result.id, height, position, int(result.code))
                 for position, result in enumerate(outcome.results) if result.code.claims_id],
            )
            self._write_state(cursor, outcome.writes, height)
            cursor.executemany("DELETE FROM mempool WHERE sequence=?", [(sequence,) for sequence in settled_sequences])

    def get_block(self, height: int) -> StoredBlock | None:
        """The stored block at ``height`` or None."""
        row = self.connection.execute("SELECT * FROM blocks WHERE height=?", (height,)).fetchone()
        if row is None:
            return None
        height, block_hash, header, signature, transactions, results, result_root, state_digest = row
        return StoredBlock(
            height=height,
            hash=bytes(block_hash),
            header_bytes=bytes(header),
            orderer_signature=bytes(signature),
            transactions_bytes=bytes(transactions),
            results_bytes=bytes(results),
            result_root=bytes(result_root),
            state_digest=bytes(state_digest),
        )

    def iterate_blocks(self, start_height: int = 1) -> Iterator[StoredBlock]:
        """Every stored block from ``start_height`` upward."""
        height = start_height
        while (block := self.get_block(height)) is not None:
            yield block
            height += 1

    def iterate_state_prefix(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, decoded value) whose key starts with ``prefix``, sorted by key."""
        query = "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key"
        for key, value in self.connection.execute(query, (prefix, prefix + "\U0010ffff")):
            yield key, orjson.loads(value)

    def iterate_state_changed(self, prefix: str, after_height: int, up_to_height: int) -> Iterator[tuple[str, Any, int]]:
        """(key, decoded value, height of last write) of every key under ``prefix`` last written
        after ``after_height`` and at most at ``up_to_height``, sorted by key: what an incremental
        export reads. Call it inside ``read_snapshot`` so every prefix sees the same blocks."""
        query = "SELECT key, value, height FROM state WHERE key >= ? AND key < ? AND height > ? AND height <= ? ORDER BY key"
        for key, value, height in self.connection.execute(query, (prefix, prefix + "\U0010ffff", after_height, up_to_height)):
            yield key, orjson.loads(value), height

    def read_snapshot(self) -> "ReadSnapshot":
        """A read transaction: every query inside it sees the store as of one committed block, even
        while the node goes on committing (SQLite WAL readers see a fixed snapshot)."""
        return ReadSnapshot(self.connection)

    def iterate_state(self) -> Iterator[tuple[str, bytes, int]]:
        """Every state row (key, value bytes, height of last write), sorted by key."""
        for key, value, height in self.connection.execute("SELECT key, value, height FROM state ORDER BY key"):
            yield key, bytes(value), height

    def iterate_transaction_index(self) -> Iterator[tuple[bytes, int, int, int]]:
        """Every index row (id, height, position, code)."""
        for row in self.connection.execute("SELECT id, height, position, code FROM transaction_index ORDER BY id"):
            yield bytes(row[0]), row[1], row[2], row[3]

    def append_mempool(self, envelopes: Iterable[Envelope]) -> list[int]:
        """Durably record accepted transactions; returns their sequence numbers."""
        rows = [(envelope.encoded,) for envelope in envelopes]
        if not rows:
            return []
        with self._transaction() as cursor:
            cursor.executemany("INSERT INTO mempool (envelope) VALUES (?)", rows)
            (last,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
        # One writer inside one SQLite transaction: the new rowids are consecutive.
        return list(range(last - len(rows) + 1, last + 1))

    def list_mempool(self) -> list[tuple[int, bytes]]:
        """Every unsettled accepted transaction (sequence, envelope bytes), oldest first."""
        return [(row[0], bytes(row[1])) for row in self.connection.execute("SELECT sequence, envelope FROM mempool ORDER BY sequence")]

    def delete_mempool(self, sequences: Sequence[int]) -> None:
        """Drop mempool rows that need no ordering (already committed)."""
        with self._transaction() as cursor:
            cursor.executemany("DELETE FROM mempool WHERE sequence=?", [(sequence,) for sequence in sequences])

    def _write_state(self, cursor: sqlite3.Cursor, writes: dict[str, Any], height: int) -> None:
        # The write set was checked whole when its state digest was computed (compute_state_digest).
        upserts = [(key, encode_checked(value), height) for key, value in writes.items() if value is not None]
        deletes = [(key,) for key, value in writes.items() if value is None]
        cursor.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", upserts)
        cursor.executemany("DELETE FROM state WHERE key=?", deletes)

    def _transaction(self) -> SqliteTransaction:
        return SqliteTransaction(self.connection)



class ReadSnapshot:
    """``with store.read_snapshot():`` — one consistent read transaction on the store's connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> "ReadSnapshot":
        self.connection.execute("BEGIN")
        return self

    def __exit__(self, *exception: object) -> None:
        self.connection.execute("COMMIT")

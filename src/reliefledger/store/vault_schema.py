"""The SQLite schema of an agency's personal-data vault.

``records`` keeps one row per record for ever: who it is about (a pseudonym), what kind it is,
which organisation owns it, its commitment and when it was created and destroyed. The secrets live
in two other tables, so that destroying a record is deleting two rows: ``data_keys`` holds each
record's data key wrapped under the vault's master key, ``ciphertexts`` the encrypted record.
A destroyed record keeps its ``records`` row as a tombstone: the ledger's commitment still names
a row, which now links to nothing.
"""

SCHEMA_VERSION = 1

FORMAT_NAME = b"reliefledger-vault"
"""The ``meta`` value that marks a SQLite file as a vault."""

STATEMENTS = (
    """CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE records (
        record_id BLOB PRIMARY KEY,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        commitment BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        destroyed_ms INTEGER
    ) WITHOUT ROWID""",
    "CREATE INDEX records_by_subject ON records (subject, created_ms)",
    """CREATE TABLE data_keys (
        record_id BLOB PRIMARY KEY REFERENCES records (record_id),
        wrapped_key BLOB NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE ciphertexts (
        record_id BLOB PRIMARY KEY REFERENCES records (record_id),
        ciphertext BLOB NOT NULL
    )""",
)

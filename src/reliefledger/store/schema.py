"""The SQLite schema of a peer's store.

Blocks are append-only by height (the cheap insert order for SQLite); a block's envelopes are one
blob, and its results one blob, so a commit writes few rows. ``transaction_index`` maps an id to
where it was first committed: the id is the idempotency key. ``mempool`` holds transactions a
client was told were accepted (HTTP 202) until a committed block settles them, so a crash cannot
lose them.
"""

SCHEMA_VERSION = 1

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS meta (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS blocks (
        height INTEGER PRIMARY KEY,
        hash BLOB NOT NULL,
        header BLOB NOT NULL,
        orderer_signature BLOB NOT NULL,
        transactions BLOB NOT NULL,
        results BLOB NOT NULL,
        result_root BLOB NOT NULL,
        state_digest BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS transaction_index (
        id BLOB PRIMARY KEY,
        height INTEGER NOT NULL,
        position INTEGER NOT NULL,
        code INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS state (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        height INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS mempool (
        sequence INTEGER PRIMARY KEY,
        envelope BLOB NOT NULL
    )""",
)

"""One SQLite write transaction as a context manager, shared by the block store and the vault."""

import sqlite3
from typing import Any


class SqliteTransaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception: all of a write or none of it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Cursor:
        self.cursor = self.connection.cursor()
        self.cursor.execute("BEGIN IMMEDIATE")
        return self.cursor

    def __exit__(self, kind: type | None, value: BaseException | None, traceback: Any) -> None:
        if kind is None:
            self.cursor.execute("COMMIT")
        else:
            self.cursor.execute("ROLLBACK")

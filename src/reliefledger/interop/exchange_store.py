"""What the interoperability service must remember across restarts: asynchronous transactions and
their results (for ``txn/status``), message ids seen (duplicates are refused), subscriptions and
how far their notifications have gone. One SQLite file, ``DIR/interop.sqlite``, written in
transactions: a crash loses nothing acknowledged."""

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    sender_id TEXT NOT NULL, transaction_id TEXT NOT NULL, kind TEXT NOT NULL, correlation_id TEXT NOT NULL,
    reference_ids TEXT NOT NULL, status TEXT NOT NULL, response TEXT, created_ms INTEGER NOT NULL,
    PRIMARY KEY (sender_id, transaction_id, kind));
CREATE INDEX IF NOT EXISTS transactions_by_correlation ON transactions (sender_id, correlation_id);
CREATE TABLE IF NOT EXISTS messages (sender_id TEXT NOT NULL, message_id TEXT NOT NULL, received_ms INTEGER NOT NULL, PRIMARY KEY (sender_id, message_id));
CREATE TABLE IF NOT EXISTS subscriptions (
    code TEXT PRIMARY KEY, registry TEXT NOT NULL, sender_id TEXT NOT NULL, reg_event_type TEXT NOT NULL, filter_type TEXT, filter TEXT NOT NULL,
    notify_record_type TEXT NOT NULL, status TEXT NOT NULL, created_ms INTEGER NOT NULL, after_height INTEGER NOT NULL, purpose TEXT);
"""


class ExchangeStore:
    """The service's memory (thread-safe: the API and the notifier share it)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA)
        if "purpose" not in {row[1] for row in self.connection.execute("PRAGMA table_info(subscriptions)")}:  # a store made before purposes
            self.connection.execute("ALTER TABLE subscriptions ADD COLUMN purpose TEXT")
        self.lock = threading.Lock()

    def close(self) -> None:
        self.connection.close()

    def remember_message(self, sender_id: str, message_id: str, now_ms: int) -> bool:
        """Note a message id; False when the sender used it before (a duplicate)."""
        with self.lock:
            try:
                self.connection.execute("INSERT INTO messages VALUES (?, ?, ?)", (sender_id, message_id, now_ms))
                return True
            except sqlite3.IntegrityError:
                return False

    def forget_message(self, sender_id: str, message_id: str) -> None:
        """Undo ``remember_message`` (the message could not be taken after all)."""
        with self.lock:
            self.connection.execute("DELETE FROM messages WHERE sender_id=? AND message_id=?", (sender_id, message_id))

    def put_transaction(self, sender_id: str, transaction_id: str, kind: str, correlation_id: str, reference_ids: list[str], status: str,
                        response: dict[str, Any] | None, now_ms: int) -> None:
        """Record (or update) a transaction's status and the message that answered it."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    (sender_id, transaction_id, kind, correlation_id, json.dumps(reference_ids), status,
                                     json.dumps(response) if response is not None else None, now_ms))

    def find_transaction(self, sender_id: str, kind: str, attribute_type: str, value: Any) -> dict[str, Any] | None:
        """A sender's transaction of ``kind`` by transaction id, correlation id or one of its reference ids."""
        with self.lock:
            rows = self.connection.execute("SELECT transaction_id, correlation_id, reference_ids, status, response FROM transactions WHERE sender_id=? AND kind=?",
                                           (sender_id, kind)).fetchall()
        wanted = set(value) if isinstance(value, list) else {value}
        for transaction_id, correlation_id, reference_ids, status, response in rows:
            keys = {"transaction_id": {transaction_id}, "correlation_id": {correlation_id}, "reference_id_list": set(json.loads(reference_ids))}.get(attribute_type, set())
            if keys & wanted:
                return {"transaction_id": transaction_id, "correlation_id": correlation_id, "status": status,
                        "response": json.loads(response) if response else None}
        return None

    def add_subscription(self, code: str, registry: str, sender_id: str, criteria: dict[str, Any], now_ms: int, after_height: int,
                         purpose: str | None = None) -> None:
        """A new active subscription to one registry, notified of events after ``after_height``
        with the fields its stated ``purpose`` allows."""
        with self.lock:
            self.connection.execute("INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, 'subscribe', ?, ?, ?)",
                                    (code, registry, sender_id, criteria["reg_event_type"], criteria.get("filter_type"), json.dumps(criteria["filter"]),
                                     criteria["notify_record_type"], now_ms, after_height, purpose))

    def unsubscribe(self, registry: str, sender_id: str, code: str) -> str:
        """End a sender's subscription: ``unsubscribe`` done, ``already`` ended, or ``unknown``."""
        with self.lock:
            row = self.connection.execute("SELECT status FROM subscriptions WHERE code=? AND registry=? AND sender_id=?", (code, registry, sender_id)).fetchone()
            if row is None:
                return "unknown"
            if row[0] == "unsubscribe":
                return "already"
            self.connection.execute("UPDATE subscriptions SET status='unsubscribe' WHERE code=?", (code,))
            return "unsubscribe"

    def list_active_subscriptions(self, registry: str) -> list[dict[str, Any]]:
        """Every active subscription to a registry with its filter and notification height."""
        with self.lock:
            rows = self.connection.execute("SELECT code, sender_id, reg_event_type, filter_type, filter, notify_record_type, after_height, purpose "
                                           "FROM subscriptions WHERE status='subscribe' AND registry=? ORDER BY code", (registry,)).fetchall()
        return [{"code": code, "sender_id": sender, "reg_event_type": event, "filter_type": filter_type, "filter": json.loads(filter_text),
                 "notify_record_type": record_type, "after_height": height, "purpose": purpose}
                for code, sender, event, filter_type, filter_text, record_type, height, purpose in rows]

    def advance_subscription(self, code: str, height: int) -> None:
        """Notifications of ``code`` have gone out up to ``height``."""
        with self.lock:
            self.connection.execute("UPDATE subscriptions SET after_height=? WHERE code=? AND after_height < ?", (height, code, height))

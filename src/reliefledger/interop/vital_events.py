"""What the civil-registration client remembers across restarts, in ``DIR/interop.sqlite``: the
subscriptions it asked the civil registry for and the codes it was given, and each birth or death
notified with what became of it. Only pseudonyms and outcomes are kept: the event's names and ID
numbers are used while it is applied and never written here."""

from typing import Any

from reliefledger.interop.exchange_store import ExchangeStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS civil_subscriptions (
    transaction_id TEXT PRIMARY KEY, event_type TEXT NOT NULL, status TEXT NOT NULL, code TEXT, sent_ms INTEGER NOT NULL, confirmed_ms INTEGER);
CREATE TABLE IF NOT EXISTS vital_events (
    sender_id TEXT NOT NULL, reference_id TEXT NOT NULL, event_type TEXT NOT NULL, person TEXT NOT NULL, outcome TEXT NOT NULL,
    received_ms INTEGER NOT NULL, PRIMARY KEY (sender_id, reference_id));
"""


class VitalEventLog:
    """The client's memory (on the exchange store's connection and lock)."""

    def __init__(self, store: ExchangeStore) -> None:
        self.connection, self.lock = store.connection, store.lock  # one connection to interop.sqlite, shared
        with self.lock:
            self.connection.executescript(SCHEMA)

    def note_request(self, transaction_id: str, event_type: str, now_ms: int) -> None:
        """A subscription asked for (``pending`` until the registry confirms it)."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO civil_subscriptions VALUES (?, ?, 'pending', NULL, ?, NULL)", (transaction_id, event_type, now_ms))

    def confirm(self, transaction_id: str, status: str, code: str | None, now_ms: int) -> bool:
        """The registry's answer to a subscription we asked for; False when we asked for none such."""
        with self.lock:
            changed = self.connection.execute("UPDATE civil_subscriptions SET status=?, code=?, confirmed_ms=? WHERE transaction_id=? AND status='pending'",
                                              (status, code, now_ms, transaction_id)).rowcount
        return changed == 1

    def list_subscriptions(self, limit: int = 100) -> list[dict[str, Any]]:
        """The subscriptions asked for, newest first (the last ``limit``: enough to count failures in a row)."""
        with self.lock:
            rows = self.connection.execute("SELECT transaction_id, event_type, status, code, sent_ms, confirmed_ms FROM civil_subscriptions "
                                           "ORDER BY sent_ms DESC LIMIT ?", (limit,)).fetchall()
        return [dict(zip(("transaction_id", "event_type", "status", "code", "sent_ms", "confirmed_ms"), row)) for row in rows]

    def find_event(self, sender_id: str, reference_id: str) -> dict[str, Any] | None:
        """An event applied before (a registry sending it again gets the same outcome)."""
        with self.lock:
            row = self.connection.execute("SELECT event_type, person, outcome, received_ms FROM vital_events WHERE sender_id=? AND reference_id=?",
                                          (sender_id, reference_id)).fetchone()
        return None if row is None else dict(zip(("event_type", "person", "outcome", "received_ms"), row))

    def record_event(self, sender_id: str, reference_id: str, event_type: str, person: str, outcome: str, now_ms: int) -> None:
        """What became of an event (its person as a pseudonym, or ``-`` when none was found)."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO vital_events VALUES (?, ?, ?, ?, ?, ?)", (sender_id, reference_id, event_type, person, outcome, now_ms))

    def list_events(self) -> list[dict[str, Any]]:
        """Every event received, oldest first."""
        with self.lock:
            rows = self.connection.execute("SELECT sender_id, reference_id, event_type, person, outcome, received_ms FROM vital_events ORDER BY received_ms, reference_id").fetchall()
        return [dict(zip(("sender_id", "reference_id", "event_type", "person", "outcome", "received_ms"), row)) for row in rows]

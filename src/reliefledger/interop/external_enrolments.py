"""Enrolments other programme systems report to the Integrated Beneficiary Registry
(``/registry/sync/enrollment/updates``), kept in ``DIR/interop.sqlite`` by household pseudonym:
who reported it, the programme (the sender's own identifier), the status and when. No name and no
ID number: a beneficiary named by national ID is kept as its household's pseudonym only."""

from typing import Any

from reliefledger.interop.exchange_store import ExchangeStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS external_enrolments (
    sender_id TEXT NOT NULL, programme TEXT NOT NULL, household TEXT NOT NULL, status TEXT NOT NULL, reference_id TEXT NOT NULL,
    enrolled_on TEXT, updated_ms INTEGER NOT NULL, PRIMARY KEY (sender_id, programme, household));
"""
STATUSES = ("enrolled", "suspended", "exited")
"""What a programme system may report: only ``enrolled`` makes the household a beneficiary of it."""


class ExternalEnrolments:
    """The reported enrolments (on the exchange store's connection and lock)."""

    def __init__(self, store: ExchangeStore) -> None:
        self.connection, self.lock = store.connection, store.lock  # one connection to interop.sqlite, shared
        with self.lock:
            self.connection.executescript(SCHEMA)

    def put(self, sender_id: str, programme: str, household: str, status: str, reference_id: str, enrolled_on: str | None, now_ms: int) -> None:
        """Record (or replace) what ``sender_id`` reports of a household in one of its programmes."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO external_enrolments VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    (sender_id, programme, household, status, reference_id, enrolled_on, now_ms))

    def list_for(self, household: str) -> list[dict[str, Any]]:
        """Every programme any system reported for a household."""
        with self.lock:
            rows = self.connection.execute("SELECT sender_id, programme, status, enrolled_on, updated_ms FROM external_enrolments WHERE household=? "
                                           "ORDER BY sender_id, programme", (household,)).fetchall()
        return [dict(zip(("sender_id", "programme", "status", "enrolled_on", "updated_ms"), row)) for row in rows]

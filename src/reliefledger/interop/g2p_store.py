"""What the G2P Connect mapper and disburse endpoints remember off the ledger, in the service's own
SQLite file (``interop.sqlite``, shared with ``exchange_store.py``).

``financial_links``: each person's preferred financial address — the account on the money ledger
a partner linked for them — keyed by the person's pseudonym (the ledger's keyed pseudonym, never
an ID number or a plain hash of one). Personal data stays off the ledger; the account it names
is on it. ``disbursements``: the last status of every disbursement a partner sent, by its
reference id, for ``disburse/search``.
"""

import json
from typing import Any

from reliefledger.interop.exchange_store import ExchangeStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS financial_links (
    person TEXT PRIMARY KEY, account_id TEXT NOT NULL, linked_by TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS disbursements (
    sender_id TEXT NOT NULL, reference_id TEXT NOT NULL, transaction_id TEXT NOT NULL, payer_fa TEXT NOT NULL, payee_fa TEXT NOT NULL,
    status TEXT NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (sender_id, reference_id));
"""
SEARCH_RESULTS_MAX = 1000
"""Disbursement statuses one search answers at most."""


class G2PStore:
    """Links and disbursement statuses, on the exchange store's connection and lock."""

    def __init__(self, store: ExchangeStore) -> None:
        self.connection, self.lock = store.connection, store.lock
        with self.lock:
            self.connection.executescript(SCHEMA)

    def get_link(self, person: str) -> str | None:
        """The account linked as the person's financial address, if any."""
        with self.lock:
            row = self.connection.execute("SELECT account_id FROM financial_links WHERE person=?", (person,)).fetchone()
        return row[0] if row else None

    def get_linked_by(self, person: str) -> str | None:
        """The sender that made the person's link, if any (only it may change it)."""
        with self.lock:
            row = self.connection.execute("SELECT linked_by FROM financial_links WHERE person=?", (person,)).fetchone()
        return row[0] if row else None

    def put_link(self, person: str, account_id: str, linked_by: str, now_ms: int) -> None:
        """Link (or re-link) a person's financial address."""
        with self.lock:
            self.connection.execute("INSERT OR REPLACE INTO financial_links VALUES (?, ?, ?, ?)", (person, account_id, linked_by, now_ms))

    def remove_link(self, person: str) -> bool:
        """Unlink a person's financial address; False when none was linked."""
        with self.lock:
            return self.connection.execute("DELETE FROM financial_links WHERE person=?", (person,)).rowcount > 0

    def put_disbursement(self, sender_id: str, transaction_id: str, payer_fa: str, payee_fa: str, status: dict[str, Any], now_ms: int) -> None:
        """Keep a disbursement's latest status (one per sender and reference id); a paid one stays
        as it is: a later message reusing its reference id does not hide the payment."""
        with self.lock:
            self.connection.execute("INSERT INTO disbursements VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, reference_id) DO UPDATE SET "
                                    "transaction_id=excluded.transaction_id, payer_fa=excluded.payer_fa, payee_fa=excluded.payee_fa, status=excluded.status, "
                                    "updated_ms=excluded.updated_ms WHERE json_extract(disbursements.status, '$.status') != 'succ'",
                                    (sender_id, status["reference_id"], transaction_id, payer_fa, payee_fa, json.dumps(status), now_ms))

    def find_disbursements(self, sender_id: str, attribute: str, value: str) -> list[dict[str, Any]]:
        """A sender's disbursement statuses whose ``payer_fa`` or ``payee_fa`` is ``value``."""
        column = {"payer_fa": "payer_fa", "payee_fa": "payee_fa"}[attribute]
        with self.lock:
            rows = self.connection.execute(f"SELECT status FROM disbursements WHERE sender_id=? AND {column}=? ORDER BY updated_ms, reference_id LIMIT ?",
                                           (sender_id, value, SEARCH_RESULTS_MAX)).fetchall()
        return [json.loads(row[0]) for row in rows]

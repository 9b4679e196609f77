"""The interoperability store opens a file made before subscriptions had a purpose, and keeps
the purpose of new ones (a real SQLite file)."""

import sqlite3
from pathlib import Path

from reliefledger.interop.exchange_store import ExchangeStore

OLD_SUBSCRIPTIONS = """CREATE TABLE subscriptions (
    code TEXT PRIMARY KEY, registry TEXT NOT NULL, sender_id TEXT NOT NULL, reg_event_type TEXT NOT NULL, filter_type TEXT, filter TEXT NOT NULL,
    notify_record_type TEXT NOT NULL, status TEXT NOT NULL, created_ms INTEGER NOT NULL, after_height INTEGER NOT NULL)"""


def test_a_store_made_before_purposes_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "interop.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(OLD_SUBSCRIPTIONS)
        connection.execute("INSERT INTO subscriptions VALUES ('sub-old', 'social', 'spmis', 'REGISTER', 'expression', '{}', 'Group', 'subscribe', 1, 5)")
    store = ExchangeStore(path)
    try:
        store.add_subscription("sub-new", "social", "spmis", {"reg_event_type": "REGISTER", "filter": {}, "notify_record_type": "Group"}, 2, 6, "statistics")
        kept = {item["code"]: item["purpose"] for item in store.list_active_subscriptions("social")}
    finally:
        store.close()
    assert kept == {"sub-old": None, "sub-new": "statistics"}
    reopened = ExchangeStore(path)  # opening again changes nothing
    reopened.close()

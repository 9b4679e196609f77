"""What the dashboard shows, read from a node's committed state (no personal data: pseudonyms,
counts and amounts only). Each function is a read-only query over a store with ``get``,
``iterate_state_prefix`` and ``get_block``."""

from collections import Counter
from typing import Any

from reliefledger.ledger.contracts.assistance import get_overdue_steps
from reliefledger.node.catalog_queries import list_permissions, list_requests, list_resources
from reliefledger.node.reports import get_overview

DISBURSEMENT_CODES = (101, 500, 501)
"""Transfers that pay households: monthly runs and awards, pay-first and staged relief."""


def get_assisted_by_programme(store: Any) -> dict[str, int]:
    """Enrolled (or completed, for one-off awards) cases by programme."""
    counts: Counter[str] = Counter()
    for _, case in store.iterate_state_prefix("assistance/case/"):
        if case["status"] in ("enrolled", "completed", "paid_first"):
            counts[case["programme"]] += 1
    return dict(sorted(counts.items()))


def get_paid_fen(store: Any) -> dict[str, int]:
    """Money paid to households, by rail: into wallets (the digital currency) and to bank accounts."""
    paid = {"wallet": 0, "bank": 0}
    for _, transfer in store.iterate_state_prefix("money/transfer/"):
        if transfer["code"] in DISBURSEMENT_CODES and transfer["status"] == "posted":
            rail = "bank" if transfer["id"].endswith(".bank") or transfer["id"].endswith(".bank.paid") else "wallet"
            paid[rail] += transfer["posted_amount"] or transfer["amount"]
    return paid


def get_reports_by_category(store: Any, now_ms: int) -> dict[str, dict[str, int]]:
    """Filed, open, resolved and escalated reports by category, for the whole country."""
    rows = get_overview(store, "national", now_ms)
    return {row["category"]: {name: row[name] for name in ("filed", "open", "resolved", "escalations")} for row in rows}


def get_latest_blocks(store: Any, tip_height: int, count: int = 10) -> list[dict[str, Any]]:
    """The newest blocks: height, hash, time, transaction count, state digest."""
    blocks = []
    for height in range(tip_height, max(0, tip_height - count), -1):
        stored = store.get_block(height)
        if stored is None:
            continue
        header = stored.header
        blocks.append({"height": height, "hash": stored.hash.hex(), "time_ms": header.time_ms, "transactions": header.transaction_count,
                       "state_digest": stored.state_digest.hex(), "orderer": header.orderer})
    return blocks


def get_block_detail(store: Any, height: int) -> dict[str, Any] | None:
    """One block with its transactions (contract, action, signer) and their result codes."""
    stored = store.get_block(height)
    if stored is None or height == 0:
        return None
    results = {entry[0]: entry[1] for entry in stored.results}
    transactions = [{"id": envelope.id.hex(), "contract": envelope.body.contract, "action": envelope.body.action, "signer": envelope.body.signer,
                     "code": results.get(envelope.id.hex())} for envelope in stored.get_envelopes()]
    return {"height": height, "hash": stored.hash.hex(), "time_ms": stored.header.time_ms, "state_digest": stored.state_digest.hex(),
            "previous_hash": stored.header.previous_hash.hex(), "orderer": stored.header.orderer, "transactions": transactions}


def get_directory(store: Any, now_ms: int) -> dict[str, Any]:
    """The directory chain: departments, their catalogued resources, the sharing requests with
    their state, the permissions in force, the latest data-sharing answer records (which agency
    answered whom, which fields, how many queries) and the latest logged reads of vault records."""
    organisations = [value for _, value in store.iterate_state_prefix("membership/organisation/")]
    accesses = sorted((value for _, value in store.iterate_state_prefix("vault/access/")), key=lambda entry: entry.get("time_ms", 0), reverse=True)[:50]
    records = sorted((value for _, value in store.iterate_state_prefix("catalog/answers/")), key=lambda record: record["time_ms"], reverse=True)[:50]
    answers = [{"time_ms": record["time_ms"], "agency": record["agency"], "requester": record["requester"], "resource": record["resource"],
                "fields": record["fields"], "queries": len(record["answers"]), "transaction": record.get("transaction")} for record in records]
    return {"organisations": organisations, "resources": list_resources(store), "requests": list_requests(store),
            "permissions": list_permissions(store, now_ms), "accesses": accesses, "answers": answers}


def get_case_queue(store: Any, now_ms: int, limit: int = 200) -> list[dict[str, Any]]:
    """Open cases, the most urgent first: the next deadline, and the steps already overdue."""
    queue = []
    for _, case in store.iterate_state_prefix("assistance/case/"):
        if case["status"] in ("refused", "stopped", "exited", "completed"):
            continue
        deadlines = [value for value in case["deadlines"].values() if value]
        queue.append({"id": case["id"], "programme": case["programme"], "region": case["region"], "status": case["status"],
                      "next_deadline_ms": min(deadlines) if deadlines else None, "overdue": get_overdue_steps(case, now_ms)})
    queue.sort(key=lambda entry: (not entry["overdue"], entry["next_deadline_ms"] or 2**62))
    return queue[:limit]

"""What the dashboard shows, read from a node's committed state (no personal data: pseudonyms,
counts and amounts only). Each function is a read-only query over a store with ``get``,
``iterate_state_prefix`` and ``get_block``."""

from collections import Counter
from typing import Any

from reliefledger.ledger.contracts.assistance import get_overdue_steps
from reliefledger.node.catalog_queries import list_permissions, list_requests, list_resources
from reliefledger.node.reports import get_overview

DISBURSEMENT_CODES = (101, 500, 501)
DAY_MS = 86_400_000
CHINA_OFFSET_MS = 8 * 3_600_000
"""Transfers that pay households: monthly runs and awards, pay-first and staged relief."""


def get_assisted_by_programme(store: Any) -> dict[str, int]:
    """Enrolled (or completed, for one-off awards) cases by programme."""
    counts: Counter[str] = Counter()
    for _, case in store.iterate_state_prefix("assistance/case/"):
        if case["status"] in ("enrolled", "completed", "paid_first"):
            counts[case["programme"]] += 1
    return dict(sorted(counts.items()))


def get_paid_fen(store: Any) -> dict[str, int]:
    """Money paid to households, by rail: into digital-currency accounts (wallets) and bank money
    (bank accounts). Each payment counts once, by its posted amount: a bank payment is the pending
    transfer the bank's statement posted, not also the record of that posting."""
    paid = {"wallet": 0, "bank": 0}
    currencies: dict[str, str] = {}
    for _, transfer in store.iterate_state_prefix("money/transfer/"):
        if transfer["code"] not in DISBURSEMENT_CODES or transfer["status"] != "posted" or transfer["pending_id"] is not None:
            continue
        account = transfer["credit_account_id"]
        if account not in currencies:
            currencies[account] = store.get(f"money/account/{account}")["currency"]
        paid["wallet" if currencies[account] == "CNY-DC" else "bank"] += transfer["posted_amount"]
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


def list_demo_households(store: Any, limit: int = 12) -> list[dict[str, Any]]:
    """Households to pick on the demo's beneficiary page: those with an account (pseudonyms only)."""
    picked: dict[str, dict[str, Any]] = {}
    for key, entry in store.iterate_state_prefix("money/holder/"):
        household = key.split("/")[2]
        picked.setdefault(household, {"household": household, "kinds": set()})["kinds"].add(entry["kind"])
        if len(picked) > limit:
            break
    households = [{"household": item["household"], "wallet": "beneficiary_wallet" in item["kinds"]} for item in list(picked.values())[:limit]]
    return sorted(households, key=lambda item: not item["wallet"])  # wallets first: they show spending too


def get_beneficiary(store: Any, household: str) -> dict[str, Any] | None:
    """What a household sees of itself: its applications and their state, the payments it received,
    its wallet's balance and spending, and who read data about it (the agencies that answered a
    means test or active discovery about it, with the receipts, and logged reads of its and its
    members' vault records). A registered household that never applied has a page too: active
    discovery may have asked about it."""
    accounts = [store.get(f"money/account/{key.rsplit('/', 1)[1]}") for key, _ in store.iterate_state_prefix(f"money/holder/{household}/")]
    accounts = [account for account in accounts if account is not None]
    cases = [case for _, case in store.iterate_state_prefix("assistance/case/") if case["household"] == household]
    registered = store.get(f"registry/household/{household}")
    if not accounts and not cases and registered is None:
        return None
    ids = {account["id"] for account in accounts}
    received, spent = [], []
    for _, transfer in store.iterate_state_prefix("money/transfer/"):
        if transfer["credit_account_id"] in ids and transfer["status"] in ("posted", "pending"):
            received.append(transfer)
        elif transfer["debit_account_id"] in ids and transfer["status"] == "posted":
            spent.append(transfer)
    case_ids = {case["id"] for case in cases}
    answered = []
    for _, record in store.iterate_state_prefix("catalog/answers/"):
        about = [entry for entry in record["answers"].values() if entry.get("case_id") in case_ids or entry.get("household") == household]
        if about:  # asked for one of its cases' means tests, or about it for active discovery (the entry names the household)
            answered.append({"agency": record["agency"], "fields": record["fields"], "time_ms": record["time_ms"], "transaction": record.get("transaction"),
                             "purpose": "active_discovery" if any(entry.get("household") == household for entry in about) else "means_test"})
    subjects = [household, *(registered or {}).get("members", [])]
    reads = sorted((entry for subject in subjects for _, entry in store.iterate_state_prefix(f"vault/access/{subject}/")), key=lambda entry: entry["time_ms"])
    wallets = [account for account in accounts if account["kind"] == "beneficiary_wallet"]
    return {"household": household, "cases": cases, "accounts": accounts, "received": received, "spent": spent, "answered": answered, "reads": reads,
            "wallet_balance_fen": sum(account["credits_posted"] - account["debits_posted"] for account in wallets)}


def get_merchant(store: Any, merchant: str, now_ms: int) -> dict[str, Any] | None:
    """A merchant's account, today's takings (China time) and its latest retail payments received."""
    account = store.get(f"money/account/{merchant}")
    if account is None or account["kind"] != "merchant":
        return None
    day_start = (now_ms + CHINA_OFFSET_MS) // DAY_MS * DAY_MS - CHINA_OFFSET_MS
    takings = sorted((transfer for _, transfer in store.iterate_state_prefix("money/transfer/retail.") if transfer["credit_account_id"] == merchant),
                     key=lambda transfer: transfer["time_ms"], reverse=True)
    return {"account": account, "takings": takings[:50], "today_fen": sum(transfer["amount"] for transfer in takings if transfer["time_ms"] >= day_start),
            "balance_fen": account["credits_posted"] - account["debits_posted"]}


def list_merchants(store: Any) -> list[str]:
    """Merchant accounts, for the demo's picker."""
    return [account["id"] for _, account in store.iterate_state_prefix("money/account/") if account["kind"] == "merchant"]


DEADLINE_STEPS = ("investigation_start", "county_decision", "whole_process")
"""The statutory deadlines the overview reports on, with the moment each is done (below)."""


def _get_done_ms(case: dict[str, Any], step: str) -> int | None:
    """When a case did the step a deadline is about (None while it is undone)."""
    if step == "investigation_start":
        return case["visits"][0]["time_ms"] if case["visits"] else None
    return case["decision"]["time_ms"] if case["decision"] is not None else None


def get_deadlines_met(store: Any, now_ms: int) -> dict[str, dict[str, int]]:
    """Per statutory deadline: steps done in time, done late, and undone past the deadline (late
    too). A deadline not yet reached with its step undone counts nowhere: it can still be met."""
    counts = {step: {"met": 0, "late": 0, "overdue": 0} for step in DEADLINE_STEPS}
    for _, case in store.iterate_state_prefix("assistance/case/"):
        for step in DEADLINE_STEPS:
            deadline = case["deadlines"].get(step)
            if deadline is None:
                continue
            done = _get_done_ms(case, step)
            if done is not None:
                counts[step]["met" if done <= deadline else "late"] += 1
            elif now_ms > deadline and case["status"] not in ("refused", "stopped", "exited", "completed"):
                counts[step]["overdue"] += 1
    return counts


def get_agency_response_times(store: Any) -> dict[str, dict[str, int]]:
    """Per agency: how many means-test answers carry the requester's measured reply time, and the
    median and 90th percentile of those times in milliseconds."""
    agencies: dict[str, str] = {}
    times: dict[str, list[int]] = {}
    for _, case in store.iterate_state_prefix("assistance/case/"):
        for assessment in (case["assessment"], case.get("review_assessment")):
            for answer in (assessment or {}).get("answers", []):
                if answer.get("response_ms") is None:
                    continue
                record_id = answer["record_id"]
                if record_id not in agencies:
                    agencies[record_id] = (store.get(f"catalog/answers/{record_id}") or {}).get("agency", "?")
                times.setdefault(agencies[record_id], []).append(answer["response_ms"])
    figures = {}
    for agency, values in sorted(times.items()):
        values.sort()
        figures[agency] = {"answers": len(values), "median_ms": values[len(values) // 2], "p90_ms": values[min(len(values) - 1, len(values) * 9 // 10)]}
    return figures


def get_case_detail(store: Any, case_id: str, now_ms: int) -> dict[str, Any] | None:
    """One case as its caseworker sees it on the ledger: its record, its step log (each step's
    transaction, the key to its receipt with proofs), the agencies whose answers its means test
    used, and the payments made for it."""
    case = store.get(f"assistance/case/{case_id}")
    if case is None:
        return None
    answers = []
    for answer in (case["assessment"] or {}).get("answers", []):
        record = store.get(f"catalog/answers/{answer['record_id']}") or {}
        answers.append({**answer, "agency": record.get("agency"), "fields": record.get("fields", []), "transaction": record.get("transaction")})
    payments = sorted((transfer for _, transfer in store.iterate_state_prefix("money/transfer/") if transfer.get("reference") == case_id
                       and transfer["pending_id"] is None), key=lambda transfer: transfer["time_ms"])
    deadlines = []
    for step, deadline in sorted(case["deadlines"].items(), key=lambda item: item[1] or 0):
        if deadline is None:
            continue
        done = _get_done_ms(case, step) if step in DEADLINE_STEPS else None
        state = ("met" if done <= deadline else "late") if done is not None else ("overdue" if step in get_overdue_steps(case, now_ms) else "pending")
        deadlines.append({"step": step, "deadline_ms": deadline, "done_ms": done, "state": state})
    return {"case": case, "answers": answers, "payments": payments, "deadlines": deadlines}


def list_payment_runs(store: Any, programme: str, region: str) -> list[dict[str, Any]]:
    """The monthly runs of a programme in a region, newest month first, with their figures."""
    runs = []
    for key, value in store.iterate_state_prefix(f"money/run/{programme}/{region}/"):
        month = key.rsplit("/", 1)[1]
        runs.extend({"month": month, **entry} for entry in value["runs"])
    return sorted(runs, key=lambda run: run["month"], reverse=True)


def list_wallets(store: Any, limit: int = 40) -> list[dict[str, Any]]:
    """Beneficiary wallets with their balances (account ids only), for the merchant's till."""
    wallets = []
    for _, account in store.iterate_state_prefix("money/account/"):
        if account["kind"] == "beneficiary_wallet" and account["holder_key"] and account.get("earmark") is None:  # earmarked funds pay their own merchants
            wallets.append({"id": account["id"], "balance_fen": account["credits_posted"] - account["debits_posted"], "wallet_class": account["wallet_class"]})
    wallets.sort(key=lambda wallet: -wallet["balance_fen"])
    return wallets[:limit]


def list_models(store: Any) -> list[dict[str, Any]]:
    """Models and rule sets registered on the ledger, with their evaluation and status."""
    return [model for _, model in store.iterate_state_prefix("models/model/")]


def list_model_tasks(store: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The tasks models raised (reports filed through the analytics channel), newest first: which
    model, what kind, where, who holds it and what became of it."""
    tasks = [report for _, report in store.iterate_state_prefix("reports/report/") if report["channel"] == "analytics"]
    tasks.sort(key=lambda report: report["filed_ms"], reverse=True)
    return tasks[:limit]

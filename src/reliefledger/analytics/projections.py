"""Flat rows from the ledger's state: what the analytics store keeps of each kind of record.

Each projection names the state prefix it reads and turns one record into one or more rows of
scalar columns (pseudonyms, codes, amounts, times; never a name or an ID number, which never
reach the ledger anyway). The columns are fixed per table, so every Parquet part of a table has
the same schema and DuckDB reads them as one.
"""

from dataclasses import dataclass
from typing import Any, Callable, Iterator

Row = dict[str, Any]
Lookup = Callable[[str, tuple[str, ...]], dict[str, Any]]
"""Reads named fields of another record of the same snapshot by state key (an empty dict when the
record is absent); the export caches only those fields."""


@dataclass(frozen=True)
class Projection:
    """One analytics table: the state prefix it comes from, its columns and DuckDB types, and how
    a record becomes rows (reading, where a row carries them, facts of other records: a transfer
    carries the kinds of its accounts, so the money flows need no join over millions of rows)."""

    table: str
    prefix: str
    columns: tuple[tuple[str, str], ...]
    to_rows: Callable[[str, dict[str, Any], Lookup], Iterator[Row]]


def _get_step_height(case: dict[str, Any], action: str, after: int = 0) -> int | None:
    """The height of the case's last ``action`` step above ``after`` (None when there is none)."""
    heights = [step["height"] for step in case.get("steps", []) if step["action"] == action and step["height"] > after]
    return max(heights) if heights else None


def _case_rows(key: str, case: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    decision = case["decision"] or {}
    deadlines = case["deadlines"]
    assessment = case["assessment"] or {}
    decided_height = _get_step_height(case, "decide")
    review = case.get("review_assessment") or {}
    yield {"case_id": case["id"], "household": case["household"], "programme": case["programme"], "region": case["region"], "status": case["status"],
           "opened_ms": case["opened_ms"], "first_visit_ms": case["visits"][0]["time_ms"] if case["visits"] else None,
           "visits_by_county": sum(1 for visit in case["visits"] if visit.get("by_county")), "related_to_staff": case["related_to_staff"],
           "decided_ms": decision.get("time_ms"), "outcome": decision.get("outcome"), "decided_by": decision.get("by"),
           "monthly_benefit_fen": (case["enrolment"] or {}).get("monthly_benefit_fen", decision.get("monthly_benefit_fen")),
           "investigation_start_deadline_ms": deadlines.get("investigation_start"), "county_decision_deadline_ms": deadlines.get("county_decision"),
           "whole_process_deadline_ms": deadlines.get("whole_process"), "eligible": assessment.get("eligible"), "updated_height": case["updated_height"],
           "decided_height": decided_height, "review_eligible": review.get("eligible"),
           "review_height": _get_step_height(case, "record_means_test", decided_height) if decided_height is not None and review else None,
           "benefit_changed_height": _get_step_height(case, "change_benefit")}


def _person_rows(key: str, person: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    yield {"person": person["id"], "household": person["household"], "status": person["status"], "death_height": person.get("death_height")}


def _household_rows(key: str, household: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    yield {"household": household["id"], "region": household["region"], "status": household["status"], "members": len(household["members"])}


def _answer_rows(key: str, case: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    for kind, assessment in (("application", case["assessment"]), ("review", case.get("review_assessment"))):
        for answer in (assessment or {}).get("answers", []):
            yield {"case_id": case["id"], "kind": kind, "record_id": answer["record_id"], "query_id": answer["query_id"], "response_ms": answer.get("response_ms"),
                   "updated_height": case["updated_height"]}


def _answer_record_rows(key: str, record: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    yield {"record_id": record["record_id"], "agency": record["agency"], "requester": record["requester"], "resource": record["resource"],
           "queries": len(record["answers"]), "refused": sum(1 for entry in record["answers"].values() if entry["outcome"] == "refused"),
           "time_ms": record["time_ms"], "height": record["height"]}


def _account_rows(key: str, account: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    yield {"account_id": account["id"], "kind": account["kind"], "currency": account["currency"], "holder": account.get("holder"),
           "region": account.get("region"), "category": account.get("category"), "wallet_class": account.get("wallet_class"),
           "earmarked": account.get("earmark") is not None, "credits_posted": account["credits_posted"], "debits_posted": account["debits_posted"]}


def get_flow(transfer: dict[str, Any], debit_kind: str | None, credit_kind: str | None, category: str | None) -> str | None:
    """``<paying kind>><paid kind>><merchant category>`` for a transfer that moved money once (posted,
    and not the record of posting a pending one), else None: one low-cardinality column the money
    flows are grouped by, so the question stays fast over tens of millions of payments."""
    if transfer["status"] != "posted" or transfer["pending_id"] is not None:
        return None
    return f"{debit_kind}>{credit_kind}>{category or ''}"


def _transfer_rows(key: str, transfer: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    debit = lookup(f"money/account/{transfer['debit_account_id']}", ("kind",))
    credit = lookup(f"money/account/{transfer['credit_account_id']}", ("kind", "category"))
    yield {"transfer_id": transfer["id"], "code": transfer["code"], "debit_account_id": transfer["debit_account_id"],
           "credit_account_id": transfer["credit_account_id"], "debit_kind": debit.get("kind"), "credit_kind": credit.get("kind"),
           "credit_category": credit.get("category"), "flow": get_flow(transfer, debit.get("kind"), credit.get("kind"), credit.get("category")),
           "amount": transfer["amount"], "posted_amount": transfer["posted_amount"],
           "status": transfer["status"], "pending_id": transfer["pending_id"], "reference": transfer["reference"], "time_ms": transfer["time_ms"],
           "height": transfer["height"], "transaction": transfer.get("transaction")}


def _report_rows(key: str, report: dict[str, Any], lookup: Lookup) -> Iterator[Row]:
    yield {"report_id": report["id"], "region": report["region"], "category": report["category"], "urgency": report["urgency"], "channel": report["channel"],
           "status": report["status"], "holder_organisation": report["holder"]["organisation"], "holder_region": report["holder"]["region"],
           "filed_ms": report["filed_ms"], "acknowledged_ms": report["acknowledged_ms"], "resolved_ms": report["resolved_ms"],
           "escalations": report["escalations"], "referrals": report["referrals"]}


PROJECTIONS: tuple[Projection, ...] = (
    Projection("cases", "assistance/case/", (
        ("case_id", "VARCHAR"), ("household", "VARCHAR"), ("programme", "VARCHAR"), ("region", "VARCHAR"), ("status", "VARCHAR"), ("opened_ms", "BIGINT"),
        ("first_visit_ms", "BIGINT"), ("visits_by_county", "INTEGER"), ("related_to_staff", "BOOLEAN"), ("decided_ms", "BIGINT"), ("outcome", "VARCHAR"),
        ("decided_by", "VARCHAR"), ("monthly_benefit_fen", "BIGINT"), ("investigation_start_deadline_ms", "BIGINT"), ("county_decision_deadline_ms", "BIGINT"),
        ("whole_process_deadline_ms", "BIGINT"), ("eligible", "BOOLEAN"), ("updated_height", "BIGINT"), ("decided_height", "BIGINT"),
        ("review_eligible", "BOOLEAN"), ("review_height", "BIGINT"), ("benefit_changed_height", "BIGINT")), _case_rows),
    Projection("persons", "registry/person/", (("person", "VARCHAR"), ("household", "VARCHAR"), ("status", "VARCHAR"), ("death_height", "BIGINT")), _person_rows),
    Projection("households", "registry/household/", (("household", "VARCHAR"), ("region", "VARCHAR"), ("status", "VARCHAR"), ("members", "INTEGER")),
               _household_rows),
    Projection("means_test_answers", "assistance/case/", (
        ("case_id", "VARCHAR"), ("kind", "VARCHAR"), ("record_id", "VARCHAR"), ("query_id", "VARCHAR"), ("response_ms", "BIGINT"), ("updated_height", "BIGINT")),
        _answer_rows),
    Projection("answer_records", "catalog/answers/", (
        ("record_id", "VARCHAR"), ("agency", "VARCHAR"), ("requester", "VARCHAR"), ("resource", "VARCHAR"), ("queries", "INTEGER"), ("refused", "INTEGER"),
        ("time_ms", "BIGINT"), ("height", "BIGINT")), _answer_record_rows),
    Projection("accounts", "money/account/", (
        ("account_id", "VARCHAR"), ("kind", "VARCHAR"), ("currency", "VARCHAR"), ("holder", "VARCHAR"), ("region", "VARCHAR"), ("category", "VARCHAR"),
        ("wallet_class", "VARCHAR"), ("earmarked", "BOOLEAN"), ("credits_posted", "BIGINT"), ("debits_posted", "BIGINT")), _account_rows),
    Projection("transfers", "money/transfer/", (
        ("transfer_id", "VARCHAR"), ("code", "INTEGER"), ("debit_account_id", "VARCHAR"), ("credit_account_id", "VARCHAR"), ("debit_kind", "VARCHAR"),
        ("credit_kind", "VARCHAR"), ("credit_category", "VARCHAR"), ("flow", "VARCHAR"), ("amount", "BIGINT"),
        ("posted_amount", "BIGINT"), ("status", "VARCHAR"), ("pending_id", "VARCHAR"), ("reference", "VARCHAR"), ("time_ms", "BIGINT"), ("height", "BIGINT"),
        ("transaction", "VARCHAR")), _transfer_rows),
    Projection("reports", "reports/report/", (
        ("report_id", "VARCHAR"), ("region", "VARCHAR"), ("category", "VARCHAR"), ("urgency", "VARCHAR"), ("channel", "VARCHAR"), ("status", "VARCHAR"),
        ("holder_organisation", "VARCHAR"), ("holder_region", "VARCHAR"), ("filed_ms", "BIGINT"), ("acknowledged_ms", "BIGINT"), ("resolved_ms", "BIGINT"),
        ("escalations", "INTEGER"), ("referrals", "INTEGER")), _report_rows),
)
"""Every table of the analytics store. A record's key is the row's identity: a later export of
the same key replaces the earlier row (the newest height wins)."""

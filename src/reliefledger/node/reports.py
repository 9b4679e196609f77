"""The reports desk and the views every level reads.

Filing puts the description (and the caller's contact, when a hotline caller gives one) in the
filing agency's vault and only their commitments on the ledger. The reporter — a member, or a
hotline caller without any account — follows the report by its id: ``get_public_view`` answers
its state and history without any personal data, and the filing transaction's receipt
(``/v1/receipts/{id}``) proves it was filed when it says.

The views read only the open-report index and the counters the contract keeps per region, so
their cost follows the open reports and the number of regions, never the reports closed.
"""

import csv
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reliefledger.ledger.contracts.reports import STAT_FIELDS, get_region_prefix, get_report_key
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.regions import REGION_LEVELS, get_ancestors, get_level, is_region_code, is_within
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.staff import StaffMember

AGE_BUCKETS_DAYS = (3, 7, 15, 30)
"""Open reports are counted by age: under 3 days, 3 to 7, 7 to 15, 15 to 30, 30 and more."""
AGE_LABELS = ("0-3d", "3-7d", "7-15d", "15-30d", "30d+")
VIEW_LEVELS = tuple(level for level in REGION_LEVELS if level != "township")
OVERVIEW_COLUMNS = ("level", "region", "category", "filed", "open", "held_here", *AGE_LABELS, "acknowledged", "resolved", "escalations", "missed_at_top",
                    "mean_acknowledge_hours", "mean_resolve_hours")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
PUBLIC_EVENT_FIELDS = ("event", "holder", "from", "to", "stage", "due_ms", "time_ms", "outcome")


class ReportsError(LedgerInputError):
    """A view or export asked for something it cannot give."""

    code = "invalid_report_query"


@dataclass
class ReportDesk:
    """Files reports and takes their steps with a desk member's key."""

    casework: Casework

    async def file(self, actor: StaffMember, *, region: str, category: str, urgency: str, description: dict[str, Any], channel: str = "member",
                   subject_organisation: str | None = None, caller: dict[str, Any] | None = None, model_id: str | None = None,
                   alert_id: str | None = None) -> dict[str, Any]:
        """File a report under a fresh unguessable id (an alert under its own stable id, so the same
        alert is filed once: again, the ledger answers ``report_exists``); answer the id and how to
        follow it."""
        if alert_id is not None and channel != "analytics":
            raise CaseworkError("only an alert (channel analytics) brings its own id", code="invalid_arguments", status=400)
        report_id = alert_id or f"r{secrets.token_hex(16)}"
        if alert_id is not None and get_report(self.casework.node.store, alert_id) is not None:
            raise CaseworkError(f"alert {alert_id} was filed already", code="report_exists", status=409)
        receipts = [self._put_note(report_id, "report", description)]
        args: dict[str, Any] = {"report_id": report_id, "region": region, "category": category, "urgency": urgency, "channel": channel,
                                "description_commitment": receipts[0].commitment}
        if subject_organisation is not None:
            args["subject_organisation"] = subject_organisation
        if model_id is not None:
            args["model_id"] = model_id
        if caller:
            receipts.append(self._put_note(report_id, "report_caller", caller))
            args["caller_commitment"] = receipts[-1].commitment
        try:
            transaction = await self.casework.submit(actor, "reports", "file", args)
        except BaseException:
            for receipt in receipts:  # nothing half-written: the vault forgets a report the ledger refused
                self.casework.vault.destroy(receipt.record_id, compact=False)
            raise
        return {"report_id": report_id, "transaction": transaction["id"], "follow": f"/v1/public/reports/{report_id}",
                "receipt": f"/v1/receipts/{transaction['id']}"}

    async def step(self, actor: StaffMember, action: str, report_id: str, **args: Any) -> dict[str, Any]:
        """Acknowledge, start, resolve, refer or record the outreach visit; answer the report."""
        transaction = await self.casework.submit(actor, "reports", action, {"report_id": report_id, **args})
        return {"report": get_report(self.casework.node.store, report_id), "transaction": transaction["id"]}

    def store_note(self, report_id: str, kind: str, record: dict[str, Any]) -> str:
        """Keep a record about a report (its description, an outcome, a visit) in the vault, filed under
        a pseudonym of the report; answer its commitment."""
        return self._put_note(report_id, kind, record).commitment

    def _put_note(self, report_id: str, kind: str, record: dict[str, Any]) -> Any:
        subject = self.casework.node.suite.compute_hash(f"reliefledger.report/{report_id}".encode()).hex()
        return self.casework.vault.put(subject=subject, kind=kind, owner=self.casework.organisation, record=record)


def get_report(state: Any, report_id: str) -> dict[str, Any] | None:
    """The report as the ledger holds it (commitments, no personal data)."""
    return state.get(get_report_key(report_id))


def get_public_view(state: Any, report_id: str) -> dict[str, Any] | None:
    """What anyone holding the report's id may see: where it is, its deadline and its history —
    no description, caller, case or commitments."""
    report = get_report(state, report_id)
    if report is None:
        return None
    outreach = report["outreach"]
    return {
        "id": report["id"], "category": report["category"], "urgency": report["urgency"], "status": report["status"], "region": report["region"],
        "holder": report["holder"], "deadline": report["deadline"], "escalations": report["escalations"], "filed_ms": report["filed_ms"],
        "acknowledged_ms": report["acknowledged_ms"], "resolved_ms": report["resolved_ms"], "transaction": report["transaction"],
        "outcome": None if report["outcome"] is None else report["outcome"]["code"],
        "outreach": None if outreach is None else {"outcome": outreach["outcome"], "visit_due_ms": outreach["visit_due_ms"], "visited_ms": outreach["visited_ms"]},
        "history": [{name: event[name] for name in PUBLIC_EVENT_FIELDS if name in event} for event in report["history"]],
    }


def list_open_reports(state: Any, region: str, now_ms: int) -> list[dict[str, Any]]:
    """The open reports held anywhere within ``region``, oldest first, with their age in days."""
    _require_region(region)
    rows = [{"id": key.rsplit("/", 1)[1], **entry, "age_days": (now_ms - entry["filed_ms"]) // DAY_MS}
            for key, entry in state.iterate_state_prefix(f"reports/open/{get_region_prefix(region)}")
            if is_within(entry["holder"]["region"], region)]
    return sorted(rows, key=lambda row: (row["filed_ms"], row["id"]))


def get_overview(state: Any, level: str, now_ms: int, region: str = "000000") -> list[dict[str, Any]]:
    """For each region of ``level`` within ``region`` and each category: reports filed, open (by
    age, and how many are held at that region itself), acknowledged and resolved with the mean
    hours they took, escalations, deadlines missed at the top."""
    if level not in VIEW_LEVELS:
        raise ReportsError(f"level is one of {', '.join(VIEW_LEVELS)}")
    _require_region(region)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for key, counters in state.iterate_state_prefix(f"reports/stats/{get_region_prefix(region)}"):
        place, category = key.split("/")[2:4]
        if get_level(place) == level and is_within(place, region):
            rows[(place, category)] = _build_row(level, place, category, counters)
    for _, entry in state.iterate_state_prefix("reports/open/"):  # every open report: one escalated above ``region`` still counts where it is
        place = _get_region_at_level(entry["region"], level)
        row = rows.get((place, entry["category"])) if place is not None else None
        if row is None:
            continue
        row[AGE_LABELS[sum(1 for days in AGE_BUCKETS_DAYS if now_ms - entry["filed_ms"] >= days * DAY_MS)]] += 1
        row["held_here"] += entry["holder"]["region"] == place
    return [rows[key] for key in sorted(rows)]


def write_overview(rows: list[dict[str, Any]], path: Path, file_format: str) -> None:
    """Export an overview as CSV, or as Parquet written by DuckDB (built in, no extension to fetch);
    the file appears whole or not at all."""
    if file_format not in ("csv", "parquet"):
        raise ReportsError("the format is csv or parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    try:
        if file_format == "csv":
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=OVERVIEW_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            _write_parquet(rows, temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import duckdb

    types = {name: "VARCHAR" if name in ("level", "region", "category") else "DOUBLE" if name.startswith("mean_") else "BIGINT" for name in OVERVIEW_COLUMNS}
    with duckdb.connect() as connection:
        connection.execute(f"CREATE TABLE overview ({', '.join(f'{_identifier(name)} {kind}' for name, kind in types.items())})")
        if rows:
            placeholders = ", ".join("?" for _ in OVERVIEW_COLUMNS)
            connection.executemany(f"INSERT INTO overview VALUES ({placeholders})", [[row[name] for name in OVERVIEW_COLUMNS] for row in rows])
        connection.execute(f"COPY overview TO '{_quote(path)}' (FORMAT parquet)")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _build_row(level: str, place: str, category: str, counters: dict[str, int]) -> dict[str, Any]:
    def mean_hours(total: int, count: int) -> float | None:
        return round(total / count / HOUR_MS, 1) if count else None

    return {"level": level, "region": place, "category": category, **{name: counters[name] for name in STAT_FIELDS if not name.endswith("_ms_total")},
            "held_here": 0, **dict.fromkeys(AGE_LABELS, 0),
            "mean_acknowledge_hours": mean_hours(counters["acknowledge_ms_total"], counters["acknowledged"]),
            "mean_resolve_hours": mean_hours(counters["resolve_ms_total"], counters["resolved"])}


def _get_region_at_level(region: str, level: str) -> str | None:
    for candidate in (region, *get_ancestors(region)):
        if get_level(candidate) == level:
            return candidate
    return None


def _require_region(region: str) -> None:
    if not is_region_code(region):
        raise ReportsError(f"{region!r} is not a GB/T 2260 region code")


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")

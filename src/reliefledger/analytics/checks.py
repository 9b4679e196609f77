"""Anomaly and fraud checks over the analytics store: rules that raise alerts, never verdicts.

Each check is one SQL query over the views of ``open_analytics`` and answers alerts: what kind,
about which subject (a case, a household, a merchant), in which region, and the **evidence** —
ledger references (transaction ids, whose receipts carry inclusion proofs) a person can open and
judge. An alert only opens a task in a person's queue (``alerts.py`` files it as a report through
the analytics channel); the decision, with its reasons, is that person's.

The checks, with the thresholds documented in docs/analytics.md:

``cash_out``
    A merchant where at least ``CASH_OUT_WALLETS_MIN`` different wallets each paid, within
    ``CASH_OUT_WINDOW_DAYS`` of a benefit arriving, a round sum (whole hundreds of yuan) of at least
    ``CASH_OUT_SHARE_PERCENT`` % of that benefit: wallets turned into cash at the counter.
``paid_after_death``
    A case paid (posted, or a bank payment under way) after one of its household's members was
    recorded dead, with no change of benefit since the death; a voided or expired bank payment
    was not paid.
``exclusive_programmes``
    A household enrolled at once in two programmes that exclude each other (dibao and tekun).
``assets_after_enrolment``
    An enrolled case whose periodic review found it no longer eligible, still paid after the
    review with no change of benefit.
``staff_related_without_visit``
    An application related to the staff approved without the county's own visit (the contract
    requires it today; the check keeps watch over older records and imported ones).
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

import duckdb

DISBURSEMENT_CODES = (101, 500, 501)
RETAIL_CODE = 300
CASH_OUT_WALLETS_MIN = 3
CASH_OUT_WINDOW_DAYS = 7
CASH_OUT_SHARE_PERCENT = 60
EXCLUSIVE_PROGRAMMES = (("dibao", "tekun"),)
EVIDENCE_MAX = 50
"""At most this many ledger references travel with one alert (the count says how many in all)."""

CHECKS: dict[str, str] = {
    "cash_out": f"""
        WITH benefits AS (
            SELECT transfer.credit_account_id AS wallet, transfer.time_ms AS paid_ms, transfer.posted_amount AS paid
            FROM transfers AS transfer JOIN accounts AS account ON account.account_id = transfer.credit_account_id
            WHERE account.kind = 'beneficiary_wallet' AND transfer.code IN {DISBURSEMENT_CODES}
              AND transfer.status = 'posted' AND transfer.pending_id IS NULL AND transfer.posted_amount > 0),
        suspicious AS (
            SELECT DISTINCT spend.credit_account_id AS merchant, spend.debit_account_id AS wallet, spend.transaction
            FROM transfers AS spend JOIN benefits ON benefits.wallet = spend.debit_account_id
             AND spend.time_ms BETWEEN benefits.paid_ms AND benefits.paid_ms + {CASH_OUT_WINDOW_DAYS} * 86400000
            WHERE spend.code = {RETAIL_CODE} AND spend.status = 'posted' AND spend.amount % 10000 = 0
              AND spend.amount * 100 >= benefits.paid * {CASH_OUT_SHARE_PERCENT})
        SELECT 'cash_out' AS check_name, merchant AS subject, coalesce(any_value(account.region), '') AS region,
               count(DISTINCT wallet) AS weight, list(DISTINCT suspicious.transaction ORDER BY suspicious.transaction) AS evidence
        FROM suspicious LEFT JOIN accounts AS account ON account.account_id = suspicious.merchant
        GROUP BY merchant HAVING count(DISTINCT wallet) >= {CASH_OUT_WALLETS_MIN}""",
    "paid_after_death": f"""
        SELECT 'paid_after_death' AS check_name, kase.case_id AS subject, kase.region, count(DISTINCT transfer.transfer_id) AS weight,
               list(DISTINCT transfer.transaction ORDER BY transfer.transaction) AS evidence
        FROM persons AS person
        JOIN cases AS kase ON kase.household = person.household
        JOIN transfers AS transfer ON transfer.reference = kase.case_id AND transfer.code IN {DISBURSEMENT_CODES}
             AND transfer.pending_id IS NULL AND transfer.status IN ('posted', 'pending') AND transfer.height > person.death_height
        WHERE person.status = 'deceased' AND coalesce(kase.benefit_changed_height, 0) < person.death_height
        GROUP BY ALL""",
    "exclusive_programmes": " UNION ALL ".join(f"""
        SELECT 'exclusive_programmes' AS check_name, first.household AS subject, first.region, 2 AS weight,
               [first.case_id, second.case_id] AS evidence
        FROM cases AS first JOIN cases AS second ON second.household = first.household
        WHERE first.programme = '{one}' AND second.programme = '{other}' AND first.status = 'enrolled' AND second.status = 'enrolled'"""
                                               for one, other in EXCLUSIVE_PROGRAMMES),
    "assets_after_enrolment": f"""
        SELECT 'assets_after_enrolment' AS check_name, kase.case_id AS subject, kase.region, count(DISTINCT transfer.transfer_id) AS weight,
               list(DISTINCT transfer.transaction ORDER BY transfer.transaction) AS evidence
        FROM cases AS kase JOIN transfers AS transfer ON transfer.reference = kase.case_id AND transfer.code IN {DISBURSEMENT_CODES}
             AND transfer.pending_id IS NULL AND transfer.status IN ('posted', 'pending') AND transfer.height > kase.review_height
        WHERE kase.status = 'enrolled' AND kase.review_eligible = false AND coalesce(kase.benefit_changed_height, 0) < kase.review_height
        GROUP BY ALL""",
    "staff_related_without_visit": """
        SELECT 'staff_related_without_visit' AS check_name, case_id AS subject, region, 1 AS weight, [case_id] AS evidence
        FROM cases WHERE related_to_staff AND outcome = 'approve' AND visits_by_county = 0""",
}
"""Every check's SQL: each answers (check_name, subject, region, weight, evidence)."""


@dataclass(frozen=True)
class Alert:
    """One alert: a check's finding about one subject, with its evidence on the ledger."""

    check: str
    subject: str
    region: str
    weight: int
    """How much evidence: wallets, payments or cases found."""
    evidence: tuple[str, ...] = field(default=())
    """Ledger references (transaction ids or case ids), at most ``EVIDENCE_MAX``."""

    @property
    def alert_id(self) -> str:
        """Stable for the same check and subject: filing the same alert twice is refused, not doubled."""
        return "alert-" + hashlib.sha256(f"{self.check}|{self.subject}".encode()).hexdigest()[:24]

    def to_json(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "check": self.check, "subject": self.subject, "region": self.region, "weight": self.weight,
                "evidence": list(self.evidence)}


def run_checks(connection: duckdb.DuckDBPyConnection, names: tuple[str, ...] = tuple(CHECKS)) -> list[Alert]:
    """Every alert of the named checks, in a stable order (check, subject)."""
    alerts = []
    for name in names:
        for check, subject, region, weight, evidence in connection.execute(CHECKS[name]).fetchall():
            alerts.append(Alert(check, subject, region or "", int(weight), tuple(evidence[:EVIDENCE_MAX])))
    return sorted(alerts, key=lambda alert: (alert.check, alert.subject))

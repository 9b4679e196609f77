"""From alerts to people's queues: the rule set is put in service on the ledger, and each alert is
filed as a report through the analytics channel, naming the model that raised it.

The alert's evidence (its check, subject and ledger references) goes into the report's
description, kept in the vault; the report is routed like any other (a fund problem to the
finance department's county desk) and escalates if nobody answers it. Whoever holds it opens the
evidence, judges, and resolves the report with an outcome and reasons: the decision is theirs.
An alert is filed under its stable id, so running the checks again never files it twice.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from reliefledger.analytics import checks
from reliefledger.analytics.checks import Alert
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.reports import ReportDesk
from reliefledger.node.staff import StaffMember

RULES_VERSION = "2026.11.1"
"""The rule set's version: change it with any change to ``checks.CHECKS`` or its thresholds."""
ALERT_CATEGORY = "fund_problem"
RULES_EVALUATION = {"cash_out_precision_bp": 10_000, "cash_out_recall_bp": 10_000, "paid_after_death_precision_bp": 10_000,
                    "paid_after_death_recall_bp": 10_000, "held_out_households": 1_500}
"""The rule set's figures as measured on the held-out city (seed 31, 1,500 households) by
``sim/check_evaluation.py`` — docs/model-card.md; ``tests/analytics/test_check_evaluation.py``
measures them again on every run of the suite and fails if they fall below its thresholds."""
RULES_CALIBRATION = "held-out synthetic city: seed 31, 1,500 households, deaths recorded and paid on"


def get_rules_parameters_digest() -> str:
    """SHA-256 of the rule set as it runs: every check's SQL and every threshold."""
    thresholds = {name: getattr(checks, name) for name in ("CASH_OUT_WALLETS_MIN", "CASH_OUT_WINDOW_DAYS", "CASH_OUT_SHARE_PERCENT", "EXCLUSIVE_PROGRAMMES",
                                                           "DISBURSEMENT_CODES", "RETAIL_CODE")}
    document = json.dumps({"checks": checks.CHECKS, "thresholds": thresholds, "version": RULES_VERSION}, sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()


async def put_rules_in_service(casework: Casework, analyst: StaffMember, model_id: str, *, calibration_digest: str,
                               evaluation: dict[str, int]) -> dict[str, Any]:
    """Register the rule set on the ledger (``models.register_model``) with the digest of the data
    its thresholds were evaluated on and the evaluation figures (integers)."""
    return await casework.submit(analyst, "models", "register_model", {
        "model_id": model_id, "kind": "anomaly_rules", "version": RULES_VERSION, "training_digest": calibration_digest,
        "parameters_digest": get_rules_parameters_digest(), "evaluation": evaluation})


@dataclass
class FilingReport:
    """What filing a run's alerts did."""

    filed: list[str] = field(default_factory=list)
    already_filed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


async def file_alerts(casework: Casework, analyst: StaffMember, alerts: list[Alert], model_id: str, *, fallback_region: str) -> FilingReport:
    """File every alert as a report in a person's queue (once: an alert filed before is counted,
    not filed again); the evidence goes to the vault with the report."""
    desk = ReportDesk(casework)
    report = FilingReport()
    for alert in alerts:
        try:
            await desk.file(analyst, region=alert.region or fallback_region, category=ALERT_CATEGORY, urgency="normal",
                            description={"alert": alert.to_json(), "model_id": model_id}, channel="analytics", model_id=model_id, alert_id=alert.alert_id)
            report.filed.append(alert.alert_id)
        except CaseworkError as error:
            if error.code == "report_exists":
                report.already_filed.append(alert.alert_id)
            else:
                report.refused[alert.alert_id] = f"{error.code}: {error}"
    return report


@dataclass(frozen=True)
class Candidate:
    """A household the discovery model scored: its pseudonym, township, score and top reasons."""

    household: str
    township: str
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[str, ...] = ()
    """Ledger references (``<answer record>/<query id>``) of the agency answers the score used."""

    def get_task_id(self, model_id: str) -> str:
        """Stable per model and household: the same model never opens two tasks for one household."""
        return "outreach-" + hashlib.sha256(f"{model_id}|{self.household}".encode()).hexdigest()[:24]


async def file_outreach_tasks(casework: Casework, analyst: StaffMember, candidates: list[Candidate], model_id: str) -> FilingReport:
    """Open a township outreach task (a ``person_in_difficulty`` report through the analytics
    channel) for each candidate, with the score and reasons in the vault; the visit and its
    outcome are people's work (``record_outreach``)."""
    desk = ReportDesk(casework)
    report = FilingReport()
    for candidate in candidates:
        task_id = candidate.get_task_id(model_id)
        try:
            await desk.file(analyst, region=candidate.township, category="person_in_difficulty", urgency="normal",
                            description={"household": candidate.household, "score_bp": round(candidate.score * 10_000), "reasons": list(candidate.reasons),
                                         "model_id": model_id, **({"evidence": list(candidate.evidence)} if candidate.evidence else {})},
                            channel="analytics", model_id=model_id, alert_id=task_id)
            report.filed.append(task_id)
        except CaseworkError as error:
            if error.code == "report_exists":
                report.already_filed.append(task_id)
            else:
                report.refused[task_id] = f"{error.code}: {error}"
    return report

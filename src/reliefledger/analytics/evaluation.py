"""How well the checks do against a synthetic city's ground truth: per alert type, the true and
false positives, precision, recall and false-positive rate, and the false-positive rate in each
district (its disparity is the gap between the highest and the lowest).

A check's *subjects* are what it judges (merchants for ``cash_out``, cases for the others); the
ground truth says which subjects are positive, and how many subjects there were, so that the
false-positive rate has a denominator.
"""

from dataclasses import dataclass, field
from typing import Any

from reliefledger.analytics.checks import Alert


@dataclass
class GroundTruth:
    """For one check: the positive subjects, every subject judged, and each subject's district."""

    positives: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)
    districts: dict[str, str] = field(default_factory=dict)


def evaluate_check(alerts: list[Alert], truth: GroundTruth) -> dict[str, Any]:
    """The figures of one check."""
    raised = {alert.subject for alert in alerts} & truth.subjects  # a subject outside the judged ones is not a false positive of theirs
    true_positive = len(raised & truth.positives)
    false_positive = len(raised - truth.positives)
    negatives = truth.subjects - truth.positives
    by_district: dict[str, float] = {}
    for district in sorted(set(truth.districts.values())):
        in_district = {subject for subject in negatives if truth.districts.get(subject) == district}
        if in_district:
            by_district[district] = round(len(raised & in_district) / len(in_district), 4)
    rates = list(by_district.values())
    return {"subjects": len(truth.subjects), "positives": len(truth.positives), "alerts": len(raised), "true_positives": true_positive,
            "false_positives": false_positive, "precision": round(true_positive / len(raised), 4) if raised else None,
            "recall": round(true_positive / len(truth.positives), 4) if truth.positives else None,
            "false_positive_rate": round(false_positive / len(negatives), 4) if negatives else 0.0,
            "false_positive_rate_by_district": by_district, "false_positive_rate_gap": round(max(rates) - min(rates), 4) if rates else 0.0}


def evaluate_checks(alerts: list[Alert], truths: dict[str, GroundTruth]) -> dict[str, dict[str, Any]]:
    """The figures of every check that has a ground truth."""
    return {check: evaluate_check([alert for alert in alerts if alert.check == check], truth) for check, truth in sorted(truths.items())}

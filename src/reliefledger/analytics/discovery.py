"""Active discovery: a model that scores households not receiving assistance for likely hardship
from multi-agency signals, and gives the top reasons for each score. A score only opens an
outreach task (a township visit); a person decides what happens.

The signals (``discovery_signals``) are the ones the policy names — income drop, unemployment,
large medical bills, disability, elderly living alone, utility arrears — with income per member
and household shape, each as the agencies share it for discovery: a bracket, a count or a flag,
never a figure or an identity. ``extract_signals`` computes them from a synthetic household's
truth; ``analytics.discovery_run`` gathers the same signals in a deployment, through approved
discovery sharing requests and logged registry reads.

The model is a logistic regression on standardised signals (scikit-learn), trained with a fixed
seed, so the same data give the same model, the same digests and the same scores. Its label is
the synthetic population's ground truth: whether the household is in fact eligible for dibao.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from reliefledger.analytics.discovery_signals import SIGNALS, compute_signals, read_true_facts
from reliefledger.ledger.policy import PolicyPack, evaluate_eligibility, parse_household_facts
from reliefledger.sim.data_sharing import get_expected_facts
from reliefledger.sim.records import Household

SEED = 2026
THRESHOLD = 0.5
"""A household scoring at least this opens an outreach task."""


def extract_signals(household: Household, as_of: datetime.date | None = None) -> list[float]:
    """A synthetic household's signals, in ``SIGNALS`` order, as a deployment would gather them
    (``discovery_signals``: brackets from the agencies, composition from the registry)."""
    return compute_signals(read_true_facts(household, as_of))


def is_in_hardship(household: Household, pack: PolicyPack, time_ms: int) -> bool:
    """The ground truth: the household is in fact eligible for dibao (from the synthetic truth)."""
    facts = parse_household_facts(get_expected_facts(household), pack)
    return evaluate_eligibility(pack, "dibao", household.township, time_ms, facts).eligible


def build_matrix(households: Sequence[Household], as_of: datetime.date | None = None) -> numpy.ndarray:
    """The signals of many households as a matrix (one row each)."""
    return to_matrix([extract_signals(household, as_of) for household in households])


def to_matrix(rows: Sequence[Sequence[float]]) -> numpy.ndarray:
    """Signal rows as the model's input matrix (also for no rows)."""
    return numpy.array(rows, dtype=numpy.float64).reshape(len(rows), len(SIGNALS))


def compute_digest(*arrays: numpy.ndarray) -> str:
    """SHA-256 over arrays' shapes and bytes: the training data's or the parameters' digest."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = numpy.ascontiguousarray(array)
        digest.update(json.dumps([str(contiguous.dtype), list(contiguous.shape)]).encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


@dataclass
class DiscoveryModel:
    """A trained model with what identifies it."""

    pipeline: Pipeline
    training_digest: str

    @property
    def parameters_digest(self) -> str:
        scaler, regression = self.pipeline.named_steps["scale"], self.pipeline.named_steps["regression"]
        return compute_digest(scaler.mean_, scaler.scale_, regression.coef_, regression.intercept_)

    def score(self, matrix: numpy.ndarray) -> numpy.ndarray:
        """Probability of hardship for each row."""
        return self.pipeline.predict_proba(matrix)[:, 1]

    def explain(self, row: numpy.ndarray, count: int = 3) -> list[str]:
        """The signals that pushed this household's score up the most (their contribution to the
        log-odds: coefficient times the standardised value), largest first."""
        scaler, regression = self.pipeline.named_steps["scale"], self.pipeline.named_steps["regression"]
        contributions = regression.coef_[0] * (row - scaler.mean_) / scaler.scale_
        order = numpy.argsort(-contributions, kind="stable")
        return [SIGNALS[index] for index in order[:count] if contributions[index] > 0]


def train(matrix: numpy.ndarray, labels: numpy.ndarray) -> DiscoveryModel:
    """Fit the model (deterministic: fixed seed, a deterministic solver)."""
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("regression", LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=SEED, solver="lbfgs"))])
    pipeline.fit(matrix, labels)
    return DiscoveryModel(pipeline, compute_digest(matrix, labels.astype(numpy.int8)))


def evaluate(model: DiscoveryModel, matrix: numpy.ndarray, labels: numpy.ndarray, groups: Sequence[str], threshold: float = THRESHOLD) -> dict[str, Any]:
    """Precision, recall, false-positive rate and AUC on held-out households, and the false-positive
    rate in each group (district) with the largest gap between groups."""
    scores = model.score(matrix)
    flagged = scores >= threshold
    truth = labels.astype(bool)
    true_positive = int(numpy.sum(flagged & truth))
    false_positive = int(numpy.sum(flagged & ~truth))
    negatives = int(numpy.sum(~truth))
    by_group = {}
    for group in sorted(set(groups)):
        members = numpy.array([item == group for item in groups])
        group_negatives = int(numpy.sum(~truth & members))
        by_group[group] = round(int(numpy.sum(flagged & ~truth & members)) / group_negatives, 4) if group_negatives else None
    rates = [rate for rate in by_group.values() if rate is not None]
    return {"households": len(labels), "in_hardship": int(numpy.sum(truth)), "flagged": int(numpy.sum(flagged)),
            "precision": round(true_positive / max(1, int(numpy.sum(flagged))), 4), "recall": round(true_positive / max(1, int(numpy.sum(truth))), 4),
            "false_positive_rate": round(false_positive / max(1, negatives), 4), "auc": round(float(roc_auc_score(truth, scores)), 4),
            "false_positive_rate_by_district": by_group, "false_positive_rate_gap": round(max(rates) - min(rates), 4) if rates else 0.0}


def to_basis_points(figures: dict[str, Any]) -> dict[str, int]:
    """The evaluation as the ledger records it: integers (rates in basis points)."""
    recorded = {name: int(figures[name]) for name in ("households", "in_hardship", "flagged")}
    for name in ("precision", "recall", "false_positive_rate", "auc", "false_positive_rate_gap"):
        recorded[f"{name}_bp"] = round(figures[name] * 10_000)
    return recorded

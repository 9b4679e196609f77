"""Active discovery: a model that scores households not receiving assistance for likely hardship
from multi-agency signals, and gives the top reasons for each score. A score only opens an
outreach task (a township visit); a person decides what happens.

The signals are the ones the policy names (unemployment, large medical bills, disability, elderly
living alone, utility arrears) with income per member and household shape, each as an agency
would share it for discovery: a count, a flag or an amount, never an identity. ``extract_signals``
reads them from a synthetic household's agency records; a deployment's agencies would compute the
same signals on their side (not built here: see docs/model-card.md).

The model is a logistic regression on standardised signals (scikit-learn), trained with a fixed
seed, so the same data give the same model, the same digests and the same scores. Its label is
the synthetic population's ground truth: whether the household is in fact eligible for dibao.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from reliefledger.ledger.policy import PolicyPack, evaluate_eligibility, parse_household_facts
from reliefledger.sim.data_sharing import get_expected_facts
from reliefledger.sim.records import Household

SIGNALS: tuple[str, ...] = ("income_per_member", "unemployed_adults", "medical_bills", "disabled_members", "elderly_living_alone", "utility_arrears",
                            "elderly_members", "children", "members", "provident_fund")
"""The model's inputs, in order. Amounts enter as log(1 + yuan)."""
ELDERLY_AGE, ADULT_AGE = 65, 18
SEED = 2026
THRESHOLD = 0.5
"""A household scoring at least this opens an outreach task."""


def extract_signals(household: Household) -> list[float]:
    """The household's signals, in ``SIGNALS`` order."""
    members = household.members
    income_fen = sum(member.finances.wages_fen + member.finances.business_income_fen + member.finances.pension_fen for member in members)
    adults = [member for member in members if ADULT_AGE <= member.age < ELDERLY_AGE]
    elderly = [member for member in members if member.age >= ELDERLY_AGE]
    return [
        math.log1p(income_fen / 100 / len(members)),
        float(sum(1 for member in adults if not member.employed)),
        math.log1p(sum(member.finances.medical_expenses_fen for member in members) / 100),
        float(sum(1 for member in members if member.disabled)),
        float(len(members) == 1 and bool(elderly)),
        math.log1p(sum(member.finances.utility_arrears_fen for member in members) / 100),
        float(len(elderly)),
        float(sum(1 for member in members if member.age < ADULT_AGE)),
        float(len(members)),
        math.log1p(sum(member.finances.provident_fund_fen for member in members) / 100),
    ]


def is_in_hardship(household: Household, pack: PolicyPack, time_ms: int) -> bool:
    """The ground truth: the household is in fact eligible for dibao (from the synthetic truth)."""
    facts = parse_household_facts(get_expected_facts(household), pack)
    return evaluate_eligibility(pack, "dibao", household.township, time_ms, facts).eligible


def build_matrix(households: Sequence[Household]) -> numpy.ndarray:
    """The signals of many households as a matrix (one row each)."""
    return numpy.array([extract_signals(household) for household in households], dtype=numpy.float64).reshape(len(households), len(SIGNALS))


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

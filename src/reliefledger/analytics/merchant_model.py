"""A learned check beside the rules: merchants whose takings from beneficiary wallets look unlike
every other merchant's (an isolation forest, scikit-learn), whatever the exact pattern.

The ``cash_out`` rule looks for one known pattern with fixed thresholds; this model needs no
threshold on any single figure. Per merchant with enough payments it measures, from the analytics
store, how its wallet payments relate to the benefits that funded them — the share of round sums,
the mean share of the last benefit spent in one payment, the share spent within a day of the
benefit arriving, and payments per wallet — and scores how easily that profile is isolated from
the rest. Merchants the forest isolates, and whose wallet payments are above the median share of
the benefit (outliers for being smaller or more ordinary are not findings), become alerts with
their most telling payments as evidence. Like every alert, it only opens a task for a person.
"""

import hashlib
import json
from dataclasses import dataclass

import duckdb
import numpy
from sklearn.ensemble import IsolationForest

from reliefledger.analytics.checks import DISBURSEMENT_CODES, EVIDENCE_MAX, RETAIL_CODE, Alert

SEED = 2026
TREES = 200
PAYMENTS_MIN = 5
"""A merchant needs this many wallet payments to be profiled."""
CONTAMINATION = 0.02
"""The share of merchants the forest treats as outlying: a queue people can work through."""
FEATURES = ("round_share", "benefit_share", "same_day_share", "payments_per_wallet")

PROFILE_SQL = f"""
    WITH benefits AS (
        SELECT transfer.credit_account_id AS wallet, transfer.time_ms AS paid_ms, transfer.posted_amount AS paid
        FROM transfers AS transfer
        WHERE transfer.credit_kind = 'beneficiary_wallet' AND transfer.code IN {DISBURSEMENT_CODES}
          AND transfer.status = 'posted' AND transfer.pending_id IS NULL AND transfer.posted_amount > 0),
    spends AS (
        SELECT spend.credit_account_id AS merchant, spend.debit_account_id AS wallet, spend.amount, spend.time_ms, spend.transaction
        FROM transfers AS spend WHERE spend.code = {RETAIL_CODE} AND spend.status = 'posted' AND spend.credit_kind = 'merchant'),
    funded AS (
        SELECT spends.*, benefits.paid, benefits.paid_ms
        FROM spends ASOF JOIN benefits ON benefits.wallet = spends.wallet AND spends.time_ms >= benefits.paid_ms)
    SELECT merchant, count(*) AS payments, count(DISTINCT wallet) AS wallets,
           avg(CASE WHEN amount % 10000 = 0 THEN 1.0 ELSE 0.0 END) AS round_share,
           avg(least(amount / paid, 2.0)) AS benefit_share,
           avg(CASE WHEN time_ms - paid_ms <= 86400000 THEN 1.0 ELSE 0.0 END) AS same_day_share,
           list(transaction ORDER BY amount / paid DESC) AS telling
    FROM funded GROUP BY merchant HAVING count(*) >= {PAYMENTS_MIN} ORDER BY merchant"""


@dataclass
class MerchantProfiles:
    """The merchants profiled, their feature matrix and their most telling payments."""

    merchants: list[str]
    matrix: numpy.ndarray
    telling: list[list[str]]


def read_profiles(connection: duckdb.DuckDBPyConnection) -> MerchantProfiles:
    """Every merchant's profile from the analytics views."""
    rows = connection.execute(PROFILE_SQL).fetchall()
    matrix = numpy.array([[round_share, benefit_share, same_day_share, payments / wallets]
                          for _, payments, wallets, round_share, benefit_share, same_day_share, _ in rows], dtype=numpy.float64).reshape(len(rows), len(FEATURES))
    return MerchantProfiles([row[0] for row in rows], matrix, [list(row[6]) for row in rows])


def get_parameters_digest() -> str:
    """SHA-256 of the model's configuration and the SQL of its profile: its version's identity."""
    document = json.dumps({"contamination": CONTAMINATION, "features": FEATURES, "payments_min": PAYMENTS_MIN, "profile": PROFILE_SQL, "seed": SEED,
                           "trees": TREES}, sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()


def find_outlying_merchants(connection: duckdb.DuckDBPyConnection, regions: dict[str, str] | None = None) -> list[Alert]:
    """Alerts for merchants the forest isolates on the suspicious side (deterministic: fixed seed)."""
    profiles = read_profiles(connection)
    if len(profiles.merchants) < 3:
        return []  # nothing to compare a merchant with
    forest = IsolationForest(n_estimators=TREES, random_state=SEED, contamination=CONTAMINATION).fit(profiles.matrix)
    outlying = forest.predict(profiles.matrix) == -1
    scores = -forest.score_samples(profiles.matrix)
    typical_share = float(numpy.median(profiles.matrix[:, 1]))
    alerts = []
    for index, merchant in enumerate(profiles.merchants):
        if outlying[index] and profiles.matrix[index, 1] > typical_share:
            alerts.append(Alert("merchant_outlier", merchant, (regions or {}).get(merchant, ""), round(float(scores[index]) * 1000),
                                tuple(profiles.telling[index][:EVIDENCE_MAX])))
    return alerts

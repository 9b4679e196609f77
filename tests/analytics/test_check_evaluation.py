"""The checks on a held-out synthetic city (its own seed), scored against its ground truth: the
thresholds docs/model-card.md states, per alert type and across districts."""

import asyncio
from pathlib import Path


from city_support import build_city
from reliefledger.sim.check_evaluation import evaluate_city

HELD_OUT_SEED, HOUSEHOLDS = 31, 1500
PRECISION_MIN, RECALL_MIN, FALSE_POSITIVE_RATE_MAX, FALSE_POSITIVE_GAP_MAX = 0.9, 0.9, 0.01, 0.01



def test_every_check_meets_its_thresholds_on_a_held_out_city(tmp_path: Path) -> None:
    root = tmp_path / "city"
    build_city(root, households=HOUSEHOLDS, seed=HELD_OUT_SEED)
    figures = asyncio.run(evaluate_city(root, seed=HELD_OUT_SEED, households=HOUSEHOLDS))["checks"]
    for check in ("cash_out", "merchant_outlier", "paid_after_death"):  # the planted cases: found, and nothing else flagged
        assert figures[check]["positives"] >= 1 and figures[check]["precision"] >= PRECISION_MIN and figures[check]["recall"] >= RECALL_MIN, (check, figures[check])
    for check, result in figures.items():
        assert result["false_positive_rate"] <= FALSE_POSITIVE_RATE_MAX and result["false_positive_rate_gap"] <= FALSE_POSITIVE_GAP_MAX, (check, result)
        assert result["subjects"] > 0

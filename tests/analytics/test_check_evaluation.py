"""The checks on a held-out synthetic city (its own seed), scored against its ground truth: the
thresholds docs/model-card.md states, per alert type and across districts."""

import asyncio
import io
import socket
from pathlib import Path

from rich.console import Console

from reliefledger.sim.check_evaluation import evaluate_city
from reliefledger.sim.scenario import run_city_demo

HELD_OUT_SEED, HOUSEHOLDS = 31, 1500
PRECISION_MIN, RECALL_MIN, FALSE_POSITIVE_RATE_MAX, FALSE_POSITIVE_GAP_MAX = 0.9, 0.9, 0.01, 0.01


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_check_meets_its_thresholds_on_a_held_out_city(tmp_path: Path) -> None:
    root = tmp_path / "city"
    asyncio.run(run_city_demo(root, households=HOUSEHOLDS, port=find_free_port(), serve_seconds=0, console=Console(file=io.StringIO()),
                              extend_app=lambda app, node, city: None, pace_s=60, seed=HELD_OUT_SEED))
    figures = asyncio.run(evaluate_city(root, seed=HELD_OUT_SEED, households=HOUSEHOLDS))["checks"]
    for check in ("cash_out", "merchant_outlier", "paid_after_death"):  # the planted cases: found, and nothing else flagged
        assert figures[check]["positives"] >= 1 and figures[check]["precision"] >= PRECISION_MIN and figures[check]["recall"] >= RECALL_MIN, (check, figures[check])
    for check, result in figures.items():
        assert result["false_positive_rate"] <= FALSE_POSITIVE_RATE_MAX and result["false_positive_rate_gap"] <= FALSE_POSITIVE_GAP_MAX, (check, result)
        assert result["subjects"] > 0

"""Helpers of the analytics tests: a demo city built through the ledger, closed, on disk."""

import asyncio
import io
import socket
from pathlib import Path

from rich.console import Console

from reliefledger.sim.scenario import POPULATION_SEED, run_city_demo


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_city(root: Path, households: int = 40, seed: int = POPULATION_SEED) -> Path:
    """Build a demo city into ``root`` (served for no time, nothing ongoing) and answer ``root``."""
    asyncio.run(run_city_demo(root, households=households, port=find_free_port(), serve_seconds=0, console=Console(file=io.StringIO()),
                              extend_app=lambda app, node, city: None, pace_s=60, seed=seed))
    return root

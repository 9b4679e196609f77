"""The demo's synthetic city: its first months run through the real desk, contracts and commit path,
and the chain it leaves passes the offline audit."""

import io
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from reliefledger.sim.scenario import run_city_demo


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reliefledger.cli", *map(str, arguments)], capture_output=True, text=True, timeout=120)


def test_the_city_demo_builds_a_living_city_that_the_audit_finds_sound(tmp_path: Path) -> None:
    import asyncio

    served = []
    output = io.StringIO()
    nodes = []

    def mount(app, node) -> None:
        nodes.append((node, node.tip.height))
        served.append(sum(case["status"] == "enrolled" for _, case in node.store.iterate_state_prefix("assistance/case/")))

    report = asyncio.run(run_city_demo(tmp_path / "city", households=40, port=find_free_port(), serve_seconds=2, console=Console(file=output, width=200),
                                       extend_app=mount, pace_s=0.3))
    assert report.households == 40 and 0 < report.eligible < 40 and report.enrolled == report.eligible
    assert report.paid_fen > 0 and report.retail_payments > 0 and report.reports >= 6 and report.escalated > 0 and report.relief_payments > 0
    assert served == [report.enrolled] and "dashboard: http://127.0.0.1:" in output.getvalue()  # the dashboard is mounted on the city's node
    node, height_when_served = nodes[0]
    assert node.tip.height > height_when_served  # the city stayed alive while served: the hotline kept filing
    audit = run_cli("verify", tmp_path / "city")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    bad = run_cli("demo", "--city", "-1")
    assert bad.returncode == 1 and "--city is 0 to 100,000" in bad.stderr.replace("\n", " ") and "Traceback" not in bad.stderr

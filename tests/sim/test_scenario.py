"""The demo's synthetic city: its first months run through the real desk, contracts and commit path,
and the chain it leaves passes the offline audit."""

import io
import json
import sqlite3
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
    served_takings = []

    def mount(app, node, city) -> None:
        nodes.append((node, node.tip.height))
        served_takings.append(sum(1 for _ in node.store.iterate_state_prefix("money/transfer/retail.")))
        served.append(sum(case["status"] == "enrolled" for _, case in node.store.iterate_state_prefix("assistance/case/")))

    report = asyncio.run(run_city_demo(tmp_path / "city", households=40, port=find_free_port(), serve_seconds=2, console=Console(file=output, width=200),
                                       extend_app=mount, pace_s=0.3))
    assert report.households == 40 and 0 < report.eligible < 40 and report.enrolled == report.eligible - 1 and len(report.awaiting_decision) == 1
    assert report.objections == 1 and report.reviews == 1
    # The education subsidy: paid into an earmarked account, partly spent at the bookshop, the rest back to the budget at expiry.
    assert report.earmarked_awards == 1 and report.earmarked_spent_fen + report.earmarked_returned_fen == 80_000 and report.earmarked_returned_fen > 0
    assert report.paid_fen > 0 and report.retail_payments > 0 and report.reports >= 6 and report.escalated > 0 and report.relief_payments > 0
    assert served == [report.enrolled] and "dashboard: http://127.0.0.1:" in output.getvalue()  # the dashboard is mounted on the city's node
    node, height_when_served = nodes[0]
    assert node.tip.height > height_when_served  # the city stayed alive while served: the hotline kept filing
    with sqlite3.connect(f"file:{tmp_path / 'city' / 'ledger.sqlite'}?mode=ro", uri=True) as connection:
        takings = connection.execute("SELECT count(*) FROM state WHERE key >= 'money/transfer/retail.' AND key < 'money/transfer/retail/'").fetchone()[0]
        (waiting,) = report.awaiting_decision
        (case,) = connection.execute("SELECT value FROM state WHERE key = ?", (f"assistance/case/{waiting}",)).fetchone()
        models = {json.loads(value)["id"]: json.loads(value) for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'models/' AND key < 'models0'")}
        tasks = [json.loads(value) for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'reports/report/outreach-' AND key < 'reports/report/outreach.'")]
        applied = {json.loads(value)["household"] for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'assistance/case/' AND key < 'assistance/case0'")}
        households = {json.loads(value)["id"]: json.loads(value) for (value,) in connection.execute(
            "SELECT value FROM state WHERE key >= 'registry/household/' AND key < 'registry/household0'")}
        answers = [json.loads(value) for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'catalog/answers/' AND key < 'catalog/answers0'")]
        reads = [json.loads(value) for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'vault/access/' AND key < 'vault/access0'")]
    # Issue 9 in the city: the rules and the discovery model in service; discovery opened visits only for households that never applied.
    assert set(models) == {"rules-2026-11-1", "merchants-2026-11-1", "discovery-2026-11-1"} and all(model["status"] == "in_service" for model in models.values())
    assert len(tasks) == report.outreach_tasks and all(task["model_id"] == "discovery-2026-11-1" and task["outreach"]["visit_due_ms"] for task in tasks)
    assert 0 <= report.outreach_in_hardship <= report.outreach_tasks <= 4 and len(applied) >= 36  # one household in ten never applied
    # Their signals came from the agencies under the discovery requests (every answer recorded, naming
    # the household) and from the registry (every read logged with its purpose).
    strangers = set(households) - applied
    assert report.discovery_gathered == len(strangers) == 40 - len(applied) and report.discovery_skipped == 0
    discovery_records = [record for record in answers if record["request_id"].startswith("discovery.")]
    assert {record["agency"] for record in discovery_records} == {"tax", "human-resources", "medical-security", "utilities", "housing-fund"}
    assert {entry["household"] for record in discovery_records for entry in record["answers"].values()} == strangers
    assert all("household" not in entry for record in answers if record["request_id"].startswith("means-test.") for entry in record["answers"].values())
    persons = {person for household in strangers for person in households[household]["members"]}
    assert {read["record_commitment"] for read in reads if read["purpose"] == "active_discovery"} and len(
        [read for read in reads if read["purpose"] == "active_discovery"]) == len(persons)
    assert takings > served_takings[0]  # and holders kept shopping
    assert json.loads(case)["status"] == "in_notice"  # left for a visitor to decide
    truth = json.loads((tmp_path / "city" / "ground-truth.json").read_text())
    assert [merchant["case"] for merchant in truth["merchants"]] == ["cashing_out"]
    assert {entry["case"] for entry in truth["households"]} <= {"hidden_assets", "enrolled_twice", "deceased"}
    assert all(len(entry["household"]) == 64 for entry in truth["households"])  # pseudonyms only, never a name or an ID number
    audit = run_cli("verify", tmp_path / "city")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    bad = run_cli("demo", "--households", "-1")
    assert bad.returncode == 1 and "--households is 1 to 200,000" in " ".join(bad.stderr.split()) and "Traceback" not in bad.stderr

"""The analytics store over a real demo city: exported incrementally to Parquet, queried with
DuckDB, every figure checked against an independent count over the SQLite store (SQL and JSON)."""

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from city_support import build_city
from reliefledger.analytics.export import AnalyticsError, compact, export_projections, read_manifest
from reliefledger.analytics.queries import open_analytics, run_query
from reliefledger.node.desk import open_desk
from reliefledger.node.disbursement import get_next_month
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim.scenario import pay_month



def read_state(root: Path, prefix: str) -> dict[str, dict]:
    """Every record under a prefix, straight from the SQLite file."""
    with sqlite3.connect(f"file:{root / 'ledger.sqlite'}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT key, value FROM state WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")).fetchall()
    return {key: json.loads(value) for key, value in rows}


def ask(folder: Path, name: str) -> list[dict]:
    connection = open_analytics(folder)
    try:
        columns, rows = run_query(connection, name)
    finally:
        connection.close()
    return [dict(zip(columns, row)) for row in rows]


def independent_figures(root: Path) -> dict:
    cases = read_state(root, "assistance/case/")
    accounts = {record["id"]: record for record in read_state(root, "money/account/").values()}
    transfers = read_state(root, "money/transfer/").values()
    coverage = Counter(case["programme"] for case in cases.values() if case["status"] in ("enrolled", "completed", "paid_first"))
    flows: Counter = Counter()
    for transfer in transfers:
        if transfer["status"] == "posted" and transfer["pending_id"] is None:
            flows[(accounts[transfer["debit_account_id"]]["kind"], accounts[transfer["credit_account_id"]]["kind"])] += transfer["posted_amount"]
    answers = sum(len((case["assessment"] or {}).get("answers", [])) + len((case.get("review_assessment") or {}).get("answers", [])) for case in cases.values())
    reports = read_state(root, "reports/report/").values()
    return {"coverage": coverage, "flows": flows, "cases": len(cases), "answers": answers, "reports": len(reports),
            "escalations": sum(report["escalations"] for report in reports)}


def dependent_figures(folder: Path) -> dict:
    coverage: Counter = Counter()
    for row in ask(folder, "coverage"):
        coverage[row["programme"]] += row["cases"]
    flows: Counter = Counter()
    for row in ask(folder, "flows"):
        flows[(row["from_kind"], row["to_kind"])] += row["amount_fen"]
    reports = ask(folder, "escalations")
    return {"coverage": coverage, "flows": flows, "cases": sum(row["cases"] for row in ask(folder, "timeliness")),
            "answers": sum(row["answers"] for row in ask(folder, "agencies")), "reports": sum(row["filed"] for row in reports),
            "escalations": sum(row["escalations"] for row in reports)}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analytics") / "city"
    build_city(root, households=40)
    return root


def test_export_and_queries_agree_with_an_independent_count_and_later_exports_add_only_what_changed(city: Path) -> None:
    assert read_manifest(city / "analytics")["height"] > 0  # the demo exported its own store before serving
    folder = city.parent / "store"
    first = export_projections(city / "ledger.sqlite", folder)
    assert first.from_height == 0 and first.to_height > 0 and first.rows["transfers"] > 0 and first.rows["cases"] == len(read_state(city, "assistance/case/"))
    expected = independent_figures(city)
    assert dependent_figures(folder) == expected and expected["coverage"]["dibao"] > 0 and expected["flows"][("beneficiary_wallet", "merchant")] > 0
    agencies = ask(folder, "agencies")
    assert len(agencies) == 9 and all(row["timed"] == row["answers"] and row["median_ms"] >= 0 for row in agencies)
    assert export_projections(city / "ledger.sqlite", folder).rows == {}  # nothing new, nothing written

    async def decide_and_pay_the_next_month() -> str:
        directory = ChainDirectory(city)
        async with open_node(directory, clock_ms=read_clock_ms) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
                staff = StaffDirectory(directory)
                waiting = next(case for _, case in node.store.iterate_state_prefix("assistance/case/") if case["status"] == "in_notice")
                await casework.decide(staff.get("county"), waiting["id"], outcome="approve", reasons=[], monthly_benefit_fen=waiting["assessment"]["monthly_benefit_fen"])
                runs = sorted(key for key, _ in node.store.iterate_state_prefix("money/run/dibao/110000/"))
                await pay_month(node, staff.get("finance").key, get_next_month(runs[-1].rsplit("/", 1)[1]))
                return waiting["id"]

    decided = asyncio.run(decide_and_pay_the_next_month())
    second = export_projections(city / "ledger.sqlite", folder)
    assert second.from_height == first.to_height and second.rows["cases"] == 1  # only the case that changed
    assert 0 < second.rows["transfers"] < first.rows["transfers"] + second.rows["transfers"]
    after = independent_figures(city)
    assert dependent_figures(folder) == after and after["coverage"]["dibao"] == expected["coverage"]["dibao"] + 1  # the newest row of each record counts
    connection = open_analytics(folder)
    assert connection.execute("SELECT status FROM cases WHERE case_id = ?", [decided]).fetchall() == [("enrolled",)]
    connection.close()
    kept = compact(folder, "transfers")
    assert read_manifest(folder)["parts"]["transfers"] == [f"compact-{second.to_height:012d}.parquet"] and kept == len(read_state(city, "money/transfer/"))
    assert dependent_figures(folder) == after  # the same answers from one compacted part


def test_bad_inputs_are_refused_with_a_message(city: Path, tmp_path: Path) -> None:
    with pytest.raises(AnalyticsError, match="nothing exported"):
        open_analytics(tmp_path / "empty")
    folder = tmp_path / "copy"
    export_projections(city / "ledger.sqlite", folder)
    with pytest.raises(AnalyticsError, match="no query"):
        run_query(open_analytics(folder), "everything")
    with pytest.raises(AnalyticsError, match="no table"):
        compact(folder, "people")
    stray = folder / "transfers" / "part-000000000007-000000000009.parquet"
    stray.write_bytes(b"left by a crash")  # a part the manifest never listed
    export_projections(city / "ledger.sqlite", folder)
    assert not stray.exists()
    import threading
    import time as clock

    from reliefledger.analytics.export import hold_lock

    held = threading.Event()

    def hold_for_a_while() -> None:
        with hold_lock(folder):
            held.set()
            clock.sleep(0.5)

    holder = threading.Thread(target=hold_for_a_while)
    holder.start()
    held.wait(5)
    started = clock.monotonic()
    compact(folder, "cases")  # waits for the export holding the lock: one at a time
    assert clock.monotonic() - started >= 0.3
    holder.join()
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "chain": "ab" * 32}))
    with pytest.raises(AnalyticsError, match="another chain"):
        export_projections(city / "ledger.sqlite", folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "manifest.json").write_text(json.dumps({**manifest, "height": manifest["height"] + 10_000}))
    with pytest.raises(AnalyticsError, match="same chain"):
        export_projections(city / "ledger.sqlite", folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(AnalyticsError, match="damaged"):
        export_projections(city / "ledger.sqlite", folder)


def run_cli(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reliefledger.cli", *map(str, arguments)], capture_output=True, text=True, timeout=120)


def test_the_command_line(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "store"
    before = run_cli("analytics", "query", city, "coverage", "--out", out)
    assert before.returncode == 1 and "nothing exported" in before.stderr and "Traceback" not in before.stderr
    exported = run_cli("analytics", "export", city, "--out", out)
    assert exported.returncode == 0 and "exported heights 1–" in exported.stdout, exported.stderr
    as_json = run_cli("analytics", "query", city, "coverage", "--out", out, "--format", "json")
    rows = json.loads(as_json.stdout)
    assert sum(row["cases"] for row in rows if row["programme"] == "dibao") == independent_figures(city)["coverage"]["dibao"]
    as_csv = run_cli("analytics", "query", city, "flows", "--out", out, "--format", "csv")
    assert as_csv.stdout.splitlines()[0] == "from_kind,to_kind,category,transfers,amount_fen"
    alerts = run_cli("analytics", "alerts", city, "--out", out, "--format", "json")
    assert alerts.returncode == 0 and isinstance(json.loads(alerts.stdout), list), alerts.stderr
    unreachable = run_cli("analytics", "file-alerts", city, "--out", out, "--model-id", "rules-1", "--token", "t", "--node", "http://127.0.0.1:9")
    if json.loads(alerts.stdout):
        assert unreachable.returncode == 1 and "cannot reach the node" in unreachable.stderr and "Traceback" not in unreachable.stderr
    else:  # nothing to file: the node is not even asked
        assert unreachable.returncode == 0 and "alerts filed 0, already filed 0, refused 0" in unreachable.stdout
    evaluated = run_cli("analytics", "discovery-evaluate", "--households", 300, "--json")
    figures = json.loads(evaluated.stdout)
    assert evaluated.returncode == 0 and figures["households"] == 300 and 0 <= figures["precision"] <= 1 and len(figures["parameters_digest"]) == 64
    from reliefledger.web.app import read_analytics

    damaged = tmp_path / "damaged"
    import shutil

    shutil.copytree(out, damaged)
    part = next((damaged / "transfers").glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:100])  # a part cut short
    broken = run_cli("analytics", "query", city, "flows", "--out", damaged)
    assert broken.returncode == 1 and "cannot be read" in broken.stderr and "Traceback" not in broken.stderr
    assert "error" in read_analytics(damaged)  # the dashboard's page says so instead of failing
    for arguments, message in ((("query", city, "everything", "--out", out), "no query"), (("query", city, "flows", "--out", out, "--format", "xml"), "--format is"),
                               (("alerts", city, "--out", out, "--format", "xml"), "--format is"),
                               (("discovery-evaluate", "--train-seed", 5, "--test-seed", 5), "seeds differ"),
                               (("compact", city, "people", "--out", out), "no table"), (("export", tmp_path / "nowhere"), "")):
        bad = run_cli("analytics", *arguments)
        assert bad.returncode != 0 and message in bad.stderr and "Traceback" not in bad.stderr, (arguments, bad.stderr)

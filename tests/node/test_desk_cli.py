"""The desk from the command line against a real node process: staff, pack, steps, queries."""

import json
import re

import httpx

from node_support import NodeProcess, find_free_port, flatten, run_cli

TOWNSHIP = "110105001"
PEOPLE = [{"id_number": "11010519491231002X", "name": "王秀英"}, {"id_number": "110105201001010010", "name": "李小明"}]
FACTS = {"members": 2, "monthly_income_fen": {"wages": 100_000}, "deposits_fen": 0, "vehicles": 0, "properties_beyond_residence": 0, "business_registrations": 0}


def read_token(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return re.search(r"keep it secret\): (\S+)", flatten(result.stdout)).group(1)


def start_chain(tmp_path):
    """A new chain in ``tmp_path`` and its node as a real process (not yet ready)."""
    root = tmp_path / "chain"
    port = find_free_port()
    assert run_cli("init", root, "--orgs", "civil-affairs,tax", "--port", port).returncode == 0
    node = NodeProcess(root, None, tmp_path / "node.log")
    node.port = port
    return root, node


def test_staff_pack_and_case_steps_from_the_cli(tmp_path):
    root, node = start_chain(tmp_path)
    try:
        node.wait_ready()
        tokens = {label: read_token(run_cli("staff", "add", root, "--org", "civil-affairs", "--label", label, "--roles", roles, "--region", region))
                  for label, roles, region in [("cw-1", "caseworker", TOWNSHIP), ("cw-2", "caseworker", TOWNSHIP), ("county", "approver", "110105"), ("policy", "policy_admin", "110000")]}
        outside = run_cli("staff", "add", root, "--org", "civil-affairs", "--label", "x", "--roles", "caseworker", "--region", "330100")
        published = run_cli("pack", "publish", root, "--staff", "policy")
        assert published.returncode == 0 and "cn-mainland-2026.1" in flatten(published.stdout), published.stderr
        bad_pack_file = tmp_path / "bad.toml"
        bad_pack_file.write_text('version = "x"\namount = 1.5\n')
        bad_pack = run_cli("pack", "publish", root, "--staff", "policy", "--file", bad_pack_file)
        with httpx.Client(base_url=node.url, headers={"authorization": f"Bearer {tokens['cw-1']}"}) as client:
            household = client.post("/v1/households", json={"household_number": "HB-1", "region": TOWNSHIP, "address": "朝阳区某路1号", "members": PEOPLE}).json()["household"]
            client.post("/v1/applications", json={"application_id": "a1", "household": household, "programmes": ["dibao"], "channel": "in_person"}).raise_for_status()
        step = lambda name, body, who="cw-1": run_cli("case", "step", "a1.dibao", name, "--json", json.dumps(body), "--token", tokens[who], "--node", node.url)  # noqa: E731
        results = [step("authorisation", {"document": {"signed": True}}), step("visits", {"report": {"ok": 1}, "staff": ["cw-1", "cw-2"]}),
                   step("means-test", {"facts": FACTS}), step("opinion", {"recommendation": "approve"}), step("notice", {})]
        early = step("decision", {"outcome": "approve", "monthly_benefit_fen": 199000}, who="county")
        shown = run_cli("case", "show", "a1.dibao", "--token", tokens["county"], "--node", node.url)
        listed = run_cli("case", "list", "--status", "in_notice", "--token", tokens["cw-1"], "--node", node.url)
        board = run_cli("case", "notices", "--region", TOWNSHIP, "--token", tokens["cw-1"], "--node", node.url)
        bad_token = run_cli("case", "show", "a1.dibao", "--token", "wrong", "--node", node.url)
        forbidden = run_cli("case", "list", "--region", "110108", "--token", tokens["cw-1"], "--node", node.url)
        unknown_step = run_cli("case", "step", "a1.dibao", "launch", "--token", tokens["cw-1"], "--node", node.url)
    finally:
        node.ensure_stopped()
    assert outside.returncode == 1 and "not_authorised" in flatten(outside.stderr)
    assert bad_pack.returncode == 1 and "Traceback" not in bad_pack.stderr
    assert all(result.returncode == 0 for result in results), [result.stderr for result in results]
    assert early.returncode == 1 and "notice_not_ended" in flatten(early.stderr)
    assert json.loads(shown.stdout)["status"] == "in_notice"
    assert [case["id"] for case in json.loads(listed.stdout)] == ["a1.dibao"]
    assert json.loads(board.stdout)[0]["name"] == "王秀英" and json.loads(board.stdout)[0]["amount_fen"] == 199000
    assert bad_token.returncode == 1 and "unauthenticated" in flatten(bad_token.stderr)
    assert forbidden.returncode == 1 and "not_authorised" in flatten(forbidden.stderr)
    assert unknown_step.returncode == 1 and "unknown step" in flatten(unknown_step.stderr)
    assert all("Traceback" not in result.stderr for result in [*results, early, shown, listed, board, bad_token, forbidden, unknown_step])
    node_log = (tmp_path / "node.log").read_text(encoding="utf-8", errors="replace")
    ledger = b"".join(path.read_bytes() for path in root.glob("ledger.sqlite*"))
    for secret in [person["name"] for person in PEOPLE] + [person["id_number"] for person in PEOPLE] + ["朝阳区某路1号"]:
        assert secret not in node_log and secret.encode() not in ledger


def test_import_households_from_the_cli_with_a_report(tmp_path):
    root, node = start_chain(tmp_path)
    try:
        node.wait_ready()
        read_token(run_cli("staff", "add", root, "--org", "civil-affairs", "--label", "cw-1", "--roles", "caseworker", "--region", TOWNSHIP))
        while_running = run_cli("import-households", root, tmp_path / "none.csv", "--staff", "cw-1")
    finally:
        assert node.terminate() == 0
    source = tmp_path / "households.csv"
    source.write_text(
        "household_number,region,address,id_number,name,relation\n"
        f"HB-1,{TOWNSHIP},朝阳区某路1号,11010519491231002X,王秀英,户主\n"
        f"HB-1,{TOWNSHIP},朝阳区某路1号,110105201001010010,李小明,孙子\n"
        f"HB-2,{TOWNSHIP},朝阳区某路2号,110105197505051230,张三,户主\n",  # a wrong check character
        encoding="utf-8",
    )
    report = tmp_path / "rejected.csv"
    imported = run_cli("import-households", root, source, "--staff", "cw-1", "--report", report)
    missing_column = tmp_path / "bad.csv"
    missing_column.write_text("household_number,name\nHB-9,某\n", encoding="utf-8")
    refused_file = run_cli("import-households", root, missing_column, "--staff", "cw-1")
    verified = run_cli("verify", root)
    assert while_running.returncode == 1 and "stop it first" in flatten(while_running.stderr)
    assert imported.returncode == 0, imported.stderr
    figures = json.loads(imported.stdout)
    assert figures["households_registered"] == 1 and figures["persons_registered"] == 2 and figures["rows_rejected"] == 1
    assert "invalid_id_number" in report.read_text(encoding="utf-8") and "张三" not in report.read_text(encoding="utf-8")
    assert refused_file.returncode == 1 and "Traceback" not in refused_file.stderr
    assert verified.returncode == 0, verified.stderr
    ledger = b"".join(path.read_bytes() for path in root.glob("ledger.sqlite*"))
    assert "王秀英".encode() not in ledger and b"11010519491231002X" not in ledger

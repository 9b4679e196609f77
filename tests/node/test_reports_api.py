"""Problem reports over the desk's HTTP API: a hotline caller's anonymous report followed without
an account, the holding desk's steps, escalation when a deadline passes, the overview and its
exports, and bad input answered with codes."""

import csv
import json

import duckdb

from test_casework_api import casework_actor, run_desk
from reliefledger.report_rules import read_report_rules

STAFF = {
    "policy": (["policy_admin"], "110000"),
    "hotline": (["hotline_operator"], "110000"),
    "caseworker": (["caseworker"], "110105001"),
    "county": (["report_handler"], "110105"),
    "city": (["report_handler"], "110100"),
}
STATEMENT = "楼道灯坏了三个月，独居老人夜里摔倒"


def test_a_hotline_report_is_followed_without_an_account_and_escalates_when_ignored(tmp_path) -> None:
    async def scenario(desk):
        await desk.casework.submit(casework_actor(desk.directory, "policy"), "reports", "publish_rules", read_report_rules())
        filed = await desk.ok("hotline", "POST", "/v1/reports", json={"region": "110105001", "category": "service_failure", "urgency": "urgent",
                                                                     "channel": "hotline", "description": {"statement": STATEMENT}})
        report_id = filed["report_id"]
        followed = await desk.call("", "GET", filed["follow"])
        receipt = await desk.call("", "GET", filed["receipt"])
        full = await desk.ok("county", "GET", f"/v1/reports/{report_id}")
        wrong_desk = await desk.call("caseworker", "POST", f"/v1/reports/{report_id}/acknowledge")
        acknowledged = await desk.ok("county", "POST", f"/v1/reports/{report_id}/acknowledge")
        listed = await desk.ok("county", "GET", "/v1/reports")
        outside = await desk.call("caseworker", "GET", "/v1/reports", params={"region": "110105"})
        # Nobody resolves it: past the resolve deadline, the next block escalates it to the city.
        desk.clock["now"] = acknowledged["report"]["deadline"]["due_ms"] + 1
        second = await desk.ok("hotline", "POST", "/v1/reports", json={"region": "110105001", "category": "fund_problem", "channel": "hotline",
                                                                      "description": {"statement": "补贴被克扣"}})
        escalated = (await desk.call("", "GET", filed["follow"])).json()
        city_list = await desk.ok("city", "GET", "/v1/reports")
        county_overview = await desk.ok("policy", "GET", "/v1/reports/overview", params={"level": "county", "region": "110000"})
        national = await desk.ok("policy", "GET", "/v1/reports/overview", params={"level": "province"})
        bad = {
            "category": await desk.call("hotline", "POST", "/v1/reports", json={"region": "110105001", "category": "gossip", "description": {"x": 1}}),
            "no_token": await desk.call("", "POST", "/v1/reports", json={"region": "110105001", "category": "service_failure", "description": {"x": 1}}),
            "not_hotline": await desk.call("caseworker", "POST", "/v1/reports", json={"region": "110105001", "category": "service_failure",
                                                                                     "channel": "hotline", "description": {"x": 1}}),
            "no_subject": await desk.call("hotline", "POST", "/v1/reports", json={"region": "110105001", "category": "misconduct", "channel": "hotline",
                                                                                 "description": {"x": 1}}),
            "unknown": await desk.call("county", "POST", "/v1/reports/rnothing/acknowledge"),
            "public_unknown": await desk.call("", "GET", "/v1/public/reports/rnothing"),
            "public_bad": await desk.call("", "GET", "/v1/public/reports/NOT%20AN%20ID"),
            "level": await desk.call("policy", "GET", "/v1/reports/overview", params={"level": "township"}),
        }
        ledger_text = json.dumps([value for _, value in desk.node.store.iterate_state_prefix("reports/")], ensure_ascii=False)
        return (report_id, followed, receipt, full, wrong_desk, acknowledged, listed, outside, second, escalated, city_list, county_overview, national, bad,
                ledger_text)

    result, directory = run_desk(tmp_path, scenario, staff=STAFF, organisations=("civil-affairs", "finance", "discipline-inspection"))
    (report_id, followed, receipt, full, wrong_desk, acknowledged, listed, outside, second, escalated, city_list, county_overview, national, bad,
     ledger_text) = result
    assert followed.status_code == 200 and followed.json()["status"] == "filed" and followed.json()["holder"] == {"organisation": "civil-affairs", "region": "110105"}
    assert receipt.status_code == 200 and receipt.json()["transaction"]["body"]["args"]["report_id"] == report_id
    public_text = followed.text + json.dumps(escalated, ensure_ascii=False)
    assert "commitment" not in public_text and STATEMENT not in public_text and STATEMENT not in ledger_text and "补贴" not in ledger_text
    assert full["caller_commitment"] is None and full["channel"] == "hotline" and len(full["description_commitment"]) == 64
    assert wrong_desk.status_code == 403 and wrong_desk.json()["code"] == "not_authorised"
    assert acknowledged["report"]["status"] == "acknowledged" and [row["id"] for row in listed] == [report_id]
    assert outside.status_code == 403
    assert escalated["holder"]["region"] == "110100" and escalated["escalations"] == 1 and escalated["history"][-1]["event"] == "escalated"
    assert {row["id"]: row["holder"]["region"] for row in city_list} == {report_id: "110100", second["report_id"]: "110105"}
    rows = {(row["region"], row["category"]): row for row in county_overview}
    assert rows[("110105", "service_failure")]["escalations"] == 1 and rows[("110105", "service_failure")]["open"] == 1
    assert rows[("110105", "service_failure")]["held_here"] == 0 and rows[("110105", "fund_problem")]["held_here"] == 1
    assert rows[("110105", "service_failure")]["acknowledged"] == 1 and rows[("110105", "service_failure")]["mean_acknowledge_hours"] is not None
    assert {row["region"] for row in national} == {"110000"} and sum(row["filed"] for row in national) == 2
    assert second["report_id"] != report_id
    codes = {name: (response.status_code, response.json()["code"]) for name, response in bad.items()}
    assert codes == {"category": (400, "invalid_request"), "no_token": (401, "unauthenticated"), "not_hotline": (403, "not_authorised"),
                     "no_subject": (409, "invalid_arguments"), "unknown": (404, "report_not_found"), "public_unknown": (404, "not_found"),
                     "public_bad": (404, "not_found"), "level": (400, "invalid_request")}
    # The overview exported from the command line, read-only, as CSV and Parquet.
    from node_support import run_cli

    for file_format in ("csv", "parquet"):
        out = tmp_path / f"overview.{file_format}"
        exported = run_cli("reports", "overview", directory.root, "--level", "county", "--format", file_format, "--out", out)
        assert exported.returncode == 0, exported.stderr
    with open(tmp_path / "overview.csv", encoding="utf-8") as handle:
        exported_rows = list(csv.DictReader(handle))
    assert {(row["region"], row["category"], row["escalations"]) for row in exported_rows} == {("110105", "service_failure", "1"), ("110105", "fund_problem", "0")}
    assert duckdb.sql(f"SELECT sum(filed) FROM '{tmp_path / 'overview.parquet'}'").fetchall() == [(2,)]
    shown = run_cli("reports", "show", directory.root, report_id)
    assert shown.returncode == 0 and '"escalated"' in shown.stdout and STATEMENT not in shown.stdout
    bad_level = run_cli("reports", "overview", directory.root, "--level", "street")
    missing = run_cli("reports", "show", directory.root, "rnothing")
    bad_format = run_cli("reports", "overview", directory.root, "--format", "xlsx", "--out", tmp_path / "x.xlsx")
    assert bad_level.returncode == 1 and missing.returncode == 1 and bad_format.returncode == 1
    assert all("Traceback" not in result.stderr for result in (bad_level, missing, bad_format))
    assert not (tmp_path / "x.xlsx").exists()

"""The civil-affairs desk over HTTP: the dibao path end to end, refusal, objection, review, the fast
path, the authorisation matrix, and no personal data on the ledger or in the logs."""

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx

from reliefledger.ledger.policy import compute_facts_digest, evaluate_eligibility, parse_household_facts
from reliefledger.node.api import create_app
from reliefledger.node.desk import admit_staff, create_desk_router, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
DAY_MS = 86_400_000
TOWNSHIP, OTHER_TOWNSHIP, COUNTY = "110105001", "110108001", "110105"
PEOPLE = [
    {"id_number": "11010519491231002X", "name": "王秀英", "relation": "head"},
    {"id_number": "110105201001010010", "name": "李小明", "relation": "grandchild"},
]
ADDRESS = "北京市朝阳区建国路88号院3号楼"
HOUSEHOLD_NUMBER = "HB-110105-000123"
STAFF = {
    "caseworker": (["caseworker"], TOWNSHIP),
    "caseworker-2": (["caseworker"], TOWNSHIP),
    "other-caseworker": (["caseworker"], OTHER_TOWNSHIP),
    "approver": (["approver"], COUNTY),
    "auditor": (["auditor"], TOWNSHIP),
    "policy": (["policy_admin"], "110000"),
}


class Desk:
    """A node with its desk served in-process; ``clock`` moves block time."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], clock: dict[str, int], node: Any, casework: Any = None, directory: Any = None) -> None:
        self.client, self.tokens, self.clock, self.node, self.casework, self.directory = client, tokens, clock, node, casework, directory

    async def call(self, who: str, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return await self.client.request(method, path, headers=headers, **options)

    async def ok(self, who: str, method: str, path: str, **options: Any) -> Any:
        response = await self.call(who, method, path, **options)
        assert response.status_code == 200, response.text
        return response.json()


def run_desk(tmp_path: Path, scenario, *, staff: dict[str, tuple] = STAFF, organisations: tuple[str, ...] = ("civil-affairs", "tax")) -> Any:
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=list(organisations),
                                     region="110000", chain_id="desk-test", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    clock = {"now": START_MS + 1000}

    async def main() -> Any:
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                tokens = {label: await admit_staff(directory, node, organisation=spec[2] if len(spec) > 2 else "civil-affairs", label=label, roles=spec[0],
                                                   region=spec[1])
                          for label, spec in staff.items()}
                await casework.submit(casework_actor(directory, "policy"), "policy", "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]})
                app = create_app(node, casework=create_desk_router(directory, casework))
                transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                async with httpx.AsyncClient(transport=transport, base_url="http://desk", timeout=30) as client:
                    return await scenario(Desk(client, tokens, clock, node, casework, directory))

    return asyncio.run(main()), directory


def casework_actor(directory, label):
    from reliefledger.node.staff import StaffDirectory

    return StaffDirectory(directory).get(label)


async def register(desk: Desk, who: str = "caseworker", region: str = TOWNSHIP, number: str = HOUSEHOLD_NUMBER, people=PEOPLE) -> dict:
    return await desk.ok(who, "POST", "/v1/households", json={"household_number": number, "region": region, "address": ADDRESS, "members": people})


FACTS = {"members": 2, "monthly_income_fen": {"wages": 100_000}, "deposits_fen": 0, "vehicles": 0, "properties_beyond_residence": 0, "business_registrations": 0}


async def open_case(desk: Desk, household: str, application_id: str = "a1", facts: dict = FACTS) -> dict:
    await desk.ok("caseworker", "POST", "/v1/applications", json={"application_id": application_id, "household": household, "programmes": ["dibao"],
                                                                   "channel": "in_person", "application": {"statement": "丈夫去世，无收入"}})
    case_id = f"{application_id}.dibao"
    await desk.ok("caseworker", "POST", f"/v1/cases/{case_id}/authorisation", json={"document": {"signed_by": "王秀英", "scope": "means test"}})
    await desk.ok("caseworker", "POST", f"/v1/cases/{case_id}/visits", json={"report": {"notes": "住房简陋"}, "staff": ["caseworker", "caseworker-2"]})
    return await desk.ok("caseworker", "POST", f"/v1/cases/{case_id}/means-test", json={"facts": facts})


def test_dibao_end_to_end_over_http_without_personal_data_on_the_ledger(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario(desk: Desk) -> dict:
        registered = await register(desk)
        household = registered["household"]
        assessed = await open_case(desk, household)
        assert assessed["result"]["eligible"] and assessed["result"]["monthly_benefit_fen"] == 2 * 139_500 - 80_000
        await desk.ok("caseworker", "POST", "/v1/cases/a1.dibao/opinion", json={"recommendation": "approve"})
        await desk.ok("caseworker", "POST", "/v1/cases/a1.dibao/notice")
        board = await desk.ok("caseworker", "GET", "/v1/notices", params={"region": TOWNSHIP})
        early = await desk.call("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 199_000})
        desk.clock["now"] += 8 * DAY_MS
        board_after = await desk.ok("caseworker", "GET", "/v1/notices", params={"region": TOWNSHIP})
        wrong = await desk.call("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 200_000})
        decided = await desk.ok("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 199_000})
        # An auditor holding the facts (here, the vault) recomputes the decision from the pack.
        pack = desk.casework.get_current_pack()
        (facts_entry,) = [entry for entry in desk.casework.vault.list_records(household) if entry.kind == "household_facts"]
        facts = parse_household_facts(desk.casework.vault.get(facts_entry.record_id).record, pack)
        assessment = decided["case"]["assessment"]
        recomputed = (compute_facts_digest(desk.node.suite, facts).hex() == assessment["facts_digest"],
                      evaluate_eligibility(pack, "dibao", TOWNSHIP, assessment["time_ms"], facts).monthly_benefit_fen)
        history = await desk.ok("approver", "GET", f"/v1/households/{household}/history")
        accesses = await desk.ok("caseworker", "GET", f"/v1/persons/{registered['persons'][0]}/accesses")
        records = await desk.ok("auditor", "GET", f"/v1/persons/{registered['persons'][0]}/records", params={"purpose": "audit"})
        accesses_after = await desk.ok("caseworker", "GET", f"/v1/persons/{registered['persons'][0]}/accesses")
        return locals()

    found, directory = run_desk(tmp_path, scenario)
    assert found["board"] == [{"amount_fen": 199_000, "household_size": 2, "name": "王秀英", "notice_ends_ms": found["board"][0]["notice_ends_ms"]}]
    assert found["board_after"] == []  # the notice expired with its period
    assert found["early"].status_code == 409 and found["early"].json()["code"] == "notice_not_ended"
    assert found["wrong"].status_code == 409 and found["wrong"].json()["code"] == "amount_mismatch"
    assert found["recomputed"] == (True, 199_000)
    case = found["decided"]["case"]
    assert case["status"] == "enrolled" and case["enrolment"] == {**case["enrolment"], "monthly_benefit_fen": 199_000, "from_month": "2026-02"}
    assert [item["id"] for item in found["history"]["cases"]] == ["a1.dibao"]
    assert [access["purpose"] for access in found["accesses"]] == ["public_notice"]
    assert {record["kind"] for record in found["records"]} == {"person"} and found["records"][0]["record"]["name"] == "王秀英"
    assert [access["purpose"] for access in found["accesses_after"]] == ["public_notice", "audit"]
    # No name, ID number or address in the block store (main file and WAL) or in the logs.
    ledger_bytes = b"".join(path.read_bytes() for path in directory.root.glob("ledger.sqlite*"))
    log_text = caplog.text
    secrets = [person["name"] for person in PEOPLE] + [person["id_number"] for person in PEOPLE] + [ADDRESS, HOUSEHOLD_NUMBER, "丈夫去世", "住房简陋"]
    assert ledger_bytes and all(secret.encode() not in ledger_bytes for secret in secrets)
    assert all(secret not in log_text for secret in secrets)
    vault_bytes = b"".join(path.read_bytes() for path in directory.root.glob("vault.sqlite*"))
    assert all(secret.encode() not in vault_bytes for secret in secrets)  # encrypted there too


def test_refusal_objection_review_and_fast_path_over_http(tmp_path):
    async def scenario(desk: Desk) -> dict:
        household = (await register(desk))["household"]
        rich = {**FACTS, "monthly_income_fen": {"wages": 400_000}}
        refused_result = await open_case(desk, household, "r1", rich)
        await desk.ok("caseworker", "POST", "/v1/cases/r1.dibao/opinion", json={"recommendation": "refuse", "reasons": refused_result["result"]["reasons"]})
        refusal = await desk.ok("approver", "POST", "/v1/cases/r1.dibao/decision", json={"outcome": "refuse", "reasons": ["income_at_or_above_standard"], "monthly_benefit_fen": 0})
        overdue = await desk.ok("approver", "GET", "/v1/cases", params={"overdue": "true"})
        desk.clock["now"] += 10 * DAY_MS
        overdue_later = await desk.ok("approver", "GET", "/v1/cases", params={"overdue": "true"})
        await desk.ok("caseworker", "POST", "/v1/cases/r1.dibao/refusal-notice", json={"document": {"text": "经核对，家庭收入高于标准"}})
        # A new application; an objection during its notice reopens the investigation.
        await open_case(desk, household, "a2")
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/opinion", json={"recommendation": "approve"})
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/notice")
        objected = await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/objections", json={"document": {"from": "邻居", "claim": "有出租房"}})
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/visits", json={"report": {"notes": "复查"}, "staff": ["caseworker", "caseworker-2"]})
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/means-test", json={"facts": FACTS})
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/opinion", json={"recommendation": "approve"})
        await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/notice")
        desk.clock["now"] += 8 * DAY_MS
        await desk.ok("approver", "POST", "/v1/cases/a2.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 199_000})
        # Periodic review: income rose, the benefit decreases.
        review = await desk.ok("caseworker", "POST", "/v1/cases/a2.dibao/means-test", json={"facts": {**FACTS, "monthly_income_fen": {"wages": 150_000}}})
        decreased = await desk.ok("approver", "POST", "/v1/cases/a2.dibao/benefit-changes", json={"change": "decrease", "monthly_benefit_fen": 159_000, "reasons": ["income_rose"]})
        # Temporary assistance: pay first within the ceiling.
        too_much = await desk.call("caseworker", "POST", "/v1/fast-path-payments", json={"case_id": "t1", "household": household, "programme": "temporary", "amount_fen": 100_001, "reasons": ["fire"]})
        paid = await desk.ok("caseworker", "POST", "/v1/fast-path-payments", json={"case_id": "t1", "household": household, "programme": "temporary", "amount_fen": 50_000, "reasons": ["fire"]})
        # Registered afterwards: authorisation, a visit, then the county confirms.
        unregistered = await desk.call("approver", "POST", "/v1/cases/t1/decision", json={"outcome": "approve", "monthly_benefit_fen": 0})
        await desk.ok("caseworker", "POST", "/v1/cases/t1/authorisation", json={"document": {"signed": True}})
        await desk.ok("caseworker", "POST", "/v1/cases/t1/visits", json={"report": {"fire": "kitchen"}, "staff": ["caseworker", "caseworker-2"]})
        regularised = await desk.ok("approver", "POST", "/v1/cases/t1/decision", json={"outcome": "approve", "monthly_benefit_fen": 0})
        return locals()

    found, _ = run_desk(tmp_path, scenario)
    assert found["refusal"]["case"]["status"] == "refused"
    assert found["overdue"] == [] and [case["overdue"] for case in found["overdue_later"]] == [["refusal_notice"]]
    assert found["objected"]["case"]["status"] == "investigating"
    assert found["review"]["result"]["monthly_benefit_fen"] == 159_000
    assert found["decreased"]["case"]["enrolment"]["monthly_benefit_fen"] == 159_000
    assert found["too_much"].status_code == 409 and found["too_much"].json()["code"] == "above_fast_path_ceiling"
    assert found["paid"]["case"]["status"] == "paid_first"
    assert found["unregistered"].status_code == 409 and found["unregistered"].json()["code"] == "missing_record"
    assert found["regularised"]["case"]["status"] == "completed"


STEPS = [
    ("POST", "/v1/cases/a1.dibao/authorisation", {"document": {"x": 1}}),
    ("POST", "/v1/cases/a1.dibao/visits", {"report": {"x": 1}, "staff": ["caseworker", "caseworker-2"]}),
    ("POST", "/v1/cases/a1.dibao/means-test", {"facts": FACTS}),
    ("POST", "/v1/cases/a1.dibao/opinion", {"recommendation": "approve"}),
    ("POST", "/v1/cases/a1.dibao/notice", None),
    ("POST", "/v1/cases/a1.dibao/objections", {"document": {"x": 1}}),
    ("POST", "/v1/cases/a1.dibao/decision", {"outcome": "approve", "monthly_benefit_fen": 1}),
    ("POST", "/v1/cases/a1.dibao/refusal-notice", {"document": {"x": 1}}),
    ("POST", "/v1/cases/a1.dibao/benefit-changes", {"change": "stop", "monthly_benefit_fen": 0, "reasons": ["x"]}),
    ("GET", "/v1/cases/a1.dibao", None),
]
CASEWORKER_ONLY = {"/v1/cases/a1.dibao/authorisation", "/v1/cases/a1.dibao/opinion", "/v1/cases/a1.dibao/notice", "/v1/cases/a1.dibao/objections"}
APPROVER_ONLY = {"/v1/cases/a1.dibao/decision", "/v1/cases/a1.dibao/benefit-changes"}


def expected_forbidden(who: str, path: str) -> bool:
    """The matrix: who may not touch the township's case where."""
    if who == "other-caseworker":
        return True  # another township: every endpoint on this case
    if who == "auditor":
        return path != "/v1/cases/a1.dibao"  # reads, never acts
    if who == "approver":
        return path in CASEWORKER_ONLY
    if who == "caseworker":
        return path in APPROVER_ONLY
    return False


def test_authorisation_matrix_every_forbidden_combination_is_403(tmp_path):
    async def scenario(desk: Desk) -> dict:
        household = (await register(desk))["household"]
        await desk.ok("caseworker", "POST", "/v1/applications", json={"application_id": "a1", "household": household, "programmes": ["dibao"], "channel": "in_person"})
        answers = {}
        for who in ("caseworker", "other-caseworker", "approver", "auditor"):
            for method, path, body in STEPS:
                response = await desk.call(who, method, path, json=body) if body is not None else await desk.call(who, method, path)
                answers[(who, path)] = (response.status_code, response.json().get("code") if response.status_code != 200 else None)
        other_region = await desk.call("other-caseworker", "POST", "/v1/households", json={"household_number": "X-1", "region": TOWNSHIP, "address": "某地", "members": PEOPLE[:1]})
        listing = await desk.call("other-caseworker", "GET", "/v1/cases", params={"region": TOWNSHIP})
        no_token = await desk.call("", "GET", "/v1/cases/a1.dibao")
        bad_token = await desk.client.get("/v1/cases/a1.dibao", headers={"authorization": "Bearer nope"})
        return {"answers": answers, "other_region": other_region, "listing": listing, "no_token": no_token, "bad_token": bad_token}

    found, _ = run_desk(tmp_path, scenario)
    for (who, path), (status, code) in found["answers"].items():
        if expected_forbidden(who, path):
            assert status == 403 and code in ("not_authorised",), (who, path, status, code)
        else:
            assert status != 403, (who, path, status, code)
    assert found["other_region"].status_code == 403 and found["listing"].status_code == 403
    assert found["no_token"].status_code == 401 and found["bad_token"].status_code == 401


def test_bad_input_is_refused_with_a_clear_code(tmp_path):
    async def scenario(desk: Desk) -> dict:
        household = (await register(desk))["household"]
        answers = {
            "bad_id": await desk.call("caseworker", "POST", "/v1/households", json={"household_number": "X-2", "region": TOWNSHIP, "address": "某地",
                                                                                     "members": [{"id_number": "110105194912310021", "name": "某"}]}),
            "unknown_programme": await desk.call("caseworker", "POST", "/v1/applications", json={"application_id": "a9", "household": household, "programmes": ["lottery"], "channel": "online"}),
            "proxy_without_entrustment": await desk.call("caseworker", "POST", "/v1/applications", json={"application_id": "a8", "household": household, "programmes": ["dibao"], "channel": "proxy"}),
            "extra_field": await desk.call("caseworker", "POST", "/v1/applications", json={"application_id": "a7", "household": household, "programmes": ["dibao"], "channel": "online", "vip": True}),
            "float_amount": await desk.call("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 1.5}),
            "unknown_case": await desk.call("caseworker", "GET", "/v1/cases/nope.dibao"),
        }
        await desk.ok("caseworker", "POST", "/v1/applications", json={"application_id": "a1", "household": household, "programmes": ["dibao"], "channel": "in_person"})
        answers["means_test_without_authorisation"] = await desk.call("caseworker", "POST", "/v1/cases/a1.dibao/visits", json={"report": {}, "staff": ["caseworker", "caseworker-2"]})
        answers["means_test_without_authorisation"] = await desk.call("caseworker", "POST", "/v1/cases/a1.dibao/means-test", json={"facts": FACTS})
        answers["unknown_income"] = await desk.call("caseworker", "POST", "/v1/cases/a1.dibao/means-test", json={"facts": {**FACTS, "monthly_income_fen": {"lottery": 1}}})
        answers["decision_before_notice"] = await desk.call("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 1})
        return answers

    answers, _ = run_desk(tmp_path, scenario)
    expected = {
        "bad_id": (400, "invalid_id_number"), "unknown_programme": (409, "unknown_programme"), "proxy_without_entrustment": (409, "missing_record"),
        "extra_field": (400, "invalid_request"), "float_amount": (400, "invalid_request"), "unknown_case": (404, "case_not_found"),
        "means_test_without_authorisation": (409, "missing_record"), "unknown_income": (400, "invalid_household_facts"),
        "decision_before_notice": (409, "wrong_case_state"),
    }
    for name, (status, code) in expected.items():
        response = answers[name]
        assert (response.status_code, response.json()["code"]) == (status, code), (name, response.text)
        assert response.json()["message"]


def test_household_changes_exit_and_fraud_over_http(tmp_path):
    baby = {"id_number": "110105202501010011", "name": "王小宝", "relation": "child"}
    other = [{"id_number": "110105197505051239", "name": "张建国", "relation": "head"}]

    async def scenario(desk: Desk) -> dict:
        registered = await register(desk)
        household, (grandmother, grandchild) = registered["household"], registered["persons"]
        bad_baby = await desk.call("caseworker", "POST", f"/v1/households/{household}/births", json={"member": {**baby, "id_number": "110105202501010012"}})
        born = await desk.ok("caseworker", "POST", f"/v1/households/{household}/births", json={"member": baby})
        split = await desk.ok("caseworker", "POST", f"/v1/households/{household}/split", json={"new_household_number": "HB-2", "address": "朝阳区新址", "persons": [grandchild], "head": grandchild})
        second = (await register(desk, number="HB-3", people=other))["household"]
        merged = await desk.ok("caseworker", "POST", f"/v1/households/{second}/merge", json={"into": household})
        died = await desk.ok("caseworker", "POST", f"/v1/persons/{grandmother}/death")
        new_head = await desk.ok("caseworker", "POST", f"/v1/households/{household}/head", json={"person": born["person"]})
        moved_outside = await desk.call("caseworker", "POST", f"/v1/households/{household}/move", json={"region": OTHER_TOWNSHIP})
        after_move = await desk.call("caseworker", "POST", f"/v1/households/{household}/head", json={"person": born["person"]})
        return locals()

    found, directory = run_desk(tmp_path, scenario)
    assert found["bad_baby"].status_code == 400 and found["bad_baby"].json()["code"] == "invalid_id_number"
    assert found["born"]["person"] in found["born"]["household"]["members"]
    assert found["split"]["new_household"]["members"] == [found["grandchild"]]
    assert found["merged"]["household"]["status"] == "merged"
    assert found["grandmother"] not in found["died"]["household"]["members"]
    assert found["new_head"]["household"]["head"] == found["born"]["person"]
    assert found["moved_outside"].status_code == 200
    assert found["after_move"].status_code == 403  # the household now lies outside the caseworker's township


def test_exit_and_fraud_over_http(tmp_path):
    async def scenario(desk: Desk) -> dict:
        household = (await register(desk))["household"]
        await open_case(desk, household)
        await desk.ok("caseworker", "POST", "/v1/cases/a1.dibao/opinion", json={"recommendation": "approve"})
        await desk.ok("caseworker", "POST", "/v1/cases/a1.dibao/notice")
        desk.clock["now"] += 8 * DAY_MS
        await desk.ok("approver", "POST", "/v1/cases/a1.dibao/decision", json={"outcome": "approve", "monthly_benefit_fen": 199_000})
        small_fine = await desk.call("approver", "POST", "/v1/cases/a1.dibao/fraud", json={"amount_fen": 100_000, "fine_fen": 50_000, "evidence": {"found": "存款"}})
        by_caseworker = await desk.call("caseworker", "POST", "/v1/cases/a1.dibao/exit", json={"reasons": ["moved_away"]})
        fraud = await desk.ok("approver", "POST", "/v1/cases/a1.dibao/fraud", json={"amount_fen": 100_000, "fine_fen": 200_000, "evidence": {"found": "存款"}})
        exit_after_stop = await desk.call("approver", "POST", "/v1/cases/a1.dibao/exit", json={"reasons": ["moved_away"]})
        return locals()

    found, _ = run_desk(tmp_path, scenario)
    assert found["small_fine"].status_code == 409 and found["small_fine"].json()["code"] == "invalid_arguments"
    assert found["by_caseworker"].status_code == 403
    assert found["fraud"]["case"]["status"] == "stopped" and found["fraud"]["case"]["recoveries"][0]["fine_fen"] == 200_000
    assert found["exit_after_stop"].status_code == 409 and found["exit_after_stop"].json()["code"] == "wrong_case_state"


def test_erasure_and_aggregates_over_http(tmp_path):
    async def scenario(desk: Desk) -> dict:
        registered = await register(desk)
        await open_case(desk, registered["household"])
        other = await register(desk, who="other-caseworker", region=OTHER_TOWNSHIP, number="HB-9", people=[{"id_number": "110105197505051239", "name": "张建国"}])
        county_view = await desk.ok("approver", "GET", "/v1/statistics")
        city_view = await desk.call("approver", "GET", "/v1/statistics", params={"region": "110000"})
        person = registered["persons"][0]
        erased = await desk.ok("caseworker", "DELETE", f"/v1/persons/{person}/records")
        after = await desk.ok("caseworker", "GET", f"/v1/persons/{person}/records", params={"purpose": "audit"})
        accesses = await desk.ok("caseworker", "GET", f"/v1/persons/{person}/accesses")
        forbidden = await desk.call("other-caseworker", "DELETE", f"/v1/persons/{person}/records")
        return locals()

    found, directory = run_desk(tmp_path, scenario)
    assert found["county_view"] == {"region": COUNTY, "regions": {TOWNSHIP: {"dibao": {"assessed": 1}}}}
    assert found["city_view"].status_code == 403  # the county approver reads its county, not the city
    assert len(found["erased"]["erased_commitments"]) == 1 and found["after"] == []
    assert [access["purpose"] for access in found["accesses"]] == ["erasure"]
    assert found["forbidden"].status_code == 403
    vault_bytes = b"".join(path.read_bytes() for path in directory.root.glob("vault.sqlite*"))
    assert "王秀英".encode() not in vault_bytes

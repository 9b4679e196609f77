"""Disaster relief over the desk's HTTP API on a real node and store: an event declared by
emergency management, a township paying first and registering the recipient afterwards, staged
payments, closing reconciled, the recipient's name only in the vault, the books audited."""

import json

from test_casework_api import casework_actor, register, run_desk
from reliefledger.store.money_audit import find_money_fault

TOWNSHIP, COUNTY = "110105001", "110105"
STAFF = {
    "caseworker": (["caseworker"], TOWNSHIP),
    "approver": (["approver"], COUNTY),
    "finance": (["finance_officer"], "110000"),
    "township-finance": (["finance_officer"], TOWNSHIP),
    "policy": (["policy_admin"], "110000"),
    "emergency": (["approver"], "110000", "emergency-management"),
    "bank": (["finance_officer"], "110000", "operator-bank"),
}
START_MS = 1_767_225_600_000


def test_an_event_paid_first_registered_staged_and_closed_over_http(tmp_path) -> None:
    async def scenario(desk):
        household = (await register(desk))["household"]
        money = [("finance", {"account_id": "treasury", "kind": "treasury", "currency": "CNY"}),
                 ("finance", {"account_id": "relief-budget", "kind": "programme_budget", "currency": "CNY", "flags": ["debits_must_not_exceed_credits"]}),
                 ("township-finance", {"account_id": "reserve", "kind": "township_reserve_fund", "currency": "CNY", "region": TOWNSHIP}),
                 ("bank", {"account_id": "b1", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": household})]
        for label, args in money:
            await desk.casework.submit(casework_actor(desk.directory, label), "money", "create_account", args)
        await desk.casework.submit(casework_actor(desk.directory, "finance"), "money", "create_transfers", {"transfers": [
            {"transfer_id": "fund-budget", "code": 1, "debit_account_id": "treasury", "credit_account_id": "relief-budget", "amount": 500_000},
            {"transfer_id": "fund-reserve", "code": 1, "debit_account_id": "treasury", "credit_account_id": "reserve", "amount": 100_000}]})
        path = "/v1/relief/events/storm-1"
        event = {"event_id": "storm-1", "region": COUNTY, "hazard": "rainstorm", "starts_ms": START_MS, "ends_ms": START_MS + 60 * 86_400_000, "ceiling_fen": 30_000}
        by_civil_affairs = await desk.call("approver", "POST", "/v1/relief/events", json=event)
        declared = await desk.ok("emergency", "POST", "/v1/relief/events", json=event)
        payment = {"payment_id": "p1", "reserve_account_id": "reserve", "recipient_account_id": "b1", "amount_fen": 20_000,
                   "recipient": {"name": "赵大山", "found_at": "安置点"}}
        paid = await desk.ok("caseworker", "POST", f"{path}/payments", json=payment)
        too_much = await desk.call("caseworker", "POST", f"{path}/payments", json={**payment, "payment_id": "p2", "amount_fen": 10_001})
        registered = await desk.ok("caseworker", "POST", f"{path}/payments/p1/register", json={"household": household})
        approval = {"approval_id": "a1", "household": household, "recipient_account_id": "b1", "budget_account_id": "relief-budget", "stages": [50_000, 50_000]}
        await desk.ok("approver", "POST", f"{path}/approvals", json=approval)
        out_of_order = await desk.call("finance", "POST", f"{path}/approvals/a1/stages", json={"stage": 2})
        await desk.ok("finance", "POST", f"{path}/approvals/a1/stages", json={"stage": 1})
        close_missing = await desk.call("emergency", "POST", f"{path}/close", json={})
        closed = await desk.ok("emergency", "POST", f"{path}/close", json={"cancelled_approvals": ["a1"]})
        after = await desk.call("finance", "POST", f"{path}/approvals/a1/stages", json={"stage": 2})
        unknown = await desk.call("caseworker", "GET", "/v1/relief/events/none")
        bad_body = await desk.call("caseworker", "POST", f"{path}/payments", json={**payment, "amount_fen": -5})
        ledger_text = json.dumps([value for _, value in desk.node.store.iterate_state_prefix("relief/")], ensure_ascii=False)
        fault = find_money_fault(desk.node.store.iterate_state_prefix("money/"))
        bank = desk.node.store.get("money/account/b1")
        return by_civil_affairs, declared, paid, too_much, registered, out_of_order, close_missing, closed, after, unknown, bad_body, ledger_text, fault, bank

    organisations = ("civil-affairs", "emergency-management", "operator-bank")
    result, _ = run_desk(tmp_path, scenario, staff=STAFF, organisations=organisations)
    by_civil_affairs, declared, paid, too_much, registered, out_of_order, close_missing, closed, after, unknown, bad_body, ledger_text, fault, bank = result
    assert by_civil_affairs.status_code == 403 and declared["event"]["status"] == "open"
    assert paid["event"]["figures"]["paid_first"] == 1 and paid["payments_first"][0]["household"] is None
    assert too_much.status_code == 409 and too_much.json()["code"] == "above_fast_path_ceiling"
    assert registered["payments_first"][0]["household"] is not None and registered["event"]["figures"]["unregistered"] == 0
    assert out_of_order.status_code == 409 and out_of_order.json()["code"] == "wrong_event_state"
    assert close_missing.status_code == 409 and close_missing.json()["code"] == "wrong_event_state"
    assert closed["event"]["status"] == "closed" and closed["event"]["figures"] == {
        "paid_first": 1, "paid_first_fen": 20_000, "unregistered": 0, "unregistered_fen": 0, "approvals": 1, "approved_fen": 100_000, "staged_fen": 50_000,
        "cancelled_fen": 50_000}
    assert closed["approvals"][0]["status"] == "cancelled"
    assert after.status_code == 409 and unknown.status_code == 404 and unknown.json()["code"] == "event_not_found"
    assert bad_body.status_code == 400
    assert "赵大山" not in ledger_text and "安置点" not in ledger_text and paid["payments_first"][0]["recipient_commitment"]
    assert fault is None and bank["credits_posted"] == 70_000

"""Receipts for payments: fetched over HTTP, checked offline by the CLI, and refused when tampered with."""

import json

from node_support import make_chain, run_cli, run_with_client, sign_action, wait_until_final
from reliefledger.ledger.receipts import check_receipt


def test_a_payment_receipt_checks_offline_and_any_change_breaks_it(tmp_path):
    directory = make_chain(tmp_path / "chain", organisations=["civil-affairs", "operator-bank"])
    admin = directory.read_organisation_key("civil-affairs")
    money = lambda action, args, nonce: sign_action(admin, action, args, contract="money", nonce=nonce)  # noqa: E731
    setup = [money("create_account", {"account_id": "treasury", "kind": "treasury", "currency": "CNY"}, "a1"),
             money("create_account", {"account_id": "household", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": "a" * 64}, "a2")]
    payment = money("create_transfers", {"transfers": [{"transfer_id": "dibao-2026-01-a1", "code": 101, "debit_account_id": "treasury",
                                                         "credit_account_id": "household", "amount": 139_500, "reference": "a1.dibao"}]}, "p1")

    async def scenario(node, client):
        await node.submit_envelopes(setup)
        await wait_until_final(node, [envelope.id for envelope in setup])
        await node.submit_envelopes([payment])
        await wait_until_final(node, [payment.id])
        receipt = (await client.get(f"/v1/receipts/{payment.id.hex()}")).json()
        unknown = await client.get(f"/v1/receipts/{'0' * 64}")
        malformed = await client.get("/v1/receipts/xyz")
        genesis = (await client.get("/v1/genesis")).json()["hash"]
        return receipt, unknown, malformed, genesis

    receipt, unknown, malformed, genesis = run_with_client(directory, scenario)
    assert receipt["status"]["result"] == "ok" and unknown.status_code == 404 and malformed.status_code == 400
    assert check_receipt(receipt, genesis_hash=genesis).is_valid
    assert not check_receipt(receipt, genesis_hash="f" * 64).is_valid  # another chain's genesis
    tampered = {
        "amount": lambda r: r["transaction"]["body"]["args"]["transfers"][0].update(amount=1_395_000),
        "result": lambda r: r["status"].update(code=606, result="exceeds_credits"),
        "proof": lambda r: r["proof"].update(leaf_index=r["proof"]["leaf_index"] + 1),
        "header": lambda r: r["block"]["header"].update(time_ms=r["block"]["header"]["time_ms"] + 1),
        "orderer": lambda r: r.update(orderers=["0" * 64]),
    }
    for name, change in tampered.items():
        copy = json.loads(json.dumps(receipt))
        change(copy)
        assert not check_receipt(copy).is_valid, name
    assert check_receipt({"format": "something else"}).problems
    good, bad = tmp_path / "receipt.json", tmp_path / "bad.json"
    good.write_text(json.dumps(receipt), encoding="utf-8")
    copy = json.loads(json.dumps(receipt))
    tampered["amount"](copy)
    bad.write_text(json.dumps(copy), encoding="utf-8")
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    checked = run_cli("verify-receipt", good, "--genesis-hash", genesis)
    refused = run_cli("verify-receipt", bad)
    junk = run_cli("verify-receipt", tmp_path / "junk.json")
    assert checked.returncode == 0 and "139500 fen treasury → household a1.dibao" in checked.stdout, checked.stdout + checked.stderr
    assert refused.returncode == 1 and "signature does not verify" in refused.stdout
    assert junk.returncode == 1 and "cannot be read as JSON" in junk.stderr + junk.stdout and "Traceback" not in junk.stderr

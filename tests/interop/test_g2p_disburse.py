"""G2P Connect disbursement: a programme system pays beneficiaries from the budget it is bound to;
the money moves on the ledger, a replayed disbursement pays once, each refusal carries the
specification's reason; every request, response and callback validated against
g2p_disburse_core_api_v1.0.0 with openapi-core; the evidence of every message on the ledger."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from g2p_support import BUDGET_FEN, G2P, get_balance, nid, open_money
from interop_support import verify_ours
from reliefledger.interop.settings import InteropSettingsError, read_interop_settings, write_client, write_disburser
from world import G2P_BUDGET, World, new_id, run_world
from reliefledger.ledger.pseudonyms import compute_person_pseudonym
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.staff import StaffDirectory

PAYER = f"account:{G2P_BUDGET}@civil-affairs"


def disbursements(*items: dict[str, Any], transaction_id: str | None = None) -> dict[str, Any]:
    """A DisburseRequest with one disbursement per item (reference ids ``d-<index>`` unless given)."""
    return {"transaction_id": transaction_id or new_id(), "disbursements": [
        {"reference_id": f"d-{index}", "payer_fa": PAYER, "currency_code": "CNY", **item} for index, item in enumerate(items)]}


async def disburse_now(g2p: G2P, message: dict[str, Any]) -> list[dict[str, Any]]:
    """A synchronous disbursement; the statuses (the exchange validated, our signature verified)."""
    response = await g2p.post("disburse", "/disburse/sync/disburse", g2p.partner.envelope("disburse", message))
    assert response.status_code == 200, response.text
    assert response.json()["header"]["action"] == "on-disburse"
    verify_ours(response.json(), (await g2p.world.http.get(f"{g2p.world.url}/.well-known/jwks.json")).json())
    return response.json()["message"]["disbursements_status"]


def test_disbursements_move_money_once_and_refusals_say_why(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        g2p = G2P.of(world)
        money = await open_money(world)
        first, capped, bank_only, without = (household.members[0] for household in money.households)
        statuses = await disburse_now(g2p, disbursements(
            {"payee_fa": nid(first), "amount": "100.50"},                      # resolved by the mapper: the wallet
            {"payee_fa": "account:w1@operator-bank", "amount": "2500.00"},     # above the class-3 wallet's cap of 2,000 yuan
            {"payee_fa": nid(bank_only), "amount": "10.00"},                   # bank money: not the budget's digital currency
            {"payee_fa": nid(without), "amount": "10.00"},                     # no account at all
            {"payee_fa": "account:w1@operator-bank", "amount": "20.00"},
            {"payee_fa": nid(first), "amount": "20000.00", "reference_id": "too-much"},  # more than the budget holds
        ))
        assert [item["status"] for item in statuses] == ["succ", "rjct", "rjct", "rjct", "succ", "rjct"]
        assert [item.get("status_reason_code") for item in statuses[1:4]] == ["rjct.amount.invalid", "rjct.currency_code.invalid", "rjct.payee_fa.invalid"]
        assert "wallet_balance_cap" in statuses[1]["status_reason_message"] and "exceeds_credits" in statuses[5]["status_reason_message"]
        assert "account:w0@operator-bank" in statuses[0]["instruction"]
        assert get_balance(world, "w0") == 10050 and get_balance(world, "w1") == 2000 and get_balance(world, "b2") == 0
        assert get_balance(world, G2P_BUDGET) == BUDGET_FEN - 12050
        # The same disbursement again, in a new message and transaction: answered as paid, paid once.
        again = await disburse_now(g2p, disbursements({"payee_fa": nid(first), "amount": "100.50"}))
        assert again[0]["status"] == "succ" and again[0]["instruction"].startswith("already paid")
        other = await disburse_now(g2p, disbursements({"payee_fa": nid(first), "amount": "1.00"}))
        assert other[0]["status_reason_code"] == "rjct.reference_id.duplicate"
        assert get_balance(world, "w0") == 10050 and get_balance(world, G2P_BUDGET) == BUDGET_FEN - 12050
        # Another budget, another currency, nothing, a future schedule, one reference id twice: refused before anything moves.
        refused = await disburse_now(g2p, disbursements(
            {"payee_fa": nid(first), "amount": "1.00", "payer_fa": "account:w1@operator-bank"}, {"payee_fa": nid(first), "amount": "1.00", "currency_code": "USD"},
            {"payee_fa": nid(first), "amount": "0.00"}, {"payee_fa": nid(first), "amount": "1.00", "scheduled_timestamp": "2099-01-01T00:00:00Z"},
            {"payee_fa": "w0", "amount": "1.00"}, {"payee_fa": nid(first), "amount": "1.00", "reference_id": "d-0"}))
        assert [item.get("status_reason_code") for item in refused] == ["rjct.payer_fa.invalid", "rjct.currency_code.invalid", "rjct.amount.invalid",
                                                                        "rjct.schedule_ts.invalid", "rjct.payee_fa.invalid", "rjct.reference_id.duplicate"]
        assert get_balance(world, "w0") == 10050
        # Whole fen only, by the specification: refused at the door.
        fractional = g2p.partner.envelope("disburse", disbursements({"payee_fa": nid(first), "amount": "1.005"}))
        response = await g2p.post("disburse", "/disburse/sync/disburse", fractional, valid=False)
        assert response.status_code == 400 and response.json()["header"]["status"] == "rjct"
        # Searching by payee address finds the disbursements with their last statuses: a refused one's later attempt (d-1, d-2,
        # d-3 reused above) replaces it; a paid one is never replaced (d-0).
        search = {"transaction_id": new_id(), "search_criteria": [
            {"reference_id": f"s-{index}", "request_type": "disburse", "attribute_type": "payee_fa", "attribute_value": payee}
            for index, payee in enumerate(("account:w1@operator-bank", nid(first)))]}
        found = await g2p.post("disburse", "/disburse/sync/search", g2p.partner.envelope("search", search))
        to_wallet, to_person = ([(item["reference_id"], item["status"]) for item in criterion["disbursements_status"]]
                                for criterion in found.json()["message"]["disbursements_status"])
        assert to_wallet == [("d-4", "succ")]
        assert sorted(to_person) == [("d-0", "succ"), ("d-1", "rjct"), ("d-2", "rjct"), ("d-3", "rjct"), ("too-much", "rjct")]
        # What the service wrote down names pseudonyms: no ID number anywhere in its files.
        kept = b"".join(path.read_bytes() for path in world.root.glob("interop.sqlite*"))
        assert all(person.id_number.encode() not in kept for person in (first, capped, bank_only, without))
        # A beneficiary recorded dead is paid nothing, by id or through the account of a household left empty.
        worker = StaffDirectory(ChainDirectory(world.root)).get("cw")
        dead = compute_person_pseudonym(world.node.suite, world.casework.network_key, first.id_number)
        await world.casework.change_household(worker, "record_death", {"person": dead})
        after_death = await disburse_now(g2p, disbursements({"payee_fa": nid(first), "amount": "1.00", "reference_id": "after-death"}))
        assert after_death[0]["status"] == "rjct" and "recorded dead" in after_death[0]["status_reason_message"]
        household = money.households[0]
        for member in household.members[1:]:
            await world.casework.change_household(worker, "record_death", {"person": compute_person_pseudonym(world.node.suite, world.casework.network_key, member.id_number)})
        emptied = await disburse_now(g2p, disbursements({"payee_fa": "account:w0@operator-bank", "amount": "1.00", "reference_id": "to-empty"}))
        assert emptied[0]["status"] == "rjct" and "dissolved" in emptied[0]["status_reason_message"] and get_balance(world, "w0") == 10050
    asyncio.run(run_world(tmp_path, scenario, g2p=True))


def pseudonymous_id(world: World, person: Any) -> str:
    return f"person:{compute_person_pseudonym(world.node.suite, world.casework.network_key, person.id_number)}@cn-resident-id"


def test_an_asynchronous_disbursement_is_called_back_and_its_status_answered(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        g2p = G2P.of(world)
        money = await open_money(world)
        first, without = money.households[0].members[0], money.households[3].members[0]
        message = disbursements({"payee_fa": nid(first), "amount": "88.00"}, {"payee_fa": nid(without), "amount": "5.00"})
        acked = await g2p.post("disburse", "/disburse", g2p.partner.envelope("disburse", message))
        assert acked.json()["message"]["ack_status"] == "ACK", acked.text
        callback = await g2p.callback("disburse", "/on-disburse")
        paid, unpaid = callback["message"]["disbursements_status"]
        assert callback["header"]["action"] == "on-disburse" and paid["status"] == "succ" and unpaid["status_reason_code"] == "rjct.payee_fa.invalid"
        assert get_balance(world, "w0") == 8800
        asked = {"transaction_id": new_id(), "txnstatus_request": {"reference_id": "r1", "txn_type": "disburse", "attribute_type": "reference_id_list",
                                                                    "attribute_value": ["d-1"]}}
        status = await g2p.post("disburse", "/disburse/sync/txn/status", g2p.partner.envelope("txn-status", asked))
        # The status is the answer as the node kept it: each ID number in it named by the person's pseudonym.
        kept = json.loads(json.dumps(callback["message"]).replace(nid(first), pseudonymous_id(world, first)).replace(nid(without), pseudonymous_id(world, without)))
        assert kept != callback["message"] and status.json()["message"]["txnstatus_response"] == {"txn_type": "on-disburse", "txn_status": kept}
        await g2p.post("disburse", "/disburse/txn/status", g2p.partner.envelope("txn-status", asked))
        assert (await g2p.callback("disburse", "/disburse/txn/on-status"))["message"]["txnstatus_response"]["txn_status"] == kept
        search = {"transaction_id": new_id(), "search_criteria": [{"reference_id": "s-1", "request_type": "disburse", "attribute_type": "payer_fa",
                                                                   "attribute_value": PAYER}]}
        await g2p.post("disburse", "/disburse/search", g2p.partner.envelope("search", search))
        found = await g2p.callback("disburse", "/disburse/on-search")
        assert len(found["message"]["disbursements_status"][0]["disbursements_status"]) == 2
        # A token without the scope, a forged signature: refused, nothing paid; the evidence of every message on the ledger.
        again = g2p.partner.envelope("disburse", disbursements({"payee_fa": nid(first), "amount": "1.00", "reference_id": "x"}))
        assert (await g2p.post("disburse", "/disburse", again, headers=await g2p.bearer("mapper.resolve"))).status_code == 403
        forged = {**again, "message": {**again["message"], "transaction_id": "forged"}}
        assert (await g2p.post("disburse", "/disburse", forged)).json()["message"]["error"]["code"] == "err.signature.invalid"
        assert get_balance(world, "w0") == 8800
        records = [record for _, record in world.node.store.iterate_state_prefix("interop/message/") if "g2p.example" in (record["sender"], record["receiver"])]
        assert {"disburse", "on-disburse", "search", "on-search", "txn-status", "txn-on-status"} <= {record["action"] for record in records}
        assert "err.signature.invalid" in {record["outcome"] for record in records}
    asyncio.run(run_world(tmp_path, scenario, g2p=True))


def test_the_disburser_is_named_in_interop_toml_before_the_clients(tmp_path: Path) -> None:
    """``write_disburser`` sets the top-level key (replacing one there) and the file still reads."""
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}
    with pytest.raises(InteropSettingsError):
        write_disburser(tmp_path, "finance")
    write_client(tmp_path, client_id="pms", sender_id="pms.example", callback_uri="http://pms.example/g2p", scopes=["disburse.disburse"], fields=[],
                 jwks=jwks, budget_account=G2P_BUDGET)
    assert read_interop_settings(tmp_path).disburser == "disburser"
    write_disburser(tmp_path, "finance")
    write_disburser(tmp_path, "treasurer")
    settings = read_interop_settings(tmp_path)
    assert settings.disburser == "treasurer" and settings.clients["pms"].budget_account == G2P_BUDGET
    assert (tmp_path / "interop.toml").read_text().count("disburser =") == 1

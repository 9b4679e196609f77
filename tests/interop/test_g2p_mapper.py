"""The G2P Connect account mapper: a beneficiary id resolved to an account on the money ledger,
links made, changed and removed; every request, response and callback validated against
g2p_mapper_core_api_v1.0.0 with openapi-core; refusals; the links kept off the ledger; the
evidence of every message on it."""

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from g2p_support import G2P, get_balance, nid, open_money
from interop_support import now_iso, verify_ours
from reliefledger.ledger.pseudonyms import compute_person_pseudonym
from world import World, new_id, run_world


def request(kind: str, *items: dict[str, Any]) -> dict[str, Any]:
    """A mapper request message of ``kind`` (link, update, unlink, resolve) with one entry per item."""
    return {"transaction_id": new_id(), f"{kind}_request": [{"reference_id": f"ref-{index}", "timestamp": now_iso(), **item} for index, item in enumerate(items)]}


async def sync(g2p: G2P, kind: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
    """A synchronous mapper request; the item answers (the exchange validated, our signature verified)."""
    response = await g2p.post("mapper", f"/mapper/sync/{kind}", g2p.partner.envelope(kind, request(kind, *items)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["header"]["action"] == f"on-{kind}"
    verify_ours(body, (await g2p.world.http.get(f"{g2p.world.url}/.well-known/jwks.json")).json())
    return body["message"][f"{kind}_response"]


def test_a_beneficiary_id_resolves_to_the_persons_account_and_links_change_which(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        g2p = G2P.of(world)
        money = await open_money(world)
        first, second, fourth = (money.households[index].members[0] for index in (0, 1, 3))
        # No link yet: the person's own accounts, the wallet first; yes_no answers only the status.
        (answer,) = await sync(g2p, "resolve", {"id": nid(first), "scope": "details"})
        assert answer["status"] == "succ" and answer["status_reason_code"] == "succ.fa.active" and answer["fa"] == "account:w0@operator-bank"
        assert answer["account_provider_info"] == {"name": "operator-bank", "code": "operator-bank", "subcode": "beneficiary_wallet"}
        (answer,) = await sync(g2p, "resolve", {"id": nid(first)})
        assert answer["status_reason_code"] == "succ.fa.active" and "account_provider_info" not in answer
        # Link the household's bank account instead: resolution follows the link.
        (linked,) = await sync(g2p, "link", {"id": nid(first), "fa": "account:b0@operator-bank"})
        assert linked["status"] == "succ" and linked["fa"] == "account:b0@operator-bank"
        (answer,) = await sync(g2p, "resolve", {"id": nid(first), "scope": "details"})
        assert answer["fa"] == "account:b0@operator-bank"
        # Another household's account, an unknown account, a malformed address, a second link: refused.
        refusals = await sync(g2p, "link", {"id": nid(first), "fa": "account:w1@operator-bank"}, {"id": nid(first), "fa": "account:nope@operator-bank"},
                              {"id": nid(first), "fa": "w0"}, {"id": nid(first), "fa": "account:w0@operator-bank"}, {"id": "nid:123@x", "fa": "account:w0@operator-bank"})
        assert [item["status"] for item in refusals] == ["rjct"] * 5
        assert [item["status_reason_code"] for item in refusals] == ["rjct.fa.invalid"] * 3 + ["rjct.id.invalid"] * 2
        assert "not held by this person" in refusals[0]["status_reason_message"]
        # Update changes the link; unlink removes it (only the linked address may be named).
        (updated,) = await sync(g2p, "update", {"id": nid(first), "fa": "account:w0@operator-bank"})
        assert updated["status"] == "succ"
        (wrong,) = await sync(g2p, "unlink", {"id": nid(first), "fa": "account:b0@operator-bank"})
        assert wrong["status"] == "rjct" and wrong["status_reason_message"].startswith("rjct.fa.invalid")
        unlink = request("unlink", {"id": nid(first), "fa": "account:w0@operator-bank"})
        answered = await g2p.post("mapper", "/mapper/sync/unlink", g2p.partner.envelope("unlink", unlink))
        (unlinked,) = answered.json()["message"]["unlink_response"]
        assert unlinked["status"] == "succ"
        # The same transaction sent again (its answer lost): answered as kept, with the person's pseudonym, not done again.
        resent = await g2p.post("mapper", "/mapper/sync/unlink", g2p.partner.envelope("unlink", unlink))
        (kept,) = resent.json()["message"]["unlink_response"]
        assert kept["status"] == "succ" and kept["id"].startswith("person:") and resent.json()["message"]["transaction_id"] == unlink["transaction_id"]
        (again,) = await sync(g2p, "unlink", {"id": nid(first)})
        assert again["status"] == "rjct" and "no financial address" in again["status_reason_message"]
        (nothing,) = await sync(g2p, "update", {"id": nid(second), "fa": "account:w1@operator-bank"})
        assert nothing["status"] == "rjct" and "link it first" in nothing["status_reason_message"]
        # Resolving an address, an address against an id, nobody, a person without accounts.
        answers = await sync(g2p, "resolve", {"fa": "account:w1@operator-bank"}, {"id": nid(first), "fa": "account:w1@operator-bank"},
                             {"id": "person:" + "0" * 64}, {"id": nid(fourth)}, {"fa": "account:w1@central-bank"}, {"id": "passport:x"})
        assert [item.get("status_reason_code") for item in answers] == ["succ.fa.active", "succ.fa.not_linked_to_id", "succ.id.not_found", "succ.fa.not_found",
                                                                         "succ.fa.not_found", "rjct.id.invalid"]
        # The links are off the ledger, by pseudonym: no ID number in the service's store, nothing of them on the ledger.
        await sync(g2p, "link", {"id": nid(first), "fa": "account:b0@operator-bank"})
        # Another system cannot change or remove a link it did not make (it would redirect the first one's payments).
        other = G2P.of(world, "g2p-2")
        changed, removed = await sync(other, "update", {"id": nid(first), "fa": "account:w0@operator-bank"}), await sync(other, "unlink", {"id": nid(first)})
        assert [item[0]["status"] for item in (changed, removed)] == ["rjct", "rjct"] and "another system" in changed[0]["status_reason_message"]
        (same,) = await sync(other, "link", {"id": nid(first), "fa": "account:b0@operator-bank"})
        assert same["status"] == "succ"  # the same link: it stays the first system's
        store = sqlite3.connect(world.root / "interop.sqlite")
        links = store.execute("SELECT * FROM financial_links").fetchall()
        pseudonym = compute_person_pseudonym(world.node.suite, world.casework.network_key, first.id_number)
        assert [link[:3] for link in links] == [(pseudonym, "b0", "g2p.example")]
        kept = b"".join(path.read_bytes() for path in world.root.glob("interop.sqlite*"))  # the answers kept for txn/status too
        assert all(person.id_number.encode() not in kept for person in (first, second, fourth))
        assert not any(first.id_number in str(record) or key.startswith("g2p") for key, record in world.node.store.iterate_state_prefix("money/"))
        assert get_balance(world, "w0") == 0
    asyncio.run(run_world(tmp_path, scenario, g2p=True))


def test_asynchronous_links_call_back_and_their_status_is_answered(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        g2p = G2P.of(world)
        money = await open_money(world)
        person = money.households[0].members[0]
        message = request("link", {"id": nid(person), "fa": "account:w0@operator-bank"})
        acked = await g2p.post("mapper", "/mapper/link", g2p.partner.envelope("link", message))
        assert acked.json()["message"]["ack_status"] == "ACK", acked.text
        callback = await g2p.callback("mapper", "/mapper/on-link")
        assert callback["header"]["action"] == "on-link" and callback["message"]["link_response"][0]["status"] == "succ"
        assert callback["message"]["correlation_id"] == acked.json()["message"]["correlation_id"]
        resolve = request("resolve", {"id": nid(person), "scope": "details"})
        await g2p.post("mapper", "/mapper/resolve", g2p.partner.envelope("resolve", resolve))
        resolved = await g2p.callback("mapper", "/mapper/on-resolve")
        assert resolved["message"]["resolve_response"][0]["fa"] == "account:w0@operator-bank"
        # The link's status, synchronously and at the callback; an unknown transaction's.
        asked = {"transaction_id": new_id(), "txnstatus_request": {"reference_id": "r1", "txn_type": "link", "attribute_type": "transaction_id",
                                                                    "attribute_value": message["transaction_id"]}}
        status = await g2p.post("mapper", "/registry/sync/txn/status", g2p.partner.envelope("txn-status", asked))
        assert status.json()["message"]["txnstatus_response"] == {"txn_type": "on-link", "txn_status": callback["message"]}
        await g2p.post("mapper", "/mapper/txn/status", g2p.partner.envelope("txn-status", {**asked, "txnstatus_request": {
            **asked["txnstatus_request"], "txn_type": "update"}}))
        unknown = await g2p.callback("mapper", "/mapper/txn/on-status")
        assert unknown["header"]["status"] == "rjct"
        assert unknown["message"]["txnstatus_response"]["txn_status"]["update_response"][0]["status_reason_code"] == "rjct.reference_id.invalid"
        # Evidence of every message: the requests, the acknowledgements, the callbacks.
        actions = {record["action"] for _, record in world.node.store.iterate_state_prefix("interop/message/") if "g2p.example" in (record["sender"], record["receiver"])}
        assert {"link", "on-link", "resolve", "on-resolve", "txn-status", "txn-on-status", "ack"} <= actions
    asyncio.run(run_world(tmp_path, scenario, g2p=True))


def test_the_mapper_refuses_bad_tokens_scopes_signatures_and_bodies(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        g2p = G2P.of(world)
        person = world.population.households[0].members[0]
        link = g2p.partner.envelope("link", request("link", {"id": nid(person), "fa": "account:w0@operator-bank"}))
        assert (await g2p.post("mapper", "/mapper/sync/link", link, headers={}, valid=False)).status_code == 401
        assert (await g2p.post("mapper", "/mapper/sync/link", link, headers={"Authorization": "Bearer forged"}, valid=False)).status_code == 401
        assert (await g2p.post("mapper", "/mapper/sync/link", link, headers=await g2p.bearer("mapper.resolve"))).status_code == 403
        assert (await world.http.post(f"{world.url}/g2p/mapper/sync/link", json=link, headers=await world.bearer())).status_code == 403  # the registry client
        altered = {**link, "message": {**link["message"], "transaction_id": "altered"}}
        refused = await g2p.post("mapper", "/mapper/sync/link", altered)
        assert refused.json()["header"]["status"] == "rjct" and "err.signature.invalid" in refused.json()["header"]["status_reason_message"]
        bad = g2p.partner.envelope("link", {"transaction_id": "t", "link_request": [{"reference_id": "r"}]})
        response = await g2p.post("mapper", "/mapper/link", bad, valid=False)
        assert response.status_code == 400 and response.json()["message"]["error"]["code"] == "err.request.bad"
        duplicate = await g2p.post("mapper", "/mapper/sync/link", link)
        again = await g2p.post("mapper", "/mapper/sync/link", link)
        assert duplicate.json()["header"]["status"] == "rjct" and again.json()["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    asyncio.run(run_world(tmp_path, scenario, g2p=True))

"""Civil registration as a client: the node subscribes to the simulated civil registry (crvs_api
v1.0.0) and applies its births and deaths — a death stops the household's payments and opens a
review. Every message both ways is validated against the specification with openapi-core."""

import asyncio
import datetime
import random
import secrets
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from interop_support import SpecChecker, now_iso
from reliefledger.interop.settings import InteropSettingsError, read_interop_settings, write_civil_registration, write_client
from reliefledger.interop.signatures import SigningKey, sign_envelope
from reliefledger.ledger.contracts.assistance import get_case_key, is_payment_held
from reliefledger.ledger.contracts.registry import get_household_key, get_person_key
from reliefledger.ledger.pseudonyms import compute_household_pseudonym, compute_person_pseudonym
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim.resident_ids import issue_id_number
from world import ShiftedClock, World, run_world

POOR = {"business_registrations": 0, "deposits_fen": 0, "monthly_income_fen": {}, "properties_beyond_residence": 0, "vehicles": 0}
DAY_MS = 86_400_000


async def enrol_two_households(directory: ChainDirectory, node: Any, casework: Any, population: Any, clock: ShiftedClock) -> None:
    """Households 0 and 2 (they applied for dibao) are enrolled: means test, opinion, the seven-day
    notice (the clock moves on), the county's approval."""
    await admit_staff(directory, node, organisation="civil-affairs", label="county", roles=["approver"], region="110000")
    staff = StaffDirectory(directory)
    for index in (0, 2):
        case_id = f"a{index}.dibao"
        result = (await casework.record_means_test(staff.get("cw"), case_id, {**POOR, "members": len(population.households[index].members)}))["result"]
        await casework.give_opinion(staff.get("cw"), case_id, recommendation="approve", reasons=[])
        await casework.start_notice(staff.get("cw"), case_id)
    clock.offset_ms += 8 * DAY_MS
    for index in (0, 2):
        case = casework.get_case(f"a{index}.dibao")
        await casework.decide(staff.get("county"), case["id"], outcome="approve", reasons=[], monthly_benefit_fen=case["assessment"]["monthly_benefit_fen"])


async def wait_until(check: Any, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_births_and_deaths_from_the_civil_registry_change_the_registry_and_a_death_holds_payments(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        civil, crvs, store = world.registries.civil, world.crvs, world.node.store
        assert civil is not None and crvs is not None
        # The node subscribes to deaths and births; the registry confirms both.
        await wait_until(lambda: {item["event_type"] for item in civil.log.list_subscriptions() if item["status"] == "subscribe"} == {"Death", "LiveBirth"})
        registry_side, node_side = SpecChecker("crvs", "/"), SpecChecker("crvs", "/dci/crvs")
        subscriptions = [item for item in crvs.received if item["path"] == "/registry/subscribe"]
        for item in subscriptions:
            registry_side.check_callback("/registry/subscribe", item["body"], item["headers"])
        assert {item["body"]["header"]["sender_uri"] for item in subscriptions} == {f"{world.url}/dci/crvs"}
        household = world.population.households[0]
        assert len(household.members) >= 2, "the test needs a household that outlives one death"
        holder = compute_household_pseudonym(world.node.suite, world.casework.network_key, household.number)
        dead = household.members[-1]
        dead_person = compute_person_pseudonym(world.node.suite, world.casework.network_key, dead.id_number)
        assert store.get(get_case_key("a0.dibao"))["status"] == "enrolled" and not is_payment_held(store.get(get_case_key("a0.dibao")))

        # A death: recorded, the household smaller, the enrolled case's review opened with its payments held — before the ACK.
        await crvs.register_death(dead.id_number, "2026-11-28")
        assert [item.outcome for item in crvs.outbox] == ["ack"]
        assert store.get(get_person_key(dead_person))["status"] == "deceased"
        assert dead_person not in store.get(get_household_key(holder))["members"]
        case = store.get(get_case_key("a0.dibao"))
        assert is_payment_held(case) and [item["reason"] for item in case["open_review"]["reasons"]] == ["death_registered"]
        assert not is_payment_held(store.get(get_case_key("a2.dibao")))  # another household is untouched
        (event,) = civil.log.list_events()
        assert event["outcome"] == "death_recorded.reviews_held_1" and event["person"] == dead_person and event["event_type"] == "Death"
        assert dead.id_number not in str(civil.log.list_events()) + str(civil.log.list_subscriptions())  # pseudonyms only

        # Sent again (the registry did not see our ACK): acknowledged, applied once.
        crvs.outbox[0].outcome = "pending"
        assert await crvs.redeliver() == 0
        assert len(store.get(get_case_key("a0.dibao"))["open_review"]["reasons"]) == 1 and len(civil.log.list_events()) == 1

        # A death recorded by hand at the desk, then a birth's review (no hold), then the death registered: no second record, but
        # the hold the desk did not put is put.
        other = world.population.households[2]
        assert len(other.members) >= 2, "the test needs a household that outlives one death"
        other_dead = other.members[0]
        other_person = compute_person_pseudonym(world.node.suite, world.casework.network_key, other_dead.id_number)
        await world.casework.change_household(StaffDirectory(ChainDirectory(world.root)).get("cw"), "record_death", {"person": other_person})
        rng = random.Random(5)
        baby = issue_id_number(rng, "110105", datetime.date(2026, 11, 25), "male", set())
        await crvs.register_birth(baby, name="x", sex="male", birth_date="2026-11-25", parent_id_numbers=[other.members[1].id_number])
        assert not is_payment_held(store.get(get_case_key("a2.dibao"))) and store.get(get_case_key("a2.dibao"))["open_review"] is not None
        await crvs.register_death(other_dead.id_number, "2026-11-28")
        assert civil.log.find_event(crvs.sender_id, crvs.events[-1]["reference_id"])["outcome"] == "already_recorded.reviews_held_1"
        assert is_payment_held(store.get(get_case_key("a2.dibao")))

        # Someone unknown here, and an identifier that is not a resident ID: acknowledged, nothing changed, the outcome says why.
        stranger = issue_id_number(rng, "110105", datetime.date(1950, 1, 1), "male", set())
        await crvs.register_death(stranger, "2026-11-28")
        await crvs.register_death("not-an-id", "2026-11-28")
        outcomes = [item["outcome"] for item in civil.log.list_events()]
        assert outcomes[-2:] == ["not_registered", "refused.identifier_invalid"] and all(item.outcome == "ack" for item in crvs.outbox)

        # A birth to a surviving parent: the child joins the household, the review gathers the reason, the hold stays.
        child = issue_id_number(rng, "110105", datetime.date(2026, 11, 20), "female", set())
        await crvs.register_birth(child, name="新生儿", sex="female", birth_date="2026-11-20", parent_id_numbers=[stranger, household.members[0].id_number])
        child_person = compute_person_pseudonym(world.node.suite, world.casework.network_key, child)
        assert child_person in store.get(get_household_key(holder))["members"]
        case = store.get(get_case_key("a0.dibao"))
        assert [item["reason"] for item in case["open_review"]["reasons"]] == ["death_registered", "birth_registered"] and is_payment_held(case)
        assert civil.log.list_events()[-1]["outcome"] == "birth_recorded.reviews_opened_1"
        orphan = issue_id_number(rng, "110105", datetime.date(2026, 11, 21), "male", set())
        await crvs.register_birth(orphan, name="x", sex="male", birth_date="2026-11-21", parent_id_numbers=[stranger])
        assert civil.log.list_events()[-1]["outcome"] == "no_parent_registered"

        # Every message the registry sent, and our answer, is valid by the specification; every one is evidence on the ledger.
        assert len(crvs.exchanges) >= 8
        for response in crvs.exchanges:
            assert response.status_code == 200, response.text
            node_side.check_exchange(response)
        recorded = [record for _, record in store.iterate_state_prefix("interop/message/") if crvs.sender_id in (record["sender"], record["receiver"])]
        assert {record["action"] for record in recorded} >= {"subscribe", "on-subscribe", "notify", "ack"}
        assert sum(record["action"] == "notify" and record["outcome"] == "ack" for record in recorded) == len(crvs.exchanges) - len(subscriptions)

        # Refused as the specification says: a notify signed with another key, and one from a partner without the scope.
        token = (await world.http.post(f"{world.url}/oauth2/client/token", data={"grant_type": "client_credentials", "client_id": "crvs",
                                                                              "client_secret": crvs.subscriber.client_secret})).json()["access_token"]
        forged = build_notify(crvs.sender_id, SigningKey("crvs-other", nacl.signing.SigningKey.generate().encode()), world.clock() // 1000, dead.id_number)
        refused = await world.http.post(f"{world.url}/dci/crvs/registry/notify", json=forged, headers={"Authorization": f"Bearer {token}"})
        node_side.check_exchange(refused)
        assert refused.status_code == 200 and refused.json()["message"]["error"]["code"] == "err.signature.invalid"
        unscoped = await world.http.post(f"{world.url}/dci/crvs/registry/notify", json=build_notify(world.partner.sender_id, world.partner.key, world.clock() // 1000, "x"),
                                         headers=await world.bearer())
        assert unscoped.status_code == 403 and unscoped.json()["errors"][0]["code"] == "err.request.forbidden"
        # Another client with the scope is not the civil registry named in interop.toml: refused, not applied.
        other_token = (await world.http.post(f"{world.url}/oauth2/client/token", data={"grant_type": "client_credentials", "client_id": "crvs-other",
                                                                                    "client_secret": world.secrets_by_client["crvs-other"]})).json()["access_token"]
        impostor = await world.http.post(f"{world.url}/dci/crvs/registry/notify", json=build_notify("crvs-other.example", world.partner.key, world.clock() // 1000,
                                                                                                   household.members[0].id_number),
                                         headers={"Authorization": f"Bearer {other_token}"})
        node_side.check_exchange(impostor)
        assert impostor.json()["message"]["error"]["code"] == "err.sender_id.invalid"
        assert len(civil.log.list_events()) == 7 and store.get(get_person_key(compute_person_pseudonym(
            world.node.suite, world.casework.network_key, household.members[0].id_number)))["status"] == "alive"  # none of them was applied

    asyncio.run(run_world(tmp_path, scenario, civil_registry=True, prepare=enrol_two_households))


def build_notify(sender_id: str, key: SigningKey, now_s: int, id_number: str) -> dict[str, Any]:
    """A notify of one death, signed with ``key``."""
    envelope = {"header": {"version": "1.0.0", "message_id": secrets.token_hex(8), "message_ts": now_iso(), "action": "notify", "status": "succ",
                           "sender_id": sender_id, "receiver_id": "reliefledger.test", "total_count": 1, "completed_count": 1, "is_msg_encrypted": False},
                "message": {"transaction_id": "t-forged", "notify_event": [{"reference_id": f"forged-{secrets.token_hex(4)}", "timestamp": now_iso(), "data": {
                    "reg_event_type": "spdci-common:RegistryEventType:Death", "reg_record_type": "Person",
                    "reg_records": {"identifier": [{"identifier_type": "NationalID", "identifier_value": id_number}]}}}]}}
    return {**envelope, "signature": sign_envelope(key, sender_id, envelope, now_s)}


def test_a_civil_registry_is_named_only_when_it_is_onboarded_with_the_scope(tmp_path: Path) -> None:
    root = tmp_path / "node"
    root.mkdir()
    name = lambda client_id, uri="http://127.0.0.1:1/dci/crvs": write_civil_registration(root, client_id=client_id, registrar="registrar", public_uri=uri)  # noqa: E731
    with pytest.raises(InteropSettingsError, match="does not exist"):
        name("crvs")
    write_client(root, client_id="crvs", sender_id="crvs.example", callback_uri="http://127.0.0.1:2", scopes=["registry.search"], fields=[], jwks={"keys": []})
    write_client(root, client_id="crvs2", sender_id="crvs2.example", callback_uri="http://127.0.0.1:2", scopes=["crvs.notify"], fields=[], jwks={"keys": []})
    before = (root / "interop.toml").read_text()
    for client_id, uri, expected in (("crvs", "http://127.0.0.1:1/dci/crvs", "crvs.notify"), ("nobody", "http://127.0.0.1:1/dci/crvs", "crvs.notify"),
                                     ("crvs2", "ftp://x", "http")):
        with pytest.raises(InteropSettingsError, match=expected):
            name(client_id, uri)
    assert (root / "interop.toml").read_text() == before  # nothing written by a refusal
    name("crvs2")
    assert (root / "interop.toml").read_text().startswith(before) and read_interop_settings(root).civil_registration.client_id == "crvs2"
    with pytest.raises(InteropSettingsError, match="already"):
        name("crvs2")

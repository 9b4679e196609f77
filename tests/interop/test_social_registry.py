"""The DCI Social Registry served from the ledger: every exchange validated against the published
specification (openapi-core), callbacks to a partner's server included; tokens, signatures and
the evidence on the ledger."""

import asyncio
import dataclasses
import sqlite3
import tempfile
from pathlib import Path

import pytest

from interop_support import now_iso, search_message, verify_ours
from reliefledger.interop.registry_search import SearchRefused, search_registry
from reliefledger.interop.signatures import encode_canonical
from reliefledger.ledger.pseudonyms import compute_household_pseudonym, compute_person_pseudonym
from reliefledger.node.casework import CaseworkError
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.household_import import import_households, read_rows
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.writers import write_import_csv
from world import FIELDS, World, run_world


def test_a_partner_gets_a_token_and_searches_by_national_id_and_by_expression(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        token = await world.token()
        world.authz.check_exchange(token)
        assert token.status_code == 200 and token.json()["token_type"] == "bearer"
        jwks = await world.http.get(f"{world.url}/.well-known/jwks.json")
        world.jwks_checker.check_exchange(jwks)
        # By national ID (turned into the pseudonym at the edge): that person's household, only the agreed fields.
        person = world.population.households[0].members[0]
        found = await world.post("/registry/sync/search", world.partner.envelope("search", search_message(
            {"query_type": "idtype-value", "query": {"type": "NationalID", "value": person.id_number}})))
        assert found.status_code == 200, found.text
        verify_ours(found.json(), jwks.json())
        (item,) = found.json()["message"]["search_response"]
        (record,) = item["data"]["reg_records"]
        assert item["status"] == "succ" and set(record) <= set(FIELDS) and "head_id" not in record
        pseudonym = compute_person_pseudonym(world.node.suite, world.casework.network_key, person.id_number)
        assert record["household_id"] == world.node.store.get(f"registry/person/{pseudonym}")["household"]
        assert person.id_number not in found.text and person.name not in found.text
        # Asynchronously, by expression: every household of a district that applied for dibao, two to a page; the results come to the partner's callback.
        expected = sorted(household["id"] for _, household in world.node.store.iterate_state_prefix("registry/household/")
                          if household["region"].startswith("110105") and any(case["household"] == household["id"] and case["programme"] == "dibao"
                                                                               for _, case in world.node.store.iterate_state_prefix("assistance/case/")))
        query = {"type": "ns:org:QueryType:expression", "value": {"expression": {"collection": "Group", "query": {
            "$and": [{"region": {"$eq": "110105"}}, {"programme": {"$eq": "dibao"}}]}}}}
        criteria = {"query_type": "expression", "query": query, "sort": [{"attribute_name": "household_id", "sort_order": "asc"}],
                    "pagination": {"page_size": 2, "page_number": 1}}
        asked = await world.post("/registry/search", world.partner.envelope("search", search_message(criteria, {**criteria, "pagination": {"page_size": 2, "page_number": 2}}),
                                                                             sender_uri=f"{world.partner.base_url}/dci"))
        assert asked.status_code == 200 and asked.json()["message"]["ack_status"] == "ACK", asked.text
        ((callback, headers),) = await world.partner.wait_for("/registry/on-search")
        world.partner_side.check_callback("/registry/on-search", callback, headers)
        verify_ours(callback, jwks.json())
        first, second = callback["message"]["search_response"]
        assert first["pagination"]["total_count"] == len(expected) >= 3
        assert [record["household_id"] for record in first["data"]["reg_records"] + second["data"]["reg_records"]] == expected[:4]
        assert callback["message"]["correlation_id"] == asked.json()["message"]["correlation_id"]
        # A predicate query gives the same households as the expression.
        predicate = [{"seq_num": 1, "expression1": {"attribute_name": "region", "operator": "eq", "attribute_value": "110105"}, "condition": "and",
                      "expression2": {"attribute_name": "programme", "operator": "eq", "attribute_value": "dibao"}}]
        same = await world.post("/registry/sync/search", world.partner.envelope("search", search_message(
            {"query_type": "predicate", "query": predicate, "pagination": {"page_size": 100}})))
        assert sorted(record["household_id"] for record in same.json()["message"]["search_response"][0]["data"]["reg_records"]) == expected
        # The status of the asynchronous search, by its transaction id.
        status = await world.post("/registry/sync/txn/status", world.partner.envelope("txn-status", {"transaction_id": "t2", "txnstatus_request": {
            "reference_id": "r1", "txn_type": "search", "attribute_type": "transaction_id", "attribute_value": callback["message"]["transaction_id"]}}))
        assert status.json()["message"]["txnstatus_response"]["txn_status"] == callback["message"]
        assert world.social.checked == 4 and world.partner_side.checked == 1
        # A partner may filter and sort only on fields it receives: filtering on programmes would reveal them.
        reader = world.registries.social.reader
        for criteria in ({"query_type": "expression", "query": query}, {"query_type": "predicate", "query": predicate},
                         {"query_type": "idtype-value", "query": {"type": "household_id", "value": expected[0]}, "sort": [{"attribute_name": "members_count"}]}):
            with pytest.raises(SearchRefused) as refused:
                search_registry(reader, criteria, ("household_id", "region"))
            assert refused.value.code in ("rjct.filter.invalid", "rjct.sort.invalid")
        # A stated purpose narrows the onboarded fields: counting households for statistics gets no identifiers to follow them by.
        by_district = {"query_type": "predicate", "query": predicate[:1], "pagination": {"page_size": 100}}
        purposes = [{**by_district, "authorize": {"purpose": {"code": "statistics", "text": "households per district"}}},
                    {"query_type": "idtype-value", "query": {"type": "NationalID", "value": person.id_number}, "consent": {"purpose": {"code": "verification"}}},
                    {**by_district, "authorize": {"purpose": {"code": "marketing"}}},
                    {**by_district, "sort": [{"attribute_name": "household_id"}], "authorize": {"purpose": {"code": "statistics"}}}]
        answered = await world.post("/registry/sync/search", world.partner.envelope("search", search_message(*purposes)))
        statistics, verification, marketing, sorted_by_id = answered.json()["message"]["search_response"]
        assert statistics["status"] == "succ" and statistics["data"]["reg_records"]
        assert all(set(record) == {"region", "status", "members_count", "programmes"} for record in statistics["data"]["reg_records"])
        (checked,) = verification["data"]["reg_records"]  # is this person's household registered? no region, size or programmes
        assert "household_id" in checked and set(checked) <= {"household_id", "person_id", "status", "alive"}
        assert marketing["status"] == "rjct" and "marketing" in marketing["status_reason_message"]
        assert sorted_by_id["status"] == "rjct" and sorted_by_id["status_reason_code"] == "rjct.sort.invalid"  # not a field the purpose allows

    asyncio.run(run_world(tmp_path, scenario))


def test_tokens_bodies_signatures_and_senders_are_refused_as_the_specification_says(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        wrong_secret = await world.token(secret="not-the-secret")
        world.authz.check_exchange(wrong_secret)
        too_wide = await world.token(scope="registry.search mapper.link")
        world.authz.check_exchange(too_wide)
        assert wrong_secret.status_code == 401 and too_wide.status_code == 400 and "access_token" not in wrong_secret.text
        good = world.partner.envelope("search", search_message({"query_type": "idtype-value", "query": {"type": "household_id", "value": "a" * 64}}))
        search_only = await world.bearer("registry.search")
        forged = {"Authorization": search_only["Authorization"][:-4] + "AAAA"}
        answers = {
            "no token": await world.post("/registry/search", good, headers={}, check=False),
            "forged token": await world.post("/registry/search", good, headers=forged, check=False),
            "scope lacking": await world.post("/registry/subscribe", world.partner.envelope("subscribe", {"transaction_id": "t", "subscribe_request": []}),
                                              headers=search_only, check=False),
        }
        assert {name: response.status_code for name, response in answers.items()} == {"no token": 401, "forged token": 401, "scope lacking": 403}
        assert all(response.json()["errors"][0]["code"].startswith("err.request.") for response in answers.values())
        for name in ("scope lacking",):  # with a token the exchange is validated whole (without one, security itself fails validation)
            world.social.check_exchange(answers[name])
        bad_body = await world.post("/registry/search", {"header": {"action": "search"}}, valid=False)
        assert bad_body.status_code == 400 and bad_body.json()["message"]["ack_status"] == "ERR" and bad_body.json()["message"]["error"]["code"] == "err.request.bad"
        sync_bad = await world.post("/registry/sync/search", {"header": {"action": "search"}}, valid=False)
        assert sync_bad.status_code == 400 and sync_bad.json()["header"]["status"] == "rjct"
        tampered = world.partner.envelope("search", search_message({"query_type": "idtype-value", "query": {"type": "household_id", "value": "b" * 64}}))
        tampered["message"]["transaction_id"] = "changed-after-signing"
        cases = {
            "err.signature.missing": world.partner.envelope("search", good["message"], signed=False),
            "err.signature.invalid": tampered,
            "err.sender_id.invalid": world.partner.envelope("search", good["message"], sender_id="someone.else"),
            "err.receiver_id.invalid": world.partner.envelope("search", good["message"], receiver_id="another.registry"),
            "err.sender_uri.invalid": world.partner.envelope("search", good["message"], sender_uri="https://elsewhere.example/dci"),
            "err.version.not_supported": world.partner.envelope("search", good["message"], version="2.0.0"),
            "err.encryption.invalid": world.partner.envelope("search", {"header": {"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "k"}, "ciphertext": "x",
                                                                        "encrypted_key": "x", "tag": "x", "iv": "x"}, is_msg_encrypted=True),
        }
        for code, envelope in cases.items():
            answer = await world.post("/registry/search", envelope)
            assert answer.status_code == 200 and answer.json()["message"]["ack_status"] == "ERR" and answer.json()["message"]["error"]["code"] == code, (code, answer.text)
        first = await world.post("/registry/search", good)
        again = await world.post("/registry/search", good)
        assert first.json()["message"]["ack_status"] == "ACK" and again.json()["message"]["ack_status"] == "NACK"
        sync_again = await world.post("/registry/sync/search", {**good, "header": {**good["header"], "action": "search"}})
        assert sync_again.json()["header"]["status"] == "rjct" and sync_again.json()["header"]["status_reason_code"] == "rjct.message_id.duplicate"
        # Bad criteria are answered per search request, with the specification's reason codes.
        criteria = [{"query_type": "idtype-value", "query": {"type": "PassportNumber", "value": "x"}},
                    {"query_type": "expression", "query": {"type": "e", "value": {"expression": {"collection": "Group", "query": {"salary": {"$gt": 1}}}}}},
                    {"query_type": "idtype-value", "query": {"type": "household_id", "value": "c" * 64}, "pagination": {"page_size": 0}}]
        refused = await world.post("/registry/sync/search", world.partner.envelope("search", search_message(*criteria)))
        assert [item["status_reason_code"] for item in refused.json()["message"]["search_response"]] == [
            "rjct.search_criteria.invalid", "rjct.filter.invalid", "rjct.pagination.invalid"] and refused.json()["header"]["status"] == "rjct"
        # Every message from the partner, taken or refused, and every answer is on the ledger by its digest.
        recorded = [record for _, record in world.node.store.iterate_state_prefix("interop/message/")]
        inbound = [record for record in recorded if record["direction"] == "in"]
        # (the same bytes sent again are the same message: the invalid body counts once, the search sent three times once)
        assert len(inbound) == len(cases) + 3 and all(record["sender"] == world.partner.sender_id for record in inbound)
        assert {record["outcome"] for record in recorded} >= {"err.signature.invalid", "err.sender_uri.invalid", "nack", "ack"}
        digests = {record["digest"] for record in recorded}
        assert world.node.suite.compute_hash(encode_canonical(first.json())).hex() in digests  # our ACK, as the partner holds it
        assert world.node.suite.compute_hash(encode_canonical(good)).hex() in digests  # the partner's search, as it sent it

    asyncio.run(run_world(tmp_path, scenario))


def test_subscribers_are_told_of_new_households_until_they_unsubscribe(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        criteria = {"reg_event_type": "REGISTER", "filter_type": "expression", "notify_record_type": "Group",
                    "filter": {"type": "ns:org:QueryType:expression", "value": {"expression": {"collection": "Group", "query": {"region": {"$eq": "110000"}}}}}}
        wrong = {**criteria, "reg_event_type": "spdci-common:RegistryEventType:Divorce"}
        asked = await world.post("/registry/subscribe", world.partner.envelope("subscribe", {"transaction_id": "sub-1", "subscribe_request": [
            {"reference_id": "s1", "timestamp": now_iso(), "subscribe_criteria": criteria}, {"reference_id": "s2", "timestamp": now_iso(), "subscribe_criteria": wrong}]}))
        assert asked.json()["message"]["ack_status"] == "ACK"
        ((confirmed, headers),) = await world.partner.wait_for("/registry/on-subscribe")
        world.partner_side.check_callback("/registry/on-subscribe", confirmed, headers)
        taken, refused = confirmed["message"]["subscribe_response"]
        assert taken["status"] == "succ" and refused["status"] == "rjct" and refused["status_reason_code"] == "rjct.notify_types.invalid"
        code = taken["subscriptions"][0]["code"]
        assert await world.registries.social.notify_once() == 0  # nothing happened since
        # A subscription to one person, given by national ID, is kept as the household's pseudonym only.
        member = world.population.households[2].members[0]
        one = {"reg_event_type": "NewHouseHoldMember", "filter_type": "idtype-value", "notify_record_type": "Group",
               "filter": {"type": "NationalID", "value": member.id_number}}
        await world.post("/registry/subscribe", world.partner.envelope("subscribe", {"transaction_id": "sub-2", "subscribe_request": [
            {"reference_id": "s3", "timestamp": now_iso(), "subscribe_criteria": one}]}))
        await world.partner.wait_for("/registry/on-subscribe", count=2)
        with sqlite3.connect(world.root / "interop.sqlite") as connection:
            kept = " ".join(str(row) for table in ("subscriptions", "transactions", "messages") for row in connection.execute(f"SELECT * FROM {table}"))
        assert member.id_number not in kept and compute_household_pseudonym(world.node.suite, world.casework.network_key,
                                                                             world.population.households[2].number) in kept
        world.partner.down = True  # the partner is down when the households arrive: nothing is lost, they come when it is back
        newcomers = await register_households(world, seed=77, count=2)
        assert await world.registries.social.notify_once() == 0
        world.partner.down = False
        assert await world.registries.social.notify_once() == 2
        ((notified, headers),) = await world.partner.wait_for("/registry/notify")
        world.partner_side.check_callback("/registry/notify", notified, headers)
        assert sorted(event["data"]["reg_records"]["household_id"] for event in notified["message"]["notify_event"]) == sorted(newcomers)
        assert all(event["data"]["reg_event_type"] == "REGISTER" and "head_id" not in event["data"]["reg_records"] for event in notified["message"]["notify_event"])
        status = await world.post("/registry/sync/txn/status", world.partner.envelope("txn-status", {"transaction_id": "t3", "txnstatus_request": {
            "reference_id": "r", "txn_type": "subscribe", "attribute_type": "transaction_id", "attribute_value": "sub-1"}}))
        assert [item["status"] for item in status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"]] == ["succ", "rjct"]
        gone = await world.post("/registry/unsubscribe", world.partner.envelope("unsubscribe", {"transaction_id": "u1", "timestamp": now_iso(),
                                                                                               "subscription_codes": [code]}))
        assert gone.json()["message"]["ack_status"] == "ACK"
        ((ended, headers),) = await world.partner.wait_for("/registry/on-unsubscribe")
        world.partner_side.check_callback("/registry/on-unsubscribe", ended, headers)
        assert ended["message"]["status"] == "succ" and ended["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]
        await register_households(world, seed=78, count=1)
        assert await world.registries.social.notify_once() == 0  # unsubscribed: nothing more
        unknown = await world.post("/registry/unsubscribe", world.partner.envelope("unsubscribe", {"transaction_id": "u2", "timestamp": now_iso(),
                                                                                                  "subscription_codes": [code, "sub-unknown"]}))
        assert unknown.json()["message"]["ack_status"] == "ACK"
        (_, (again, _)) = await world.partner.wait_for("/registry/on-unsubscribe", count=2)
        assert again["message"]["status"] == "rjct" and again["message"]["status_reason_code"] == "rjct.subscription_code.invalid"
        # A subscription for statistics is told of new households without their pseudonyms; an unknown purpose is refused.
        counting = {**criteria, "authorize": {"purpose": {"code": "statistics"}}}
        await world.post("/registry/subscribe", world.partner.envelope("subscribe", {"transaction_id": "sub-3", "subscribe_request": [
            {"reference_id": "s4", "timestamp": now_iso(), "subscribe_criteria": counting},
            {"reference_id": "s5", "timestamp": now_iso(), "subscribe_criteria": {**criteria, "authorize": {"purpose": {"code": "marketing"}}}}]}))
        (*_, (purposed, _)) = await world.partner.wait_for("/registry/on-subscribe", count=3)
        statistics, marketing = purposed["message"]["subscribe_response"]
        assert statistics["status"] == "succ" and marketing["status_reason_code"] == "rjct.notify_details.invalid"
        await register_households(world, seed=79, count=1)
        assert await world.registries.social.notify_once() == 1
        (*_, (counted, headers)) = await world.partner.wait_for("/registry/notify", count=2)
        world.partner_side.check_callback("/registry/notify", counted, headers)
        (event,) = counted["message"]["notify_event"]
        assert set(event["data"]["reg_records"]) == {"region", "status", "members_count", "programmes"}

    asyncio.run(run_world(tmp_path, scenario))


async def register_households(world: World, seed: int, count: int) -> list[str]:
    """Import ``count`` new households through the real importer; answer their pseudonyms."""
    drawn = generate_population(seed=seed, households=count)
    population = dataclasses.replace(drawn, households=tuple(dataclasses.replace(household, number=f"NEW-{seed}-{index}")
                                                             for index, household in enumerate(drawn.households)))
    with tempfile.TemporaryDirectory() as folder:
        write_import_csv(population, Path(folder) / "households.csv")
        report = await import_households(world.casework, StaffDirectory(ChainDirectory(world.root)).get("cw"), read_rows(Path(folder) / "households.csv"))
    assert report.households_registered == count
    return [compute_household_pseudonym(world.node.suite, world.casework.network_key, household.number) for household in population.households]


def test_when_the_ledger_cannot_record_the_evidence_nothing_is_answered_and_the_retry_is_served(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        evidence = world.registries.social.context.evidence
        original = evidence.record

        async def failing(*messages: object) -> None:
            raise CaseworkError("the node is busy", code="busy", status=503)

        envelope = world.partner.envelope("search", search_message({"query_type": "idtype-value", "query": {"type": "household_id", "value": "a" * 64}}))
        evidence.record = failing
        refused = await world.post("/registry/search", envelope)
        evidence.record = original
        assert refused.status_code == 503 and refused.json()["message"]["error"]["code"] == "err.service.unavailable"
        again = await world.post("/registry/search", envelope)  # the same message, sent again: served, not refused as a duplicate
        assert again.status_code == 200 and again.json()["message"]["ack_status"] == "ACK"
        # Hostile bodies are refused with 400, never a server error: nested too deep, a lone surrogate.
        for body in (b"[" * 10_000, b'{"header": {"action": "search"}, "message": {"transaction_id": "\\ud800"}}'):
            answer = await world.http.post(f"{world.url}/dci/social/registry/search", content=body, headers={**await world.bearer(), "content-type": "application/json"})
            assert answer.status_code == 400 and answer.json()["message"]["error"]["code"] == "err.request.bad", answer.text
        too_big = await world.http.post(f"{world.url}/dci/social/registry/search", content=b" " * (1024 * 1024 + 1),
                                        headers={**await world.bearer(), "content-type": "application/json"})
        assert too_big.status_code == 413

    asyncio.run(run_world(tmp_path, scenario))

"""The DCI Integrated Beneficiary Registry served from the case workflow: enrolment queries,
enrolment events to subscribers, every exchange validated against ibr_api_v1.0.0 (openapi-core)."""

import asyncio
import sqlite3
from pathlib import Path

from interop_support import now_iso, search_message
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.staff import StaffDirectory
from world import World, new_id, run_world


def test_a_ministry_sees_who_is_enrolled_in_what_and_hears_of_new_enrolments(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        directory = ChainDirectory(world.root)
        await admit_staff(directory, world.node, organisation="civil-affairs", label="county", roles=["approver"], region="110000")
        staff = StaffDirectory(directory)
        worker, second, county = staff.get("cw"), staff.get("cw-2"), staff.get("county")
        holders = [compute_household_pseudonym(world.node.suite, world.casework.network_key, household.number) for household in world.population.households]
        # A ministry subscribes to enrolments in the city before anyone is enrolled.
        criteria = {"reg_event_type": "enrollement", "filter_type": "expression", "notify_record_type": "Group",
                    "filter": {"type": "expression", "value": {"expression": {"collection": "Group", "query": {"region": {"$eq": "110000"}}}}}}
        asked = await world.post("/registry/subscribe", world.partner.envelope("subscribe", {"transaction_id": "ibr-sub", "subscribe_request": [
            {"reference_id": "s1", "timestamp": now_iso(), "subscribe_criteria": criteria}]}), registry="ibr")
        assert asked.json()["message"]["ack_status"] == "ACK"
        ((confirmed, headers),) = await world.partner.wait_for("/registry/on-subscribe")
        world.ibr_partner_side.check_callback("/registry/on-subscribe", confirmed, headers)
        assert confirmed["message"]["subscribe_response"][0]["status"] == "succ"
        # Two households (index 1 and 3: they never applied for dibao) are enrolled in the education subsidy through the case workflow.
        enrolled = [holders[1], holders[3]]
        for index, household in enumerate(enrolled):
            case_id = (await world.casework.apply(worker, application_id=f"edu{index}", programmes=["education"], channel="in_person", application={},
                                                  household=household, related_to_staff=False))["cases"][0]["id"]
            await world.casework.record_authorisation(worker, case_id, {"signed": True})
            await world.casework.record_visit(worker, case_id, report={"visited": True}, staff=[worker.key.public_key, second.key.public_key], by_county=False)
            await world.casework.give_opinion(worker, case_id, recommendation="approve", reasons=[])
            await world.casework.decide(county, case_id, outcome="approve", reasons=[], monthly_benefit_fen=80_000)
        assert await world.registries.beneficiary.notify_once() == 2
        assert await world.registries.social.notify_once() == 0  # subscriptions belong to the registry they were made at
        ((notified, headers),) = await world.partner.wait_for("/registry/notify")
        world.ibr_partner_side.check_callback("/registry/notify", notified, headers)
        assert sorted(event["data"]["reg_records"]["household_id"] for event in notified["message"]["notify_event"]) == sorted(enrolled)
        assert all(event["data"]["reg_event_type"] == "enrollement" for event in notified["message"]["notify_event"])

        async def is_enrolled(query: dict) -> dict:
            answer = await world.post("/registry/sync/enrolled", world.partner.envelope("search", {"transaction_id": "e1", "enrolled_criteria": {
                "query_type": "idtype-value", "response_entity": "Member", "query": query}}), registry="ibr")
            assert answer.status_code == 200, answer.text
            return answer.json()["enrolled_response"][0]

        member = world.population.households[1].members[0].id_number
        assert (await is_enrolled({"person_identifier": {"eq": member}, "programme_identifier": {"eq": "education"}}))["enrolled_status"] == "yes"
        assert (await is_enrolled({"person_identifier": {"eq": member}, "programme_identifier": {"eq": "dibao"}}))["enrolled_status"] == "no"
        assert (await is_enrolled({"household_identifier": {"eq": world.population.households[0].number}}))["enrolled_status"] == "no"  # applied, not decided
        refused = await is_enrolled({"salary": {"gt": 1}})
        assert refused["status"] == "rjct" and refused["enrolled_status"] == "no" and "rjct.search_criteria.invalid" in refused["status_reason_message"]
        # A search at the IBR shows the household's programmes with their status (a one-off award's case is completed).
        found = await world.post("/registry/sync/search", world.partner.envelope("search", search_message(
            {"query_type": "idtype-value", "query": {"type": "household_id", "value": holders[1]}})), registry="ibr")
        (record,) = found.json()["message"]["search_response"][0]["data"]["reg_records"]
        assert [(programme["programme"], programme["status"], programme["monthly_benefit_fen"]) for programme in record["programmes"]] == [("education", "completed", 80_000)]
        unsigned = await world.post("/registry/sync/enrolled", world.partner.envelope("search", {"transaction_id": "e2", "enrolled_criteria": {"query": {}}}, signed=False),
                                    registry="ibr")
        assert unsigned.json()["enrolled_response"][0]["status"] == "rjct" and "err.signature.missing" in unsigned.json()["enrolled_response"][0]["status_reason_message"]
        assert world.ibr.checked == 7

    asyncio.run(run_world(tmp_path, scenario))


def test_other_programme_systems_report_their_enrolments_and_the_ministry_sees_them(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        members = [household.members[0].id_number for household in world.population.households[:3]]
        holders = [compute_household_pseudonym(world.node.suite, world.casework.network_key, household.number) for household in world.population.households[:3]]

        async def report(*beneficiaries: dict, signed: bool = True):
            envelope = world.partner.envelope("notify", {"transaction_id": new_id(), "enrolled_updates": {"beneficiaries": list(beneficiaries)}}, signed=signed,
                                              status="succ", completed_count=len(beneficiaries))
            return await world.post("/registry/sync/enrollment/updates", envelope, registry="ibr")

        async def is_enrolled(identifier: str, programme: str) -> str:
            answer = await world.post("/registry/sync/enrolled", world.partner.envelope("search", {"transaction_id": new_id(), "enrolled_criteria": {
                "query_type": "idtype-value", "response_entity": "Member", "query": {"person_identifier": {"eq": identifier}, "programme_identifier": {"eq": programme}}}}),
                registry="ibr")
            return answer.json()["enrolled_response"][0]["enrolled_status"]

        assert await is_enrolled(members[0], "hrss:vocational-training") == "no"
        taken = await report({"reference_id": "b1", "programme_identifier": "hrss:vocational-training", "person_identifier": {"eq": members[0]},
                              "enrollment_status": "enrolled", "enrollment_date": "2026-11-01"},
                             {"reference_id": "b2", "programme_identifier": "hrss:vocational-training", "household_identifier": {"eq": holders[1]}},
                             {"reference_id": "b3", "programme_identifier": "dibao", "person_identifier": {"eq": members[2]}},
                             {"reference_id": "b4", "programme_identifier": "hrss:vocational-training", "person_identifier": {"eq": "110105194912310021"}},
                             {"reference_id": "b5", "programme_identifier": "hrss:vocational-training", "person_identifier": {"eq": members[2]},
                              "enrollment_status": "graduated"})
        assert taken.status_code == 200, taken.text
        answers = {item["reference_id"]: item for item in taken.json()["enrolled_response"]}
        assert answers["b1"]["status"] == answers["b2"]["status"] == "succ"
        assert "rjct.programme.invalid" in answers["b3"]["status_reason_message"]  # dibao is this registry's own: its case workflow says who is enrolled
        assert "rjct.search_criteria.invalid" in answers["b4"]["status_reason_message"] and "rjct.enrollment_status.invalid" in answers["b5"]["status_reason_message"]
        assert await is_enrolled(members[0], "hrss:vocational-training") == "yes"
        assert await is_enrolled(world.population.households[1].members[-1].id_number, "hrss:vocational-training") == "yes"  # the household was reported
        assert await is_enrolled(members[2], "hrss:vocational-training") == "no"
        # The training ends: reported as exited, the person is no longer its beneficiary.
        await report({"reference_id": "b6", "programme_identifier": "hrss:vocational-training", "person_identifier": {"eq": members[0]}, "enrollment_status": "exited"})
        assert await is_enrolled(members[0], "hrss:vocational-training") == "no"
        with sqlite3.connect(world.root / "interop.sqlite") as connection:
            kept = connection.execute("SELECT * FROM external_enrolments").fetchall()
        assert sorted((row[1], row[2], row[3]) for row in kept) == sorted([("hrss:vocational-training", holders[0], "exited"),
                                                                          ("hrss:vocational-training", holders[1], "enrolled")])
        assert all(member not in str(kept) for member in members)  # pseudonyms only
        unsigned = await report({"reference_id": "b7", "programme_identifier": "x", "person_identifier": {"eq": members[2]}}, signed=False)
        assert unsigned.json()["enrolled_response"][0]["status"] == "rjct" and "err.signature.missing" in unsigned.json()["enrolled_response"][0]["status_reason_message"]
        without_scope = await world.post("/registry/sync/enrollment/updates", world.partner.envelope("notify", {"transaction_id": "t", "enrolled_updates": {}}, status="succ"),
                                         headers=await world.bearer("registry.enrolled"), registry="ibr")
        assert without_scope.status_code == 403
        recorded = [record for _, record in world.node.store.iterate_state_prefix("interop/message/") if record["action"] == "notify" and record["direction"] == "in"]
        assert len(recorded) >= 3

    asyncio.run(run_world(tmp_path, scenario))

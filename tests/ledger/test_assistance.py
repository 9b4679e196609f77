"""The assistance workflow through the pure core, with the shipped mainland pack on a Beijing chain.

Means-test outcomes are computed the way a node computes them (``evaluate_eligibility`` over the
household's facts) and recorded as digest + outcome; the contract enforces the order of steps,
who may take them, the notice period and that amounts follow the pack and the means test.
"""

import hashlib
from typing import Any

import pytest

from helpers import CHAIN_ID, ORDERER_SEED, Network, build_organisation_spec
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.contracts.assistance import get_case_key, get_overdue_steps, is_payment_held
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.policy import HouseholdFacts, compute_facts_digest, evaluate_eligibility
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import get_suite
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

OK = ResultCode.OK
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a Thursday (08:00 in Beijing)
TOWNSHIP = "110105001"
OTHER_TOWNSHIP = "110108001"
COUNTY = "110105"
CASEWORKER, CASEWORKER_2, OTHER_CASEWORKER, APPROVER, POLICY_ADMIN = 10, 11, 12, 20, 5
PACK_DOCUMENT, PACK = read_policy_pack(get_default_policy_path())


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


@pytest.fixture
def county() -> Network:
    """A Beijing chain: civil affairs admits staff bound to regions and publishes the pack."""
    suite = get_suite("ed25519-sha256")
    genesis = parse_genesis({
        "chain_id": CHAIN_ID,
        "orderers": [suite.compute_public_key(ORDERER_SEED).hex()],
        "organisations": [build_organisation_spec(suite, "civil-affairs", 1, name="北京市民政局", region="110000"),
                          build_organisation_spec(suite, "tax", 2, name="税务局", region="110000")],
        "suite": suite.name,
        "time_ms": START_MS,
    })
    writes, state_digest = compute_genesis_state(genesis)
    network = Network(genesis, MemoryState(writes), state_digest, time_ms=START_MS, digests=[state_digest])
    staff = [(CASEWORKER, ["caseworker"], TOWNSHIP), (CASEWORKER_2, ["caseworker"], TOWNSHIP),
             (OTHER_CASEWORKER, ["caseworker"], OTHER_TOWNSHIP), (APPROVER, ["approver"], COUNTY), (POLICY_ADMIN, ["policy_admin"], "110000")]
    admissions = [network.sign(1, "admit_member", {"public_key": network.key(seed).hex, "roles": roles, "region": region}) for seed, roles, region in staff]
    assert network.run(*admissions) == [OK] * len(staff)
    assert network.run_one(network.sign(POLICY_ADMIN, "publish_pack", {"document": PACK_DOCUMENT}, contract="policy")) is OK
    assert network.run_one(register(network, "h1", ["alice", "bob"])) is OK
    return network


def register(network: Network, household: str, members: list[str], region: str = TOWNSHIP):
    return network.sign(CASEWORKER if region == TOWNSHIP else OTHER_CASEWORKER, "register_household", {
        "household": digest(household), "region": region, "head": digest(members[0]),
        "members": [{"person": digest(member), "record_commitment": digest("record-" + member)} for member in members],
        "record_commitment": digest("record-" + household),
    }, contract="registry")


def step(network: Network, signer: int, action: str, *, valid_until: int | None = None, **args: Any):
    return network.sign(signer, action, args, contract="assistance", valid_until=valid_until)


def at(time_ms: int) -> int:
    """valid_until for a transaction executed in a block at ``time_ms``."""
    return time_ms + 3_600_000


def facts(wages_fen: int, members: int = 2, deposits_fen: int = 0) -> HouseholdFacts:
    return HouseholdFacts(members=members, monthly_income_fen={"wages": wages_fen}, deposits_fen=deposits_fen, vehicles=0,
                          properties_beyond_residence=0, business_registrations=0)


def means_test(network: Network, case_id: str, household_facts: HouseholdFacts, *, programme: str = "dibao", signer: int = CASEWORKER, **overrides: Any):
    """The transaction a node submits after evaluating the facts with the pack."""
    time_ms = network.next_time_ms()
    result = evaluate_eligibility(PACK, programme, TOWNSHIP, time_ms, household_facts)
    args = {"case_id": case_id, "pack_version": PACK.version, "facts_digest": compute_facts_digest(network.suite, household_facts).hex(),
            "eligible": result.eligible, "category": result.category, "reasons": list(result.reasons), "household_size": result.members,
            "standard_fen": result.standard_fen, "monthly_benefit_fen": result.monthly_benefit_fen, "source": "caseworker", **overrides}
    return step(network, signer, "record_means_test", **args), result


def case(network: Network, case_id: str) -> dict[str, Any]:
    return network.state.get(get_case_key(case_id))


def investigate(network: Network, case_id: str, wages_fen: int, *, related_to_staff: bool = False, application_id: str = "a1"):
    """Intake through means test; returns the evaluated result."""
    assert network.run_one(step(network, CASEWORKER, "apply", application_id=application_id, household=digest("h1"), programmes=["dibao"], channel="in_person",
                                application_commitment=digest("application"), related_to_staff=related_to_staff)) is OK
    assert network.run_one(step(network, CASEWORKER, "record_authorisation", case_id=case_id, authorisation_commitment=digest("authorisation"))) is OK
    assert network.run_one(step(network, CASEWORKER, "record_visit", case_id=case_id, visit_commitment=digest("visit"),
                                staff=[network.key(CASEWORKER).hex, network.key(CASEWORKER_2).hex], by_county=False)) is OK
    transaction, result = means_test(network, case_id, facts(wages_fen))
    assert network.run_one(transaction) is OK
    return result


def test_dibao_from_application_to_enrolment(county: Network) -> None:
    result = investigate(county, "a1.dibao", 100_000)
    assert result.eligible and result.standard_fen == 139_500 and result.monthly_benefit_fen == 2 * 139_500 - 80_000  # wages count after a 20 % work-expense deduction
    assert county.run_one(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[])) is OK
    assert county.run_one(step(county, CASEWORKER, "start_notice", case_id="a1.dibao")) is OK
    notice = case(county, "a1.dibao")["notice"]
    assert notice["end_ms"] - notice["start_ms"] == 7 * DAY_MS
    after_notice = notice["end_ms"] + 1
    decide = lambda amount: step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=amount, valid_until=at(after_notice))  # noqa: E731
    early = step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=result.monthly_benefit_fen)
    assert county.run_one(early) is ResultCode.NOTICE_NOT_ENDED
    assert county.run_one(decide(result.monthly_benefit_fen + 1), time_ms=after_notice) is ResultCode.AMOUNT_MISMATCH
    assert county.run_one(step(county, CASEWORKER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=result.monthly_benefit_fen)) is ResultCode.NOT_AUTHORISED
    assert county.run_one(decide(result.monthly_benefit_fen)) is OK
    enrolled = case(county, "a1.dibao")
    assert enrolled["status"] == "enrolled" and enrolled["enrolment"]["monthly_benefit_fen"] == 199_000
    assert enrolled["enrolment"]["from_month"] == "2026-02"
    # The case's step log: every accepted step, with its transaction (the key to its receipt and proofs).
    assert [entry["action"] for entry in enrolled["steps"]] == ["apply", "record_authorisation", "record_visit", "record_means_test", "give_opinion", "start_notice", "decide"]
    assert enrolled["steps"][-1]["signer"] == county.key(APPROVER).hex and enrolled["steps"][-1]["time_ms"] == enrolled["decision"]["time_ms"]
    heights = [entry["height"] for entry in enrolled["steps"]]
    assert heights == sorted(heights) and len({entry["transaction"] for entry in enrolled["steps"]}) == 7
    # One open case per household and programme: a second dibao application is refused.
    second = step(county, CASEWORKER, "apply", application_id="a2", household=digest("h1"), programmes=["dibao"], channel="online",
                  application_commitment=digest("application-2"), related_to_staff=False)
    assert county.run_one(second) is ResultCode.CASE_EXISTS


def test_no_enrolment_without_the_records(county: Network) -> None:
    assert county.run_one(step(county, CASEWORKER, "apply", application_id="a1", household=digest("h1"), programmes=["dibao"], channel="in_person",
                               application_commitment=digest("application"), related_to_staff=False)) is OK
    transaction, _ = means_test(county, "a1.dibao", facts(100_000))
    assert county.run(
        transaction,  # before the authorisation
        step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[]),
        step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=179_000),
        step(county, CASEWORKER, "start_notice", case_id="a1.dibao"),
    ) == [ResultCode.WRONG_CASE_STATE] * 4
    assert county.run_one(step(county, CASEWORKER, "record_authorisation", case_id="a1.dibao", authorisation_commitment=digest("authorisation"))) is OK
    one_visitor = step(county, CASEWORKER, "record_visit", case_id="a1.dibao", visit_commitment=digest("visit"), staff=[county.key(CASEWORKER).hex], by_county=False)
    assert county.run_one(one_visitor) is ResultCode.INVALID_ARGUMENTS


def test_refusal_states_reasons_and_the_letter_closes_the_case(county: Network) -> None:
    result = investigate(county, "a1.dibao", 400_000)
    assert not result.eligible and result.reasons == ("income_at_or_above_standard",)
    assert county.run_one(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="refuse", reasons=[])) is ResultCode.INVALID_ARGUMENTS
    assert county.run_one(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="refuse", reasons=list(result.reasons))) is OK
    assert county.run_one(step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=0)) is ResultCode.MISSING_RECORD
    assert county.run_one(step(county, APPROVER, "decide", case_id="a1.dibao", outcome="refuse", reasons=list(result.reasons), monthly_benefit_fen=0)) is OK
    refused = case(county, "a1.dibao")
    assert refused["status"] == "refused" and refused["deadlines"]["refusal_notice"] is not None
    assert get_overdue_steps(refused, refused["deadlines"]["refusal_notice"] + 1) == ["refusal_notice"]
    assert county.run_one(step(county, CASEWORKER, "issue_refusal_notice", case_id="a1.dibao", letter_commitment=digest("letter"))) is OK
    assert get_overdue_steps(case(county, "a1.dibao"), refused["deadlines"]["refusal_notice"] + 1) == []
    again = step(county, CASEWORKER, "apply", application_id="a2", household=digest("h1"), programmes=["dibao"], channel="in_person",
                 application_commitment=digest("application-2"), related_to_staff=False)
    assert county.run_one(again) is OK


def test_an_objection_reopens_the_investigation(county: Network) -> None:
    investigate(county, "a1.dibao", 100_000)
    county.run(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[]))
    county.run(step(county, CASEWORKER, "start_notice", case_id="a1.dibao"))
    assert county.run_one(step(county, CASEWORKER, "object", case_id="a1.dibao", objection_commitment=digest("objection"))) is OK
    reopened = case(county, "a1.dibao")
    assert reopened["status"] == "investigating" and reopened["assessment"] is None and len(reopened["objections"]) == 1
    assert county.run_one(step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=179_000)) is ResultCode.WRONG_CASE_STATE
    # After a second notice has run its course, an objection comes too late.
    transaction, _ = means_test(county, "a1.dibao", facts(100_000))
    county.run(transaction)
    county.run(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[]))
    county.run(step(county, CASEWORKER, "start_notice", case_id="a1.dibao"))
    late = case(county, "a1.dibao")["notice"]["end_ms"] + 1
    assert county.run_one(step(county, CASEWORKER, "object", case_id="a1.dibao", objection_commitment=digest("late"), valid_until=at(late)), time_ms=late) is ResultCode.NOTICE_ENDED


def enrol(county: Network, wages_fen: int = 100_000) -> None:
    investigate(county, "a1.dibao", wages_fen)
    county.run(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[]))
    county.run(step(county, CASEWORKER, "start_notice", case_id="a1.dibao"))
    result = case(county, "a1.dibao")["assessment"]
    after = case(county, "a1.dibao")["notice"]["end_ms"] + 1
    code = county.run_one(step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=result["monthly_benefit_fen"], valid_until=at(after)),
                          time_ms=after)
    assert code is OK


def test_periodic_review_decreases_then_stops(county: Network) -> None:
    enrol(county)
    change = lambda kind, amount: step(county, APPROVER, "change_benefit", case_id="a1.dibao", change=kind, monthly_benefit_fen=amount, reasons=["income_rose"])  # noqa: E731
    assert county.run_one(change("decrease", 100_000)) is ResultCode.MISSING_RECORD
    review, result = means_test(county, "a1.dibao", facts(150_000))
    assert county.run_one(review) is OK and result.monthly_benefit_fen == 159_000
    assert county.run(change("increase", 159_000), change("decrease", 120_000)) == [ResultCode.INVALID_ARGUMENTS, ResultCode.AMOUNT_MISMATCH]
    assert county.run_one(change("decrease", 159_000)) is OK
    assert case(county, "a1.dibao")["enrolment"]["monthly_benefit_fen"] == 159_000
    review, result = means_test(county, "a1.dibao", facts(400_000))
    assert county.run_one(review) is OK and not result.eligible
    assert county.run_one(change("stop", 0)) is OK
    assert case(county, "a1.dibao")["status"] == "stopped"


def test_related_to_staff_needs_the_county_visit(county: Network) -> None:
    investigate(county, "a1.dibao", 100_000, related_to_staff=True)
    county.run(step(county, CASEWORKER, "give_opinion", case_id="a1.dibao", recommendation="approve", reasons=[]))
    county.run(step(county, CASEWORKER, "start_notice", case_id="a1.dibao"))
    after = case(county, "a1.dibao")["notice"]["end_ms"] + 1
    decide = step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=199_000, valid_until=at(after))
    assert county.run_one(decide, time_ms=after) is ResultCode.MANDATORY_VISIT_MISSING
    visitors = [county.key(APPROVER).hex, county.key(CASEWORKER).hex]
    caseworker_claims_county = step(county, CASEWORKER, "record_visit", case_id="a1.dibao", visit_commitment=digest("v2"), staff=visitors, by_county=True, valid_until=at(after))
    county_visit = step(county, APPROVER, "record_visit", case_id="a1.dibao", visit_commitment=digest("v3"), staff=visitors, by_county=True, valid_until=at(after))
    assert county.run(caseworker_claims_county, county_visit, time_ms=after) == [ResultCode.NOT_AUTHORISED, OK]
    decide = step(county, APPROVER, "decide", case_id="a1.dibao", outcome="approve", reasons=[], monthly_benefit_fen=199_000, valid_until=at(after))
    assert county.run_one(decide, time_ms=after + 1000) is OK


def test_temporary_assistance_fast_path(county: Network) -> None:
    pay = lambda case_id, amount: step(county, CASEWORKER, "pay_first", case_id=case_id, household=digest("h1"), programme="temporary", amount_fen=amount, reasons=["fire"])  # noqa: E731
    assert county.run(pay("t1", 100_001), pay("t1", 80_000), pay("t1", 10_000)) == [ResultCode.ABOVE_FAST_PATH_CEILING, OK, ResultCode.CASE_EXISTS]
    assert case(county, "t1")["status"] == "paid_first"
    decide = step(county, APPROVER, "decide", case_id="t1", outcome="approve", reasons=[], monthly_benefit_fen=0)
    assert county.run_one(decide) is ResultCode.MISSING_RECORD  # registered afterwards: authorisation and visit first
    county.run(step(county, CASEWORKER, "record_authorisation", case_id="t1", authorisation_commitment=digest("auth")),
               step(county, CASEWORKER, "record_visit", case_id="t1", visit_commitment=digest("visit"), staff=[county.key(CASEWORKER).hex, county.key(CASEWORKER_2).hex], by_county=False))
    assert county.run_one(step(county, APPROVER, "decide", case_id="t1", outcome="approve", reasons=[], monthly_benefit_fen=0)) is OK
    assert case(county, "t1")["status"] == "completed"
    no_fast_path = step(county, CASEWORKER, "pay_first", case_id="t2", household=digest("h1"), programme="dibao", amount_fen=100, reasons=["x"])
    assert county.run_one(no_fast_path) is ResultCode.WRONG_CASE_STATE


def test_regions_roles_and_bad_input(county: Network) -> None:
    apply = lambda signer, **changes: step(county, signer, "apply", **{"application_id": "a1", "household": digest("h1"), "programmes": ["dibao"], "channel": "in_person",  # noqa: E731
                                                                      "application_commitment": digest("application"), "related_to_staff": False, **changes})
    assert county.run(
        apply(OTHER_CASEWORKER),
        apply(APPROVER),
        apply(CASEWORKER, programmes=["lottery"]),
        apply(CASEWORKER, channel="proxy"),
        apply(CASEWORKER, household=digest("nobody")),
        apply(CASEWORKER, programmes=["dibao", "dibao"]),
        apply(CASEWORKER, related_to_staff="no"),
    ) == [ResultCode.NOT_AUTHORISED, ResultCode.NOT_AUTHORISED, ResultCode.UNKNOWN_PROGRAMME, ResultCode.MISSING_RECORD,
          ResultCode.HOUSEHOLD_NOT_FOUND, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]
    assert county.run_one(apply(CASEWORKER, channel="proxy", entrustment_commitment=digest("entrustment"), programmes=["dibao", "medical"])) is OK
    assert case(county, "a1.dibao")["channel"] == "proxy" and case(county, "a1.medical")["status"] == "applied"
    county.run(step(county, CASEWORKER, "record_authorisation", case_id="a1.dibao", authorisation_commitment=digest("authorisation")),
               step(county, CASEWORKER, "record_visit", case_id="a1.dibao", visit_commitment=digest("v"), staff=[county.key(CASEWORKER).hex, county.key(CASEWORKER_2).hex], by_county=False))
    wrong_standard, _ = means_test(county, "a1.dibao", facts(100_000), standard_fen=117_000)
    wrong_size, _ = means_test(county, "a1.dibao", facts(100_000, members=3))
    too_much, _ = means_test(county, "a1.dibao", facts(100_000), monthly_benefit_fen=2 * 139_500 + 1)
    unknown_pack, _ = means_test(county, "a1.dibao", facts(100_000), pack_version="cn-mainland-1999.1")
    other_region, _ = means_test(county, "a1.dibao", facts(100_000), signer=OTHER_CASEWORKER)
    assert county.run(wrong_standard, wrong_size, too_much, unknown_pack, other_region) == [
        ResultCode.AMOUNT_MISMATCH, ResultCode.AMOUNT_MISMATCH, ResultCode.AMOUNT_MISMATCH, ResultCode.POLICY_PACK_NOT_FOUND, ResultCode.NOT_AUTHORISED]
    answer = {"record_id": "r1", "query_id": "q1", "digest": digest("answer")}
    bad_timings = [means_test(county, "a1.dibao", facts(100_000), source="data_sharing", answers=[item])[0]
                   for item in ({**answer, "response_ms": -1}, {**answer, "response_ms": "12"}, {**answer, "response_ms": 86_400_001}, {**answer, "seconds": 1})]
    assert county.run(*bad_timings) == [ResultCode.INVALID_ARGUMENTS] * 4
    unrecorded, _ = means_test(county, "a1.dibao", facts(100_000), source="data_sharing", answers=[{**answer, "response_ms": 12}])
    assert county.run_one(unrecorded) is ResultCode.ANSWER_NOT_RECORDED  # a well-formed timing does not excuse an answer the ledger lacks


def test_overdue_steps_follow_working_days(county: Network) -> None:
    assert county.run_one(step(county, CASEWORKER, "apply", application_id="a1", household=digest("h1"), programmes=["dibao"], channel="in_person",
                               application_commitment=digest("application"), related_to_staff=False)) is OK
    opened = case(county, "a1.dibao")
    deadline = opened["deadlines"]["investigation_start"]
    # Opened on Thursday 2026-01-01 (a holiday in the pack or not, three working days end in the next week).
    assert deadline - opened["opened_ms"] >= 3 * DAY_MS
    assert get_overdue_steps(opened, deadline) == []
    assert get_overdue_steps(opened, deadline + 1) == ["investigation_start"]
    assert get_overdue_steps(opened, opened["deadlines"]["whole_process"] + 1) == ["investigation_start", "whole_process"]


def test_the_pack_is_published_once_by_a_policy_admin(county: Network) -> None:
    again = county.sign(POLICY_ADMIN, "publish_pack", {"document": PACK_DOCUMENT}, contract="policy")
    by_caseworker = county.sign(CASEWORKER, "publish_pack", {"document": {**PACK_DOCUMENT, "version": "x-1"}}, contract="policy")
    broken = county.sign(POLICY_ADMIN, "publish_pack", {"document": {**PACK_DOCUMENT, "version": "x-2", "programmes": []}}, contract="policy")
    assert county.run(again, by_caseworker, broken) == [ResultCode.POLICY_PACK_EXISTS, ResultCode.NOT_AUTHORISED, ResultCode.INVALID_POLICY_PACK]


def test_review_is_due_after_twelve_months_or_six_when_income_is_unstable(county: Network) -> None:
    enrol(county)
    enrolled = case(county, "a1.dibao")
    assert enrolled["enrolment"]["next_review_ms"] - enrolled["decision"]["time_ms"] == 12 * 30 * DAY_MS
    review, _ = means_test(county, "a1.dibao", facts(150_000), income_unstable=True)
    assert county.run_one(review) is OK
    change = step(county, APPROVER, "change_benefit", case_id="a1.dibao", change="decrease", monthly_benefit_fen=159_000, reasons=["income_rose"])
    assert county.run_one(change) is OK
    changed = case(county, "a1.dibao")
    assert changed["enrolment"]["next_review_ms"] - changed["changes"][-1]["time_ms"] == 6 * 30 * DAY_MS
    assert get_overdue_steps(changed, changed["enrolment"]["next_review_ms"] + 1) == ["review"]
    bad_flag, _ = means_test(county, "a1.dibao", facts(150_000), income_unstable="sometimes")
    assert county.run_one(bad_flag) is ResultCode.INVALID_ARGUMENTS


def test_an_opened_review_is_due_now_holds_payments_and_a_review_that_keeps_the_amount_concludes_it(county: Network) -> None:
    enrol(county)
    enrolled = case(county, "a1.dibao")
    early, _ = means_test(county, "a1.dibao", facts(100_000))  # a periodic means test recorded before the household changed
    assert county.run_one(early) is OK and case(county, "a1.dibao")["review_assessment"] is not None
    open_review = lambda signer, **args: step(county, signer, "open_review", case_id="a1.dibao", **args)  # noqa: E731
    assert county.run(open_review(CASEWORKER, reason="Death", hold_payments=True), open_review(CASEWORKER, reason="birth_registered", hold_payments="yes"),
                      open_review(OTHER_CASEWORKER, reason="birth_registered", hold_payments=False),
                      open_review(CASEWORKER, reason="birth_registered")) == [ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
                                                                             ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS]
    assert county.run_one(open_review(CASEWORKER, reason="death_registered", hold_payments=True)) is OK
    assert county.run_one(open_review(APPROVER, reason="birth_registered", hold_payments=False)) is OK  # the reasons add up; the hold stays
    held = case(county, "a1.dibao")
    assert is_payment_held(held) and [item["reason"] for item in held["open_review"]["reasons"]] == ["death_registered", "birth_registered"]
    assert held["deadlines"]["review"] <= held["open_review"]["opened_ms"] < enrolled["enrolment"]["next_review_ms"]
    assert get_overdue_steps(held, held["open_review"]["opened_ms"] + 1) == ["review"]
    # The review assessed the amount already paid: "keep" concludes it and releases the hold.
    stale = step(county, APPROVER, "change_benefit", case_id="a1.dibao", change="keep", monthly_benefit_fen=enrolled["enrolment"]["monthly_benefit_fen"],
                 reasons=["household_changed"])
    assert county.run_one(stale) is ResultCode.MISSING_RECORD  # the earlier assessment cannot conclude the review the change opened
    review, result = means_test(county, "a1.dibao", facts(100_000))  # the income it was enrolled with
    assert county.run_one(review) is OK and result.monthly_benefit_fen == enrolled["enrolment"]["monthly_benefit_fen"]
    change = lambda kind: step(county, APPROVER, "change_benefit", case_id="a1.dibao", change=kind, monthly_benefit_fen=result.monthly_benefit_fen,  # noqa: E731
                               reasons=["household_changed"])
    assert county.run(change("increase"), change("decrease")) == [ResultCode.INVALID_ARGUMENTS] * 2
    assert county.run_one(change("keep")) is OK
    concluded = case(county, "a1.dibao")
    assert concluded["open_review"] is None and not is_payment_held(concluded) and concluded["changes"][-1]["change"] == "keep"
    assert concluded["deadlines"]["review"] == concluded["enrolment"]["next_review_ms"] > held["open_review"]["opened_ms"]
    assert county.run_one(open_review(CASEWORKER, reason="moved", hold_payments=False)) is OK
    assert not is_payment_held(case(county, "a1.dibao"))
    assert county.run_one(step(county, APPROVER, "exit_case", case_id="a1.dibao", reasons=["moved_away"])) is OK
    assert case(county, "a1.dibao")["open_review"] is None
    assert county.run_one(open_review(CASEWORKER, reason="death_registered", hold_payments=True)) is ResultCode.WRONG_CASE_STATE


def test_a_case_that_never_had_a_review_opened_is_stored_as_before(county: Network) -> None:
    enrol(county)
    assert county.run_one(step(county, APPROVER, "exit_case", case_id="a1.dibao", reasons=["moved_away"])) is OK
    assert "open_review" not in case(county, "a1.dibao")

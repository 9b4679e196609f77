"""Problem reports through the pure core: routing (never to the accused), the state machine,
escalation by block time exactly when due and once at every level, outreach tasks, bad input."""

import hashlib

import pytest

from helpers import CHAIN_ID, ORDERER_SEED, Network, build_organisation_spec
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.contracts.reports import get_open_key, get_report_key, get_stats_key
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.working_days import add_working_days
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

OK = ResultCode.OK
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
TOWNSHIP, OTHER_TOWNSHIP, COUNTY, CITY, PROVINCE, NATION = "110105001", "110108001", "110105", "110100", "110000", "000000"
CIVIL, FINANCE, DISCIPLINE = 1, 2, 3
POLICY, HOTLINE, CASEWORKER, OTHER_CASEWORKER, ANALYST = 5, 10, 11, 12, 13
COUNTY_HANDLER, CITY_HANDLER, PROVINCE_HANDLER, NATIONAL_HANDLER, FINANCE_HANDLER, DISCIPLINE_HANDLER = 20, 21, 22, 23, 30, 31
PACK_DOCUMENT, PACK = read_policy_pack(get_default_policy_path())
RULES = {"routes": {"person_in_difficulty": "civil-affairs", "service_failure": "civil-affairs", "fund_problem": "finance", "misconduct": "civil-affairs"},
         "oversight": "discipline", "deadlines": {"acknowledge": {"normal": 3, "urgent": 1, "critical": 1}, "resolve": {"normal": 15, "urgent": 5, "critical": 2}},
         "visit_days": {"normal": 10, "urgent": 3, "critical": 1}}


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def reports(network: Network, signer: int, action: str, **args):
    return network.sign(signer, action, args, contract="reports")


def file(network: Network, report_id: str, signer: int = HOTLINE, *, category: str = "service_failure", urgency: str = "normal", region: str = TOWNSHIP, **extra):
    args = {"report_id": report_id, "region": region, "category": category, "urgency": urgency, "description_commitment": digest(report_id), **extra}
    if signer == HOTLINE and "channel" not in extra:
        args["channel"] = "hotline"
    return reports(network, signer, "file", **args)


def register_model(network: Network, model_id: str, signer: int = ANALYST, **changes):
    args = {"model_id": model_id, "kind": "discovery_model", "version": "2026.11.1", "training_digest": digest("training"),
            "parameters_digest": digest("parameters"), "evaluation": {"precision_bp": 8_100, "recall_bp": 7_300, "held_out_households": 20_000}, **changes}
    return network.sign(signer, "register_model", args, contract="models")


def test_models_are_put_in_service_and_every_alert_names_one(network: Network) -> None:
    """Which version raised which alert: a model is registered with its digests and evaluation,
    alerts must name one in service, and a retired model raises no more."""
    assert network.run(
        register_model(network, "rules-1", kind="anomaly_rules"),
        register_model(network, "rules-1"),
        register_model(network, "by-caseworker", signer=CASEWORKER),
        register_model(network, "bad-1", evaluation={"precision_bp": "8100"}),
        register_model(network, "bad-2", evaluation={}),
        register_model(network, "bad-3", evaluation={"Precision": 1}),
        register_model(network, "bad-4", kind="oracle"),
        register_model(network, "bad-5", training_digest="not-a-digest"),
        register_model(network, "bad-6", version="../1"),
        register_model(network, "bad-7", version="2026.11.1\n"),  # a trailing newline is not part of any form
        register_model(network, "bad-8\n"),
        register_model(network, "bad-9", evaluation={"auc_bp\n": 1}),
    ) == [OK, ResultCode.MODEL_EXISTS, ResultCode.NOT_AUTHORISED] + [ResultCode.INVALID_ARGUMENTS] * 9
    model = network.state.get("models/model/rules-1")
    assert model["status"] == "in_service" and model["evaluation"] == {"held_out_households": 20_000, "precision_bp": 8_100, "recall_bp": 7_300}
    assert network.run(
        file(network, "a1", ANALYST, category="fund_problem", channel="analytics", model_id="rules-1"),
        file(network, "a2", ANALYST, category="fund_problem", channel="analytics"),
        file(network, "a3", ANALYST, category="fund_problem", channel="analytics", model_id="nobody"),
        file(network, "a4", CASEWORKER, category="fund_problem", model_id="rules-1"),
    ) == [OK, ResultCode.INVALID_ARGUMENTS, ResultCode.MODEL_NOT_FOUND, ResultCode.INVALID_ARGUMENTS]
    assert report(network, "a1")["model_id"] == "rules-1" and report(network, "a1")["holder"]["organisation"] == "finance"
    retire = lambda signer, **args: network.sign(signer, "retire_model", {"model_id": "rules-1", **args}, contract="models")  # noqa: E731
    assert network.run(retire(ANALYST), retire(CASEWORKER, reason="x"), retire(ANALYST, reason="replaced by rules-2"), retire(ANALYST, reason="again")) == [
        ResultCode.INVALID_ARGUMENTS, ResultCode.NOT_AUTHORISED, OK, ResultCode.MODEL_RETIRED]
    assert network.run_one(file(network, "a5", ANALYST, category="fund_problem", channel="analytics", model_id="rules-1")) is ResultCode.MODEL_RETIRED
    assert report(network, "a1")["model_id"] == "rules-1"  # alerts already filed keep naming the version that raised them


def report(network: Network, report_id: str) -> dict:
    return network.state.get(get_report_key(report_id))


@pytest.fixture
def network() -> Network:
    """Civil affairs (its organisation spans the country, so its national desk can act), finance and
    the discipline inspectors; handlers at county, city, province and national level."""
    suite = get_suite("ed25519-sha256")
    genesis = parse_genesis({
        "chain_id": CHAIN_ID, "orderers": [suite.compute_public_key(ORDERER_SEED).hex()], "suite": suite.name, "time_ms": START_MS,
        "organisations": [build_organisation_spec(suite, "civil-affairs", CIVIL, region=NATION), build_organisation_spec(suite, "finance", FINANCE, region=PROVINCE),
                          build_organisation_spec(suite, "discipline", DISCIPLINE, region=PROVINCE)],
    })
    writes, state_digest = compute_genesis_state(genesis)
    network = Network(genesis, MemoryState(writes), state_digest, time_ms=START_MS, digests=[state_digest])
    staff = [(CIVIL, POLICY, ["policy_admin"], PROVINCE), (CIVIL, HOTLINE, ["hotline_operator"], PROVINCE), (CIVIL, CASEWORKER, ["caseworker"], TOWNSHIP),
             (CIVIL, OTHER_CASEWORKER, ["caseworker"], OTHER_TOWNSHIP), (CIVIL, ANALYST, ["analyst"], PROVINCE),
             (CIVIL, COUNTY_HANDLER, ["report_handler"], COUNTY), (CIVIL, CITY_HANDLER, ["report_handler"], CITY),
             (CIVIL, PROVINCE_HANDLER, ["report_handler"], PROVINCE), (CIVIL, NATIONAL_HANDLER, ["report_handler"], NATION),
             (FINANCE, FINANCE_HANDLER, ["report_handler"], COUNTY), (DISCIPLINE, DISCIPLINE_HANDLER, ["report_handler"], COUNTY)]
    assert network.run(*[network.sign(admin, "admit_member", {"public_key": network.key(seed).hex, "roles": roles, "region": region})
                         for admin, seed, roles, region in staff]) == [OK] * len(staff)
    assert network.run_one(file(network, "too-early")) is ResultCode.NO_REPORT_ROUTE
    assert network.run_one(network.sign(POLICY, "publish_pack", {"document": PACK_DOCUMENT}, contract="policy")) is OK
    assert network.run_one(reports(network, POLICY, "publish_rules", **RULES)) is OK
    return network


def test_a_report_is_routed_acknowledged_worked_on_and_resolved(network: Network) -> None:
    filed_at = network.next_time_ms()
    assert network.run_one(file(network, "r1")) is OK
    filed = report(network, "r1")
    assert filed["holder"] == {"organisation": "civil-affairs", "region": COUNTY} and filed["status"] == "filed" and filed["caller_commitment"] is None
    assert filed["deadline"] == {"stage": "acknowledge", "due_ms": add_working_days(PACK.calendar, filed_at, 3)} and filed["outreach"] is None
    assert network.state.get(get_open_key(COUNTY, "r1"))["status"] == "filed"
    assert network.run(reports(network, CITY_HANDLER, "acknowledge", report_id="r1"), reports(network, FINANCE_HANDLER, "acknowledge", report_id="r1"),
                       reports(network, COUNTY_HANDLER, "start", report_id="r1")) == [ResultCode.NOT_AUTHORISED] * 2 + [ResultCode.WRONG_REPORT_STATE]
    acknowledged_at = network.next_time_ms()
    assert network.run_one(reports(network, COUNTY_HANDLER, "acknowledge", report_id="r1")) is OK
    assert report(network, "r1")["deadline"] == {"stage": "resolve", "due_ms": add_working_days(PACK.calendar, acknowledged_at, 15)}
    assert network.run_one(reports(network, COUNTY_HANDLER, "start", report_id="r1")) is OK
    resolved_at = network.next_time_ms()
    assert network.run_one(reports(network, COUNTY_HANDLER, "resolve", report_id="r1", outcome="repaired", outcome_commitment=digest("fix"))) is OK
    resolved = report(network, "r1")
    assert resolved["status"] == "resolved" and resolved["deadline"] is None and resolved["outcome"] == {"code": "repaired", "commitment": digest("fix")}
    assert [event["event"] for event in resolved["history"]] == ["filed", "acknowledged", "in_progress", "resolved"]
    assert network.state.get(get_open_key(COUNTY, "r1")) is None
    for region in (COUNTY, CITY, PROVINCE, NATION):
        counters = network.state.get(get_stats_key(region, "service_failure"))
        assert counters["filed"] == counters["acknowledged"] == counters["resolved"] == 1 and counters["open"] == 0
        assert counters["acknowledge_ms_total"] == acknowledged_at - filed_at and counters["resolve_ms_total"] == resolved_at - filed_at
    assert network.state.get(get_stats_key(TOWNSHIP, "service_failure")) is None
    # A resolved report never escalates, however much time passes.
    assert network.run(time_ms=START_MS + 400 * 86_400_000) == [] and report(network, "r1") == resolved
    assert network.run_one(reports(network, COUNTY_HANDLER, "resolve", report_id="r1", outcome="again", outcome_commitment=digest("x"))) is ResultCode.WRONG_REPORT_STATE


def test_an_unanswered_report_escalates_exactly_when_due_once_at_every_level(network: Network) -> None:
    filed_at = network.next_time_ms()
    assert network.run_one(file(network, "r2", urgency="urgent")) is OK
    due = add_working_days(PACK.calendar, filed_at, 1)
    climbed = []
    for level, holder_region in ((1, CITY), (2, PROVINCE), (3, NATION)):
        network.run(time_ms=due - 1)
        assert report(network, "r2")["escalations"] == level - 1, "escalated before its deadline"
        network.run(time_ms=due)
        escalated = report(network, "r2")
        assert escalated["escalations"] == level and escalated["holder"]["region"] == holder_region
        assert escalated["history"][-1] == {"event": "escalated", "from": [COUNTY, CITY, PROVINCE][level - 1], "to": holder_region, "stage": "acknowledge",
                                            "due_ms": due, "time_ms": due}
        assert network.state.get(get_open_key(holder_region, "r2")) is not None
        network.run(time_ms=due + 1000)
        assert report(network, "r2")["escalations"] == level, "escalated twice for one deadline"
        climbed.append(due)
        due = add_working_days(PACK.calendar, due, 1)
        assert escalated["deadline"] == {"stage": "acknowledge", "due_ms": due}
    network.run(time_ms=due)
    top = report(network, "r2")
    assert top["history"][-1]["event"] == "missed_at_top" and top["deadline"] is None and top["holder"]["region"] == NATION
    network.run(time_ms=due + 30 * 86_400_000)
    assert report(network, "r2") == top
    assert network.state.get(get_stats_key(NATION, "service_failure"))["escalations"] == 3
    assert network.state.get(get_stats_key(NATION, "service_failure"))["missed_at_top"] == 1
    # The county's desk no longer holds it; the national desk does, and the city sees nothing of its own.
    assert network.run_one(reports(network, COUNTY_HANDLER, "acknowledge", report_id="r2")) is ResultCode.NOT_AUTHORISED
    assert network.run_one(reports(network, NATIONAL_HANDLER, "acknowledge", report_id="r2")) is OK
    assert [event.get("to") for event in report(network, "r2")["history"] if event["event"] == "escalated"] == [CITY, PROVINCE, NATION]


def test_after_a_long_silence_one_block_climbs_once_per_missed_deadline(network: Network) -> None:
    filed_at = network.next_time_ms()
    assert network.run(file(network, "r3"), file(network, "r4")) == [OK, OK]
    assert network.run_one(reports(network, COUNTY_HANDLER, "acknowledge", report_id="r4")) is OK
    network.run(time_ms=filed_at + 60 * 86_400_000)
    quiet = report(network, "r3")
    first_due = add_working_days(PACK.calendar, filed_at, 3)
    second_due = add_working_days(PACK.calendar, first_due, 3)
    assert [event["due_ms"] for event in quiet["history"] if event["event"] == "escalated"][:2] == [first_due, second_due]
    assert quiet["holder"]["region"] == NATION and quiet["history"][-1]["event"] == "missed_at_top"
    acknowledged = report(network, "r4")  # acknowledged in time: only its resolve deadline (15 working days) was missed since
    assert acknowledged["holder"]["region"] == PROVINCE and [event["stage"] for event in acknowledged["history"] if event["event"] == "escalated"] == ["resolve"] * 2


def test_misconduct_is_never_routed_to_the_department_accused(network: Network) -> None:
    assert network.run(file(network, "m1", category="misconduct", subject_organisation="civil-affairs"),
                       file(network, "m2", category="misconduct", subject_organisation="finance"),
                       file(network, "f1", category="fund_problem")) == [OK] * 3
    assert report(network, "m1")["holder"]["organisation"] == "discipline"
    assert report(network, "m2")["holder"]["organisation"] == "civil-affairs"
    assert report(network, "f1")["holder"]["organisation"] == "finance"
    assert network.run(reports(network, COUNTY_HANDLER, "acknowledge", report_id="m1"),
                       reports(network, DISCIPLINE_HANDLER, "refer", report_id="m1", organisation="civil-affairs", reason="wrong_desk"),
                       reports(network, COUNTY_HANDLER, "refer", report_id="m2", organisation="finance", reason="wrong_desk"),
                       reports(network, FINANCE_HANDLER, "refer", report_id="f1", organisation="civil-affairs", reason="not_a_fund_problem")) == \
        [ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, OK]
    referred = report(network, "f1")
    assert referred["holder"] == {"organisation": "civil-affairs", "region": COUNTY} and referred["status"] == "filed" and referred["history"][-1]["event"] == "referred"


def test_a_person_in_difficulty_becomes_an_outreach_task_for_the_township(network: Network) -> None:
    filed_at = network.next_time_ms()
    assert network.run_one(register_model(network, "discovery-1")) is OK
    assert network.run(file(network, "p1", CASEWORKER, category="person_in_difficulty", urgency="urgent"),
                       file(network, "p2", ANALYST, category="person_in_difficulty", channel="analytics", model_id="discovery-1")) == [OK, OK]
    task = report(network, "p1")["outreach"]
    assert task == {"case_id": None, "outcome": None, "visit_commitment": None, "visit_due_ms": add_working_days(PACK.calendar, filed_at, 3), "visited_ms": None}
    assert report(network, "p2")["channel"] == "analytics" and report(network, "p2")["filed_by"] == "civil-affairs"
    assert network.run_one(reports(network, COUNTY_HANDLER, "acknowledge", report_id="p1")) is OK
    visit = {"report_id": "p1", "visit_commitment": digest("visit")}
    assert network.run(reports(network, COUNTY_HANDLER, "resolve", report_id="p1", outcome="helped", outcome_commitment=digest("o")),
                       reports(network, OTHER_CASEWORKER, "record_outreach", outcome="not_needed", **visit),
                       reports(network, CASEWORKER, "record_outreach", outcome="application_opened", case_id="nope.dibao", **visit),
                       reports(network, CASEWORKER, "record_outreach", outcome="not_needed", case_id="a1.dibao", **visit),
                       reports(network, CASEWORKER, "record_outreach", outcome="maybe", **visit)) == \
        [ResultCode.WRONG_REPORT_STATE, ResultCode.NOT_AUTHORISED, ResultCode.CASE_NOT_FOUND, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]
    assert network.run_one(reports(network, CASEWORKER, "record_outreach", outcome="referred", **visit)) is OK
    assert network.run_one(reports(network, CASEWORKER, "record_outreach", outcome="not_needed", **visit)) is ResultCode.WRONG_REPORT_STATE
    assert network.run_one(reports(network, COUNTY_HANDLER, "resolve", report_id="p1", outcome="referred_to_charity", outcome_commitment=digest("o"))) is OK
    assert report(network, "p1")["outreach"]["outcome"] == "referred"


def test_bad_reports_and_rules_are_refused_with_their_codes(network: Network) -> None:
    assert network.run_one(file(network, "ok")) is OK
    bad_rules = [{**RULES, "routes": {"misconduct": "civil-affairs"}}, {**RULES, "oversight": "nobody"}, {**RULES, "oversight": "civil-affairs"},
                 {**RULES, "visit_days": {"normal": 0, "urgent": 1, "critical": 1}}, {**RULES, "deadlines": {"acknowledge": RULES["deadlines"]["acknowledge"]}}]
    assert network.run(*[reports(network, POLICY, "publish_rules", **rules) for rules in bad_rules]) == [ResultCode.INVALID_ARGUMENTS] * len(bad_rules)
    assert network.run(reports(network, HOTLINE, "publish_rules", **RULES),
                       file(network, "ok"),
                       file(network, "x1", category="gossip"),
                       file(network, "x2", urgency="whenever"),
                       file(network, "x3", region="110005"),
                       file(network, "x4", region="not a region"),
                       file(network, "x5", CASEWORKER, channel="hotline"),
                       file(network, "x6", subject_organisation="finance"),
                       file(network, "x7", category="misconduct"),
                       file(network, "x8", category="misconduct", subject_organisation="nobody"),
                       file(network, "x9", description_commitment="not-a-digest"),
                       file(network, "Bad Id"),
                       reports(network, COUNTY_HANDLER, "acknowledge", report_id="missing")) == [
        ResultCode.NOT_AUTHORISED, ResultCode.REPORT_EXISTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
        ResultCode.INVALID_ARGUMENTS, ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
        ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.REPORT_NOT_FOUND]
    assert all(report(network, name) is None for name in ("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"))

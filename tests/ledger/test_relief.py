"""Disaster relief through the pure core: an event declared by emergency management, townships
paying first from their reserve within the ceiling and registering recipients afterwards, staged
payments under one approval, and the event closed with everything reconciled."""

import hashlib

import pytest

from helpers import CHAIN_ID, ORDERER_SEED, Network, build_organisation_spec
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.contracts.money_keys import get_account_key, get_transfer_key
from reliefledger.ledger.contracts.relief import get_event_key
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import get_suite
from reliefledger.policy_files import get_default_policy_path, read_policy_pack
from reliefledger.store.money_audit import find_money_fault

OK = ResultCode.OK
START_MS = 1_767_225_600_000
DAY_MS = 86_400_000
TOWNSHIP, OTHER_TOWNSHIP, COUNTY = "110105001", "110108001", "110105"
CIVIL, EMERGENCY, BANK = 1, 2, 3
POLICY, CASEWORKER, OTHER_CASEWORKER, APPROVER, FINANCE, TOWNSHIP_FINANCE, EMERGENCY_APPROVER, BANK_FINANCE = 5, 10, 11, 20, 30, 31, 40, 50
PACK_DOCUMENT, _ = read_policy_pack(get_default_policy_path())


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def relief(network: Network, signer: int, action: str, **args):
    return network.sign(signer, action, args, contract="relief")


def money(network: Network, signer: int, action: str, **args):
    return network.sign(signer, action, args, contract="money")


def balance(network: Network, account_id: str) -> int:
    account = network.state.get(get_account_key(account_id))
    return account["credits_posted"] - account["debits_posted"]


def event(network: Network) -> dict:
    return network.state.get(get_event_key("flood-2026-07"))


@pytest.fixture
def network() -> Network:
    suite = get_suite("ed25519-sha256")
    genesis = parse_genesis({
        "chain_id": CHAIN_ID, "orderers": [suite.compute_public_key(ORDERER_SEED).hex()], "suite": suite.name, "time_ms": START_MS,
        "organisations": [build_organisation_spec(suite, "civil-affairs", CIVIL, region="110000"),
                          build_organisation_spec(suite, "emergency-management", EMERGENCY, region="110000"),
                          build_organisation_spec(suite, "operator-bank", BANK, region="110000")],
    })
    writes, state_digest = compute_genesis_state(genesis)
    network = Network(genesis, MemoryState(writes), state_digest, time_ms=START_MS, digests=[state_digest])
    staff = [(CIVIL, POLICY, ["policy_admin"], "110000"), (CIVIL, CASEWORKER, ["caseworker"], TOWNSHIP), (CIVIL, OTHER_CASEWORKER, ["caseworker"], OTHER_TOWNSHIP),
             (CIVIL, APPROVER, ["approver"], COUNTY), (CIVIL, FINANCE, ["finance_officer"], "110000"), (CIVIL, TOWNSHIP_FINANCE, ["finance_officer"], TOWNSHIP),
             (EMERGENCY, EMERGENCY_APPROVER, ["approver"], "110000"), (BANK, BANK_FINANCE, ["finance_officer"], "110000")]
    assert network.run(*[network.sign(admin, "admit_member", {"public_key": network.key(seed).hex, "roles": roles, "region": region})
                         for admin, seed, roles, region in staff]) == [OK] * len(staff)
    assert network.run_one(network.sign(POLICY, "publish_pack", {"document": PACK_DOCUMENT}, contract="policy")) is OK
    households = [network.sign(CASEWORKER, "register_household", {"household": digest(name), "region": TOWNSHIP, "head": digest(name + "-head"),
                                                                  "members": [{"person": digest(name + "-head"), "record_commitment": digest(name + "-r")}],
                                                                  "record_commitment": digest(name)}, contract="registry") for name in ("h1", "h2")]
    assert network.run(*households) == [OK, OK]
    limited = ["debits_must_not_exceed_credits"]
    assert network.run(
        money(network, FINANCE, "create_account", account_id="treasury", kind="treasury", currency="CNY"),
        money(network, FINANCE, "create_account", account_id="relief-budget", kind="programme_budget", currency="CNY", flags=limited),
        money(network, TOWNSHIP_FINANCE, "create_account", account_id="reserve", kind="township_reserve_fund", currency="CNY", flags=limited, region=TOWNSHIP),
        money(network, BANK_FINANCE, "create_account", account_id="b1", kind="beneficiary_bank_account", currency="CNY", holder=digest("h1")),
        money(network, BANK_FINANCE, "create_account", account_id="b2", kind="beneficiary_bank_account", currency="CNY", holder=digest("h2")),
        money(network, BANK_FINANCE, "create_account", account_id="b3", kind="beneficiary_bank_account", currency="CNY"),
    ) == [OK] * 6
    assert network.run(money(network, FINANCE, "create_transfers", transfers=[
        {"transfer_id": "fund-budget", "code": 1, "debit_account_id": "treasury", "credit_account_id": "relief-budget", "amount": 1_000_000},
        {"transfer_id": "fund-reserve", "code": 1, "debit_account_id": "treasury", "credit_account_id": "reserve", "amount": 50_000}])) == [OK]
    return network


def declare(network: Network, signer: int = EMERGENCY_APPROVER, **changes):
    args = {"event_id": "flood-2026-07", "region": COUNTY, "hazard": "flood", "starts_ms": START_MS, "ends_ms": START_MS + 30 * DAY_MS, "ceiling_fen": 20_000, **changes}
    return relief(network, signer, "declare_event", **args)


def pay_first(network: Network, payment_id: str, account: str, amount: int, signer: int = CASEWORKER, **changes):
    args = {"event_id": "flood-2026-07", "payment_id": payment_id, "reserve_account_id": "reserve", "recipient_account_id": account, "amount_fen": amount,
            "recipient_commitment": digest(payment_id), **changes}
    return relief(network, signer, "pay_first", **args)


def test_pay_first_register_afterwards_stage_and_close_reconciled(network: Network) -> None:
    assert network.run(declare(network, signer=APPROVER), declare(network, ceiling_fen=0), declare(network, region="110005")) == \
        [ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]
    assert network.run_one(declare(network)) is OK and network.run_one(declare(network)) is ResultCode.EVENT_EXISTS
    # Pay first, within the ceiling per recipient account, from the township's reserve.
    assert network.run(pay_first(network, "p1", "b1", 15_000), pay_first(network, "p2", "b1", 6_000), pay_first(network, "p3", "b1", 5_000),
                       pay_first(network, "p4", "b3", 10_000), pay_first(network, "p1", "b2", 1_000), pay_first(network, "p5", "b2", 1_000, signer=OTHER_CASEWORKER),
                       pay_first(network, "p6", "relief-budget", 1_000), pay_first(network, "p7", "b2", 1_000, reserve_account_id="relief-budget"),
                       pay_first(network, "p8", "b2", 0)) == \
        [OK, ResultCode.ABOVE_FAST_PATH_CEILING, OK, OK, ResultCode.TRANSFER_EXISTS, ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS,
         ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]
    assert balance(network, "b1") == 20_000 and balance(network, "b3") == 10_000 and balance(network, "reserve") == 20_000
    assert network.run_one(pay_first(network, "p9", "b2", 20_001)) is ResultCode.ABOVE_FAST_PATH_CEILING
    assert network.run_one(pay_first(network, "p10", "b2", 15_000)) is OK
    assert network.run_one(pay_first(network, "p11", "b3", 6_000)) is ResultCode.EXCEEDS_CREDITS  # within the ceiling, beyond what the reserve holds
    transfer = network.state.get(get_transfer_key("relief.flood-2026-07.first.p1"))
    assert transfer["code"] == 500 and transfer["reference"] == "flood-2026-07" and transfer["debit_account_id"] == "reserve"
    assert event(network)["figures"]["paid_first"] == 4 and event(network)["figures"]["unregistered_fen"] == 45_000
    # Register the recipients afterwards.
    assert network.run(relief(network, CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="p1", household=digest("h1")),
                       relief(network, CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="p1", household=digest("h1")),
                       relief(network, CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="nope", household=digest("h1")),
                       relief(network, CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="p3", household=digest("nobody"))) == \
        [OK, ResultCode.WRONG_EVENT_STATE, ResultCode.EVENT_NOT_FOUND, ResultCode.HOUSEHOLD_NOT_FOUND]
    # Staged payments under one approval, paid in order, never beyond it.
    approve = {"event_id": "flood-2026-07", "household": digest("h2"), "recipient_account_id": "b2", "budget_account_id": "relief-budget"}
    assert network.run(relief(network, APPROVER, "approve_stages", approval_id="a1", stages=[100_000, 50_000, 50_000], **approve),
                       relief(network, CASEWORKER, "approve_stages", approval_id="a2", stages=[1], **approve),
                       relief(network, APPROVER, "approve_stages", approval_id="a3", stages=[], **approve),
                       relief(network, APPROVER, "approve_stages", approval_id="a4", stages=[30_000], **approve)) == \
        [OK, ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS, OK]
    stage = {"event_id": "flood-2026-07", "approval_id": "a1"}
    assert network.run(relief(network, FINANCE, "pay_stage", stage=2, **stage), relief(network, APPROVER, "pay_stage", stage=1, **stage)) == \
        [ResultCode.WRONG_EVENT_STATE, ResultCode.NOT_AUTHORISED]
    assert network.run(relief(network, FINANCE, "pay_stage", stage=1, **stage)) == [OK]
    assert network.run(relief(network, FINANCE, "pay_stage", stage=2, **stage)) == [OK]
    assert balance(network, "b2") == 15_000 + 150_000
    # Closing must name every approval with stages still to pay; then nothing more is paid.
    close = {"event_id": "flood-2026-07"}
    assert network.run(relief(network, FINANCE, "close_event", cancelled_approvals=["a1", "a4"], **close),
                       relief(network, EMERGENCY_APPROVER, "close_event", cancelled_approvals=["a1"], **close),
                       relief(network, EMERGENCY_APPROVER, "close_event", cancelled_approvals=["a1", "zz"], **close)) == \
        [ResultCode.NOT_AUTHORISED, ResultCode.WRONG_EVENT_STATE, ResultCode.WRONG_EVENT_STATE]
    assert network.run_one(relief(network, EMERGENCY_APPROVER, "close_event", cancelled_approvals=["a1", "a4"], **close)) is OK
    closed = event(network)
    assert closed["status"] == "closed" and closed["figures"] == {"paid_first": 4, "paid_first_fen": 45_000, "unregistered": 3, "unregistered_fen": 30_000,
                                                                  "approvals": 2, "approved_fen": 230_000, "staged_fen": 150_000, "cancelled_fen": 80_000}
    assert network.run(relief(network, FINANCE, "pay_stage", stage=3, **stage), pay_first(network, "late", "b2", 1_000),
                       relief(network, CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="p3", household=digest("h1"))) == \
        [ResultCode.WRONG_EVENT_STATE, ResultCode.WRONG_EVENT_STATE, OK]  # paperwork may still follow after the close
    assert event(network)["figures"]["unregistered"] == 2
    assert find_money_fault(network.state.iterate_state_prefix("money/")) is None


def test_payments_outside_the_event_period_are_refused(network: Network) -> None:
    assert network.run_one(declare(network, starts_ms=START_MS + 10 * DAY_MS)) is OK
    assert network.run_one(pay_first(network, "early", "b1", 1_000)) is ResultCode.WRONG_EVENT_STATE
    assert network.run_one(pay_first(network, "unknown", "b1", 1_000, event_id="nothing")) is ResultCode.EVENT_NOT_FOUND


def test_relief_refuses_overflowing_totals_dotted_ids_strangers_and_squatted_transfer_ids(network: Network) -> None:
    assert network.run_one(declare(network)) is OK
    approve = {"event_id": "flood-2026-07", "household": digest("h2"), "recipient_account_id": "b2", "budget_account_id": "relief-budget"}
    assert network.run(relief(network, APPROVER, "approve_stages", approval_id="huge", stages=[2**63 - 1, 2**63 - 1], **approve),
                       relief(network, APPROVER, "approve_stages", approval_id="a.1", stages=[100], **approve),
                       pay_first(network, "p.1", "b1", 1_000),
                       declare(network, event_id="storm.2")) == [ResultCode.OVERFLOW, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
                                                                 ResultCode.INVALID_ARGUMENTS]
    squat = money(network, FINANCE, "create_transfers", transfers=[{"transfer_id": "relief.flood-2026-07.first.p9", "code": 1, "debit_account_id": "treasury",
                                                                    "credit_account_id": "relief-budget", "amount": 1}])
    assert network.run_one(squat) is ResultCode.INVALID_ARGUMENTS
    assert network.run_one(pay_first(network, "p9", "b1", 1_000)) is OK
    # A household outside the event's region cannot be registered as the recipient.
    outside = network.sign(OTHER_CASEWORKER, "register_household", {"household": digest("far"), "region": OTHER_TOWNSHIP, "head": digest("far-head"),
                                                                    "members": [{"person": digest("far-head"), "record_commitment": digest("far-r")}],
                                                                    "record_commitment": digest("far")}, contract="registry")
    assert network.run_one(outside) is OK
    assert network.run_one(relief(network, OTHER_CASEWORKER, "register_recipient", event_id="flood-2026-07", payment_id="p9", household=digest("far"))) \
        is ResultCode.INVALID_ARGUMENTS
    assert event(network)["figures"]["approved_fen"] == 0 and event(network)["figures"]["unregistered"] == 1

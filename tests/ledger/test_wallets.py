"""Digital-currency wallets: classes published by the central bank, limits checked before money moves."""

from typing import Any

import pytest

from helpers import Network, build_organisation_spec
from reliefledger.ledger.contracts.money import get_account_key
from reliefledger.ledger.contracts.wallets import WALLET_CLASSES_KEY, get_room_under_cap
from reliefledger.ledger.results import ResultCode
from reliefledger.wallet_files import read_wallet_classes

OK = ResultCode.OK
CENTRAL_BANK_ADMIN, BANK_FINANCE, CIVIL_FINANCE = 40, 41, 42
DAY_MS = 86_400_000


def money(network: Network, signer: int, action: str, **args: Any):
    return network.sign(signer, action, args, contract="money")


def pay(network: Network, transfer_id: str, debit: str, credit: str, amount: int, signer: int = BANK_FINANCE):
    return money(network, signer, "create_transfers", transfers=[{"transfer_id": transfer_id, "code": 1, "debit_account_id": debit,
                                                                   "credit_account_id": credit, "amount": amount}])


@pytest.fixture
def network() -> Network:
    """The central bank joins by vote; it issues to an operator bank (hrss plays the bank), which opens wallets."""
    network = Network.create("ed25519-sha256")
    change = {"founding": False, "kind": "admit_organisation", "organisation": build_organisation_spec(network.suite, "central-bank", CENTRAL_BANK_ADMIN, kind="central_bank")}
    assert network.run(network.sign(1, "propose", {"change": change, "proposal_id": "cb"}), network.sign(2, "vote", {"proposal_id": "cb"})) == [OK, OK]
    assert network.organisation("central-bank")["status"] == "active"
    assert network.run(network.sign(2, "admit_member", {"public_key": network.key(BANK_FINANCE).hex, "roles": ["finance_officer"]}),
                       network.sign(1, "admit_member", {"public_key": network.key(CIVIL_FINANCE).hex, "roles": ["finance_officer"]})) == [OK, OK]
    shipped = read_wallet_classes()
    assert network.run(money(network, 1, "publish_wallet_classes", **shipped),  # civil affairs is not the central bank
                       money(network, CENTRAL_BANK_ADMIN, "publish_wallet_classes", **shipped)) == [ResultCode.NOT_AUTHORISED, OK]
    dc = {"currency": "CNY-DC"}
    assert network.run(
        money(network, CENTRAL_BANK_ADMIN, "create_account", account_id="issuance", kind="central_bank", **dc),
        money(network, BANK_FINANCE, "create_account", account_id="bank", kind="operator_bank", flags=["debits_must_not_exceed_credits"], **dc),
        money(network, BANK_FINANCE, "create_account", account_id="anonymous", kind="beneficiary_wallet", wallet_class="2021-anonymous",
              flags=["debits_must_not_exceed_credits"], **dc),
        money(network, BANK_FINANCE, "create_account", account_id="card", kind="beneficiary_wallet", wallet_class="2020-class-4",
              flags=["debits_must_not_exceed_credits"], **dc),
        money(network, BANK_FINANCE, "create_account", account_id="shop", kind="merchant", **dc),
        money(network, CENTRAL_BANK_ADMIN, "create_transfers", transfers=[{"transfer_id": "issue", "code": 1, "debit_account_id": "issuance",
                                                                         "credit_account_id": "bank", "amount": 100_000_000}]),
    ) == [OK] * 6
    return network


def test_classes_are_published_versioned_and_required_to_exist(network: Network) -> None:
    published = network.state.get(WALLET_CLASSES_KEY)
    assert published["version"] == 1 and published["classes"]["2021-anonymous"]["per_year_fen"] is None
    assert published["classes"]["2020-class-4"] == {"name": "2020 class 4 (anonymous) 四类钱包", "balance_cap_fen": 100_000, "per_payment_fen": 50_000,
                                                    "per_day_fen": 100_000, "per_year_fen": 1_000_000}
    again = read_wallet_classes()
    assert network.run(
        money(network, CENTRAL_BANK_ADMIN, "publish_wallet_classes", **again),  # not a newer version
        money(network, BANK_FINANCE, "create_account", account_id="w9", kind="beneficiary_wallet", currency="CNY-DC", wallet_class="2030-class-9"),
        money(network, BANK_FINANCE, "create_account", account_id="w8", kind="operator_bank", currency="CNY-DC", wallet_class="2021-anonymous"),
        money(network, CENTRAL_BANK_ADMIN, "publish_wallet_classes", version=2, classes=[{"id": "x", "name": "x", "balance_cap_fen": None,
                                                                                          "per_payment_fen": 1, "per_day_fen": None, "per_year_fen": None}]),
    ) == [ResultCode.INVALID_ARGUMENTS, ResultCode.WALLET_CLASS_NOT_FOUND, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]


def test_balance_cap_per_payment_and_daily_limits_refuse_before_money_moves(network: Network) -> None:
    assert network.run(pay(network, "in-1", "bank", "anonymous", 1_000_001), pay(network, "in-2", "bank", "anonymous", 900_000)) == [
        ResultCode.WALLET_BALANCE_CAP, OK]
    assert get_room_under_cap(network.state, network.state.get(get_account_key("anonymous"))) == 100_000
    assert network.run(pay(network, "p1", "anonymous", "shop", 200_001), pay(network, "p2", "anonymous", "shop", 200_000),
                       pay(network, "p3", "anonymous", "shop", 200_000), pay(network, "p4", "anonymous", "shop", 200_000)) == [
        ResultCode.WALLET_PER_PAYMENT_LIMIT, OK, OK, ResultCode.WALLET_DAILY_LIMIT]
    wallet = network.state.get(get_account_key("anonymous"))
    assert wallet["credits_posted"] - wallet["debits_posted"] == 500_000 and network.state.get(get_account_key("shop"))["credits_posted"] == 400_000
    network.run(time_ms=network.time_ms + DAY_MS)  # the next day, the daily allowance is back
    assert network.run(pay(network, "p5", "anonymous", "shop", 200_000)) == [OK]


def test_a_payment_above_the_class_limit_is_refused_for_the_limit_whatever_the_balance(network: Network) -> None:
    """As at a terminal: the class's per-payment limit is the reason given, even when the wallet
    could not cover the payment either; a payment within the limit but above the balance is
    refused for the balance."""
    assert network.run(pay(network, "in-1", "bank", "card", 30_000)) == [OK]
    assert network.run(pay(network, "p1", "card", "shop", 50_001), pay(network, "p2", "card", "shop", 30_001), pay(network, "p3", "card", "shop", 30_000)) == [
        ResultCode.WALLET_PER_PAYMENT_LIMIT, ResultCode.EXCEEDS_CREDITS, OK]


def test_the_yearly_limit_counts_every_payment_of_the_calendar_year(network: Network) -> None:
    codes = []
    for day in range(11):
        codes += network.run(pay(network, f"fund-{day}", "bank", "card", 100_000), pay(network, f"a-{day}", "card", "shop", 50_000),
                             pay(network, f"b-{day}", "card", "shop", 50_000))
        network.run(time_ms=network.time_ms + DAY_MS)
    assert codes[:30] == [OK] * 30 and codes[30:] == [OK, ResultCode.WALLET_YEARLY_LIMIT, ResultCode.WALLET_YEARLY_LIMIT]  # 10,000 yuan a year
    network.run(time_ms=network.time_ms + 365 * DAY_MS)
    assert network.run(pay(network, "next-year", "card", "shop", 50_000)) == [OK]


def test_a_merchant_redeems_digital_currency_into_its_bank_account_in_one_linked_step(network: Network) -> None:
    """The operator bank takes the merchant's e-CNY into its reserve and credits the merchant's bank
    account with the same amount of bank money: two currencies, one all-or-none transaction."""
    assert network.run(
        money(network, BANK_FINANCE, "create_account", account_id="bank-cny", kind="operator_bank", currency="CNY"),
        money(network, BANK_FINANCE, "create_account", account_id="shop-deposit", kind="merchant", currency="CNY"),
        pay(network, "in", "bank", "anonymous", 300_000),
        pay(network, "sale", "anonymous", "shop", 150_000),
    ) == [OK] * 4
    redeem = lambda amount, suffix: money(network, BANK_FINANCE, "create_transfers", transfers=[  # noqa: E731
        {"transfer_id": f"redeem-dc-{suffix}", "code": 310, "debit_account_id": "shop", "credit_account_id": "bank", "amount": amount, "reference": "shop"},
        {"transfer_id": f"redeem-cny-{suffix}", "code": 310, "debit_account_id": "bank-cny", "credit_account_id": "shop-deposit", "amount": amount, "reference": "shop"}])
    shop_flags = network.state.get(get_account_key("shop"))["flags"]
    assert network.run(redeem(150_000, "1")) == [OK]
    shop, deposit = network.state.get(get_account_key("shop")), network.state.get(get_account_key("shop-deposit"))
    assert shop["credits_posted"] - shop["debits_posted"] == 0 and deposit["credits_posted"] == 150_000 and shop_flags == []
    totals = {currency: network.state.get(f"money/totals/{currency}") for currency in ("CNY", "CNY-DC")}
    assert all(total["debits_posted"] == total["credits_posted"] for total in totals.values())


def test_a_payment_is_traced_up_to_issuance_and_down_to_the_merchant(network: Network) -> None:
    from reliefledger.node.money_trace import trace_transfer

    assert network.run(pay(network, "benefit", "bank", "anonymous", 300_000), pay(network, "sale", "anonymous", "shop", 120_000)) == [OK, OK]
    trace = trace_transfer(network.state.iterate_state_prefix("money/"), "benefit")
    assert trace["transfer"]["from"] == "bank" and trace["transfer"]["to"] == "anonymous"
    assert [(step["id"], step["from_kind"], step["depth"]) for step in trace["upstream"]] == [("issue", "central_bank", 1)]
    assert [(step["id"], step["to"], step["amount_fen"]) for step in trace["downstream"]] == [("sale", "shop", 120_000)]
    assert trace_transfer(network.state.iterate_state_prefix("money/"), "nothing") is None

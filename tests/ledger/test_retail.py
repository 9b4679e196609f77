"""Retail payments at merchants: QR payment requests, the holder's signature, counters that
prevent paying twice, offline payments within their limit, and double spends filed as evidence."""

from typing import Any

import pytest

from helpers import Network
from reliefledger.ledger.contracts.money import get_account_key
from reliefledger.ledger.contracts.retail import decode_payment_request, encode_payment_request, sign_wallet_payment
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.results import ResultCode

OK = ResultCode.OK
CIVIL_FINANCE, BANK_FINANCE, HOLDER_DEVICE, STRANGER_DEVICE = 30, 31, 50, 51


def money(network: Network, signer: int, action: str, **args: Any):
    return network.sign(signer, action, args, contract="money")


@pytest.fixture
def network() -> Network:
    """civil affairs (1) pays a household's wallet, which has a device key; hrss (2) plays the merchants' bank."""
    network = Network.create("ed25519-sha256")
    assert network.run(network.sign(1, "admit_member", {"public_key": network.key(CIVIL_FINANCE).hex, "roles": ["finance_officer"]}),
                       network.sign(2, "admit_member", {"public_key": network.key(BANK_FINANCE).hex, "roles": ["finance_officer"]})) == [OK, OK]
    limited = ["debits_must_not_exceed_credits"]
    assert network.run(
        money(network, CIVIL_FINANCE, "create_account", account_id="budget", kind="programme_budget", currency="CNY"),
        money(network, CIVIL_FINANCE, "create_account", account_id="wallet", kind="beneficiary_wallet", currency="CNY", flags=limited,
              holder_key=network.key(HOLDER_DEVICE).hex),
        money(network, CIVIL_FINANCE, "create_account", account_id="plain", kind="beneficiary_wallet", currency="CNY", flags=limited),
        money(network, BANK_FINANCE, "create_account", account_id="shop", kind="merchant", currency="CNY", category="grocery"),
        money(network, BANK_FINANCE, "create_account", account_id="pharmacy", kind="merchant", currency="CNY", category="pharmacy"),
        money(network, CIVIL_FINANCE, "create_account", account_id="x", kind="merchant", currency="CNY", holder_key=network.key(HOLDER_DEVICE).hex),
        money(network, CIVIL_FINANCE, "create_transfers", transfers=[{"transfer_id": "benefit", "code": 101, "debit_account_id": "budget",
                                                                     "credit_account_id": "wallet", "amount": 100_000}]),
    ) == [OK, OK, OK, OK, OK, ResultCode.INVALID_ARGUMENTS, OK]
    return network


def payment(network: Network, merchant: str, amount: int, counter: int, *, device: int = HOLDER_DEVICE, request_id: str = "r1", **extra: Any) -> dict:
    request = decode_payment_request(encode_payment_request(merchant, amount, request_id))  # what the phone reads from the QR code
    signed = {"wallet_account_id": "wallet", **request, "counter": counter}
    return {**signed, "holder_signature": sign_wallet_payment(network.suite, network.key(device).seed, network.genesis.chain_id, signed), **extra}


def balance(network: Network, account_id: str) -> int:
    account = network.state.get(get_account_key(account_id))
    return account["credits_posted"] - account["debits_posted"]


def test_payment_requests_travel_as_text_and_damage_is_refused() -> None:
    text = encode_payment_request("shop", 1_250, "till-7-0042")
    assert text.startswith("reliefledger:pay:") and decode_payment_request(text) == {"amount": 1_250, "merchant_account_id": "shop", "request_id": "till-7-0042"}
    for damaged in ("http://example.com", text[:-3], "reliefledger:pay:bm90IGpzb24"):
        with pytest.raises(LedgerInputError):
            decode_payment_request(damaged)


def test_the_holder_signs_the_bank_submits_and_a_payment_is_taken_once(network: Network) -> None:
    first = payment(network, "shop", 30_000, 1)
    assert network.run(money(network, BANK_FINANCE, "pay_merchant", **first)) == [OK]
    assert balance(network, "wallet") == 70_000 and balance(network, "shop") == 30_000
    assert network.run(
        money(network, BANK_FINANCE, "pay_merchant", **first),  # the same payment again
        money(network, BANK_FINANCE, "pay_merchant", **{**payment(network, "shop", 30_000, 2), "amount": 60_000}),  # altered after signing
        money(network, BANK_FINANCE, "pay_merchant", **payment(network, "shop", 5_000, 3, device=STRANGER_DEVICE)),
        money(network, CIVIL_FINANCE, "pay_merchant", **payment(network, "shop", 5_000, 4)),  # not the merchant's bank
        money(network, BANK_FINANCE, "pay_merchant", **{**payment(network, "shop", 5_000, 5), "wallet_account_id": "plain"}),
        money(network, BANK_FINANCE, "pay_merchant", **payment(network, "shop", 70_001, 6)),
    ) == [ResultCode.TRANSFER_EXISTS, ResultCode.BAD_HOLDER_SIGNATURE, ResultCode.BAD_HOLDER_SIGNATURE, ResultCode.NOT_AUTHORISED,
          ResultCode.INVALID_ARGUMENTS, ResultCode.EXCEEDS_CREDITS]
    assert balance(network, "wallet") == 70_000 and balance(network, "shop") == 30_000


def test_offline_payments_settle_later_and_a_double_spend_is_caught_and_filed(network: Network) -> None:
    at_shop = payment(network, "shop", 20_000, 7, offline=True, request_id="r-shop")
    at_pharmacy = payment(network, "pharmacy", 15_000, 7, offline=True, request_id="r-pharmacy")  # the same counter, spent twice offline
    assert network.run(money(network, BANK_FINANCE, "pay_merchant", **payment(network, "shop", 50_001, 8, offline=True)),
                       money(network, BANK_FINANCE, "pay_merchant", **at_shop),
                       money(network, BANK_FINANCE, "pay_merchant", **at_pharmacy)) == [ResultCode.OFFLINE_LIMIT, OK, ResultCode.DOUBLE_SPEND]
    assert balance(network, "wallet") == 80_000 and balance(network, "pharmacy") == 0
    evidence = {"first": at_shop, "second": at_pharmacy}
    forged = {"first": at_shop, "second": {**at_pharmacy, "holder_signature": at_shop["holder_signature"]}}
    assert network.run(money(network, BANK_FINANCE, "report_double_spend", **forged),
                       money(network, BANK_FINANCE, "report_double_spend", **evidence),
                       money(network, BANK_FINANCE, "report_double_spend", **evidence),
                       money(network, BANK_FINANCE, "report_double_spend", first=at_shop, second=at_shop)) == [
        ResultCode.BAD_HOLDER_SIGNATURE, OK, ResultCode.TRANSFER_EXISTS, ResultCode.INVALID_ARGUMENTS]
    filed = network.state.get("money/double-spend/wallet/7")
    assert filed["second"]["merchant_account_id"] == "pharmacy" and filed["reported_by"] == "hrss"

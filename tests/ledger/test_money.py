"""The money ledger: accounts, transfers, linked and pending transfers, expiry by block time,
balance limits, conservation under random sequences, and every bad input refused with nothing moved."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Network
from reliefledger.ledger.contracts.money import BALANCE_FIELDS, get_account_key, get_totals_key, get_transfer_key
from reliefledger.ledger.results import ResultCode

OK = ResultCode.OK
CIVIL_FINANCE, HRSS_FINANCE, CLERK = 30, 31, 32
HOUR_MS = 3_600_000


def money(network: Network, signer: int, action: str, **args: Any):
    return network.sign(signer, action, args, contract="money")


def account(network: Network, account_id: str, kind: str = "beneficiary_wallet", signer: int = CIVIL_FINANCE, currency: str = "CNY", **args: Any):
    return money(network, signer, "create_account", account_id=account_id, kind=kind, currency=currency, **args)


def transfer(network: Network, transfer_id: str, debit: str | None, credit: str | None, amount: int | None, signer: int = CIVIL_FINANCE, **fields: Any):
    item = {"transfer_id": transfer_id, "code": fields.pop("code", 1), **fields}
    item.update({name: value for name, value in (("debit_account_id", debit), ("credit_account_id", credit), ("amount", amount)) if value is not None})
    return money(network, signer, "create_transfers", transfers=[item])


def linked(network: Network, *items: dict[str, Any], signer: int = CIVIL_FINANCE):
    return money(network, signer, "create_transfers", transfers=list(items))


def balance(network: Network, account_id: str) -> dict[str, int]:
    record = network.state.get(get_account_key(account_id))
    return {field: record[field] for field in BALANCE_FIELDS}


def spendable(network: Network, account_id: str) -> int:
    record = network.state.get(get_account_key(account_id))
    return record["credits_posted"] - record["debits_posted"] - record["debits_pending"]


@pytest.fixture
def network() -> Network:
    """civil-affairs (1) runs a treasury (may go negative: it issues), a dibao budget and wallets; hrss (2) has its own account."""
    network = Network.create("ed25519-sha256")
    assert network.run(
        network.sign(1, "admit_member", {"public_key": network.key(CIVIL_FINANCE).hex, "roles": ["finance_officer"]}),
        network.sign(2, "admit_member", {"public_key": network.key(HRSS_FINANCE).hex, "roles": ["finance_officer"]}),
        network.sign(1, "admit_member", {"public_key": network.key(CLERK).hex, "roles": ["caseworker"]}),
    ) == [OK] * 3
    limited = {"flags": ["debits_must_not_exceed_credits"]}
    assert network.run(
        account(network, "treasury", "treasury"),
        account(network, "budget", "programme_budget", **limited),
        account(network, "wallet-a", **limited, holder="a" * 64),
        account(network, "wallet-b", **limited),
        account(network, "digital", currency="CNY-DC"),
        account(network, "hrss-fund", "programme_budget", signer=HRSS_FINANCE),
        transfer(network, "fund", "treasury", "budget", 1_000_000),
    ) == [OK] * 7
    return network


def test_a_transfer_moves_money_and_keeps_the_books_balanced(network: Network) -> None:
    assert network.run(transfer(network, "t1", "budget", "wallet-a", 139_500, reference="a1.dibao", code=101)) == [OK]
    assert balance(network, "budget") == {"debits_pending": 0, "debits_posted": 139_500, "credits_pending": 0, "credits_posted": 1_000_000}
    assert spendable(network, "wallet-a") == 139_500 and spendable(network, "budget") == 860_500
    record = network.state.get(get_transfer_key("t1"))
    assert record["reference"] == "a1.dibao" and record["code"] == 101 and record["status"] == "posted"
    totals = network.state.get(get_totals_key("CNY"))
    assert totals["debits_posted"] == totals["credits_posted"] == 1_139_500


def test_bad_input_is_refused_with_its_code_and_nothing_moves(network: Network) -> None:
    before = {name: balance(network, name) for name in ("treasury", "budget", "wallet-a", "wallet-b")}
    assert network.run(
        transfer(network, "z1", "budget", "wallet-a", 0),
        transfer(network, "z2", "budget", "wallet-a", -5),
        transfer(network, "z3", "budget", "nowhere", 5),
        transfer(network, "z4", "budget", "digital", 5),
        transfer(network, "z5", "budget", "budget", 5),
        transfer(network, "z6", "budget", "wallet-a", 5, signer=HRSS_FINANCE),  # another organisation's account
        transfer(network, "z7", "budget", "wallet-a", 5, signer=CLERK),  # no finance role
        transfer(network, "fund", "treasury", "budget", 1_000_000),  # the same transfer again
        transfer(network, "fund", "treasury", "budget", 999),  # the id with other content
        transfer(network, "z8", "budget", "wallet-a", 1_000_001),  # more than the budget holds
        transfer(network, "z9", "budget", "wallet-a", 5, flags=["pending", "post_pending"]),
        transfer(network, "z10", "budget", "wallet-a", "5"),
        account(network, "budget", "programme_budget"),
        account(network, "x", "bank_of_dreams"),
        account(network, "y", currency="yuan"),
    ) == [ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.ACCOUNT_NOT_FOUND, ResultCode.CURRENCY_MISMATCH,
          ResultCode.ACCOUNTS_MUST_DIFFER, ResultCode.NOT_AUTHORISED, ResultCode.NOT_AUTHORISED, ResultCode.TRANSFER_EXISTS,
          ResultCode.TRANSFER_EXISTS_DIFFERENT, ResultCode.EXCEEDS_CREDITS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
          ResultCode.ACCOUNT_EXISTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS]
    assert {name: balance(network, name) for name in before} == before
    assert all(network.state.get(get_transfer_key(f"z{number}")) is None for number in range(1, 11))


def test_linked_transfers_succeed_or_fail_together(network: Network) -> None:
    first = {"transfer_id": "l1", "code": 1, "debit_account_id": "budget", "credit_account_id": "wallet-a", "amount": 600_000}
    second = {"transfer_id": "l2", "code": 1, "debit_account_id": "budget", "credit_account_id": "wallet-b", "amount": 600_000}
    assert network.run(linked(network, first, second)) == [ResultCode.EXCEEDS_CREDITS]  # together they overdraw the budget
    assert spendable(network, "wallet-a") == 0 and network.state.get(get_transfer_key("l1")) is None
    assert network.run(linked(network, first, {**second, "amount": 400_000})) == [OK]
    assert spendable(network, "wallet-a") == 600_000 and spendable(network, "wallet-b") == 400_000 and spendable(network, "budget") == 0


def test_pending_transfers_post_in_part_void_and_reserve_meanwhile(network: Network) -> None:
    assert network.run(transfer(network, "p1", "budget", "wallet-a", 700_000, flags=["pending"]),
                       transfer(network, "p2", "budget", "wallet-b", 300_001, flags=["pending"])) == [OK, ResultCode.EXCEEDS_CREDITS]
    assert spendable(network, "budget") == 300_000  # the reservation counts against the limit
    assert network.run(
        transfer(network, "p1-post", None, None, 500_000, flags=["post_pending"], pending_id="p1"),
        transfer(network, "p1-again", None, None, None, flags=["void_pending"], pending_id="p1"),
        transfer(network, "p9-post", None, None, None, flags=["post_pending"], pending_id="p9"),
        transfer(network, "fund-post", None, None, None, flags=["post_pending"], pending_id="fund"),  # not a pending transfer
    ) == [OK, ResultCode.PENDING_NOT_PENDING, ResultCode.PENDING_NOT_FOUND, ResultCode.PENDING_NOT_FOUND]
    assert spendable(network, "wallet-a") == 500_000 and spendable(network, "budget") == 500_000  # the 200,000 not posted came back
    assert network.state.get(get_transfer_key("p1"))["status"] == "posted" and network.state.get(get_transfer_key("p1"))["posted_amount"] == 500_000
    assert network.run(transfer(network, "p3", "budget", "wallet-b", 100_000, flags=["pending"])) == [OK]
    assert network.run(transfer(network, "p3-post", None, None, 100_001, flags=["post_pending"], pending_id="p3"),
                       transfer(network, "p3-void", None, None, None, flags=["void_pending"], pending_id="p3")) == [ResultCode.AMOUNT_EXCEEDS_PENDING, OK]
    assert spendable(network, "wallet-b") == 0 and spendable(network, "budget") == 500_000


def test_a_pending_transfer_expires_at_the_first_block_past_its_timeout_once(network: Network) -> None:
    start = network.time_ms
    assert network.run(transfer(network, "e1", "budget", "wallet-a", 250_000, flags=["pending"], timeout_ms=2 * HOUR_MS),
                       transfer(network, "e2", "budget", "wallet-b", 50_000, flags=["pending"], timeout_ms=5 * HOUR_MS)) == [OK, OK]
    created = network.state.get(get_transfer_key("e1"))["time_ms"]
    assert spendable(network, "budget") == 700_000
    network.run(time_ms=created + 2 * HOUR_MS - 1)  # an empty block just before: nothing expires
    assert network.state.get(get_transfer_key("e1"))["status"] == "pending"
    network.run(time_ms=created + 2 * HOUR_MS)
    assert network.state.get(get_transfer_key("e1"))["status"] == "expired" and network.state.get(get_transfer_key("e2"))["status"] == "pending"
    assert spendable(network, "budget") == 950_000 and balance(network, "wallet-a")["credits_pending"] == 0
    assert network.run(transfer(network, "e1-post", None, None, None, flags=["post_pending"], pending_id="e1")) == [ResultCode.PENDING_EXPIRED]
    network.run(time_ms=created + 30 * HOUR_MS)  # many hours later, in one step
    assert network.state.get(get_transfer_key("e2"))["status"] == "expired" and spendable(network, "budget") == 1_000_000
    assert start < created


OPERATIONS = st.lists(st.tuples(st.sampled_from(["transfer", "pending", "post", "void", "wait", "linked"]),
                                st.sampled_from(["treasury", "budget", "wallet-a", "wallet-b"]),
                                st.sampled_from(["treasury", "budget", "wallet-a", "wallet-b"]),
                                st.integers(min_value=-3, max_value=1_500_000), st.integers(min_value=0, max_value=4 * HOUR_MS)),
                      min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(OPERATIONS)
def test_random_sequences_conserve_money_respect_limits_and_replay_identically(operations) -> None:
    network = Network.create("ed25519-sha256")
    network.run(network.sign(1, "admit_member", {"public_key": network.key(CIVIL_FINANCE).hex, "roles": ["finance_officer"]}))
    limited = {"flags": ["debits_must_not_exceed_credits"]}
    blocks = [[account(network, "treasury", "treasury"), account(network, "budget", "programme_budget", **limited),
               account(network, "wallet-a", **limited), account(network, "wallet-b", **limited)]]
    network.run(*blocks[0])
    times = [network.time_ms]
    for number, (kind, debit, credit, amount, wait) in enumerate(operations):
        if kind == "wait":
            block = []
            network.run(time_ms=network.time_ms + wait)
        else:
            if kind == "transfer":
                envelope = transfer(network, f"t{number}", debit, credit, amount)
            elif kind == "pending":
                envelope = transfer(network, f"t{number}", debit, credit, amount, flags=["pending"], timeout_ms=max(wait, 1))
            elif kind == "linked":
                envelope = linked(network, *({"transfer_id": f"t{number}-{part}", "code": 1, "debit_account_id": debit, "credit_account_id": credit,
                                              "amount": amount // 2 + part} for part in range(2)))
            else:
                target = next((f"t{earlier}" for earlier in range(number - 1, -1, -1) if operations[earlier][0] == "pending"), "t-none")
                options = {"pending_id": target, "flags": [f"{kind}_pending"]}
                envelope = transfer(network, f"t{number}", None, None, amount if kind == "post" and amount > 0 else None, **options)
            block = [envelope]
            network.run(envelope)
        blocks.append(block)
        times.append(network.time_ms)
        accounts = [network.state.get(get_account_key(name)) for name in ("treasury", "budget", "wallet-a", "wallet-b")]
        totals = network.state.get(get_totals_key("CNY")) or dict.fromkeys(BALANCE_FIELDS, 0)
        for field in BALANCE_FIELDS:
            assert sum(record[field] for record in accounts) == totals[field]
        assert totals["debits_posted"] == totals["credits_posted"] and totals["debits_pending"] == totals["credits_pending"]
        for record in accounts[1:]:  # the limited accounts never pay out more than they received
            assert record["debits_posted"] + record["debits_pending"] <= record["credits_posted"]
    replay = Network.create("ed25519-sha256")
    replay.run(replay.sign(1, "admit_member", {"public_key": replay.key(CIVIL_FINANCE).hex, "roles": ["finance_officer"]}))
    for block, time_ms in zip(blocks, times):
        replay.execute(block, time_ms=time_ms)
    assert replay.digest == network.digest and replay.state.values == network.state.values


def test_the_independent_audit_recomputes_the_books_from_the_transfers(network: Network) -> None:
    from reliefledger.store.money_audit import find_money_fault

    assert network.run(transfer(network, "t1", "budget", "wallet-a", 100_000),
                       transfer(network, "p1", "budget", "wallet-b", 50_000, flags=["pending"]),
                       transfer(network, "p2", "budget", "wallet-b", 20_000, flags=["pending"])) == [OK] * 3
    assert network.run(transfer(network, "p1-post", None, None, 30_000, flags=["post_pending"], pending_id="p1"),
                       transfer(network, "p2-void", None, None, None, flags=["void_pending"], pending_id="p2")) == [OK, OK]
    assert find_money_fault(network.state.iterate_state_prefix("money/")) is None
    skimmed = dict(network.state.values)
    wallet = skimmed[get_account_key("wallet-a")]
    skimmed[get_account_key("wallet-a")] = {**wallet, "credits_posted": wallet["credits_posted"] - 1_000}  # money vanishes on the way
    assert "account wallet-a holds" in find_money_fault(sorted(skimmed.items()))
    both = {**skimmed, get_account_key("budget"): {**skimmed[get_account_key("budget")], "debits_posted": skimmed[get_account_key("budget")]["debits_posted"]}}
    hidden = {key: value for key, value in both.items() if key != get_transfer_key("t1")}  # a transfer erased with its traces in the accounts
    assert find_money_fault(sorted(hidden.items())) is not None
    totals = dict(network.state.values)
    totals[get_totals_key("CNY")] = {**totals[get_totals_key("CNY")], "credits_posted": 1}
    assert "totals" in find_money_fault(sorted(totals.items()))


def test_earmarked_funds_are_spent_only_at_allowed_merchants_and_the_rest_returns_at_expiry(network: Network) -> None:
    from reliefledger.store.money_audit import find_money_fault

    expires = network.time_ms + 30 * 24 * HOUR_MS
    earmark = {"categories": ["education", "school_uniform"], "expires_ms": expires, "return_account_id": "budget"}
    assert network.run(
        account(network, "school", "merchant", category="education"),
        account(network, "grocer", "merchant", category="grocery"),
        account(network, "edu-a", earmark=earmark, holder="a" * 64),
        account(network, "edu-x", earmark={**earmark, "return_account_id": "nowhere"}),
        account(network, "edu-y", earmark={**earmark, "return_account_id": "digital"}),
        account(network, "edu-z", earmark={**earmark, "categories": []}),
        account(network, "edu-w", earmark={**earmark, "expires_ms": network.time_ms - 1}),
        account(network, "shop-cat", "treasury", category="grocery"),
    ) == [OK, OK, OK, ResultCode.ACCOUNT_NOT_FOUND, ResultCode.CURRENCY_MISMATCH, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
          ResultCode.INVALID_ARGUMENTS]
    assert network.run(transfer(network, "subsidy", "budget", "edu-a", 100_000, code=210, reference="a7.education")) == [OK]
    assert network.run(transfer(network, "books", "edu-a", "school", 30_000), transfer(network, "food", "edu-a", "grocer", 5_000),
                       transfer(network, "cash", "edu-a", "wallet-b", 5_000)) == [OK, ResultCode.EARMARK_CATEGORY, ResultCode.EARMARK_CATEGORY]
    budget_before = spendable(network, "budget")
    network.run(time_ms=expires - 1)
    assert spendable(network, "edu-a") == 70_000
    network.run(time_ms=expires)  # the first block at the expiry returns the unspent part
    assert spendable(network, "edu-a") == 0 and spendable(network, "budget") == budget_before + 70_000
    returned = network.state.get(get_transfer_key("earmark-return.edu-a"))
    assert returned["amount"] == 70_000 and returned["credit_account_id"] == "budget" and returned["code"] == 900
    assert network.run(transfer(network, "late", "edu-a", "school", 1)) == [ResultCode.EARMARK_EXPIRED]
    network.run(time_ms=expires + 48 * HOUR_MS)  # nothing is returned twice
    assert spendable(network, "budget") == budget_before + 70_000
    assert find_money_fault(network.state.iterate_state_prefix("money/")) is None


def test_the_budget_flow_reconciles_level_by_level() -> None:
    from reliefledger.node.budget_flow import report_budget_flow

    network = Network.create("ed25519-sha256")
    finance = 30
    assert network.run(network.sign(1, "admit_member", {"public_key": network.key(finance).hex, "roles": ["finance_officer"]}))[0].label == "ok"
    money = lambda action, **args: network.sign(finance, action, args, contract="money")  # noqa: E731
    pay = lambda transfer_id, debit, credit, amount, **extra: money("create_transfers", transfers=[{  # noqa: E731
        "transfer_id": transfer_id, "code": 1, "debit_account_id": debit, "credit_account_id": credit, "amount": amount, **extra}])
    accounts = [("city-treasury", "treasury", "330100"), ("hangzhou", "programme_budget", "330100"), ("shangcheng", "programme_budget", "330102"),
                ("xihu", "programme_budget", "330106"), ("reserve", "township_reserve_fund", "330102001")]
    results = network.run(*(money("create_account", account_id=name, kind=kind, currency="CNY", region=region) for name, kind, region in accounts),
                          money("create_account", account_id="household", kind="beneficiary_bank_account", currency="CNY", region="330102001"))
    assert [code.label for code in results] == ["ok"] * 6
    results = network.run(pay("t1", "city-treasury", "hangzhou", 1_000_000), pay("t2", "hangzhou", "xihu", 600_000), pay("t3", "hangzhou", "shangcheng", 400_000),
                          pay("t4", "shangcheng", "reserve", 50_000), pay("t5", "shangcheng", "household", 139_500), pay("t6", "reserve", "household", 2_000),
                          pay("t7", "shangcheng", "household", 10_000, flags=["pending"]))
    assert [code.label for code in results] == ["ok"] * 7
    report = report_budget_flow(network.state.iterate_state_prefix("money/"), "CNY")
    assert report.problems == [] and report.to_json()["reconciled"]
    county = report.levels["county"]
    # Two county budgets: 400,000 and 600,000 came down; 50,000 went to a township reserve, 139,500 to a household, 10,000 is reserved.
    assert (county.accounts, county.received_from_above, county.sent_below, county.paid_to_payees, county.reserved, county.balance) == (
        2, 1_000_000, 50_000, 139_500, 10_000, 810_500)
    city = report.levels["city"]  # the treasury issued 1,000,000 (it may go negative) and the city budget passed it all down
    assert (city.received_other, city.sent_below, city.balance) == (1_000_000, 1_000_000, -1_000_000)
    assert report.levels["township"].paid_to_payees == 2_000 and report.levels["township"].balance == 48_000
    skimmed = dict(network.state.values)
    skimmed["money/account/hangzhou"] = {**skimmed["money/account/hangzhou"], "credits_posted": skimmed["money/account/hangzhou"]["credits_posted"] - 1}
    assert any("the city level" in problem for problem in report_budget_flow(sorted(skimmed.items()), "CNY").problems)

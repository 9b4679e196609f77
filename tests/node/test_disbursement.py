"""The monthly disbursement run on enrolled cases: wallets, the wallet-cap split, bank payments
reserved until the bank's statement, rerunning a month, reconciliation, and a budget too small."""

import asyncio
import csv
from pathlib import Path

import pytest

from node_support import flatten, run_cli
from reliefledger.ledger.contracts.money import get_account_key
from reliefledger.ledger.contracts.retail import decode_payment_request, encode_payment_request, sign_wallet_payment
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.suites import get_suite
from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.keys import generate_key
from reliefledger.node.disbursement import DisbursementError, EarmarkTerms, RunSettings, parse_earmark_terms, list_outstanding, reconcile_statement, run_disbursement
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import prepare_city
from reliefledger.store.money_audit import find_money_fault
from reliefledger.wallet_files import read_wallet_classes

START_MS = 1_767_225_600_000 + 40 * 86_400_000  # 2026-02-10
DAY_MS = 86_400_000
POOR = {"business_registrations": 0, "deposits_fen": 0, "monthly_income_fen": {}, "properties_beyond_residence": 0, "vehicles": 0}


def account_balance(node, account_id: str) -> int:
    account = node.store.get(get_account_key(account_id))
    return account["credits_posted"] - account["debits_posted"]


def test_a_month_is_paid_once_to_wallets_and_banks_and_reconciled(tmp_path: Path) -> None:
    population = generate_population(seed=3, households=7)
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES, "central-bank"],
                                     region="110000", chain_id="disburse", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    clock = {"now": START_MS + 1000}
    instructions, statement = tmp_path / "instructions.csv", tmp_path / "statement.csv"

    async def main():
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                city = await prepare_city(directory, node, casework, population)
                for label, roles in (("county", ["approver"]), ("finance", ["finance_officer"])):
                    await admit_staff(directory, node, organisation="civil-affairs", label=label, roles=roles, region="110000")
                staff = StaffDirectory(directory)
                worker, county, finance = staff.get("cw"), staff.get("county"), staff.get("finance")
                amounts = {}
                for household in population.households:
                    case_id = city.case_ids[household.number]
                    result = (await casework.record_means_test(worker, case_id, {**POOR, "members": len(household.members)}))["result"]
                    await casework.give_opinion(worker, case_id, recommendation="approve", reasons=[])
                    await casework.start_notice(worker, case_id)
                    amounts[household.number] = result["monthly_benefit_fen"]
                clock["now"] += 8 * DAY_MS
                for household in population.households:
                    await casework.decide(county, city.case_ids[household.number], outcome="approve", reasons=[], monthly_benefit_fen=amounts[household.number])
                month = casework.get_case(city.case_ids[population.households[0].number])["enrolment"]["from_month"]
                # Money: the central bank's wallet classes; civil affairs' budgets; the households' accounts at the operator bank.
                central, bank = directory.read_organisation_key("central-bank"), directory.read_organisation_key("operator-bank")
                holders = [compute_household_pseudonym(node.suite, casework.network_key, household.number) for household in population.households]
                limited = ["debits_must_not_exceed_credits"]
                steps = [
                    (central, "publish_wallet_classes", read_wallet_classes()),
                    (central, "create_account", {"account_id": "issuance", "kind": "central_bank", "currency": "CNY-DC"}),
                    (finance.key, "create_account", {"account_id": "treasury", "kind": "treasury", "currency": "CNY"}),
                    (finance.key, "create_account", {"account_id": "dibao-bank", "kind": "programme_budget", "currency": "CNY", "flags": limited}),
                    (finance.key, "create_account", {"account_id": "dibao-dc", "kind": "programme_budget", "currency": "CNY-DC", "flags": limited}),
                    (finance.key, "create_transfers", {"transfers": [{"transfer_id": "fund-bank", "code": 1, "debit_account_id": "treasury",
                                                                     "credit_account_id": "dibao-bank", "amount": 2_000_000}]}),
                    (central, "create_transfers", {"transfers": [{"transfer_id": "fund-dc", "code": 1, "debit_account_id": "issuance",
                                                                 "credit_account_id": "dibao-dc", "amount": 2_000_000}]}),
                    # 0: small wallet only; 1: small wallet and bank (split); 2, 5, 6: bank only; 3: nothing; 4: large wallet.
                    (bank, "create_account", {"account_id": "w0", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2020-class-4", "holder": holders[0]}),
                    (bank, "create_account", {"account_id": "w1", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2020-class-4", "holder": holders[1]}),
                    (bank, "create_account", {"account_id": "b1", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holders[1]}),
                    (bank, "create_account", {"account_id": "b2", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holders[2]}),
                    (bank, "create_account", {"account_id": "w4", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2021-upgraded", "holder": holders[4]}),
                    (bank, "create_account", {"account_id": "b5", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holders[5]}),
                    (bank, "create_account", {"account_id": "b6", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holders[6]}),
                ]
                for number, (key, action, args) in enumerate(steps):
                    body = TransactionBody(node.genesis.chain_id, "money", action, args, key.public_key, f"setup-{number}", clock["now"] + 3_600_000)
                    envelope = sign_transaction(key.suite, key.seed, body)
                    await node.submit_envelopes([envelope])
                    assert (await node.wait_for_final_status(envelope.id, 10, with_proofs=False))["status"] == "committed", action
                settings = RunSettings("dibao", "110000", month, "dibao-dc", "dibao-bank")
                too_small = None
                try:
                    await run_disbursement(node, finance.key, RunSettings("dibao", "110000", month, "dibao-dc", "treasury"))
                except DisbursementError as error:
                    too_small = error
                with pytest.raises(DisbursementError, match="cannot be paid yet"):  # far ahead: refused before anything is paid
                    await run_disbursement(node, finance.key, RunSettings("dibao", "110000", "9999-12", "dibao-dc", "dibao-bank"))
                first = await run_disbursement(node, finance.key, settings, instruction_file=instructions)
                balances = {name: account_balance(node, name) for name in ("dibao-dc", "dibao-bank", "w0", "w1", "w4", "b1", "b2")}
                again = await run_disbursement(node, finance.key, settings)
                rows = list(csv.DictReader(open(instructions, encoding="utf-8")))
                with open(statement, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["instruction_id", "status", "amount_fen", "bank_reference", "reason"])
                    writer.writerow([rows[0]["instruction_id"], "paid", rows[0]["amount_fen"], "B-1", ""])
                    writer.writerow([rows[1]["instruction_id"], "returned", rows[1]["amount_fen"], "B-2", "account closed"])
                    writer.writerow([rows[2]["instruction_id"], "paid", int(rows[2]["amount_fen"]) + 1, "B-3", ""])
                    writer.writerow(["dibao.1999-01.nothing.bank", "paid", "5", "B-4", ""])
                reconciled = await reconcile_statement(node, finance.key, statement)
                reconciled_again = await reconcile_statement(node, finance.key, statement)
                outstanding = list_outstanding(node, "dibao", month)
                after = {name: account_balance(node, name) for name in ("dibao-bank", "b1", "b2", "b5", "b6")}
                fault = find_money_fault(node.store.iterate_state_prefix("money/"))
                runs = node.store.get(f"money/run/dibao/110000/{month}")["runs"]
                assert [run["figures"]["wallet_payments"] for run in runs] == [2, 0] and runs[1]["figures"]["already_paid"] == 5
                assert runs[0]["report_digest"] == node.suite.compute_hash(encode_canonical(first.to_json())).hex() and first.recorded_transaction
                return too_small, first, balances, again, rows, reconciled, reconciled_again, outstanding, after, amounts, fault, month

    too_small, first, balances, again, rows, reconciled, reconciled_again, outstanding, after, amounts, fault, month = asyncio.run(main())
    # The next month from the command line, against the chain on disk.
    next_month = f"{month[:5]}{int(month[5:]) + 1:02d}"
    budgets = ["--wallet-budget", "dibao-dc", "--bank-budget", "dibao-bank", "--staff", "finance"]
    cli = run_cli("money", "disburse", directory.root, "--programme", "dibao", "--region", "110000", "--month", next_month, *budgets,
                  "--instructions", tmp_path / "next.csv")
    bad_month = run_cli("money", "disburse", directory.root, "--programme", "dibao", "--region", "110000", "--month", "2026-13", *budgets)
    no_statement = run_cli("money", "reconcile", directory.root, tmp_path / "missing.csv", "--staff", "finance")
    unknown_staff = run_cli("money", "reconcile", directory.root, statement, "--staff", "nobody")
    budget_report = run_cli("money", "budget-report", directory.root)
    traced = run_cli("money", "trace", directory.root, f"dibao.{month}.a4.dibao.wallet")
    untraced = run_cli("money", "trace", directory.root, "nothing")
    assert traced.returncode == 0 and '"fund-dc"' in traced.stdout and '"issuance"' in traced.stdout, traced.stdout + traced.stderr
    assert untraced.returncode == 1 and "no transfer" in flatten(untraced.stderr)
    no_chain = run_cli("money", "budget-report", tmp_path / "nowhere")
    assert budget_report.returncode == 0 and '"reconciled": true' in budget_report.stdout, budget_report.stdout + budget_report.stderr
    assert no_chain.returncode == 1 and "Traceback" not in no_chain.stderr
    assert cli.returncode == 0 and '"to_wallets"' in cli.stdout and (tmp_path / "next.csv").exists(), cli.stderr
    assert bad_month.returncode == 1 and "YYYY-MM" in flatten(bad_month.stderr)
    assert no_statement.returncode == 1 and "cannot be read" in flatten(no_statement.stderr)
    assert unknown_staff.returncode == 1 and all("Traceback" not in result.stderr for result in (cli, bad_month, no_statement, unknown_staff))
    amount = [amounts[household.number] for household in population.households]
    assert too_small is not None and "Nothing was paid" in str(too_small)
    assert first.cases == 7 and first.entitled_fen == sum(amount)
    reasons = {entry["case_id"]: entry["reason"] for entry in first.not_paid}
    assert "no bank account" in reasons["a0.dibao"] and "no wallet or bank account" in reasons["a3.dibao"]
    assert balances["w0"] == 0 and balances["w1"] == 100_000  # a class-4 wallet is filled to its 1,000-yuan cap; the rest goes to the bank
    assert balances["w4"] == amount[4] and first.to_wallets == {"payments": 2, "fen": 100_000 + amount[4]}
    assert first.to_banks == {"payments": 4, "fen": amount[1] - 100_000 + amount[2] + amount[5] + amount[6]} and first.instructions == 4
    assert balances["b1"] == 0 and balances["dibao-bank"] == 2_000_000  # bank payments are reserved (pending), not yet paid
    assert balances["dibao-dc"] == 2_000_000 - 100_000 - amount[4]
    assert again.already_paid == 5 and again.to_wallets["payments"] == again.to_banks["payments"] == 0  # the month is never paid twice
    assert [row["amount_fen"] for row in rows] == [str(amount[1] - 100_000), str(amount[2]), str(amount[5]), str(amount[6])]
    assert reconciled.paid == 1 and reconciled.returned == 1 and len(reconciled.unmatched) == 2
    unmatched = sorted(entry["reason"] for entry in reconciled.unmatched)
    assert unmatched[0].startswith("no pending payment has this instruction id") and unmatched[1].startswith("the bank reports")
    assert reconciled_again.already_settled == 2 and reconciled_again.paid == 0
    assert after["b1"] == amount[1] - 100_000 and after["b2"] == 0  # paid, returned
    assert after["dibao-bank"] == 2_000_000 - (amount[1] - 100_000)
    assert sorted(item["instruction_id"] for item in outstanding) == sorted(row["instruction_id"] for row in rows[2:])
    assert fault is None



def test_an_earmarked_programme_pays_awards_into_earmarked_accounts_and_dibao_is_never_earmarked(tmp_path: Path) -> None:
    population = generate_population(seed=5, households=3)
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES, "central-bank"],
                                     region="110000", chain_id="earmark", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    clock = {"now": START_MS + 1000}
    device = generate_key(get_suite("ed25519-sha256"), "phone")
    award, expires = 60_000, START_MS + 60 * DAY_MS

    async def main():
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                city = await prepare_city(directory, node, casework, population)
                for label, roles in (("county", ["approver"]), ("finance", ["finance_officer"])):
                    await admit_staff(directory, node, organisation="civil-affairs", label=label, roles=roles, region="110000")
                staff = StaffDirectory(directory)
                worker, second, county, finance = staff.get("cw"), staff.get("cw-2"), staff.get("county"), staff.get("finance")
                holders = [compute_household_pseudonym(node.suite, casework.network_key, household.number) for household in population.households]
                # Household 0 is enrolled in dibao; all three are awarded an education subsidy.
                dibao_case = city.case_ids[population.households[0].number]
                result = (await casework.record_means_test(worker, dibao_case, {**POOR, "members": len(population.households[0].members)}))["result"]
                await casework.give_opinion(worker, dibao_case, recommendation="approve", reasons=[])
                await casework.start_notice(worker, dibao_case)
                for number in range(3):
                    await casework.apply(worker, application_id=f"e{number}", programmes=["education"], channel="in_person", application={},
                                         household=holders[number], related_to_staff=False)
                    await casework.record_authorisation(worker, f"e{number}.education", {"signed": True})
                    await casework.record_visit(worker, f"e{number}.education", report={"visited": True}, staff=[worker.key.public_key, second.key.public_key],
                                                by_county=False)
                    await casework.give_opinion(worker, f"e{number}.education", recommendation="approve", reasons=[])
                clock["now"] += 8 * DAY_MS
                await casework.decide(county, dibao_case, outcome="approve", reasons=[], monthly_benefit_fen=result["monthly_benefit_fen"])
                for number in range(3):
                    await casework.decide(county, f"e{number}.education", outcome="approve", reasons=[], monthly_benefit_fen=award)
                month = casework.get_case(dibao_case)["enrolment"]["from_month"]
                central, bank = directory.read_organisation_key("central-bank"), directory.read_organisation_key("operator-bank")
                limited = ["debits_must_not_exceed_credits"]
                steps = [
                    (central, "publish_wallet_classes", read_wallet_classes()),
                    (central, "create_account", {"account_id": "issuance", "kind": "central_bank", "currency": "CNY-DC"}),
                    (finance.key, "create_account", {"account_id": "treasury", "kind": "treasury", "currency": "CNY"}),
                    *[(finance.key, "create_account", {"account_id": name, "kind": "programme_budget", "currency": currency, "flags": limited})
                      for name, currency in (("edu-dc", "CNY-DC"), ("edu-bank", "CNY"), ("dibao-dc", "CNY-DC"), ("dibao-bank", "CNY"))],
                    (central, "create_transfers", {"transfers": [{"transfer_id": f"fund-{name}", "code": 1, "debit_account_id": "issuance",
                                                                 "credit_account_id": name, "amount": 1_000_000} for name in ("edu-dc", "dibao-dc")]}),
                    *[(bank, "create_account", {"account_id": f"w{number}", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2021-upgraded",
                                                "holder": holders[number], "holder_key": device.public_key}) for number in (0, 1)],
                    (bank, "create_account", {"account_id": "b2", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holders[2]}),
                    (bank, "create_account", {"account_id": "bookshop", "kind": "merchant", "currency": "CNY-DC", "category": "education"}),
                    (bank, "create_account", {"account_id": "grocer", "kind": "merchant", "currency": "CNY-DC", "category": "food"}),
                ]
                for number, (key, action, args) in enumerate(steps):
                    assert (await commit_one(node, key, action, args, f"setup-{number}", clock)) is ResultCode.OK, action
                terms = EarmarkTerms(("education",), expires)
                education = RunSettings("education", "110000", month, "edu-dc", "edu-bank", earmark=terms)
                refusals = []
                for settings in (RunSettings("dibao", "110000", month, "dibao-dc", "dibao-bank", earmark=terms),
                                 RunSettings("education", "110000", month, "edu-dc", "edu-bank", earmark=EarmarkTerms(("Not An Id",), expires)),
                                 RunSettings("education", "110000", month, "edu-dc", "edu-bank", earmark=EarmarkTerms(("education",), START_MS))):
                    try:
                        await run_disbursement(node, finance.key, settings)
                    except DisbursementError as error:
                        refusals.append(str(error))
                first = await run_disbursement(node, finance.key, education)
                again = await run_disbursement(node, finance.key, education)
                earmarked = node.store.get(get_account_key(f"education.{month[:4]}-02.e0.education.earmarked"))
                # A review opened with a hold (a death was registered): the run skips the case and the ledger refuses any payment naming it.
                await casework.open_review(worker, dibao_case, reason="death_registered", hold_payments=True)
                held = await run_disbursement(node, finance.key, RunSettings("dibao", "110000", month, "dibao-dc", "dibao-bank"))
                held_transfer = await commit_one(node, finance.key, "create_transfers", {"transfers": [{
                    "transfer_id": "after-death", "code": 101, "debit_account_id": "dibao-dc", "credit_account_id": "w0", "amount": 1, "reference": dibao_case}]},
                    "after-death", clock)
                assert held.not_paid == [{"case_id": dibao_case, "amount_fen": result["monthly_benefit_fen"], "reason": "held until its review is concluded (death_registered)"}]
                assert held_transfer is ResultCode.PAYMENT_HELD and held.to_wallets["payments"] == 0 and account_balance(node, "w0") == 0
                # The review (a new means test, the amount kept) releases the hold: the month is paid.
                await casework.record_means_test(worker, dibao_case, {**POOR, "members": len(population.households[0].members)})
                await casework.change_benefit(county, dibao_case, change="keep", monthly_benefit_fen=result["monthly_benefit_fen"], reasons=["reviewed"])
                dibao = await run_disbursement(node, finance.key, RunSettings("dibao", "110000", month, "dibao-dc", "dibao-bank"))
                spend = [await pay(node, bank, device, earmarked["id"], merchant, 20_000, counter, clock) for counter, merchant in ((1, "bookshop"), (2, "grocer"))]
                # Whoever signs it, the ledger never puts a dibao payment into an earmarked account.
                forced = await commit_one(node, finance.key, "create_transfers", {"transfers": [{
                    "transfer_id": "forced", "code": 101, "debit_account_id": "dibao-dc", "credit_account_id": earmarked["id"], "amount": 1, "reference": dibao_case}]},
                    "forced", clock)
                balances_before_expiry = {name: account_balance(node, name) for name in (earmarked["id"], "edu-dc", "bookshop", "w0")}
                clock["now"] = expires + 1
                await commit_one(node, finance.key, "create_account", {"account_id": "tick", "kind": "treasury", "currency": "CNY"}, "tick", clock)
                after_expiry = {name: account_balance(node, name) for name in (earmarked["id"], "edu-dc")}
                fault = find_money_fault(node.store.iterate_state_prefix("money/"))
                return refusals, first, again, earmarked, dibao, result, spend, forced, balances_before_expiry, after_expiry, fault, month

    refusals, first, again, earmarked, dibao, result, spend, forced, before, after, fault, month = asyncio.run(main())
    budgets = ["--region", "110000", "--month", month, "--wallet-budget", "edu-dc", "--bank-budget", "edu-bank", "--staff", "finance"]
    rerun = run_cli("money", "disburse", directory.root, "--programme", "education", *budgets, "--earmark-categories", "education", "--earmark-until", "2027-06-30",
                    "--instructions", tmp_path / "edu.csv")
    bad_date = run_cli("money", "disburse", directory.root, "--programme", "education", *budgets, "--earmark-categories", "education", "--earmark-until", "2027-02-30")
    half = run_cli("money", "disburse", directory.root, "--programme", "education", *budgets, "--earmark-categories", "education")
    dibao_cli = run_cli("money", "disburse", directory.root, "--programme", "dibao", *budgets, "--earmark-categories", "food", "--earmark-until", "2027-06-30")
    assert rerun.returncode == 0 and '"already_paid": 2' in rerun.stdout, rerun.stdout + rerun.stderr
    assert bad_date.returncode == 1 and "is not a date" in flatten(bad_date.stderr)
    assert half.returncode == 1 and "needs both" in flatten(half.stderr)
    assert dibao_cli.returncode == 1 and "unconditional cash" in flatten(dibao_cli.stderr)
    assert all("Traceback" not in result.stderr for result in (rerun, bad_date, half, dibao_cli))
    assert parse_earmark_terms("", "") is None
    assert parse_earmark_terms("school_uniform, education", "2026-03-31") == EarmarkTerms(("education", "school_uniform"), 1_775_001_600_000 - 8 * 3_600_000)  # 2026-04-01 00:00 in China
    assert "unconditional cash" in refusals[0] and "categories" in refusals[1] and "expiry has already passed" in refusals[2]
    assert first.cases == 3 and first.entitled_fen == 3 * award and first.to_wallets == {"payments": 2, "fen": 2 * award} and first.to_banks["payments"] == 0
    assert [entry["case_id"] for entry in first.not_paid] == ["e2.education"] and "device key" in first.not_paid[0]["reason"]
    assert first.to_json()["earmark"] == {"categories": ["education"], "expires_ms": START_MS + 60 * DAY_MS}
    assert again.already_paid == 2 and again.to_wallets["payments"] == 0
    assert earmarked["earmark"] == {"categories": ["education"], "expires_ms": START_MS + 60 * DAY_MS, "return_account_id": "edu-dc"}
    assert earmarked["holder"] is not None and earmarked["holder_key"] is not None and earmarked["owner"] == "civil-affairs"
    # Dibao went to the ordinary wallet, untouched by the earmarked account beside it.
    assert dibao.to_wallets == {"payments": 1, "fen": result["monthly_benefit_fen"]} and before["w0"] == result["monthly_benefit_fen"]
    assert spend == [ResultCode.OK, ResultCode.EARMARK_CATEGORY] and forced is ResultCode.UNCONDITIONAL_CASH
    assert before[earmarked["id"]] == award - 20_000 and before["bookshop"] == 20_000 and before["edu-dc"] == 1_000_000 - 2 * award
    assert after[earmarked["id"]] == 0 and after["edu-dc"] == 1_000_000 - 20_000  # both awards' unspent parts returned: all but what was spent
    assert fault is None


async def commit_one(node, key, action: str, args: dict, nonce: str, clock: dict) -> ResultCode:
    body = TransactionBody(node.genesis.chain_id, "money", action, args, key.public_key, nonce, clock["now"] + 3_600_000)
    envelope = sign_transaction(key.suite, key.seed, body)
    await node.submit_envelopes([envelope])
    return ResultCode((await node.wait_for_final_status(envelope.id, 10, with_proofs=False))["code"])


async def pay(node, bank, device, wallet: str, merchant: str, amount: int, counter: int, clock: dict) -> ResultCode:
    """The holder's phone signs the payment request the merchant's terminal showed; the merchant's bank submits it."""
    request = decode_payment_request(encode_payment_request(merchant, amount, f"r{counter}"))
    signed = {"wallet_account_id": wallet, **request, "counter": counter}
    args = {**signed, "holder_signature": sign_wallet_payment(node.suite, device.seed, node.genesis.chain_id, signed)}
    return await commit_one(node, bank, "pay_merchant", args, f"pay-{counter}", clock)

"""A living synthetic city on the embedded node: what ``reliefledger demo --households N`` builds.

Starting two months back in simulated time, in order: the agencies' data and the catalogue; N
households registered and a dibao case opened for each (with authorisation and a visit); the
cross-agency means test of every case; the township's opinions and public notices; eight days
later the county's decisions (a few cases are left awaiting the county, for a visitor to decide
from the dashboard); the money side (wallet classes, a year's budgets, a wallet with a device key
or a bank account per household, the city's merchants) and the month's disbursement run with the
bank's statement reconciled; retail spending from wallets (including a merchant cashing them out,
an injected case); problem reports from the 12349 hotline, some answered, the rest escalating as
days pass; a rainstorm declared with payments made first. Every step goes through the same desk,
contracts and commit path as real use; nothing is written around them. The injected cases are
written to ``ground-truth.json`` beside the chain, for the checks and models that must find them.
"""

import asyncio
import collections
import contextlib
import csv
import datetime
import hashlib
import json
import logging
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from reliefledger.ledger.contracts.retail import sign_wallet_payment
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.ledger.working_days import get_local_month
from reliefledger.node.agency_service import AgencyService, EmbeddedLedger
from reliefledger.node.agency_sources import SqliteSource
from reliefledger.node.casework import Casework
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.disbursement import EarmarkTerms, RunSettings, reconcile_statement, run_disbursement
from reliefledger.node.keys import generate_key
from reliefledger.node.means_test import run_means_tests
from reliefledger.node.peer import Node
from reliefledger.node.reports import ReportDesk
from reliefledger.node.staff import StaffDirectory
from reliefledger.report_rules import read_report_rules
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import DATABASE_FILE, build_plans, get_discovery_request_id, prepare_city, write_agency_data
from reliefledger.sim.merchants import Merchant, draw_purchase, generate_merchants
from reliefledger.sim.population import Population, generate_population
from reliefledger.wallet_files import read_wallet_classes
from reliefledger.web.sign_in import DemoCity

logger = logging.getLogger(__name__)
DAY_MS = 86_400_000
ORGANISATIONS = ("civil-affairs", *AGENCY_RESOURCES, "central-bank", "finance", "discipline-inspection", "emergency-management")
REPORT_CATEGORIES = ("service_failure", "person_in_difficulty", "fund_problem")
MEANS_TEST_CHUNK = 200
NOT_APPLYING_EVERY = 10
"""One household in ten never applies: the ones active discovery is for."""
OUTREACH_TASKS_MAX = 200
"""The discovery run opens at most this many outreach tasks (the highest scores first)."""
POPULATION_SEED = 2026
"""The demo city's population (a held-out city for evaluating the checks uses another seed)."""
BUDGET_MONTHS = 12
"""The programme's budgets are funded for a year of the month's payments."""
AWAITING_SHARE = 50
"""One eligible case in fifty (one to five) is left awaiting the county's decision."""
PROGRAMME, REGION, WALLET_BUDGET, BANK_BUDGET = "dibao", "110000", "dibao-dc", "dibao-bank"


@dataclass
class CityReport:
    """What the scenario did, for the demo's summary."""

    households: int = 0
    eligible: int = 0
    enrolled: int = 0
    paid_fen: int = 0
    retail_payments: int = 0
    reports: int = 0
    escalated: int = 0
    relief_payments: int = 0
    cash_outs: int = 0
    objections: int = 0
    reviews: int = 0
    earmarked_awards: int = 0
    alerts: int = 0
    outreach_tasks: int = 0
    outreach_in_hardship: int = 0
    discovery_gathered: int = 0
    """Households with no case whose discovery signals the agencies and the registry gave."""
    discovery_skipped: int = 0
    """Of the outreach tasks, those whose household is in fact eligible (the synthetic truth)."""
    earmarked_spent_fen: int = 0
    earmarked_returned_fen: int = 0
    awaiting_decision: list[str] = field(default_factory=list)
    """Cases past their public notice, left for the county to decide."""
    awaiting_households: list[str] = field(default_factory=list)
    wallet_devices: dict[str, Any] = field(default_factory=dict)
    """Wallet account id → the holder's phone key (kept by the demo process only)."""
    merchants: tuple[Merchant, ...] = ()


async def build_city(directory: ChainDirectory, node: Node, casework: Casework, population: Population, clock: dict[str, int],
                     progress: Callable[[str], None] = lambda step: None, seed: int = 7) -> CityReport:
    """Run the city's first months through the desk; ``clock["now"]`` is the node's block clock."""
    report = CityReport(households=len(population.households))
    generator = random.Random(seed)
    write_agency_data(population, directory.root, agency_urls="http://127.0.0.1:1")
    progress("registering households and opening cases")
    city = await prepare_city(directory, node, casework, population, applies=lambda index, household: index % NOT_APPLYING_EVERY != NOT_APPLYING_EVERY - 1)
    staff = StaffDirectory(directory)
    for label, organisation, roles, region in (("county", "civil-affairs", ["approver"], "110000"), ("finance", "civil-affairs", ["finance_officer"], "110000"),
                                               ("hotline", "civil-affairs", ["hotline_operator"], "110000"),
                                               ("emergency", "emergency-management", ["approver"], "110000"),
                                               ("township-finance", "civil-affairs", ["finance_officer"], "110105001")):
        await admit_staff(directory, node, organisation=organisation, label=label, roles=roles, region=region)
    worker, county, finance = staff.get("cw"), staff.get("county"), staff.get("finance")
    progress("means tests across the agencies")
    services = {agency: AgencyService(agency, directory.read_organisation_key(agency),
                                      SqliteSource(directory.root / DATABASE_FILE, table=resource.table, suite=node.suite, network_key=casework.network_key),
                                      EmbeddedLedger(node)) for agency, resource in AGENCY_RESOURCES.items()}
    plans = [(plan, services[plan.agency]) for plan in build_plans()]
    case_ids = [city.case_ids[household.number] for household in population.households if household.number in city.case_ids]
    outcomes = []
    for start in range(0, len(case_ids), MEANS_TEST_CHUNK):
        outcomes.extend(await run_means_tests(casework, worker, case_ids[start:start + MEANS_TEST_CHUNK], plans))
    eligible = {case_id: outcome["result"]["monthly_benefit_fen"] for case_id, outcome in zip(case_ids, outcomes)
                if outcome.get("complete") and outcome.get("result", {}).get("eligible")}
    report.eligible = len(eligible)
    awaiting = set(list(eligible)[-min(5, max(1, len(eligible) // AWAITING_SHARE)):]) if eligible else set()
    progress("opinions and public notices")

    async def give_opinion(case_id: str) -> None:
        if case_id in eligible:
            await casework.give_opinion(worker, case_id, recommendation="approve", reasons=[])
            await casework.start_notice(worker, case_id)
        else:
            await casework.give_opinion(worker, case_id, recommendation="refuse", reasons=["income_above_standard"])

    async def decide(case_id: str) -> None:
        if case_id in awaiting:
            return
        if case_id in eligible:
            await casework.decide(county, case_id, outcome="approve", reasons=[], monthly_benefit_fen=eligible[case_id])
        else:
            await casework.decide(county, case_id, outcome="refuse", reasons=["income_above_standard"], monthly_benefit_fen=0)

    await _gather(give_opinion, case_ids)
    holders = {household.number: compute_household_pseudonym(node.suite, casework.network_key, household.number) for household in population.households}
    pupils = [number for index, number in enumerate(holders) if index % 3 == 0][:max(1, len(holders) // 150)]  # wallet households (every third)
    progress("education subsidies applied for")
    education_cases = await _apply_for_education(casework, staff, pupils, holders)
    progress("objections during the notice, investigated again")
    report.objections = await _object(casework, worker, [case_id for case_id in eligible if case_id not in awaiting], plans)
    clock["now"] += 8 * DAY_MS
    progress("the county's decisions")
    await _gather(decide, case_ids)
    for case_id in education_cases:
        await casework.decide(county, case_id, outcome="approve", reasons=[], monthly_benefit_fen=EDUCATION_AWARD_FEN)
    report.enrolled = len(eligible) - len(awaiting)
    report.awaiting_decision = sorted(awaiting)
    report.awaiting_households = [holders[household.number] for household in population.households if city.case_ids.get(household.number) in awaiting]
    progress("budgets, wallets and the month's payments")
    devices = {number: generate_key(node.suite, "phone") for number in list(holders)[::3]}
    report.merchants = generate_merchants(seed, len(population.households), tuple(sorted({household.township for household in population.households})))
    await _open_accounts(directory, casework, staff, holders, devices, sum(eligible.values()) * BUDGET_MONTHS, report.merchants)
    report.wallet_devices = {f"w{index}": devices[number] for index, number in enumerate(holders) if number in devices}
    enrolled = next((case_id for case_id in eligible if case_id not in awaiting), None)
    clock["now"] += 25 * DAY_MS
    if enrolled is not None:
        paid = await pay_month(node, finance.key, casework.get_case(enrolled)["enrolment"]["from_month"])
        report.paid_fen = paid["wallet_fen"] + paid["bank_fen"]
    progress("periodic reviews")
    report.reviews = await _review(casework, worker, [case_id for case_id in eligible if case_id not in awaiting], plans)
    progress("education subsidies paid, earmarked for school costs")
    await _pay_education(casework, staff, report, education_cases, clock, generator)
    progress("shopping with wallets")
    report.retail_payments, report.cash_outs = await _spend(casework, directory, report.wallet_devices, report.merchants, generator)
    progress("problem reports from the 12349 hotline")
    report.reports, report.escalated = await _file_reports(casework, staff, population, clock, generator)
    progress("a rainstorm: paying first")
    report.relief_payments = await _relief(casework, staff, holders, clock)
    progress("analytics: alerts and active discovery")
    await _assist(directory, casework, staff, population, holders, report, seed, services)
    report.earmarked_returned_fen = sum(transfer["amount"] for _, transfer in node.store.iterate_state_prefix("money/transfer/earmark-return."))
    _write_ground_truth(directory.root / "ground-truth.json", population, holders, report)
    return report


async def pay_month(node: Node, key: Any, month: str) -> dict[str, int]:
    """The month's dibao run for the whole city, then the demo bank's statement reconciled (the
    demo's bank is punctual and pays every instruction): what the finance officer does each month."""
    with tempfile.TemporaryDirectory(prefix="reliefledger-demo-bank-") as folder:
        instructions, statement = Path(folder) / "instructions.csv", Path(folder) / "statement.csv"
        paid = await run_disbursement(node, key, RunSettings(PROGRAMME, REGION, month, WALLET_BUDGET, BANK_BUDGET), instruction_file=instructions)
        _write_statement(instructions, statement)
        await reconcile_statement(node, key, statement)
    return {"cases": paid.cases, "already_paid": paid.already_paid, "not_paid": len(paid.not_paid), "wallet_payments": paid.to_wallets["payments"],
            "wallet_fen": paid.to_wallets["fen"], "bank_payments": paid.to_banks["payments"], "bank_fen": paid.to_banks["fen"]}


async def _assist(directory: ChainDirectory, casework: Casework, staff: StaffDirectory, population: Population, holders: dict[str, str], report: CityReport,
                  seed: int, services: dict[str, AgencyService]) -> None:
    """What issue 9 adds to the city: an analyst puts the anomaly rules and a discovery model in
    service on the ledger; the rules' alerts go to people's queues; the model, trained on another
    synthetic population, scores the households that never applied — their signals gathered from
    the agencies under the approved discovery requests (brackets only, every answer recorded) and
    from the registry (every read logged) — and opens outreach visits for the likeliest, citing the
    answers used. Every task is a report a person closes."""
    import numpy

    from reliefledger.analytics.alerts import RULES_CALIBRATION, RULES_EVALUATION, Candidate, file_alerts, file_outreach_tasks, put_rules_in_service
    from reliefledger.analytics.checks import run_checks
    from reliefledger.analytics.discovery import THRESHOLD, build_matrix, compute_digest, evaluate, is_in_hardship, to_basis_points, to_matrix, train
    from reliefledger.analytics.discovery_signals import DISCOVERY_QUESTIONS, compute_signals
    from reliefledger.analytics.discovery_run import build_discovery_plans, gather_signals
    from reliefledger.analytics.export import export_projections
    from reliefledger.analytics.merchant_model import find_outlying_merchants, get_parameters_digest, read_profiles
    from reliefledger.analytics.queries import open_analytics

    node = casework.node
    await admit_staff(directory, node, organisation="civil-affairs", label="analyst", roles=["analyst"], region=REGION)
    analyst = staff.get("analyst")
    folder = directory.root / "analytics"
    await asyncio.to_thread(export_projections, directory.store_path, folder)
    connection = open_analytics(folder)
    try:
        alerts = run_checks(connection)
        merchant_regions = {account["id"]: account.get("region") or "" for _, account in node.store.iterate_state_prefix("money/account/") if account["kind"] == "merchant"}
        outlying = find_outlying_merchants(connection, merchant_regions)
        profiles = read_profiles(connection)  # what the forest was fitted on: its training data's digest
    finally:
        connection.close()
    # The held-out city is rebuilt from its seed by the evaluation; its description's digest names it.
    await put_rules_in_service(casework, analyst, "rules-2026-11-1", calibration_digest=hashlib.sha256(RULES_CALIBRATION.encode()).hexdigest(),
                               evaluation=RULES_EVALUATION)
    report.alerts = len((await file_alerts(casework, analyst, alerts, "rules-2026-11-1", fallback_region=REGION)).filed)
    await casework.submit(analyst, "models", "register_model", {"model_id": "merchants-2026-11-1", "kind": "anomaly_model", "version": "2026.11.1",
                                                                 "training_digest": compute_digest(profiles.matrix), "parameters_digest": get_parameters_digest(),
                                                                 "evaluation": {"merchants_profiled": len(profiles.merchants), "merchants_flagged": len(outlying)}})
    report.alerts += len((await file_alerts(casework, analyst, outlying, "merchants-2026-11-1", fallback_region=REGION)).filed)
    pack = casework.get_current_pack()
    time_ms = node.tip.time_ms
    training = generate_population(seed=seed + 1, households=DISCOVERY_TRAINING_HOUSEHOLDS).households
    held_out = generate_population(seed=seed + 2, households=DISCOVERY_TRAINING_HOUSEHOLDS).households
    model = train(build_matrix(training), numpy.array([is_in_hardship(household, pack, time_ms) for household in training]))
    figures = evaluate(model, build_matrix(held_out), numpy.array([is_in_hardship(household, pack, time_ms) for household in held_out]),
                       [household.township[:6] for household in held_out])
    await casework.submit(analyst, "models", "register_model", {"model_id": "discovery-2026-11-1", "kind": "discovery_model", "version": "2026.11.1",
                                                                 "training_digest": model.training_digest, "parameters_digest": model.parameters_digest,
                                                                 "evaluation": to_basis_points(figures)})
    applied = {case["household"] for _, case in node.store.iterate_state_prefix("assistance/case/")}
    strangers = {holders[household.number]: household for household in population.households if holders[household.number] not in applied}
    plans = [(plan, services[plan.agency]) for plan in build_discovery_plans({agency: get_discovery_request_id(agency) for agency in DISCOVERY_QUESTIONS})]
    as_of = datetime.datetime.fromtimestamp(time_ms / 1000, datetime.timezone.utc).date()
    run = await gather_signals(casework, staff.get("cw"), list(strangers), plans, as_of=as_of)
    report.discovery_gathered, report.discovery_skipped = len(run.gathered), len(run.skipped)
    for reason, count in collections.Counter(run.skipped.values()).most_common():
        logger.warning("discovery skipped %d households: %s", count, reason)
    matrix = to_matrix([compute_signals(gathered.persons) for gathered in run.gathered])
    scores = model.score(matrix) if run.gathered else numpy.array([])
    ranked = sorted((index for index in range(len(run.gathered)) if scores[index] >= THRESHOLD), key=lambda index: -scores[index])[:OUTREACH_TASKS_MAX]
    candidates = [Candidate(run.gathered[index].household, run.gathered[index].region, float(scores[index]), tuple(model.explain(matrix[index])),
                            run.gathered[index].evidence) for index in ranked]
    report.outreach_tasks = len((await file_outreach_tasks(casework, analyst, candidates, "discovery-2026-11-1")).filed)
    report.outreach_in_hardship = sum(1 for index in ranked if is_in_hardship(strangers[run.gathered[index].household], pack, time_ms))


DISCOVERY_TRAINING_HOUSEHOLDS = 4000
"""The discovery model of the demo is trained on, and evaluated on, synthetic populations this size."""


def _write_ground_truth(path: Path, population: Population, holders: dict[str, str], report: CityReport) -> None:
    """The injected cases by pseudonym (no names, no ID numbers): what fraud checks must find."""
    truth = {"households": [{"household": holders[household.number], "case": household.injected_case} for household in population.households
                            if household.injected_case is not None],
             "merchants": [{"account_id": merchant.account_id, "case": "cashing_out"} for merchant in report.merchants if merchant.cashing_out]}
    path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")


EDUCATION_AWARD_FEN = 80_000
"""An education subsidy of 800 yuan, earmarked for school costs until five days after it is paid."""


async def _apply_for_education(casework: Casework, staff: StaffDirectory, numbers: list[str], holders: dict[str, str]) -> list[str]:
    """Households with a wallet apply for an education subsidy (a special programme without a
    means test: authorisation, visit and the township's opinion, then the county decides)."""
    worker, second = staff.get("cw"), staff.get("cw-2")
    cases = []
    for index, number in enumerate(numbers):
        answer = await casework.apply(worker, application_id=f"edu{index}", programmes=["education"], channel="in_person", application={},
                                      household=holders[number], related_to_staff=False)
        case_id = answer["cases"][0]["id"]
        await casework.record_authorisation(worker, case_id, {"signed": True})
        await casework.record_visit(worker, case_id, report={"visited": True}, staff=[worker.key.public_key, second.key.public_key], by_county=False)
        await casework.give_opinion(worker, case_id, recommendation="approve", reasons=[])
        cases.append(case_id)
    return cases


async def _pay_education(casework: Casework, staff: StaffDirectory, report: CityReport, cases: list[str], clock: dict[str, int], generator: random.Random) -> None:
    """The education awards go into earmarked accounts (spendable at education merchants only, by
    the household's own phone) that expire in five days; most holders buy school things at the
    bookshop with part of it; what is left returns to the budget at expiry (the reports' days pass)."""
    finance, central, bank = staff.get("finance"), staff.get("central"), staff.get("bank")
    limited = ["debits_must_not_exceed_credits"]
    for member, action, args in (
        (finance, "create_account", {"account_id": "edu-dc", "kind": "programme_budget", "currency": "CNY-DC", "flags": limited}),
        (finance, "create_account", {"account_id": "edu-bank", "kind": "programme_budget", "currency": "CNY", "flags": limited}),
        (central, "create_transfers", {"transfers": [{"transfer_id": "fund-edu-dc", "code": 1, "debit_account_id": "issuance", "credit_account_id": "edu-dc",
                                                      "amount": EDUCATION_AWARD_FEN * max(1, len(cases))}]}),
        (bank, "create_account", {"account_id": "bookshop", "kind": "merchant", "currency": "CNY-DC", "category": "education", "flags": limited}),
    ):
        await casework.submit(member, "money", action, args)
    if not cases:
        return
    month = get_month(casework, cases[0])
    paid = await run_disbursement(casework.node, finance.key, RunSettings("education", REGION, month, "edu-dc", "edu-bank",
                                                                         earmark=EarmarkTerms(("education",), clock["now"] + 5 * DAY_MS)))
    report.earmarked_awards = paid.to_wallets["payments"]
    devices_by_holder = {casework.node.store.get(f"money/account/{wallet_id}")["holder_key"]: device for wallet_id, device in report.wallet_devices.items()}
    for _, account in list(casework.node.store.iterate_state_prefix("money/account/education.")):
        device = devices_by_holder.get(account["holder_key"])
        if device is None or generator.randrange(4) == 0:  # one household in four never spends it
            continue
        amount = generator.randint(10_000, EDUCATION_AWARD_FEN - 10_000)
        await casework.submit(bank, "money", "pay_merchant", sign_purchase(casework, account["id"], device, "bookshop", amount, 1))
        report.earmarked_spent_fen += amount


def get_month(casework: Casework, case_id: str) -> str:
    """The month (China time) a case was decided in: when a one-off award is due."""
    return get_local_month(casework.get_current_pack().calendar, casework.get_case(case_id)["decision"]["time_ms"])


async def _object(casework: Casework, worker: Any, in_notice: list[str], plans: list[Any]) -> int:
    """A neighbour objects to one notice in a hundred (at least one): the case goes back to
    investigation, is means-tested again across the agencies, and a new notice starts."""
    objected = in_notice[:max(1, len(in_notice) // 100)] if in_notice else []
    for case_id in objected:
        await casework.object(worker, case_id, {"statement": "邻居反映家中有车辆"})
    for outcome in await run_means_tests(casework, worker, objected, plans, attempt=2):
        if not outcome.get("complete") or not outcome.get("result", {}).get("eligible"):
            raise RuntimeError(f"the second means test of {outcome['case_id']} did not confirm it: {outcome}")
        await casework.give_opinion(worker, outcome["case_id"], recommendation="approve", reasons=[])
        await casework.start_notice(worker, outcome["case_id"])
    return len(objected)


async def _review(casework: Casework, worker: Any, enrolled: list[str], plans: list[Any]) -> int:
    """The periodic review of one enrolled case in a hundred (at least one): the means test runs
    again across the agencies and is recorded as the case's review; the circumstances have not
    changed, so the benefit stays as it is."""
    reviewed = enrolled[-max(1, len(enrolled) // 100):] if enrolled else []
    outcomes = await run_means_tests(casework, worker, reviewed, plans, attempt=3)
    return sum(1 for outcome in outcomes if outcome.get("complete") and "error" not in outcome)


async def _gather(step: Callable[[str], Any], case_ids: list[str], concurrency: int = 200) -> None:
    """Take one step on many cases at once (each case's own steps stay in order): blocks fill up."""
    gate = asyncio.Semaphore(concurrency)

    async def one(case_id: str) -> None:
        async with gate:
            await step(case_id)

    await asyncio.gather(*(one(case_id) for case_id in case_ids))


async def _open_accounts(directory: ChainDirectory, casework: Casework, staff: StaffDirectory, holders: dict[str, str], devices: dict[str, Any],
                         budget_fen: int, merchants: tuple[Merchant, ...]) -> None:
    """Wallet classes, issuance and the treasury, the programme's budgets funded, a wallet (with its
    holder's device key) for every third household and a bank account for the others, merchants."""
    await admit_staff(directory, casework.node, organisation="central-bank", label="central", roles=["finance_officer"], region="110000")
    await admit_staff(directory, casework.node, organisation="operator-bank", label="bank", roles=["finance_officer"], region="110000")
    central, bank, finance = staff.get("central"), staff.get("bank"), staff.get("finance")
    limited = ["debits_must_not_exceed_credits"]
    steps = [
        (central, "publish_wallet_classes", read_wallet_classes()),
        (central, "create_account", {"account_id": "issuance", "kind": "central_bank", "currency": "CNY-DC"}),
        (finance, "create_account", {"account_id": "treasury", "kind": "treasury", "currency": "CNY"}),
        (finance, "create_account", {"account_id": "dibao-bank", "kind": "programme_budget", "currency": "CNY", "flags": limited}),
        (finance, "create_account", {"account_id": "dibao-dc", "kind": "programme_budget", "currency": "CNY-DC", "flags": limited}),
        (finance, "create_transfers", {"transfers": [{"transfer_id": "fund-dibao-bank", "code": 1, "debit_account_id": "treasury",
                                                       "credit_account_id": "dibao-bank", "amount": max(budget_fen, 1)}]}),
        (central, "create_transfers", {"transfers": [{"transfer_id": "fund-dibao-dc", "code": 1, "debit_account_id": "issuance",
                                                       "credit_account_id": "dibao-dc", "amount": max(budget_fen, 1)}]}),
    ] + [(bank, "create_account", {"account_id": merchant.account_id, "kind": "merchant", "currency": "CNY-DC", "category": merchant.category,
                                    "region": merchant.township, "flags": limited}) for merchant in merchants]
    for member, action, args in steps:
        await casework.submit(member, "money", action, args)
    opened = []
    for index, (number, holder) in enumerate(holders.items()):
        if number in devices:
            args = {"account_id": f"w{index}", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2021-upgraded", "holder": holder,
                    "holder_key": devices[number].public_key, "flags": limited}
        else:
            args = {"account_id": f"b{index}", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": holder, "flags": limited}
        opened.append(await casework.order(bank, "money", "create_account", args, preview=False))
    for envelope in opened:
        status = await casework.node.wait_for_final_status(envelope.id, 60, with_proofs=False)
        if status is None or status["status"] != "committed":
            raise RuntimeError(f"opening a household's account ended {status}")


def _write_statement(instructions: Path, statement: Path) -> None:
    """The bank pays every instruction (the demo's bank is punctual)."""
    with open(instructions, newline="", encoding="utf-8") as source, open(statement, "w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(["instruction_id", "status", "amount_fen", "bank_reference", "reason"])
        for row in csv.DictReader(source):
            writer.writerow([row["instruction_id"], "paid", row["amount_fen"], f"B-{row['instruction_id'][-8:]}", ""])


def sign_purchase(casework: Casework, wallet_id: str, device: Any, merchant: str, amount: int, counter: int) -> dict[str, Any]:
    """A retail payment as the holder's phone signs it for the merchant's request."""
    payment = {"wallet_account_id": wallet_id, "merchant_account_id": merchant, "amount": amount, "request_id": f"q{counter}", "counter": counter}
    return {**payment, "holder_signature": sign_wallet_payment(casework.node.suite, device.seed, casework.node.genesis.chain_id, payment)}


async def _spend(casework: Casework, directory: ChainDirectory, devices: dict[str, Any], merchants: tuple[Merchant, ...],
                 generator: random.Random) -> tuple[int, int]:
    """Holders pay at merchants with their phones: the merchant's bank submits each signed payment.
    Answers the payments taken and, of them, those at the merchant cashing out wallets."""
    bank = StaffDirectory(directory).get("bank")
    payments = []
    for wallet_id, device in devices.items():
        wallet = casework.node.store.get(f"money/account/{wallet_id}")
        purchase = draw_purchase(generator, merchants, wallet["credits_posted"] - wallet["debits_posted"])
        if purchase is not None:
            payments.append(sign_purchase(casework, wallet_id, device, purchase[0].account_id, purchase[1], 1))
    envelopes = [await casework.order(bank, "money", "pay_merchant", payment, preview=False) for payment in payments]
    bad = {merchant.account_id for merchant in merchants if merchant.cashing_out}
    paid = cashed = 0
    for envelope, payment in zip(envelopes, payments):
        status = await casework.node.wait_for_final_status(envelope.id, 60, with_proofs=False)
        taken = status is not None and status["status"] == "committed"  # one the wallet's limits refuse is the demo's bad luck
        paid += taken
        cashed += taken and payment["merchant_account_id"] in bad
    return paid, cashed


async def _file_reports(casework: Casework, staff: StaffDirectory, population: Population, clock: dict[str, int], generator: random.Random) -> tuple[int, int]:
    """Reports from the hotline; the county answers half of them; days pass and the rest escalate."""
    await casework.submit(staff.get("policy"), "reports", "publish_rules", read_report_rules())
    desk = ReportDesk(casework)
    hotline = staff.get("hotline")
    handlers = {}
    for county in sorted({household.township[:6] for household in population.households}):
        await admit_staff(staff.directory, casework.node, organisation="civil-affairs", label=f"handler-{county}", roles=["report_handler"], region=county)
        handlers[county] = staff.get(f"handler-{county}")
    filed = []
    for number in range(max(6, len(population.households) // 10)):
        household = generator.choice(population.households)
        answer = await desk.file(hotline, region=household.township, category=generator.choice(REPORT_CATEGORIES), urgency=generator.choice(["normal", "urgent"]),
                                 description={"statement": f"12349 来电 {number}"}, channel="hotline")
        filed.append(answer["report_id"])
    for report_id in filed[::2]:
        report = casework.node.store.get(f"reports/report/{report_id}")
        handler = handlers.get(report["holder"]["region"])
        if handler is not None and report["holder"]["organisation"] == "civil-affairs" and report["category"] != "person_in_difficulty":
            await desk.step(handler, "acknowledge", report_id)
            await desk.step(handler, "resolve", report_id, outcome="resolved", outcome_commitment=desk.store_note(report_id, "report_outcome", {"done": True}))
    clock["now"] += 6 * DAY_MS
    await casework.submit(staff.get("policy"), "reports", "publish_rules", read_report_rules())  # a block at the new time: deadlines (and expiries) are checked
    escalated = sum(1 for report_id in filed if casework.node.store.get(f"reports/report/{report_id}")["escalations"])
    return len(filed), escalated


async def _relief(casework: Casework, staff: StaffDirectory, holders: dict[str, str], clock: dict[str, int]) -> int:
    """Emergency management declares a rainstorm; the township pays its first victims from the reserve."""
    emergency, township_finance, finance = staff.get("emergency"), staff.get("township-finance"), staff.get("finance")
    now = clock["now"]
    await casework.submit(township_finance, "money", "create_account", {"account_id": "reserve-110105001", "kind": "township_reserve_fund", "currency": "CNY",
                                                                        "flags": ["debits_must_not_exceed_credits"], "region": "110105001"})
    await casework.submit(finance, "money", "create_transfers", {"transfers": [{"transfer_id": "fund-reserve-110105001", "code": 1, "debit_account_id": "treasury",
                                                                                "credit_account_id": "reserve-110105001", "amount": 500_000}]})
    await casework.submit(emergency, "relief", "declare_event", {"event_id": "rainstorm-demo", "region": "110105", "hazard": "rainstorm", "starts_ms": now - DAY_MS,
                                                                 "ends_ms": now + 30 * DAY_MS, "ceiling_fen": 100_000})
    paid = 0
    for index, number in enumerate(list(holders)[:10]):
        account = f"b{index}" if casework.node.store.get(f"money/account/b{index}") else None
        if account is None:
            continue
        commitment = hashlib.sha256(f"recipient-{index}".encode()).hexdigest()
        await casework.submit(township_finance, "relief", "pay_first", {"event_id": "rainstorm-demo", "payment_id": f"p{index}", "reserve_account_id": "reserve-110105001",
                                                                        "recipient_account_id": account, "amount_fen": 50_000, "recipient_commitment": commitment})
        paid += 1
    return paid


async def keep_city_alive(casework: Casework, staff: StaffDirectory, population: Population, report: CityReport, pace_s: float, seed: int = 11) -> None:
    """After the build the city goes on at a steady pace, so the dashboard's blocks, reports and
    takings move while someone watches: every ``pace_s`` seconds the hotline takes a call and a
    holder pays at a shop with their phone. Runs until cancelled; a refused step is logged and the
    city goes on."""
    generator = random.Random(seed)
    desk, hotline, bank = ReportDesk(casework), staff.get("hotline"), staff.get("bank")
    wallets = sorted(report.wallet_devices)
    number = 0
    while True:
        await asyncio.sleep(pace_s)
        number += 1
        household = generator.choice(population.households)
        try:
            await desk.file(hotline, region=household.township, category=generator.choice(REPORT_CATEGORIES), urgency="normal",
                            description={"statement": f"12349 来电（持续）{number}"}, channel="hotline")
            balances = {wallet_id: account["credits_posted"] - account["debits_posted"]
                        for wallet_id in wallets if (account := casework.node.store.get(f"money/account/{wallet_id}")) is not None}
            with_money = [wallet_id for wallet_id, balance in balances.items() if balance >= 2_000]  # a holder with something to spend
            if with_money:
                wallet_id = generator.choice(with_money)
                purchase = draw_purchase(generator, report.merchants, balances[wallet_id])
                if purchase is not None:
                    counter = 1_000_000 + int(casework.node.clock_ms() // 1000) * 100 + number % 100  # new for every tick of this process
                    await casework.submit(bank, "money", "pay_merchant",
                                          sign_purchase(casework, wallet_id, report.wallet_devices[wallet_id], purchase[0].account_id, purchase[1], counter))
        except LedgerInputError as error:
            logger.warning("a step of the living city was refused: %s", error)
        except Exception:  # noqa: BLE001 - the city goes on; what went wrong is logged in full
            logger.exception("a step of the living city failed")


ANALYTICS_EVERY_S = 60.0
"""How often the demo brings its analytics store up to date while it is served."""


async def keep_analytics_fresh(store_path: Path, folder: Path, every_s: float) -> None:
    """Export what changed on the ledger every ``every_s`` seconds (in a worker thread: the node's
    event loop goes on). What an agency would run from cron with ``reliefledger analytics export``."""
    from reliefledger.analytics.export import AnalyticsError, export_projections

    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(export_projections, store_path, folder)
        except (AnalyticsError, OSError) as error:
            logger.warning("the analytics export failed: %s", error)
        except Exception:  # noqa: BLE001 - the next export tries again; the failure is logged in full
            logger.exception("the analytics export failed")


def _list_wallet_households(node: Node, report: CityReport, count: int = 8) -> list[str]:
    """Households holding the first wallets, for the sign-in picker."""
    households = []
    for wallet_id in sorted(report.wallet_devices)[:count]:
        account = node.store.get(f"money/account/{wallet_id}")
        if account is not None and account.get("holder"):
            households.append(account["holder"])
    return households


async def run_city_demo(root: Path, *, households: int, port: int, serve_seconds: float, console: Any, extend_app: Callable[[Any, Any, DemoCity], None],
                        pace_s: float = 5.0, seed: int = POPULATION_SEED) -> CityReport:
    """Found the city's chain, build its first months with progress shown, then serve the API, the
    desk and the dashboard on the embedded node until Ctrl+C (or for ``serve_seconds``)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from reliefledger.interop.service import open_interop
    from reliefledger.node.api import create_app
    from reliefledger.node.desk import create_desk_router, open_desk
    from reliefledger.sim.demo_civil_registry import show_a_death, start_demo_civil_registry
    from reliefledger.sim.demo_partner import DISBURSER, mount_demo_inbox, onboard_demo_partner
    from reliefledger.node.directory import initialise_directory
    from reliefledger.node.demo import keep_serving
    from reliefledger.node.runtime import open_node, read_clock_ms, start_server
    from reliefledger.node.settings import NodeSettings

    start_ms = read_clock_ms() - 45 * DAY_MS
    clock = {"now": start_ms, "simulated": True}
    directory = initialise_directory(root, suite_name="ed25519-sha256", organisation_ids=list(ORGANISATIONS), region="110000", chain_id="reliefledger-city",
                                     time_ms=start_ms - 1000, settings=NodeSettings(port=port, block_wait_ms_max=5))
    population = generate_population(seed=seed, households=households)

    def clock_ms() -> int:
        return clock["now"] if clock["simulated"] else max(clock["now"], read_clock_ms())

    async with open_node(directory, clock_ms=clock_ms) as node:
        with open_desk(directory, node, directory.read_settings(), clock_ms=clock_ms) as casework:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task(f"a city of {households} households", total=None)
                report = await build_city(directory, node, casework, population, clock, progress=lambda step: progress.update(task, description=step),
                                          seed=seed)
            clock["simulated"] = False
            from reliefledger.analytics.export import export_projections

            exported = await asyncio.to_thread(export_projections, directory.store_path, root / "analytics")
            app = create_app(node, casework=create_desk_router(directory, casework))
            staff = StaffDirectory(directory)
            labels = ("cw", "county", "finance", "hotline", "bank", *sorted(f"handler-{county}" for county in {household.township[:6] for household in population.households}))
            finance_key = staff.get("finance").key
            households_to_pick = tuple(dict.fromkeys([*report.awaiting_households, *_list_wallet_households(node, report)]))
            city = DemoCity(casework=casework, staff=staff, staff_labels=labels, wallet_devices=report.wallet_devices, merchant_bank="bank",
                            run_payments=lambda month: pay_month(node, finance_key, month), households=households_to_pick)
            extend_app(app, node, city)
            partner_folder = await onboard_demo_partner(directory, casework, population, port, REGION, WALLET_BUDGET)
            mount_demo_inbox(app)
            civil_registry = await start_demo_civil_registry(directory, casework, population, port, REGION, clock_ms)
            standards = contextlib.AsyncExitStack()
            standards.push_async_callback(civil_registry.close)
            registries = await standards.enter_async_context(open_interop(root, casework, staff.get("interop"), app, registrar=staff.get("registrar"),
                                                                          subscribe_every_s=5.0, disburser=staff.get(DISBURSER)))
            server, serving = await start_server(app, host="127.0.0.1", port=port)
            console.print(f"[green]the city is on the ledger[/]: {report.households} households, {report.eligible} eligible ({report.enrolled} enrolled, "
                          f"{len(report.awaiting_decision)} awaiting the county, {report.objections} objected to and re-investigated, {report.reviews} reviewed), "
                          f"{report.paid_fen / 100:,.2f} yuan paid, {report.earmarked_awards} education subsidies earmarked "
                          f"({report.earmarked_spent_fen / 100:,.2f} yuan spent at the bookshop, {report.earmarked_returned_fen / 100:,.2f} returned at expiry), {report.retail_payments} shop payments "
                          f"({report.cash_outs} at a merchant cashing out wallets), {report.alerts} alerts filed, {report.outreach_tasks} outreach tasks opened by discovery "
                          f"(signals of {report.discovery_gathered} households with no case shared by the agencies in brackets; "
                          f"{report.outreach_in_hardship} of the tasks truly in hardship), {report.reports} reports "
                          f"({report.escalated} escalated), {report.relief_payments} disaster payments made first; height {node.tip.height}")
            console.print(f"analytics store: {root / 'analytics'} (Parquet, up to height {exported.to_height}; refreshed every {ANALYTICS_EVERY_S:g} s)")
            console.print(f"dashboard: http://127.0.0.1:{port}/   ledger: http://127.0.0.1:{port}/ledger   API: http://127.0.0.1:{port}/docs")
            console.print(f"civil registry (simulated, crvs_api): {civil_registry.url}; {await show_a_death(civil_registry, registries)}", highlight=False)
            console.print(f"DCI social registry: http://127.0.0.1:{port}/dci/social/registry/…; G2P Connect: http://127.0.0.1:{port}/g2p/…; "
                          "the demo partner's key, secret and example messages: "
                          f"{partner_folder} (docs/interop.md)", highlight=False)
            if report.awaiting_decision:
                console.print(f"sign in as [bold]county[/] at http://127.0.0.1:{port}/signin to decide {', '.join(report.awaiting_decision)}; "
                              f"as [bold]finance[/] to pay the next month; as a merchant to take a payment")
            alive = [asyncio.create_task(keep_city_alive(casework, staff, population, report, pace_s), name="city-alive"),
                     asyncio.create_task(keep_analytics_fresh(directory.store_path, root / "analytics", ANALYTICS_EVERY_S), name="analytics-export")]
            try:
                await keep_serving(server, serving, serve_seconds, console)
            finally:
                for task in alive:
                    task.cancel()
                await asyncio.gather(*alive, return_exceptions=True)
                await standards.aclose()
    return report

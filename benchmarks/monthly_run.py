"""The monthly disbursement run for N enrolled households, timed. Prints JSON.

Set-up (not timed): a Beijing chain of civil affairs, the operator bank and the central bank; N
households taken through the case workflow by signed transactions pushed through the node's
commit path in waves — register, apply, authorise, visit (two staff), means test (zero income,
so each is eligible for the full standard), opinion, public notice, then, the clock moved past
the notice, the county's decision — each household given a bank account, or for one in three a
digital-currency wallet, at the operator bank; the programme's budgets funded. Personal data is
not involved: the benchmark uses digests where the desk would put vault commitments.

Timed: ``run_disbursement`` for the month — plan from the enrolled cases, budget checks, payments
64 to a transaction (wallets paid, bank payments reserved as pending), the instruction file.

    .venv/bin/python benchmarks/monthly_run.py --households 100000
    .venv/bin/python benchmarks/monthly_run.py --households 1000000 --keep /tmp/run-1m --setup-only
    .venv/bin/python benchmarks/monthly_run.py --keep /tmp/run-1m      # then timed, on a quiet machine
"""

import argparse
import asyncio
import hashlib
import itertools
import shutil
import json
import tempfile
import time
from pathlib import Path
from typing import Iterable

from reliefledger.ledger.policy import HouseholdFacts, compute_facts_digest, evaluate_eligibility
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.directory import ChainDirectory, initialise_directory
from reliefledger.node.disbursement import RunSettings, run_disbursement
from reliefledger.node.keys import KeyFile, generate_key, read_key, write_key
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.policy_files import get_default_policy_path, read_policy_pack
from reliefledger.wallet_files import read_wallet_classes

START_MS = 1_767_225_600_000 + 40 * 86_400_000  # 2026-02-10
DAY_MS = 86_400_000
TOWNSHIP = "110105001"
CHAIN_ID = "monthly-run"
WAVE = 4096


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Signer:
    """Signs transactions at the benchmark's clock, with unique nonces."""

    def __init__(self, clock: dict[str, int]) -> None:
        self.clock = clock
        self.count = 0

    def __call__(self, key: KeyFile, contract: str, action: str, args: dict) -> Envelope:
        self.count += 1
        body = TransactionBody(CHAIN_ID, contract, action, args, key.public_key, f"n{self.count}", self.clock["now"] + 3 * 3_600_000)
        return sign_transaction(key.suite, key.seed, body)


async def commit(node, envelopes: Iterable[Envelope]) -> None:
    """Push a wave through the commit path and require every transaction committed; envelopes are
    signed as they are drawn, so a million-household wave never sits in memory whole."""
    iterator = iter(envelopes)
    while batch := list(itertools.islice(iterator, WAVE)):
        answers = await node.submit_envelopes(batch)
        refused = [answer for answer in answers if isinstance(answer, Exception)]
        if refused:
            raise SystemExit(f"set-up refused at the edge: {refused[0]}")
        for envelope in batch:
            status = await node.wait_for_final_status(envelope.id, 120, with_proofs=False)
            if status is None or status["status"] != "committed":
                raise SystemExit(f"set-up transaction {envelope.body.contract}.{envelope.body.action} ended {status}")


async def set_up(folder: Path, households: int) -> dict:
    """Take N households through the workflow and fund the budgets; keep the keys and the clock in
    the folder so that the run can be timed later, in another process, on a quiet machine."""
    directory = initialise_directory(folder / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", "operator-bank", "central-bank"],
                                     region="110000", chain_id=CHAIN_ID, time_ms=START_MS,
                                     settings=NodeSettings(pending_transactions_max=WAVE * 4, verify_workers=1))
    clock = {"now": START_MS + 1000}
    sign = Signer(clock)
    civil, bank, central = (directory.read_organisation_key(name) for name in ("civil-affairs", "operator-bank", "central-bank"))
    worker, second, county, finance = (generate_key(civil.suite, label) for label in ("cw", "cw-2", "county", "finance"))
    write_key(folder / "finance.key", finance)
    document, pack = read_policy_pack(get_default_policy_path())
    started_setup = time.perf_counter()
    async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
        staff = [(worker, ["caseworker"], TOWNSHIP), (second, ["caseworker"], TOWNSHIP), (county, ["approver"], "110105"), (finance, ["finance_officer", "policy_admin"], "110000")]
        await commit(node, [sign(civil, "membership", "admit_member", {"public_key": key.public_key, "roles": roles, "region": region}) for key, roles, region in staff])
        await commit(node, [sign(finance, "policy", "publish_pack", {"document": document})])
        facts = {size: HouseholdFacts(members=size, monthly_income_fen={}, deposits_fen=0, vehicles=0, properties_beyond_residence=0, business_registrations=0)
                 for size in range(1, 5)}
        results = {size: evaluate_eligibility(pack, "dibao", TOWNSHIP, clock["now"], household) for size, household in facts.items()}
        sizes = [1 + number % 4 for number in range(households)]
        ids = [digest(f"household-{number}") for number in range(households)]
        assistance = lambda key, action, **args: sign(key, "assistance", action, args)  # noqa: E731
        waves = [
            (sign(worker, "registry", "register_household", {"household": ids[number], "region": TOWNSHIP, "head": digest(f"p-{number}-0"), "record_commitment": digest(f"r-{number}"),
                                                             "members": [{"person": digest(f"p-{number}-{member}"), "record_commitment": digest(f"m-{number}-{member}")}
                                                                         for member in range(sizes[number])]}) for number in range(households)),
            (assistance(worker, "apply", application_id=f"a{number}", household=ids[number], programmes=["dibao"], channel="in_person",
                        application_commitment=digest(f"app-{number}"), related_to_staff=False) for number in range(households)),
            (assistance(worker, "record_authorisation", case_id=f"a{number}.dibao", authorisation_commitment=digest(f"auth-{number}")) for number in range(households)),
            (assistance(worker, "record_visit", case_id=f"a{number}.dibao", visit_commitment=digest(f"visit-{number}"), staff=[worker.public_key, second.public_key],
                        by_county=False) for number in range(households)),
            (assistance(worker, "record_means_test", case_id=f"a{number}.dibao", pack_version=pack.version, facts_digest=compute_facts_digest(civil.suite, facts[sizes[number]]).hex(),
                        eligible=True, category=results[sizes[number]].category, reasons=list(results[sizes[number]].reasons), household_size=sizes[number],
                        standard_fen=results[sizes[number]].standard_fen, monthly_benefit_fen=results[sizes[number]].monthly_benefit_fen, source="caseworker")
             for number in range(households)),
            (assistance(worker, "give_opinion", case_id=f"a{number}.dibao", recommendation="approve", reasons=[]) for number in range(households)),
            (assistance(worker, "start_notice", case_id=f"a{number}.dibao") for number in range(households)),
        ]
        for wave in waves:
            await commit(node, wave)
        clock["now"] += 8 * DAY_MS
        await commit(node, (assistance(county, "decide", case_id=f"a{number}.dibao", outcome="approve", reasons=[], monthly_benefit_fen=results[sizes[number]].monthly_benefit_fen)
                            for number in range(households)))
        money = lambda key, action, **args: sign(key, "money", action, args)  # noqa: E731
        total = sum(results[size].monthly_benefit_fen for size in sizes)
        await commit(node, [money(central, "publish_wallet_classes", **read_wallet_classes()),
                            money(central, "create_account", account_id="issuance", kind="central_bank", currency="CNY-DC"),
                            money(finance, "create_account", account_id="treasury", kind="treasury", currency="CNY"),
                            money(finance, "create_account", account_id="dibao-bank", kind="programme_budget", currency="CNY", flags=["debits_must_not_exceed_credits"]),
                            money(finance, "create_account", account_id="dibao-dc", kind="programme_budget", currency="CNY-DC", flags=["debits_must_not_exceed_credits"])])
        await commit(node, [money(finance, "create_transfers", transfers=[{"transfer_id": "fund-bank", "code": 1, "debit_account_id": "treasury", "credit_account_id": "dibao-bank", "amount": total}]),
                            money(central, "create_transfers", transfers=[{"transfer_id": "fund-dc", "code": 1, "debit_account_id": "issuance", "credit_account_id": "dibao-dc", "amount": total}])])
        await commit(node, (money(bank, "create_account", account_id=f"w{number}", kind="beneficiary_wallet", currency="CNY-DC", wallet_class="2021-upgraded", holder=ids[number])
                            if number % 3 == 0 else
                            money(bank, "create_account", account_id=f"b{number}", kind="beneficiary_bank_account", currency="CNY", holder=ids[number])
                            for number in range(households)))
    setup = {"households": households, "setup_s": round(time.perf_counter() - started_setup, 1), "setup_transactions": sign.count, "clock_ms": clock["now"]}
    (folder / "setup.json").write_text(json.dumps(setup))
    return setup


async def time_run(folder: Path, setup: dict) -> dict:
    """The timed part: one month's run over the chain the set-up left."""
    directory = ChainDirectory(folder / "chain")
    finance = read_key(folder / "finance.key")
    async with open_node(directory, clock_ms=lambda: setup["clock_ms"]) as node:
        month = node.store.get("assistance/case/a0.dibao")["enrolment"]["from_month"]
        started = time.perf_counter()
        report = await run_disbursement(node, finance, RunSettings("dibao", "110000", month, "dibao-dc", "dibao-bank"), instruction_file=folder / "instructions.csv")
        elapsed = time.perf_counter() - started
        blocks = node.tip.height
    households = setup["households"]
    return {"households": households, "run_s": round(elapsed, 1), "households_per_s": round(households / elapsed), "cases": report.cases,
            "to_wallets": report.to_wallets, "to_banks": report.to_banks, "not_paid": len(report.not_paid), "instructions": report.instructions,
            "setup_s": setup["setup_s"], "setup_transactions": setup["setup_transactions"], "blocks": blocks}


async def run(households: int, keep: Path | None, setup_only: bool) -> dict:
    """Build, measure and (unless kept) remove the chain; a million households take several
    gigabytes. A kept folder that holds a finished set-up is reused, so a long set-up can run once,
    ``--setup-only``, and the run be timed afterwards when nothing else loads the machine."""
    folder = keep or Path(tempfile.mkdtemp(prefix="reliefledger-monthly-run-"))
    try:
        if (folder / "setup.json").exists():
            setup = json.loads((folder / "setup.json").read_text())
        else:
            if folder.exists() and any(folder.iterdir()) and keep:
                raise SystemExit(f"{folder} holds an unfinished set-up; remove it first")
            folder.mkdir(parents=True, exist_ok=True)
            setup = await set_up(folder, households)
        if setup_only:
            return setup
        return await time_run(folder, setup)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="keep the chain in this folder; reuse a finished set-up found there")
    parser.add_argument("--setup-only", action="store_true", help="stop after the set-up (use with --keep)")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(run(arguments.households, arguments.keep, arguments.setup_only))))


if __name__ == "__main__":
    main()


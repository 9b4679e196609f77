"""A simulated year of problem reports through the node's commit path: the deadline checks per
block and the dashboard queries, against the number of reports closed so far. Prints JSON.

A Beijing chain: the 12349 hotline files ``--reports`` reports over 365 days (9:00 each day, at
townships of Beijing's 16 districts, categories and urgencies drawn with a seed). Each report's
fate is drawn too: most are acknowledged within a day or two and resolved within days, some are
acknowledged late or resolved late (they escalate first), a few are never answered (they climb to
the national level). Each step is signed by the handler of the level that holds the report at
that moment, read from the ledger. Blocks come when there is work: at 9:00, 10:00 and 15:00 of
each day, and every block runs the deadline check at its start.

Measured: the time of the escalation hook of every block (``reports.process_block_start``, timed
in place), and at the end of each month the dashboard queries on the real SQLite store — the
overview of every level and the list of every open report (national view). Both are reported per
month beside the reports closed and open by then; the claim to check is that neither grows with
the reports closed.

    .venv/bin/python benchmarks/reports_year.py --reports 100000
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import reliefledger.ledger.execute as execute_module
from reliefledger.ledger.contracts import money, reports
from reliefledger.ledger.contracts.reports import get_report_key
from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.directory import initialise_directory
from reliefledger.node.keys import generate_key
from reliefledger.node.reports import VIEW_LEVELS, get_overview, list_open_reports
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.policy_files import get_default_policy_path, read_policy_pack
from reliefledger.report_rules import read_report_rules

START_MS = 1_767_225_600_000 - 8 * 3_600_000  # 2026-01-01 00:00 in Beijing
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CHAIN_ID = "reports-year"
DISTRICTS = ("110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112", "110113", "110114", "110115", "110116", "110117",
             "110118", "110119")
TOWNSHIPS = tuple(f"{district}{number:03d}" for district in DISTRICTS for number in range(1, 21))
CATEGORIES = (("service_failure", 45), ("person_in_difficulty", 35), ("fund_problem", 15), ("misconduct", 5))
URGENCIES = (("normal", 80), ("urgent", 17), ("critical", 3))
FATES = (("prompt", 75), ("late_acknowledge", 8), ("late_resolve", 10), ("ignored", 7))
WAVE = 4096


def choose(generator: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return generator.choices([name for name, _ in table], weights=[weight for _, weight in table])[0]


class Simulation:
    """The hotline, the handlers of every level, and the reports' planned steps by day."""

    def __init__(self, node, keys: dict[str, object], reports_total: int, seed: int) -> None:
        self.node, self.keys, self.reports_total = node, keys, reports_total
        self.generator = random.Random(seed)
        self.plan: dict[int, list[tuple[str, str]]] = {}
        self.count = 0
        self.closed = 0
        self.hook_ms: list[tuple[int, float]] = []

    def sign(self, key, contract: str, action: str, args: dict, now_ms: int):
        self.count += 1
        body = TransactionBody(CHAIN_ID, contract, action, args, key.public_key, f"n{self.count}", now_ms + 6 * HOUR_MS)
        return sign_transaction(key.suite, key.seed, body)

    async def commit(self, envelopes) -> list[int]:
        codes = []
        iterator = iter(envelopes)
        while batch := list(itertools.islice(iterator, WAVE)):
            answers = await self.node.submit_envelopes(batch)
            refused = [answer for answer in answers if isinstance(answer, Exception)]
            if refused:
                raise SystemExit(f"refused at the edge: {refused[0]}")
            for envelope in batch:
                status = await self.node.wait_for_final_status(envelope.id, 120, with_proofs=False)
                codes.append(status["code"])
        return codes

    def file_today(self, day: int, now_ms: int) -> list:
        per_day = self.reports_total // 365 + (1 if day < self.reports_total % 365 else 0)
        envelopes = []
        for _ in range(per_day):
            report_id = f"r{self.count:08d}"
            category = choose(self.generator, CATEGORIES)
            args = {"report_id": report_id, "region": self.generator.choice(TOWNSHIPS), "category": category, "urgency": choose(self.generator, URGENCIES),
                    "channel": "hotline", "description_commitment": hashlib.sha256(report_id.encode()).hexdigest()}
            if category == "misconduct":
                args["subject_organisation"] = "civil-affairs"
            envelopes.append(self.sign(self.keys["hotline"], "reports", "file", args, now_ms))
            fate = choose(self.generator, FATES)
            if fate == "ignored":
                continue
            acknowledge = day + (self.generator.randint(0, 1) if fate != "late_acknowledge" else self.generator.randint(4, 9))
            resolve = acknowledge + (self.generator.randint(1, 12) if fate != "late_resolve" else self.generator.randint(25, 40))
            self.plan.setdefault(acknowledge, []).append(("acknowledge", report_id))
            if category == "person_in_difficulty":
                self.plan.setdefault(resolve, []).append(("record_outreach", report_id))
            self.plan.setdefault(resolve, []).append(("resolve", report_id))
        return envelopes

    def steps_due(self, day: int, actions: tuple[str, ...], now_ms: int) -> list:
        envelopes = []
        for action, report_id in self.plan.get(day, []):
            if action not in actions:
                continue
            report = self.node.store.get(get_report_key(report_id))
            if report is None or report["status"] not in ("filed", "acknowledged", "in_progress"):
                continue
            if action == "record_outreach":
                if report["outreach"] is None or report["outreach"]["outcome"] is not None:
                    continue
                args = {"report_id": report_id, "outcome": "not_needed", "visit_commitment": hashlib.sha256(b"visit" + report_id.encode()).hexdigest()}
                envelopes.append(self.sign(self.keys["caseworker"], "reports", action, args, now_ms))
                continue
            handler = self.keys.get(f"{report['holder']['organisation']}@{report['holder']['region']}")
            if handler is None or (action == "resolve" and report["status"] == "filed") or (action == "acknowledge" and report["status"] != "filed"):
                continue
            args = {"report_id": report_id}
            if action == "resolve":
                args.update(outcome="done", outcome_commitment=hashlib.sha256(b"outcome" + report_id.encode()).hexdigest())
                self.closed += 1
            envelopes.append(self.sign(handler, "reports", action, args, now_ms))
        return envelopes


def time_queries(node, now_ms: int) -> dict[str, float]:
    timings = {}
    for level in VIEW_LEVELS:
        started = time.perf_counter()
        get_overview(node.store, level, now_ms)
        timings[f"overview_{level}_ms"] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    open_reports = list_open_reports(node.store, "000000", now_ms)
    timings["open_list_ms"] = round((time.perf_counter() - started) * 1000, 1)
    timings["open_reports"] = len(open_reports)
    return timings


async def measure(reports_total: int, seed: int, folder: Path) -> dict:
    organisations = ["civil-affairs", "finance", "discipline-inspection"]
    directory = initialise_directory(folder / "chain", suite_name="ed25519-sha256", organisation_ids=organisations, region="110000", chain_id=CHAIN_ID,
                                     time_ms=START_MS, settings=NodeSettings(pending_transactions_max=WAVE * 4, verify_workers=1))
    clock = {"now": START_MS + 1000}
    admins = {name: directory.read_organisation_key(name) for name in organisations}
    keys = {"policy": generate_key(admins["civil-affairs"].suite, "policy"), "hotline": generate_key(admins["civil-affairs"].suite, "hotline"),
            "caseworker": generate_key(admins["civil-affairs"].suite, "caseworker")}
    staff = [("civil-affairs", "policy", ["policy_admin"], "110000"), ("civil-affairs", "hotline", ["hotline_operator"], "110000"),
             ("civil-affairs", "caseworker", ["caseworker"], "110000")]
    for organisation in organisations:
        for region in (*DISTRICTS, "110100", "110000"):
            label = f"{organisation}@{region}"
            keys[label] = generate_key(admins[organisation].suite, label)
            staff.append((organisation, label, ["report_handler"], region))
    hook_ms: list[float] = []

    def timed_reports_hook(time_ms: int, state) -> None:
        started = time.perf_counter()
        reports.process_block_start(time_ms, state)
        hook_ms.append((time.perf_counter() - started) * 1000)

    execute_module.BLOCK_START_HOOKS = (money.process_block_start, timed_reports_hook)
    months = []
    async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
        simulation = Simulation(node, keys, reports_total, seed)
        await simulation.commit([simulation.sign(admins[organisation], "membership", "admit_member",
                                                 {"public_key": keys[label].public_key, "roles": roles, "region": region}, clock["now"])
                                 for organisation, label, roles, region in staff])
        await simulation.commit([simulation.sign(keys["policy"], "policy", "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]}, clock["now"])])
        await simulation.commit([simulation.sign(keys["policy"], "reports", "publish_rules", read_report_rules(), clock["now"])])
        started = time.perf_counter()
        refused = 0
        month_start_hooks = len(hook_ms)
        for day in range(365):
            day_ms = START_MS + day * DAY_MS
            for hour, work in ((9, lambda now: simulation.file_today(day, now)), (10, lambda now: simulation.steps_due(day, ("acknowledge",), now)),
                               (15, lambda now: simulation.steps_due(day, ("record_outreach",), now) + simulation.steps_due(day, ("resolve",), now))):
                clock["now"] = day_ms + hour * HOUR_MS
                envelopes = work(clock["now"])
                if envelopes:
                    refused += sum(1 for code in await simulation.commit(envelopes) if code != 0)
            if day % 30 == 29 or day == 364:
                month_hooks = hook_ms[month_start_hooks:]
                month_start_hooks = len(hook_ms)
                months.append({"day": day + 1, "closed": simulation.closed, **time_queries(node, clock["now"]), "blocks": len(month_hooks),
                               "hook_mean_ms": round(statistics.mean(month_hooks), 3), "hook_p99_ms": round(sorted(month_hooks)[int(len(month_hooks) * 0.99) - 1], 3),
                               "hook_max_ms": round(max(month_hooks), 3)})
        elapsed = time.perf_counter() - started
        escalated = sum(1 for _, report in node.store.iterate_state_prefix("reports/report/") if report["escalations"])
        height = node.tip.height
    return {"reports": reports_total, "transactions": simulation.count, "refused": refused, "escalated_reports": escalated, "blocks": height,
            "simulated_year_s": round(elapsed, 1), "months": months}


async def run(reports_total: int, seed: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="reliefledger-reports-year-"))
    try:
        return await measure(reports_total, seed, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(run(arguments.reports, arguments.seed))))


if __name__ == "__main__":
    main()

"""Evaluating the anomaly checks on a held-out synthetic city, against its ground truth.

After a city is built (``run_city_demo`` with its own seed), the township registrars record the
deaths of the injected ``deceased`` members, nobody changes those households' benefit, and the
next month is paid: the payments after a recorded death the checks must find. The cash-out
merchant is already in the city. Then the ledger is exported, the checks run, and every check is
scored against the truth (``analytics.evaluation``).
"""

import json
from pathlib import Path
from typing import Any

from reliefledger.analytics.checks import CHECKS, run_checks
from reliefledger.analytics.evaluation import GroundTruth, evaluate_checks
from reliefledger.analytics.export import export_projections
from reliefledger.analytics.merchant_model import find_outlying_merchants
from reliefledger.analytics.queries import open_analytics
from reliefledger.ledger.pseudonyms import compute_household_pseudonym, compute_person_pseudonym
from reliefledger.node.desk import open_desk
from reliefledger.node.disbursement import get_next_month
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim.population import generate_population
from reliefledger.sim.scenario import PROGRAMME, REGION, pay_month


async def record_deaths_and_pay_on(root: Path, *, seed: int, households: int) -> set[str]:
    """Record the injected deaths, pay the next month unchanged; answer the cases paid after a
    recorded death (the positives of ``paid_after_death``)."""
    population = generate_population(seed=seed, households=households)
    directory = ChainDirectory(root)
    async with open_node(directory, clock_ms=read_clock_ms) as node:
        with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
            staff = StaffDirectory(directory)
            enrolled = {case["household"]: case["id"] for _, case in node.store.iterate_state_prefix("assistance/case/")
                        if case["programme"] == PROGRAMME and case["status"] == "enrolled"}
            positives = set()
            for household in population.households:
                for member in household.members:
                    if member.death_date is None:
                        continue
                    person = compute_person_pseudonym(node.suite, casework.network_key, member.id_number)
                    await casework.change_household(staff.get("cw"), "record_death", {"person": person})
                    case_id = enrolled.get(compute_household_pseudonym(node.suite, casework.network_key, household.number))
                    if case_id is not None:
                        positives.add(case_id)
            runs = sorted(key.rsplit("/", 1)[1] for key, _ in node.store.iterate_state_prefix(f"money/run/{PROGRAMME}/{REGION}/"))
            await pay_month(node, staff.get("finance").key, get_next_month(runs[-1]))
    return positives


def build_ground_truth(root: Path, paid_after_death: set[str]) -> dict[str, GroundTruth]:
    """The truth of every check: positives, subjects judged and their districts."""
    from reliefledger.store.block_store import BlockStore

    planted = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    store = BlockStore(root / "ledger.sqlite", read_only=True)
    try:
        merchants = {account["id"]: (account.get("region") or "")[:6] for _, account in store.iterate_state_prefix("money/account/") if account["kind"] == "merchant"}
        cases = {case["id"]: case for _, case in store.iterate_state_prefix("assistance/case/")}
        households = {household["id"]: household["region"][:6] for _, household in store.iterate_state_prefix("registry/household/")}
    finally:
        store.close()
    case_districts = {case_id: case["region"][:6] for case_id, case in cases.items()}
    dibao = {case_id for case_id, case in cases.items() if case["programme"] == PROGRAMME and case["decision"] is not None and case["decision"]["outcome"] == "approve"}
    return {
        "cash_out": GroundTruth({entry["account_id"] for entry in planted["merchants"] if entry["case"] == "cashing_out"}, set(merchants), merchants),
        "merchant_outlier": GroundTruth({entry["account_id"] for entry in planted["merchants"] if entry["case"] == "cashing_out"}, set(merchants), merchants),
        "paid_after_death": GroundTruth(paid_after_death, dibao, case_districts),
        "exclusive_programmes": GroundTruth(set(), set(households), households),
        "assets_after_enrolment": GroundTruth(set(), dibao, case_districts),
        "staff_related_without_visit": GroundTruth(set(), set(cases), case_districts),
    }


async def evaluate_city(root: Path, *, seed: int, households: int) -> dict[str, Any]:
    """Materialise the deaths, export, run every check, and score each against the truth."""
    paid_after_death = await record_deaths_and_pay_on(root, seed=seed, households=households)
    export_projections(root / "ledger.sqlite", root / "analytics")
    connection = open_analytics(root / "analytics")
    try:
        alerts = run_checks(connection) + find_outlying_merchants(connection)
    finally:
        connection.close()
    figures = evaluate_checks(alerts, build_ground_truth(root, paid_after_death))
    assert set(figures) == {*CHECKS, "merchant_outlier"}, "every check has a ground truth"
    return {"households": households, "seed": seed, "checks": figures}

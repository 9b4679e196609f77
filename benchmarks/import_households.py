"""Benchmark: import a million persons in 400,000 households, then means-test every household.

    .venv/bin/python benchmarks/import_households.py                       # 400,000 households
    .venv/bin/python benchmarks/import_households.py --households 20000    # a quick check

A child process writes a seeded synthetic CSV (valid resident ID numbers, Chinese names, Beijing
district and township codes; households of 1 to 5 persons, 2.5 on average). Then, in this
process: a fresh chain in a temporary folder, its node (one signature-verification worker), a
caseworker admitted at 110000 by civil-affairs' admin, the default policy pack published by a
policy_admin, and the import through ``reliefledger.node.household_import`` exactly as the CLI
runs it (vault records, pseudonyms, signed ``register_household`` steps, committed blocks).
Finally every household on the ledger is means-tested for dibao in its region with seeded
household facts. Prints JSON; progress bars go to stderr. Resident memory is this process's
peak (the node and the import; the file generator is a child and not counted).
"""

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reliefledger.ledger.policy import HouseholdFacts, evaluate_eligibility
from reliefledger.ledger.pseudonyms import compute_check_character
from reliefledger.ledger.regions import get_level
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.household_import import import_households, read_rows
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.policy_files import get_default_policy_path, read_policy_pack, read_region_table

HOUSEHOLDS_DEFAULT = 400_000
SEED_DEFAULT = 2026
HOUSEHOLD_SIZE_SHARES = {1: 0.225, 2: 0.300, 3: 0.275, 4: 0.150, 5: 0.050}
"""Share of households of each size: 2.5 persons on average."""
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_CHARACTERS = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬飞燕鹏辉建国建华志强志明海燕晓东晓红丹宇浩然子轩梓涵欣怡雨桐一诺俊杰思远嘉怡"
STREETS = ["建国路", "光华路", "朝阳路", "长安街", "复兴路", "学院路", "中关村大街", "西直门外大街", "安定路", "东三环中路"]
DISABILITIES = ["一级肢体", "二级肢体", "三级视力", "二级听力", "四级智力"]
CHILD_RELATIONS = ["子女", "子女", "孙子女", "父母", "兄弟姐妹"]


def read_regions() -> list[tuple[str, str, str]]:
    """(code, district code, district name) of every Beijing district and township in the shipped table."""
    table = read_region_table()
    regions = []
    for code, region in sorted(table.regions.items()):
        if code.startswith("1101") and get_level(code) in ("county", "township"):
            district = table.regions[code[:6]]
            regions.append((code, code[:6], district.name_zh))
    return regions


def write_synthetic_file(path: str, households: int, seed: int) -> int:
    """Write the CSV (UTF-8 with a byte-order mark, as Excel saves it); answer the persons written."""
    rng = random.Random(seed)
    regions = read_regions()
    sizes = [size for size, share in HOUSEHOLD_SIZE_SHARES.items() for _ in range(round(share * households))]
    sizes = (sizes + [2] * households)[:households]
    rng.shuffle(sizes)
    used_ids: set[str] = set()
    persons = 0
    console = Console(stderr=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle, _make_progress(console) as progress:
        task = progress.add_task("generating", total=households)
        writer = csv.writer(handle)
        writer.writerow(["household_number", "region", "address", "id_number", "name", "relation", "birth_date", "disability"])
        for index, size in enumerate(sizes):
            region, district, district_name = rng.choice(regions)
            number = f"HB-{district}-{index:07d}"
            address = f"北京市{district_name}{rng.choice(STREETS)}{rng.randint(1, 300)}号院{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 2808)}室"
            surname = rng.choice(SURNAMES)
            head_year = rng.randint(1941, 1996)
            for position in range(size):
                if position == 0:
                    relation, year, family = "户主", head_year, surname
                elif position == 1:
                    relation, year, family = "配偶", min(2000, max(1935, head_year + rng.randint(-5, 5))), rng.choice(SURNAMES)
                else:
                    relation, year, family = rng.choice(CHILD_RELATIONS), min(2025, head_year + rng.randint(20, 40)), surname
                birth = f"{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                id_number = _make_unique_id(rng, used_ids, district, birth)
                name = family + "".join(rng.choice(GIVEN_CHARACTERS) for _ in range(rng.randint(1, 2)))
                disability = rng.choice(DISABILITIES) if rng.random() < 0.03 else ""
                writer.writerow([number, region, address, id_number, name, relation, f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", disability])
                persons += 1
            if index % 1000 == 999:
                progress.advance(task, 1000)
        progress.update(task, completed=households)
    return persons


def _make_unique_id(rng: random.Random, used: set[str], district: str, birth: str) -> str:
    while True:
        body = f"{district}{birth}{rng.randint(0, 999):03d}"
        if body not in used:
            used.add(body)
            return body + compute_check_character(body)


def _generate_in_child(path: str, households: int, seed: int, answer: Any) -> None:
    answer.put(write_synthetic_file(path, households, seed))


def make_facts(rng: random.Random, members: int) -> HouseholdFacts:
    """Seeded household facts: most households modest, some poor, some with assets over the limits."""
    income: dict[str, int] = {}
    if rng.random() < 0.7:
        income["wages"] = rng.randint(0, 450_000) * members
    if rng.random() < 0.3:
        income["pensions"] = rng.randint(80_000, 400_000)
    if rng.random() < 0.2:
        income["family_support"] = rng.randint(0, 100_000)
    if rng.random() < 0.05:
        income["disability_allowance"] = rng.randint(10_000, 50_000)
    return HouseholdFacts(
        members=members,
        monthly_income_fen=income,
        deposits_fen=rng.randint(0, 5_000_000) * members,
        vehicles=0 if rng.random() < 0.85 else 1,
        properties_beyond_residence=0 if rng.random() < 0.9 else 1,
        business_registrations=0 if rng.random() < 0.95 else 1,
    )


async def run(households_file: Path, root: Path, households: int, seed: int, batch_households: int) -> dict[str, Any]:
    """Chain, node, staff and pack; then the timed import and the timed evaluation."""
    settings = NodeSettings(verify_workers=1, pending_transactions_max=4 * batch_households)
    directory = initialise_directory(root / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs"], region="110000",
                                     chain_id="import-bench", time_ms=read_clock_ms(), settings=settings)
    console = Console(stderr=True)
    async with open_node(directory) as node:
        node.verifier.warm_up()
        with open_desk(directory, node, settings, clock_ms=read_clock_ms) as casework:
            await admit_staff(directory, node, organisation="civil-affairs", label="importer", roles=["caseworker"], region="110000")
            await admit_staff(directory, node, organisation="civil-affairs", label="policy", roles=["policy_admin"], region="110000")
            staff = StaffDirectory(directory)
            document, _ = read_policy_pack(get_default_policy_path())
            await casework.submit(staff.get("policy"), "policy", "publish_pack", {"document": document})
            with _make_progress(console) as progress:
                tasks: dict[str, Any] = {}

                def show(stage: str, completed: int, total: int | None) -> None:
                    if stage not in tasks:
                        tasks[stage] = progress.add_task(stage, total=total)
                    progress.update(tasks[stage], completed=completed, total=total)

                started = time.perf_counter()
                report = await import_households(casework, staff.get("importer"), read_rows(households_file),
                                                 batch_households=batch_households, progress=show)
                import_s = time.perf_counter() - started
                pack = casework.get_current_pack()
                time_ms = node.tip.time_ms
                rng = random.Random(seed + 1)
                evaluated = eligible = 0
                task = progress.add_task("evaluating", total=report.households_registered)
                started = time.perf_counter()
                for _, household in node.store.iterate_state_prefix("registry/household/"):
                    result = evaluate_eligibility(pack, "dibao", household["region"], time_ms, make_facts(rng, len(household["members"])))
                    evaluated += 1
                    eligible += result.eligible
                    if evaluated % 1000 == 0:
                        progress.update(task, completed=evaluated)
                evaluate_s = time.perf_counter() - started
                progress.update(task, completed=evaluated)
            height = node.tip.height
    return {
        "persons": report.persons_registered,
        "households": report.households_registered,
        "persons_per_s_imported": round(report.persons_registered / import_s),
        "households_per_s_evaluated": round(evaluated / evaluate_s),
        "import_s": round(import_s, 1),
        "evaluate_s": round(evaluate_s, 1),
        "total_s": round(import_s + evaluate_s, 1),
        "rss_mib_max": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "eligible_households": eligible,
        "households_evaluated": evaluated,
        "rows": report.rows,
        "rows_rejected": report.rows_rejected,
        "blocks": height,
    }


def _make_progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:>11}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=HOUSEHOLDS_DEFAULT)
    parser.add_argument("--seed", type=int, default=SEED_DEFAULT)
    parser.add_argument("--batch", type=int, default=1000, help="households per batch (import_households' batch_households)")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and the chain folder (printed as dir)")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reliefledger-import-", dir=os.environ.get("TMPDIR")))
    households_file = root / "households.csv"
    try:
        context = multiprocessing.get_context("spawn")
        answer = context.Queue()
        started = time.perf_counter()
        child = context.Process(target=_generate_in_child, args=(str(households_file), arguments.households, arguments.seed, answer))
        child.start()
        persons_written = answer.get()
        child.join()
        generate_s = time.perf_counter() - started
        figures = asyncio.run(run(households_file, root, arguments.households, arguments.seed, arguments.batch))
        figures.update({"persons_in_file": persons_written, "generate_s": round(generate_s, 1), "file_mib": round(households_file.stat().st_size / 2**20),
                        "seed": arguments.seed, "cores": len(os.sched_getaffinity(0)), "target_s": 600})
        if arguments.keep:
            figures["dir"] = str(root)
        print(json.dumps(figures))
    finally:
        if not arguments.keep:
            shutil.rmtree(root, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

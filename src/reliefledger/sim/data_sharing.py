"""A simulated city's data sharing: the agencies' catalogue on the ledger, their databases, the plan.

Given a synthetic population, this writes what each data-owning agency holds (one SQLite file,
one table per agency), the two configuration files of the means test (``agencies.toml`` for the
agencies' data services, ``means-test.toml`` for the civil-affairs desk), and publishes on the
ledger what the directory chain needs before a means test can run: each agency's catalogued
resource, civil affairs' sharing request for every field, and the agency's approval. Tests,
benchmarks and the demo use it, so they all exercise the real adapters, contracts and services.
"""

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from reliefledger.analytics.discovery_signals import DISCOVERY_QUESTIONS
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.node.casework import Casework
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.household_import import import_households, read_rows
from reliefledger.node.means_test import AgencyPlan, Feed
from reliefledger.node.peer import Node
from reliefledger.node.staff import StaffDirectory, StaffMember
from reliefledger.policy_files import get_default_policy_path, read_policy_pack
from reliefledger.sim.agency_records import AGENCY_RESOURCES, AgencyResource, build_agency_tables, expected_facts
from reliefledger.sim.records import Household, Population
from reliefledger.sim.writers import write_import_csv, write_sqlite

DATABASE_FILE = "agency-data.sqlite"
REQUESTER = "civil-affairs"
LEGAL_BASIS = "社会救助暂行办法 第十一条; 最低生活保障审核确认办法 第十六条"
PURPOSE = "最低生活保障家庭经济状况核对 (means test for dibao)"


DISCOVERY_PURPOSE = "社会救助主动发现 (active discovery of households in hardship who have not applied)"
DISCOVERY_LEGAL_BASIS = "社会救助暂行办法 第十一条; 民政部 关于加强低收入人口动态监测做好分层分类社会救助工作的意见"


def get_request_id(agency: str) -> str:
    """The id of civil affairs' sharing request to an agency."""
    return f"means-test.{agency}"


def get_discovery_request_id(agency: str) -> str:
    """The id of civil affairs' discovery-scope sharing request to an agency."""
    return f"discovery.{agency}"


def get_feed(spec_feed: str | None, income_category: str | None) -> Feed:
    """The means-test feed of a simulated field (a field that feeds nothing is a signal)."""
    if spec_feed is None:
        return Feed("signal")
    return Feed(spec_feed, income_category)


def build_plans(resources: Mapping[str, AgencyResource] = AGENCY_RESOURCES) -> list[AgencyPlan]:
    """What the desk asks each agency, and where each answered field counts."""
    return [AgencyPlan(agency, get_request_id(agency), {spec.name: get_feed(spec.feed, spec.income_category) for spec in resource.fields})
            for agency, resource in resources.items()]


def get_expected_facts(household: Household) -> dict[str, Any]:
    """The facts the means test of ``build_plans`` must find for a household, from the truth: every
    income category an agency is asked about is present (an agency holding nothing answers 0)."""
    facts = expected_facts(household)
    for plan in build_plans():
        for feed in plan.feeds.values():
            if feed.kind == "income":
                facts["monthly_income_fen"].setdefault(feed.income_category, 0)
    return facts


def write_agency_data(population: Population, folder: Path, *, agency_urls: Mapping[str, str] | str) -> dict[str, Path]:
    """Write the agencies' database and both configuration files into ``folder`` (a chain directory).

    ``agency_urls`` is where each agency's data service listens (one URL for all, or one per agency).
    Answers the paths written, by name.
    """
    folder = Path(folder)
    database = folder / DATABASE_FILE
    write_sqlite(build_agency_tables(population), database)
    agencies = "".join(f'[[agencies]]\nid = "{agency}"\nsource = "sqlite"\npath = "{DATABASE_FILE}"\ntable = "{resource.table}"\n\n'
                       for agency, resource in AGENCY_RESOURCES.items())
    (folder / "agencies.toml").write_text("# The agencies' data services and their sources (written by reliefledger.sim).\n\n" + agencies, encoding="utf-8")
    plan_lines = ["# The civil-affairs desk's means-test plan (written by reliefledger.sim).\n"]
    for plan in build_plans():
        url = agency_urls if isinstance(agency_urls, str) else agency_urls[plan.agency]
        feeds = ", ".join(f'{name} = "{_format_feed(feed)}"' for name, feed in plan.feeds.items())
        plan_lines.append(f'[[agencies]]\nid = "{plan.agency}"\nrequest_id = "{plan.request_id}"\nurl = "{url}"\nfeeds = {{ {feeds} }}\n')
    (folder / "means-test.toml").write_text("\n".join(plan_lines), encoding="utf-8")
    return {"database": database, "agencies": folder / "agencies.toml", "means_test": folder / "means-test.toml"}


async def publish_catalogue(casework: Casework, directory: ChainDirectory, officer: StaffMember, *, region: str = "110000") -> None:
    """Each agency catalogues its resource, civil affairs asks for every field, the agency approves;
    for the agencies active discovery asks, civil affairs also asks, with scope ``discovery``, for
    the fields discovery brackets, and the agency approves that too.

    ``officer`` is a civil-affairs ``data_officer``; each agency acts with its admin key.
    """
    for agency, resource in AGENCY_RESOURCES.items():
        admin = StaffMember(agency, directory.read_organisation_key(agency))
        fields = [{"name": spec.name, "type": spec.type, "predicate_allowed": True} for spec in resource.fields]
        await casework.submit(admin, "catalog", "register_resource", {
            "resource_id": resource.resource_id, "name": resource.resource_id, "fields": fields, "legal_basis": LEGAL_BASIS,
            "update_frequency": "daily", "sharing_class": "conditional", "level": "city", "region": region})
        await casework.submit(officer, "catalog", "request_sharing", {
            "request_id": get_request_id(agency), "resource_id": resource.resource_id, "purpose": PURPOSE, "fields": list(resource.field_names),
            "legal_basis": LEGAL_BASIS})
        await casework.submit(admin, "catalog", "decide_request", {"request_id": get_request_id(agency), "outcome": "approve",
                                                                   "conditions": ["仅用于社会救助家庭经济状况核对"]})
        if agency in DISCOVERY_QUESTIONS:
            await casework.submit(officer, "catalog", "request_sharing", {
                "request_id": get_discovery_request_id(agency), "resource_id": resource.resource_id, "purpose": DISCOVERY_PURPOSE,
                "fields": sorted(DISCOVERY_QUESTIONS[agency]), "legal_basis": DISCOVERY_LEGAL_BASIS, "scope": "discovery"})
            await casework.submit(admin, "catalog", "decide_request", {"request_id": get_discovery_request_id(agency), "outcome": "approve",
                                                                       "conditions": ["仅以区间回答, 仅用于主动发现"]})


def _format_feed(feed: Feed) -> str:
    return f"income:{feed.income_category}" if feed.kind == "income" else feed.kind


@dataclass(frozen=True)
class PreparedCity:
    """A chain ready for means tests: staff tokens by label and a case id by household number."""

    tokens: dict[str, str]
    case_ids: dict[str, str]


async def prepare_city(directory: ChainDirectory, node: Node, casework: Casework, population: Population, *, region: str = "110000",
                       concurrency: int = 200, applies: Callable[[int, Household], bool] = lambda index, household: True) -> PreparedCity:
    """Admit civil-affairs staff (caseworkers ``cw`` and ``cw-2``, ``policy``, ``officer``), publish the
    shipped policy pack and the catalogue, import the population's households (through the real
    importer) and open an authorised, visited dibao case for each household that ``applies`` (by
    its index and itself; every one by default): all a means test needs."""
    tokens = {label: await admit_staff(directory, node, organisation=REQUESTER, label=label, roles=roles, region=region)
              for label, roles in (("cw", ["caseworker"]), ("cw-2", ["caseworker"]), ("policy", ["policy_admin"]), ("officer", ["data_officer"]))}
    staff = StaffDirectory(directory)
    worker, second = staff.get("cw"), staff.get("cw-2")
    await casework.submit(staff.get("policy"), "policy", "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]})
    await publish_catalogue(casework, directory, staff.get("officer"), region=region)
    with tempfile.TemporaryDirectory(prefix="reliefledger-import-") as folder:
        write_import_csv(population, Path(folder) / "households.csv")
        report = await import_households(casework, worker, read_rows(Path(folder) / "households.csv"))
    if report.households_registered != len(population.households):
        raise RuntimeError(f"only {report.households_registered} of {len(population.households)} households were registered")
    limit = asyncio.Semaphore(concurrency)
    case_ids = {household.number: f"a{index}.dibao" for index, household in enumerate(population.households) if applies(index, household)}

    async def open_case(household: Household) -> None:
        case_id = case_ids[household.number]
        async with limit:
            await casework.apply(worker, application_id=case_id.removesuffix(".dibao"), programmes=["dibao"], channel="in_person", application={},
                                 household=compute_household_pseudonym(node.suite, casework.network_key, household.number), related_to_staff=False)
            await casework.record_authorisation(worker, case_id, {"signed": True})
            await casework.record_visit(worker, case_id, report={"visited": True}, staff=[worker.key.public_key, second.key.public_key], by_county=False)

    await asyncio.gather(*(open_case(household) for household in population.households if household.number in case_ids))
    return PreparedCity(tokens, case_ids)

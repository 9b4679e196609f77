"""Active discovery in a deployment: a household's signals gathered from the agencies and the
registry, each share on the ledger's terms and on the ledger's record.

A caseworker's desk asks each agency, in one signed batch, about households of its region that
never applied — under that agency's approved sharing request of scope ``discovery``
(``ledger/contracts/catalog.py``): the query names the household (there is no case) and every
question is a bracket, so no agency ever hands over a figure. The agency checks the terms, answers
and records the answers' digests on the ledger like a means test's (``catalog.record_answers``,
with the household), and the ledger will never accept those answers as evidence for a means test.
Ages and disability come from civil affairs' own registry in the vault: every record read is
logged on the ledger first with the purpose ``active_discovery`` (no log, no data). What comes
back is per-person facts (``analytics.discovery_signals.PersonFacts``) and, per household, the
ledger references of the answers used — the evidence an outreach task cites.
"""

import asyncio
import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from reliefledger.analytics.discovery_signals import DISCOVERY_QUESTIONS, PersonFacts, get_age, get_floor
from reliefledger.ledger.contracts.catalog import get_answer_record_key
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.node.agency_answers import QUERIES_PER_BATCH_MAX, AgencyQuery, AnswerBatch, Question, sign_query_batch
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.means_test import ANSWER_TIMEOUT_S_DEFAULT, AgencyClient, send_batch
from reliefledger.node.staff import StaffMember

PURPOSE = "active_discovery"
"""The purpose every registry read of a discovery run is logged with."""
READS_AT_ONCE = 64
"""Registry reads (each a logged ledger transaction) in flight at once."""
RUN_ID_CHARACTERS_MAX = 32
"""Query ids are ``<run>.<position>.<agency>`` and must stay within the ledger's 64 characters."""


@dataclass(frozen=True)
class DiscoveryPlan:
    """What a discovery run asks one agency: the approved request and each field's bracket edges."""

    agency: str
    request_id: str
    edges: Mapping[str, tuple[int, ...]]


def build_discovery_plans(request_ids: Mapping[str, str]) -> list[DiscoveryPlan]:
    """The plans for the agencies of ``analytics.discovery_signals.DISCOVERY_QUESTIONS``, given
    each agency's approved discovery request id."""
    return [DiscoveryPlan(agency, request_ids[agency], edges) for agency, edges in DISCOVERY_QUESTIONS.items()]


@dataclass(frozen=True)
class GatheredHousehold:
    """One household's facts and where they came from."""

    household: str
    region: str
    persons: tuple[PersonFacts, ...]
    evidence: tuple[str, ...]
    """``<answer record id>/<query id>`` of every agency answer used."""


@dataclass
class DiscoveryRun:
    """What a run gathered: complete households, the others with the reason, each agency's status."""

    run_id: str
    gathered: list[GatheredHousehold] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    agencies: dict[str, dict[str, Any]] = field(default_factory=dict)


async def gather_signals(casework: Casework, actor: StaffMember, households: Sequence[str], plans: Sequence[tuple[DiscoveryPlan, AgencyClient]], *,
                         as_of: datetime.date, run_id: str | None = None, timeout_s: float = ANSWER_TIMEOUT_S_DEFAULT) -> DiscoveryRun:
    """Gather the facts of ``households`` (pseudonyms): agency brackets and registry composition.

    A household outside the actor's region, unknown, or one some agency did not answer is skipped
    with the reason; a run whose agency is down reports that agency's status and skips everyone.
    """
    run = DiscoveryRun(run_id or f"discovery-{secrets.token_hex(6)}")
    if not IDENTIFIER_PATTERN.fullmatch(run.run_id) or len(run.run_id) > RUN_ID_CHARACTERS_MAX:
        raise ValueError(f"a run id is lowercase letters, digits, '.', '_', '-', at most {RUN_ID_CHARACTERS_MAX} characters (query ids add to it)")
    asked: list[tuple[str, str, tuple[str, ...]]] = []
    for household in households:
        record = casework.node.store.get(get_household_key(household))
        try:
            if record is None:
                raise CaseworkError("no such household", code="household_not_found", status=404)
            casework.require_region(actor, record["region"])
            asked.append((household, record["region"], tuple(record["members"])))
        except CaseworkError as error:
            run.skipped[household] = f"{error.code}: {error}"
    if not asked:
        return run
    replies, composition = await asyncio.gather(
        asyncio.gather(*(_ask(casework, actor, run.run_id, plan, client, asked, timeout_s) for plan, client in plans)),
        _read_composition(casework, actor, [person for _, _, persons in asked for person in persons], as_of))
    for (plan, _), reply in zip(plans, replies):
        run.agencies[plan.agency] = {name: reply[name] for name in ("status", "reason", "response_ms") if name in reply}
    await _await_records(casework, replies, timeout_s)
    for position, (household, region, persons) in enumerate(asked):
        try:
            facts, evidence = _combine(casework.node.store, plans, replies, run.run_id, position, household, persons, composition)
            run.gathered.append(GatheredHousehold(household, region, facts, evidence))
        except ValueError as reason:
            run.skipped[household] = str(reason)
    return run


def _get_query_id(run_id: str, position: int, agency: str) -> str:
    return f"{run_id}.{position}.{agency}"


async def _ask(casework: Casework, actor: StaffMember, run_id: str, plan: DiscoveryPlan, client: AgencyClient,
               asked: list[tuple[str, str, tuple[str, ...]]], timeout_s: float) -> dict[str, Any]:
    """One agency's reply to every household of the run (in batches of at most the batch limit)."""
    questions = tuple(Question(name, "bracket", None, tuple(plan.edges[name])) for name in sorted(plan.edges))
    queries = [AgencyQuery(_get_query_id(run_id, position, plan.agency), plan.request_id, run_id, casework.organisation, persons, questions, household)
               for position, (household, _, persons) in enumerate(asked)]
    merged = AnswerBatch(plan.agency, run_id, {}, {}, {}, "", "", {})
    reply: dict[str, Any] = {}
    for start in range(0, len(queries), QUERIES_PER_BATCH_MAX):
        batch = sign_query_batch(actor.key, f"{run_id}.{plan.agency}.{start // QUERIES_PER_BATCH_MAX}", casework.organisation,
                                 queries[start:start + QUERIES_PER_BATCH_MAX])
        reply = await send_batch(casework, plan.agency, client, batch, timeout_s)
        if reply["status"] != "answered":
            return reply
        for name in ("documents", "digests", "refusals", "records"):
            getattr(merged, name).update(getattr(reply["answers"], name))
    return {**reply, "answers": merged}


async def _read_composition(casework: Casework, actor: StaffMember, persons: list[str], as_of: datetime.date) -> dict[str, tuple[int, bool]]:
    """Each person's age on ``as_of`` and whether a disability is registered, from the vault; every
    read logged first. A person whose registry record gives no birth date (it is optional) has it
    from the ID number (GB 11643: digits 7 to 14)."""
    limit = asyncio.Semaphore(READS_AT_ONCE)

    async def read(person: str) -> tuple[str, tuple[int, bool] | str]:
        try:
            async with limit:
                records = await casework.read_person(actor, person, purpose=PURPOSE)
            record = next(item["record"] for item in records if item["kind"] == "person")
            text = record.get("birth_date") or f"{record['id_number'][6:10]}-{record['id_number'][10:12]}-{record['id_number'][12:14]}"
            return person, (get_age(datetime.date.fromisoformat(text), as_of), bool(record.get("disability")))
        except (CaseworkError, StopIteration, KeyError, ValueError) as error:  # this household is skipped, the run goes on
            return person, f"the registry gives no age for a member: {getattr(error, 'code', type(error).__name__)}"

    return dict(await asyncio.gather(*(read(person) for person in persons)))


async def _await_records(casework: Casework, replies: Sequence[dict[str, Any]], timeout_s: float) -> None:
    """Wait (up to ``timeout_s``) until the answer records the agencies name are committed: an
    answer counts only once its record is on the ledger (checked per household in ``_combine``)."""
    wanted = {record_id for reply in replies if reply["status"] == "answered" for record_id in reply["answers"].records.values()}
    deadline = asyncio.get_running_loop().time() + timeout_s
    while any(casework.node.store.get(get_answer_record_key(record_id)) is None for record_id in wanted):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.02)


def _combine(store: Any, plans: Sequence[tuple[DiscoveryPlan, AgencyClient]], replies: Sequence[dict[str, Any]], run_id: str, position: int, household: str,
             persons: tuple[str, ...], composition: dict[str, tuple[int, bool] | str]) -> tuple[tuple[PersonFacts, ...], tuple[str, ...]]:
    """A household's per-person facts from every agency's bracket, or ``ValueError`` with the reason."""
    missing = next((composition[person] for person in persons if isinstance(composition[person], str)), None)
    if missing is not None:
        raise ValueError(missing)
    floors: dict[str, dict[str, int]] = {person: {} for person in persons}
    evidence = []
    for (plan, _), reply in zip(plans, replies):
        if reply["status"] != "answered":
            raise ValueError(f"{plan.agency}: {reply['status']}: {reply['reason']}")
        answers: AnswerBatch = reply["answers"]
        query_id = _get_query_id(run_id, position, plan.agency)
        if query_id in answers.refusals:
            raise ValueError(f"{plan.agency} refused: {answers.refusals[query_id]}")
        document, record_id = answers.documents.get(query_id), answers.records.get(query_id)
        if document is None or record_id is None or document.get("household") != household:
            raise ValueError(f"{plan.agency} gave no recorded answer for the household")
        record = store.get(get_answer_record_key(record_id))
        entry = record["answers"].get(query_id) if record is not None else None
        if entry is None or entry.get("household") != household or entry.get("digest") != answers.digests.get(query_id):
            raise ValueError(f"{plan.agency}'s answer for the household is not on the ledger as given")
        for person in persons:
            figures = document["answers"].get(person)
            for name, edges in plan.edges.items():
                bracket = figures.get(name) if type(figures) is dict else None
                if type(bracket) is not int or not 0 <= bracket <= len(edges):
                    raise ValueError(f"{plan.agency} answered {name} outside its brackets")
                floors[person][name] = get_floor(bracket, edges)
        evidence.append(f"{record_id}/{query_id}")
    facts = tuple(PersonFacts(composition[person][0], composition[person][1], floors[person]) for person in persons)
    return facts, tuple(evidence)

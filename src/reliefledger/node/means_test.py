"""The cross-agency means test (核对): ask every agency at once, combine what they answer.

For a case with a recorded authorisation, the requesting desk sends each data-owning agency a
query within that agency's approved sharing terms. Each agency (``AgencyService``) answers from
its own source, signs the answer and records its digest on the ledger (or records that it
refused, and why); the answer itself comes back off the ledger. The desk checks every signature,
adds the figures up per the plan (which field feeds which income category or asset), and, only
when every agency answered, records the means test on the case with the digests of the answers
it used. An agency that is down, slow or refuses does not stall the others: the run reports it
as missing with its deadline, and a partial run is never recorded as a means test.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from reliefledger.ledger.contracts.catalog import get_answer_key
from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.results import ResultCode
from reliefledger.node.agency_answers import AgencyQuery, Question, QueryRefused, SignedAnswer, answer_query, is_answer_authentic
from reliefledger.node.agency_sources import AgencySource
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.keys import KeyFile
from reliefledger.node.staff import StaffMember

FEED_KINDS = ("income", "deposits", "vehicles", "properties_beyond_residence", "business_registrations")
"""What an answered figure counts towards in the household's facts."""
ANSWER_TIMEOUT_S_DEFAULT = 5.0


@dataclass(frozen=True)
class Feed:
    """Where one answered field goes: an asset count or total, or an income category."""

    kind: str
    income_category: str | None = None


@dataclass(frozen=True)
class AgencyPlan:
    """What to ask one agency: the approved request to rely on and the fields, with where each feeds."""

    agency: str
    request_id: str
    feeds: dict[str, Feed]


@dataclass
class AgencyService:
    """An agency's side, embedded in this process: answers from its source, records digests on the ledger."""

    agency: str
    key: KeyFile
    source: AgencySource
    casework: Casework
    delay_s: float = 0.0
    """Simulated slowness (tests and the demo use it to show a late agency)."""
    _answers: dict[str, SignedAnswer] = field(default_factory=dict)

    async def answer(self, query: AgencyQuery) -> SignedAnswer:
        """Answer a query (the same query id always gets the same answer: retries are idempotent)."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if query.query_id in self._answers:
            return self._answers[query.query_id]
        node = self.casework.node
        fields = sorted(question.field for question in query.questions)
        record = {"case_id": query.case_id, "fields": fields, "persons": list(query.persons), "query_id": query.query_id, "request_id": query.request_id}
        try:
            answer = answer_query(node.store, self.source, query, agency=self.agency, key=self.key, now_ms=max(node.clock_ms(), node.tip.time_ms))
        except QueryRefused as refusal:
            try:
                await self._record({**record, "outcome": "refused", "reason": str(refusal)[:400]})
            except CaseworkError:
                pass  # nothing on the ledger names the request it relied on: the refusal stands, unlogged
            raise
        await self._record({**record, "digest": answer.digest, "outcome": "answered"})
        self._answers[query.query_id] = answer
        return answer

    async def _record(self, args: dict[str, Any]) -> None:
        try:
            await self.casework.submit(StaffMember(self.agency, self.key), "catalog", "record_answer", args)
        except CaseworkError as error:
            if error.code != ResultCode.ANSWER_EXISTS.label:
                raise


async def run_means_test(casework: Casework, actor: StaffMember, case_id: str, plans: list[tuple[AgencyPlan, AgencyService]], *,
                         attempt: int = 1, timeout_s: float = ANSWER_TIMEOUT_S_DEFAULT) -> dict[str, Any]:
    """Ask every agency of ``plans`` about the case's household; record the means test when all answered."""
    case = casework.require_case_in_region(actor, case_id)
    if case["authorisation_commitment"] is None:
        raise CaseworkError("the case records no authorisation for the means test", code="missing_record", status=409)
    persons = tuple(casework.node.store.get(get_household_key(case["household"]))["members"])
    started = casework.node.clock_ms()
    runs = [_ask(plan, service, case_id, persons, casework.organisation, attempt, timeout_s) for plan, service in plans]
    outcomes = await asyncio.gather(*runs)
    agencies = {plan.agency: {**outcome, "deadline_ms": started + int(timeout_s * 1000)} for (plan, _), outcome in zip(plans, outcomes)}
    if any(outcome["status"] != "answered" for outcome in outcomes):
        return {"complete": False, "agencies": {name: _public(outcome) for name, outcome in agencies.items()}}
    facts = combine_answers([(plan, outcome["answer"]) for (plan, _), outcome in zip(plans, outcomes)], len(persons))
    digests = [outcome["answer"].digest for outcome in outcomes]
    recorded = await casework.record_means_test(actor, case_id, facts, source="data_sharing", answer_digests=digests)
    return {"complete": True, "agencies": {name: _public(outcome) for name, outcome in agencies.items()}, "facts": facts, **recorded}


def combine_answers(answered: list[tuple[AgencyPlan, SignedAnswer]], members: int) -> dict[str, Any]:
    """Household facts from the agencies' per-person figures, added up per the plans' feeds."""
    facts: dict[str, Any] = {"business_registrations": 0, "deposits_fen": 0, "members": members, "monthly_income_fen": {},
                             "properties_beyond_residence": 0, "vehicles": 0}
    for plan, answer in answered:
        for figures in answer.document["answers"].values():
            for field_name, feed in plan.feeds.items():
                value = figures[field_name]
                if feed.kind == "income":
                    facts["monthly_income_fen"][feed.income_category] = facts["monthly_income_fen"].get(feed.income_category, 0) + value
                else:
                    target = "deposits_fen" if feed.kind == "deposits" else feed.kind
                    facts[target] += value
    return facts


async def _ask(plan: AgencyPlan, service: AgencyService, case_id: str, persons: tuple[str, ...], requester: str, attempt: int, timeout_s: float) -> dict[str, Any]:
    query = AgencyQuery(f"{case_id}.{plan.agency}.{attempt}", plan.request_id, case_id, requester, persons,
                        tuple(Question(field_name) for field_name in sorted(plan.feeds)))
    try:
        answer = await asyncio.wait_for(service.answer(query), timeout_s)
    except asyncio.TimeoutError:
        return {"status": "late", "query_id": query.query_id}
    except QueryRefused as refusal:
        return {"status": "refused", "query_id": query.query_id, "reason": str(refusal)}
    except Exception as error:  # an agency that fails does not stall the others; its failure is reported
        return {"status": "failed", "query_id": query.query_id, "reason": f"{type(error).__name__}: {error}"}
    node = service.casework.node
    member = node.store.get(get_member_key(answer.signer))
    if not is_answer_authentic(answer, node.suite) or member is None or member["organisation"] != plan.agency or not is_signer_active(node.store, member):
        return {"status": "forged", "query_id": query.query_id, "reason": "the answer is not signed by an active key of the agency"}
    recorded = node.store.get(get_answer_key(query.query_id))
    if recorded is None or recorded["digest"] != answer.digest:
        return {"status": "unrecorded", "query_id": query.query_id, "reason": "the answer's digest is not on the ledger"}
    return {"status": "answered", "query_id": query.query_id, "answer": answer}


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome without the answer's figures (they are personal data)."""
    public = {name: value for name, value in outcome.items() if name != "answer"}
    if "answer" in outcome:
        public["digest"] = outcome["answer"].digest
    return public

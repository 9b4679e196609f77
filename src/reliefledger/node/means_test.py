"""The cross-agency means test (核对): ask every agency at once, combine what they answer.

For cases with a recorded authorisation, the requesting desk sends each data-owning agency one
signed batch of queries (one query per case) within that agency's approved sharing terms. Each
agency answers from its own source, signs the batch of answers and records every answer's digest
(or its refusal, and why) on the ledger in one transaction; the answers themselves come back off
the ledger. The desk checks the agency's signature and every document's digest, adds the figures
up per the plan (which field feeds which income category or asset), and records the means test
of each case whose every agency answered, naming the answers it used; the ledger refuses a means
test that names an answer its agency did not record. An agency that is down, slow or refuses
does not stall the others: the run reports it per agency with its deadline, and a partial run is
never recorded as a means test.

One run may hold one case (a desk checking one applicant) or thousands (a review cycle): the
cost per agency is one signature, one verification and one ledger transaction per batch.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.node.agency_answers import AgencyQuery, AnswerBatch, QueryBatch, QueryRefused, Question, is_answer_batch_authentic, sign_query_batch
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.staff import StaffMember

FEED_KINDS = ("income", "deposits", "vehicles", "properties_beyond_residence", "business_registrations", "signal")
"""What an answered figure counts towards in the household's facts; a ``signal`` (medical expenses,
utility arrears) is asked, answered and named with the means test but counts towards nothing."""
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


class AgencyClient(Protocol):
    """How the desk reaches one agency: in this process (``AgencyService``) or over HTTP."""

    async def ask(self, batch: QueryBatch) -> AnswerBatch:
        """Send a signed batch of queries; answer the agency's signed answers."""
        ...


async def run_means_test(casework: Casework, actor: StaffMember, case_id: str, plans: list[tuple[AgencyPlan, AgencyClient]], *,
                         attempt: int = 1, timeout_s: float = ANSWER_TIMEOUT_S_DEFAULT) -> dict[str, Any]:
    """Ask every agency of ``plans`` about one case's household; record the means test when all answered."""
    outcome = (await run_means_tests(casework, actor, [case_id], plans, attempt=attempt, timeout_s=timeout_s))[0]
    if "error" in outcome:
        raise CaseworkError(outcome["error"]["message"], code=outcome["error"]["code"], status=outcome["error"]["status"])
    return outcome


async def run_means_tests(casework: Casework, actor: StaffMember, case_ids: list[str], plans: list[tuple[AgencyPlan, AgencyClient]], *,
                          attempt: int = 1, timeout_s: float = ANSWER_TIMEOUT_S_DEFAULT) -> list[dict[str, Any]]:
    """Run the means test of many cases with one batch per agency; an outcome per case, in order.

    A case the actor may not test (another region, no authorisation) gets an ``error`` and is not
    asked about; a case some agency did not answer is ``complete: false`` with every agency's
    status; a complete case has its facts and the recorded means test, or the step's ``error``.
    """
    outcomes: list[dict[str, Any]] = [{"case_id": case_id} for case_id in case_ids]
    asked: list[tuple[int, dict[str, Any], tuple[str, ...]]] = []
    for position, case_id in enumerate(case_ids):
        try:
            case = casework.require_case_in_region(actor, case_id)
            if case["authorisation_commitment"] is None:
                raise CaseworkError("the case records no authorisation for the means test", code="missing_record", status=409)
            asked.append((position, case, tuple(casework.node.store.get(get_household_key(case["household"]))["members"])))
        except CaseworkError as error:
            outcomes[position]["error"] = {"code": error.code, "message": str(error), "status": error.status}
    if not asked:
        return outcomes
    deadline_ms = casework.node.clock_ms() + int(timeout_s * 1000)
    run_id = secrets.token_hex(6)
    replies = await asyncio.gather(*(_ask_agency(casework, actor, plan, client, asked, run_id, attempt, timeout_s) for plan, client in plans))
    recordable = []
    for position, case, persons in asked:
        statuses = {plan.agency: {**_check_document(_get_case_status(reply, f"{case['id']}.{plan.agency}.{attempt}"), plan, case["id"], persons),
                                  "deadline_ms": deadline_ms}
                    for (plan, _), reply in zip(plans, replies)}
        outcomes[position].update(complete=all(status["status"] == "answered" for status in statuses.values()),
                                  agencies={agency: {name: value for name, value in status.items() if name != "document"} for agency, status in statuses.items()})
        if outcomes[position]["complete"]:
            facts = combine_answers([(plan, statuses[plan.agency]["document"]) for plan, _ in plans], len(persons))
            answers = [{name: statuses[plan.agency][name] for name in ("digest", "query_id", "record_id", "response_ms")} for plan, _ in plans]
            outcomes[position]["facts"] = facts
            recordable.append((position, case["id"], facts, answers))
    recorded = await casework.record_means_tests(actor, [(case_id, facts, answers) for _, case_id, facts, answers in recordable]) if recordable else []
    for (position, *_), result in zip(recordable, recorded):
        if isinstance(result, CaseworkError):
            outcomes[position]["error"] = {"code": result.code, "message": str(result), "status": result.status}
        else:
            outcomes[position].update(result)
    return outcomes


def combine_answers(answered: list[tuple[AgencyPlan, dict[str, Any]]], members: int) -> dict[str, Any]:
    """Household facts from the agencies' per-person figures (answer documents), added up per the plans' feeds."""
    facts: dict[str, Any] = {"business_registrations": 0, "deposits_fen": 0, "members": members, "monthly_income_fen": {},
                             "properties_beyond_residence": 0, "vehicles": 0}
    for plan, document in answered:
        for figures in document["answers"].values():
            for field_name, feed in plan.feeds.items():
                value = figures[field_name]
                if feed.kind == "signal":
                    continue
                if feed.kind == "income":
                    facts["monthly_income_fen"][feed.income_category] = facts["monthly_income_fen"].get(feed.income_category, 0) + value
                else:
                    target = "deposits_fen" if feed.kind == "deposits" else feed.kind
                    facts[target] += value
    return facts


async def _ask_agency(casework: Casework, actor: StaffMember, plan: AgencyPlan, client: AgencyClient, asked: list[tuple[int, dict[str, Any], tuple[str, ...]]],
                      run_id: str, attempt: int, timeout_s: float) -> dict[str, Any]:
    """One agency's reply to the batch: its verified answers, or why there are none."""
    questions = tuple(Question(field_name) for field_name in sorted(plan.feeds))
    queries = [AgencyQuery(f"{case['id']}.{plan.agency}.{attempt}", plan.request_id, case["id"], casework.organisation, persons, questions)
               for _, case, persons in asked]
    batch = sign_query_batch(actor.key, f"{run_id}.{plan.agency}.{attempt}", casework.organisation, queries)
    return await send_batch(casework, plan.agency, client, batch, timeout_s)


async def send_batch(casework: Casework, agency: str, client: AgencyClient, batch: QueryBatch, timeout_s: float) -> dict[str, Any]:
    """Send a signed batch to one agency and check the reply: ``answered`` with the answers and the
    reply time when they are signed by an active key of that agency, else ``late``, ``refused``,
    ``failed`` or ``forged`` with the reason. An agency that fails never raises here, so one agency
    does not stall the others."""
    started = time.monotonic()
    try:
        answers = await asyncio.wait_for(client.ask(batch), timeout_s)
    except asyncio.TimeoutError:
        return {"status": "late", "reason": f"no answer within {timeout_s:g} s"}
    except QueryRefused as refusal:
        return {"status": "refused", "reason": str(refusal)}
    except Exception as error:  # an agency that fails does not stall the others; its failure is reported
        return {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
    node = casework.node
    member = node.store.get(get_member_key(answers.signer))
    if answers.batch_id != batch.batch_id or not is_answer_batch_authentic(answers, node.suite) or member is None or member["organisation"] != agency \
            or not is_signer_active(node.store, member):
        return {"status": "forged", "reason": "the answers are not signed by an active key of the agency"}
    return {"status": "answered", "answers": answers, "response_ms": round((time.monotonic() - started) * 1000)}


def _get_case_status(reply: dict[str, Any], query_id: str) -> dict[str, Any]:
    """One case's status at one agency, from that agency's reply to the whole batch."""
    if reply["status"] != "answered":
        return {"query_id": query_id, "reason": reply["reason"], "status": reply["status"]}
    answers: AnswerBatch = reply["answers"]
    if query_id in answers.documents and query_id in answers.records:
        return {"digest": answers.digests[query_id], "document": answers.documents[query_id], "query_id": query_id, "record_id": answers.records[query_id],
                "response_ms": reply["response_ms"], "status": "answered"}
    if query_id in answers.documents:
        return {"query_id": query_id, "reason": "the agency names no ledger record of its answer", "status": "unrecorded"}
    if query_id in answers.refusals:
        return {"query_id": query_id, "reason": answers.refusals[query_id], "record_id": answers.records.get(query_id), "status": "refused"}
    return {"query_id": query_id, "reason": "the agency's answers leave this query out", "status": "missing"}


def _check_document(status: dict[str, Any], plan: AgencyPlan, case_id: str, persons: tuple[str, ...]) -> dict[str, Any]:
    """An answered status whose document does not answer the plan's fields with an integer for every
    person of this case becomes ``malformed``: a bad answer is reported, never added up."""
    if status["status"] != "answered":
        return status
    document = status["document"]
    figures = document.get("answers") if document.get("case_id") == case_id and document.get("query_id") == status["query_id"] else None
    if type(figures) is not dict or set(figures) != set(persons) or any(
            type(figures[person]) is not dict or any(type(figures[person].get(field_name)) is not int for field_name in plan.feeds) for person in persons):
        return {"query_id": status["query_id"], "reason": "the answer does not give an integer for every field and person asked about", "status": "malformed"}
    return status

"""The DCI Integrated Beneficiary Registry (ibr_api_v1.0.0) served from the case workflow, at
``/dci/ibr``: so a ministry can see who is enrolled in what across programmes.

It answers the registry operations of the Social Registry (search, subscribe, transaction
status: ``social_registry.py``) over the same pseudonymous records — a Group record lists every
programme the household has a case in, with the case's status, benefit and first month — and
adds ``POST /registry/sync/enrolled``: is this person (or household) a beneficiary — enrolled in
a monthly programme or awarded a one-off one —, of this programme or of any? Subscriptions here are to ``enrollement`` (a case approved) and
``enrollement_status_change`` (a benefit changed, a case exited), read from each case's step log;
the event names are the specification's, misspelling included.

Other programme systems report their own enrolments with ``POST
/registry/sync/enrollment/updates`` (scope ``registry.enrollment-updates``): each beneficiary names
a person or household registered here, the sender's programme and its status; they are kept by
household pseudonym (``external_enrolments.py``) and ``sync/enrolled`` answers from them too, so
the ministry's question "enrolled in what?" covers programmes this node does not run. A sender
cannot report an enrolment in a programme of the policy pack: those come from the case workflow.
"""

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from reliefledger.interop.envelope import format_time
from reliefledger.interop.exchange import Accepted, Operation, Refusal, answer_bare
from reliefledger.interop.external_enrolments import STATUSES, ExternalEnrolments
from reliefledger.interop.registry_search import NATIONAL_ID_TYPES, SearchRefused, is_beneficiary, search_registry
from reliefledger.interop.social_registry import LAST_HEIGHT, SocialRegistry
from reliefledger.interop.specs import describe_operation
from reliefledger.ledger.contracts.policy_packs import get_current_pack

EVENT_TYPES = ("enrollement", "enrollement_status_change")
PSEUDONYM = re.compile(r"[0-9a-f]{64}")
ENROLLING_STEPS = ("decide",)
CHANGING_STEPS = ("change_benefit", "exit_case", "record_fraud")


def _refused_enrolment(refusal: Refusal, now: str, body: Any) -> dict[str, Any]:
    message = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), dict) else {}
    transaction_id = message.get("transaction_id") if isinstance(message.get("transaction_id"), str) else "-"
    return {"transaction_id": transaction_id[:99], "correlation_id": "-", "enrolled_response": [
        {"reference_id": transaction_id[:99], "timestamp": now, "status": "rjct", "status_reason_message": f"{refusal.code}: {refusal}"[:999], "enrolled_status": "no"}]}


def _refused_updates(refusal: Refusal, now: str, body: Any) -> dict[str, Any]:
    answer = _refused_enrolment(refusal, now, body)
    for item in answer["enrolled_response"]:
        del item["enrolled_status"]
    return answer


ENROLLED = Operation("ibr", "/registry/sync/enrolled", "registry.enrolled", refuse_as=_refused_enrolment)
ENROLMENT_UPDATES = Operation("ibr", "/registry/sync/enrollment/updates", "registry.enrollment-updates", refuse_as=_refused_updates)
PROGRAMME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
UPDATES_PER_MESSAGE_MAX = 100


@dataclass
class BeneficiaryRegistry(SocialRegistry):
    """The Integrated Beneficiary Registry endpoints of one node."""

    spec: str = "ibr"
    base_path: str = "/dci/ibr"
    event_types: tuple[str, ...] = EVENT_TYPES
    reg_type: str = "ns:org:RegistryType:IBR"
    title: str = "DCI Integrated Beneficiary Registry"
    external: ExternalEnrolments | None = None
    """The enrolments other programme systems reported (None: none are taken)."""

    def add_routes(self, router: APIRouter) -> None:
        router.add_api_route(ENROLLED.path, self._endpoint(ENROLLED, lambda operation, accepted: self._answer_enrolled(accepted)), methods=["POST"],
                             summary=f"{self.title} {ENROLLED.path}: is a person or household enrolled", description=describe_operation(self.spec, ENROLLED.path))
        if self.external is not None:
            router.add_api_route(ENROLMENT_UPDATES.path, self._endpoint(ENROLMENT_UPDATES, lambda operation, accepted: self._take_updates(accepted)),
                                 methods=["POST"], summary=f"{self.title} {ENROLMENT_UPDATES.path}: a programme system reports its enrolments",
                                 description=describe_operation(self.spec, ENROLMENT_UPDATES.path))

    async def _take_updates(self, accepted: Accepted) -> Response:
        """Record each reported enrolment of a registered person or household; answer one status each."""
        assert self.external is not None
        message, now_ms = accepted.message, self.context.clock_ms()
        beneficiaries = message["enrolled_updates"].get("beneficiaries") or []
        own_programmes = set(get_current_pack(self.reader.store).programme_index)
        items = []
        for index, beneficiary in enumerate(beneficiaries):
            reference_id = beneficiary.get("reference_id") if isinstance(beneficiary.get("reference_id"), str) else f"{message['transaction_id']}-{index + 1}"
            item: dict[str, Any] = {"reference_id": reference_id[:99], "timestamp": format_time(now_ms)}
            try:
                if index >= UPDATES_PER_MESSAGE_MAX:
                    raise SearchRefused("rjct.total_count.limit_exceeded", f"at most {UPDATES_PER_MESSAGE_MAX} beneficiaries in one message")
                programme = beneficiary.get("programme_identifier")
                if not isinstance(programme, str) or not PROGRAMME_PATTERN.fullmatch(programme) or programme in own_programmes:
                    raise SearchRefused("rjct.programme.invalid", "programme_identifier is the sender's own programme (letters, digits, _.:-; not one of "
                                        "this registry's programmes, which its case workflow records)")
                status = beneficiary.get("enrollment_status", "enrolled")
                if status not in STATUSES:
                    raise SearchRefused("rjct.enrollment_status.invalid", f"enrollment_status is one of {', '.join(STATUSES)}")
                enrolled_on = beneficiary.get("enrollment_date")
                if enrolled_on is not None and (not isinstance(enrolled_on, str) or not DATE_PATTERN.fullmatch(enrolled_on)):
                    raise SearchRefused("rjct.enrollment_date.invalid", "enrollment_date is YYYY-MM-DD")
                for household in self._find_households(beneficiary):
                    self.external.put(accepted.client.sender_id, programme, household, status, item["reference_id"], enrolled_on, now_ms)
                item["status"] = "succ"
            except SearchRefused as refusal:
                item.update(status="rjct", status_reason_message=f"{refusal.code}: {refusal}"[:999])
            items.append(item)
        body = {"transaction_id": message["transaction_id"], "correlation_id": accepted.correlation_id, "enrolled_response": items}
        status = "succ" if items and all(item["status"] == "succ" for item in items) else "rjct"
        return await answer_bare(self.context, ENROLMENT_UPDATES, accepted, body, status)

    async def _answer_enrolled(self, accepted: Accepted) -> Response:
        message = accepted.message
        criteria = message["enrolled_criteria"]
        now = format_time(self.context.clock_ms())
        item: dict[str, Any] = {"reference_id": message["transaction_id"], "timestamp": now}
        try:
            households, programme = self._read_enrolled_query(criteria.get("query"))
            cases = self.reader.list_cases()
            enrolled = any(is_beneficiary(case) and programme in (None, case["programme"]) for household in households for case in cases.get(household, []))
            reported = [entry for household in households for entry in (self.external.list_for(household) if self.external is not None else [])]
            enrolled = enrolled or any(entry["status"] == "enrolled" and programme in (None, entry["programme"]) for entry in reported)
            item.update(status="succ", enrolled_status="yes" if enrolled else "no")
        except SearchRefused as refusal:
            item.update(status="rjct", status_reason_message=f"{refusal.code}: {refusal}"[:999], enrolled_status="no")
        body = {"transaction_id": message["transaction_id"], "correlation_id": accepted.correlation_id, "enrolled_response": [item]}
        return await answer_bare(self.context, ENROLLED, accepted, body, item["status"])

    def _read_enrolled_query(self, query: Any) -> tuple[list[str], str | None]:
        """The households a query names and the programme it asks about (None: any). The query is
        ``{"person_identifier" | "household_identifier": {"eq": id} | {"type", "value"}, "programme_identifier": {"eq": programme}}``."""
        if not isinstance(query, dict):
            raise SearchRefused("rjct.search_criteria.invalid", "the enrolled query is an object")
        programme = query.get("programme_identifier")
        if programme is not None:
            programme = programme.get("eq") if isinstance(programme, dict) else None
            if not isinstance(programme, str):
                raise SearchRefused("rjct.search_criteria.invalid", 'programme_identifier is {"eq": "<programme>"}')
        return self._find_households(query), programme

    def _find_households(self, query: dict[str, Any]) -> list[str]:
        """The household a ``person_identifier`` or ``household_identifier`` names (a national ID,
        a household number or a pseudonym): ``SearchRefused`` when it names none registered here."""
        for key, default_type in (("person_identifier", "NationalID"), ("household_identifier", "HouseholdNumber")):
            if key in query:
                value = query[key]
                identifier = value if isinstance(value, dict) and "type" in value else {"type": default_type, "value": value.get("eq") if isinstance(value, dict) else None}
                if isinstance(identifier.get("value"), str) and PSEUDONYM.fullmatch(identifier["value"]) and identifier["type"] in (*NATIONAL_ID_TYPES, "HouseholdNumber"):
                    identifier = {"type": "person_id" if key == "person_identifier" else "household_id", "value": identifier["value"]}
                found = search_registry(self.reader, {"query_type": "idtype-value", "query": identifier, "pagination": {"page_size": 1}}, ("household_id",))
                if not found.records:
                    raise SearchRefused("rjct.search_criteria.invalid", "the identifier names no registered person or household")
                return [record["household_id"] for record in found.records]
        raise SearchRefused("rjct.search_criteria.invalid", "name person_identifier or household_identifier")

    def _list_events(self, after: int, up_to: int) -> list[tuple[str, dict[str, Any], int]]:
        events = []
        for _, case, _height in self.reader.store.iterate_state_changed("assistance/case/", after, LAST_HEIGHT):
            household = self.reader.get_household(case["household"])
            if household is None:
                continue
            for step in case.get("steps", []):
                if not after < step["height"] <= up_to:
                    continue
                if step["action"] in ENROLLING_STEPS and (case.get("decision") or {}).get("outcome") == "approve":
                    events.append(("enrollement", household, step["height"]))
                elif step["action"] in CHANGING_STEPS:
                    events.append(("enrollement_status_change", household, step["height"]))
        return sorted(events, key=lambda event: event[2])

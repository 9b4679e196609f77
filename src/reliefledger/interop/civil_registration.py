"""Civil registration as a client (``crvs_api_v1.0.0``): this node subscribes to a civil registry's
births and deaths and applies them to its own registry.

The civil registry is onboarded like any partner (``add-client --scopes crvs.notify``: its keys,
its base URI as ``callback_uri``, the token it issued us as ``callback_token``) and named in
``interop.toml``'s ``[civil_registration]`` with the staff member who applies its events and the
address it calls us back at. While the node serves, ``run`` keeps one subscription per event type
(``spdci-common:RegistryEventType:Death`` and ``…:LiveBirth``), sending ``/registry/subscribe``
again until the registry confirms it at ``/registry/on-subscribe``. Each ``/registry/notify`` is
checked like every inbound message (token, specification, signature against the registry's JWKS)
and **applied before it is acknowledged**, so an event is either applied and acknowledged or the
registry sends it again (an event's ``reference_id`` applied before gets the same outcome):

- a death: the person (their national ID turned into the pseudonym) is recorded dead
  (``registry.record_death``: they leave the household's members), and every case of the
  household enrolled in a programme gets a review opened **holding its payments**
  (``assistance.open_review``; the ledger then refuses any transfer naming the case, ``payment_held``)
  — also when the death was already recorded by hand and no review followed it;
- a birth: the child joins the household of a parent registered here (``registry.record_birth``;
  the child's record goes to the vault), and enrolled cases get a review opened without a hold
  (the household is larger: the benefit may rise).

A person not registered here, an ID number that is not a valid resident ID, a household outside
the registrar's region: the event is acknowledged (the registry did its part) and its outcome says
why nothing was done. Outcomes are kept with pseudonyms only (``vital_events.py``).
"""

import asyncio
import logging
import secrets
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from reliefledger.interop.envelope import build_request_header, format_time
from reliefledger.interop.exchange import (Accepted, EvidenceUnavailable, ExchangeContext, Operation, Refusal, acknowledge, build_endpoint, refuse, send_callback,
                                           unavailable)
from reliefledger.interop.registry_search import NATIONAL_ID_TYPES
from reliefledger.interop.settings import CivilRegistrationSettings
from reliefledger.interop.vital_events import VitalEventLog
from reliefledger.ledger.contracts.assistance import get_case_key, is_payment_held
from reliefledger.ledger.contracts.registry import get_person_key
from reliefledger.ledger.contracts.membership import get_member_key
from reliefledger.ledger.pseudonyms import compute_person_pseudonym, is_valid_resident_id, normalise_id_number
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.staff import StaffMember

logger = logging.getLogger(__name__)
BASE_PATH = "/dci/crvs"
EVENT_PREFIX = "spdci-common:RegistryEventType:"
EVENT_TYPES = {"Death": "death", "LiveBirth": "birth"}
"""The registry's event types this node subscribes to, and what each is here."""
REGISTRY_TYPE = "ns:org:RegistryType:Civil"
RESUBSCRIBE_AFTER_S = 60.0
"""A subscription not confirmed after this is asked for again (the first wait after a failure)."""
BACKOFF_S_MAX = 3600.0
FIRST_REQUEST_AFTER_S = 2.0
CONCLUDING_STEPS = ("change_benefit", "exit_case", "record_fraud")
"""Case steps after an event that mean its review was already concluded (or the case ended)."""
NOTIFY = Operation("crvs", "/registry/notify", "crvs.notify")
CONFIRM = Operation("crvs", "/registry/on-subscribe", "crvs.notify")
NOT_THE_REGISTRY = Refusal("ERR", "err.sender_id.invalid", "only the civil registry named in interop.toml sends births and deaths here")


class LedgerUnavailable(Exception):
    """The ledger cannot take an event's transactions now: the notify is not acknowledged."""



class CivilRegistration:
    """The node's side of one civil registry."""

    def __init__(self, context: ExchangeContext, casework: Casework, registrar: StaffMember, settings: CivilRegistrationSettings, log: VitalEventLog, *,
                 retry_after_s: float = RESUBSCRIBE_AFTER_S) -> None:
        self.context, self.casework, self.registrar, self.settings, self.log = context, casework, registrar, settings, log
        self.retry_after_s = retry_after_s
        self.client = context.settings.clients[settings.client_id]
        self.lock = asyncio.Lock()
        """One notify applied at a time: two copies of an event never race to record it."""

    def mount(self, app: FastAPI) -> None:
        """The callbacks the civil registry sends us."""
        for operation, handler, summary in ((NOTIFY, self._take_notify, "Births and deaths from the civil registry, applied before the ACK"),
                                            (CONFIRM, self._take_confirmation, "The civil registry confirms a subscription")):
            app.add_api_route(BASE_PATH + operation.path, build_endpoint(self.context, operation, handler, "crvs_client_"), methods=["POST"],
                              tags=["DCI civil registration (client)"], summary=summary)

    async def _take_notify(self, operation: Operation, accepted: Accepted) -> Response:
        """Apply the events, then acknowledge (503 when the ledger cannot take them now)."""
        if accepted.client.client_id != self.settings.client_id:
            return await refuse(self.context, operation, accepted, NOT_THE_REGISTRY)
        try:
            async with self.lock:
                await self._apply_all(accepted)
        except LedgerUnavailable:
            self.context.store.forget_message(accepted.client.sender_id, str(accepted.header["message_id"]))
            return unavailable(self.context, operation)
        return await acknowledge(self.context, operation, accepted)

    async def _take_confirmation(self, operation: Operation, accepted: Accepted) -> Response:
        """Note the subscription codes the registry gave (or its refusal), then acknowledge."""
        if accepted.client.client_id != self.settings.client_id:
            return await refuse(self.context, operation, accepted, NOT_THE_REGISTRY)
        for item in accepted.message.get("subscribe_response", []):
            codes = [subscription["code"] for subscription in item.get("subscriptions", []) if subscription.get("status") == "subscribe"]
            status = "subscribe" if item.get("status") == "succ" and codes else "rjct"
            if not self.log.confirm(str(accepted.message["transaction_id"]), status, codes[0] if codes else None, self.context.clock_ms()):
                logger.warning("the civil registry confirmed a subscription this node did not ask for (%s)", accepted.message["transaction_id"])
        return await acknowledge(self.context, operation, accepted)

    # --- subscribing -----------------------------------------------------------------------------

    async def subscribe_missing(self) -> list[str]:
        """Ask for each event type that has no confirmed subscription, unless the last request is
        recent: still unanswered within ``retry_after_s``, or failed — then the wait doubles with
        each failure in a row, up to an hour (a registry that is down is not called every minute,
        and every request is evidence on the ledger). Answer the event types asked for."""
        now = self.context.clock_ms()
        subscriptions = self.log.list_subscriptions()
        asked = []
        for event_type in EVENT_TYPES:
            mine = [item for item in subscriptions if item["event_type"] == event_type]  # newest first
            if any(item["status"] == "subscribe" for item in mine):
                continue
            if mine and now - mine[0]["sent_ms"] < self._wait_s(mine) * 1000:
                continue
            await self._subscribe(event_type)
            asked.append(event_type)
        return asked

    def _wait_s(self, requests: list[dict[str, Any]]) -> float:
        """How long after the newest request to ask again."""
        failures = 0
        for item in requests:
            if not (item["status"].startswith("failed") or item["status"] == "rjct"):  # the registry refused it: asking at once again would be refused too
                break
            failures += 1
        return min(BACKOFF_S_MAX, self.retry_after_s * 2 ** max(0, failures - 1))

    async def _subscribe(self, event_type: str) -> str:
        """Send one subscription request; answer its outcome (``ack``, or why not)."""
        now = self.context.clock_ms()
        transaction_id = f"crvs-{event_type.lower()}-{secrets.token_hex(6)}"
        criteria = {"version": "1.0.0", "reg_type": REGISTRY_TYPE, "reg_event_type": EVENT_PREFIX + event_type, "notify_record_type": "Person",
                    "filter_type": "expression",
                    "filter": {"type": "ns:org:QueryType:expression", "value": {"expression": {"collection": "Person", "query": {"region": {"$eq": self._region()}}}}}}
        message = {"transaction_id": transaction_id, "subscribe_request": [{"reference_id": f"{transaction_id}-1", "timestamp": format_time(now),
                                                                             "subscribe_criteria": criteria}]}
        header = build_request_header("subscribe", self.context.settings.sender_id, self.client.sender_id, now, 1, sender_uri=self.settings.public_uri)
        self.log.note_request(transaction_id, event_type, now)
        outcome = await send_callback(self.context, self.client, "crvs", "/registry/subscribe", {"header": header, "message": message}, transaction_id)
        if outcome != "ack":
            self.log.confirm(transaction_id, f"failed.{outcome}", None, self.context.clock_ms())
            logger.warning("the civil registry did not take the %s subscription: %s", event_type, outcome)
        return outcome

    def _region(self) -> str:
        """The registrar's region (the subscription asks for the events of people living there)."""
        member = self.casework.node.store.get(get_member_key(self.registrar.key.public_key)) or {}
        return str(member.get("region") or "")

    async def run(self) -> None:
        """Keep the subscriptions (until cancelled). The first request waits a moment: the registry
        checks our signature against our JWKS, which the node serves once it listens."""
        await asyncio.sleep(min(self.retry_after_s, FIRST_REQUEST_AFTER_S))
        while True:
            try:
                await self.subscribe_missing()
            except (CaseworkError, EvidenceUnavailable) as error:  # the ledger cannot record the request now: next round
                logger.warning("cannot subscribe to the civil registry now: %s", error)
            await asyncio.sleep(min(self.retry_after_s, 5.0))

    # --- applying events ---------------------------------------------------------------------------

    async def _apply_all(self, accepted: Accepted) -> None:
        for item in accepted.message.get("notify_event", []):
            reference_id = str(item["reference_id"])
            if self.log.find_event(accepted.client.sender_id, reference_id) is not None:
                continue  # sent again: applied once, same outcome
            data = item["data"]
            event_type = str(data.get("reg_event_type", "")).rsplit(":", 1)[-1]
            records = data["reg_records"]
            kind = EVENT_TYPES.get(event_type)
            if kind is None:
                person, outcome = "-", f"ignored.event_type.{event_type or 'missing'}"
            elif kind == "death":
                person, outcome = await self._apply_death(records)
            else:
                person, outcome = await self._apply_birth(records)
            self.log.record_event(accepted.client.sender_id, reference_id, event_type or "-", person, outcome, self.context.clock_ms())

    async def _apply_death(self, records: dict[str, Any]) -> tuple[str, str]:
        """Record the death (unless recorded before) and hold the household's enrolled cases for review."""
        person = self._find_person(records.get("identifier"))
        if person is None:
            return "-", "refused.identifier_invalid"
        record = self.casework.node.store.get(get_person_key(person))
        if record is None:
            return person, "not_registered"
        outcome = "already_recorded"
        if record.get("status") != "deceased":
            refused = await self._step("registry", "record_death", {"person": person})
            if refused:
                return person, refused
            outcome = "death_recorded"
            record = self.casework.node.store.get(get_person_key(person))
        opened = await self._open_reviews(record["household"], "death_registered", hold=True, since_height=record["death_height"])
        return person, f"{outcome}.reviews_held_{opened}"

    async def _apply_birth(self, records: dict[str, Any]) -> tuple[str, str]:
        """Add the child to a parent's household (unless registered before) and open its enrolled cases' reviews."""
        child = self._find_person(records.get("identifier"))
        if child is None:
            return "-", "refused.identifier_invalid"
        known = self.casework.node.store.get(get_person_key(child))
        if known is not None:  # registered before (perhaps by an attempt whose answer was lost): the reviews are still due
            opened = await self._open_reviews(known["household"], "birth_registered", hold=False, since_height=known["registered_height"])
            return child, f"already_recorded.reviews_opened_{opened}"
        household = self._find_parents_household(records.get("parents"))
        if household is None:
            return child, "no_parent_registered"
        member = {"id_number": self._national_id(records["identifier"]), "name": str(records.get("name") or "")[:100] or "-", "relation": "child",
                  "birth_date": str(records.get("birth_date") or "")[:10] or None}
        try:
            await self.casework.record_birth(self.registrar, household, {name: value for name, value in member.items() if value is not None})
        except CaseworkError as error:
            if error.status >= 500:
                raise LedgerUnavailable(str(error)) from None
            return child, f"refused.{error.code}"
        opened = await self._open_reviews(household, "birth_registered", hold=False, since_height=self.casework.node.tip.height)
        return child, f"birth_recorded.reviews_opened_{opened}"

    async def _open_reviews(self, household: str, reason: str, *, hold: bool, since_height: int) -> int:
        """Open a review on each enrolled case of the household unless it is already open as asked
        (held, for a death; with this reason, for a birth) or a review was concluded since
        ``since_height`` (the event's own height); answer how many were opened."""
        opened = 0
        for _, entry in self.casework.node.store.iterate_state_prefix(f"assistance/household/{household}/"):
            case = self.casework.node.store.get(get_case_key(entry["case_id"]))
            if case is None or case["status"] != "enrolled":
                continue
            if any(step["action"] in CONCLUDING_STEPS and step["height"] >= since_height for step in case.get("steps", [])):
                continue
            already = is_payment_held(case) if hold else any(item["reason"] == reason for item in (case.get("open_review") or {}).get("reasons", []))
            if already:
                continue
            if not await self._step("assistance", "open_review", {"case_id": case["id"], "reason": reason, "hold_payments": hold}):
                opened += 1
        return opened

    async def _step(self, contract: str, action: str, args: dict[str, Any]) -> str | None:
        """Submit as the registrar; None when committed, else the refusal's outcome
        (``LedgerUnavailable`` when the ledger cannot take it now: the registry must send again)."""
        try:
            await self.casework.submit(self.registrar, contract, action, args)
        except CaseworkError as error:
            if error.status >= 500:
                raise LedgerUnavailable(str(error)) from None
            logger.warning("a civil-registration event was refused by the ledger: %s %s: %s", contract, action, error.code)
            return f"refused.{error.code}"
        return None

    def _find_person(self, identifiers: Any) -> str | None:
        id_number = self._national_id(identifiers)
        return None if id_number is None else compute_person_pseudonym(self.casework.node.suite, self.casework.network_key, id_number)

    @staticmethod
    def _national_id(identifiers: Any) -> str | None:
        """The valid resident ID among a record's identifiers (``[{identifier_type, identifier_value}]``), normalised."""
        for identifier in identifiers if isinstance(identifiers, list) else []:
            if isinstance(identifier, dict) and identifier.get("identifier_type") in NATIONAL_ID_TYPES and isinstance(identifier.get("identifier_value"), str):
                value = normalise_id_number(identifier["identifier_value"])
                if is_valid_resident_id(value):
                    return value
        return None

    def _find_parents_household(self, parents: Any) -> str | None:
        """The household of the first parent registered here and alive."""
        for parent in parents if isinstance(parents, list) else []:
            person = self._find_person(parent.get("identifier") if isinstance(parent, dict) else None)
            record = None if person is None else self.casework.node.store.get(get_person_key(person))
            if record is not None and record.get("status") != "deceased":
                return record["household"]
        return None

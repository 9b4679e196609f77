"""The DCI Social Registry (social_api_v1.0.0) served from the ledger, at ``/dci/social``.

``POST /registry/search`` acknowledges and calls back ``/registry/on-search`` with every search
request's page of records (``registry_search.py``); ``/registry/sync/search`` answers at once.
``/registry/subscribe`` and ``/registry/unsubscribe`` manage subscriptions to ``REGISTER`` (a new
household) and ``NewHouseHoldMember`` (a person joining a household) events, confirmed through
``/registry/on-subscribe`` and ``/registry/on-unsubscribe``; the notifier sends ``/registry/notify``
for each event that matches a subscription's filter. ``/registry/txn/status`` (and its sync form)
says what became of a search or subscription by transaction id, reference ids or correlation id.
Every record carries only the fields the partner was onboarded for.
"""

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from reliefledger.interop.envelope import build_callback_header, build_request_header, format_time, new_id
from reliefledger.interop.exchange import Accepted, ExchangeContext, Operation, acknowledge, answer_sync, build_endpoint, send_callback, spawn
from reliefledger.interop.purposes import PurposeRefused, allow_fields, read_purpose
from reliefledger.interop.registry_search import LedgerReader, SearchRefused, build_group_record, compile_filter, resolve_identifier_filter, search_registry
from reliefledger.interop.specs import describe_operation

logger = logging.getLogger(__name__)
BASE_PATH = "/dci/social"
SPEC = "social"
EVENT_TYPES = ("REGISTER", "NewHouseHoldMember")
REG_TYPE = "ns:org:RegistryType:Social"
NOTIFY_EVERY_S = 5.0
EVENTS_PER_NOTIFY_MAX = 100


def build_operations(spec: str) -> dict[str, Operation]:
    """The operations a registry of ``spec`` serves (the on-… and notify paths are the partner's)."""
    return {
        "search": Operation(spec, "/registry/search", "registry.search"),
        "sync_search": Operation(spec, "/registry/sync/search", "registry.search", response_action="on-search", multipart=False),
        "subscribe": Operation(spec, "/registry/subscribe", "registry.subscribe"),
        "unsubscribe": Operation(spec, "/registry/unsubscribe", "registry.subscribe"),
        "status": Operation(spec, "/registry/txn/status", "registry.txn-status"),
        "sync_status": Operation(spec, "/registry/sync/txn/status", "registry.txn-status", response_action="txn-on-status", multipart=False),
    }


@dataclass
class SocialRegistry:
    """The Social Registry endpoints of one node."""

    context: ExchangeContext
    reader: LedgerReader
    tip_height: Any
    """A callable answering the committed height (events are notified up to it)."""
    spec: str = SPEC
    base_path: str = BASE_PATH
    event_types: tuple[str, ...] = EVENT_TYPES
    reg_type: str = REG_TYPE
    title: str = "DCI Social Registry"

    def mount(self, app: FastAPI) -> None:
        """Add the endpoints."""
        router = APIRouter(prefix=self.base_path, tags=[self.title])
        operations = build_operations(self.spec)
        handlers = {"search": self._search, "sync_search": self._sync_search, "subscribe": self._subscribe, "unsubscribe": self._unsubscribe,
                    "status": self._status, "sync_status": self._sync_status}
        for name, operation in operations.items():
            router.add_api_route(operation.path, self._endpoint(operation, handlers[name]), methods=["POST"], summary=f"{self.title} {operation.path}",
                                 description=describe_operation(self.spec, operation.path))
        self.add_routes(router)
        app.include_router(router)

    def add_routes(self, router: APIRouter) -> None:
        """Where a registry of another specification adds its own operations."""

    def _endpoint(self, operation: Operation, handler: Any) -> Any:
        return build_endpoint(self.context, operation, handler, f"dci_{self.spec}_")

    # --- search
    def _answer_searches(self, accepted: Accepted) -> dict[str, Any]:
        items, seen = [], set()
        cases = self.reader.list_cases()  # once for all the request's criteria
        for request in accepted.message["search_request"]:
            reference_id, now = request["reference_id"], format_time(self.context.clock_ms())
            if reference_id in seen:
                items.append({"reference_id": reference_id, "timestamp": now, "status": "rjct", "status_reason_code": "rjct.reference_id.duplicate",
                              "status_reason_message": "the reference_id is used twice in the request"})
                continue
            seen.add(reference_id)
            criteria = request["search_criteria"]
            try:
                result = search_registry(self.reader, criteria, self._allow_fields(accepted, criteria), cases)
            except SearchRefused as refusal:
                items.append({"reference_id": reference_id, "timestamp": now, "status": "rjct", "status_reason_code": refusal.code,
                              "status_reason_message": str(refusal)[:999]})
                continue
            items.append({"reference_id": reference_id, "timestamp": now, "status": "succ",
                          "data": {"version": "1.0.0", "reg_type": criteria.get("reg_type") or self.reg_type,
                                   "reg_record_type": criteria.get("response_entity") or "Group", "reg_records": result.records},
                          "pagination": result.pagination})
        return {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id, "search_response": items}

    @staticmethod
    def _allow_fields(accepted: Accepted, criteria: dict[str, Any]) -> tuple[str, ...]:
        """The fields this partner may receive for the purpose the criterion states (``purposes.py``)."""
        try:
            fields = allow_fields(accepted.client.fields, read_purpose(criteria))
        except PurposeRefused as refusal:
            raise SearchRefused("rjct.search_criteria.invalid", str(refusal)) from None
        if not fields:
            raise SearchRefused("rjct.search_criteria.invalid", "the stated purpose allows none of the fields this partner was onboarded for")
        return fields

    async def _search(self, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._call_back_search(accepted))
        return response

    async def _call_back_search(self, accepted: Accepted) -> None:
        message = self._answer_searches(accepted)
        status = _overall(message["search_response"])
        self._remember(accepted, "search", [item["reference_id"] for item in message["search_response"]], status, message)
        header = build_callback_header("on-search", status, self.context.settings.sender_id, accepted.client.sender_id, self.context.clock_ms(),
                                       total_count=len(message["search_response"]))
        await send_callback(self.context, accepted.client, self.spec, "/registry/on-search", {"header": header, "message": message}, message["transaction_id"])

    async def _sync_search(self, operation: Operation, accepted: Accepted) -> Response:
        message = self._answer_searches(accepted)
        status = _overall(message["search_response"])
        self._remember(accepted, "search", [item["reference_id"] for item in message["search_response"]], status, message)
        return await answer_sync(self.context, operation, accepted, message, status)

    # --- subscriptions
    async def _subscribe(self, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._confirm_subscriptions(accepted))
        return response

    async def _confirm_subscriptions(self, accepted: Accepted) -> None:
        items = []
        for request in accepted.message["subscribe_request"]:
            criteria, now = request["subscribe_criteria"], self.context.clock_ms()
            item: dict[str, Any] = {"reference_id": request["reference_id"], "timestamp": format_time(now)}
            event = str(criteria["reg_event_type"]).rsplit(":", 1)[-1]
            try:
                if event not in self.event_types:
                    raise SearchRefused("rjct.notify_types.invalid", f"events here are {', '.join(self.event_types)}")
                fields = self._allow_fields(accepted, criteria)
                compile_filter(self.reader, criteria.get("filter_type"), criteria["filter"], fields)
                if criteria.get("filter_type") == "idtype-value":  # kept as the pseudonym, never as the ID number given
                    criteria = {**criteria, "filter": resolve_identifier_filter(self.reader, criteria["filter"])}
            except SearchRefused as refusal:
                code = refusal.code if refusal.code == "rjct.notify_types.invalid" else "rjct.notify_details.invalid"
                items.append({**item, "status": "rjct", "status_reason_code": code, "status_reason_message": str(refusal)[:999]})
                continue
            code = "sub-" + secrets.token_hex(8)
            self.context.store.add_subscription(code, self.spec, accepted.client.sender_id, {**criteria, "reg_event_type": event}, now, self.tip_height(),
                                                read_purpose(criteria))
            items.append({**item, "status": "succ", "subscriptions": [{"code": code, "status": "subscribe", "timestamp": format_time(now), "reg_type": self.reg_type,
                                                                          "reg_event_type": event, "notify_record_type": str(criteria["notify_record_type"])}]})
        message = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id, "subscribe_response": items}
        status = _overall(items)
        self._remember(accepted, "subscribe", [item["reference_id"] for item in items], status, message)
        header = build_request_header("on-subscribe", self.context.settings.sender_id, accepted.client.sender_id, self.context.clock_ms(), len(items))
        await send_callback(self.context, accepted.client, self.spec, "/registry/on-subscribe", {"header": header, "message": message}, message["transaction_id"])

    async def _unsubscribe(self, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._confirm_unsubscriptions(accepted))
        return response

    async def _confirm_unsubscriptions(self, accepted: Accepted) -> None:
        outcomes = {code: self.context.store.unsubscribe(self.spec, accepted.client.sender_id, str(code)) for code in accepted.message["subscription_codes"]}
        message: dict[str, Any] = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id,
                                   "timestamp": format_time(self.context.clock_ms()), "status": "succ",
                                   "subscription_status": [{"code": str(code), "status": "unsubscribe"} for code, outcome in outcomes.items() if outcome != "unknown"]}
        if "unknown" in outcomes.values() or "already" in outcomes.values():
            message.update(status="rjct", status_reason_code="rjct.subscription_code.invalid" if "unknown" in outcomes.values() else "rjct.event.already_unsubscribed",
                           status_reason_message="unknown: " + ", ".join(str(code) for code, outcome in outcomes.items() if outcome != "unsubscribe")[:900])
        header = build_request_header("on-unsubscribe", self.context.settings.sender_id, accepted.client.sender_id, self.context.clock_ms(), len(outcomes))
        await send_callback(self.context, accepted.client, self.spec, "/registry/on-unsubscribe", {"header": header, "message": message}, message["transaction_id"])

    # --- transaction status
    def _answer_status(self, accepted: Accepted) -> tuple[dict[str, Any], str]:
        asked = accepted.message["txnstatus_request"]
        kind = asked["txn_type"]
        found = self.context.store.find_transaction(accepted.client.sender_id, f"{self.spec}.{kind}", asked["attribute_type"], asked["attribute_value"]) \
            if kind in ("search", "subscribe") else None
        now = format_time(self.context.clock_ms())
        if found is None:
            status: dict[str, Any] = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id,
                                      "search_response": [{"reference_id": asked["reference_id"], "timestamp": now, "status": "rjct",
                                                           "status_reason_code": "rjct.reference_id.invalid",
                                                           "status_reason_message": f"no {kind} transaction of this sender matches"}]}
        elif kind == "search":
            status = found["response"]
        else:
            status = {"transaction_id": found["transaction_id"], "correlation_id": found["correlation_id"],
                      "search_response": [{"reference_id": item["reference_id"], "timestamp": item["timestamp"], "status": item["status"],
                                           **({"status_reason_code": item["status_reason_code"]} if item.get("status_reason_code") == "rjct.reference_id.invalid" else {}),
                                           **({"status_reason_message": item["status_reason_message"]} if "status_reason_message" in item else {})}
                                          for item in found["response"]["subscribe_response"]]}
        message = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id,
                   "txnstatus_response": {"txn_type": kind, "txn_status": status}}
        return message, "succ" if found is not None else "rjct"

    async def _status(self, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._call_back_status(accepted))
        return response

    async def _call_back_status(self, accepted: Accepted) -> None:
        message, status = self._answer_status(accepted)
        header = build_callback_header("txn-on-status", status, self.context.settings.sender_id, accepted.client.sender_id, self.context.clock_ms(), total_count=1)
        await send_callback(self.context, accepted.client, self.spec, "/registry/txn/on-status", {"header": header, "message": message}, message["transaction_id"])

    async def _sync_status(self, operation: Operation, accepted: Accepted) -> Response:
        message, status = self._answer_status(accepted)
        return await answer_sync(self.context, operation, accepted, message, status)

    def _remember(self, accepted: Accepted, kind: str, reference_ids: list[str], status: str, message: dict[str, Any]) -> None:
        self.context.store.put_transaction(accepted.client.sender_id, accepted.message["transaction_id"], f"{self.spec}.{kind}", accepted.correlation_id, reference_ids, status,
                                           message, self.context.clock_ms())

    # --- notifications
    async def notify_once(self) -> int:
        """Send every subscription the events committed since its last notification; answer how
        many events went out. A subscription moves on only past events its partner received: one
        that cannot be reached (or answers 5xx) gets them again next round, and one partner's
        failure does not hold up the others."""
        subscriptions = self.context.store.list_active_subscriptions(self.spec)
        if not subscriptions:
            return 0
        tip = self.tip_height()
        clients = {client.sender_id: client for client in self.context.settings.clients.values()}
        cases = self.reader.list_cases()
        sent = 0
        for subscription in subscriptions:
            client = clients.get(subscription["sender_id"])
            if client is None or subscription["after_height"] >= tip:
                continue
            try:
                sent += await self._notify(subscription, client, cases, tip)
            except Exception:  # logged; this subscription is tried again next round, the others go on
                logger.exception("notifying subscription %s failed", subscription["code"])
        return sent

    async def _notify(self, subscription: dict[str, Any], client: Any, cases: dict[str, list[dict[str, Any]]], tip: int) -> int:
        try:
            fields = allow_fields(client.fields, subscription["purpose"])  # the onboarding may have narrowed since: both apply
            test = compile_filter(self.reader, subscription["filter_type"], subscription["filter"], fields)
        except (SearchRefused, KeyError):  # a purpose no longer known: nothing is sent
            return 0
        events = [(event, household, height) for event, household, height in self._list_events(subscription["after_height"], tip)
                  if event == subscription["reg_event_type"] and test(build_group_record(household, cases, _ALL_FIELDS))]
        sent = 0
        for start in range(0, len(events), EVENTS_PER_NOTIFY_MAX):
            chunk = events[start:start + EVENTS_PER_NOTIFY_MAX]
            now = self.context.clock_ms()
            message = {"transaction_id": new_id(), "notify_event": [
                {"reference_id": new_id(), "timestamp": format_time(now),
                 "data": {"version": "1.0.0", "reg_type": self.reg_type, "reg_event_type": event, "reg_record_type": "Group",
                          "reg_records": build_group_record(household, cases, fields)}} for event, household, _ in chunk]}
            header = build_callback_header("notify", "succ", self.context.settings.sender_id, client.sender_id, now, total_count=len(chunk))
            outcome = await send_callback(self.context, client, self.spec, "/registry/notify", {"header": header, "message": message}, message["transaction_id"])
            if outcome == "unreachable" or outcome.startswith("http.5"):
                return sent  # not received: these events go again next round
            sent += len(chunk)
            last = start + len(chunk) >= len(events)
            self.context.store.advance_subscription(subscription["code"], tip if last else chunk[-1][2])
        if not events:
            self.context.store.advance_subscription(subscription["code"], tip)
        return sent

    def _list_events(self, after: int, up_to: int) -> list[tuple[str, dict[str, Any], int]]:
        """(event, household, height of the event) for events at heights ``after < h <= up_to``,
        by height. Records are read by their last write with no upper bound, so an event whose
        record was written again since is not lost."""
        store = self.reader.store
        events = []
        for _, household, _height in store.iterate_state_changed("registry/household/", after, LAST_HEIGHT):
            if after < household["created_height"] <= up_to:
                events.append(("REGISTER", household, household["created_height"]))
        for _, person, _height in store.iterate_state_changed("registry/person/", after, LAST_HEIGHT):
            household = self.reader.get_household(person["household"])
            registered = person.get("registered_height", 0)
            if after < registered <= up_to and household is not None and household["created_height"] < registered:
                events.append(("NewHouseHoldMember", household, registered))
        return sorted(events, key=lambda event: event[2])

    async def run_notifier(self, every_s: float = NOTIFY_EVERY_S) -> None:
        """Notify subscribers every ``every_s`` seconds until cancelled (a failed round is logged and retried)."""
        while True:
            try:
                await self.notify_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a notification round failed; it is retried")
            await asyncio.sleep(every_s)


_ALL_FIELDS = ("household_id", "region", "status", "members_count", "head_id", "programmes")
LAST_HEIGHT = 2 ** 62
"""No upper bound on a record's last write when looking for events."""


def _overall(items: list[dict[str, Any]]) -> str:
    """The header status of a response: ``succ`` when any item succeeded, else ``rjct``."""
    return "succ" if any(item["status"] == "succ" for item in items) else "rjct"


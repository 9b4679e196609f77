"""What the G2P Connect services (the mapper and disburse) share: their operations, each served
asynchronously (``ACK``, then the answer at the partner's ``on-…`` callback) and synchronously
(the answer at once), and the transaction status of what they answered.

Every request message lists items (``link_request``, ``disbursements`` …), each with its
``reference_id``; each item is answered on its own (``succ`` or ``rjct`` with the
specification's reason code), a reference id used twice in a message is refused
(``rjct.reference_id.duplicate``), and the whole answer is kept for ``txn/status``. Receiving,
acknowledging, calling back and the evidence of every message are ``exchange.py``'s.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from reliefledger.interop.envelope import build_callback_header, format_time
from reliefledger.interop.exchange import Accepted, ExchangeContext, Operation, acknowledge, answer_sync, build_endpoint, send_callback, spawn
from reliefledger.interop.financial_addresses import redact_ids
from reliefledger.interop.g2p_store import G2PStore
from reliefledger.interop.registry_search import LedgerReader
from reliefledger.interop.specs import describe_operation, load_spec

BASE_PATH = "/g2p"


@dataclass(frozen=True)
class Kind:
    """One kind of G2P request: where it is served, the scope it needs, where its answer goes."""

    name: str
    """As in ``txn_type`` (``link``, ``disburse`` …); the answer's action is ``on-<name>``."""
    scope: str | None
    path: str
    sync_path: str
    callback_path: str
    items: str
    """The request's list of items (``link_request``)."""
    answers: str
    """The response's list of item answers (``link_response``)."""
    reasons: str
    """The schema of the item answers' reason codes (``LinkStatusReasonCode``)."""


@dataclass(frozen=True)
class StatusPaths:
    """Where a service answers ``txn/status``."""

    path: str
    sync_path: str
    callback_path: str
    scope: str | None


def refuse_item(code: str, message: str, reasons: tuple[str, ...]) -> dict[str, Any]:
    """A rejected item answer: the reason code when the item's schema has it (some lists lack a
    fitting code: then the message starts with it)."""
    answer: dict[str, Any] = {"status": "rjct", "status_reason_message": f"{code}: {message}"[:999]}
    if code in reasons:
        answer["status_reason_code"] = code
    return answer


def compute_overall(items: list[dict[str, Any]]) -> str:
    """The header status of an answer: ``succ`` when any item succeeded, else ``rjct``."""
    return "succ" if any(item["status"] == "succ" for item in items) else "rjct"


@dataclass
class G2PService:
    """The endpoints of one G2P Connect specification on a node (``mount``); a service says what
    its kinds are and answers their items (``answer_item``)."""

    context: ExchangeContext
    reader: LedgerReader
    spec: str = ""
    title: str = ""
    kinds: tuple[Kind, ...] = ()
    status: StatusPaths | None = None
    base_path: str = BASE_PATH
    links: G2PStore = field(init=False)
    """Financial address links and disbursement statuses (off the ledger)."""

    def __post_init__(self) -> None:
        self.links = G2PStore(self.context.store)

    def mount(self, app: FastAPI) -> None:
        """Add the endpoints."""
        router = APIRouter(prefix=self.base_path, tags=[self.title])
        routes: list[tuple[Operation, Any]] = []
        for kind in self.kinds:
            routes.append((Operation(self.spec, kind.path, kind.scope), self._bind(self._answer_later, kind)))
            routes.append((Operation(self.spec, kind.sync_path, kind.scope, response_action=f"on-{kind.name}", multipart=False), self._bind(self._answer_now, kind)))
        if self.status is not None:
            routes.append((Operation(self.spec, self.status.path, self.status.scope), self._status_later))
            routes.append((Operation(self.spec, self.status.sync_path, self.status.scope, response_action="txn-on-status", multipart=False), self._status_now))
        for operation, handler in routes:
            router.add_api_route(operation.path, self._endpoint(operation, handler), methods=["POST"], summary=f"{self.title} {operation.path}",
                                 description=describe_operation(self.spec, operation.path))
        app.include_router(router)

    async def answer_item(self, kind: Kind, accepted: Accepted, item: dict[str, Any]) -> dict[str, Any]:
        """One item's answer, without its reference id and time (``status`` and what else the
        answer carries)."""
        raise NotImplementedError

    def get_reasons(self, kind: Kind) -> tuple[str, ...]:
        """The reason codes an item answer of ``kind`` may carry."""
        return tuple(load_spec(self.spec)["components"]["schemas"][kind.reasons]["enum"])

    def _bind(self, handler: Any, kind: Kind) -> Any:
        async def bound(operation: Operation, accepted: Accepted) -> Response:
            return await handler(kind, operation, accepted)
        return bound

    def _endpoint(self, operation: Operation, handler: Any) -> Any:
        return build_endpoint(self.context, operation, handler, f"g2p_{self.spec}_")

    async def _answer(self, kind: Kind, accepted: Accepted) -> tuple[dict[str, Any], str]:
        """Answer every item (at once: a disbursement waits for the ledger), keep the answer. A
        transaction answered before (sent again because its answer was lost, say behind a 503) is
        answered as it was kept, not done again: unlinking twice would be refused the second time."""
        kept = self.context.store.find_transaction(accepted.client.sender_id, f"{self.spec}.{kind.name}", "transaction_id", accepted.message["transaction_id"])
        if kept is not None and kept["response"] is not None:
            return kept["response"], kept["status"]
        seen: set[str] = set()
        work = []
        for item in accepted.message[kind.items]:
            if item["reference_id"] in seen:
                work.append(_answered(refuse_item("rjct.reference_id.duplicate", "the reference_id is used twice in the message", self.get_reasons(kind))))
            else:
                work.append(self.answer_item(kind, accepted, item))
            seen.add(item["reference_id"])
        results = await asyncio.gather(*work)
        now = format_time(self.context.clock_ms())
        answers = [{"reference_id": item["reference_id"], "timestamp": now, **result} for item, result in zip(accepted.message[kind.items], results)]
        message = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id, kind.answers: answers}
        status = compute_overall(answers)
        self.context.store.put_transaction(accepted.client.sender_id, accepted.message["transaction_id"], f"{self.spec}.{kind.name}", accepted.correlation_id,
                                           [answer["reference_id"] for answer in answers], status, redact_ids(self.reader, message), self.context.clock_ms())
        return message, status

    async def _answer_later(self, kind: Kind, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._call_back(kind, accepted))
        return response

    async def _call_back(self, kind: Kind, accepted: Accepted) -> None:
        message, status = await self._answer(kind, accepted)
        await self._send(accepted, f"on-{kind.name}", status, kind.callback_path, message, len(message[kind.answers]))

    async def _answer_now(self, kind: Kind, operation: Operation, accepted: Accepted) -> Response:
        message, status = await self._answer(kind, accepted)
        return await answer_sync(self.context, operation, accepted, message, status)

    async def _send(self, accepted: Accepted, action: str, status: str, path: str, message: dict[str, Any], count: int) -> None:
        header = build_callback_header(action, status, self.context.settings.sender_id, accepted.client.sender_id, self.context.clock_ms(), total_count=count)
        await send_callback(self.context, accepted.client, self.spec, path, {"header": header, "message": message}, message["transaction_id"])

    # --- transaction status
    def _answer_status(self, accepted: Accepted) -> tuple[dict[str, Any], str]:
        asked = accepted.message["txnstatus_request"]
        kind = next((kind for kind in self.kinds if kind.name == asked["txn_type"]), self.kinds[0])
        found = self.context.store.find_transaction(accepted.client.sender_id, f"{self.spec}.{kind.name}", asked["attribute_type"], asked["attribute_value"])
        if found is not None:
            status = found["response"]
        else:
            answer = {"reference_id": asked["reference_id"], "timestamp": format_time(self.context.clock_ms()),
                      **refuse_item("rjct.reference_id.invalid", f"no {kind.name} transaction of this sender matches", self.get_reasons(kind)),
                      **({"fa": ""} if kind.name == "update" else {})}  # an update's answer requires fa
            status = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id, kind.answers: [answer]}
        message = {"transaction_id": accepted.message["transaction_id"], "correlation_id": accepted.correlation_id,
                   "txnstatus_response": {"txn_type": f"on-{kind.name}", "txn_status": status}}
        return message, "succ" if found is not None else "rjct"

    async def _status_later(self, operation: Operation, accepted: Accepted) -> Response:
        response = await acknowledge(self.context, operation, accepted)
        spawn(self.context, self._call_back_status(accepted))
        return response

    async def _call_back_status(self, accepted: Accepted) -> None:
        message, status = self._answer_status(accepted)
        await self._send(accepted, "txn-on-status", status, self.status.callback_path if self.status else "", message, 1)

    async def _status_now(self, operation: Operation, accepted: Accepted) -> Response:
        message, status = self._answer_status(accepted)
        return await answer_sync(self.context, operation, accepted, message, status)


async def _answered(answer: dict[str, Any]) -> dict[str, Any]:
    return answer

"""Receiving a DCI or G2P Connect request: the checks every inbound message passes, in order, and
the evidence of it on the ledger.

``receive`` authenticates the bearer token, reads the body, checks it against the specification,
then checks the envelope: the header's sender is the token's client, the receiver (when named)
is us, a ``sender_uri`` (when given) is the callback base agreed at onboarding, the version is
1.0.0, the message is not encrypted (not supported: refused with ``err.encryption.invalid``), the
signature verifies with one of the sender's published keys, and the message id is new. Each
failure answers as ``envelope.py`` says; every message from an authenticated client, taken or
refused, is recorded with our answer before the answer leaves (``evidence.py``).
"""

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from reliefledger.interop.envelope import BodyError, build_ack, build_callback_header, format_time, http_error, new_id, parse_json, read_body
from reliefledger.interop.evidence import EvidenceLog
from reliefledger.interop.exchange_store import ExchangeStore
from reliefledger.interop.partners import Partners
from reliefledger.interop.settings import Client, InteropSettings
from reliefledger.interop.signatures import SignatureError, verify_envelope
from reliefledger.interop.tokens import TokenError, check_bearer
from reliefledger.interop.validation import list_request_errors, list_response_errors
from reliefledger.node.casework import CaseworkError

logger = logging.getLogger(__name__)


@dataclass
class ExchangeContext:
    """What every interoperability endpoint of a node shares."""

    settings: InteropSettings
    partners: Partners
    store: ExchangeStore
    evidence: EvidenceLog
    clock_ms: Callable[[], int]
    tasks: set[Any] = field(default_factory=set)

    def now_s(self) -> int:
        return self.clock_ms() // 1000


@dataclass(frozen=True)
class Accepted:
    """An inbound message that passed every check."""

    client: Client
    envelope: dict[str, Any]
    correlation_id: str

    @property
    def header(self) -> dict[str, Any]:
        return self.envelope["header"]

    @property
    def message(self) -> dict[str, Any]:
        return self.envelope["message"]


@dataclass(frozen=True)
class Operation:
    """One inbound operation: its specification and path, the scope it needs, and for a
    synchronous one the action of its response envelope."""

    spec: str
    path: str
    scope: str | None
    """None: any valid token of the client (an operation that answers only about the client's own exchanges)."""
    response_action: str | None = None
    """Set for synchronous operations: errors answer as a rejected response envelope."""
    multipart: bool = True
    refuse_as: Callable[["Refusal", str, Any], dict[str, Any]] | None = None
    """For an operation whose answer is not an envelope: the body of a refusal, given the refusal,
    the time (RFC 3339) and the request body as read (may be anything)."""


class Refusal(Exception):
    """A valid message that is not taken: ``ack_status`` (NACK or ERR), the DCI code, the reason,
    and for a synchronous answer the header reason code (one of ``MsgHeaderStatusReasonCode``)."""

    def __init__(self, ack_status: str, code: str, message: str, header_code: str | None = None) -> None:
        super().__init__(message)
        self.ack_status, self.code, self.header_code = ack_status, code, header_code


async def receive(context: ExchangeContext, operation: Operation, request: Request) -> Accepted | Response:
    """Run the checks; answer the accepted message, or the response to send back at once."""
    try:
        grant = check_bearer(context.settings, request.headers.get("authorization"), operation.scope, context.now_s())
    except TokenError as error:
        return http_error(error.status, "err.request.unauthorized" if error.status == 401 else "err.request.forbidden", str(error))
    client = grant.client
    try:
        body = await read_body(request, multipart=operation.multipart)
    except BodyError as error:
        return await _refuse(context, operation, client, None, Refusal("ERR", "err.request.bad", str(error)), status=error.status)
    errors = list_request_errors(operation.spec, operation.path, body.value, body.media_type)
    if errors:
        return await _refuse(context, operation, client, body.value, Refusal("ERR", "err.request.bad", "; ".join(errors)), status=400)
    envelope = body.value
    try:
        if body.media_type == "multipart/form-data":
            envelope = _read_file(operation, body.value)
        await _check_envelope(context, client, envelope)
    except Refusal as refusal:
        return await _refuse(context, operation, client, envelope, refusal, status=200)
    return Accepted(client, envelope, new_id())


async def acknowledge(context: ExchangeContext, operation: Operation, accepted: Accepted) -> JSONResponse:
    """The ``ACK`` of an accepted asynchronous request, recorded with it."""
    ack = context.partners.sign(build_ack("ACK", accepted.correlation_id, context.clock_ms()))
    await _record_pair(context, operation, accepted.client, accepted.envelope, ack, "ack")
    return JSONResponse(ack)


async def answer_bare(context: ExchangeContext, operation: Operation, accepted: Accepted, body: dict[str, Any], status: str) -> JSONResponse:
    """The answer of a synchronous request whose response is a bare message (no envelope): the
    message with our signature beside it, recorded with the request."""
    response = context.partners.sign_body(body)
    _log_if_invalid(operation.spec, operation.path, response, list_response_errors(operation.spec, operation.path, "200", response))
    await _record_pair(context, operation, accepted.client, accepted.envelope, response, status)
    return JSONResponse(response)


async def answer_sync(context: ExchangeContext, operation: Operation, accepted: Accepted, message: dict[str, Any], status: str) -> JSONResponse:
    """The response envelope of a synchronous request, signed and recorded with it."""
    header = build_callback_header(operation.response_action or "", status, context.settings.sender_id, accepted.client.sender_id, context.clock_ms(),
                                   total_count=1)
    response = context.partners.sign({"header": header, "message": message})
    _log_if_invalid(operation.spec, operation.path, response, list_response_errors(operation.spec, operation.path, "200", response))
    await _record_pair(context, operation, accepted.client, accepted.envelope, response, status)
    return JSONResponse(response)


def build_endpoint(context: ExchangeContext, operation: Operation, handler: Callable[[Operation, Accepted], Awaitable[Response]], name: str) -> Any:
    """The route of one operation: the checks (``receive``), then ``handler`` with the accepted
    message; 503 in the operation's shape when the evidence cannot be recorded."""
    async def endpoint(request: Request) -> Response:
        try:
            outcome = await receive(context, operation, request)
            if not isinstance(outcome, Accepted):
                return outcome
            return await handler(operation, outcome)
        except EvidenceUnavailable:
            return unavailable(context, operation)
    endpoint.__name__ = name + re.sub(r"\W", "_", operation.path)
    return endpoint


def spawn(context: ExchangeContext, work: Awaitable[Any]) -> None:
    """Run the rest of an asynchronous request after its ACK (kept until done; failures logged)."""
    async def run() -> None:
        try:
            await work
        except Exception:  # the partner can still ask txn/status; the failure must not vanish
            logger.exception("an asynchronous exchange failed")
    task = asyncio.get_running_loop().create_task(run())
    context.tasks.add(task)
    task.add_done_callback(context.tasks.discard)


async def send_callback(context: ExchangeContext, client: Client, spec: str, path: str, envelope: dict[str, Any], transaction_id: str) -> str:
    """Sign, check and deliver a callback to the partner; record it with what became of it."""
    signed = context.partners.sign(envelope)
    _log_if_invalid(spec, path, signed, list_request_errors(spec, path, signed))
    outcome = await context.partners.deliver(client, path, signed)
    header = signed["header"]
    await context.evidence.record(context.evidence.describe(signed, direction="out", sender=context.settings.sender_id, receiver=client.sender_id,
                                                            action=header["action"], message_id=header["message_id"], transaction_id=transaction_id,
                                                            outcome=outcome))
    return outcome


def _read_file(operation: Operation, form: dict[str, Any]) -> dict[str, Any]:
    """The envelope inside a multipart form's file, checked like a JSON body."""
    try:
        envelope = parse_json(form["fileName"] if isinstance(form["fileName"], bytes) else str(form["fileName"]).encode())
    except (KeyError, BodyError):
        raise Refusal("ERR", "err.request.bad", "the form's fileName is not a JSON envelope") from None
    errors = list_request_errors(operation.spec, operation.path, envelope)
    if errors:
        raise Refusal("ERR", "err.request.bad", "the envelope in the file: " + "; ".join(errors))
    if envelope["header"]["action"] != form.get("action"):
        raise Refusal("ERR", "err.request.bad", "the form's action is not the envelope's")
    return envelope


ITEMS_PER_MESSAGE_MAX = 100
"""Search, subscription or unsubscription requests (G2P: link, update, unlink, resolve requests,
disbursements, disbursement searches) in one message."""
ITEM_LISTS = ("search_request", "subscribe_request", "subscription_codes", "link_request", "update_request", "unlink_request", "resolve_request",
              "disbursements", "search_criteria")


async def _check_envelope(context: ExchangeContext, client: Client, envelope: dict[str, Any]) -> None:
    header = envelope["header"]
    message = envelope.get("message") if isinstance(envelope.get("message"), dict) else {}
    if any(isinstance(message.get(name), list) and len(message[name]) > ITEMS_PER_MESSAGE_MAX for name in ITEM_LISTS):
        raise Refusal("ERR", "err.request.bad", f"at most {ITEMS_PER_MESSAGE_MAX} requests in one message", header_code="rjct.total_count.limit_exceeded")
    if header.get("sender_id") != client.sender_id:  # a callback header (notify) may leave it out: it is required here all the same
        raise Refusal("ERR", "err.sender_id.invalid", f"the token's client sends as {client.sender_id!r}, not {header.get('sender_id')!r}")
    if header.get("receiver_id") not in (None, "", context.settings.sender_id):
        raise Refusal("ERR", "err.receiver_id.invalid", f"this system is {context.settings.sender_id!r}")
    if header.get("sender_uri") not in (None, "") and str(header["sender_uri"]).rstrip("/") != client.callback_uri:
        raise Refusal("ERR", "err.sender_uri.invalid", "callbacks go only to the address agreed at onboarding")
    if header.get("version", "1.0.0") != "1.0.0":
        raise Refusal("ERR", "err.version.not_supported", "version 1.0.0 is spoken here", header_code="rjct.version.invalid")
    if header.get("is_msg_encrypted") or (isinstance(envelope.get("message"), dict) and "ciphertext" in envelope["message"]):
        raise Refusal("ERR", "err.encryption.invalid", "encrypted messages are not supported; the connection is TLS and the message signed")
    if not isinstance(envelope.get("message"), dict):  # the specifications require only the header of some requests (notify): nothing to act on
        raise Refusal("ERR", "err.request.bad", "the envelope carries no message")
    try:
        verify_envelope(envelope, client.sender_id, await context.partners.get_keys(client), context.now_s())
    except SignatureError as error:
        raise Refusal("ERR", error.code, str(error)) from None
    if not context.store.remember_message(client.sender_id, str(header["message_id"]), context.clock_ms()):
        raise Refusal("NACK", "err.request.bad", "this message_id was used before", header_code="rjct.message_id.duplicate")


async def refuse(context: ExchangeContext, operation: Operation, accepted: Accepted, refusal: Refusal) -> JSONResponse:
    """Refuse a message that passed the common checks but not the operation's own (another
    client's, say): answered in the operation's shape and recorded like every refusal."""
    return await _refuse(context, operation, accepted.client, accepted.envelope, refusal, status=200)


async def _refuse(context: ExchangeContext, operation: Operation, client: Client, body: Any, refusal: Refusal, *, status: int) -> JSONResponse:
    answer = _build_refusal(context, operation, refusal, body, client.sender_id)
    await _record_pair(context, operation, client, body, answer, refusal.code if refusal.ack_status == "ERR" else "nack")
    return JSONResponse(answer, status_code=status)


def _build_refusal(context: ExchangeContext, operation: Operation, refusal: Refusal, body: Any, receiver: str) -> dict[str, Any]:
    """A refusal in the operation's answer shape, signed: an ACK with NACK/ERR, a rejected
    response envelope, or the operation's own bare shape."""
    now = context.clock_ms()
    if operation.refuse_as is not None:
        return context.partners.sign_body(operation.refuse_as(refusal, format_time(now), body))
    if operation.response_action is None:
        return context.partners.sign(build_ack(refusal.ack_status, new_id(), now, (refusal.code, str(refusal))))
    header = build_callback_header(operation.response_action, "rjct", context.settings.sender_id, receiver, now,
                                   reason=(refusal.header_code, f"{refusal.code}: {refusal}"))
    return context.partners.sign({"header": header})


class EvidenceUnavailable(Exception):
    """The ledger could not take the evidence of an exchange: the answer must not leave."""


def unavailable(context: ExchangeContext, operation: Operation) -> JSONResponse:
    """What a partner gets when the evidence cannot be recorded now: 503 in the operation's own
    answer shape (``ERR err.service.unavailable``), to be sent again later. Not recorded: the
    ledger could not take it."""
    refusal = Refusal("ERR", "err.service.unavailable", "the ledger cannot record this exchange now; send it again later")
    return JSONResponse(_build_refusal(context, operation, refusal, None, "-"), status_code=503)


async def _record_pair(context: ExchangeContext, operation: Operation, client: Client, inbound: Any, answer: dict[str, Any], outcome: str) -> None:
    try:
        await _write_pair(context, operation, client, inbound, answer, outcome)
    except CaseworkError as error:
        header = inbound.get("header") if isinstance(inbound, dict) and isinstance(inbound.get("header"), dict) else {}
        if "message_id" in header:
            context.store.forget_message(client.sender_id, str(header["message_id"]))  # its retry must be served, not refused as a duplicate
        logger.warning("the evidence of an exchange with %s could not be recorded: %s", client.sender_id, error)
        raise EvidenceUnavailable(str(error)) from None


async def _write_pair(context: ExchangeContext, operation: Operation, client: Client, inbound: Any, answer: dict[str, Any], outcome: str) -> None:
    header = inbound.get("header") if isinstance(inbound, dict) and isinstance(inbound.get("header"), dict) else {}
    message = inbound.get("message") if isinstance(inbound, dict) and isinstance(inbound.get("message"), dict) else {}
    transaction_id = message.get("transaction_id", "-")
    action = header.get("action", operation.path)
    evidence = context.evidence
    await evidence.record(
        evidence.describe(inbound if inbound is not None else {"unreadable": True, "sender": client.sender_id, "received_ms": context.clock_ms()}, direction="in", sender=client.sender_id, receiver=context.settings.sender_id,
                          action=action, message_id=header.get("message_id", "-"), transaction_id=transaction_id, outcome=outcome),
        evidence.describe(answer, direction="out", sender=context.settings.sender_id, receiver=client.sender_id,
                          action=(answer.get("header") or {}).get("action", "ack"), message_id=(answer.get("header") or {}).get("message_id")
                          or (answer.get("message") or answer).get("correlation_id"), transaction_id=transaction_id, outcome=outcome))


def _log_if_invalid(spec: str, path: str, body: dict[str, Any], errors: list[str]) -> None:
    if errors:
        logger.error("a message this node sends to %s %s is not valid by the specification: %s", spec, path, "; ".join(errors))

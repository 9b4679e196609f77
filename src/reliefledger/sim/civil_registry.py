"""A small civil registry (CRVS) for the synthetic city, speaking ``crvs_api_v1.0.0`` as a server:
what the tests and ``make demo`` run the node's civil-registration client against.

It publishes its keys at ``/.well-known/jwks.json``, takes ``/registry/subscribe`` and
``/registry/unsubscribe`` from its one subscriber system (the node: the bearer token this registry
issued it, and the node's signature checked against the node's JWKS), answers ``ACK`` and then
``/registry/on-subscribe`` or ``/registry/on-unsubscribe`` at the subscriber's ``sender_uri``. When a
birth or death is registered (``register_death``, ``register_birth``, or ``POST /sim/events``: the
simulation's control, not part of the standard) it sends ``/registry/notify`` to every subscription
of that event type, one event a message, signed, with a bearer token from the node's
``/oauth2/client/token``. A notify that is not acknowledged is sent again (a new message, the same
event ``reference_id``) by ``redeliver`` — what a registry does when a subscriber was down.

Records follow this profile (the specification leaves ``reg_records`` to the implementation):
``identifier`` (``[{identifier_type: "NationalID", identifier_value}]``), ``name``, ``sex``,
``birth_date`` and, for a birth, ``parents`` (``[{relationship, identifier}]``); for a death,
``death_date``. Subscriptions here are by event type: the filter is recorded, not applied. The
registry keeps its state in memory: it is a simulation.
"""

import asyncio
import datetime
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import nacl.signing
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reliefledger.interop.envelope import build_ack, build_callback_header, build_request_header, format_time, http_error, new_id
from reliefledger.interop.signatures import SignatureError, SigningKey, read_jwks, sign_envelope, to_jwk, verify_envelope
from reliefledger.interop.validation import list_request_errors

logger = logging.getLogger(__name__)
EVENT_PREFIX = "spdci-common:RegistryEventType:"
EVENT_TYPES = ("LiveBirth", "Death")


@dataclass(frozen=True)
class Subscriber:
    """The one system allowed to subscribe, and how this registry reaches it."""

    sender_id: str
    jwks_uri: str
    token_url: str
    client_id: str
    client_secret: str


@dataclass
class Outgoing:
    """A notify to send (again, until it is acknowledged)."""

    code: str
    callback_base: str
    event: dict[str, Any]
    attempts: int = 0
    outcome: str = "pending"


@dataclass
class CivilRegistryService:
    """The simulated civil registry."""

    sender_id: str = "crvs.city.example"
    key: SigningKey = field(default_factory=lambda: SigningKey(f"crvs-{secrets.token_hex(3)}", nacl.signing.SigningKey.generate().encode()))
    issued_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """The bearer token this registry issued its subscriber (the node keeps it as ``callback_token``)."""
    subscriber: Subscriber | None = None
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[Outgoing] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    """Every request this registry took, with its headers (tests validate them)."""
    exchanges: list[httpx.Response] = field(default_factory=list)
    """Every message this registry sent, as the response it got (with its request)."""
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=20.0))
    clock_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    """The registry's clock (a test shares the node's)."""
    _token: tuple[float, str] | None = None
    _tasks: set[Any] = field(default_factory=set)

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [to_jwk(self.key.kid, self.key.public_key)]}

    def build_app(self) -> FastAPI:
        """The registry's HTTP server."""
        app = FastAPI(title="Simulated civil registry (crvs_api v1.0.0)")

        @app.get("/.well-known/jwks.json")
        async def jwks() -> Any:
            return self.jwks

        @app.post("/registry/subscribe")
        async def subscribe(request: Request) -> Any:
            return await self._take(request, "/registry/subscribe", self._confirm_subscriptions)

        @app.post("/registry/unsubscribe")
        async def unsubscribe(request: Request) -> Any:
            return await self._take(request, "/registry/unsubscribe", self._confirm_unsubscriptions)

        @app.post("/sim/events")
        async def register(request: Request) -> Any:
            try:
                body = await request.json()
                if body.get("event") == "death":
                    event = await self.register_death(str(body["id_number"]), str(body.get("death_date") or datetime.date.today().isoformat()))
                elif body.get("event") == "birth":
                    event = await self.register_birth(str(body["id_number"]), name=str(body.get("name", "")), sex=str(body.get("sex", "unknown")),
                                                      birth_date=str(body.get("birth_date") or datetime.date.today().isoformat()),
                                                      parent_id_numbers=[str(item) for item in body.get("parent_id_numbers", [])])
                else:
                    return JSONResponse({"code": "bad_event", "message": "event is death or birth"}, status_code=400)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                return JSONResponse({"code": "bad_event", "message": f"the event cannot be read: {error}"}, status_code=400)
            return {"reference_id": event["reference_id"], "notified": [item.outcome for item in self.outbox if item.event is event]}
        return app

    # --- requests from the subscriber ------------------------------------------------------------

    async def _take(self, request: Request, path: str, then: Any) -> Any:
        if self.subscriber is None:
            return http_error(403, "err.request.forbidden", "this registry has no subscriber onboarded")
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), f"Bearer {self.issued_token}".encode()):
            return http_error(401, "err.request.unauthorized", "a bearer token issued by this registry is required")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(self._sign(build_ack("ERR", new_id(), self.clock_ms(), ("err.request.bad", "not JSON"))), status_code=400)
        errors = list_request_errors("crvs", path, body)
        if errors:
            return JSONResponse(self._sign(build_ack("ERR", new_id(), self.clock_ms(), ("err.request.bad", "; ".join(errors)))), status_code=400)
        header = body["header"]
        if header["sender_id"] != self.subscriber.sender_id:
            return self._sign(build_ack("ERR", new_id(), self.clock_ms(), ("err.sender_id.invalid", "unknown sender")))
        try:
            keys = read_jwks((await self.http.get(self.subscriber.jwks_uri)).json())
            verify_envelope(body, self.subscriber.sender_id, keys, self.clock_ms() // 1000)
        except SignatureError as error:
            return self._sign(build_ack("ERR", new_id(), self.clock_ms(), (error.code, str(error))))
        except (httpx.HTTPError, ValueError) as error:
            return self._sign(build_ack("ERR", new_id(), self.clock_ms(), ("err.signature.invalid", f"the sender's keys cannot be read: {error}")))
        self.received.append({"path": path, "body": body, "headers": dict(request.headers)})
        correlation_id = new_id()
        task = asyncio.get_running_loop().create_task(self._run(then(body, correlation_id)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._sign(build_ack("ACK", correlation_id, self.clock_ms()))

    async def _confirm_subscriptions(self, body: dict[str, Any], correlation_id: str) -> None:
        items = []
        callback_base = str(body["header"].get("sender_uri") or "").rstrip("/")
        for request in body["message"]["subscribe_request"]:
            criteria, now = request["subscribe_criteria"], format_time(self.clock_ms())
            event_type = str(criteria["reg_event_type"]).rsplit(":", 1)[-1]
            item: dict[str, Any] = {"reference_id": request["reference_id"], "timestamp": now}
            if event_type not in EVENT_TYPES or not callback_base:
                items.append({**item, "status": "rjct", "status_reason_code": "rjct.notify_types.invalid",
                              "status_reason_message": f"events here are {', '.join(EVENT_TYPES)}, sent to the request's sender_uri"})
                continue
            code = "crvs-sub-" + secrets.token_hex(6)
            self.subscriptions[code] = {"event_type": event_type, "callback_base": callback_base, "criteria": criteria, "active": True}
            items.append({**item, "status": "succ", "subscriptions": [{"code": code, "status": "subscribe", "timestamp": now, "reg_event_type": criteria["reg_event_type"],
                                                                          "notify_record_type": criteria["notify_record_type"]}]})
        message = {"transaction_id": body["message"]["transaction_id"], "correlation_id": correlation_id, "subscribe_response": items}
        header = build_request_header("on-subscribe", self.sender_id, self.subscriber.sender_id, self.clock_ms(), len(items), sender_uri=None)
        await self._send(callback_base, "/registry/on-subscribe", {"header": header, "message": message})

    async def _confirm_unsubscriptions(self, body: dict[str, Any], correlation_id: str) -> None:
        codes = [str(code) for code in body["message"]["subscription_codes"]]
        known = [code for code in codes if code in self.subscriptions]
        callback_base = str(body["header"].get("sender_uri") or "").rstrip("/") or next((self.subscriptions[code]["callback_base"] for code in known), "")
        for code in known:
            self.subscriptions[code]["active"] = False
        message: dict[str, Any] = {"transaction_id": body["message"]["transaction_id"], "correlation_id": correlation_id, "timestamp": format_time(self.clock_ms()),
                                   "status": "succ" if len(known) == len(codes) else "rjct",
                                   "subscription_status": [{"code": code, "status": "unsubscribe"} for code in known]}
        if len(known) != len(codes):
            message.update(status_reason_code="rjct.subscription_code.invalid", status_reason_message="unknown codes")
        header = build_request_header("on-unsubscribe", self.sender_id, self.subscriber.sender_id, self.clock_ms(), len(codes), sender_uri=None)
        if callback_base:
            await self._send(callback_base, "/registry/on-unsubscribe", {"header": header, "message": message})

    async def _run(self, work: Any) -> None:
        """The rest of a request after its ACK; a failure is logged, never lost silently."""
        try:
            await work
        except Exception:
            logger.exception("the simulated civil registry could not answer a request")

    # --- registering events and notifying ----------------------------------------------------------

    async def register_death(self, id_number: str, death_date: str) -> dict[str, Any]:
        """A death is registered; subscribers to deaths are notified."""
        records = {"identifier": [{"identifier_type": "NationalID", "identifier_value": id_number}], "death_date": death_date}
        return await self._register("Death", records)

    async def register_birth(self, id_number: str, *, name: str, sex: str, birth_date: str, parent_id_numbers: list[str]) -> dict[str, Any]:
        """A birth is registered; subscribers to births are notified."""
        records = {"identifier": [{"identifier_type": "NationalID", "identifier_value": id_number}], "name": name, "sex": sex, "birth_date": birth_date,
                   "parents": [{"relationship": "parent", "identifier": [{"identifier_type": "NationalID", "identifier_value": parent}]}
                               for parent in parent_id_numbers]}
        return await self._register("LiveBirth", records)

    async def _register(self, event_type: str, records: dict[str, Any]) -> dict[str, Any]:
        event = {"reference_id": f"vital-{secrets.token_hex(8)}", "timestamp": format_time(self.clock_ms()),
                 "data": {"version": "1.0.0", "reg_type": "ns:org:RegistryType:Civil", "reg_event_type": EVENT_PREFIX + event_type, "reg_record_type": "Person",
                          "reg_records": records}}
        self.events.append(event)
        for code, subscription in self.subscriptions.items():
            if subscription["active"] and subscription["event_type"] == event_type:
                self.outbox.append(Outgoing(code, subscription["callback_base"], event))
        await self.redeliver()
        return event

    async def redeliver(self) -> int:
        """Send every notify not yet acknowledged; answer how many still are not."""
        for item in self.outbox:
            if item.outcome == "ack":
                continue
            message = {"transaction_id": f"notify-{secrets.token_hex(6)}", "notify_event": [item.event]}
            header = build_callback_header("notify", "succ", self.sender_id, self.subscriber.sender_id if self.subscriber else "-", self.clock_ms(), total_count=1)
            item.attempts += 1
            item.outcome = await self._send(item.callback_base, "/registry/notify", {"header": header, "message": message})
        return sum(item.outcome != "ack" for item in self.outbox)

    async def _send(self, base: str, path: str, envelope: dict[str, Any]) -> str:
        """POST a signed message to the subscriber; answer ``ack``, the error code, or ``http.<status>``/``unreachable``."""
        try:
            token = await self._get_token()
            response = await self.http.post(base + path, json=self._sign(envelope), headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            return "unreachable"
        self.exchanges.append(response)
        try:
            answer = response.json().get("message") or {}
        except ValueError:
            return f"http.{response.status_code}"
        if response.status_code != 200:
            return f"http.{response.status_code}"
        status = str(answer.get("ack_status", "")).lower()
        return status if status != "err" else str((answer.get("error") or {}).get("code", "err"))

    async def _get_token(self) -> str:
        """A bearer token from the subscriber's token endpoint (kept until shortly before it expires)."""
        if self._token is not None and self._token[0] > time.monotonic():
            return self._token[1]
        if self.subscriber is None:
            raise httpx.HTTPError("this registry has no subscriber onboarded")
        response = await self.http.post(self.subscriber.token_url, data={"grant_type": "client_credentials", "client_id": self.subscriber.client_id,
                                                                          "client_secret": self.subscriber.client_secret})
        response.raise_for_status()
        document = response.json()
        self._token = (time.monotonic() + int(document["expires_in"]) - 60, document["access_token"])
        return document["access_token"]

    def _sign(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """An envelope (or an acknowledgement, ``{message}``) with this registry's signature."""
        return {**envelope, "signature": sign_envelope(self.key, self.sender_id, envelope, self.clock_ms() // 1000)}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()


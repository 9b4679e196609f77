"""Helpers of the interoperability tests: a partner system (its keys, its callback server, the
envelopes it sends) and validators built from the specifications with openapi-core."""

import asyncio
import datetime
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import nacl.signing
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from reliefledger.interop.signatures import SigningKey, sign_envelope, to_jwk, verify_envelope, read_jwks
from reliefledger.interop.specs import load_spec


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Partner:
    """A partner system: its signing key, its sender id, and what its callback server received."""

    sender_id: str = "spmis.example"
    key: SigningKey = field(default_factory=lambda: SigningKey("partner-key-1", nacl.signing.SigningKey.generate().encode()))
    received: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    down: bool = False
    """While set, the callback endpoint answers 503 (a partner that is down)."""

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [to_jwk(self.key.kid, self.key.public_key)]}

    def build_app(self, prefix: str = "/dci") -> FastAPI:
        """The partner's server: its JWKS, and an endpoint taking every callback with an ACK."""
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        async def jwks() -> Any:
            return self.jwks

        @app.post(prefix + "/{path:path}")
        async def callback(path: str, request: Request) -> Any:
            if self.down:
                return JSONResponse({"errors": [{"code": "err.service.unavailable", "message": "down"}]}, status_code=503)
            self.received.append(("/" + path, await request.json(), dict(request.headers)))
            self.arrived.set()
            return {"message": {"ack_status": "ACK", "timestamp": now_iso(), "correlation_id": secrets.token_hex(6)}}
        return app

    async def wait_for(self, path: str, count: int = 1, timeout_s: float = 10.0) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """The bodies and headers of the first ``count`` callbacks to ``path``."""
        async def arrived() -> list[tuple[dict[str, Any], dict[str, str]]]:
            while True:
                bodies = [(body, headers) for where, body, headers in self.received if where == path]
                if len(bodies) >= count:
                    return bodies[:count]
                self.arrived.clear()
                await self.arrived.wait()
        return await asyncio.wait_for(arrived(), timeout_s)

    def envelope(self, action: str, message: dict[str, Any], *, signed: bool = True, **header: Any) -> dict[str, Any]:
        """A request envelope from this partner."""
        envelope = {"header": {"version": "1.0.0", "message_id": secrets.token_hex(8), "message_ts": now_iso(), "action": action, "sender_id": self.sender_id,
                               "receiver_id": "reliefledger.test", "total_count": 1, "is_msg_encrypted": False, **header}, "message": message}
        if signed:
            envelope["signature"] = sign_envelope(self.key, self.sender_id, envelope, int(datetime.datetime.now().timestamp()))
        return envelope


def search_message(*criteria: dict[str, Any]) -> dict[str, Any]:
    """A SearchRequest with one search request per criteria."""
    return {"transaction_id": secrets.token_hex(8), "search_request": [{"reference_id": f"ref-{index}", "timestamp": now_iso(), "search_criteria": item}
                                                                        for index, item in enumerate(criteria)]}


def verify_ours(body: dict[str, Any], jwks: dict[str, Any], sender_id: str = "reliefledger.test") -> None:
    """Assert ``body`` carries a valid signature of ours."""
    verify_envelope(body, sender_id, read_jwks(jwks), int(datetime.datetime.now().timestamp()))


class SpecChecker:
    """openapi-core validators of one specification served (or called) at ``base_path``."""

    def __init__(self, spec: str, base_path: str) -> None:
        self.openapi = OpenAPI.from_dict(load_spec(spec, base_path))
        self.checked = 0

    def check_exchange(self, response: httpx.Response, *, request_valid: bool = True) -> None:
        """Validate a request we sent and the response we got (raises with the reasons); a request
        sent invalid on purpose is not validated, its response is."""
        request = response.request
        mock_request = MockRequest(f"{request.url.scheme}://{request.url.netloc.decode()}", request.method.lower(), request.url.path, headers=dict(request.headers),
                                   data=request.content, content_type=request.headers.get("content-type", ""))
        mock_response = MockResponse(response.content, response.status_code, headers=dict(response.headers),
                                     content_type=response.headers.get("content-type", ""))
        if request_valid:
            self.openapi.validate_request(mock_request)
        self.openapi.validate_response(mock_request, mock_response)
        self.checked += 1

    def check_callback(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        """Validate a callback we received (body and headers) as a request to ``path`` of the partner's side."""
        mock_request = MockRequest("http://partner", "post", path, headers=headers, data=json.dumps(body).encode(), content_type="application/json")
        self.openapi.validate_request(mock_request)
        self.checked += 1


def free_port() -> int:
    """A TCP port free on the loopback now."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

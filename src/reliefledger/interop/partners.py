"""Reaching the partner systems: their public keys (JWKS) and their callback endpoints.

A partner's keys are read from its ``jwks_uri`` (kept ten minutes; a failed read is retried
after thirty seconds) or from the JWKS onboarded inline. Callbacks go only to the partner's onboarded ``callback_uri`` plus the operation's path —
never to an address a message names — signed with our key, checked against the specification
before they leave, and tried three times (after 0.5, 2 and 5 seconds) before being given up as
``unreachable`` (the transaction's status stays answerable through ``txn/status``).
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from reliefledger.interop.settings import Client, InteropSettings
from reliefledger.interop.signatures import read_jwks, sign_envelope

logger = logging.getLogger(__name__)
KEYS_KEPT_S = 600
FAILURE_KEPT_S = 30
"""A JWKS that could not be read is tried again after this, not on every message."""
RETRY_DELAYS_S = (0.5, 2.0, 5.0)


@dataclass
class Partners:
    """The partners of one node."""

    settings: InteropSettings
    http: httpx.AsyncClient
    clock_s: Callable[[], int] = lambda: int(time.time())
    namespace: str = "dci"
    retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
    _keys: dict[str, tuple[float, dict[str, bytes]]] = field(default_factory=dict)

    async def get_keys(self, client: Client) -> dict[str, bytes]:
        """The partner's Ed25519 keys by key id (none when its JWKS cannot be read)."""
        if client.jwks is not None:
            return read_jwks(client.jwks)
        kept = self._keys.get(client.client_id)
        if kept is not None and time.monotonic() - kept[0] < (KEYS_KEPT_S if kept[1] else FAILURE_KEPT_S):
            return kept[1]
        try:
            response = await self.http.get(client.jwks_uri, timeout=5.0)
            keys = read_jwks(response.json()) if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError, RecursionError) as error:
            logger.warning("cannot read the JWKS of %s: %s", client.client_id, error)
            keys = {}
        self._keys[client.client_id] = (time.monotonic(), keys)
        return keys

    def sign(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """The envelope with our signature."""
        return {**envelope, "signature": sign_envelope(self.settings.key, self.settings.sender_id, envelope, self.clock_s(), namespace=self.namespace)}

    def sign_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A bare message (a response that is not an envelope) with our signature beside it, made
        as for the envelope ``{"header": null, "message": body}``."""
        return {**body, "signature": sign_envelope(self.settings.key, self.settings.sender_id, {"header": None, "message": body}, self.clock_s(),
                                                   namespace=self.namespace)}

    async def deliver(self, client: Client, path: str, envelope: dict[str, Any]) -> str:
        """POST a signed callback to the partner; answer the outcome: its ``ack_status`` in lower
        case (or its error code), ``http.<status>``, or ``unreachable``."""
        url = client.callback_uri + path
        outcome = "unreachable"
        for attempt, delay in enumerate((0.0, *self.retry_delays_s)):
            if delay:
                await asyncio.sleep(delay)
            try:
                headers = {"Authorization": f"Bearer {client.callback_token}"} if client.callback_token else {}
                response = await self.http.post(url, json=envelope, headers=headers, timeout=10.0)
            except httpx.HTTPError as error:
                logger.warning("callback %s to %s failed (attempt %d): %s", path, client.client_id, attempt + 1, error)
                continue
            if response.status_code >= 500:
                outcome = f"http.{response.status_code}"
                continue
            try:
                message = response.json().get("message", {})
                status = str(message.get("ack_status", "")).lower()
                error_code = (message.get("error") or {}).get("code")
            except (ValueError, AttributeError, RecursionError):
                return f"http.{response.status_code}"
            if response.status_code != 200 or not status:
                return f"http.{response.status_code}"
            return error_code if status == "err" and isinstance(error_code, str) else status
        return outcome

"""Fuzzing the registries from their specifications (schemathesis): valid and invalid requests
generated from the mended social_api_v1.0.0.yaml and ibr_api_v1.0.0.yaml against a node serving
over real HTTP. Every
response must conform to the specification (status, media type, body), no request may bring a
5xx, requests without or with a bad token must be refused, and valid ones must not be rejected.
Generation is derandomised, so CI sends the same requests every run; drop ``derandomize`` locally
to explore further (docs/interop.md)."""

import asyncio
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode

from reliefledger.interop.signatures import sign_envelope
from reliefledger.interop.specs import load_spec
from interop_support import Partner
from world import World, run_world

SERVED = r"^/registry/(search|sync/search|subscribe|unsubscribe|txn/status|sync/txn/status)$"
"""The operations a registry serves (the on-… and notify paths are the partner's)."""

schema = schemathesis.openapi.from_dict(load_spec("social", "/dci/social")).include(path_regex=SERVED)
ibr_schema = schemathesis.openapi.from_dict(load_spec("ibr", "/dci/ibr")).include(path_regex=SERVED.replace("sync/txn/status)", "sync/txn/status|sync/enrolled|sync/enrollment/updates)"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A world served from a thread of its own for the whole module: its URL and a bearer token."""
    async def prepare(world: World) -> dict[str, Any]:
        return {"url": world.url, "headers": await world.bearer(), "world": world}
    yield from serve_in_thread(tmp_path_factory.mktemp("fuzz"), prepare)


def serve_in_thread(path: Path, prepare: Callable[[World], Awaitable[dict[str, Any]]], **options: Any) -> Iterator[dict[str, Any]]:
    """Run a world (``run_world`` with ``options``) in a thread of its own while the caller
    yields what ``prepare`` answered in it."""
    ready: queue.Queue[dict[str, Any]] = queue.Queue()
    stop: dict[str, Any] = {}

    async def scenario(world: World) -> None:
        stop["event"], stop["loop"] = asyncio.Event(), asyncio.get_running_loop()
        ready.put(await prepare(world))
        await stop["event"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(run_world(path, scenario, **options)), daemon=True)
    thread.start()
    yield ready.get(timeout=90)
    stop["loop"].call_soon_threadsafe(stop["event"].set)
    thread.join(timeout=30)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_social_registry_answers_whatever_it_is_sent_as_its_specification_says(case: Any, served: dict[str, Any]) -> None:
    # A multipart form carries its fields as text on the wire, so a "wrong type" generated for one
    # is not wrong once sent: the negative-data check does not apply to forms.
    excluded = [schemathesis.checks.negative_data_rejection] if (case.media_type or "").startswith("multipart/") else []
    sign_as_partner(case, served["world"])
    case.call_and_validate(base_url=served["url"] + "/dci/social", headers=served["headers"], excluded_checks=excluded)


@ibr_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_beneficiary_registry_answers_whatever_it_is_sent_as_its_specification_says(case: Any, served: dict[str, Any]) -> None:
    excluded = [schemathesis.checks.negative_data_rejection] if (case.media_type or "").startswith("multipart/") else []
    sign_as_partner(case, served["world"])
    case.call_and_validate(base_url=served["url"] + "/dci/ibr", headers=served["headers"], excluded_checks=excluded)


def sign_as_partner(case: Any, world: World, partner: Partner | None = None) -> None:
    """Make a generated valid JSON envelope the partner's (``partner``: another sender of the same
    partner, such as its G2P client) and sign it, so the fuzzer reaches the searches,
    subscriptions and statuses behind the door (only fields that have their valid type are
    changed, to other valid values)."""
    partner = partner or world.partner
    body = case.body
    negative = case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE
    if negative or not isinstance(body, dict) or not isinstance(body.get("header"), dict):
        return  # a request generated invalid is sent as generated: it must be refused as it is
    header = body["header"]
    for name, value in (("sender_id", partner.sender_id), ("version", "1.0.0"), ("message_id", secrets.token_hex(8))):
        if isinstance(header.get(name), str):
            header[name] = value
    for name in ("receiver_id", "sender_uri"):
        if isinstance(header.get(name), str):
            del header[name]
    if header.get("is_msg_encrypted") is True:
        header["is_msg_encrypted"] = False
    if isinstance(body.get("signature", ""), str):
        body["signature"] = sign_envelope(partner.key, partner.sender_id, body, int(time.time()))

"""DCI exchanges a second through a node serving the standards over real HTTP: what a partner
system gets from the Social Registry's synchronous search, every message checked (token,
specification, Ed25519 signature) and recorded on the ledger before it is answered.

Builds a small synthetic city in a temporary folder, serves the standards in this process
(uvicorn on the loopback), and CLIENTS concurrent partner connections each send signed
``/registry/sync/search`` requests by national ID (signed beforehand, not timed). For comparison
it times, in the same process, what the exchange costs without the network and the ledger: the
checks alone (specification and signature) on the same envelopes. Prints JSON.

    .venv/bin/python benchmarks/interop_exchange.py --requests 400 --clients 8
"""

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
from fastapi import FastAPI

from reliefledger.interop.service import open_interop
from reliefledger.interop.settings import write_client
from reliefledger.interop.signatures import SigningKey, read_jwks, sign_envelope, to_jwk, verify_envelope
from reliefledger.interop.validation import list_request_errors
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.runtime import open_node, read_clock_ms, start_server
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.data_sharing import prepare_city

SENDER = "bench-partner"


def build_search(key: SigningKey, id_number: str, now_s: int) -> dict[str, Any]:
    """A signed synchronous search for one person by national ID."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s))
    envelope = {"header": {"version": "1.0.0", "message_id": secrets.token_hex(8), "message_ts": stamp, "action": "search", "sender_id": SENDER,
                           "receiver_id": "reliefledger.bench", "total_count": 1, "is_msg_encrypted": False},
                "message": {"transaction_id": secrets.token_hex(6), "search_request": [{"reference_id": "r1", "timestamp": stamp, "search_criteria": {
                    "query_type": "idtype-value", "query": {"type": "NationalID", "value": id_number}}}]}}
    return {**envelope, "signature": sign_envelope(key, SENDER, envelope, now_s)}


async def measure(households: int, requests: int, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        population = generate_population(seed=7, households=households)
        directory = initialise_directory(Path(folder) / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES],
                                         region="110000", chain_id="bench-interop", time_ms=read_clock_ms() - 60_000, settings=NodeSettings(block_wait_ms_max=5))
        key = SigningKey("bench-key", nacl.signing.SigningKey.generate().encode())
        jwks = {"keys": [to_jwk(key.kid, key.public_key)]}
        async with open_node(directory) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
                await prepare_city(directory, node, casework, population, applies=lambda index, household: False)
                await admit_staff(directory, node, organisation="civil-affairs", label="interop", roles=["data_officer"], region="110000")
                secret = write_client(directory.root, client_id="bench", sender_id=SENDER, callback_uri="http://127.0.0.1:9", scopes=["registry.search"],
                                      fields=["household_id", "region", "members_count"], jwks=jwks, node_sender_id="reliefledger.bench")
                app = FastAPI()
                async with open_interop(directory.root, casework, StaffDirectory(directory).get("interop"), app, notify_every_s=3600):
                    server, serving = await start_server(app, host="127.0.0.1", port=0)
                    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
                    people = [member.id_number for household in population.households for member in household.members]
                    now_s = read_clock_ms() // 1000
                    bodies = [build_search(key, people[index % len(people)], now_s) for index in range(requests)]
                    try:
                        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                            token = (await http.post("/oauth2/client/token", data={"grant_type": "client_credentials", "client_id": "bench",
                                                                                   "client_secret": secret})).json()["access_token"]
                        elapsed, latencies = await send_all(url, token, bodies, clients)
                        height = node.tip.height
                    finally:
                        server.should_exit = True
                        await serving
        started = time.perf_counter()
        keys = read_jwks(jwks)
        for body in bodies:
            assert not list_request_errors("social", "/registry/sync/search", body)
            verify_envelope(body, SENDER, keys, now_s)
        checks_only = time.perf_counter() - started
    latencies.sort()
    return {"requests": requests, "clients": clients, "households": households, "sync_search_per_s": round(requests / elapsed, 1),
            "latency_ms_median": round(latencies[len(latencies) // 2] * 1000, 1), "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
            "checks_only_per_s": round(requests / checks_only), "ledger_height_after": height}


async def send_all(url: str, token: str, bodies: list[dict[str, Any]], clients: int) -> tuple[float, list[float]]:
    """Send every body from ``clients`` concurrent connections; answer the time and each latency."""
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
            while not queue.empty():
                body = queue.get_nowait()
                sent = time.perf_counter()
                response = await http.post("/dci/social/registry/sync/search", json=body)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200 or response.json()["header"]["status"] != "succ":
                    raise RuntimeError(response.text[:500])

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(measure(arguments.households, arguments.requests, arguments.clients))))


if __name__ == "__main__":
    main()

"""Transactions a second through the HTTP API of a real node process, as clients would submit.

Starts ``reliefledger node`` on a fresh chain in a temporary folder, then CLIENTS concurrent
keep-alive clients POST signed envelopes (signed beforehand, not timed) and the script waits
until every one is committed. Prints JSON.

    .venv/bin/python benchmarks/http_submit.py --count 5000 --clients 32
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from reliefledger.node.bench import build_transactions
from reliefledger.node.directory import initialise_directory
from reliefledger.node.runtime import read_clock_ms
from reliefledger.node.settings import NodeSettings


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def submit_all(url: str, envelopes: list, clients: int) -> float:
    queue: asyncio.Queue = asyncio.Queue()
    for envelope in envelopes:
        queue.put_nowait(envelope)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while not queue.empty():
                envelope = queue.get_nowait()
                response = await client.post("/v1/transactions", content=envelope.encoded)
                if response.status_code != 202:
                    raise RuntimeError(response.text)

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        final = await client.get(f"/v1/transactions/{envelopes[-1].id.hex()}", params={"wait": 60})
        while (await client.get("/v1/status")).json()["pending"]:
            await asyncio.sleep(0.01)
    if final.json()["status"] != "committed":
        raise RuntimeError(final.text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    arguments = parser.parse_args()
    port = find_free_port()
    with tempfile.TemporaryDirectory() as folder:
        directory = initialise_directory(
            Path(folder) / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs"],
            region="110000", chain_id="bench", time_ms=read_clock_ms(), settings=NodeSettings(port=port),
        )
        key = directory.read_organisation_key("civil-affairs")
        envelopes = build_transactions(key, "bench", arguments.count)
        command = [os.path.join(os.path.dirname(sys.executable), "reliefledger"), "node", str(directory.root)]
        node = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{url}/v1/status", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            elapsed = asyncio.run(submit_all(url, envelopes, arguments.clients))
        finally:
            node.terminate()
            node.wait(15)
    print(json.dumps({"http_tx_per_s": round(arguments.count / elapsed), "transactions": arguments.count, "clients": arguments.clients}))


if __name__ == "__main__":
    main()

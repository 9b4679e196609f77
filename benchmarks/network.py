"""Four peers on a three-server JetStream cluster, all on this machine: committed transactions a
second at every peer, submit-to-commit latency, and the dip and recovery when the stream leader
is killed. Prints JSON (with a per-second series for the chart in docs/benchmarks.md).

``network up`` starts 3 nats-server processes (fsync on every write) and 4 peers as separate
processes (the first cuts blocks, the second stands by). Membership admissions signed by each
peer's organisation are submitted over HTTP to all four peers at once, ``--in-flight`` per peer
in batches (``POST /v1/transactions/batch``), as a desk or a payment run submits. Every 0.2 s each peer's height is sampled; afterwards the blocks' transaction
counts turn heights into committed transactions, per peer and per second. One transaction in
The first transaction of every batch is followed with the long-poll ``?wait=`` at the peer it
was submitted to: its latency is from submission to the answer "committed". With ``--kill-leader-at S`` the server leading the
transaction stream is killed with SIGKILL S seconds into the run.

    .venv/bin/python benchmarks/network.py --transactions 20000                       # as fast as it goes
    .venv/bin/python benchmarks/network.py --transactions 30000 --rate 1000 --kill-leader-at 10
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import nats

from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.keys import generate_key
from reliefledger.node.network import NetworkPlan, bring_down, bring_up, find_free_base_port
from reliefledger.ordering.jetstream import get_stream_names

CHAIN_ID = "bench-network"


def sign_admissions(folder: ChainDirectory, organisation: str, count: int) -> list:
    admin = folder.read_organisation_key(organisation)
    valid_until = time.time_ns() // 1_000_000 + 3_600_000
    return [sign_transaction(admin.suite, admin.seed, TransactionBody(CHAIN_ID, "membership", "admit_member",
                                                                       {"public_key": generate_key(admin.suite, "m").public_key, "roles": ["caseworker"]},
                                                                       admin.public_key, f"{organisation}-{number}", valid_until))
            for number in range(count)]


async def find_leader(servers: list[str], stream: str) -> str:
    connection = await nats.connect(servers=servers, max_reconnect_attempts=3)
    try:
        return (await connection.jetstream().stream_info(stream)).cluster.leader
    finally:
        await connection.close()


async def drive(record: dict, folders: dict[str, ChainDirectory], total: int, in_flight: int, batch_size: int, kill_at: float | None,
                rate: float | None) -> dict:
    peers = {entry["name"]: entry["url"] for entry in record["peers"]}
    loads = {name: sign_admissions(folders[name], name, total // len(peers)) for name in peers}
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in peers}
    latencies: list[float] = []
    refused: list[str] = []
    killed: dict = {}
    started = time.monotonic()
    done = asyncio.Event()
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=in_flight * len(peers) + 16)) as client:
        async def sample() -> None:
            while not done.is_set():
                for name, url in peers.items():
                    try:
                        samples[name].append((time.monotonic() - started, (await client.get(f"{url}/v1/status")).json()["height"]))
                    except httpx.HTTPError:
                        pass
                await asyncio.sleep(0.2)

        async def follow(url: str, identifier: str, submitted: float) -> None:
            answer = (await client.get(f"{url}/v1/transactions/{identifier}", params={"wait": 60})).json()
            if answer.get("status") == "committed":
                latencies.append((submitted - started, (time.monotonic() - submitted) * 1000))

        async def submit(name: str) -> None:
            url = peers[name]
            gate = asyncio.Semaphore(in_flight)
            followers = []

            async def one(batch: list) -> None:
                async with gate:
                    submitted = time.monotonic()
                    body = b"[" + b",".join(envelope.encoded for envelope in batch) + b"]"
                    for _ in range(60):
                        answer = await client.post(f"{url}/v1/transactions/batch", content=body, headers={"content-type": "application/json"})
                        if answer.status_code == 200 and all("status" in item for item in answer.json()):
                            break
                        await asyncio.sleep(0.5)  # 503 during a fail-over: the client retries the same transactions (their ids make it safe)
                    else:
                        refused.append(answer.text)
                        return
                followers.append(asyncio.create_task(follow(url, batch[0].id.hex(), submitted)))

            load = loads[name]
            batches = [load[start:start + batch_size] for start in range(0, len(load), batch_size)]
            if rate is None:
                await asyncio.gather(*(one(batch) for batch in batches))
            else:  # an open loop at the offered rate, spread over the peers
                sent = []
                for number, batch in enumerate(batches):
                    await asyncio.sleep(max(0.0, started + number * batch_size * len(peers) / rate - time.monotonic()))
                    sent.append(asyncio.create_task(one(batch)))
                await asyncio.gather(*sent)
            await asyncio.gather(*followers)

        async def killer() -> None:
            await asyncio.sleep(kill_at)
            servers = [server["url"] for server in record["servers"]]
            leader = await find_leader(servers, get_stream_names(CHAIN_ID)[0])
            entry = next(item for item in record["processes"] if item["name"] == leader)
            os.kill(entry["pid"], signal.SIGKILL)
            killed.update(server=leader, at_s=round(time.monotonic() - started, 1))

        sampler = asyncio.create_task(sample())
        tasks = [asyncio.create_task(submit(name)) for name in peers]
        if kill_at is not None:
            tasks.append(asyncio.create_task(killer()))
        await asyncio.gather(*tasks)
        # Wait until every peer has committed everything.
        target = max(height for series in samples.values() for _, height in series[-1:])
        while True:
            heights = [(await client.get(f"{url}/v1/status")).json()["height"] for url in peers.values()]
            if min(heights) >= target and len(set(heights)) == 1:
                await asyncio.sleep(0.5)
                if [(await client.get(f"{url}/v1/status")).json()["height"] for url in peers.values()] == heights:
                    break
            await asyncio.sleep(0.2)
        done.set()
        await sampler
        elapsed = time.monotonic() - started
        url = next(iter(peers.values()))
        counts = [0]
        for height in range(1, heights[0] + 1):
            counts.append(counts[-1] + len((await client.get(f"{url}/v1/blocks/{height}")).json()["transaction_ids"]))
        digests = {(await client.get(f"{peer_url}/v1/blocks/{heights[0]}")).json()["state_digest"] for peer_url in peers.values()}
    return {"samples": samples, "counts": counts, "latencies": latencies, "refused": refused, "killed": killed, "elapsed_s": elapsed,
            "agree": len(digests) == 1, "height": heights[0]}


def summarise(result: dict, total: int) -> dict:
    per_second: dict[str, list[int]] = {}
    for name, series in result["samples"].items():
        seconds = int(result["elapsed_s"]) + 1
        committed = [0] * seconds
        for second in range(seconds):
            at = [height for moment, height in series if moment <= second + 1]
            committed[second] = result["counts"][min(at[-1], len(result["counts"]) - 1)] if at else 0
        per_second[name] = [committed[0]] + [committed[index] - committed[index - 1] for index in range(1, seconds)]
    everyone = [min(values) for values in zip(*per_second.values())]
    kill_second = int(result["killed"]["at_s"]) if result["killed"] else None
    steady = everyone[2:kill_second] if kill_second else everyone[2:-2]
    baseline = statistics.mean(steady) if steady else 0
    recovered = None
    if kill_second is not None:
        recovered = next((second for second in range(kill_second + 1, len(everyone)) if everyone[second] >= 0.8 * baseline), None)
    window_end = kill_second + (recovered - kill_second if recovered else 30) if kill_second is not None else None
    every = sorted(latency for _, latency in result["latencies"])
    outside = sorted(latency for moment, latency in result["latencies"]
                     if moment >= 2 and (kill_second is None or not kill_second - 2 <= moment <= window_end))

    def percentile(values: list[float], fraction: float) -> float | None:
        return round(values[min(len(values) - 1, int(len(values) * fraction))], 1) if values else None

    summary = {"transactions": total, "committed": result["counts"][-1], "height": result["height"], "peers_agree": result["agree"],
               "elapsed_s": round(result["elapsed_s"], 1), "committed_per_s_all_peers": round(result["counts"][-1] / result["elapsed_s"]),
               "steady_per_s": round(baseline) if steady else None, "peak_per_s": max(everyone),
               "p50_ms": percentile(outside, 0.5), "p99_ms": percentile(outside, 0.99), "p99_ms_all": percentile(every, 0.99),
               "refused": len(result["refused"]), "killed": result["killed"], "per_second_at_slowest_peer": everyone}
    if kill_second is not None:
        summary["recovered_after_s"] = None if recovered is None else recovered - kill_second
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=4, help="concurrent batch submissions per peer")
    parser.add_argument("--batch", type=int, default=250, help="transactions per submission (POST /v1/transactions/batch)")
    parser.add_argument("--kill-leader-at", type=float, default=None)
    parser.add_argument("--rate", type=float, default=None, help="offered transactions a second over all peers (default: as fast as accepted)")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reliefledger-network-bench-"))
    plan = NetworkPlan(peers=4, servers=3, client_port=find_free_base_port(2000, 3), peer_port=find_free_base_port(1, 4), chain_id=CHAIN_ID)
    record = bring_up(root / "net", plan)
    try:
        folders = {entry["name"]: ChainDirectory(root / "net" / "peers" / entry["name"]) for entry in record["peers"]}
        result = asyncio.run(drive(record, folders, arguments.transactions, arguments.in_flight, arguments.batch, arguments.kill_leader_at, arguments.rate))
    finally:
        bring_down(root / "net")
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(summarise(result, arguments.transactions)))


if __name__ == "__main__":
    main()

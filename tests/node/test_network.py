"""A real network on 127.0.0.1: three nats-server processes (JetStream, three replicas, fsync on
every write) and four peers as separate processes, started and stopped by ``network up/down``.

Load goes to every peer over HTTP; the peers must reach the same state digest at every height,
through a ``kill -9`` of a peer, a ``kill -9`` of the stream leader, the loss of two of three
servers, and the loss of every server's stream files. Every test stops what it started."""

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import nats
import pytest

from node_support import make_chain, run_cli
from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.keys import generate_key
from reliefledger.node.network import NetworkPlan, bring_down, bring_up, find_free_base_port, is_running, start_peer, start_server
from reliefledger.ordering.jetstream import get_stream_names

pytestmark = pytest.mark.slow


class Network:
    """A running local network and the load driven into it."""

    def __init__(self, root: Path, servers: int = 3, peers: int = 4, ordering_timeout_s: int = 20) -> None:
        self.root = root
        client_port = find_free_base_port(2000, servers)
        self.plan = NetworkPlan(peers=peers, servers=servers, client_port=client_port, peer_port=find_free_base_port(1, peers), chain_id="net-test",
                                ordering_timeout_s=ordering_timeout_s)
        self.record = bring_up(root, self.plan)
        self.peers = {entry["name"]: entry for entry in self.record["peers"]}
        self.folders = {name: ChainDirectory(root / "peers" / name) for name in self.peers}
        self.count = 0
        self.http = httpx.Client(timeout=10)

    def url(self, peer: str) -> str:
        return self.peers[peer]["url"]

    def admission(self, peer: str) -> bytes:
        """A signed admission of a fresh member key by the peer's own organisation."""
        admin = self.folders[peer].read_organisation_key(peer)
        self.count += 1
        body = TransactionBody("net-test", "membership", "admit_member", {"public_key": generate_key(admin.suite, "m").public_key, "roles": ["caseworker"]},
                               admin.public_key, f"n{self.count}", time.time_ns() // 1_000_000 + 3_600_000)
        return sign_transaction(admin.suite, admin.seed, body)

    def submit(self, peer: str, envelopes: list, timeout_s: float = 60) -> httpx.Response:
        """Post each envelope; answer the first answer that is not 202 (or the last one)."""
        for envelope in envelopes:
            answer = self.http.post(f"{self.url(peer)}/v1/transactions", content=envelope.encoded, headers={"content-type": "application/json"},
                                    timeout=timeout_s)
            if answer.status_code != 202:
                return answer
        return answer

    def status(self, peer: str) -> dict:
        return self.http.get(f"{self.url(peer)}/v1/status", timeout=5).json()

    def wait_for_height(self, height: int, timeout_s: float = 60, peers: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        for peer in peers or list(self.peers):
            while True:
                try:
                    if self.status(peer)["height"] >= height:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{peer} did not reach height {height}: {self.status(peer)}"
                time.sleep(0.1)

    def wait_committed(self, ids: list[str], peer: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        for identifier in ids:
            while True:
                answer = self.http.get(f"{self.url(peer)}/v1/transactions/{identifier}", params={"wait": 5}).json()
                if answer.get("status") == "committed":
                    break
                assert answer.get("status") in ("pending", None) or answer.get("code") == "not_found", answer
                assert time.monotonic() < deadline, f"{identifier} not committed at {peer}: {answer}"

    def assert_agreement(self) -> int:
        """Every peer holds the same blocks and state digests up to the lowest height; answer it."""
        heights = {peer: self.status(peer)["height"] for peer in self.peers}
        top = min(heights.values())
        for height in range(1, top + 1):
            seen = {(answer["hash"], answer["state_digest"]) for answer in (self.http.get(f"{self.url(peer)}/v1/blocks/{height}").json()
                                                                         for peer in self.peers)}
            assert len(seen) == 1, f"peers disagree at height {height}: {seen}"
        return top

    def all_transaction_ids(self, peer: str) -> list[str]:
        top = self.status(peer)["height"]
        ids = []
        for height in range(1, top + 1):
            ids.extend(self.http.get(f"{self.url(peer)}/v1/blocks/{height}").json()["transaction_ids"])
        return ids

    def find_leader(self) -> str:
        async def ask() -> str:
            connection = await nats.connect(servers=[server["url"] for server in self.record["servers"]], max_reconnect_attempts=3)
            try:
                info = await connection.jetstream().stream_info(get_stream_names("net-test")[0])
                return info.cluster.leader
            finally:
                await connection.close()
        return asyncio.run(ask())

    def kill(self, name: str) -> None:
        entry = next(entry for entry in self.record["processes"] if entry["name"] == name)
        os.kill(entry["pid"], signal.SIGKILL)
        _wait_gone(entry)

    def restart_server(self, name: str) -> None:
        index = int(name[1:])
        entry = start_server(self.root, self.plan, index)
        self._replace(name, entry)

    def restart_peer(self, name: str) -> None:
        entry = start_peer(self.folders[name])
        self._replace(name, entry)
        self.peers[name] = {key: value for key, value in entry.items() if key != "process"}
        deadline = time.monotonic() + 30
        while True:
            try:
                self.status(name)
                return
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the restarted peer did not answer"
                time.sleep(0.1)

    def _replace(self, name: str, entry: dict) -> None:
        public = {key: value for key, value in entry.items() if key != "process"}
        self.record["processes"] = [public if item["name"] == name else item for item in self.record["processes"]]
        (self.root / "network.json").write_text(json.dumps(self.record))

    def down(self) -> None:
        self.http.close()
        bring_down(self.root)
        assert not any(is_running(entry) for entry in self.record["processes"]), "a process of the network is still running"


def _wait_gone(entry: dict) -> None:
    deadline = time.monotonic() + 10
    while is_running(entry) and time.monotonic() < deadline:
        try:
            os.waitpid(entry["pid"], os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)


def stop_servers(network: Network) -> None:
    """SIGTERM every server and wait until it is gone."""
    for server in network.record["servers"]:
        entry = next(item for item in network.record["processes"] if item["name"] == server["name"])
        os.kill(entry["pid"], signal.SIGTERM)
        _wait_gone(entry)


@pytest.fixture
def network(tmp_path):
    started = Network(tmp_path / "net")
    try:
        yield started
    finally:
        if (started.root / "network.json").exists():
            started.down()


def test_four_peers_agree_at_every_height_and_a_killed_peer_catches_up(network: Network) -> None:
    peers = list(network.peers)
    ids = []
    for round_number in range(6):
        for peer in peers:
            if round_number == 2 and peer == peers[2]:
                network.kill(peer)  # kill -9 in the middle of the load
            if round_number == 4 and peer == peers[2]:
                network.restart_peer(peer)  # it catches up from the block stream
            if round_number in (2, 3) and peer == peers[2]:
                continue
            envelopes = [network.admission(peer) for _ in range(40)]
            answer = network.submit(peer, envelopes)
            assert answer.status_code == 202, answer.text
            ids.extend(envelope.id.hex() for envelope in envelopes)
    network.wait_committed(ids, peers[0])
    network.wait_for_height(network.status(peers[0])["height"])
    top = network.assert_agreement()
    assert top >= 2 and sorted(network.all_transaction_ids(peers[3])) == sorted(set(network.all_transaction_ids(peers[3])))
    assert set(ids) <= set(network.all_transaction_ids(peers[2])), "the restarted peer misses transactions"
    verified = run_cli("verify", network.folders[peers[2]].root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # Every peer signs what it computed after each block; each sees every other agree.
    deadline = time.monotonic() + 30
    while True:
        views = {peer: network.http.get(f"{network.url(peer)}/v1/attestations").json() for peer in peers}
        if all(view["peers"].get(other, {}).get("agrees_up_to", 0) >= top for view in views.values() for other in peers):
            break
        assert time.monotonic() < deadline, views
        time.sleep(0.5)
    assert all(view["divergences"] == [] and view["refused"] == 0 for view in views.values())
    assert all(view["peers"][other]["diverged_at"] is None for view in views.values() for other in peers)


def test_killing_the_stream_leader_loses_and_duplicates_nothing(network: Network) -> None:
    peers = list(network.peers)
    ids = []
    leader = network.find_leader()
    for round_number in range(8):
        if round_number == 3:
            network.kill(leader)
        peer = peers[round_number % len(peers)]
        envelopes = [network.admission(peer) for _ in range(50)]
        answer = network.submit(peer, envelopes)
        assert answer.status_code == 202, answer.text  # the node retries the publish through the election
        ids.extend(envelope.id.hex() for envelope in envelopes)
    network.restart_server(leader)
    network.wait_committed(ids, peers[1])
    network.wait_for_height(network.status(peers[1])["height"])
    network.assert_agreement()
    ordered = network.all_transaction_ids(peers[0])
    assert sorted(ordered) == sorted(ids) and len(ordered) == len(set(ordered)), "a transaction was lost or ordered twice"


def test_without_quorum_submissions_fail_clearly_and_resume_after(tmp_path) -> None:
    network = Network(tmp_path / "net", ordering_timeout_s=4)
    try:
        peers = list(network.peers)
        first = [network.admission(peers[0]) for _ in range(5)]
        assert network.submit(peers[0], first).status_code == 202
        network.wait_committed([envelope.id.hex() for envelope in first], peers[0])
        network.kill("n1")
        network.kill("n2")
        started = time.monotonic()
        refused = network.submit(peers[1], [network.admission(peers[1])])
        assert refused.status_code == 503 and refused.json()["code"] == "ordering_unavailable", refused.text
        assert time.monotonic() - started < 20, "the refusal took too long"
        status = network.status(peers[1])
        assert status["pending"] == 0 and status["halted"] is None  # nothing half-done
        network.restart_server("n1")
        network.restart_server("n2")
        again = [network.admission(peers[1]) for _ in range(5)]
        deadline = time.monotonic() + 60
        while (answer := network.submit(peers[1], again)).status_code != 202:
            assert time.monotonic() < deadline, answer.text
            time.sleep(1)
        network.wait_committed([envelope.id.hex() for envelope in again], peers[3])
        network.assert_agreement()
    finally:
        network.down()


def test_lost_stream_files_lose_no_committed_block(network: Network) -> None:
    peers = list(network.peers)
    before = [network.admission(peers[0]) for _ in range(30)]
    assert network.submit(peers[0], before).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in before], peers[0])
    network.wait_for_height(network.status(peers[0])["height"])
    height = network.assert_agreement()
    # One server's stream files cut in half while the cluster is down: the other replicas hold the truth.
    stop_servers(network)
    truncated = sorted((network.root / "nats" / "n0" / "store").rglob("*.blk"))
    assert truncated, "no stream files found to damage"
    for data in truncated:
        with open(data, "r+b") as handle:
            handle.truncate(data.stat().st_size // 2)
    for server in network.record["servers"]:
        network.restart_server(server["name"])
    middle = [network.admission(peers[2]) for _ in range(10)]
    deadline = time.monotonic() + 90
    while (answer := network.submit(peers[2], middle)).status_code != 202:
        assert time.monotonic() < deadline, answer.text
        time.sleep(1)
    network.wait_committed([envelope.id.hex() for envelope in middle], peers[1])
    height = network.assert_agreement()
    stop_servers(network)
    for index in range(network.plan.servers):  # every server loses its stream files
        shutil.rmtree(network.root / "nats" / f"n{index}" / "store", ignore_errors=True)
    for server in network.record["servers"]:
        network.restart_server(server["name"])
    after = [network.admission(peers[1]) for _ in range(20)]
    deadline = time.monotonic() + 90
    while (answer := network.submit(peers[1], after)).status_code != 202:
        assert time.monotonic() < deadline, answer.text
        time.sleep(1)
    network.wait_committed([envelope.id.hex() for envelope in after], peers[2])
    network.wait_for_height(network.status(peers[2])["height"])
    assert network.assert_agreement() > height  # the chain went on from the true tip, re-published by the cutter
    for peer in peers:
        assert network.status(peer)["halted"] is None


def wait_for_attestations(network: Network, peer: str, check, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        view = network.http.get(f"{network.url(peer)}/v1/attestations").json()
        if check(view):
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.3)


def test_a_tampered_peer_is_caught_by_its_own_verify_and_by_the_attestations(network: Network) -> None:
    peers = list(network.peers)
    first = [network.admission(peers[1]) for _ in range(10)]
    assert network.submit(peers[1], first).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in first], peers[3])
    # Stop the tax peer and mark, in its store only, human-resources' admin key as revoked.
    network.kill(peers[3])
    admin = network.folders[peers[1]].read_organisation_key(peers[1])
    store_path = network.folders[peers[3]].store_path
    with sqlite3.connect(store_path) as connection:
        key = f"membership/member/{admin.public_key}"
        (value,) = connection.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        record = json.loads(value)
        record["status"] = "revoked"
        connection.execute("UPDATE state SET value=? WHERE key=?", (json.dumps(record, separators=(",", ":"), sort_keys=True).encode(), key))
    network.restart_peer(peers[3])
    second = [network.admission(peers[1]) for _ in range(10)]
    assert network.submit(peers[1], second).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in second], peers[0])
    seen = wait_for_attestations(network, peers[0], lambda view: view["peers"].get(peers[3], {}).get("diverged_at") is not None and view["divergences"])
    assert seen["peers"][peers[1]]["diverged_at"] is None and seen["divergences"][0]["first"]["body"]["height"] == seen["peers"][peers[3]]["diverged_at"]
    own = wait_for_attestations(network, peers[3], lambda view: view["peers"].get(peers[0], {}).get("diverged_at") is not None)
    assert own["divergences"], "the tampered peer must hold the proof too"
    # Every height the tampered peer attests after the change diverges, so several proofs may be
    # on disk (in no particular order): the first one seen must be among them, whole.
    stored = [json.loads(path.read_text()) for path in (network.folders[peers[0]].root / "divergences").glob("height-*.json")]
    assert seen["divergences"][0] in stored
    verified = run_cli("verify", network.folders[peers[3]].root)
    assert verified.returncode == 1, verified.stdout + verified.stderr


def test_a_removed_organisations_peer_reads_on_but_its_transactions_and_attestations_are_refused(network: Network) -> None:
    peers = list(network.peers)
    admins = {peer: network.folders[peer].read_organisation_key(peer) for peer in peers}

    def governance(peer: str, action: str, args: dict) -> None:
        network.count += 1
        body = TransactionBody("net-test", "membership", action, args, admins[peer].public_key, f"g{network.count}", time.time_ns() // 1_000_000 + 3_600_000)
        envelope = sign_transaction(admins[peer].suite, admins[peer].seed, body)
        assert network.submit(peer, [envelope]).status_code == 202
        network.wait_committed([envelope.id.hex()], peer)

    governance(peers[0], "propose", {"proposal_id": "remove-tax", "change": {"kind": "remove_organisation", "organisation_id": peers[3]}})
    governance(peers[1], "vote", {"proposal_id": "remove-tax"})
    governance(peers[2], "vote", {"proposal_id": "remove-tax"})
    after = [network.admission(peers[0]) for _ in range(5)]
    assert network.submit(peers[0], after).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in after], peers[3])  # the removed organisation's peer still follows the chain
    refused = network.submit(peers[3], [network.admission(peers[3])])
    assert refused.status_code == 400 and refused.json()["code"] == "revoked_signer", refused.text
    wait_for_attestations(network, peers[0], lambda view: view["refused"] > 0)
    network.wait_for_height(network.status(peers[0])["height"])
    network.assert_agreement()


def test_network_commands_refuse_what_they_cannot_do(network: Network, tmp_path) -> None:
    twice = run_cli("network", "up", network.root, "--client-port", network.plan.client_port, "--peer-port", network.plan.peer_port)
    assert twice.returncode == 1 and "already up" in twice.stderr.replace("\n", " "), twice.stdout + twice.stderr
    nothing = run_cli("network", "down", tmp_path / "nowhere")
    assert nothing.returncode == 1 and "no network was started" in nothing.stderr.replace("\n", " ")
    bad = run_cli("network", "up", tmp_path / "other", "--servers", "0")
    assert bad.returncode == 1 and all("Traceback" not in result.stderr for result in (twice, nothing, bad))
    busy = run_cli("node", network.folders[list(network.peers)[0]].root)
    assert busy.returncode == 1 and "another process is running the node" in busy.stderr.replace("\n", " ")
    chain = make_chain(tmp_path / "solo")
    wrong = run_cli("node", chain.root, "--orderer", "http://nowhere")
    unreachable = run_cli("node", chain.root, "--orderer", "nats://127.0.0.1:1")
    assert wrong.returncode == 1 and "neither 'solo' nor" in wrong.stderr.replace("\n", " ")
    assert unreachable.returncode == 1 and "cannot reach the ordering cluster" in unreachable.stderr.replace("\n", " ")
    assert all("Traceback" not in result.stderr for result in (busy, wrong, unreachable))


def test_the_standby_cutter_takes_over_when_the_active_one_dies_and_they_never_fork(network: Network) -> None:
    peers = list(network.peers)  # the first peer cuts blocks; the second stands by
    first = [network.admission(peers[2]) for _ in range(10)]
    assert network.submit(peers[2], first).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in first], peers[2])
    network.kill(peers[0])
    second = [network.admission(peers[2]) for _ in range(10)]
    assert network.submit(peers[2], second).status_code == 202
    network.wait_committed([envelope.id.hex() for envelope in second], peers[3], timeout_s=60)  # cut by the standby
    network.restart_peer(peers[0])  # now two cutters are active: fencing decides every height
    third = []
    for round_number in range(5):
        batch = [network.admission(peers[round_number % 4]) for _ in range(10)]
        assert network.submit(peers[round_number % 4], batch).status_code == 202
        third.extend(batch)
    network.wait_committed([envelope.id.hex() for envelope in third], peers[0])
    network.wait_for_height(network.status(peers[0])["height"])
    network.assert_agreement()
    assert all(network.status(peer)["halted"] is None for peer in peers)

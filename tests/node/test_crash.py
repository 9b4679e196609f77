"""Crash safety with a real process and SIGKILL.

Transactions stream into ``reliefledger node`` over HTTP from several threads; at a moment drawn
from a seeded generator the node is killed with SIGKILL while requests are in flight, restarted,
and killed again, three times. Then: every transaction ever answered 202 (or 200) ends committed
or rejected with a code (none pending, none unknown), none executed twice, the mempool is empty,
the chain is contiguous and linked, and ``reliefledger verify`` says it is sound.

Set RELIEFLEDGER_CRASH_SEED to replay a run; the seed is printed and named in every failure.
"""

import collections
import os
import random
import threading
import time

import httpx
import pytest

from node_support import ORGANISATIONS, NodeProcess, admit, find_free_port, make_chain, run_cli, sign_action
from reliefledger.ledger.blocks import compute_block_hash
from reliefledger.ledger.contracts.membership import get_member_key
from reliefledger.ledger.results import ResultCode
from reliefledger.node.keys import generate_key
from reliefledger.node.runtime import read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.store.block_store import BlockStore

pytestmark = pytest.mark.slow

KILLS = 3
SUBMITTER_THREADS = 4
ENVELOPES = 900


class Ledger:
    """What the client side knows: which ids the node acknowledged, which are in doubt."""

    def __init__(self, envelopes):
        self.lock = threading.Lock()
        self.to_send = collections.deque(envelopes)
        self.acknowledged: dict[str, object] = {}
        """id hex -> envelope, for every 202 or 200 answer."""
        self.answered_202: collections.Counter = collections.Counter()
        self.refused: dict[str, tuple[int, str]] = {}
        self.round_acknowledgements = 0

    def take(self):
        with self.lock:
            return self.to_send.popleft() if self.to_send else None

    def put_back(self, envelope) -> None:
        """A request that got no answer: the node may or may not have accepted it."""
        with self.lock:
            self.to_send.appendleft(envelope)


def submit_until_failure(url: str, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=15) as client:
        while not stop.is_set():
            envelope = ledger.take()
            if envelope is None:
                return
            try:
                response = client.post("/v1/transactions", content=envelope.encoded)
                body = response.json()
            except (httpx.HTTPError, ValueError):
                ledger.put_back(envelope)
                return
            identifier = envelope.id.hex()
            with ledger.lock:
                if response.status_code in (200, 202):
                    assert body["id"] == identifier
                    ledger.acknowledged[identifier] = envelope
                    ledger.round_acknowledgements += 1
                    if response.status_code == 202:
                        ledger.answered_202[identifier] += 1
                else:
                    ledger.refused[identifier] = (response.status_code, body.get("code", ""))


def build_envelopes(directory, rng: random.Random) -> list:
    keys = [directory.read_organisation_key(organisation) for organisation in ORGANISATIONS]
    suite = keys[0].suite
    envelopes = []
    for index in range(ENVELOPES):
        signer = keys[index % len(keys)]
        kind = rng.random()
        if kind < 0.05:  # a business rejection: admit another organisation's admin
            envelopes.append(admit(signer, keys[(index + 1) % len(keys)], nonce=f"dup-admin-{index}"))
        elif kind < 0.08:  # unknown action: accepted, then rejected
            envelopes.append(sign_action(signer, "promote", {}, nonce=f"unknown-{index}"))
        elif kind < 0.10:  # valid for a few seconds only: may expire across a crash
            envelopes.append(admit(signer, nonce=f"short-{index}", valid_until=read_clock_ms() + rng.randint(1000, 6000)))
        else:
            envelopes.append(admit(signer, generate_key(suite, "m"), nonce=f"m-{index}"))
    return envelopes


def count_unsettled(path) -> int:
    """Accepted transactions the kill left unsettled in the durable mempool."""
    store = BlockStore(path, read_only=True)
    try:
        return len(store.list_mempool())
    finally:
        store.close()


def check_all_known(url: str, ledger: Ledger, seed: int) -> dict[str, dict]:
    """Right after a restart: no acknowledged id may be unknown."""
    statuses = {}
    with httpx.Client(base_url=url, timeout=15) as client:
        for identifier in list(ledger.acknowledged):
            response = client.get(f"/v1/transactions/{identifier}")
            assert response.status_code == 200, f"seed {seed}: acknowledged {identifier} lost after SIGKILL: {response.text}"
            statuses[identifier] = response.json()
    return statuses


def resubmit_sample(url: str, ledger: Ledger, rng: random.Random, seed: int) -> None:
    """Acknowledged envelopes sent again after a crash are known: 200, never a second 202."""
    sample = rng.sample(sorted(ledger.acknowledged), min(25, len(ledger.acknowledged)))
    with httpx.Client(base_url=url, timeout=15) as client:
        for identifier in sample:
            response = client.post("/v1/transactions", content=ledger.acknowledged[identifier].encoded)
            assert response.status_code == 200, f"seed {seed}: {identifier} resubmitted after restart: {response.status_code} {response.text}"


def test_sigkill_during_submissions_loses_nothing_and_executes_nothing_twice(tmp_path):
    seed = int(os.environ.get("RELIEFLEDGER_CRASH_SEED", random.randrange(2**32)))
    print(f"crash test seed: {seed} (set RELIEFLEDGER_CRASH_SEED={seed} to replay)")
    rng = random.Random(seed)
    directory = make_chain(tmp_path / "chain", settings=NodeSettings(block_wait_ms_max=10))
    ledger = Ledger(build_envelopes(directory, rng))
    kill_log = []

    for round_number in range(KILLS):
        node = NodeProcess(directory.root, find_free_port(), tmp_path / f"node-{round_number}.log")
        threads = []
        stop = threading.Event()
        try:
            node.wait_ready()
            check_all_known(node.url, ledger, seed)
            resubmit_sample(node.url, ledger, rng, seed)
            with ledger.lock:
                ledger.round_acknowledgements = 0
            kill_after = rng.randint(1, 220)
            kill_delay_s = rng.uniform(0, 0.05)
            threads = [threading.Thread(target=submit_until_failure, args=(node.url, ledger, stop), daemon=True)
                       for _ in range(SUBMITTER_THREADS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while ledger.round_acknowledgements < kill_after and time.monotonic() < deadline:
                if not any(thread.is_alive() for thread in threads):
                    break
                time.sleep(0.002)
            time.sleep(kill_delay_s)
            in_flight = sum(thread.is_alive() for thread in threads)
            node.kill()
            kill_log.append((round_number, ledger.round_acknowledgements, round(kill_delay_s, 3), in_flight,
                             count_unsettled(directory.store_path)))
        finally:
            stop.set()
            node.ensure_stopped()
            for thread in threads:
                thread.join(20)
        assert not any(thread.is_alive() for thread in threads), f"seed {seed}: a submitter hangs"

    node = NodeProcess(directory.root, find_free_port(), tmp_path / "node-final.log")
    try:
        node.wait_ready()
        check_all_known(node.url, ledger, seed)
        resubmit_sample(node.url, ledger, rng, seed)
        # Send what is left, including requests that never got an answer (in doubt).
        stop = threading.Event()
        submit_until_failure(node.url, ledger, stop)
        assert not ledger.to_send, f"seed {seed}: the final node stopped answering"
        finals = {}
        with httpx.Client(base_url=node.url, timeout=60) as client:
            for identifier in ledger.acknowledged:
                response = client.get(f"/v1/transactions/{identifier}", params={"wait": 30})
                assert response.status_code == 200, f"seed {seed}: {identifier}: {response.text}"
                finals[identifier] = response.json()
            status = client.get("/v1/status").json()
        assert node.terminate() == 0, node.read_log()
    finally:
        node.ensure_stopped()

    context = f"seed {seed}, kills (round, acks, delay s, threads in flight, mempool rows left by the kill) {kill_log}"
    print(context)
    assert kill_log and len(ledger.acknowledged) >= 100, context
    not_final = {identifier: answer["status"] for identifier, answer in finals.items() if answer["status"] not in ("committed", "rejected")}
    assert not_final == {}, context
    for identifier, answer in finals.items():
        assert isinstance(answer["code"], int) and answer["height"] >= 1, (context, answer)
        assert (answer["status"] == "committed") == (answer["code"] == 0), (context, answer)
    assert max(ledger.answered_202.values()) == 1, f"{context}: an id was answered 202 twice (forgotten after a crash)"
    unexpected = {identifier: refusal for identifier, refusal in ledger.refused.items() if refusal != (400, "expired")}
    assert unexpected == {}, context
    assert status["halted"] is None and status["pending"] == 0, (context, status)

    verified = run_cli("verify", directory.root)
    assert verified.returncode == 0, f"{context}\n{verified.stdout}\n{verified.stderr}"

    store = BlockStore(directory.store_path, read_only=True)
    try:
        genesis = store.get_genesis()
        tip = store.get_tip()
        blocks = list(store.iterate_blocks(1))
        assert [block.height for block in blocks] == list(range(1, tip.height + 1)), context
        previous_hash = store.get_block(0).hash
        for block in blocks:
            assert block.header.previous_hash == previous_hash, f"{context}: block {block.height} does not link"
            assert compute_block_hash(genesis.suite, block.header) == block.hash
            previous_hash = block.hash
        claims = collections.Counter()
        ok_ids = []
        for block in blocks:
            for identifier, code in block.results:
                if ResultCode(code).claims_id:
                    claims[identifier] += 1
                if code == 0:
                    ok_ids.append(identifier)
        assert len(ok_ids) == len(set(ok_ids)), f"{context}: a transaction executed twice"
        assert max(claims.values()) == 1, f"{context}: an id was settled twice"
        for identifier, answer in finals.items():
            location = store.get_transaction_location(bytes.fromhex(identifier))
            assert location is not None and (location.height, location.position, int(location.code)) == (
                answer["height"], answer["index"], answer["code"]), (context, identifier)
        # Each committed admission added exactly one member: nothing applied twice, nothing lost.
        members = sum(1 for key, _, _ in store.iterate_state() if key.startswith(get_member_key("")))
        committed_admissions = sum(
            1 for identifier in ok_ids
            if identifier in ledger.acknowledged and ledger.acknowledged[identifier].body.action == "admit_member"
        )
        assert members == len(ORGANISATIONS) + committed_admissions, context
        assert store.list_mempool() == [], f"{context}: settled transactions left in the mempool"
    finally:
        store.close()

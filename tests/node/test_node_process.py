"""``reliefledger node`` and ``reliefledger demo`` as real processes over real sockets."""

import json
import signal
import socket

import httpx
import pytest

from node_support import NodeProcess, find_free_port, flatten, run_cli
from reliefledger.ledger.suites import get_suite
from reliefledger.node.keys import generate_key

pytestmark = pytest.mark.slow


def test_init_node_tx_verify_as_real_processes(tmp_path):
    """init (port in node.json) -> node (no --port) -> tx committed / rejected -> SIGTERM -> verify."""
    root = tmp_path / "chain"
    port = find_free_port()
    created = run_cli("init", root, "--orgs", "civil-affairs,tax", "--port", port)
    assert created.returncode == 0, created.stderr
    node = NodeProcess(root, None, tmp_path / "node.log")
    node.port = port
    try:
        status = node.wait_ready()
        assert status["height"] == 0 and status["halted"] is None
        member = generate_key(get_suite("ed25519-sha256"), "member").public_key
        committed = run_cli("tx", "membership", "admit_member", "--args", json.dumps({"public_key": member, "roles": ["caseworker"]}),
                            "--dir", root, "--org", "civil-affairs", "--wait", 10)
        assert committed.returncode == 0, committed.stdout + committed.stderr
        answer = json.loads(committed.stdout)
        assert answer["status"] == "committed" and answer["result"] == "ok" and answer["height"] >= 1
        assert set(answer["proof"]) == {"leaf_index", "tree_size", "audit_path"}

        # Admitting the same key again is a business rejection: exit 3 with the recorded code.
        rejected = run_cli("tx", "membership", "admit_member", "--args", json.dumps({"public_key": member, "roles": ["caseworker"]}),
                           "--dir", root, "--org", "tax", "--node", node.url, "--wait", 10)
        assert rejected.returncode == 3, rejected.stdout + rejected.stderr
        assert json.loads(rejected.stdout)["result"] == "member_exists"

        # Refused at the edge: the CLI says why, exit 1, no traceback.
        refused = run_cli("tx", "membership", "admit_member", "--args", "{}", "--dir", root, "--org", "tax",
                          "--chain", "another-chain", "--node", node.url)
        assert refused.returncode == 1
        assert "wrong_chain" in flatten(refused.stderr) and "Traceback" not in refused.stderr

        with httpx.Client(base_url=node.url, timeout=10) as client:
            status = client.get("/v1/status").json()
            block = client.get(f"/v1/blocks/{answer['height']}").json()
            docs = client.get("/docs")
        assert status["height"] >= 2 and status["halted"] is None and status["pending"] == 0
        assert answer["id"] in block["transaction_ids"]
        assert docs.status_code == 200

        assert node.terminate() == 0, node.read_log()
    finally:
        node.ensure_stopped()
    assert "listening on" in flatten(node.read_log())
    verified = run_cli("verify", root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "sound" in verified.stdout


def test_node_port_option_overrides_settings_and_state_survives_restart(tmp_path):
    root = tmp_path / "chain"
    assert run_cli("init", root, "--orgs", "civil-affairs", "--port", find_free_port()).returncode == 0
    port = find_free_port()
    node = NodeProcess(root, port, tmp_path / "node.log", extra=["--host", "127.0.0.1"])
    try:
        node.wait_ready()
        envelope = run_cli("tx", "membership", "admit_member", "--args", json.dumps({"public_key": generate_key(get_suite("ed25519-sha256"), "m").public_key, "roles": ["x"]}),
                           "--dir", root, "--org", "civil-affairs", "--print").stdout.strip()
        with httpx.Client(base_url=node.url, timeout=15) as client:
            accepted = client.post("/v1/transactions", content=envelope)
            assert accepted.status_code == 202, accepted.text
            identifier = accepted.json()["id"]
            final = client.get(f"/v1/transactions/{identifier}", params={"wait": 10}).json()
            assert final["status"] == "committed"
            before = client.get("/v1/status").json()
        node.process.send_signal(signal.SIGINT)
        assert node.process.wait(15) == 0
    finally:
        node.ensure_stopped()

    restarted = NodeProcess(root, port, tmp_path / "node2.log")
    try:
        after = restarted.wait_ready()
        assert {key: after[key] for key in ("height", "last_block_hash", "state_digest")} == {
            key: before[key] for key in ("height", "last_block_hash", "state_digest")
        }
        with httpx.Client(base_url=restarted.url, timeout=15) as client:
            again = client.post("/v1/transactions", content=envelope)
            assert again.status_code == 200 and again.json()["status"] == "committed"
            assert again.json()["height"] == final["height"]
        assert restarted.terminate() == 0
    finally:
        restarted.ensure_stopped()


def test_demo_streams_audits_and_exits(tmp_path):
    port = find_free_port()
    root = tmp_path / "demo"
    result = run_cli("demo", "--stream", "--transactions", 200, "--port", port, "--serve-seconds", 0, "--dir", root, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = flatten(result.stdout)
    assert "sound" in text and "NOT SOUND" not in text, text[-2000:]
    assert "revoked_signer" in text
    verified = run_cli("verify", root, "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["sound"] and report["transactions_checked"] >= 200


def test_node_on_a_busy_port_fails_without_claiming_to_listen(tmp_path, chain):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_cli("node", chain.root, "--port", busy.getsockname()[1], timeout=60)
    output = flatten(result.stdout + result.stderr)
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "address already in use" in output.lower()
    assert "listening on" not in output


def test_demo_on_a_busy_port_fails_cleanly(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_cli("demo", "--stream", "--transactions", 5, "--port", busy.getsockname()[1], "--serve-seconds", 0,
                         "--dir", tmp_path / "demo", timeout=60)
    output = flatten(result.stdout + result.stderr)
    assert result.returncode != 0
    assert "Traceback" not in output, output[-1500:]
    assert "port" in output


def test_answers_take_milliseconds_not_a_delayed_ack(tmp_path, chain):
    """A real node answers a keep-alive client at once: no ~40 ms Nagle / delayed-ACK stall.

    The node binds its own listening socket; one made without IPPROTO_TCP misses asyncio's
    TCP_NODELAY and every answer then waits for the client's delayed ACK.
    """
    import statistics
    import time

    node = NodeProcess(chain.root, find_free_port(), tmp_path / "node.log")
    try:
        node.wait_ready()
        with httpx.Client(base_url=node.url, timeout=10) as client:
            client.get("/v1/status")
            durations_ms = []
            for _ in range(30):
                started = time.perf_counter()
                assert client.get("/v1/status").status_code == 200
                durations_ms.append((time.perf_counter() - started) * 1000)
        assert statistics.median(durations_ms) < 20, durations_ms
    finally:
        node.ensure_stopped()

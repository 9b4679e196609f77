"""Shared builders for the node tests: chain folders, signed envelopes, in-process and real nodes.

Everything here uses the node's own public pieces (``initialise_directory``, ``open_node``,
``create_app``) so the tests exercise exactly what ``reliefledger node`` runs. Real processes are
started from the venv's ``reliefledger`` script and are always killed by the caller's ``finally``.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Sequence

import httpx

from reliefledger.ledger.blocks import Block, build_header
from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.execute import BlockOutcome, execute_block
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.api import create_app
from reliefledger.node.directory import ChainDirectory, initialise_directory
from reliefledger.node.keys import KeyFile, generate_key
from reliefledger.node.peer import Node
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.settings import NodeSettings
from reliefledger.store.block_store import BlockStore

CHAIN_ID = "relief-node-test"
ORGANISATIONS = ("civil-affairs", "tax", "operator-bank")
FAST_SETTINGS = NodeSettings(block_wait_ms_max=5)
"""Blocks are cut 5 ms after their first transaction: tests do not wait on the default 20 ms."""
HOUR_MS = 3_600_000
BIN_DIRECTORY = Path(sys.executable).parent


# ---------------------------------------------------------------------------------------------
# Chains, keys and envelopes


def make_chain(
    root: Path,
    *,
    suite: str = "ed25519-sha256",
    organisations: Sequence[str] = ORGANISATIONS,
    settings: NodeSettings = FAST_SETTINGS,
    chain_id: str = CHAIN_ID,
) -> ChainDirectory:
    """A fresh chain folder with its store founded (as ``reliefledger init`` leaves it)."""
    directory = initialise_directory(
        Path(root),
        suite_name=suite,
        organisation_ids=list(organisations),
        region="110000",
        chain_id=chain_id,
        time_ms=read_clock_ms(),
        settings=settings,
    )
    directory.open_store(settings).close()
    return directory


def sign_action(
    key: KeyFile,
    action: str,
    args: dict[str, Any],
    *,
    nonce: str | None = None,
    contract: str = "membership",
    chain: str = CHAIN_ID,
    valid_until: int | None = None,
) -> Envelope:
    """An envelope signed by ``key`` (valid for an hour by default)."""
    body = TransactionBody(
        chain=chain,
        contract=contract,
        action=action,
        args=args,
        signer=key.public_key,
        nonce=nonce if nonce is not None else os.urandom(8).hex(),
        valid_until=valid_until if valid_until is not None else read_clock_ms() + HOUR_MS,
    )
    return sign_transaction(key.suite, key.seed, body)


def admit(key: KeyFile, member: KeyFile | None = None, *, roles: Sequence[str] = ("caseworker",), **options: Any) -> Envelope:
    """``key`` (an organisation admin) admits ``member`` (a fresh key by default)."""
    member = member or generate_key(key.suite, "member")
    return sign_action(key, "admit_member", {"public_key": member.public_key, "roles": list(roles)}, **options)


def reliefledger_command(*arguments: Any) -> list[str]:
    """The command line of the installed ``reliefledger`` script of this venv."""
    script = BIN_DIRECTORY / "reliefledger"
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "reliefledger"]
    return prefix + [str(argument) for argument in arguments]


def run_cli(*arguments: Any, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``reliefledger ARGS`` as a real process and capture its output."""
    return subprocess.run(
        reliefledger_command(*arguments), capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )


def flatten(text: str) -> str:
    """Output with its line wrapping (rich wraps at the terminal width) collapsed to spaces."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# In-process nodes


async def wait_until_final(node: Node, ids: Iterable[bytes], timeout_s: float = 20) -> dict[bytes, dict]:
    """The final status of every id (fails when one stays pending or unknown)."""
    answers = {}
    for identifier in ids:
        status = await node.wait_for_final_status(identifier, timeout_s)
        assert status is not None, f"{identifier.hex()} unknown to the node"
        assert status["status"] in ("committed", "rejected"), status
        answers[identifier] = status
    return answers


def run_with_node(directory: ChainDirectory, scenario: Callable[[Node], Awaitable[Any]], *, settings: NodeSettings | None = None) -> Any:
    """Start the directory's node in this process, run ``scenario(node)``, stop and close it."""

    async def main() -> Any:
        async with open_node(directory, settings=settings) as node:
            return await scenario(node)

    return asyncio.run(main())


def run_with_client(
    directory: ChainDirectory,
    scenario: Callable[[Node, httpx.AsyncClient], Awaitable[Any]],
    *,
    settings: NodeSettings | None = None,
    request_bytes_max: int | None = None,
    long_poll_seconds_max: int = 60,
) -> Any:
    """Start the node and its HTTP API in this process and run ``scenario(node, client)``.

    Application exceptions are not re-raised: an unhandled error reaches the test as the HTTP 500
    a real client would see.
    """
    settings = settings or directory.read_settings()

    async def main() -> Any:
        async with open_node(directory, settings=settings) as node:
            app = create_app(
                node,
                request_bytes_max=request_bytes_max or settings.request_bytes_max,
                long_poll_seconds_max=long_poll_seconds_max,
            )
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://node", timeout=30) as client:
                return await scenario(node, client)

    return asyncio.run(main())


async def commit_waves(node: Node, waves: Sequence[Sequence[Envelope]]) -> list[dict[bytes, dict]]:
    """Submit each wave, wait until all of it is final, then the next: one or more blocks a wave."""
    outcomes = []
    for wave in waves:
        answers = await node.submit_envelopes(list(wave))
        for answer in answers:
            assert not isinstance(answer, Exception), answer
        outcomes.append(await wait_until_final(node, [envelope.id for envelope in wave]))
    return outcomes


def build_sample_chain(root: Path, *, suite: str = "ed25519-sha256") -> ChainDirectory:
    """A closed chain of several blocks with committed, rejected, revoking and governance work.

    Wave 1 admits members; wave 2 mixes business rejections (an existing member, an unknown
    contract and action, invalid arguments) with admissions; wave 3 revokes a member and proposes a
    new organisation; wave 4 votes it in (2 of 3 founders); wave 5 admits more members.
    """
    directory = make_chain(root, suite=suite)
    admin = directory.read_organisation_key("civil-affairs")
    tax = directory.read_organisation_key("tax")
    members = [generate_key(admin.suite, f"m{index}") for index in range(6)]
    charity = generate_key(admin.suite, "charity")
    change = {
        "founding": False,
        "kind": "admit_organisation",
        "organisation": {
            "admin_key": charity.public_key,
            "id": "charity-federation",
            "kind": "social_organisation",
            "name": "慈善协会 Charity Federation",
            "region": "110000",
        },
    }
    waves = [
        [admit(admin, members[0]), admit(admin, members[1]), admit(tax, members[2], roles=["auditor", "caseworker"])],
        [
            admit(admin, members[0]),
            sign_action(admin, "pay", {}, contract="payments"),
            sign_action(admin, "promote", {}),
            sign_action(admin, "admit_member", {"public_key": members[3].public_key, "roles": []}),
            admit(tax, members[3]),
        ],
        [
            sign_action(admin, "revoke_member", {"public_key": members[1].public_key}),
            sign_action(admin, "propose", {"proposal_id": "admit-charity", "change": change}),
        ],
        [sign_action(tax, "vote", {"proposal_id": "admit-charity"})],
        [admit(admin, members[4]), admit(tax, members[5])],
    ]

    async def scenario(node: Node) -> None:
        await commit_waves(node, waves)
        assert node.tip.height >= len(waves)

    run_with_node(directory, scenario)
    return directory


# ---------------------------------------------------------------------------------------------
# Blocks built by hand (store tests)


def build_block(
    directory: ChainDirectory,
    store: BlockStore,
    envelopes: Sequence[Envelope],
    *,
    height: int | None = None,
) -> tuple[Block, bytes, BlockOutcome]:
    """An orderer-signed block over the store's tip, executed against the store's state."""
    genesis = store.get_genesis()
    tip = store.get_tip()
    orderer = directory.read_orderer_key()
    header = build_header(
        genesis.suite,
        chain=genesis.chain_id,
        height=tip.height + 1 if height is None else height,
        previous_hash=tip.hash,
        time_ms=max(read_clock_ms(), tip.time_ms),
        transactions=envelopes,
        orderer=orderer.public_key,
    )
    block = Block(header, genesis.suite.sign(orderer.seed, header.encode()), tuple(envelopes))
    environment = BlockEnvironment(genesis.chain_id, genesis.suite, header.height, header.time_ms)
    outcome = execute_block(environment, envelopes, store, tip.state_digest, is_committed_id=store.is_committed_id)
    return block, genesis.suite.compute_hash(header.encode()), outcome


def genesis_digest(directory: ChainDirectory) -> bytes:
    """The state digest at height 0."""
    return compute_genesis_state(directory.read_genesis())[1]


# ---------------------------------------------------------------------------------------------
# Real node processes


def find_free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NodeProcess:
    """``reliefledger node DIR --port P`` (or another serving command) as a child process; its output goes to a log file."""

    def __init__(self, directory: Path, port: int | None, log_path: Path, *, extra: Sequence[str] = (), command: str = "node",
                 ready_path: str = "/v1/status") -> None:
        self.directory = Path(directory)
        self.port = port
        self.log_path = log_path
        self.ready_path = ready_path
        arguments = [command, self.directory]
        if port is not None:
            arguments += ["--port", port]
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            reliefledger_command(*arguments, *extra), stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 30) -> dict:
        """Poll /v1/status until the node answers; fail if the process exits first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"node exited with {self.process.returncode}:\n{self.read_log()}")
            try:
                response = httpx.get(f"{self.url}{self.ready_path}", timeout=1)
                if response.status_code == 200:
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"node not ready after {timeout_s} s:\n{self.read_log()}")

    def kill(self) -> None:
        """SIGKILL, no chance to clean up."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def terminate(self, timeout_s: float = 15) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        finally:
            self.log.close()

    def ensure_stopped(self) -> None:
        """For ``finally`` blocks: kill the process if it still runs."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if not self.log.closed:
            self.log.close()

    def read_log(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

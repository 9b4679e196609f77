"""Assembling and running a peer from a chain directory: store, orderer, node, HTTP server."""

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import httpx
import uvicorn

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.agency_config import AGENCIES_FILE, MEANS_TEST_FILE, open_agency_sources, read_means_test_plan
from reliefledger.node.agency_http import HttpAgencyClient, create_agency_app
from reliefledger.node.agency_service import AgencyService, NodeLedger
from reliefledger.node.api import create_app
from reliefledger.node.attestations import AttestationBook, build_attestation
from reliefledger.node.desk import create_desk_router, open_desk
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.peer import Node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.verification import SignatureVerifier
from reliefledger.ledger.blocks import Block
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ordering.jetstream import JetStreamOrderer, JetStreamSettings
from reliefledger.ordering.protocol import ChainPosition, Orderer
from reliefledger.ordering.solo import SoloOrderer
from reliefledger.store.block_store import BlockStore
from reliefledger.store.vault_keys import read_secret_key


def read_clock_ms() -> int:
    """Wall-clock time in milliseconds: the one clock a node reads, injected everywhere else."""
    return time.time_ns() // 1_000_000


@contextlib.asynccontextmanager
async def open_node(
    directory: ChainDirectory,
    *,
    settings: NodeSettings | None = None,
    clock_ms: Callable[[], int] = read_clock_ms,
) -> AsyncIterator[Node]:
    """A started node over the directory's store with a solo orderer; stopped and closed on exit."""
    settings = settings or directory.read_settings()
    directory.read_genesis()  # a clear error for a folder that holds no chain, before locking it
    with lock_directory(directory):
        async with _open_node(directory, settings, clock_ms) as node:
            yield node


@contextlib.contextmanager
def lock_directory(directory: ChainDirectory) -> Iterator[None]:
    """Hold ``DIR/node.lock`` exclusively: one process at a time runs a chain directory's node
    (two would each order their own blocks onto the same store)."""
    path = directory.root / "node.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LedgerInputError(f"another process is running the node of {directory.root}; stop it first", code="directory_in_use") from None
        yield
    finally:
        os.close(descriptor)


@contextlib.asynccontextmanager
async def _open_node(directory: ChainDirectory, settings: NodeSettings, clock_ms: Callable[[], int]) -> AsyncIterator[Node]:
    store = directory.open_store(settings)
    try:
        orderer = _build_orderer(directory, settings, store, clock_ms)
    except BaseException:
        store.close()
        raise
    verifier = SignatureVerifier(settings.verify_workers)
    node = Node(
        store=store,
        orderer=orderer,
        clock_ms=clock_ms,
        verifier=verifier,
        pending_transactions_max=settings.pending_transactions_max,
    )
    if isinstance(orderer, JetStreamOrderer):
        _attach_attestations(directory, settings, node, orderer)
    try:
        await node.start()
        yield node
    finally:
        await node.stop()
        verifier.close()
        store.close()


def _attach_attestations(directory: ChainDirectory, settings: NodeSettings, node: Node, orderer: JetStreamOrderer) -> None:
    """Keep the book of the peers' attestations; after every commit, sign and publish this peer's
    own (with its organisation's key, when this folder holds it)."""
    store = node.store

    def read_own(height: int) -> tuple[bytes, bytes] | None:
        stored = store.get_block(height) if 1 <= height <= node.tip.height else None
        return None if stored is None else (stored.hash, stored.state_digest)

    book = AttestationBook(node.suite, node.genesis.chain_id, store.get, read_own, on_divergence=lambda proof: _store_proof(directory, proof))
    node.attestations = book
    orderer.on_attestation = book.add
    orderer.highest_attested = book.get_highest_agreeing_height
    organisation = settings.organisation or node.genesis.organisations[0].id
    key_path = directory.get_organisation_key_path(organisation)
    key = directory.read_organisation_key(organisation) if key_path.exists() else None

    def on_commit(block: Block) -> None:
        if key is not None:
            orderer.attest(build_attestation(key, organisation, node.genesis.chain_id, node.tip.height, node.tip.hash, node.tip.state_digest))
        book.recheck()

    node.commit_listeners.append(on_commit)


def _store_proof(directory: ChainDirectory, proof: dict[str, Any]) -> None:
    """Keep a proof of divergence in ``DIR/divergences/`` (written whole, then renamed), so it
    outlives the peer and the ordering cluster."""
    folder = directory.root / "divergences"
    folder.mkdir(exist_ok=True)
    digest = directory.read_genesis().suite.compute_hash(encode_canonical(proof)).hex()[:16]
    path = folder / f"height-{proof['height']}-{digest}.json"
    temporary = path.with_suffix(".partial")
    temporary.write_bytes(encode_canonical(proof))
    os.replace(temporary, path)


def _build_orderer(directory: ChainDirectory, settings: NodeSettings, store: BlockStore, clock_ms: Callable[[], int]) -> Orderer:
    """The solo orderer, or the JetStream orderer for ``nats://`` servers (cutting blocks when this
    peer holds the orderer key)."""
    genesis = store.get_genesis()
    if settings.orderer == "solo":
        return SoloOrderer(chain_id=genesis.chain_id, suite=genesis.suite, signing_seed=directory.read_orderer_key().seed, clock_ms=clock_ms,
                           batch=settings.get_batch_limits())
    servers = tuple(item.strip() for item in settings.orderer.split(",") if item.strip())
    if not servers or not all(server.startswith(("nats://", "tls://")) for server in servers):
        raise LedgerInputError(f"orderer {settings.orderer!r} is neither 'solo' nor a list of nats:// servers", code="invalid_settings")
    if settings.cutter not in ("active", "standby", "off"):
        raise LedgerInputError("cutter is active, standby or off", code="invalid_settings")
    signing_seed = directory.read_orderer_key().seed if directory.orderer_key_path.exists() else None
    genesis_block = store.get_block(0)

    def read_local_block(height: int) -> Block | None:
        stored = store.get_block(height)
        return None if stored is None or height == 0 else Block(stored.header, stored.orderer_signature, tuple(stored.get_envelopes()))

    return JetStreamOrderer(chain_id=genesis.chain_id, suite=genesis.suite, settings=JetStreamSettings(servers, settings.cutter, submit_deadline_s=settings.ordering_timeout_s), clock_ms=clock_ms,
                            batch=settings.get_batch_limits(), signing_seed=signing_seed,
                            genesis_position=ChainPosition(0, genesis_block.hash, genesis.time_ms), read_local_block=read_local_block,
                            local_height=store.get_tip_height)


async def start_server(app: Any, *, host: str, port: int) -> tuple[uvicorn.Server, asyncio.Task]:
    """Bind the socket here (a port in use is a clear error, not uvicorn's exit) and start serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every answer waits ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise LedgerInputError(f"cannot listen on {host}:{port}: {error.strerror or error}", code="cannot_listen") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None
    serving = asyncio.create_task(server.serve(sockets=[listener]), name="http-server")
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if not server.started:
        serving.result()
    return server, serving


def stop_server_on_signals(server: uvicorn.Server) -> None:
    """Let SIGINT (Ctrl+C) and SIGTERM end the server gracefully."""
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, lambda: setattr(server, "should_exit", True))


async def serve(directory: ChainDirectory, *, host: str, port: int, on_ready: Callable[[Node], None] | None = None,
                settings: NodeSettings | None = None, extend_app: Callable[[Any, Node], None] | None = None,
                serve_with: Callable[[Any, Node, Any], contextlib.AbstractAsyncContextManager[Any]] | None = None) -> None:
    """Run a node and its HTTP API until SIGINT or SIGTERM (with the desk's means-test plan when
    ``means-test.toml`` is in the directory: its agencies are asked over HTTP). ``serve_with``
    (app, node, casework) is entered while the server runs: the layers above add services that
    need the desk (the standards' endpoints)."""
    settings = settings or directory.read_settings()
    plan_path = directory.root / MEANS_TEST_FILE
    planned = read_means_test_plan(plan_path) if plan_path.exists() else []
    async with open_node(directory, settings=settings) as node, httpx.AsyncClient(timeout=None) as client:
        plan = [(item.plan, HttpAgencyClient(item.url, item.plan.agency, client)) for item in planned]
        with open_desk(directory, node, settings, clock_ms=read_clock_ms) as casework:
            app = create_app(node, request_bytes_max=settings.request_bytes_max, long_poll_seconds_max=settings.long_poll_seconds_max,
                             casework=create_desk_router(directory, casework, plan))
            if extend_app is not None:
                extend_app(app, node)  # the layers above add their pages (the dashboard)
            services = serve_with(app, node, casework) if serve_with is not None and casework is not None else contextlib.nullcontext()
            async with services:
                await run_server(app, host=host, port=port, on_ready=lambda: on_ready(node) if on_ready else None)


async def serve_agencies(directory: ChainDirectory, *, host: str, port: int, node_url: str | None = None, config_path: Path | None = None,
                         on_ready: Callable[[list[str]], None] | None = None) -> None:
    """Run the data services of the agencies in ``agencies.toml`` until SIGINT or SIGTERM: they read
    the ledger's committed state from the node's store (read-only) and submit their answer records
    to the node's HTTP API (``node_url``, by default the node's address in its settings)."""
    settings = directory.read_settings()
    genesis = directory.read_genesis()
    node_url = node_url or f"http://{settings.host}:{settings.port}"
    network_key = read_secret_key(directory.network_key_path)
    sources = open_agency_sources(config_path or directory.root / AGENCIES_FILE, suite=genesis.suite, network_key=network_key)
    keys = {agency: directory.read_organisation_key(agency) for agency in sources}
    store = BlockStore(directory.store_path, read_only=True)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            ledger = NodeLedger(store, genesis.chain_id, node_url, client)
            services = {agency: AgencyService(agency, keys[agency], source, ledger) for agency, source in sources.items()}
            await run_server(create_agency_app(services), host=host, port=port, on_ready=lambda: on_ready(sorted(services)) if on_ready else None)
    finally:
        store.close()
        for source in sources.values():
            getattr(source, "close", lambda: None)()


async def run_server(app: Any, *, host: str, port: int, on_ready: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM."""
    server, serving = await start_server(app, host=host, port=port)
    stop_server_on_signals(server)
    on_ready()
    await serving

"""The command line: parses, calls the layers, prints. No business logic lives here."""

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import DEFAULT_SUITE_NAME, SUITES
from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.bench import BenchmarkSettings, run_benchmark
from reliefledger.node.directory import DEFAULT_ORGANISATIONS, ChainDirectory, initialise_directory
from reliefledger.node.keys import read_key
from reliefledger.node.runtime import read_clock_ms, serve
from reliefledger.store.audit import audit_store
from reliefledger.store.block_store import BlockStore

app = typer.Typer(
    name="reliefledger",
    help="ReliefLedger: a permissioned multi-agency ledger for social assistance (社会救助).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    """Print an error for a person and exit non-zero (never a traceback)."""
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Folder to create the chain in"),
    suite: str = typer.Option(DEFAULT_SUITE_NAME, help=f"Crypto suite: {', '.join(SUITES)}"),
    orgs: str = typer.Option(",".join(DEFAULT_ORGANISATIONS), help="Comma-separated founding organisation ids"),
    region: str = typer.Option("110000", help="GB/T 2260 region code of the network"),
    chain_id: str = typer.Option("reliefledger-local", help="Chain id"),
    port: int = typer.Option(8000, help="Port the node will listen on"),
) -> None:
    """Create a chain: genesis, organisation and orderer keys, node settings."""
    from reliefledger.node.settings import NodeSettings

    try:
        chain = initialise_directory(
            directory,
            suite_name=suite,
            organisation_ids=[item.strip() for item in orgs.split(",") if item.strip()],
            region=region,
            chain_id=chain_id,
            time_ms=read_clock_ms(),
            settings=NodeSettings(port=port),
        )
        chain.open_store().close()
    except LedgerInputError as error:
        fail(error.message)
    except OSError as error:
        fail(f"cannot create the chain in {directory}: {error.strerror or error}")
    genesis = chain.read_genesis()
    console.print(f"[green]created[/] chain [bold]{genesis.chain_id}[/] ({genesis.suite.name}) in {directory}")
    for organisation in genesis.organisations:
        console.print(f"  {organisation.id:<20} {organisation.name}  key: keys/{organisation.id}.json")
    console.print(f"run it with: [bold]reliefledger node {directory}[/]")


@app.command()
def node(
    directory: Path = typer.Argument(..., help="Chain folder made by 'reliefledger init'"),
    host: Optional[str] = typer.Option(None, help="Listen address (default from node.json)"),
    port: Optional[int] = typer.Option(None, help="Listen port (default from node.json)"),
) -> None:
    """Run a peer: the solo orderer, the commit loop and the HTTP API, until Ctrl+C."""
    chain = ChainDirectory(directory)
    try:
        settings = chain.read_settings()
        chain.read_genesis()
    except LedgerInputError as error:
        fail(error.message)
    host = host or settings.host
    port = port or settings.port

    def announce(peer: Any) -> None:
        status = peer.get_status()
        console.print(f"node of [bold]{status['chain_id']}[/] at height {status['height']} listening on http://{host}:{port} (API docs: /docs)", highlight=False)

    try:
        asyncio.run(serve(chain, host=host, port=port, on_ready=announce))
    except LedgerInputError as error:
        fail(error.message)


@app.command()
def tx(
    contract: str = typer.Argument(..., help="Contract, e.g. membership"),
    action: str = typer.Argument(..., help="Action, e.g. admit_member"),
    args: str = typer.Option("{}", "--args", help="Arguments as a JSON object"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="Chain folder: supplies chain id, keys and node address"),
    org: Optional[str] = typer.Option(None, help="Sign with this organisation's admin key from --dir"),
    key: Optional[Path] = typer.Option(None, help="Sign with this key file"),
    chain: Optional[str] = typer.Option(None, help="Chain id (read from --dir when given)"),
    node_url: Optional[str] = typer.Option(None, "--node", help="Node address, e.g. http://127.0.0.1:8000"),
    nonce: Optional[str] = typer.Option(None, help="Nonce (default: a fresh random one)"),
    valid_for: int = typer.Option(3600, help="Seconds the transaction stays valid"),
    wait: float = typer.Option(10.0, help="Seconds to wait for the final status (0: do not wait)"),
    print_only: bool = typer.Option(False, "--print", help="Print the signed envelope instead of submitting it"),
) -> None:
    """Build, sign and submit a transaction; print its final status."""
    try:
        arguments = json.loads(args)
    except ValueError as error:
        fail(f"--args is not JSON: {error}")
    if not isinstance(arguments, dict):
        fail("--args must be a JSON object")
    try:
        chain_directory = ChainDirectory(directory) if directory else None
        if chain_directory is not None:
            chain = chain or chain_directory.read_genesis().chain_id
            settings = chain_directory.read_settings()
            node_url = node_url or f"http://{settings.host}:{settings.port}"
        if key is not None:
            signing_key = read_key(key)
        elif chain_directory is not None and org is not None:
            signing_key = chain_directory.read_organisation_key(org)
        else:
            fail("name a signing key: --key FILE, or --dir DIR with --org ID")
        if chain is None:
            fail("name the chain: --chain ID, or --dir DIR")
        body = TransactionBody(
            chain, contract, action, arguments, signing_key.public_key,
            nonce or os.urandom(8).hex(), read_clock_ms() + valid_for * 1000,
        )
        envelope = sign_transaction(signing_key.suite, signing_key.seed, body)
    except LedgerInputError as error:
        fail(error.message)
    if print_only:
        sys.stdout.write(envelope.encoded.decode() + "\n")
        return
    node_url = node_url or "http://127.0.0.1:8000"
    answer = _submit(node_url, envelope.encoded, envelope.id.hex(), wait)
    console.print_json(data=answer)
    if answer.get("status") == "rejected":
        raise typer.Exit(3)


def _submit(node_url: str, data: bytes, transaction_id: str, wait: float) -> dict:
    try:
        with httpx.Client(base_url=node_url, timeout=wait + 10) as client:
            response = client.post("/v1/transactions", content=data, headers={"content-type": "application/json"})
            if response.status_code >= 400:
                problem = response.json()
                fail(f"{problem.get('code')}: {problem.get('message')} (HTTP {response.status_code})")
            if wait > 0:
                response = client.get(f"/v1/transactions/{transaction_id}", params={"wait": wait})
            return response.json()
    except httpx.HTTPError as error:
        fail(f"cannot reach the node at {node_url}: {error}")


@app.command()
def verify(
    directory: Path = typer.Argument(..., help="Chain folder to check"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Re-check the whole chain offline: hashes, signatures, Merkle roots, re-execution.

    Exit 0 when sound; exit 1 naming the first bad block and why.
    """
    chain = ChainDirectory(directory)
    try:
        store = BlockStore(chain.store_path, read_only=True)
    except LedgerInputError as error:
        fail(error.message)
    try:
        with Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors, transient=True, disable=as_json) as progress:
            task = progress.add_task("blocks", total=None)
            report = audit_store(store, progress=lambda height, tip: progress.update(task, completed=height, total=tip))
    except Exception as error:  # a store too damaged to read is a failed audit, not a crash
        fail(f"the store cannot be read: {error}")
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    elif report.sound:
        console.print(f"[green]sound[/]: {report.blocks_checked} blocks, {report.transactions_checked} transactions, state digest {report.state_digest}")
    else:
        where = f"block {report.bad_height}" if report.bad_height is not None else "final state"
        errors.print(f"[bold red]NOT SOUND[/] at {where}: {report.reason}")
    raise typer.Exit(0 if report.sound else 1)


@app.command()
def bench(
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON figures"),
    count: int = typer.Option(50_000, "--count", "-n", min=1, max=5_000_000, help="Transactions to commit"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="Build the chain here and keep it (default: a temporary folder)"),
    suite: str = typer.Option(DEFAULT_SUITE_NAME, help=f"Crypto suite: {', '.join(SUITES)}"),
    workers: int = typer.Option(0, help="The node's signature-verification processes (0: one per core but one)"),
) -> None:
    """Measure committed transactions a second through the node's commit path."""
    if directory is not None and directory.exists() and any(directory.iterdir()):
        fail(f"{directory} is not empty; name a new folder")
    if suite not in SUITES:
        fail(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    temporary = None if directory else tempfile.TemporaryDirectory(prefix="reliefledger-bench-")
    settings = BenchmarkSettings(count, suite, directory or Path(temporary.name) / "chain", workers)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors, transient=True, disable=as_json) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, advance: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.advance(tasks[stage], advance)

        figures = asyncio.run(run_benchmark(settings, progress=report))
    if temporary is not None:
        figures["dir"] = None
        temporary.cleanup()
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
    else:
        console.print_json(data=figures)


@app.command()
def demo(
    transactions: int = typer.Option(2000, help="Transactions to submit over HTTP"),
    port: int = typer.Option(8000, help="Port for the node's HTTP API"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="Chain folder (default: a new temporary folder)"),
    serve_seconds: float = typer.Option(-1, help="Keep serving this long after the stream (-1: until Ctrl+C)"),
) -> None:
    """Start a local chain, stream signed transactions into it over HTTP, and keep it serving."""
    from reliefledger.node.demo import run_demo

    root = directory or Path(tempfile.mkdtemp(prefix="reliefledger-demo-")) / "chain"
    try:
        asyncio.run(run_demo(root, transactions=transactions, port=port, serve_seconds=serve_seconds, console=console))
    except LedgerInputError as error:
        fail(error.message)
    except OSError as error:
        fail(f"cannot serve on port {port}: {error}")


def main() -> None:
    """Entry point for ``python -m reliefledger``."""
    app()


if __name__ == "__main__":
    main()

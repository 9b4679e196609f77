"""The command line: parses, calls the layers, prints. No business logic lives here."""

import asyncio
import dataclasses
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
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reliefledger.interop.settings import InteropSettingsError
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
    orderer: Optional[str] = typer.Option(None, help="solo, or the JetStream cluster: nats://host:port,nats://... (default from node.json)"),
    cutter: Optional[str] = typer.Option(None, help="With a NATS orderer and the orderer key: active, standby or off (default from node.json)"),
) -> None:
    """Run a peer: the orderer (solo in-process, or a NATS JetStream cluster), the commit loop and the HTTP API, until Ctrl+C."""
    chain = ChainDirectory(directory)
    try:
        settings = chain.read_settings()
        chain.read_genesis()
    except LedgerInputError as error:
        fail(error.message)
    if orderer or cutter:
        settings = dataclasses.replace(settings, orderer=orderer or settings.orderer, cutter=cutter or settings.cutter)
    host = host or settings.host
    port = port or settings.port

    def announce(peer: Any) -> None:
        status = peer.get_status()
        console.print(f"node of [bold]{status['chain_id']}[/] at height {status['height']} listening on http://{host}:{port} (API docs: /docs)", highlight=False)

    try:
        from reliefledger.interop.service import serve_standards
        from reliefledger.web.app import mount_dashboard

        asyncio.run(serve(chain, host=host, port=port, on_ready=announce, settings=settings, extend_app=mount_dashboard, serve_with=serve_standards(chain.root)))
    except LedgerInputError as error:
        fail(error.message)
    except InteropSettingsError as error:  # interop.toml or a staff key it names cannot be used
        fail(f"interop: {error}")


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


DEMO_HOUSEHOLDS_MAX = 200_000
"""The largest demo city: its build holds the city in memory (100,000 households took 4 GB)."""


@app.command()
def demo(
    households: int = typer.Option(10_000, help="Households of the synthetic city (1 to 200,000; 10,000 build in under two minutes on two cores)"),
    stream: bool = typer.Option(False, "--stream", help="Instead of the city: stream signed transactions over HTTP and vote an organisation in"),
    transactions: int = typer.Option(2000, help="With --stream: transactions to submit over HTTP"),
    port: int = typer.Option(8000, help="Port for the node's HTTP API"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="Chain folder (default: a new temporary folder)"),
    serve_seconds: float = typer.Option(-1, help="Keep serving this long after the build (-1: until Ctrl+C)"),
    city: Optional[int] = typer.Option(None, "--city", hidden=True, help="Former name of --households"),
) -> None:
    """Build a synthetic city's first months on the embedded node (or, with --stream, a transaction stream) and keep it serving with the dashboard."""
    from reliefledger.node.demo import run_demo
    from reliefledger.web.app import mount_dashboard

    households = city if city is not None else households
    if not stream and not 1 <= households <= DEMO_HOUSEHOLDS_MAX:
        fail(f"--households is 1 to {DEMO_HOUSEHOLDS_MAX:,} (the city is built in memory: 100,000 took 4 GB); "
             "`reliefledger sim population` writes up to 1,000,000 households to files")
    root = directory or Path(tempfile.mkdtemp(prefix="reliefledger-demo-")) / "chain"
    try:
        if stream:
            asyncio.run(run_demo(root, transactions=transactions, port=port, serve_seconds=serve_seconds, console=console, extend_app=mount_dashboard))
            return
        from reliefledger.sim.scenario import run_city_demo

        asyncio.run(run_city_demo(root, households=households, port=port, serve_seconds=serve_seconds, console=console, extend_app=mount_dashboard))
    except LedgerInputError as error:
        fail(error.message)
    except OSError as error:
        fail(f"cannot serve on port {port}: {error}")


staff_app = typer.Typer(help="Staff of this node: keys admitted on the ledger, API tokens.", no_args_is_help=True)
pack_app = typer.Typer(help="Policy packs: publish a pack on the ledger.", no_args_is_help=True)
case_app = typer.Typer(help="Cases at the civil-affairs desk (through a running node's API).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
app.add_typer(pack_app, name="pack")
app.add_typer(case_app, name="case")
catalog_app = typer.Typer(help="The directory chain: what departments share, requests, approvals in force.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

NODE_OPTION = typer.Option(None, "--node", help="Node address (default: from DIR's node.json, else http://127.0.0.1:8000)")
TOKEN_OPTION = typer.Option(..., "--token", envvar="RELIEFLEDGER_TOKEN", help="Your API token (or set RELIEFLEDGER_TOKEN)")


@staff_app.command("add")
def staff_add(
    directory: Path = typer.Argument(..., help="Chain folder holding the organisation's admin key"),
    org: str = typer.Option(..., help="The organisation the staff member joins"),
    label: str = typer.Option(..., help="A work id for the member (no personal data), e.g. chaoyang-cw-01"),
    roles: str = typer.Option(..., help="Comma-separated roles: caseworker, approver, auditor, data_officer, policy_admin..."),
    region: Optional[str] = typer.Option(None, help="GB/T 2260 region the member acts in (default: the organisation's)"),
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Admit a staff key on the ledger (signed by the organisation's admin) and print its API token once."""
    from reliefledger.node.keys import generate_key
    from reliefledger.node.staff import StaffDirectory

    chain = ChainDirectory(directory)
    try:
        admin = chain.read_organisation_key(org)
        genesis = chain.read_genesis()
        node_url = node_url or _get_node_url(chain)
        member = generate_key(admin.suite, label)
        args: dict[str, Any] = {"public_key": member.public_key, "roles": [role.strip() for role in roles.split(",") if role.strip()]}
        if region:
            args["region"] = region
        body = TransactionBody(genesis.chain_id, "membership", "admit_member", args, admin.public_key, os.urandom(8).hex(), read_clock_ms() + 600_000)
        envelope = sign_transaction(admin.suite, admin.seed, body)
        answer = _submit(node_url, envelope.encoded, envelope.id.hex(), 20)
    except LedgerInputError as error:
        fail(error.message)
    if answer.get("status") != "committed":
        fail(f"the ledger refused the admission: {answer.get('result')}")
    try:
        token = StaffDirectory(chain).add(label, member)
    except LedgerInputError as error:
        fail(error.message)
    console.print(f"[green]admitted[/] {label} ({roles}) at height {answer['height']}")
    console.print(f"API token (shown once, keep it secret): [bold]{token}[/]")


@pack_app.command("publish")
def pack_publish(
    directory: Path = typer.Argument(..., help="Chain folder holding the staff key"),
    staff: str = typer.Option(..., help="Label of a staff member with the policy_admin role"),
    file: Optional[Path] = typer.Option(None, help="Pack file (TOML or JSON; default: the shipped mainland pack)"),
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Validate a policy pack and publish it on the ledger; it becomes the current pack."""
    from reliefledger.policy_files import get_default_policy_path, read_policy_pack

    try:
        document, pack = read_policy_pack(file or get_default_policy_path())
    except LedgerInputError as error:
        fail(error.message)
    answer = _sign_and_submit(directory, staff, "policy", "publish_pack", {"document": document}, node_url)
    console.print(f"[green]published[/] policy pack {pack.version} at height {answer['height']}")


def _sign_and_submit(directory: Path, staff: str, contract: str, action: str, args: dict[str, Any], node_url: str | None) -> dict[str, Any]:
    """Sign ``contract.action`` with a staff member's key, submit it to the node, wait until it is
    committed; exit 1 with the ledger's reason otherwise."""
    from reliefledger.node.staff import StaffDirectory

    chain = ChainDirectory(directory)
    try:
        member = StaffDirectory(chain).get(staff)
        body = TransactionBody(chain.read_genesis().chain_id, contract, action, args, member.key.public_key, os.urandom(8).hex(), read_clock_ms() + 600_000)
        envelope = sign_transaction(member.key.suite, member.key.seed, body)
        answer = _submit(node_url or _get_node_url(chain), envelope.encoded, envelope.id.hex(), 20)
    except LedgerInputError as error:
        fail(error.message)
    if answer.get("status") != "committed":
        fail(f"the ledger refused {contract}.{action}: {answer.get('result')}")
    return answer


@case_app.command("show")
def case_show(case_id: str, token: str = TOKEN_OPTION, node_url: Optional[str] = NODE_OPTION) -> None:
    """A case: its state, records (as commitments), deadlines."""
    _print_desk_answer(node_url, token, "GET", f"/v1/cases/{case_id}")


@case_app.command("list")
def case_list(
    region: Optional[str] = typer.Option(None, help="Only cases within this region"),
    status: Optional[str] = typer.Option(None, help="Only cases in this state (applied, in_notice, enrolled...)"),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases past a statutory deadline"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Cases within your region."""
    params = {name: value for name, value in (("region", region), ("status", status)) if value}
    if overdue:
        params["overdue"] = "true"
    _print_desk_answer(node_url, token, "GET", "/v1/cases", params=params)


@case_app.command("step")
def case_step(
    case_id: str = typer.Argument(..., help="The case id, e.g. a1.dibao"),
    step: str = typer.Argument(..., help="authorisation, visits, means-test, opinion, notice, objections, decision, refusal-notice or benefit-changes"),
    body: str = typer.Option("{}", "--json", help="The step's JSON body (see docs/casework.md)"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Take one workflow step on a case."""
    if step not in CASE_STEPS:
        fail(f"unknown step {step!r}; one of: {', '.join(CASE_STEPS)}")
    try:
        payload = json.loads(body)
    except ValueError as error:
        fail(f"--json is not JSON: {error}")
    _print_desk_answer(node_url, token, "POST", f"/v1/cases/{case_id}/{step}", body=payload)


@case_app.command("history")
def case_history(household: str = typer.Argument(..., help="Household pseudonym"), token: str = TOKEN_OPTION, node_url: Optional[str] = NODE_OPTION) -> None:
    """A household's assistance history across programmes."""
    _print_desk_answer(node_url, token, "GET", f"/v1/households/{household}/history")


@case_app.command("accesses")
def case_accesses(person: str = typer.Argument(..., help="Person pseudonym"), token: str = TOKEN_OPTION, node_url: Optional[str] = NODE_OPTION) -> None:
    """Every logged read of a person's data, with who, when and why."""
    _print_desk_answer(node_url, token, "GET", f"/v1/persons/{person}/accesses")


@case_app.command("notices")
def case_notices(region: str = typer.Option(..., help="The village or community's region code"), token: str = TOKEN_OPTION, node_url: Optional[str] = NODE_OPTION) -> None:
    """The public notice board of a village or community."""
    _print_desk_answer(node_url, token, "GET", "/v1/notices", params={"region": region})


@case_app.command("means-test")
def case_means_test(
    case_ids: list[str] = typer.Argument(..., help="One or more case ids; several are tested in one run (one query batch per agency)"),
    attempt: int = typer.Option(1, help="A new attempt asks the agencies again with new query ids"),
    timeout: float = typer.Option(5.0, help="Seconds to wait for each agency"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Run the cross-agency means test: every agency of the node's means-test.toml answers from its own data."""
    if len(case_ids) == 1:
        _print_desk_answer(node_url, token, "POST", f"/v1/cases/{case_ids[0]}/means-test/run", body={"attempt": attempt, "timeout_s": timeout})
    else:
        _print_desk_answer(node_url, token, "POST", "/v1/means-tests", body={"case_ids": case_ids, "attempt": attempt, "timeout_s": timeout})


@catalog_app.command("resources")
def catalog_resources(
    owner: Optional[str] = typer.Option(None, help="Only this department's resources"),
    status: Optional[str] = typer.Option(None, help="active or retired"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """What each department shares: catalogued resources with their history."""
    params = {name: value for name, value in (("owner", owner), ("status", status)) if value}
    _print_desk_answer(node_url, token, "GET", "/v1/catalog/resources", params=params)


@catalog_app.command("resource")
def catalog_resource(resource_id: str = typer.Argument(..., help="The resource id, e.g. tax.income"), token: str = TOKEN_OPTION,
                     node_url: Optional[str] = NODE_OPTION) -> None:
    """One resource with every published version of its description."""
    _print_desk_answer(node_url, token, "GET", f"/v1/catalog/resources/{resource_id}")


@catalog_app.command("requests")
def catalog_requests(
    requester: Optional[str] = typer.Option(None, help="Only requests by this organisation"),
    owner: Optional[str] = typer.Option(None, help="Only requests for this department's data"),
    status: Optional[str] = typer.Option(None, help="pending, approved, refused or revoked"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Sharing requests and their full history (pending ones with --status pending)."""
    params = {name: value for name, value in (("requester", requester), ("owner", owner), ("status", status)) if value}
    _print_desk_answer(node_url, token, "GET", "/v1/catalog/requests", params=params)


@catalog_app.command("permissions")
def catalog_permissions(requester: Optional[str] = typer.Option(None, help="Only this organisation's"), token: str = TOKEN_OPTION,
                        node_url: Optional[str] = NODE_OPTION) -> None:
    """Who may read what right now: approvals in force."""
    _print_desk_answer(node_url, token, "GET", "/v1/catalog/permissions", params={"requester": requester} if requester else None)


@app.command()
def agency(
    directory: Path = typer.Argument(..., help="Chain folder holding the agencies' keys and agencies.toml"),
    host: str = typer.Option("127.0.0.1", help="Listen address"),
    port: int = typer.Option(8100, help="Listen port"),
    config: Optional[Path] = typer.Option(None, help="The agencies and their sources (default: DIR/agencies.toml)"),
    node_url: Optional[str] = typer.Option(None, "--node", help="The node the answer records go to (default: from DIR's node.json)"),
) -> None:
    """Run agencies' data services: answer means-test queries from their own sources, until Ctrl+C."""
    from reliefledger.node.runtime import serve_agencies

    chain = ChainDirectory(directory)

    def announce(agencies: list[str]) -> None:
        console.print(f"agency data services of [bold]{', '.join(agencies)}[/] listening on http://{host}:{port}", highlight=False)

    try:
        asyncio.run(serve_agencies(chain, host=host, port=port, node_url=node_url, config_path=config, on_ready=announce))
    except LedgerInputError as error:
        fail(error.message)


@app.command()
def receipt(
    transaction_id: str = typer.Argument(..., help="The transaction's id (64 hex digits)"),
    out: Path = typer.Option(..., "--out", help="Where to write the receipt (JSON)"),
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Fetch the receipt of a transaction in a block: the transaction, the signed block header and both proofs."""
    try:
        with httpx.Client(base_url=node_url or "http://127.0.0.1:8000", timeout=30) as client:
            response = client.get(f"/v1/receipts/{transaction_id}")
    except httpx.HTTPError as error:
        fail(f"cannot reach the node at {node_url}: {error}")
    answer = response.json()
    if response.status_code != 200:
        fail(f"{answer.get('code')}: {answer.get('message')} (HTTP {response.status_code})")
    try:
        out.write_text(json.dumps(answer, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {out}: {error}")
    console.print(f"receipt of {transaction_id[:12]}… ({answer['status']['result']}, block {answer['status']['height']}) written to {out}", highlight=False)


@app.command("verify-receipt")
def verify_receipt(
    file: Path = typer.Argument(..., help="A receipt written by 'reliefledger receipt' or GET /v1/receipts/{id}"),
    genesis_hash: Optional[str] = typer.Option(None, "--genesis-hash", help="The genesis hash of the chain you trust (GET /v1/genesis)"),
) -> None:
    """Check a receipt offline: signatures, the orderer, and both inclusion proofs. Exit 1 when it does not hold."""
    from reliefledger.ledger.receipts import check_receipt

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        fail(f"{file} cannot be read as JSON: {error}")
    check = check_receipt(document, genesis_hash=genesis_hash)
    if not check.is_valid:
        for problem in check.problems:
            console.print(f"[red]✗[/] {problem}", highlight=False)
        raise typer.Exit(1)
    body = check.transaction
    console.print(f"[green]✓[/] {body['contract']}.{body['action']} signed by {body['signer'][:16]}… is in block {document['status']['height']} "
                  f"of {document['chain_id']} with result {document['status']['result']}", highlight=False)
    if body["contract"] == "money" and body["action"] == "create_transfers":
        for transfer in body["args"]["transfers"]:
            console.print(f"  transfer {transfer['transfer_id']}: {transfer.get('amount', 'all pending')} fen "
                          f"{transfer.get('debit_account_id', '')} → {transfer.get('credit_account_id', '')} {transfer.get('reference') or ''}", highlight=False)
    if genesis_hash is None:
        console.print(f"genesis {document['genesis_hash']}: compare it with the chain you trust (--genesis-hash)", highlight=False)


@app.command("import-households")
def import_households_command(
    directory: Path = typer.Argument(..., help="Chain folder (its node must not be running: the import runs it)"),
    file: Path = typer.Argument(..., help="CSV or .xlsx file, one row per person (docs/import.md)"),
    staff: str = typer.Option(..., help="Label of the caseworker or admin the households are registered by"),
    report: Path = typer.Option(Path("rejected-rows.csv"), help="Where to write the rows that were refused, with reasons"),
) -> None:
    """Register households from a file; every refused row is reported with its reason."""
    from reliefledger.node.desk import open_desk
    from reliefledger.node.household_import import import_households, read_rows
    from reliefledger.node.runtime import open_node
    from reliefledger.node.staff import StaffDirectory

    chain = ChainDirectory(directory)

    async def run(progress: Progress) -> Any:
        tasks: dict[str, Any] = {}

        def show(stage: str, completed: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=completed, total=total)

        async with open_node(chain) as node:
            with open_desk(chain, node, chain.read_settings(), clock_ms=read_clock_ms) as casework:
                if casework is None:
                    fail(f"{directory} has no vault or network key")
                return await import_households(casework, StaffDirectory(chain).get(staff), read_rows(file), progress=show)

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=errors) as progress:
            outcome = asyncio.run(run(progress))
    except LedgerInputError as error:
        fail(error.message)
    outcome.write_rejections_csv(report)
    figures = {name: value for name, value in outcome.to_json().items() if name != "rejected"}
    console.print_json(data=figures)
    if outcome.rows_rejected:
        errors.print(f"[yellow]{outcome.rows_rejected} rows were refused:[/] see {report}")


money_app = typer.Typer(help="Disbursement: the monthly run and the bank rail's reconciliation (the node must not be running).", no_args_is_help=True)
app.add_typer(money_app, name="money")


network_app = typer.Typer(help="A local network: a NATS JetStream cluster and peers as separate processes (docs/deployment.md).", no_args_is_help=True)
app.add_typer(network_app, name="network")


@network_app.command("up")
def network_up(
    directory: Path = typer.Argument(..., help="Folder of the network (made on first use; reused afterwards)"),
    peers: int = typer.Option(4, help="Peers, one per organisation, each its own process"),
    servers: int = typer.Option(3, help="nats-server processes in the JetStream cluster (3 or more for fault tolerance)"),
    client_port: int = typer.Option(4222, help="Server i takes client port P+i, route port P+2000+i, monitoring P+4000+i"),
    peer_port: int = typer.Option(8101, help="Peer i serves its HTTP API on P+i"),
) -> None:
    """Start the servers (loopback only, own store folders, fsync on every write) and the peers; print their addresses."""
    from reliefledger.node.network import NetworkPlan, bring_up

    if not 1 <= servers <= 9 or not 1 <= peers <= 8:
        fail("--servers is 1 to 9 and --peers 1 to 8")
    try:
        bring_up(directory, NetworkPlan(peers=peers, servers=servers, client_port=client_port, peer_port=peer_port), report=lambda line: console.print(f"  {line}"))
    except LedgerInputError as error:
        fail(error.message)
    except OSError as error:
        fail(f"cannot start the network in {directory}: {error}")
    console.print(f"[green]network up[/] in {directory}; stop it with: reliefledger network down {directory}")


@network_app.command("down")
def network_down(directory: Path = typer.Argument(..., help="Folder of a network started with 'network up'")) -> None:
    """Stop exactly the processes 'network up' started (the data stays)."""
    from reliefledger.node.network import bring_down

    try:
        stopped = bring_down(directory)
    except LedgerInputError as error:
        fail(error.message)
    console.print(f"[green]network down[/]: {stopped} processes stopped")


reports_app = typer.Typer(help="Problem reports: routing rules, filing, following, the steps, the overview of every level.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
REPORT_STEPS = ("acknowledge", "start", "resolve", "refer", "outreach")


@reports_app.command("publish-rules")
def reports_publish_rules(
    directory: Path = typer.Argument(..., help="Chain folder holding the staff key"),
    staff: str = typer.Option(..., help="Label of a staff member with the policy_admin role"),
    file: Optional[Path] = typer.Option(None, help="Rules file (TOML; default: the shipped data/reports/routing.toml)"),
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Publish the routing rules and deadlines of problem reports."""
    from reliefledger.report_rules import read_report_rules

    try:
        rules = read_report_rules(file)
    except LedgerInputError as error:
        fail(error.message)
    answer = _sign_and_submit(directory, staff, "reports", "publish_rules", rules, node_url)
    console.print(f"[green]published[/] report routing rules at height {answer['height']}")


@reports_app.command("file")
def reports_file(
    region: str = typer.Option(..., help="Where the problem is (GB/T 2260 code)"),
    category: str = typer.Option(..., help="person_in_difficulty, service_failure, fund_problem or misconduct"),
    description: str = typer.Option(..., help="What is reported (kept in the vault, never on the ledger)"),
    urgency: str = typer.Option("normal", help="normal, urgent or critical"),
    channel: str = typer.Option("member", help="member, hotline (for a caller) or analytics"),
    subject: Optional[str] = typer.Option(None, help="For misconduct: the department accused"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """File a report; prints its id and where to follow it."""
    body = {"region": region, "category": category, "urgency": urgency, "channel": channel, "description": {"text": description}}
    if subject:
        body["subject_organisation"] = subject
    _print_desk_answer(node_url, token, "POST", "/v1/reports", body=body)


@reports_app.command("list")
def reports_list(region: Optional[str] = typer.Option(None, help="Open reports held within this region (default: yours)"), token: str = TOKEN_OPTION,
                 node_url: Optional[str] = NODE_OPTION) -> None:
    """The open reports your desk can see, oldest first."""
    _print_desk_answer(node_url, token, "GET", "/v1/reports", params={"region": region} if region else None)


@reports_app.command("step")
def reports_step(
    report_id: str = typer.Argument(..., help="The report id"),
    step: str = typer.Argument(..., help="acknowledge, start, resolve, refer or outreach"),
    body: str = typer.Option("{}", "--json", help="The step's JSON body (see docs/reports.md)"),
    token: str = TOKEN_OPTION,
    node_url: Optional[str] = NODE_OPTION,
) -> None:
    """Take one step on a report your desk holds."""
    if step not in REPORT_STEPS:
        fail(f"unknown step {step!r}; one of: {', '.join(REPORT_STEPS)}")
    try:
        payload = json.loads(body)
    except ValueError as error:
        fail(f"--json is not JSON: {error}")
    _print_desk_answer(node_url, token, "POST", f"/v1/reports/{report_id}/{step}", body=payload)


@reports_app.command("show")
def reports_show(directory: Path = typer.Argument(..., help="Chain folder (read-only: the node may be running)"),
                 report_id: str = typer.Argument(..., help="The report id")) -> None:
    """What the reporter sees: where a report is held, its deadline and history (no personal data)."""
    from reliefledger.node.reports import get_public_view

    view = _read_store(directory, lambda store: get_public_view(store, report_id))
    if view is None:
        fail(f"no report {report_id!r} on this chain")
    console.print_json(data=view)


@reports_app.command("overview")
def reports_overview(
    directory: Path = typer.Argument(..., help="Chain folder (read-only: the node may be running)"),
    level: str = typer.Option("county", help="national, province, city or county"),
    region: str = typer.Option("000000", help="Only regions within this one"),
    file_format: str = typer.Option("table", "--format", help="table, json, csv or parquet"),
    out: Optional[Path] = typer.Option(None, help="File for csv or parquet"),
) -> None:
    """Per region of a level: reports filed, open by age, escalations, time to acknowledge and resolve."""
    from reliefledger.node.reports import OVERVIEW_COLUMNS, get_overview, write_overview

    if file_format not in ("table", "json", "csv", "parquet"):
        fail("--format is table, json, csv or parquet")
    if file_format in ("csv", "parquet") and out is None:
        fail(f"--format {file_format} needs --out FILE")
    rows = _read_store(directory, lambda store: get_overview(store, level, max(read_clock_ms(), store.get_tip().time_ms), region))
    if file_format == "json":
        console.print_json(data=rows)
    elif file_format == "table":
        table = Table(*OVERVIEW_COLUMNS)
        for row in rows:
            table.add_row(*["" if row[name] is None else str(row[name]) for name in OVERVIEW_COLUMNS])
        console.print(table)
    else:
        try:
            write_overview(rows, out, file_format)
        except (LedgerInputError, OSError) as error:
            fail(str(error))
        console.print(f"[green]wrote[/] {len(rows)} rows to {out}")


@money_app.command("disburse")
def money_disburse(
    directory: Path = typer.Argument(..., help="Chain folder (its node must not be running: the run runs it)"),
    programme: str = typer.Option(..., help="The programme, e.g. dibao"),
    region: str = typer.Option(..., help="Pay the enrolled cases within this GB/T 2260 region"),
    month: str = typer.Option(..., help="The month paid, YYYY-MM"),
    wallet_budget: str = typer.Option(..., help="The programme's digital-currency (CNY-DC) budget account"),
    bank_budget: str = typer.Option(..., help="The programme's bank-money (CNY) budget account"),
    over_cap: str = typer.Option("split", help="When a wallet's cap is reached: split (fill it, the rest to the bank) or redirect (all to the bank)"),
    earmark_categories: str = typer.Option("", help="Earmark the awards: the merchant categories they may be spent at, comma-separated (never for dibao or tekun)"),
    earmark_until: str = typer.Option("", help="With --earmark-categories: the last day (YYYY-MM-DD, China time) the earmarked funds can be spent"),
    staff: str = typer.Option(..., help="Label of the finance officer the payments are signed by"),
    instructions: Path = typer.Option(Path("payment-instructions.csv"), help="Where to write the bank's payment instruction file"),
) -> None:
    """Pay what a programme's cases in a region are due for a month (never twice); write the bank's instructions."""
    from reliefledger.node.disbursement import RunSettings, parse_earmark_terms, run_disbursement

    try:
        earmark = parse_earmark_terms(earmark_categories, earmark_until)
    except LedgerInputError as error:
        fail(error.message)
    settings = RunSettings(programme, region, month, wallet_budget, bank_budget, over_cap, earmark)
    report = _run_with_node(directory, staff, lambda node, member: run_disbursement(node, member.key, settings, instruction_file=instructions))
    console.print_json(data={**report.to_json(), "recorded_transaction": report.recorded_transaction})
    if report.not_paid:
        errors.print(f"[yellow]{len(report.not_paid)} cases were not paid:[/] see not_paid above")


@money_app.command("reconcile")
def money_reconcile(
    directory: Path = typer.Argument(..., help="Chain folder (its node must not be running)"),
    statement: Path = typer.Argument(..., help="The bank's statement CSV: instruction_id, status (paid or returned), amount_fen, bank_reference, reason"),
    staff: str = typer.Option(..., help="Label of the finance officer the settlements are signed by"),
) -> None:
    """Post the payments the bank made and void the ones it returned; list the lines that match nothing."""
    from reliefledger.node.disbursement import reconcile_statement

    report = _run_with_node(directory, staff, lambda node, member: reconcile_statement(node, member.key, statement))
    console.print_json(data=report.to_json())
    if report.unmatched:
        errors.print(f"[yellow]{len(report.unmatched)} statement lines match no pending payment:[/] see unmatched above")


@money_app.command("settle-fees")
def money_settle_fees(
    directory: Path = typer.Argument(..., help="Chain folder (its node must not be running)"),
    requester: str = typer.Option(..., help="The organisation that asked the queries and pays for them"),
    month: str = typer.Option(..., help="The month settled, YYYY-MM (China time)"),
    payer_account: str = typer.Option(..., help="The requester's account the fees are paid from"),
    fee_fen: int = typer.Option(..., help="The fee for one answered query, in fen"),
    agency_account: list[str] = typer.Option([], help="AGENCY=ACCOUNT: an agency's fee account (repeat for each agency)"),
    asset: str = typer.Option("CNY-DC", help="The settlement asset (currency code): CNY-DC, CNY, or a permitted regulated stablecoin's code"),
    staff: str = typer.Option(..., help="Label of the requester's finance officer"),
) -> None:
    """Pay each agency for the queries it answered for the requester in a month (never twice)."""
    from reliefledger.node.service_fees import FeeSettings, settle_fees

    pairs = [item.split("=", 1) for item in agency_account]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        fail("--agency-account is AGENCY=ACCOUNT")
    settings = FeeSettings(requester, month, payer_account, fee_fen, dict(pairs), asset)
    report = _run_with_node(directory, staff, lambda node, member: settle_fees(node, member.key, settings))
    console.print_json(data=report.to_json())
    if report.not_paid:
        errors.print(f"[yellow]{len(report.not_paid)} agencies were not paid:[/] see not_paid above")


@money_app.command("budget-report")
def money_budget_report(
    directory: Path = typer.Argument(..., help="Chain folder (read-only: the node may be running)"),
    currency: str = typer.Option("CNY", help="The currency reported: CNY or CNY-DC"),
) -> None:
    """The budget flow level by level (received from above, sent below, paid to payees, reserved, held), reconciled."""
    from reliefledger.node.budget_flow import report_budget_flow

    report = _read_money_state(directory, lambda entries: report_budget_flow(entries, currency))
    console.print_json(data=report.to_json())
    if report.problems:
        raise typer.Exit(1)


@money_app.command("trace")
def money_trace(
    directory: Path = typer.Argument(..., help="Chain folder (read-only: the node may be running)"),
    transfer_id: str = typer.Argument(..., help="The transfer to trace, e.g. dibao.2026-03.a1.dibao.wallet"),
) -> None:
    """Trace a payment: what funded it up to the treasury, and where the money went after (wallet to merchants)."""
    from reliefledger.node.money_trace import trace_transfer

    trace = _read_money_state(directory, lambda entries: trace_transfer(entries, transfer_id))
    if trace is None:
        fail(f"no transfer {transfer_id!r} on this chain")
    console.print_json(data=trace)


def _read_store(directory: Path, job: Any) -> Any:
    """``job(store)`` over the chain's committed store, read-only (the node may be running)."""
    from reliefledger.store.block_store import BlockStore

    chain = ChainDirectory(directory)
    try:
        chain.read_genesis()
        store = BlockStore(chain.store_path, read_only=True)
    except LedgerInputError as error:
        fail(error.message)
    try:
        return job(store)
    except LedgerInputError as error:
        fail(error.message)
    finally:
        store.close()


def _read_money_state(directory: Path, job: Any) -> Any:
    """``job(entries)`` over the chain's committed money state, read-only (the node may be running)."""
    return _read_store(directory, lambda store: job(store.iterate_state_prefix("money/")))


def _run_with_node(directory: Path, staff: str, job: Any) -> Any:
    """Run ``job(node, member)`` on the chain's node in this process; a clear error and exit 1 on bad input."""
    from reliefledger.node.runtime import open_node
    from reliefledger.node.staff import StaffDirectory

    chain = ChainDirectory(directory)

    async def run() -> Any:
        member = StaffDirectory(chain).get(staff)
        async with open_node(chain) as node:
            return await job(node, member)

    try:
        return asyncio.run(run())
    except LedgerInputError as error:
        fail(error.message)


CASE_STEPS = ("authorisation", "visits", "means-test", "opinion", "notice", "objections", "decision", "refusal-notice", "benefit-changes")


def _get_node_url(chain: ChainDirectory) -> str:
    settings = chain.read_settings()
    return f"http://{settings.host}:{settings.port}"


def _print_desk_answer(node_url: str | None, token: str, method: str, path: str, *, params: dict | None = None, body: Any = None) -> None:
    try:
        with httpx.Client(base_url=node_url or "http://127.0.0.1:8000", timeout=60) as client:
            response = client.request(method, path, params=params, json=body, headers={"authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        fail(f"cannot reach the node at {node_url}: {error}")
    answer = response.json()
    if response.status_code >= 400:
        fail(f"{answer.get('code')}: {answer.get('message')} (HTTP {response.status_code})")
    console.print_json(data=answer)


from reliefledger.analytics.commands import analytics_app  # noqa: E402  (a sub-app in its own module)

app.add_typer(analytics_app, name="analytics")

from reliefledger.sim.commands import sim_app  # noqa: E402  (a sub-app in its own module)

app.add_typer(sim_app, name="sim")

from reliefledger.interop.commands import interop_app  # noqa: E402  (a sub-app in its own module)

app.add_typer(interop_app, name="interop")


def main() -> None:
    """Entry point for ``python -m reliefledger``."""
    app()


if __name__ == "__main__":
    main()

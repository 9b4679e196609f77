"""The interim demo behind ``make demo``: a local chain of a city's agencies, fed over HTTP.

Until the synthetic-city issue lands, the demo founds a chain of six agencies, starts the node
and its HTTP API, streams signed transactions into it with a progress bar (staff admitted with
roles by each agency, a governance vote admitting a charity federation, a revoked key whose next
transaction is refused), audits the whole chain, prints where to look, and keeps serving.
"""

import asyncio
from pathlib import Path
from typing import Any, Callable

import httpx
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.api import create_app
from reliefledger.node.directory import DEFAULT_ORGANISATIONS, ChainDirectory, initialise_directory
from reliefledger.node.keys import KeyFile, generate_key
from reliefledger.node.runtime import open_node, read_clock_ms, start_server, stop_server_on_signals
from reliefledger.node.settings import NodeSettings
from reliefledger.store.audit import audit_store
from reliefledger.store.block_store import BlockStore

IN_FLIGHT_MAX = 64
"""Concurrent HTTP submissions."""
STAFF_ROLES = (["caseworker"], ["approver"], ["auditor"], ["data_officer"])


async def run_demo(root: Path, *, transactions: int, port: int, serve_seconds: float, console: Console,
                   extend_app: Callable[[Any, Any], None] | None = None) -> None:
    """Found the chain, serve it (with the dashboard when ``extend_app`` adds it), stream
    transactions, audit, and keep serving."""
    directory = initialise_directory(
        root, suite_name="ed25519-sha256", organisation_ids=list(DEFAULT_ORGANISATIONS),
        region="110000", chain_id="reliefledger-demo", time_ms=read_clock_ms(), settings=NodeSettings(port=port),
    )
    console.print(f"[green]founded[/] chain reliefledger-demo with {len(DEFAULT_ORGANISATIONS)} agencies in {root}")
    async with open_node(directory) as node:
        app = create_app(node)
        if extend_app is not None:
            extend_app(app, node)
        server, serving = await start_server(app, host="127.0.0.1", port=port)
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            counts = await stream_transactions(client, directory, transactions, console)
        report = audit_chain(directory)
        print_summary(console, node.get_status(), counts, report, base_url)
        await keep_serving(server, serving, serve_seconds, console)


async def stream_transactions(client: httpx.AsyncClient, directory: ChainDirectory, count: int, console: Console) -> dict[str, int]:
    """Submit ``count`` staff admissions, a governance vote and a revocation; wait for all."""
    keys = {organisation: directory.read_organisation_key(organisation) for organisation in DEFAULT_ORGANISATIONS}
    counts = {"accepted": 0, "committed": 0, "rejected": 0, "refused_at_edge": 0}
    staff: list[tuple[str, KeyFile]] = []
    envelopes = []
    for index in range(count):
        organisation = DEFAULT_ORGANISATIONS[index % len(DEFAULT_ORGANISATIONS)]
        member = generate_key(keys[organisation].suite, organisation)
        staff.append((organisation, member))
        args = {"public_key": member.public_key, "roles": STAFF_ROLES[index % len(STAFF_ROLES)]}
        envelopes.append(sign(keys[organisation], directory, "admit_member", args, f"staff-{index}"))
    semaphore = asyncio.Semaphore(IN_FLIGHT_MAX)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("submitting and committing", total=len(envelopes))

        async def submit(envelope: Envelope) -> None:
            async with semaphore:
                response = await client.post("/v1/transactions", content=envelope.encoded)
                counts["accepted" if response.status_code == 202 else "refused_at_edge"] += 1
                final = await client.get(f"/v1/transactions/{envelope.id.hex()}", params={"wait": 20})
                counts[final.json().get("status", "rejected")] += 1
                progress.advance(task)

        await asyncio.gather(*(submit(envelope) for envelope in envelopes))
    await run_governance(client, directory, keys, counts, console)
    return counts


async def run_governance(client: httpx.AsyncClient, directory: ChainDirectory, keys: dict[str, KeyFile], counts: dict[str, int], console: Console) -> None:
    """A majority of founders admits a charity federation; a revoked key is then refused."""
    charity_admin = generate_key(keys["civil-affairs"].suite, "charity-federation")
    change = {"kind": "admit_organisation", "founding": False, "organisation": {
        "admin_key": charity_admin.public_key, "id": "charity-federation", "kind": "social_organisation",
        "name": "慈善协会 Charity Federation", "region": "110000"}}
    voters = list(DEFAULT_ORGANISATIONS)[: len(DEFAULT_ORGANISATIONS) // 2 + 1]
    await submit_and_wait(client, sign(keys[voters[0]], directory, "propose", {"proposal_id": "admit-charity", "change": change}, "propose"))
    for voter in voters[1:]:
        answer = await submit_and_wait(client, sign(keys[voter], directory, "vote", {"proposal_id": "admit-charity"}, f"vote-{voter}"))
        console.print(f"  {voter} voted to admit the charity federation: {answer.get('result')}")
    clerk = generate_key(keys["tax"].suite, "tax")
    await submit_and_wait(client, sign(keys["tax"], directory, "admit_member", {"public_key": clerk.public_key, "roles": ["admin"]}, "clerk"))
    await submit_and_wait(client, sign(keys["tax"], directory, "revoke_member", {"public_key": clerk.public_key}, "revoke-clerk"))
    refused = await client.post("/v1/transactions", content=sign(clerk, directory, "admit_member", {"public_key": charity_admin.public_key, "roles": ["admin"]}, "after-revoke").encoded)
    console.print(f"  a revoked key tried to sign: HTTP {refused.status_code} {refused.json()['code']}")
    counts["refused_at_edge"] += 1


async def submit_and_wait(client: httpx.AsyncClient, envelope: Envelope) -> dict:
    """Submit one envelope and long-poll its final status."""
    await client.post("/v1/transactions", content=envelope.encoded)
    return (await client.get(f"/v1/transactions/{envelope.id.hex()}", params={"wait": 20})).json()


def sign(key: KeyFile, directory: ChainDirectory, action: str, args: dict, nonce: str) -> Envelope:
    """Sign a membership action for the demo chain, valid for an hour."""
    body = TransactionBody("reliefledger-demo", "membership", action, args, key.public_key, nonce, read_clock_ms() + 3_600_000)
    return sign_transaction(key.suite, key.seed, body)


def audit_chain(directory: ChainDirectory) -> dict:
    """Audit the store through a second, read-only connection."""
    store = BlockStore(directory.store_path, read_only=True)
    try:
        return audit_store(store).to_json()
    finally:
        store.close()


def print_summary(console: Console, status: dict, counts: dict[str, int], report: dict, base_url: str) -> None:
    """What happened, and where to look."""
    table = Table(title="ReliefLedger demo chain")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for name, value in [("height", status["height"]), ("last block", status["last_block_hash"]), ("state digest", status["state_digest"]),
                        *counts.items(), ("offline audit", "sound" if report["sound"] else f"NOT SOUND: {report['reason']}")]:
        table.add_row(str(name), str(value))
    console.print(table)
    console.print(f"look at: {base_url}/ (dashboard)  {base_url}/ledger  {base_url}/docs (API)  {base_url}/v1/status", highlight=False)


async def keep_serving(server: uvicorn.Server, serving: asyncio.Task, serve_seconds: float, console: Console) -> None:
    """Serve until Ctrl+C (or for ``serve_seconds`` when it is not negative)."""
    stop_server_on_signals(server)
    if serve_seconds >= 0:
        asyncio.get_running_loop().call_later(serve_seconds, lambda: setattr(server, "should_exit", True))
    else:
        console.print("serving; press Ctrl+C to stop")
    await serving

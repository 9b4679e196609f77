"""Opening a node's desk: its vault, the network key, its staff, and the casework endpoints."""

import contextlib
from typing import Callable, Iterator

from fastapi import APIRouter

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import TransactionBody, sign_transaction
from reliefledger.node.casework import Casework
from reliefledger.node.casework_api import create_casework_router
from reliefledger.node.relief_api import create_relief_router
from reliefledger.node.reports_api import create_reports_router
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.means_test import AgencyClient, AgencyPlan
from reliefledger.node.keys import generate_key
from reliefledger.node.peer import Node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.store.vault import Vault
from reliefledger.store.vault_keys import read_secret_key


@contextlib.contextmanager
def open_desk(directory: ChainDirectory, node: Node, settings: NodeSettings, *, clock_ms: Callable[[], int]) -> Iterator[Casework | None]:
    """The casework service over the node's vault (created on first use); None without the keys."""
    if not directory.vault_key_path.exists() or not directory.network_key_path.exists():
        yield None
        return
    master_key = read_secret_key(directory.vault_key_path)
    if directory.vault_path.exists():
        vault = Vault.open(directory.vault_path, master_key=master_key, clock_ms=clock_ms)
    else:
        vault = Vault.create(directory.vault_path, suite_name=node.suite.name, master_key=master_key, clock_ms=clock_ms)
    organisation = settings.organisation or node.genesis.organisations[0].id
    try:
        yield Casework(node=node, vault=vault, network_key=read_secret_key(directory.network_key_path), organisation=organisation)
    finally:
        vault.close()


def create_desk_router(directory: ChainDirectory, casework: Casework | None, means_test_plan: list[tuple[AgencyPlan, AgencyClient]] | None = None) -> APIRouter | None:
    """The casework endpoints, when the node has a desk."""
    if casework is None:
        return None
    staff = StaffDirectory(directory)
    router = create_casework_router(casework, staff, means_test_plan)
    router.include_router(create_reports_router(casework, staff))
    router.include_router(create_relief_router(casework, staff))
    return router


async def admit_staff(directory: ChainDirectory, node: Node, *, organisation: str, label: str, roles: list[str], region: str) -> str:
    """Create a staff key, have the organisation's admin admit it on the ledger, and return its API token."""
    admin = directory.read_organisation_key(organisation)
    member = generate_key(admin.suite, label)
    body = TransactionBody(node.genesis.chain_id, "membership", "admit_member", {"public_key": member.public_key, "roles": roles, "region": region},
                           admin.public_key, f"admit-{label}", max(node.clock_ms(), node.tip.time_ms) + 600_000)
    envelope = sign_transaction(admin.suite, admin.seed, body)
    code, reason = node.preview(envelope)
    if code is not ResultCode.OK:
        raise LedgerInputError(f"admitting {label} was refused: {reason}", code=code.label)
    await node.submit(envelope.encoded)
    status = await node.wait_for_final_status(envelope.id, 30)
    if status is None or status["status"] != "committed":
        raise LedgerInputError(f"admitting {label} did not commit: {status}", code="not_committed")
    return StaffDirectory(directory).add(label, member)

"""A small city on a node serving the standards over real HTTP, and a partner system with its own
callback server: what the interoperability tests run against."""

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
from fastapi import FastAPI

from interop_support import Partner, SpecChecker
from reliefledger.interop.service import Registries, open_interop
from reliefledger.interop.settings import write_civil_registration, write_client
from reliefledger.node.casework import Casework
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import ChainDirectory, initialise_directory
from reliefledger.node.peer import Node
from reliefledger.node.runtime import open_node, read_clock_ms, start_server
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim import generate_population
from reliefledger.sim.agency_records import AGENCY_RESOURCES
from reliefledger.sim.civil_registry import CivilRegistryService, Subscriber
from reliefledger.sim.data_sharing import prepare_city, write_agency_data
from reliefledger.sim.records import Population

@dataclass
class ShiftedClock:
    """The clock of a world: real time plus an offset a test moves forward (a notice's seven days)."""

    offset_ms: int = 0

    def __call__(self) -> int:
        return read_clock_ms() + self.offset_ms


FIELDS = ["household_id", "region", "status", "members_count", "programmes", "person_id", "alive"]
"""What the test partner is onboarded for: not the head's pseudonym, not whether a death is recorded."""


@dataclass
class World:
    node: Node
    casework: Casework
    population: Population
    partner: Partner
    registries: Registries
    http: httpx.AsyncClient
    url: str
    secret: str
    social: SpecChecker
    partner_side: SpecChecker
    authz: SpecChecker
    jwks_checker: SpecChecker
    root: Path
    ibr: SpecChecker
    ibr_partner_side: SpecChecker
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    crvs: CivilRegistryService | None = None
    g2p_secret: str = ""
    """The secret of the G2P client ``g2p`` (sender ``g2p.example``), onboarded when the world is built with ``g2p=True``."""
    secrets_by_client: dict[str, str] = field(default_factory=dict)
    """Secrets of the other clients the world onboarded (with ``civil_registry``: ``crvs-other``, the partner's keys, scope crvs.notify)."""

    async def token(self, scope: str | None = None, secret: str | None = None) -> httpx.Response:
        form = {"grant_type": "client_credentials", "client_id": "spmis", "client_secret": secret or self.secret, **({"scope": scope} if scope else {})}
        return await self.http.post(f"{self.url}/oauth2/client/token", data=form, headers={"timestamp": "Mon, 30 Nov 2026 00:00:00 GMT"})

    async def bearer(self, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {(await self.token(scope)).json()['access_token']}"}

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None, check: bool = True, valid: bool = True,
                   registry: str = "social") -> httpx.Response:
        """POST to a registry (with a full bearer unless ``headers`` are given); validate the
        exchange (only the response when the request is ``valid=False`` on purpose)."""
        response = await self.http.post(f"{self.url}/dci/{registry}{path}", json=body, headers=headers if headers is not None else await self.bearer())
        if check:
            (self.social if registry == "social" else self.ibr).check_exchange(response, request_valid=valid)
        return response


G2P_SENDER = "g2p.example"
G2P_BUDGET = "g2p-budget"
G2P_ORGANISATIONS = ["central-bank"]
"""With ``g2p=True``: the digital currency's issuer joins the city (the operator bank is an agency already)."""


async def run_world(tmp_path: Path, scenario: Callable[[World], Awaitable[Any]], households: int = 24, g2p: bool = False, *, civil_registry: bool = False,
                    prepare: Callable[[ChainDirectory, Node, Casework, Population, ShiftedClock], Awaitable[Any]] | None = None) -> Any:
    """Build the world, run ``scenario`` in it, tear it down; answer what the scenario answers.
    ``prepare`` runs on the city before the standards are served (it may move the clock);
    ``civil_registry`` adds the simulated civil registry, onboarded and named in interop.toml.
    With ``g2p``, also a G2P Connect client ``g2p`` (the same partner's keys and server, sender
    ``g2p.example``) for the mapper and disbursement, bound to the budget ``g2p-budget``, and a
    ``disburser`` (a civil-affairs finance officer) who signs its transfers."""
    population = generate_population(seed=31, households=households)
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs", *AGENCY_RESOURCES, *(G2P_ORGANISATIONS if g2p else [])], region="110000",
                                     chain_id="interop", time_ms=read_clock_ms() - 60_000, settings=NodeSettings(block_wait_ms_max=2))
    write_agency_data(population, directory.root, agency_urls="http://127.0.0.1:1")
    partner, clock = Partner(), ShiftedClock()
    async with open_node(directory, clock_ms=clock) as node, httpx.AsyncClient(timeout=20.0) as http:
        with open_desk(directory, node, directory.read_settings(), clock_ms=clock) as casework:
            await prepare_city(directory, node, casework, population, applies=lambda index, household: index % 2 == 0)
            await admit_staff(directory, node, organisation="civil-affairs", label="interop", roles=["data_officer"], region="110000")
            if prepare is not None:
                await prepare(directory, node, casework, population, clock)
            servers = []
            partner_server, partner_task = await start_server(partner.build_app(), host="127.0.0.1", port=0)
            servers.append((partner_server, partner_task))
            partner_port = partner_server.servers[0].sockets[0].getsockname()[1]  # port 0: the system chose one
            partner.base_url = f"http://127.0.0.1:{partner_port}"
            secret = write_client(directory.root, client_id="spmis", sender_id=partner.sender_id, callback_uri=f"{partner.base_url}/dci",
                                  scopes=["registry.search", "registry.subscribe", "registry.txn-status", "registry.enrolled", "registry.enrollment-updates"], fields=FIELDS,
                                  jwks_uri=f"{partner.base_url}/.well-known/jwks.json", callback_token="partner-issued-token", node_sender_id="reliefledger.test")
            g2p_secret, disburser, others = "", None, {}
            if g2p:
                await admit_staff(directory, node, organisation="civil-affairs", label="disburser", roles=["finance_officer"], region="110000")
                disburser = StaffDirectory(directory).get("disburser")
                g2p_secret = write_client(directory.root, client_id="g2p", sender_id=G2P_SENDER, callback_uri=f"{partner.base_url}/dci",
                                          scopes=["mapper.link", "mapper.resolve", "disburse.disburse"], fields=[], budget_account=G2P_BUDGET,
                                          jwks_uri=f"{partner.base_url}/.well-known/jwks.json", callback_token="partner-issued-token")
                others["g2p-2"] = write_client(directory.root, client_id="g2p-2", sender_id="g2p2.example", callback_uri=f"{partner.base_url}/dci",
                                               scopes=["mapper.link"], fields=[], jwks_uri=f"{partner.base_url}/.well-known/jwks.json")
            app = FastAPI()  # served before the standards are mounted on it: its address goes into interop.toml (port 0: no race for a port)
            server, task = await start_server(app, host="127.0.0.1", port=0)
            servers.append((server, task))
            url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
            crvs, registrar = None, None
            if civil_registry:
                crvs = CivilRegistryService(clock_ms=clock)
                crvs_server, crvs_task = await start_server(crvs.build_app(), host="127.0.0.1", port=0)
                servers.append((crvs_server, crvs_task))
                crvs_url = f"http://127.0.0.1:{crvs_server.servers[0].sockets[0].getsockname()[1]}"
                crvs_secret = write_client(directory.root, client_id="crvs", sender_id=crvs.sender_id, callback_uri=crvs_url, scopes=["crvs.notify"], fields=[],
                                           jwks_uri=f"{crvs_url}/.well-known/jwks.json", callback_token=crvs.issued_token)
                write_civil_registration(directory.root, client_id="crvs", registrar="registrar", public_uri=f"{url}/dci/crvs")
                others["crvs-other"] = write_client(directory.root, client_id="crvs-other", sender_id="crvs-other.example", callback_uri=partner.base_url,
                                                    scopes=["crvs.notify"], fields=[], jwks_uri=f"{partner.base_url}/.well-known/jwks.json")
                crvs.subscriber = Subscriber("reliefledger.test", f"{url}/.well-known/jwks.json", f"{url}/oauth2/client/token", "crvs", crvs_secret)
                await admit_staff(directory, node, organisation="civil-affairs", label="registrar", roles=["caseworker"], region="110000")
                registrar = StaffDirectory(directory).get("registrar")
            try:
                async with open_interop(directory.root, casework, StaffDirectory(directory).get("interop"), app, notify_every_s=3600,
                                        retry_delays_s=(0.05,), registrar=registrar, subscribe_every_s=0.2, disburser=disburser) as registries:
                    world = World(node, casework, population, partner, registries, http, url, secret, SpecChecker("social", "/dci/social"),
                                  SpecChecker("social", "/"), SpecChecker("authz", "/"), SpecChecker("jwks", "/"), directory.root,
                                  SpecChecker("ibr", "/dci/ibr"), SpecChecker("ibr", "/"), clock, crvs, g2p_secret, others)
                    return await scenario(world)
            finally:
                for running, serving in reversed(servers):
                    running.should_exit = True
                    with contextlib.suppress(asyncio.CancelledError):
                        await serving
                if crvs is not None:
                    await crvs.close()


def new_id() -> str:
    return secrets.token_hex(6)

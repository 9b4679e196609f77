"""The demo's civil registry: the simulated CRVS service served beside the city, onboarded on the
node, and one registered death shown end to end.

``start_demo_civil_registry`` serves ``CivilRegistryService`` on a free port of the loopback,
onboards it (``civil-registry``, scope ``crvs.notify``), names it in ``interop.toml`` with the
``registrar`` (a caseworker of the city) and writes, in ``DIR/interop-demo/``, the registry's
address and two example events for curl (docs/interop.md): ``birth.json``, a child born to a member
of an enrolled household, and ``death.json``, the death of a member of another. ``show_a_death``
registers that death once the node's subscription is confirmed and says what became of it.
"""

import asyncio
import datetime
import json
import random
from dataclasses import dataclass
from typing import Any, Callable

from reliefledger.interop.service import Registries
from reliefledger.interop.settings import write_civil_registration, write_client
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.node.casework import Casework
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.runtime import start_server
from reliefledger.sim.civil_registry import CivilRegistryService, Subscriber
from reliefledger.sim.demo_partner import FOLDER, NODE_SENDER_ID
from reliefledger.sim.records import Population
from reliefledger.sim.resident_ids import issue_id_number

CLIENT_ID = "civil-registry"
REGISTRAR = "registrar"


@dataclass
class DemoCivilRegistry:
    """The running service and what the demo shows with it."""

    service: CivilRegistryService
    url: str
    server: Any
    serving: Any
    death: dict[str, Any] | None
    """The example death (``death.json``), or None in a city with no suitable household."""

    async def close(self) -> None:
        self.server.should_exit = True
        try:
            await self.serving
        except asyncio.CancelledError:
            pass
        await self.service.close()


async def start_demo_civil_registry(directory: ChainDirectory, casework: Casework, population: Population, port: int, region: str,
                                    clock_ms: Callable[[], int]) -> DemoCivilRegistry:
    """Serve the civil registry, onboard it, write the example events (before the node serves the standards)."""
    await admit_staff(directory, casework.node, organisation="civil-affairs", label=REGISTRAR, roles=["caseworker"], region=region)
    service = CivilRegistryService(clock_ms=clock_ms)
    server, serving = await start_server(service.build_app(), host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    node = f"http://127.0.0.1:{port}"
    secret = write_client(directory.root, client_id=CLIENT_ID, sender_id=service.sender_id, callback_uri=url, scopes=["crvs.notify"], fields=[],
                          jwks_uri=f"{url}/.well-known/jwks.json", callback_token=service.issued_token, node_sender_id=NODE_SENDER_ID)
    write_civil_registration(directory.root, client_id=CLIENT_ID, registrar=REGISTRAR, public_uri=f"{node}/dci/crvs")
    service.subscriber = Subscriber(NODE_SENDER_ID, f"{node}/.well-known/jwks.json", f"{node}/oauth2/client/token", CLIENT_ID, secret)
    folder = directory.root / FOLDER
    folder.mkdir(exist_ok=True)
    (folder / "civil-registry-url").write_text(url + "\n")
    households = _pick_enrolled_households(casework, population)
    death = None
    if households:
        parent = households[0].members[0]
        rng = random.Random(households[0].number)
        today = datetime.date.fromtimestamp(clock_ms() / 1000)
        child = issue_id_number(rng, households[0].township[:6], today, "female", {member.id_number for member in households[0].members})
        birth = {"event": "birth", "id_number": child, "name": "新生儿", "sex": "female", "birth_date": today.isoformat(), "parent_id_numbers": [parent.id_number]}
        (folder / "birth.json").write_text(json.dumps(birth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if len(households) > 1:
        death = {"event": "death", "id_number": households[1].members[-1].id_number, "death_date": datetime.date.fromtimestamp(clock_ms() / 1000).isoformat()}
        (folder / "death.json").write_text(json.dumps(death, indent=1) + "\n", encoding="utf-8")
    return DemoCivilRegistry(service, url, server, serving, death)


async def show_a_death(registry: DemoCivilRegistry, registries: Registries | None, timeout_s: float = 30.0) -> str:
    """Once the node's subscriptions are confirmed, register the example death; answer what the
    node made of it (a line for the console)."""
    civil = registries.civil if registries is not None else None
    if civil is None or registry.death is None:
        return "no civil registry example in this city"
    deadline = asyncio.get_running_loop().time() + timeout_s
    while {item["event_type"] for item in civil.log.list_subscriptions() if item["status"] == "subscribe"} != {"Death", "LiveBirth"}:
        if asyncio.get_running_loop().time() > deadline:
            return "the node's subscription to the civil registry is not confirmed yet"
        await asyncio.sleep(0.2)
    event = await registry.service.register_death(registry.death["id_number"], registry.death["death_date"])
    applied = civil.log.find_event(registry.service.sender_id, event["reference_id"])
    return f"a death registered at the civil registry reached the node: {applied['outcome'] if applied else 'not applied'}"


def _pick_enrolled_households(casework: Casework, population: Population) -> list[Any]:
    """Households of the city enrolled in dibao with two members or more (one survives a death), in a stable order."""
    store = casework.node.store
    enrolled = {case["household"] for _, case in store.iterate_state_prefix("assistance/case/") if case["status"] == "enrolled" and case["programme"] == "dibao"}
    picked = []
    for household in population.households:
        holder = compute_household_pseudonym(casework.node.suite, casework.network_key, household.number)
        record = store.get(get_household_key(holder))
        if holder in enrolled and record is not None and len(record["members"]) >= 2:
            picked.append(household)
        if len(picked) == 2:
            break
    return picked


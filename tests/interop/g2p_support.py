"""Helpers of the G2P Connect tests: the G2P partner (the world's partner under the sender id
``g2p.example``), its exchanges validated with openapi-core against the mapper and disburse
specifications, and money on the ledger for it to move."""

import dataclasses
from dataclasses import dataclass
from typing import Any

import httpx

from interop_support import Partner, SpecChecker
from reliefledger.ledger.pseudonyms import compute_household_pseudonym
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.staff import StaffDirectory
from reliefledger.wallet_files import read_wallet_classes
from world import G2P_BUDGET, G2P_SENDER, World

BUDGET_FEN = 1_000_000
LIMITED = ["debits_must_not_exceed_credits"]


@dataclass
class G2P:
    """The G2P partner of a world, and validators of both sides of its exchanges."""

    world: World
    partner: Partner
    checkers: dict[str, SpecChecker]
    """``mapper`` and ``disburse`` as served at ``/g2p``; ``mapper-partner``, ``disburse-partner`` for callbacks."""
    client_id: str = "g2p"
    secret: str = ""

    @classmethod
    def of(cls, world: World, client_id: str = "g2p") -> "G2P":
        """The world's G2P client (``g2p``), or its second one (``g2p-2``: another system, scope mapper.link only)."""
        sender = G2P_SENDER if client_id == "g2p" else "g2p2.example"
        partner = dataclasses.replace(world.partner, sender_id=sender)  # the same key, server and inbox
        checkers = {spec: SpecChecker(spec, "/g2p") for spec in ("mapper", "disburse")}
        checkers.update({f"{spec}-partner": SpecChecker(spec, "/") for spec in ("mapper", "disburse")})
        return cls(world, partner, checkers, client_id, world.g2p_secret if client_id == "g2p" else world.secrets_by_client[client_id])

    async def bearer(self, scope: str | None = None) -> dict[str, str]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret, **({"scope": scope} if scope else {})}
        token = await self.world.http.post(f"{self.world.url}/oauth2/client/token", data=form)
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    async def post(self, spec: str, path: str, body: Any, headers: dict[str, str] | None = None, valid: bool = True) -> httpx.Response:
        """POST to ``/g2p<path>`` (with a full bearer unless ``headers`` are given); validate the
        exchange against ``spec`` (only the response when the request is invalid on purpose)."""
        response = await self.world.http.post(f"{self.world.url}/g2p{path}", json=body, headers=headers if headers is not None else await self.bearer())
        self.checkers[spec].check_exchange(response, request_valid=valid)
        return response

    async def callback(self, spec: str, path: str, count: int = 1) -> dict[str, Any]:
        """The ``count``-th callback to ``path``, validated as a request of the partner's side."""
        body, headers = (await self.partner.wait_for(path, count))[-1]
        self.checkers[f"{spec}-partner"].check_callback(path, body, headers)
        return body


@dataclass(frozen=True)
class Money:
    """Accounts for the G2P tests: the budget and four households' ways of being paid."""

    households: list[Any]
    """The population's first four households: 0 has a wallet and a bank account, 1 a wallet
    capped at 2,000 yuan (2020 class 3), 2 only a bank account (bank money), 3 none."""
    pseudonyms: list[str]


async def open_money(world: World) -> Money:
    """Issue digital currency into the G2P budget; open the households' accounts at the operator bank."""
    directory = ChainDirectory(world.root)
    for organisation, label in (("central-bank", "central"), ("operator-bank", "bank")):
        await admit_staff(directory, world.node, organisation=organisation, label=label, roles=["finance_officer"], region="110000")
    staff = StaffDirectory(directory)
    central, bank, disburser = staff.get("central"), staff.get("bank"), staff.get("disburser")
    households = world.population.households[:4]
    pseudonyms = [compute_household_pseudonym(world.node.suite, world.casework.network_key, household.number) for household in households]
    steps = [
        (central, "publish_wallet_classes", read_wallet_classes()),
        (central, "create_account", {"account_id": "issuance", "kind": "central_bank", "currency": "CNY-DC"}),
        (disburser, "create_account", {"account_id": G2P_BUDGET, "kind": "programme_budget", "currency": "CNY-DC", "flags": LIMITED}),
        (central, "create_transfers", {"transfers": [{"transfer_id": "fund-g2p", "code": 1, "debit_account_id": "issuance", "credit_account_id": G2P_BUDGET,
                                                       "amount": BUDGET_FEN}]}),
        (bank, "create_account", {"account_id": "w0", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2021-upgraded", "holder": pseudonyms[0],
                                  "flags": LIMITED}),
        (bank, "create_account", {"account_id": "b0", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": pseudonyms[0], "flags": LIMITED}),
        (bank, "create_account", {"account_id": "w1", "kind": "beneficiary_wallet", "currency": "CNY-DC", "wallet_class": "2020-class-3", "holder": pseudonyms[1],
                                  "flags": LIMITED}),
        (bank, "create_account", {"account_id": "b2", "kind": "beneficiary_bank_account", "currency": "CNY", "holder": pseudonyms[2], "flags": LIMITED}),
    ]
    for member, action, args in steps:
        await world.casework.submit(member, "money", action, args)
    return Money(households, pseudonyms)


def get_balance(world: World, account_id: str) -> int:
    """Posted credits less posted debits of an account, in fen."""
    account = world.node.store.get(f"money/account/{account_id}")
    return account["credits_posted"] - account["debits_posted"]


def nid(person: Any) -> str:
    """A person's beneficiary id as G2P Connect writes it."""
    return f"nid:{person.id_number}@cn-resident-id"

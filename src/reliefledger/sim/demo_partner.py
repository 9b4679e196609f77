"""The demo's partner system, so the standards can be tried with curl against ``make demo``.

The demo onboards ``demo-partner`` (a programme-management system, say): its signing key and its
client secret go into ``DIR/interop-demo/`` with example envelopes, and its callback endpoint —
an inbox that keeps the last hundred callbacks — is served by the demo itself at
``/demo-partner/dci/…``, readable at ``GET /demo-partner/inbox``. docs/interop.md walks through it.

The same client speaks G2P Connect too (one key, one secret, one token for the whole walk-through):
scopes ``mapper.link``, ``mapper.resolve`` and ``disburse.disburse``, bound to the city's
digital-currency dibao budget; its transfers are signed by the city's finance officer
(``disburser = "finance"`` in ``interop.toml``). Its G2P examples name a real person of the city
whose household holds a wallet: ``resolve.json``, ``link.json`` and ``disburse.json`` (ten yuan).
"""

import collections
import datetime
import json
import os
import secrets
from pathlib import Path
from typing import Any

import nacl.signing
from fastapi import FastAPI, Request

from reliefledger.interop.financial_addresses import find_person, format_address, list_own_accounts
from reliefledger.interop.registry_search import LedgerReader
from reliefledger.interop.settings import RECORD_FIELDS, write_client, write_disburser
from reliefledger.interop.signatures import SigningKey, to_jwk
from reliefledger.ledger.contracts.money_keys import get_account_key
from reliefledger.node.casework import Casework
from reliefledger.node.desk import admit_staff
from reliefledger.node.directory import ChainDirectory
from reliefledger.sim.records import Population

FOLDER = "interop-demo"
CLIENT_ID = SENDER_ID = "demo-partner"
NODE_SENDER_ID = "reliefledger.demo"
SCOPES = ["registry.search", "registry.subscribe", "registry.txn-status", "registry.enrolled", "mapper.link", "mapper.resolve", "disburse.disburse"]
DISBURSER = "finance"
"""The staff member who signs the G2P disbursements: the city's finance officer of civil-affairs."""
PAYMENT = "10.00"
"""The example disbursement, in yuan: far below the wallet's limits and the budget."""
FIELDS = [field for field in RECORD_FIELDS if field not in ("head_id",)]


async def onboard_demo_partner(directory: ChainDirectory, casework: Casework, population: Population, port: int, region: str, budget_account: str) -> Path:
    """Admit the service's recorder, onboard the demo partner (paying from ``budget_account``),
    write its files; answer the folder."""
    await admit_staff(directory, casework.node, organisation="civil-affairs", label="interop", roles=["data_officer"], region=region)
    folder = directory.root / FOLDER
    folder.mkdir(exist_ok=True)
    key = SigningKey(f"key-{secrets.token_hex(4)}", nacl.signing.SigningKey.generate().encode())
    _write_private(folder / "partner-key.json", json.dumps({"kid": key.kid, "seed": key.seed.hex(), "sender_id": SENDER_ID}))
    secret = write_client(directory.root, client_id=CLIENT_ID, sender_id=SENDER_ID, callback_uri=f"http://127.0.0.1:{port}/demo-partner/dci", scopes=SCOPES,
                          fields=FIELDS, jwks={"keys": [to_jwk(key.kid, key.public_key)]}, node_sender_id=NODE_SENDER_ID, budget_account=budget_account)
    write_disburser(directory.root, DISBURSER)
    _write_private(folder / "client-secret", secret)
    budget = casework.node.store.get(get_account_key(budget_account))
    payee = _pick_wallet_holder(casework, population)
    g2p = _g2p_examples(format_address(budget), *payee) if budget is not None and payee is not None else []
    for name, action, message in _examples() + g2p:
        envelope = {"header": {"version": "1.0.0", "message_id": "set-by-sign", "message_ts": "set-by-sign", "action": action, "sender_id": SENDER_ID,
                               "receiver_id": NODE_SENDER_ID, "total_count": 1, "is_msg_encrypted": False}, "message": message}
        (folder / name).write_text(json.dumps(envelope, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def mount_demo_inbox(app: FastAPI) -> None:
    """The demo partner's callback endpoint and a page to read what arrived."""
    inbox: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)

    @app.post("/demo-partner/dci/{path:path}", include_in_schema=False)
    async def receive(path: str, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            body = None
        inbox.append({"path": "/" + path, "body": body})
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"message": {"ack_status": "ACK", "timestamp": now, "correlation_id": secrets.token_hex(8)}}

    @app.get("/demo-partner/inbox", tags=["Demo partner"], summary="The callbacks the demo's partner system received, newest last")
    async def read_inbox() -> Any:
        return list(inbox)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _examples() -> list[tuple[str, str, dict[str, Any]]]:
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    enrolled_in_district = {"type": "ns:org:QueryType:expression", "value": {"expression": {"collection": "Group", "query": {
        "$and": [{"region": {"$eq": "110105"}}, {"enrolled": {"$eq": True}}]}}}}
    search = {"transaction_id": "demo-search-1", "search_request": [{"reference_id": "r1", "timestamp": today, "search_criteria": {
        "query_type": "expression", "query": enrolled_in_district, "sort": [{"attribute_name": "household_id", "sort_order": "asc"}],
        "pagination": {"page_size": 3, "page_number": 1}}}]}
    subscribe = {"transaction_id": "demo-subscribe-1", "subscribe_request": [{"reference_id": "s1", "timestamp": today, "subscribe_criteria": {
        "reg_event_type": "REGISTER", "filter_type": "expression", "notify_record_type": "Group", "filter": {
            "type": "ns:org:QueryType:expression", "value": {"expression": {"collection": "Group", "query": {"region": {"$eq": "110000"}}}}}}}]}
    status = {"transaction_id": "demo-status-1", "txnstatus_request": {"reference_id": "q1", "txn_type": "search", "attribute_type": "transaction_id",
                                                                       "attribute_value": "demo-search-1"}}
    enrolled = {"transaction_id": "demo-enrolled-1", "enrolled_criteria": {"query_type": "idtype-value", "response_entity": "Group", "query": {
        "household_identifier": {"eq": "HB-000001"}, "programme_identifier": {"eq": "dibao"}}}}
    return [("search.json", "search", search), ("subscribe.json", "subscribe", subscribe), ("txn-status.json", "txn-status", status),
            ("enrolled.json", "search", enrolled)]


def _pick_wallet_holder(casework: Casework, population: Population) -> tuple[str, str] | None:
    """A person of the city whose household holds a wallet, as the mapper finds them: their ID
    number and the wallet's address (the first household's head that has one; None in a city with
    no wallet). The head: the demo's example death is another household's last member."""
    reader = LedgerReader(casework.node.store, casework.node.suite, casework.network_key)
    for household in population.households:
        id_number = household.members[0].id_number
        person = find_person(reader, f"nid:{id_number}")
        wallets = [account for account in list_own_accounts(reader, person) if account["kind"] == "beneficiary_wallet"] if person is not None else []
        if wallets:
            return id_number, format_address(wallets[0])
    return None


def _g2p_examples(budget: str, id_number: str, wallet: str) -> list[tuple[str, str, dict[str, Any]]]:
    """G2P Connect: resolve the person's financial address, link it, pay them from the budget."""
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    beneficiary = f"nid:{id_number}@cn-resident-id"
    resolve = {"transaction_id": "demo-resolve-1", "resolve_request": [{"reference_id": "m1", "timestamp": today, "id": beneficiary, "scope": "details"}]}
    link = {"transaction_id": "demo-link-1", "link_request": [{"reference_id": "l1", "timestamp": today, "id": beneficiary, "fa": wallet}]}
    disburse = {"transaction_id": "demo-pay-1", "disbursements": [{"reference_id": "demo-pay-1-1", "payer_fa": budget, "payee_fa": beneficiary,
                                                                   "amount": PAYMENT, "currency_code": "CNY"}]}
    return [("resolve.json", "resolve", resolve), ("link.json", "link", link), ("disburse.json", "disburse", disburse)]

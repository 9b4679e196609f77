"""Beneficiary ids and financial addresses as G2P Connect writes them, and what they name here.

A **beneficiary id** (``cdpi_PersonId``) is ``<type>:<value>@<provider>``: ``nid:``, ``uin:`` or
``id:`` with an 18-character resident identity number (turned into the person's pseudonym at the
edge, as the registries do; what this node writes down names the pseudonym, ``to_kept_id``), or ``person:`` with the pseudonym itself; the
provider is not read. A **financial address** (``cdpi_FinancialAddress``) is
``account:<account id>@<owner>``: an account of the money ledger and the organisation that holds
it (an operator bank), as in the specification's ``account-id@bank-psp-code``.

Only an account a beneficiary can be paid into is a financial address here: a
``beneficiary_wallet`` or ``beneficiary_bank_account`` that is not earmarked, held (its
``holder``) by the person or by the person's household — the ledger's household accounts are
held by the household's pseudonym. Resolving a person without a linked address falls back to
their own accounts, the digital-currency wallet first (it is paid at once; a bank account is
paid through the bank rail), as the monthly disbursement run prefers it too.
"""

import re
from dataclasses import dataclass
from typing import Any

from reliefledger.interop.g2p_store import G2PStore
from reliefledger.interop.registry_search import LedgerReader, SearchRefused, search_registry
from reliefledger.ledger.contracts.money_keys import get_account_key
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.pseudonyms import compute_person_pseudonym, normalise_id_number

PERSON_ID = re.compile(r"(?P<type>[a-z_]{1,16}):(?P<value>[^@\s]{1,128})(?:@[A-Za-z0-9._-]{1,128})?")
ACCOUNT_ADDRESS = re.compile(r"account:(?P<account>[a-z0-9][a-z0-9_.-]{0,63})@(?P<owner>[A-Za-z0-9._-]{1,128})")
ID_TYPES = {"nid": "NationalID", "uin": "NationalID", "id": "NationalID", "person": "person_id"}
"""Beneficiary id types and the registry identifier each is looked up as."""
PAYEE_KINDS = ("beneficiary_wallet", "beneficiary_bank_account")
"""Account kinds a beneficiary is paid into, in the order resolution prefers them."""


class AddressRefused(Exception):
    """A beneficiary id or financial address that cannot be read; ``code`` is the reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Person:
    """A registered person, by pseudonym, and their household's pseudonym."""

    pseudonym: str
    household: str


def find_person(reader: LedgerReader, person_id: Any) -> Person | None:
    """The registered person a beneficiary id names (None: nobody registered); ``AddressRefused``
    (``rjct.id.invalid``) when it is not a beneficiary id of a known type."""
    match = PERSON_ID.fullmatch(person_id) if isinstance(person_id, str) else None
    if match is None or match["type"] not in ID_TYPES:
        raise AddressRefused("rjct.id.invalid", f"a beneficiary id is <type>:<value>@<provider> with type {', '.join(ID_TYPES)}")
    query = {"query_type": "idtype-value", "query": {"type": ID_TYPES[match["type"]], "value": match["value"]}, "response_entity": "Member",
             "pagination": {"page_size": 1}}
    try:
        found = search_registry(reader, query, ("person_id", "household_id"))
    except SearchRefused as refusal:
        raise AddressRefused("rjct.id.invalid", str(refusal)) from None
    return Person(found.records[0]["person_id"], found.records[0]["household_id"]) if found.records else None


def to_kept_id(reader: LedgerReader, value: Any) -> Any:
    """A beneficiary id as it may be kept on disk: an ID number (``nid:``, ``uin:``, ``id:``)
    becomes ``person:<pseudonym>`` (``person:unreadable`` when it is not a resident ID), the
    provider kept; anything else is answered as it is. What the partner was sent is not changed:
    only what this node writes down (a transaction's answer for ``txn/status``, a disbursement's
    status for ``disburse/search``)."""
    match = PERSON_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None or ID_TYPES.get(match["type"]) != "NationalID":
        return value
    provider = value[match.end("value"):]
    try:
        pseudonym = compute_person_pseudonym(reader.suite, reader.network_key, normalise_id_number(match["value"]))
    except LedgerInputError:
        pseudonym = "unreadable"
    return f"person:{pseudonym}{provider}"


def redact_ids(reader: LedgerReader, value: Any) -> Any:
    """``value`` (JSON) with every string that is an ID-number beneficiary id turned by ``to_kept_id``."""
    if isinstance(value, dict):
        return {key: redact_ids(reader, item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_ids(reader, item) for item in value]
    return to_kept_id(reader, value)


def find_account(reader: LedgerReader, address: Any) -> dict[str, Any] | None:
    """The payable account a financial address names (None: no such account, another owner, or
    not an account a beneficiary is paid into); ``AddressRefused`` (``rjct.fa.invalid``) when it
    is not written ``account:<account id>@<owner>``."""
    match = ACCOUNT_ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None:
        raise AddressRefused("rjct.fa.invalid", "a financial address here is account:<account id>@<owner>")
    account = reader.store.get(get_account_key(match["account"]))
    return account if account is not None and account["owner"] == match["owner"] and is_payable(account) else None


def format_address(account: dict[str, Any]) -> str:
    """An account's financial address."""
    return f"account:{account['id']}@{account['owner']}"


def is_payable(account: dict[str, Any]) -> bool:
    """Whether a beneficiary can be paid into the account (a wallet or bank account, not earmarked)."""
    return account["kind"] in PAYEE_KINDS and account.get("earmark") is None


def is_held_by(account: dict[str, Any], person: Person) -> bool:
    """Whether the account is the person's own or their household's."""
    return account.get("holder") in (person.pseudonym, person.household)


def list_own_accounts(reader: LedgerReader, person: Person) -> list[dict[str, Any]]:
    """The payable accounts of the person and their household, wallets first."""
    accounts = []
    for holder in (person.pseudonym, person.household):
        for key, _ in reader.store.iterate_state_prefix(f"money/holder/{holder}/"):
            account = reader.store.get(get_account_key(key.rsplit("/", 1)[1]))
            if account is not None and is_payable(account):
                accounts.append(account)
    return sorted(accounts, key=lambda account: (PAYEE_KINDS.index(account["kind"]), account["id"]))


def resolve_account(reader: LedgerReader, links: G2PStore, person: Person) -> dict[str, Any] | None:
    """The account a person is paid into: the linked one while it is still theirs and payable,
    else their own first (``list_own_accounts``), else None."""
    linked = links.get_link(person.pseudonym)
    account = reader.store.get(get_account_key(linked)) if linked is not None else None
    if account is not None and is_payable(account) and is_held_by(account, person):
        return account
    own = list_own_accounts(reader, person)
    return own[0] if own else None

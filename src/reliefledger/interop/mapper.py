"""The G2P Connect account mapper (g2p_mapper_core_api_v1.0.0), at ``/g2p``: which account on our
money ledger a beneficiary is paid into.

``/mapper/link`` links a beneficiary id to a financial address (``financial_addresses.py``): the
address must name a payable account held by that person or their household, else
``rjct.fa.invalid``; a person already linked elsewhere is refused (``update`` changes a link).
``/mapper/update`` changes an existing link, ``/mapper/unlink`` removes it (when the request
names a financial address, it must be the linked one). ``/mapper/resolve`` answers whether an id
has a financial address (``succ.fa.active`` or ``succ.fa.not_found``; ``succ.id.not_found`` for
an id of nobody registered), whether an address is active, or whether an address belongs to an
id (``succ.fa.not_linked_to_id``); with ``scope: details`` it also gives the address and its
provider (``account_provider_info``: the owning organisation and the account's kind). An id
without a link resolves to the person's own accounts, the wallet first. Each has its ``sync/``
form; ``/mapper/txn/status`` and ``/registry/sync/txn/status`` answer what became of them.

The links are kept off the ledger (``g2p_store.py``), by the person's pseudonym: the ledger holds
no personal data and no hash of an ID number, only the accounts and their holders' pseudonyms.
"""

from dataclasses import dataclass
from typing import Any

from reliefledger.interop.exchange import Accepted
from reliefledger.interop.financial_addresses import AddressRefused, Person, find_account, find_person, format_address, is_held_by, resolve_account
from reliefledger.interop.g2p_service import G2PService, Kind, StatusPaths, refuse_item

LINK_SCOPE = "mapper.link"
RESOLVE_SCOPE = "mapper.resolve"
KINDS = tuple(Kind(name, RESOLVE_SCOPE if name == "resolve" else LINK_SCOPE, f"/mapper/{name}", f"/mapper/sync/{name}", f"/mapper/on-{name}",
                   f"{name}_request", f"{name}_response", f"{name.capitalize()}StatusReasonCode") for name in ("link", "update", "unlink", "resolve"))
STATUS = StatusPaths("/mapper/txn/status", "/registry/sync/txn/status", "/mapper/txn/on-status", None)


@dataclass
class Mapper(G2PService):
    """The mapper endpoints of one node."""

    spec: str = "mapper"
    title: str = "G2P Connect mapper"
    kinds: tuple[Kind, ...] = KINDS
    status: StatusPaths | None = STATUS

    async def answer_item(self, kind: Kind, accepted: Accepted, item: dict[str, Any]) -> dict[str, Any]:
        reasons = self.get_reasons(kind)
        echo = {"fa": item["fa"]} if kind.name == "update" else {}  # an update's answer requires fa
        try:
            if kind.name == "resolve":
                return self._resolve(item)
            person = self._require_person(item["id"])
            if kind.name == "unlink":
                return self._unlink(person, item, accepted.client.sender_id)
            return {**self._link(kind.name, person, item, accepted.client.sender_id), **echo}
        except AddressRefused as refusal:
            return {**refuse_item(refusal.code, str(refusal), reasons), **echo}

    def _require_person(self, person_id: Any) -> Person:
        person = find_person(self.reader, person_id)
        if person is None:
            raise AddressRefused("rjct.id.invalid", "the id names no registered person")
        return person

    def _require_own_account(self, person: Person, address: Any) -> dict[str, Any]:
        account = find_account(self.reader, address)
        if account is None:
            raise AddressRefused("rjct.fa.invalid", "the address names no wallet or bank account a beneficiary can be paid into")
        if not is_held_by(account, person):
            raise AddressRefused("rjct.fa.invalid", "the account is not held by this person or their household")
        return account

    def _link(self, action: str, person: Person, item: dict[str, Any], sender_id: str) -> dict[str, Any]:
        account = self._require_own_account(person, item["fa"])
        linked = self.links.get_link(person.pseudonym)
        if action == "link" and linked not in (None, account["id"]):
            raise AddressRefused("rjct.id.invalid", "this id is linked to another financial address; update changes it")
        if action == "update" and linked is None:
            raise AddressRefused("rjct.id.invalid", "this id has no financial address linked; link it first")
        if linked is not None and self.links.get_linked_by(person.pseudonym) != sender_id:
            if linked == account["id"]:  # the same link, made by another system: it stays theirs
                return {"status": "succ", "fa": format_address(account)}
            raise AddressRefused("rjct.id.invalid", "this id was linked by another system: only it changes or removes the link")
        self.links.put_link(person.pseudonym, account["id"], sender_id, self.context.clock_ms())
        return {"status": "succ", "fa": format_address(account)}

    def _unlink(self, person: Person, item: dict[str, Any], sender_id: str) -> dict[str, Any]:
        linked = self.links.get_link(person.pseudonym)
        if linked is None:
            raise AddressRefused("rjct.id.invalid", "this id has no financial address linked")
        if self.links.get_linked_by(person.pseudonym) != sender_id:
            raise AddressRefused("rjct.id.invalid", "this id was linked by another system: only it changes or removes the link")
        if item.get("fa") is not None:
            account = find_account(self.reader, item["fa"])
            if account is None or account["id"] != linked:
                raise AddressRefused("rjct.fa.invalid", "the address is not the one linked to this id")
        self.links.remove_link(person.pseudonym)
        return {"status": "succ", "id": item["id"]}

    def _resolve(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("id") is None and item.get("fa") is None:
            raise AddressRefused("rjct.id.invalid", "name the id, the fa, or both")
        echo = {name: item[name] for name in ("id", "fa") if item.get(name) is not None}
        person = find_person(self.reader, item["id"]) if "id" in echo else None
        account = find_account(self.reader, item["fa"]) if "fa" in echo else None
        if "id" in echo and person is None:
            return {"status": "succ", "status_reason_code": "succ.id.not_found", **echo}
        if person is not None and "fa" not in echo:
            account = resolve_account(self.reader, self.links, person)
        if account is None:
            return {"status": "succ", "status_reason_code": "succ.fa.not_found", **echo}
        if person is not None and not is_held_by(account, person):
            return {"status": "succ", "status_reason_code": "succ.fa.not_linked_to_id", **echo}
        answer = {"status": "succ", "status_reason_code": "succ.fa.active", **echo}
        if item.get("scope") == "details":
            answer.update(fa=format_address(account), account_provider_info={"name": account["owner"], "code": account["owner"], "subcode": account["kind"]})
        return answer

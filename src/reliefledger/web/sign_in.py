"""Signing in on a demo node: a visitor picks any member of the demo city (a caseworker, the
county's approver, the finance officer, a household, a merchant) and acts as them.

This is the demo's stand-in for identity, not a way to run a real office: the node that builds
the city holds its staff's keys and its households' phone keys, so a pick is all it takes. A real
deployment signs each person in with their own key (staff tokens over the desk API, the holder's
device for payments) and a node started with ``reliefledger node`` offers no picker at all: its
pages are read-only. The chosen member is kept in a cookie naming them; no key leaves the node.
"""

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from reliefledger.ledger.contracts.membership import get_member_key
from reliefledger.node.casework import Casework
from reliefledger.node.keys import KeyFile
from reliefledger.node.staff import StaffDirectory, StaffMember

MEMBER_COOKIE = "reliefledger_member"
MEMBER_KINDS = ("staff", "household", "merchant")


@dataclass(frozen=True)
class Member:
    """Who the visitor acts as: a staff label, a household pseudonym or a merchant account."""

    kind: str
    identifier: str

    def to_cookie(self) -> str:
        """The cookie's value."""
        return f"{self.kind}:{self.identifier}"


@dataclass
class DemoCity:
    """What a demo node lets a signed-in visitor do, and with which keys.

    ``run_payments`` pays a month of the programme (the run, then the demo bank's statement
    reconciled) and answers its figures; the dashboard calls it for the finance officer.
    """

    casework: Casework
    staff: StaffDirectory
    staff_labels: tuple[str, ...]
    wallet_devices: dict[str, KeyFile]
    """Wallet account id → the holder's phone key, which signs the holder's payments."""
    merchant_bank: str
    """Staff label of the bank that submits the merchants' payments."""
    run_payments: Callable[[str], Awaitable[dict[str, Any]]]
    households: tuple[str, ...] = field(default_factory=tuple)
    """Households offered on the picker (pseudonyms): those awaiting a decision, then wallets."""

    def read_member(self, cookie: str | None) -> Member | None:
        """The member a cookie names, if it names one of this city's."""
        if not cookie or ":" not in cookie:
            return None
        kind, identifier = cookie.split(":", 1)
        if kind == "staff" and identifier in self.staff_labels:
            return Member(kind, identifier)
        if kind == "household" and identifier in self.households:
            return Member(kind, identifier)
        if kind == "merchant":
            account = self.casework.node.store.get(f"money/account/{identifier}")
            if account is not None and account["kind"] == "merchant":
                return Member(kind, identifier)
        return None

    def get_staff(self, member: Member | None) -> StaffMember | None:
        """The staff member behind a signed-in visitor (None for a household or merchant)."""
        return self.staff.get(member.identifier) if member is not None and member.kind == "staff" else None

    def describe_staff(self) -> list[dict[str, Any]]:
        """The picker's staff: label, organisation, roles and region as the ledger records them."""
        described = []
        for label in self.staff_labels:
            member = self.staff.get(label)
            record = self.casework.node.store.get(get_member_key(member.key.public_key)) or {}
            described.append({"label": label, "organisation": record.get("organisation"), "roles": record.get("roles", []), "region": record.get("region")})
        return described

    def has_role(self, member: Member | None, role: str) -> bool:
        """Whether the signed-in staff member holds ``role`` on the ledger."""
        staff = self.get_staff(member)
        if staff is None:
            return False
        record = self.casework.node.store.get(get_member_key(staff.key.public_key)) or {}
        return role in record.get("roles", [])

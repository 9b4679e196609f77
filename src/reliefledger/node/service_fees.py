"""Service fees: an organisation pays the agencies that answered its queries, in a chosen asset.

Platform services between agencies are paid for: each query an agency answered for a requester in
a month (its ``catalog.record_answers`` records on the ledger) costs the requester the configured
fee. ``settle_fees`` counts them per agency from the ledger and pays each agency's fee account from
the requester's settlement account, one transfer per agency and month with the id
``fee.<month>.<requester>.<agency>``, so settling a month again pays nothing twice.

The settlement asset is whatever currency the accounts hold: the digital currency (``CNY-DC``) by
default, bank money (``CNY``), or — where the law allows it — a regulated stablecoin given its own
currency code; the fee accounts and the payer's account must all hold it, which the money contract
enforces (currencies never mix).
"""

from dataclasses import dataclass, field
from typing import Any

from reliefledger.ledger.contracts.catalog import list_answers
from reliefledger.ledger.contracts.money import get_account_key, get_transfer_key
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.working_days import compute_civil_from_days
from reliefledger.node.disbursement import MONTH_PATTERN, sign_transfers, submit_and_wait
from reliefledger.node.keys import KeyFile
from reliefledger.node.peer import Node

DEFAULT_ASSET = "CNY-DC"
FEE_CODE = 400
CHINA_OFFSET_MS = 8 * 3_600_000
DAY_MS = 86_400_000


class FeeError(LedgerInputError):
    """A settlement that cannot start, with the reason; nothing has moved."""

    code = "invalid_fee_settlement"


@dataclass(frozen=True)
class FeeSettings:
    """Who pays whom for which month, at what price, in which asset."""

    requester: str
    month: str
    payer_account: str
    fee_fen: int
    agency_accounts: dict[str, str]
    """Each agency's fee account (an account of the settlement asset)."""
    asset: str = DEFAULT_ASSET


@dataclass
class FeeReport:
    """What a settlement counted and paid."""

    month: str
    asset: str
    queries: dict[str, int] = field(default_factory=dict)
    paid: dict[str, int] = field(default_factory=dict)
    already_paid: list[str] = field(default_factory=list)
    not_paid: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"month": self.month, "asset": self.asset, "queries": self.queries, "paid_fen": self.paid, "already_paid": self.already_paid,
                "not_paid": self.not_paid}


def count_answered_queries(node: Node, requester: str, month: str) -> dict[str, int]:
    """Queries each agency answered for ``requester`` in ``month`` (China time), from the ledger."""
    counts: dict[str, int] = {}
    for answer in list_answers(node.store.iterate_state_prefix("catalog/answers/")):
        if answer["requester"] != requester or answer["outcome"] != "answered":
            continue
        year, month_number, _ = compute_civil_from_days((answer["time_ms"] + CHINA_OFFSET_MS) // DAY_MS)
        if f"{year:04d}-{month_number:02d}" == month:
            counts[answer["agency"]] = counts.get(answer["agency"], 0) + 1
    return dict(sorted(counts.items()))


async def settle_fees(node: Node, key: KeyFile, settings: FeeSettings) -> FeeReport:
    """Pay every agency for the queries it answered for the requester in the month (never twice)."""
    if not MONTH_PATTERN.fullmatch(settings.month) or settings.fee_fen < 0:
        raise FeeError("the month is YYYY-MM and the fee is a whole number of fen, not negative")
    payer = node.store.get(get_account_key(settings.payer_account))
    if payer is None or payer["currency"] != settings.asset:
        raise FeeError(f"the payer's account {settings.payer_account!r} does not exist or does not hold {settings.asset}")
    report = FeeReport(settings.month, settings.asset, queries=count_answered_queries(node, settings.requester, settings.month))
    for agency, count in report.queries.items():
        transfer_id = f"fee.{settings.month}.{settings.requester}.{agency}"[:64]
        account_id = settings.agency_accounts.get(agency)
        account = node.store.get(get_account_key(account_id)) if account_id else None
        if node.store.get(get_transfer_key(transfer_id)) is not None:
            report.already_paid.append(agency)
            continue
        if account is None or account["currency"] != settings.asset:
            report.not_paid.append({"agency": agency, "reason": f"no fee account of {agency} in {settings.asset} is configured"})
            continue
        if count * settings.fee_fen == 0:
            continue
        transfer = {"transfer_id": transfer_id, "code": FEE_CODE, "debit_account_id": settings.payer_account, "credit_account_id": account_id,
                    "amount": count * settings.fee_fen, "reference": f"fees.{settings.month}"}
        (code,) = await submit_and_wait(node, [sign_transfers(node, key, [transfer], transfer_id)])
        if code is ResultCode.OK:
            report.paid[agency] = count * settings.fee_fen
        else:
            report.not_paid.append({"agency": agency, "reason": f"refused by the ledger: {code.label}"})
    return report

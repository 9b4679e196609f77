"""G2P Connect disbursement (g2p_disburse_core_api_v1.0.0), at ``/g2p``: a programme system pays
beneficiaries from its budget on our money ledger.

A partner onboarded with the scope ``disburse.disburse`` is bound (``interop.toml``:
``budget_account``) to one budget account; every disbursement's ``payer_fa`` must be that
account's address (``rjct.payer_fa.invalid``). The ``payee_fa`` is a financial address
(``account:<id>@<owner>``, a beneficiary's wallet or bank account) or a beneficiary id, which
the mapper resolves (``mapper.py``): no account, ``rjct.payee_fa.invalid``. The ``amount`` (yuan,
``"123.45"``) becomes integer fen; ``currency_code`` is ``CNY`` (the default; the budget may hold
bank money or the digital currency, both yuan) or ``rjct.currency_code.invalid``; a
``scheduled_timestamp`` in the future is refused (``rjct.schedule_ts.invalid``: send it when
due). Each disbursement is one ``money.create_transfers`` transaction, signed by the node's
``disburser`` (a finance officer of the budget's owner), and waited for: ``succ`` once committed;
``rjct`` with the ledger's reason (the budget holds too little, the payee wallet's class limit or
cap, another currency: ``rjct.amount.invalid`` / ``rjct.currency_code.invalid``, the reason in
the message); ``pdng`` when the ledger did not commit it in time.

The transfer id is derived from the sender and the disbursement's ``reference_id``, so the same
disbursement sent again — in a new message or transaction — never pays twice: it is answered
``succ``, already paid, and a different disbursement under a used reference id is
``rjct.reference_id.duplicate``. ``/disburse/search`` finds a sender's disbursements by payer or
payee address (each criterion's answer lists their statuses in ``disbursements_status``);
``/disburse/txn/status`` answers a whole transaction.
"""

import datetime
import re
from dataclasses import dataclass
from typing import Any

from reliefledger.interop.envelope import format_time
from reliefledger.interop.exchange import Accepted
from reliefledger.interop.financial_addresses import AddressRefused, find_account, find_person, format_address, redact_ids, resolve_account, to_kept_id
from reliefledger.interop.g2p_service import G2PService, Kind, StatusPaths, refuse_item
from reliefledger.ledger.contracts.money_keys import get_account_key
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.disbursement import DISBURSEMENT_CODE
from reliefledger.node.staff import StaffMember

SCOPE = "disburse.disburse"
KINDS = (Kind("disburse", SCOPE, "/disburse", "/disburse/sync/disburse", "/on-disburse", "disbursements", "disbursements_status", "DisburseStatusReasonCode"),
         Kind("search", SCOPE, "/disburse/search", "/disburse/sync/search", "/disburse/on-search", "search_criteria", "disbursements_status",
              "SearchStatusReasonCode"))
STATUS = StatusPaths("/disburse/txn/status", "/disburse/sync/txn/status", "/disburse/txn/on-status", SCOPE)
AMOUNT = re.compile(r"(?P<yuan>[0-9]{1,13})\.(?P<fen>[0-9]{1,2})")
CURRENCY = "CNY"
LEDGER_REASONS = {
    "transfer_exists_different": ("rjct.reference_id.duplicate", "this reference_id paid another disbursement"),
    "exceeds_credits": ("rjct.amount.invalid", "the budget account holds less than this amount"),
    "currency_mismatch": ("rjct.currency_code.invalid", "the payee's account holds another currency than the budget"),
    "not_authorised": ("rjct.payer_fa.invalid", "this node's disburser may not pay from the budget account"),
    "account_not_found": ("rjct.payer_fa.invalid", "the budget account does not exist"),
}
"""The ledger's refusals of a disbursement's transfer, as the specification's reason codes; any
other refusal (a wallet's class limit or cap, an earmark) is ``rjct.amount.invalid``."""
NOT_YET = ("timeout", "busy", "halted")
"""Ledger answers that leave a disbursement pending: sending it again is safe."""


@dataclass
class Disburse(G2PService):
    """The disburse endpoints of one node."""

    casework: Casework | None = None
    disburser: StaffMember | None = None
    """Signs the transfers: a finance officer of the budget accounts' owner (None: no disbursement is paid)."""
    spec: str = "disburse"
    title: str = "G2P Connect disburse"
    kinds: tuple[Kind, ...] = KINDS
    status: StatusPaths | None = STATUS

    async def answer_item(self, kind: Kind, accepted: Accepted, item: dict[str, Any]) -> dict[str, Any]:
        if kind.name == "search":
            found = self.links.find_disbursements(accepted.client.sender_id, item["attribute_type"], str(to_kept_id(self.reader, item["attribute_value"])))
            return {"status": "succ", "disbursements_status": found}
        echo = {name: item[name] for name in ("amount", "payer_fa", "payee_fa", "currency_code") if name in item}
        try:
            answer = await self._pay(accepted, item)
        except AddressRefused as refusal:
            answer = refuse_item(refusal.code, str(refusal), self.get_reasons(kind))
        status = {"reference_id": item["reference_id"], "timestamp": format_time(self.context.clock_ms()), **answer, **echo}
        self.links.put_disbursement(accepted.client.sender_id, accepted.message["transaction_id"], str(item["payer_fa"]),
                                    str(to_kept_id(self.reader, item["payee_fa"])), redact_ids(self.reader, status), self.context.clock_ms())
        return {**answer, **echo}

    async def _pay(self, accepted: Accepted, item: dict[str, Any]) -> dict[str, Any]:
        amount_fen = read_amount_fen(item["amount"])
        if item.get("currency_code", CURRENCY) != CURRENCY:
            raise AddressRefused("rjct.currency_code.invalid", f"disbursements here are in {CURRENCY} (yuan)")
        self._check_schedule(item.get("scheduled_timestamp"))
        budget = self._require_budget(accepted, item["payer_fa"])
        payee = self._find_payee(item["payee_fa"])
        if self.casework is None or self.disburser is None:
            raise AddressRefused("rjct.payer_fa.invalid", "this node has no disburser to sign payments")
        transfer_id = compute_transfer_id(self.casework, accepted.client.sender_id, item["reference_id"])
        transfer = {"transfer_id": transfer_id, "code": DISBURSEMENT_CODE, "debit_account_id": budget["id"], "credit_account_id": payee["id"], "amount": amount_fen}
        try:
            final = await self.casework.submit(self.disburser, "money", "create_transfers", {"transfers": [transfer]})
        except CaseworkError as error:
            return _read_refusal(error.code, transfer_id)
        return {"status": "succ", "instruction": f"paid into {format_address(payee)}: transfer {transfer_id}, ledger transaction {final['id']}"}

    def _check_schedule(self, scheduled: Any) -> None:
        if scheduled is None:
            return
        try:
            when = datetime.datetime.fromisoformat(str(scheduled))
            late = when.timestamp() * 1000 > self.context.clock_ms()
        except (ValueError, TypeError, OverflowError):
            raise AddressRefused("rjct.schedule_ts.invalid", "scheduled_timestamp is not a date-time with its offset") from None
        if late:
            raise AddressRefused("rjct.schedule_ts.invalid", "scheduled disbursements are not kept here: send it when it is due")

    def _require_budget(self, accepted: Accepted, payer: Any) -> dict[str, Any]:
        bound = accepted.client.budget_account
        budget = self.reader.store.get(get_account_key(bound)) if bound is not None else None
        if budget is None:
            raise AddressRefused("rjct.payer_fa.invalid", "the budget account this partner is bound to does not exist")
        if payer != format_address(budget):
            raise AddressRefused("rjct.payer_fa.invalid", f"this partner pays only from {format_address(budget)}")
        return budget

    def _find_payee(self, payee: Any) -> dict[str, Any]:
        """The account a payee address names: an account address, or a beneficiary id resolved as the mapper does."""
        try:
            if isinstance(payee, str) and payee.startswith("account:"):
                account = find_account(self.reader, payee)
            else:
                person = find_person(self.reader, payee)
                if person is not None and (self.reader.get_person(person.pseudonym) or {}).get("status") == "deceased":
                    raise AddressRefused("rjct.payee_fa.invalid", "the beneficiary is recorded dead: nothing is paid to them")
                account = resolve_account(self.reader, self.links, person) if person is not None else None
        except AddressRefused as refusal:
            raise AddressRefused("rjct.payee_fa.invalid", str(refusal) if refusal.code == "rjct.payee_fa.invalid" else f"{refusal} (or a beneficiary id)") from None
        if account is None:
            raise AddressRefused("rjct.payee_fa.invalid", "the payee has no wallet or bank account on the ledger")
        household = self.reader.get_household(account.get("holder") or "")
        if household is not None and household.get("status") == "dissolved":
            raise AddressRefused("rjct.payee_fa.invalid", "the account's household is dissolved (its members are recorded dead or gone)")
        return account


def read_amount_fen(amount: Any) -> int:
    """An amount in yuan (``"123.45"``) as integer fen; ``AddressRefused`` (``rjct.amount.invalid``)
    for anything else, zero included."""
    match = AMOUNT.fullmatch(amount) if isinstance(amount, str) else None
    if match is None:
        raise AddressRefused("rjct.amount.invalid", "the amount is yuan with at most two decimals (whole fen), e.g. 123.45")
    fen = int(match["yuan"]) * 100 + int(match["fen"].ljust(2, "0"))
    if fen <= 0:
        raise AddressRefused("rjct.amount.invalid", "the amount is at least 0.01")
    return fen


def compute_transfer_id(casework: Casework, sender_id: str, reference_id: str) -> str:
    """The transfer id of a sender's disbursement: the same disbursement always has the same id,
    so the ledger pays it once (``transfer_exists``)."""
    return "g2p." + casework.node.suite.compute_hash(encode_canonical(["g2p-disburse", sender_id, reference_id])).hex()[:40]


def _read_refusal(code: str, transfer_id: str) -> dict[str, Any]:
    if code == "transfer_exists":
        return {"status": "succ", "instruction": f"already paid: transfer {transfer_id}"}
    if code in NOT_YET:
        return {"status": "pdng", "status_reason_message": f"the ledger did not commit it in time ({code}): send it again or ask txn/status; it is never paid twice"}
    reason, message = LEDGER_REASONS.get(code, ("rjct.amount.invalid", "refused by the ledger"))
    return {"status": "rjct", "status_reason_code": reason, "status_reason_message": f"{message} ({code})"}


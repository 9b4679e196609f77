"""The money ledger: double-entry accounts and immutable transfers, after TigerBeetle.

Every amount is an integer in fen. An account is never deleted and holds four running totals —
``debits_pending``, ``debits_posted``, ``credits_pending``, ``credits_posted`` — that only
transfers change. A transfer moves ``amount`` from a debit account to a credit account of the
same currency, under an id its client chose (so a retry can never pay twice), with a ``code``
(what kind of payment) and a ``reference`` (the case or entitlement it pays). It is either
posted at once, or **pending**: reserved on both accounts until it is posted (in full or in
part), voided, or expires at a block time (``money_expiry.py``). All transfers of one
``create_transfers`` transaction are **linked**: they succeed or fail together.

Balance limits are account flags: ``debits_must_not_exceed_credits`` (a wallet or budget that
cannot go below zero) and ``credits_must_not_exceed_debits`` (an account that can only be
repaid). A transfer that would break one is refused before any money moves.

Conservation is an invariant, not a hope: per currency, the totals of all debits and all
credits (posted and pending) are kept in ``money/totals/<currency>`` and must be equal after
every transaction (``require``: a breach halts the node); ``store/money_audit.py`` checks it
again from the accounts and transfers in the store.

State keys::

    money/account/<id>      {id, kind, currency, owner, holder, region, flags, code, debits_pending, ...}
    money/transfer/<id>     {id, debit_account_id, credit_account_id, amount, code, reference, flags,
                             pending_id, timeout_ms, status, posted_amount, height, time_ms, transaction}
    money/totals/<currency> {debits_pending, debits_posted, credits_pending, credits_posted}
    money/holder/<pseudonym>/<account id>   {kind, currency}: a holder's accounts, for paying them
    money/run/<programme>/<region>/<month>  {runs: [{figures, report_digest, by, height, time_ms}]}
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, FINANCE_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.earmarks import check_earmarked_payment, check_not_held, check_unconditional, require_earmark
from reliefledger.ledger.contracts.money_expiry import schedule_expiry, take_due_expiries
from reliefledger.ledger.contracts.money_keys import get_account_key, get_holder_key, get_totals_key, get_transfer_key
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN
from reliefledger.ledger.contracts.retail import PAYMENT_FIELDS, check_counter, process_report_double_spend, require_holder_payment
from reliefledger.ledger.contracts.wallets import charge_wallet_payment, check_wallet_receipt, process_publish_wallet_classes, require_wallet_class
from reliefledger.ledger.errors import require
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN, REGION_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

ACCOUNT_KINDS = ("central_bank", "treasury", "programme_budget", "township_reserve_fund", "operator_bank", "beneficiary_wallet",
                 "beneficiary_bank_account", "merchant", "service_provider")
ACCOUNT_FLAGS = ("debits_must_not_exceed_credits", "credits_must_not_exceed_debits")
TRANSFER_FLAGS = ("pending", "post_pending", "void_pending")
WALLET_KINDS = ("beneficiary_wallet", "merchant")
EARMARK_PREFIX = "earmark:"
"""Expiry schedule entries of earmarked accounts (pending transfers are filed by their id)."""
EARMARK_RETURN_CODE = 900
RETAIL_CODE = 300
"""The code of a retail payment at a merchant."""
KEY_PATTERN = re.compile(r"^[0-9a-f]{64,256}$")
MONTH_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
"""The code of the transfer that returns an expired earmark's unspent part."""
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}(?:-[A-Z0-9]{1,8})?$")
"""``CNY`` for bank money, ``CNY-DC`` for the digital currency: different currencies never mix."""
TRANSFERS_PER_TRANSACTION_MAX = 64
RESERVED_TRANSFER_PREFIXES = ("relief.", "retail.", "earmark-return.")
"""Transfer ids that only the contracts' own payments take (relief, retail, earmark returns)."""
CODE_MAX = 65_535
BALANCE_FIELDS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
MOVERS = (FINANCE_OFFICER, ADMIN)
"""Who opens accounts and moves money for its organisation."""


def process_create_account(context: TransactionContext, args: dict[str, Any]) -> None:
    """Open an account owned by the signer's organisation (never deleted)."""
    require_fields(args, {"account_id", "kind", "currency"}, {"holder", "region", "flags", "code", "wallet_class", "earmark", "category", "holder_key"})
    account_id = require_string(args, "account_id", IDENTIFIER_PATTERN)
    region = require_string(args, "region", REGION_PATTERN) if "region" in args else context.signer["region"]
    require_role_in_region(context, MOVERS, region)
    if context.state.get(get_account_key(account_id)) is not None:
        raise Rejection(ResultCode.ACCOUNT_EXISTS, f"account {account_id} exists")
    flags = args.get("flags", [])
    if type(flags) is not list or not set(flags) <= set(ACCOUNT_FLAGS) or len(set(flags)) != len(flags) or len(flags) == len(ACCOUNT_FLAGS):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"flags are at most one of {', '.join(ACCOUNT_FLAGS)}")
    kind = require_choice(args, "kind", ACCOUNT_KINDS)
    wallet_class = None
    if "wallet_class" in args:
        if kind not in WALLET_KINDS:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, f"only {' and '.join(WALLET_KINDS)} accounts have a wallet class")
        wallet_class = require_wallet_class(context.state, args["wallet_class"])
    currency = require_string(args, "currency", CURRENCY_PATTERN)
    earmark = require_earmark(context, args, kind, currency)
    if "category" in args and kind != "merchant":
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "only a merchant has a category")
    category = require_string(args, "category", IDENTIFIER_PATTERN) if "category" in args else None
    if "holder_key" in args and kind != "beneficiary_wallet":
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "only a wallet has a holder key")
    holder_key = require_string(args, "holder_key", KEY_PATTERN) if "holder_key" in args else None
    holder = require_string(args, "holder", DIGEST_PATTERN) if "holder" in args else None
    if holder is not None:
        context.state.put(get_holder_key(holder, account_id), {"currency": currency, "kind": kind})
    context.state.put(get_account_key(account_id), {
        "code": require_integer(args, "code", 0, CODE_MAX) if "code" in args else 0, "wallet_class": wallet_class,
        "created_height": context.environment.height, "currency": currency, "flags": sorted(flags),
        "holder": holder, "holder_key": holder_key, "id": account_id, "category": category, "earmark": earmark,
        "kind": kind, "owner": context.signer["organisation"], "region": region,
        **dict.fromkeys(BALANCE_FIELDS, 0),
    })
    if earmark is not None:
        schedule_expiry(context.state, f"{EARMARK_PREFIX}{account_id}", earmark["expires_ms"])


def process_create_transfers(context: TransactionContext, args: dict[str, Any]) -> None:
    """Create linked transfers: all of them, in order, or none (the first refusal names its code)."""
    require_fields(args, {"transfers"})
    transfers = args["transfers"]
    if type(transfers) is not list or not 1 <= len(transfers) <= TRANSFERS_PER_TRANSACTION_MAX or any(type(item) is not dict for item in transfers):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"transfers lists 1 to {TRANSFERS_PER_TRANSACTION_MAX} transfer objects")
    currencies = set()
    for transfer in transfers:
        currencies.add(_create_transfer(context, transfer))
    for currency in sorted(currencies):
        totals = context.state.get(get_totals_key(currency))
        require(totals["debits_posted"] == totals["credits_posted"] and totals["debits_pending"] == totals["credits_pending"],
                f"money is not conserved in {currency}: {totals}")


def _create_transfer(context: TransactionContext, args: dict[str, Any]) -> str:
    require_fields(args, {"transfer_id", "code"}, {"debit_account_id", "credit_account_id", "amount", "reference", "flags", "pending_id", "timeout_ms"})
    transfer_id = require_string(args, "transfer_id", IDENTIFIER_PATTERN)
    if transfer_id.startswith(RESERVED_TRANSFER_PREFIXES):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"transfer ids starting with {' or '.join(RESERVED_TRANSFER_PREFIXES)} are made by the ledger itself")
    flags = args.get("flags", [])
    if type(flags) is not list or not set(flags) <= set(TRANSFER_FLAGS) or len(flags) > 1:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"flags is at most one of {', '.join(TRANSFER_FLAGS)}")
    existing = context.state.get(get_transfer_key(transfer_id))
    if existing is not None:
        same = existing["request"] == args
        raise Rejection(ResultCode.TRANSFER_EXISTS if same else ResultCode.TRANSFER_EXISTS_DIFFERENT,
                        f"transfer {transfer_id} exists" + ("" if same else " with other content"))
    code = require_integer(args, "code", 1, CODE_MAX)
    reference = require_string(args, "reference", IDENTIFIER_PATTERN) if "reference" in args else None
    if flags in (["post_pending"], ["void_pending"]):
        return _resolve_pending(context, args, transfer_id, flags[0], code, reference)
    debit, credit = _require_accounts(context, args)
    check_earmarked_payment(debit, credit, context.environment.time_ms)
    check_unconditional(context.state, credit, reference)
    check_not_held(context.state, reference)
    amount = require_integer(args, "amount", 1, limits.INTEGER_ABSOLUTE_MAX)
    pending = flags == ["pending"]
    timeout_ms = require_integer(args, "timeout_ms", 0, limits.VALIDITY_MS_MAX * 52) if pending and "timeout_ms" in args else 0
    if "timeout_ms" in args and not pending:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "only a pending transfer has a timeout")
    stage = "pending" if pending else "posted"
    _check_and_move(context, debit, credit, amount, stage)
    expires_ms = context.environment.time_ms + timeout_ms if pending and timeout_ms else None
    _put_transfer(context, args, transfer_id, debit["id"], credit["id"], amount, code, reference, flags, None, expires_ms, stage)
    if expires_ms is not None:
        schedule_expiry(context.state, transfer_id, expires_ms)
    return debit["currency"]


def _check_and_move(context: TransactionContext, debit: dict[str, Any], credit: dict[str, Any], amount: int, stage: str) -> None:
    """Check the wallet's class limits, then the balance limits of a new transfer, then move the
    money. The class limits come first, as at a payment terminal: a payment above the wallet's
    per-payment limit is refused for that reason whatever the balance."""
    if debit["wallet_class"]:
        debit = charge_wallet_payment(context.state, debit, amount, context.environment.time_ms)
    if "debits_must_not_exceed_credits" in debit["flags"] and debit["debits_pending"] + debit["debits_posted"] + amount > debit["credits_posted"]:
        raise Rejection(ResultCode.EXCEEDS_CREDITS, f"account {debit['id']} would pay out more than it holds")
    if "credits_must_not_exceed_debits" in credit["flags"] and credit["credits_pending"] + credit["credits_posted"] + amount > credit["debits_posted"]:
        raise Rejection(ResultCode.EXCEEDS_DEBITS, f"account {credit['id']} would receive more than it owes")
    if credit["wallet_class"]:
        check_wallet_receipt(context.state, credit, amount)
    _move(context, debit, credit, debit["currency"], {f"debits_{stage}": amount}, {f"credits_{stage}": amount})


def process_pay_merchant(context: TransactionContext, args: dict[str, Any]) -> None:
    """A retail payment the wallet's holder signed, submitted by the merchant's bank (``retail.py``)."""
    require_fields(args, {*PAYMENT_FIELDS, "holder_signature"}, {"offline"})
    wallet, merchant, amount, counter = require_holder_payment(context, args)
    if merchant["owner"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"only {merchant['owner']}, the merchant's bank, submits its payments")
    require_role_in_region(context, MOVERS, merchant["region"])
    if wallet["currency"] != merchant["currency"]:
        raise Rejection(ResultCode.CURRENCY_MISMATCH, "the wallet and the merchant hold different currencies")
    offline = args.get("offline", False)
    if type(offline) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "offline is true or false")
    transfer_id = check_counter(context, wallet, args, counter, offline, amount)
    check_earmarked_payment(wallet, merchant, context.environment.time_ms)
    _check_and_move(context, wallet, merchant, amount, "posted")
    _put_transfer(context, args, transfer_id, wallet["id"], merchant["id"], amount, RETAIL_CODE, args["request_id"], [], None, None, "posted")
    totals = context.state.get(get_totals_key(wallet["currency"]))
    require(totals["debits_posted"] == totals["credits_posted"], f"money is not conserved in {wallet['currency']}")


def _resolve_pending(context: TransactionContext, args: dict[str, Any], transfer_id: str, action: str, code: int, reference: str | None) -> str:
    """Post (in full or in part) or void a pending transfer; the reservation is released either way."""
    pending_id = require_string(args, "pending_id", IDENTIFIER_PATTERN)
    pending = context.state.get(get_transfer_key(pending_id))
    if pending is None or pending["flags"] != ["pending"]:
        raise Rejection(ResultCode.PENDING_NOT_FOUND, f"no pending transfer {pending_id}")
    for side in ("debit_account_id", "credit_account_id"):
        if side in args and args[side] != pending[side]:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{side} differs from the pending transfer's")
    if pending["status"] == "expired" or (pending["expires_ms"] is not None and pending["expires_ms"] <= context.environment.time_ms):
        raise Rejection(ResultCode.PENDING_EXPIRED, f"pending transfer {pending_id} has expired")
    if pending["status"] != "pending":
        raise Rejection(ResultCode.PENDING_NOT_PENDING, f"pending transfer {pending_id} is {pending['status']}")
    amount = require_integer(args, "amount", 1, limits.INTEGER_ABSOLUTE_MAX) if "amount" in args else pending["amount"]
    if action == "void_pending" and amount != pending["amount"]:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a void releases the whole pending amount")
    if amount > pending["amount"]:
        raise Rejection(ResultCode.AMOUNT_EXCEEDS_PENDING, f"{amount} fen is more than the {pending['amount']} fen pending")
    debit = _require_movable(context, pending["debit_account_id"])
    credit = context.state.get(get_account_key(pending["credit_account_id"]))
    posted = amount if action == "post_pending" else 0
    _move(context, debit, credit, debit["currency"], {"debits_pending": -pending["amount"], "debits_posted": posted},
          {"credits_pending": -pending["amount"], "credits_posted": posted})
    context.state.put(get_transfer_key(pending_id), {**pending, "posted_amount": posted, "resolved_by": transfer_id,
                                                     "status": "posted" if action == "post_pending" else "voided"})
    _put_transfer(context, args, transfer_id, debit["id"], credit["id"], posted, code, reference, [action], pending_id, None, "posted")
    return debit["currency"]


def process_block_start(time_ms: int, state: Any) -> None:
    """Before a block's transactions: expire every pending transfer due by the block's time, and
    return the unspent part of every earmarked account that has expired."""
    for entry in take_due_expiries(state, time_ms):
        if entry.startswith(EARMARK_PREFIX):
            return_unspent(state, entry.removeprefix(EARMARK_PREFIX), time_ms)
        else:
            release_expired(state, entry, time_ms)


def return_unspent(state: Any, account_id: str, time_ms: int) -> None:
    """Move what an expired earmarked account can still spend back to its return account, as a
    transfer like any other (``earmark-return.<account>``), so the books and the audit see it."""
    account = state.get(get_account_key(account_id))
    unspent = account["credits_posted"] - account["debits_posted"] - account["debits_pending"]
    if unspent <= 0:
        return
    target = state.get(get_account_key(account["earmark"]["return_account_id"]))
    totals = state.get(get_totals_key(account["currency"]))
    state.put(get_account_key(account_id), {**account, "debits_posted": account["debits_posted"] + unspent})
    state.put(get_account_key(target["id"]), {**target, "credits_posted": target["credits_posted"] + unspent})
    state.put(get_totals_key(account["currency"]), {**totals, "debits_posted": totals["debits_posted"] + unspent,
                                                    "credits_posted": totals["credits_posted"] + unspent})
    transfer_id = f"earmark-return.{account_id}"
    state.put(get_transfer_key(transfer_id), {
        "amount": unspent, "code": EARMARK_RETURN_CODE, "credit_account_id": target["id"], "debit_account_id": account_id, "expires_ms": None,
        "flags": [], "height": None, "id": transfer_id, "pending_id": None, "posted_amount": unspent, "reference": account_id, "request": None,
        "resolved_by": None, "status": "posted", "time_ms": time_ms, "transaction": None,
    })


def release_expired(state: Any, transfer_id: str, time_ms: int) -> None:
    """Expire a pending transfer whose timeout has come: its reservation is released on both accounts.
    Called at the start of a block (``money_expiry.py``); a transfer resolved meanwhile is left alone."""
    pending = state.get(get_transfer_key(transfer_id))
    if pending is None or pending["status"] != "pending" or pending["expires_ms"] is None or pending["expires_ms"] > time_ms:
        return
    debit = state.get(get_account_key(pending["debit_account_id"]))
    credit = state.get(get_account_key(pending["credit_account_id"]))
    amount = pending["amount"]
    state.put(get_account_key(debit["id"]), {**debit, "debits_pending": debit["debits_pending"] - amount})
    state.put(get_account_key(credit["id"]), {**credit, "credits_pending": credit["credits_pending"] - amount})
    totals = state.get(get_totals_key(debit["currency"]))
    state.put(get_totals_key(debit["currency"]), {**totals, "debits_pending": totals["debits_pending"] - amount, "credits_pending": totals["credits_pending"] - amount})
    state.put(get_transfer_key(transfer_id), {**pending, "status": "expired"})


def _require_accounts(context: TransactionContext, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    debit = _require_movable(context, require_string(args, "debit_account_id", IDENTIFIER_PATTERN))
    credit = context.state.get(get_account_key(require_string(args, "credit_account_id", IDENTIFIER_PATTERN)))
    if credit is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, f"no account {args['credit_account_id']}")
    if debit["id"] == credit["id"]:
        raise Rejection(ResultCode.ACCOUNTS_MUST_DIFFER, "a transfer moves money between two accounts")
    if debit["currency"] != credit["currency"]:
        raise Rejection(ResultCode.CURRENCY_MISMATCH, f"{debit['currency']} cannot be paid into a {credit['currency']} account")
    return debit, credit


def _require_movable(context: TransactionContext, account_id: str) -> dict[str, Any]:
    """The debit account, which only its owner's finance officers (or admins) may move money from."""
    account = context.state.get(get_account_key(account_id))
    if account is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, f"no account {account_id}")
    if account["owner"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"only {account['owner']} moves money from {account_id}")
    require_role_in_region(context, MOVERS, account["region"])
    return account


def _move(context: TransactionContext, debit: dict[str, Any], credit: dict[str, Any], currency: str, debit_changes: dict[str, int],
          credit_changes: dict[str, int]) -> None:
    """Apply equal changes to both sides and to the currency's totals, refusing any overflow."""
    totals = context.state.get(get_totals_key(currency)) or dict.fromkeys(BALANCE_FIELDS, 0)
    changes = {**{field: 0 for field in BALANCE_FIELDS}, **debit_changes, **credit_changes}
    updated = {}
    for record, delta in ((debit, debit_changes), (credit, credit_changes), (totals, changes)):
        values = {field: record[field] + change for field, change in delta.items()}
        if any(not 0 <= value <= limits.INTEGER_ABSOLUTE_MAX for value in values.values()):
            raise Rejection(ResultCode.OVERFLOW, "a running total would leave the signed 64-bit range")
        updated[id(record)] = values
    context.state.put(get_account_key(debit["id"]), {**debit, **updated[id(debit)]})
    context.state.put(get_account_key(credit["id"]), {**credit, **updated[id(credit)]})
    context.state.put(get_totals_key(currency), {**totals, **updated[id(totals)]})


def _put_transfer(context: TransactionContext, request: dict[str, Any], transfer_id: str, debit_id: str, credit_id: str, amount: int, code: int,
                  reference: str | None, flags: list[str], pending_id: str | None, expires_ms: int | None, status: str) -> None:
    context.state.put(get_transfer_key(transfer_id), {
        "amount": amount, "code": code, "credit_account_id": credit_id, "debit_account_id": debit_id, "expires_ms": expires_ms, "flags": flags,
        "height": context.environment.height, "id": transfer_id, "pending_id": pending_id, "posted_amount": amount if status == "posted" else 0,
        "reference": reference, "request": request, "resolved_by": None, "status": status, "time_ms": context.environment.time_ms,
        "transaction": context.envelope.id.hex(),
    })


def post_transfer(context: TransactionContext, debit: dict[str, Any], credit: dict[str, Any], amount: int, transfer_id: str, code: int, reference: str) -> None:
    """Move money for another contract (relief payments) after it has checked who may: the same
    checks of currency, balance and wallet limits as any transfer, an ordinary posted transfer
    record, and conservation required after it."""
    if context.state.get(get_transfer_key(transfer_id)) is not None:
        raise Rejection(ResultCode.TRANSFER_EXISTS, f"transfer {transfer_id} exists")
    if debit["id"] == credit["id"] or debit["currency"] != credit["currency"]:
        raise Rejection(ResultCode.CURRENCY_MISMATCH, "the payment's accounts must differ and hold the same currency")
    check_earmarked_payment(debit, credit, context.environment.time_ms)
    _check_and_move(context, debit, credit, amount, "posted")
    _put_transfer(context, None, transfer_id, debit["id"], credit["id"], amount, code, reference, [], None, None, "posted")
    totals = context.state.get(get_totals_key(debit["currency"]))
    require(totals["debits_posted"] == totals["credits_posted"], f"money is not conserved in {debit['currency']}")


RUN_FIGURES = ("cases", "entitled_fen", "wallet_payments", "wallet_fen", "bank_payments", "bank_fen", "already_paid", "not_paid", "instructions")


def process_record_run(context: TransactionContext, args: dict[str, Any]) -> None:
    """Keep a disbursement run's report on the ledger: its figures and the digest of the full report
    (whose list of unpaid cases stays with the agency), appended to the month's runs."""
    require_fields(args, {"programme", "region", "month", "figures", "report_digest"})
    require_role_in_region(context, MOVERS, require_string(args, "region", REGION_PATTERN))
    month = require_string(args, "month", MONTH_PATTERN)
    figures = args["figures"]
    if type(figures) is not dict or set(figures) != set(RUN_FIGURES):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"figures are {', '.join(RUN_FIGURES)}")
    key = f"money/run/{require_string(args, 'programme', IDENTIFIER_PATTERN)}/{args['region']}/{month}"
    runs = (context.state.get(key) or {"runs": []})["runs"]
    entry = {"by": context.envelope.body.signer, "figures": {name: require_integer(figures, name, 0, limits.INTEGER_ABSOLUTE_MAX) for name in RUN_FIGURES},
             "height": context.environment.height, "report_digest": require_string(args, "report_digest", DIGEST_PATTERN), "time_ms": context.environment.time_ms}
    context.state.put(key, {"runs": [*runs, entry]})


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "create_account": process_create_account,
    "create_transfers": process_create_transfers,
    "pay_merchant": process_pay_merchant,
    "publish_wallet_classes": process_publish_wallet_classes,
    "record_run": process_record_run,
    "report_double_spend": process_report_double_spend,
}
"""The contract's actions by name."""

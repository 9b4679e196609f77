"""Retail payments at merchants, authorised by the wallet's holder, online or offline.

A merchant shows a **payment request** (``encode_payment_request``: a ``reliefledger:pay:`` text a
phone shows as a QR code) naming its account, the amount and a request id. The holder's phone or
card signs a **wallet payment** — wallet, merchant, amount, request id and the wallet's next
**counter** — with the device key the wallet was opened with (``holder_key``). The merchant's
bank submits it (``pay_merchant``): the contract checks the holder's signature, that the counter
is new, the wallet's limits, its earmark if any, and its balance, and moves the money. The
transfer id is ``retail.<wallet>.<counter>``, so a payment is never taken twice.

A card or phone without network signs **offline** payments up to ``OFFLINE_PAYMENT_FEN_MAX`` each;
they are submitted when the merchant is online again and settle like any other. A holder who signs
two payments with the same counter has spent twice: the second is refused (``double_spend``) and
the bank files both signed payments with ``report_double_spend``, which the contract checks and
records as evidence (``money/double-spend/<wallet>/<counter>``).
"""

import base64
from typing import Any

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_fields, require_integer, require_string
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.money_keys import get_account_key, get_transfer_key
from reliefledger.ledger.encoding import decode_json, encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

WALLET_PAYMENT_TYPE = "reliefledger.wallet_payment.v1"
PAYMENT_REQUEST_PREFIX = "reliefledger:pay:"
OFFLINE_PAYMENT_FEN_MAX = 50_000
"""Largest offline payment (500 yuan): illustrative, to be set with the operator banks."""
PAYMENT_FIELDS = ("wallet_account_id", "merchant_account_id", "amount", "request_id", "counter")


def encode_payment_request(merchant_account_id: str, amount: int, request_id: str) -> str:
    """The text a merchant's terminal shows as a QR code."""
    document = encode_canonical({"amount": amount, "merchant_account_id": merchant_account_id, "request_id": request_id})
    return PAYMENT_REQUEST_PREFIX + base64.urlsafe_b64encode(document).decode().rstrip("=")


def decode_payment_request(text: str) -> dict[str, Any]:
    """A payment request read from a QR code, or ``LedgerInputError``."""
    if not text.startswith(PAYMENT_REQUEST_PREFIX):
        raise LedgerInputError("not a ReliefLedger payment request", code="invalid_payment_request")
    payload = text.removeprefix(PAYMENT_REQUEST_PREFIX)
    try:
        request = decode_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, LedgerInputError):
        raise LedgerInputError("the payment request is damaged", code="invalid_payment_request") from None
    if type(request) is not dict or set(request) != {"amount", "merchant_account_id", "request_id"} or type(request["amount"]) is not int or request["amount"] < 1:
        raise LedgerInputError("the payment request lacks its merchant, amount or id", code="invalid_payment_request")
    return request


def get_payment_bytes(chain_id: str, payment: dict[str, Any]) -> bytes:
    """What the holder's device signs for one payment."""
    return encode_canonical({"chain": chain_id, "type": WALLET_PAYMENT_TYPE, **{name: payment[name] for name in PAYMENT_FIELDS}})


def sign_wallet_payment(suite: Any, seed: bytes, chain_id: str, payment: dict[str, Any]) -> str:
    """The holder's signature (hex) on a payment: what a phone or card does."""
    return suite.sign(seed, get_payment_bytes(chain_id, payment)).hex()


def require_holder_payment(context: TransactionContext, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    """The wallet, merchant, amount and counter of a payment whose holder signature verifies."""
    wallet = context.state.get(get_account_key(require_string(args, "wallet_account_id", IDENTIFIER_PATTERN)))
    merchant = context.state.get(get_account_key(require_string(args, "merchant_account_id", IDENTIFIER_PATTERN)))
    if wallet is None or merchant is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, "no such wallet or merchant account")
    if wallet.get("holder_key") is None or merchant["kind"] != "merchant":
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a retail payment goes from a wallet with a holder key to a merchant")
    amount = require_integer(args, "amount", 1, limits.INTEGER_ABSOLUTE_MAX)
    counter = require_integer(args, "counter", 1, limits.INTEGER_ABSOLUTE_MAX)
    require_string(args, "request_id", IDENTIFIER_PATTERN)
    if not _is_signed_by_holder(context, wallet, args, args.get("holder_signature")):
        raise Rejection(ResultCode.BAD_HOLDER_SIGNATURE, "the payment is not signed by the wallet's holder")
    return wallet, merchant, amount, counter


def process_report_double_spend(context: TransactionContext, args: dict[str, Any]) -> None:
    """File two different payments the holder signed with the same counter, as evidence."""
    require_fields(args, {"first", "second"})
    first, second = args["first"], args["second"]
    if type(first) is not dict or type(second) is not dict:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "first and second are signed payments")
    for payment in (first, second):
        require_fields(payment, {*PAYMENT_FIELDS, "holder_signature"}, {"offline"})
    if first["wallet_account_id"] != second["wallet_account_id"] or first["counter"] != second["counter"] or first == second:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a double spend is two different payments of one wallet with one counter")
    wallet = context.state.get(get_account_key(require_string(first, "wallet_account_id", IDENTIFIER_PATTERN)))
    if wallet is None or wallet.get("holder_key") is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, "no such wallet with a holder key")
    if not all(_is_signed_by_holder(context, wallet, payment, payment["holder_signature"]) for payment in (first, second)):
        raise Rejection(ResultCode.BAD_HOLDER_SIGNATURE, "both payments must be signed by the wallet's holder")
    key = f"money/double-spend/{wallet['id']}/{require_integer(first, 'counter', 1, limits.INTEGER_ABSOLUTE_MAX)}"
    if context.state.get(key) is not None:
        raise Rejection(ResultCode.TRANSFER_EXISTS, "this double spend is already on file")
    context.state.put(key, {"first": first, "second": second, "height": context.environment.height, "reported_by": context.signer["organisation"],
                            "wallet_account_id": wallet["id"]})


def check_counter(context: TransactionContext, wallet: dict[str, Any], args: dict[str, Any], counter: int, offline: bool, amount: int) -> str:
    """The retail transfer id of a payment whose counter is new; the same payment again is
    ``transfer_exists``, another payment with a spent counter ``double_spend``."""
    if offline and amount > OFFLINE_PAYMENT_FEN_MAX:
        raise Rejection(ResultCode.OFFLINE_LIMIT, f"an offline payment is at most {OFFLINE_PAYMENT_FEN_MAX} fen")
    transfer_id = f"retail.{wallet['id']}.{counter}"
    existing = context.state.get(get_transfer_key(transfer_id))
    if existing is not None:
        if existing["request"] == args:
            raise Rejection(ResultCode.TRANSFER_EXISTS, "this payment was already taken")
        raise Rejection(ResultCode.DOUBLE_SPEND, f"counter {counter} of wallet {wallet['id']} was already spent on another payment")
    return transfer_id


def _is_signed_by_holder(context: TransactionContext, wallet: dict[str, Any], payment: dict[str, Any], signature: Any) -> bool:
    if type(signature) is not str:
        return False
    try:
        return context.environment.suite.is_valid_signature(bytes.fromhex(wallet["holder_key"]), get_payment_bytes(context.environment.chain_id, payment),
                                                            bytes.fromhex(signature))
    except (ValueError, KeyError, LedgerInputError):
        return False

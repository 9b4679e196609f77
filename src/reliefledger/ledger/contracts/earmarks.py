"""Earmarked funds: money that may only be spent at merchants of allowed categories, until a date.

A programme may pay an education subsidy or prepaid care services into an earmarked account
(a ``beneficiary_wallet`` with an ``earmark``): its ``categories`` name the merchant categories
it may pay, ``expires_ms`` when it stops, and ``return_account_id`` where the unspent part goes
then — moved by the money contract at the first block past the expiry, as a transfer anyone can
trace. Unconditional cash (dibao) is paid into ordinary accounts and carries no conditions: the
contract refuses (``unconditional_cash``) any transfer that names a basic-tier case (dibao, tekun)
as its reference and credits an earmarked account, whoever signs it.
"""

from typing import Any

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.assistance import get_case_key, is_payment_held
from reliefledger.ledger.contracts.arguments import require_fields, require_integer, require_string
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.money_keys import get_account_key
from reliefledger.ledger.contracts.policy_packs import get_pack
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.policy import get_programme
from reliefledger.ledger.results import Rejection, ResultCode

CATEGORIES_MAX = 16
UNCONDITIONAL_TIER = "basic"
"""The policy tier whose benefits are unconditional cash (dibao, tekun)."""


def require_earmark(context: TransactionContext, args: dict[str, Any], kind: str, currency: str) -> dict[str, Any] | None:
    """The earmark of a new account (None without one), checked."""
    if "earmark" not in args:
        return None
    earmark = args["earmark"]
    if kind != "beneficiary_wallet" or type(earmark) is not dict:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "an earmark is an object on a beneficiary_wallet account")
    require_fields(earmark, {"categories", "expires_ms", "return_account_id"})
    categories = earmark["categories"]
    if type(categories) is not list or not 1 <= len(categories) <= CATEGORIES_MAX or len(set(map(str, categories))) != len(categories):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"an earmark allows 1 to {CATEGORIES_MAX} distinct merchant categories")
    for category in categories:
        if type(category) is not str or not IDENTIFIER_PATTERN.fullmatch(category):
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "merchant categories are identifiers")
    expires_ms = require_integer(earmark, "expires_ms", context.environment.time_ms + 1, limits.INTEGER_ABSOLUTE_MAX)
    return_account = context.state.get(get_account_key(require_string(earmark, "return_account_id", IDENTIFIER_PATTERN)))
    if return_account is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, f"no account {earmark['return_account_id']} to return the unspent part to")
    if return_account["currency"] != currency:
        raise Rejection(ResultCode.CURRENCY_MISMATCH, "the return account holds another currency")
    return {"categories": sorted(categories), "expires_ms": expires_ms, "return_account_id": return_account["id"]}


def check_earmarked_payment(debit: dict[str, Any], credit: dict[str, Any], time_ms: int) -> None:
    """Refuse a payment out of an earmarked account to anything but an allowed merchant, or after expiry."""
    earmark = debit.get("earmark")
    if earmark is None:
        return
    if time_ms >= earmark["expires_ms"]:
        raise Rejection(ResultCode.EARMARK_EXPIRED, f"the earmarked funds of {debit['id']} expired")
    if credit["kind"] != "merchant" or credit.get("category") not in earmark["categories"]:
        raise Rejection(ResultCode.EARMARK_CATEGORY, f"earmarked funds are spent only at merchants of {', '.join(earmark['categories'])}")


def check_unconditional(state: Any, credit: dict[str, Any], reference: str | None) -> None:
    """Refuse to pay a basic-tier case into an earmarked account: dibao must not be restricted."""
    if credit.get("earmark") is None or reference is None:
        return
    case = state.get(get_case_key(reference))
    if case is None:
        return
    if get_programme(get_pack(state, case["pack_version"]), case["programme"]).tier == UNCONDITIONAL_TIER:
        raise Rejection(ResultCode.UNCONDITIONAL_CASH, f"{case['programme']} is unconditional cash and is never paid into an earmarked account")


def check_not_held(state: Any, reference: str | None) -> None:
    """Refuse a payment of a case whose review holds its payments (a death was registered): no
    run, ours or an external system's, pays it until the review is concluded."""
    case = None if reference is None else state.get(get_case_key(reference))
    if case is not None and is_payment_held(case):
        raise Rejection(ResultCode.PAYMENT_HELD, f"the payments of case {reference} are held until its review is concluded")

"""Digital-currency wallet classes and their limits (two-tier e-CNY style).

The central bank publishes the wallet classes — balance cap, per-payment, daily and yearly limits,
which the published rules have changed before, so they are data on the ledger, not code. An
operator bank opens a wallet in a class; every payment out of a wallet and every receipt into it is
checked against its class before any money moves, and a payment that would break a limit is
refused with a result code naming the limit. Days and years are China's (UTC+8) calendar days of
the block time; a payment counts towards the day and year it is made in (a later void does not
give the allowance back).

State key::

    money/wallet-classes   {version, classes: {id: {name, balance_cap_fen, per_payment_fen, per_day_fen, per_year_fen}}, height}
"""

from typing import Any

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, FINANCE_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.membership import get_organisation_key
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode
from reliefledger.ledger.working_days import compute_civil_from_days

WALLET_CLASSES_KEY = "money/wallet-classes"
CLASSES_MAX = 16
CHINA_OFFSET_MS = 8 * 3_600_000
DAY_MS = 86_400_000
LIMIT_FIELDS = ("balance_cap_fen", "per_payment_fen", "per_day_fen", "per_year_fen")


def process_publish_wallet_classes(context: TransactionContext, args: dict[str, Any]) -> None:
    """The central bank publishes (a new version of) the wallet classes and their limits."""
    require_fields(args, {"version", "classes"})
    organisation = context.state.get(get_organisation_key(context.signer["organisation"]))
    if organisation is None or organisation["kind"] != "central_bank":
        raise Rejection(ResultCode.NOT_AUTHORISED, "only the central bank publishes wallet classes")
    require_role_in_region(context, (ADMIN, FINANCE_OFFICER), context.signer["region"])
    current = context.state.get(WALLET_CLASSES_KEY)
    version = require_integer(args, "version", (current["version"] + 1) if current else 1, limits.INTEGER_ABSOLUTE_MAX)
    entries = args["classes"]
    if type(entries) is not list or not 1 <= len(entries) <= CLASSES_MAX or any(type(entry) is not dict for entry in entries):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"classes lists 1 to {CLASSES_MAX} wallet classes")
    classes = {}
    for entry in entries:
        require_fields(entry, {"id", "name", *LIMIT_FIELDS})
        class_id = require_string(entry, "id", IDENTIFIER_PATTERN)
        if class_id in classes:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, f"wallet class {class_id} is listed twice")
        figures = {name: None if entry[name] is None else require_integer(entry, name, 1, limits.INTEGER_ABSOLUTE_MAX) for name in LIMIT_FIELDS}
        if figures["balance_cap_fen"] is None or figures["per_payment_fen"] is None:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "a wallet class has a balance cap and a per-payment limit")
        name = entry["name"]
        if type(name) is not str or not 0 < len(name) <= 200:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "a wallet class has a name")
        classes[class_id] = {"name": name, **figures}
    context.state.put(WALLET_CLASSES_KEY, {"classes": classes, "height": context.environment.height, "version": version})


def require_wallet_class(state: Any, class_id: Any) -> str:
    """A wallet class id that is published, or a rejection."""
    published = state.get(WALLET_CLASSES_KEY)
    if type(class_id) is not str or published is None or class_id not in published["classes"]:
        raise Rejection(ResultCode.WALLET_CLASS_NOT_FOUND, f"no published wallet class {class_id!r}")
    return class_id


def charge_wallet_payment(state: Any, account: dict[str, Any], amount: int, time_ms: int) -> dict[str, Any]:
    """The paying wallet with the payment counted, or a rejection naming the limit it would break."""
    limits_of_class = state.get(WALLET_CLASSES_KEY)["classes"][account["wallet_class"]]
    if amount > limits_of_class["per_payment_fen"]:
        raise Rejection(ResultCode.WALLET_PER_PAYMENT_LIMIT, f"{amount} fen is above the per-payment limit of {limits_of_class['per_payment_fen']} fen")
    day = (time_ms + CHINA_OFFSET_MS) // DAY_MS
    year = compute_civil_from_days(day)[0]
    spent = account.get("spent") or {"day": day, "day_fen": 0, "year": year, "year_fen": 0}
    day_fen = (spent["day_fen"] if spent["day"] == day else 0) + amount
    year_fen = (spent["year_fen"] if spent["year"] == year else 0) + amount
    if limits_of_class["per_day_fen"] is not None and day_fen > limits_of_class["per_day_fen"]:
        raise Rejection(ResultCode.WALLET_DAILY_LIMIT, f"payments today would reach {day_fen} fen, above {limits_of_class['per_day_fen']} fen")
    if limits_of_class["per_year_fen"] is not None and year_fen > limits_of_class["per_year_fen"]:
        raise Rejection(ResultCode.WALLET_YEARLY_LIMIT, f"payments this year would reach {year_fen} fen, above {limits_of_class['per_year_fen']} fen")
    return {**account, "spent": {"day": day, "day_fen": day_fen, "year": year, "year_fen": year_fen}}


def check_wallet_receipt(state: Any, account: dict[str, Any], amount: int) -> None:
    """Refuse a receipt that would lift the wallet's balance (pending receipts included) above its cap."""
    cap = state.get(WALLET_CLASSES_KEY)["classes"][account["wallet_class"]]["balance_cap_fen"]
    balance = account["credits_posted"] + account["credits_pending"] - account["debits_posted"] + amount
    if balance > cap:
        raise Rejection(ResultCode.WALLET_BALANCE_CAP, f"the wallet's balance would reach {balance} fen, above its cap of {cap} fen")


def get_room_under_cap(state: Any, account: dict[str, Any]) -> int | None:
    """How much more a wallet may receive now (None for an account without a class): what a
    disbursement may pay into it before splitting the rest to the bank rail."""
    if not account.get("wallet_class"):
        return None
    cap = state.get(WALLET_CLASSES_KEY)["classes"][account["wallet_class"]]["balance_cap_fen"]
    return max(0, cap - (account["credits_posted"] + account["credits_pending"] - account["debits_posted"]))

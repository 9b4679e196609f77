"""Disaster relief and the pay-first fast path: help first, paperwork after, every yuan reconciled.

The emergency-management department (the pack's deciding department for ``disaster``) declares an
event: region, hazard, period and a ceiling per recipient. During the event a township pays small
amounts at once from its reserve fund (a ``township_reserve_fund`` account) to the recipient's
wallet or bank account, up to the ceiling per recipient account, and registers the recipient's
household afterwards. A county approver may approve **staged** payments for one household under
a single approval; finance pays the stages in order from a budget. Closing the event reconciles
it: what was paid first (registered or not), what was approved and paid in stages; stages not
paid by then are cancelled, and nothing more is paid under the event.

Money moves through the money contract's ``post_transfer``, as ordinary posted transfers
``relief.<event>.first.<payment>`` (code 500) and ``relief.<event>.stage.<approval>.<stage>`` (code 501), so
the books, the audit and the traces see them like any other.

State keys::

    relief/event/<event>                      {id, region, hazard, starts_ms, ends_ms, ceiling_fen, status, figures, ...}
    relief/payment/<event>/<payment>          {amount, reserve_account_id, recipient_account_id, recipient_commitment, household, ...}
    relief/recipient/<event>/<account>        {paid_fen}: what a recipient account has had first under the event
    relief/approval/<event>/<approval>        {household, stages, paid_stages, budget_account_id, recipient_account_id, ...}
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, APPROVER, CASEWORKER, FINANCE_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.money import post_transfer
from reliefledger.ledger.contracts.money_keys import get_account_key
from reliefledger.ledger.contracts.policy_packs import get_current_pack
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN, get_active_household
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN, REGION_PATTERN
from reliefledger.ledger.policy import get_programme
from reliefledger.ledger.regions import is_region_code, is_within
from reliefledger.ledger.results import Rejection, ResultCode

PAY_FIRST_CODE = 500
STAGE_CODE = 501
STAGES_MAX = 12
HAZARD_PATTERN = IDENTIFIER_PATTERN
RELIEF_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
"""Event, payment and approval ids: no dots, so the transfer ids built from them never collide."""
RECIPIENT_KINDS = ("beneficiary_wallet", "beneficiary_bank_account")
FIGURES = ("paid_first", "paid_first_fen", "unregistered", "unregistered_fen", "approvals", "approved_fen", "staged_fen", "cancelled_fen")


def get_event_key(event_id: str) -> str:
    """State key of a disaster event."""
    return f"relief/event/{event_id}"


def process_declare_event(context: TransactionContext, args: dict[str, Any]) -> None:
    """The emergency-management department declares a disaster event."""
    require_fields(args, {"event_id", "region", "hazard", "starts_ms", "ends_ms", "ceiling_fen"})
    deciding = get_programme(get_current_pack(context.state), "disaster").deciding_department
    if context.signer["organisation"] != deciding:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"disaster events are declared by {deciding}")
    region = require_string(args, "region", REGION_PATTERN)
    if not is_region_code(region):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{region} is not a GB/T 2260 region code")
    require_role_in_region(context, (APPROVER, ADMIN), region)
    event_id = require_string(args, "event_id", RELIEF_ID_PATTERN)
    if context.state.get(get_event_key(event_id)) is not None:
        raise Rejection(ResultCode.EVENT_EXISTS, f"event {event_id} exists")
    starts_ms = require_integer(args, "starts_ms", 0, limits.INTEGER_ABSOLUTE_MAX)
    ends_ms = require_integer(args, "ends_ms", starts_ms + 1, limits.INTEGER_ABSOLUTE_MAX)
    context.state.put(get_event_key(event_id), {
        "ceiling_fen": require_integer(args, "ceiling_fen", 1, limits.INTEGER_ABSOLUTE_MAX), "closed_ms": None, "declared_by": context.signer["organisation"],
        "declared_ms": context.environment.time_ms, "ends_ms": ends_ms, "figures": dict.fromkeys(FIGURES, 0), "hazard": require_string(args, "hazard", HAZARD_PATTERN),
        "id": event_id, "region": region, "starts_ms": starts_ms, "status": "open",
    })


def process_pay_first(context: TransactionContext, args: dict[str, Any]) -> None:
    """A township pays a recipient at once from its reserve fund, within the event's ceiling per
    recipient account; the recipient is registered afterwards."""
    require_fields(args, {"event_id", "payment_id", "reserve_account_id", "recipient_account_id", "amount_fen", "recipient_commitment"})
    event = _require_open_event(context, args)
    reserve = _require_account(context, args, "reserve_account_id")
    if reserve["kind"] != "township_reserve_fund" or not is_within(reserve["region"], event["region"]):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "pay-first money comes from a township reserve fund within the event's region")
    _require_payer(context, reserve, (CASEWORKER, FINANCE_OFFICER))
    recipient = _require_recipient(context, args)
    payment_id = require_string(args, "payment_id", RELIEF_ID_PATTERN)
    key = f"relief/payment/{event['id']}/{payment_id}"
    if context.state.get(key) is not None:
        raise Rejection(ResultCode.TRANSFER_EXISTS, f"payment {payment_id} exists")
    amount = require_integer(args, "amount_fen", 1, limits.INTEGER_ABSOLUTE_MAX)
    received_key = f"relief/recipient/{event['id']}/{recipient['id']}"
    received = (context.state.get(received_key) or {"paid_fen": 0})["paid_fen"]
    if received + amount > event["ceiling_fen"]:
        raise Rejection(ResultCode.ABOVE_FAST_PATH_CEILING, f"a recipient gets at most {event['ceiling_fen']} fen first; {received} fen already paid")
    post_transfer(context, reserve, recipient, amount, f"relief.{event['id']}.first.{payment_id}", PAY_FIRST_CODE, event["id"])
    context.state.put(received_key, {"paid_fen": received + amount})
    context.state.put(key, {"amount_fen": amount, "household": None, "id": payment_id, "paid_ms": context.environment.time_ms,
                            "recipient_account_id": recipient["id"], "recipient_commitment": require_string(args, "recipient_commitment", DIGEST_PATTERN),
                            "registered_ms": None, "reserve_account_id": reserve["id"]})
    _add_figures(context, event, paid_first=1, paid_first_fen=amount, unregistered=1, unregistered_fen=amount)


def process_register_recipient(context: TransactionContext, args: dict[str, Any]) -> None:
    """Register afterwards the household a payment made first went to."""
    require_fields(args, {"event_id", "payment_id", "household"})
    event = _require_event(context, args)
    key, payment = _require_entry(context, event, "payment", args)
    if payment["household"] is not None:
        raise Rejection(ResultCode.WRONG_EVENT_STATE, "the recipient is already registered")
    household = get_active_household(context.state, require_string(args, "household", DIGEST_PATTERN))
    if not is_within(household["region"], event["region"]):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "the household is outside the event's region")
    require_role_in_region(context, (CASEWORKER,), household["region"])
    context.state.put(key, {**payment, "household": household["id"], "registered_ms": context.environment.time_ms})
    _add_figures(context, event, unregistered=-1, unregistered_fen=-payment["amount_fen"])


def process_approve_stages(context: TransactionContext, args: dict[str, Any]) -> None:
    """A county approver approves staged payments for one household under one approval."""
    require_fields(args, {"event_id", "approval_id", "household", "recipient_account_id", "budget_account_id", "stages"})
    event = _require_open_event(context, args)
    household = get_active_household(context.state, require_string(args, "household", DIGEST_PATTERN))
    if not is_within(household["region"], event["region"]):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "the household is outside the event's region")
    require_role_in_region(context, (APPROVER,), household["region"])
    stages = args["stages"]
    if type(stages) is not list or not 1 <= len(stages) <= STAGES_MAX or any(type(amount) is not int or not 0 < amount <= limits.INTEGER_ABSOLUTE_MAX for amount in stages):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"stages are 1 to {STAGES_MAX} positive amounts in fen")
    budget = _require_account(context, args, "budget_account_id")
    recipient = _require_recipient(context, args)
    approval_id = require_string(args, "approval_id", RELIEF_ID_PATTERN)
    key = f"relief/approval/{event['id']}/{approval_id}"
    if context.state.get(key) is not None:
        raise Rejection(ResultCode.EVENT_EXISTS, f"approval {approval_id} exists")
    context.state.put(key, {"approved_by": context.envelope.body.signer, "approved_ms": context.environment.time_ms, "budget_account_id": budget["id"],
                            "household": household["id"], "id": approval_id, "paid_stages": 0, "recipient_account_id": recipient["id"], "stages": stages,
                            "status": "open"})
    _add_figures(context, event, approvals=1, approved_fen=sum(stages))


def process_pay_stage(context: TransactionContext, args: dict[str, Any]) -> None:
    """Finance pays the next stage of an approval, in order, never beyond what was approved."""
    require_fields(args, {"event_id", "approval_id", "stage"})
    event = _require_open_event(context, args)
    key, approval = _require_entry(context, event, "approval", args)
    stage = require_integer(args, "stage", 1, STAGES_MAX)
    if stage != approval["paid_stages"] + 1 or stage > len(approval["stages"]):
        raise Rejection(ResultCode.WRONG_EVENT_STATE, f"the next stage to pay is {approval['paid_stages'] + 1} of {len(approval['stages'])}")
    budget = context.state.get(get_account_key(approval["budget_account_id"]))
    _require_payer(context, budget, (FINANCE_OFFICER,))
    amount = approval["stages"][stage - 1]
    post_transfer(context, budget, context.state.get(get_account_key(approval["recipient_account_id"])), amount,
                  f"relief.{event['id']}.stage.{approval['id']}.{stage}", STAGE_CODE, event["id"])
    context.state.put(key, {**approval, "paid_stages": stage, "status": "paid" if stage == len(approval["stages"]) else "open"})
    _add_figures(context, event, staged_fen=amount)


def process_close_event(context: TransactionContext, args: dict[str, Any]) -> None:
    """Close the event: its figures are final; stages not yet paid are cancelled."""
    require_fields(args, {"event_id", "cancelled_approvals"})
    event = _require_open_event(context, args, check_period=False)
    if context.signer["organisation"] != event["declared_by"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"the event is closed by {event['declared_by']}, who declared it")
    require_role_in_region(context, (APPROVER, ADMIN), event["region"])
    cancelled = _cancel_open_approvals(context, event, args["cancelled_approvals"])
    figures = {**event["figures"], "cancelled_fen": event["figures"]["cancelled_fen"] + cancelled}
    context.state.put(get_event_key(event["id"]), {**event, "closed_ms": context.environment.time_ms, "figures": figures, "status": "closed"})


def _cancel_open_approvals(context: TransactionContext, event: dict[str, Any], approval_ids: Any) -> int:
    """Cancel the listed open approvals; the list must name every one still open (checked through
    the approval count), so closing cannot leave a stage payable."""
    if type(approval_ids) is not list or len(approval_ids) > event["figures"]["approvals"] or len(set(map(str, approval_ids))) != len(approval_ids):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "cancelled_approvals lists the event's open approvals, once each")
    cancelled = 0
    for approval_id in approval_ids:
        key = f"relief/approval/{event['id']}/{approval_id}" if type(approval_id) is str and IDENTIFIER_PATTERN.fullmatch(approval_id) else None
        approval = context.state.get(key) if key else None
        if approval is None or approval["status"] != "open":
            raise Rejection(ResultCode.WRONG_EVENT_STATE, f"{approval_id!r} is not an open approval of the event")
        cancelled += sum(approval["stages"][approval["paid_stages"]:])
        context.state.put(key, {**approval, "status": "cancelled"})
    if event["figures"]["approved_fen"] - event["figures"]["staged_fen"] - event["figures"]["cancelled_fen"] != cancelled:
        raise Rejection(ResultCode.WRONG_EVENT_STATE, "some approvals with stages still to pay are not listed in cancelled_approvals")
    return cancelled


def _require_event(context: TransactionContext, args: dict[str, Any]) -> dict[str, Any]:
    event = context.state.get(get_event_key(require_string(args, "event_id", IDENTIFIER_PATTERN)))
    if event is None:
        raise Rejection(ResultCode.EVENT_NOT_FOUND, f"no event {args['event_id']}")
    return event


def _require_open_event(context: TransactionContext, args: dict[str, Any], *, check_period: bool = True) -> dict[str, Any]:
    event = _require_event(context, args)
    if event["status"] != "open":
        raise Rejection(ResultCode.WRONG_EVENT_STATE, f"event {event['id']} is closed")
    if check_period and not event["starts_ms"] <= context.environment.time_ms < event["ends_ms"]:
        raise Rejection(ResultCode.WRONG_EVENT_STATE, f"event {event['id']} runs from {event['starts_ms']} to {event['ends_ms']}")
    return event


def _require_entry(context: TransactionContext, event: dict[str, Any], kind: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The state key and record of a ``payment`` or ``approval`` of the event named by ``<kind>_id``."""
    key = f"relief/{kind}/{event['id']}/{require_string(args, f'{kind}_id', IDENTIFIER_PATTERN)}"
    entry = context.state.get(key)
    if entry is None:
        raise Rejection(ResultCode.EVENT_NOT_FOUND, f"no {kind} {args[f'{kind}_id']} under event {event['id']}")
    return key, entry


def _require_account(context: TransactionContext, args: dict[str, Any], name: str) -> dict[str, Any]:
    account = context.state.get(get_account_key(require_string(args, name, IDENTIFIER_PATTERN)))
    if account is None:
        raise Rejection(ResultCode.ACCOUNT_NOT_FOUND, f"no account {args[name]}")
    return account


def _require_recipient(context: TransactionContext, args: dict[str, Any]) -> dict[str, Any]:
    recipient = _require_account(context, args, "recipient_account_id")
    if recipient["kind"] not in RECIPIENT_KINDS or recipient.get("earmark") is not None:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "relief is paid into a person's own wallet or bank account, without conditions")
    return recipient


def _require_payer(context: TransactionContext, account: dict[str, Any], roles: tuple[str, ...]) -> None:
    if account["owner"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"only {account['owner']} pays from {account['id']}")
    require_role_in_region(context, roles, account["region"])


def _add_figures(context: TransactionContext, event: dict[str, Any], **changes: int) -> None:
    figures = {name: value + changes.get(name, 0) for name, value in event["figures"].items()}
    if any(not 0 <= value <= limits.INTEGER_ABSOLUTE_MAX for value in figures.values()):
        raise Rejection(ResultCode.OVERFLOW, "the event's totals would leave the signed 64-bit range")
    context.state.put(get_event_key(event["id"]), {**event, "figures": figures})


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "approve_stages": process_approve_stages,
    "close_event": process_close_event,
    "declare_event": process_declare_event,
    "pay_first": process_pay_first,
    "pay_stage": process_pay_stage,
    "register_recipient": process_register_recipient,
}
"""The contract's actions by name."""

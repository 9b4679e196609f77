"""Evidence of exchanges with other systems: every DCI or G2P Connect message, in and out.

A registry, a payment hub or a civil registry talks to ReliefLedger through the published
standards (``interop/``). Each message either side sends — the search, our acknowledgement, the
results we call back with, a death notified to us — is recorded here by its digest with who sent
it to whom, the action, its message and transaction ids, when, and what became of it; the
message itself (which may name a person) stays off the ledger with the two parties. Either side
can later prove what was asked and answered by showing a message whose digest is recorded.

State keys::

    interop/message/<digest>   {digest, direction, sender, receiver, action, message_id, transaction_id, time_ms, outcome, organisation, height, transaction}
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, DATA_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

RECORDERS = (DATA_OFFICER, ADMIN)
"""Who records the organisation's exchanges: its data officers (the interoperability service's key)."""
DIRECTIONS = ("in", "out")
PARTY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")
"""Sender and receiver ids, message and transaction ids, actions: printable ASCII without spaces."""
OUTCOME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
"""What became of a message: ``ack``, ``nack``, ``err.signature.invalid``, ``succ``, ``rjct.…``, ``http.503``."""
MESSAGES_PER_TRANSACTION_MAX = 64


def get_message_key(digest: str) -> str:
    """State key of one recorded message."""
    return f"interop/message/{digest}"


def process_record_messages(context: TransactionContext, args: dict[str, Any]) -> None:
    """Record one to 64 messages exchanged with other systems, all or none; a message already
    recorded (the same digest) is refused, so evidence is never overwritten."""
    require_fields(args, {"messages"})
    require_role_in_region(context, RECORDERS, context.signer["region"])
    messages = args["messages"]
    if type(messages) is not list or not 1 <= len(messages) <= MESSAGES_PER_TRANSACTION_MAX or any(type(item) is not dict for item in messages):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"messages lists 1 to {MESSAGES_PER_TRANSACTION_MAX} message records")
    seen = set()
    for item in messages:
        require_fields(item, {"digest", "direction", "sender", "receiver", "action", "message_id", "transaction_id", "time_ms", "outcome"})
        digest = require_string(item, "digest", DIGEST_PATTERN)
        if digest in seen or context.state.get(get_message_key(digest)) is not None:
            raise Rejection(ResultCode.MESSAGE_EXISTS, f"message {digest} is recorded")
        seen.add(digest)
        context.state.put(get_message_key(digest), {
            "action": require_string(item, "action", PARTY_PATTERN), "digest": digest, "direction": require_choice(item, "direction", DIRECTIONS),
            "height": context.environment.height, "message_id": require_string(item, "message_id", PARTY_PATTERN),
            "organisation": context.signer["organisation"], "outcome": require_string(item, "outcome", OUTCOME_PATTERN),
            "receiver": require_string(item, "receiver", PARTY_PATTERN), "sender": require_string(item, "sender", PARTY_PATTERN),
            "time_ms": require_integer(item, "time_ms", 0, limits.INTEGER_ABSOLUTE_MAX), "transaction": context.envelope.id.hex(),
            "transaction_id": require_string(item, "transaction_id", PARTY_PATTERN),
        })


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "record_messages": process_record_messages,
}
"""The contract's actions by name."""

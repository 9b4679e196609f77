"""Access to personal data, on the ledger: every read of a vault record is a transaction.

The vault (``store/vault.py``) keeps the data; this contract keeps who read which record of whom,
for what purpose, so that a person — or a caseworker on their behalf — can list every access to
their data, and an auditor can check that each had a purpose within the reader's duty and region.

State keys::

    vault/access/<subject>/<transaction id>   {reader, organisation, purpose, record_kind, ...}
"""

import re
from typing import Any, Callable

from reliefledger.ledger.contracts.arguments import require_fields, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, APPROVER, AUDITOR, CASEWORKER, DATA_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN, get_household_key, get_person_key
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

PURPOSES = ("intake", "investigation", "means_test", "decision", "review", "public_notice", "audit", "subject_request", "erasure", "active_discovery")
"""Why personal data may be read: each ties to a step of the statutory duty."""
READERS = (CASEWORKER, APPROVER, AUDITOR, DATA_OFFICER, ADMIN)
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def get_access_prefix(subject: str) -> str:
    """State key prefix of every logged access to ``subject``'s data."""
    return f"vault/access/{subject}/"


def get_subject_region(state: Any, subject: str) -> str:
    """The region of a registered person's household, or of a household."""
    person = state.get(get_person_key(subject))
    household = state.get(get_household_key(person["household"] if person else subject))
    if household is None:
        raise Rejection(ResultCode.PERSON_NOT_FOUND, "the subject is not a registered person or household")
    return household["region"]


def process_log_access(context: TransactionContext, args: dict[str, Any]) -> None:
    """Record one read of one vault record, with its purpose."""
    require_fields(args, {"subject", "record_commitment", "record_kind", "purpose"}, {"case_id"})
    subject = require_string(args, "subject", DIGEST_PATTERN)
    require_role_in_region(context, READERS, get_subject_region(context.state, subject))
    if args["purpose"] not in PURPOSES:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"purpose must be one of {', '.join(PURPOSES)}")
    context.state.put(get_access_prefix(subject) + context.envelope.id.hex(), {
        "case_id": require_string(args, "case_id", IDENTIFIER_PATTERN) if "case_id" in args else None,
        "height": context.environment.height,
        "organisation": context.signer["organisation"],
        "purpose": args["purpose"],
        "reader": context.envelope.body.signer,
        "record_commitment": require_string(args, "record_commitment", DIGEST_PATTERN),
        "record_kind": require_string(args, "record_kind", KIND_PATTERN),
        "time_ms": context.environment.time_ms,
    })


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "log_access": process_log_access,
}
"""The contract's actions by name."""

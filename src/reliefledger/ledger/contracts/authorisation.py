"""Who may act where: roles bound to regions.

A member holds roles and a region. It may act on a subject (a household, a case) only when it
holds one of the roles the step names and the subject's region lies within its own: a township
caseworker acts in its township, a county approver anywhere in its county. Reading aggregates of
the levels below is a query concern, outside contracts.
"""

from typing import Iterable

from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.results import Rejection, ResultCode

CASEWORKER = "caseworker"
"""Township or street-office staff: intake, investigation, visits, opinions, notices."""
APPROVER = "approver"
"""County civil-affairs staff who decide."""
ADMIN = "admin"
"""An organisation's administrator."""
AUDITOR = "auditor"
"""Reads and checks; signs no business step."""
DATA_OFFICER = "data_officer"
"""Answers data-sharing requests for its agency."""
SOCIAL_ORGANISATION = "social_organisation"
"""Staff of a charity or social organisation taking referrals."""
POLICY_ADMIN = "policy_admin"
"""Publishes policy packs."""
FINANCE_OFFICER = "finance_officer"
"""Opens accounts and moves money for its organisation."""


def require_role_in_region(context: TransactionContext, roles: Iterable[str], region: str) -> None:
    """Reject unless the signer holds one of ``roles`` and ``region`` lies within its region."""
    allowed = set(roles)
    if not allowed.intersection(context.signer["roles"]):
        raise Rejection(ResultCode.NOT_AUTHORISED, f"the signer holds none of the roles {', '.join(sorted(allowed))}")
    if not is_within(region, context.signer["region"]):
        raise Rejection(ResultCode.NOT_AUTHORISED, f"region {region} is outside the signer's region {context.signer['region']}")

"""Contracts: pure business rules, one module per domain noun.

Each contract module exposes ``ACTIONS``, a mapping from action name to a function
``(TransactionContext, args) -> None`` that raises ``Rejection`` to refuse.
"""

from typing import Any, Callable

from reliefledger.ledger.contracts import assistance, catalog, membership, policy_packs, registry, vault_access
from reliefledger.ledger.contracts.context import TransactionContext

Action = Callable[[TransactionContext, dict[str, Any]], None]

CONTRACTS: dict[str, dict[str, Action]] = {
    "assistance": assistance.ACTIONS,
    "catalog": catalog.ACTIONS,
    "membership": membership.ACTIONS,
    "policy": policy_packs.ACTIONS,
    "registry": registry.ACTIONS,
    "vault": vault_access.ACTIONS,
}
"""Every contract this build executes, by name."""

__all__ = ["CONTRACTS", "Action", "TransactionContext"]

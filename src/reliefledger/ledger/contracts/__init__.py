"""Contracts: pure business rules, one module per domain noun.

Each contract module exposes ``ACTIONS``, a mapping from action name to a function
``(TransactionContext, args) -> None`` that raises ``Rejection`` to refuse.
"""

from typing import Any, Callable

from reliefledger.ledger.contracts import assistance, catalog, interop, membership, models, money, policy_packs, registry, relief, reports, vault_access
from reliefledger.ledger.contracts.context import TransactionContext

Action = Callable[[TransactionContext, dict[str, Any]], None]

CONTRACTS: dict[str, dict[str, Action]] = {
    "assistance": assistance.ACTIONS,
    "catalog": catalog.ACTIONS,
    "interop": interop.ACTIONS,
    "membership": membership.ACTIONS,
    "models": models.ACTIONS,
    "money": money.ACTIONS,
    "policy": policy_packs.ACTIONS,
    "registry": registry.ACTIONS,
    "relief": relief.ACTIONS,
    "reports": reports.ACTIONS,
    "vault": vault_access.ACTIONS,
}
"""Every contract this build executes, by name."""

BLOCK_START_HOOKS: tuple[Callable[[int, Any], None], ...] = (money.process_block_start, reports.process_block_start)
"""Run at the start of every block with its time and state, before its transactions: what happens
because time passed (pending transfers expiring, reports escalating) happens at the same block on every peer."""

__all__ = ["BLOCK_START_HOOKS", "CONTRACTS", "Action", "TransactionContext"]

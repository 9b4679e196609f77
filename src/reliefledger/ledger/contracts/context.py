"""What a contract action receives: the block environment, the envelope, its signer and state."""

from dataclasses import dataclass
from typing import Any

from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.state import StateOverlay
from reliefledger.ledger.transactions import Envelope


@dataclass(frozen=True)
class TransactionContext:
    """The inputs of one action."""

    environment: BlockEnvironment
    envelope: Envelope
    signer: dict[str, Any]
    """The signer's member record (active, of an active organisation: checked before)."""
    state: StateOverlay
    """This transaction's own overlay: discarded when the action raises ``Rejection``."""

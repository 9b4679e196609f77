"""The block environment: everything a contract may know besides state and its transaction.

Time, height and chain id come from here and nowhere else, so that every peer executing the same
block sees the same values.
"""

from dataclasses import dataclass

from reliefledger.ledger.suites import Suite


@dataclass(frozen=True)
class BlockEnvironment:
    """The inputs of one block's execution."""

    chain_id: str
    """The chain being executed."""
    suite: Suite
    """The chain's crypto suite."""
    height: int
    """The block's height."""
    time_ms: int
    """The block's time, milliseconds since the Unix epoch, from its header."""

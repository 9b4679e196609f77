"""When pending transfers and earmarks expire: the ``money/expiry`` deadline schedule
(``schedule.py``), read at the start of every block. Keys: ``money/expiry/<hour>`` and
``money/expiry-cursor``. A chain that never created a pending transfer with a timeout or an
earmark has no cursor, and the hook writes nothing.
"""

from typing import Any

from reliefledger.ledger.contracts.schedule import DeadlineSchedule

EXPIRIES = DeadlineSchedule("money/expiry")


def schedule_expiry(state: Any, transfer_id: str, expires_ms: int) -> None:
    """File a pending transfer (or an earmark entry) under the hour it expires in."""
    EXPIRIES.add(state, transfer_id, expires_ms)


def take_due_expiries(state: Any, time_ms: int) -> list[str]:
    """Remove from the schedule, and answer in expiry order, every entry due at ``time_ms``."""
    return EXPIRIES.take_due(state, time_ms)

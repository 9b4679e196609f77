"""When pending transfers expire: a schedule read at the start of every block, without scanning.

Contracts read state by key only, so expiries are filed in hourly buckets,
``money/expiry/<hour>`` (a sorted list of ``[expires_ms, transfer id]``), with a cursor,
``money/expiry-cursor``, naming the first hour not yet emptied. At the start of each block every
bucket from the cursor to the block's hour gives up the transfers due by the block's time; earlier
buckets are then empty and the cursor moves up. Expiry is therefore decided by block time alone,
so every peer expires the same transfers in the same block. A chain that never created a pending
transfer with a timeout has no cursor, and the hook writes nothing.
"""

from typing import Any

BUCKET_MS = 3_600_000
CURSOR_KEY = "money/expiry-cursor"


def get_bucket_key(bucket: int) -> str:
    """State key of one hour's expiries."""
    return f"money/expiry/{bucket:012d}"


def schedule_expiry(state: Any, transfer_id: str, expires_ms: int) -> None:
    """File a pending transfer under the hour it expires in."""
    bucket = expires_ms // BUCKET_MS
    entries = state.get(get_bucket_key(bucket)) or []
    state.put(get_bucket_key(bucket), sorted([*entries, [expires_ms, transfer_id]]))
    cursor = state.get(CURSOR_KEY)
    if cursor is None or cursor["next_bucket"] > bucket:
        state.put(CURSOR_KEY, {"next_bucket": bucket if cursor is None else min(bucket, cursor["next_bucket"])})


def take_due_expiries(state: Any, time_ms: int) -> list[str]:
    """Remove from the schedule, and answer in expiry order, every transfer due at ``time_ms``."""
    cursor = state.get(CURSOR_KEY)
    if cursor is None:
        return []
    now_bucket = time_ms // BUCKET_MS
    due: list[str] = []
    for bucket in range(cursor["next_bucket"], now_bucket + 1):
        entries = state.get(get_bucket_key(bucket))
        if not entries:
            continue
        ready = [entry for entry in entries if entry[0] <= time_ms]
        if not ready:
            continue
        due.extend(transfer_id for _, transfer_id in ready)
        rest = [entry for entry in entries if entry[0] > time_ms]
        if rest:
            state.put(get_bucket_key(bucket), rest)
        else:
            state.delete(get_bucket_key(bucket))
    if now_bucket > cursor["next_bucket"]:
        state.put(CURSOR_KEY, {"next_bucket": now_bucket})
    return due

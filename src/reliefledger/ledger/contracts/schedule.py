"""Deadlines read at the start of every block, without scanning: a schedule in hourly buckets.

Contracts read state by key only, so things due at a time are filed in hourly buckets,
``<namespace>/<hour>`` (a sorted list of ``[due_ms, entry]``), with a cursor,
``<namespace>-cursor``, naming the first hour not yet emptied. At the start of each block every
bucket from the cursor to the block's hour gives up the entries due by the block's time; earlier
buckets are then empty and the cursor moves up. What is due is therefore decided by block time
alone, so every peer acts on the same entries in the same block. An entry that stops mattering
(a report resolved before its deadline) is taken out of its bucket, so the work of a block grows
with what falls due, never with everything that was ever scheduled. A namespace never used has no
cursor, and taking from it writes nothing.
"""

from typing import Any

BUCKET_MS = 3_600_000


class DeadlineSchedule:
    """One namespace of scheduled entries (strings), each due at a block time."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.cursor_key = f"{namespace}-cursor"

    def get_bucket_key(self, bucket: int) -> str:
        """State key of one hour's entries."""
        return f"{self.namespace}/{bucket:012d}"

    def add(self, state: Any, entry: str, due_ms: int) -> None:
        """File ``entry`` under the hour it falls due in."""
        bucket = due_ms // BUCKET_MS
        entries = state.get(self.get_bucket_key(bucket)) or []
        state.put(self.get_bucket_key(bucket), sorted([*entries, [due_ms, entry]]))
        cursor = state.get(self.cursor_key)
        if cursor is None or cursor["next_bucket"] > bucket:
            state.put(self.cursor_key, {"next_bucket": bucket if cursor is None else min(bucket, cursor["next_bucket"])})

    def remove(self, state: Any, entry: str, due_ms: int) -> None:
        """Take ``entry`` out before it falls due (nothing happens if it is not filed)."""
        key = self.get_bucket_key(due_ms // BUCKET_MS)
        entries = state.get(key)
        if not entries:
            return
        rest = [item for item in entries if item != [due_ms, entry]]
        if len(rest) == len(entries):
            return
        if rest:
            state.put(key, rest)
        else:
            state.delete(key)

    def take_due(self, state: Any, time_ms: int) -> list[str]:
        """Remove from the schedule, and answer in due order, every entry due at ``time_ms``."""
        cursor = state.get(self.cursor_key)
        if cursor is None:
            return []
        now_bucket = time_ms // BUCKET_MS
        due: list[str] = []
        for bucket in range(cursor["next_bucket"], now_bucket + 1):
            key = self.get_bucket_key(bucket)
            entries = state.get(key)
            if not entries:
                continue
            ready = [entry for entry in entries if entry[0] <= time_ms]
            if not ready:
                continue
            due.extend(entry for _, entry in ready)
            rest = [entry for entry in entries if entry[0] > time_ms]
            if rest:
                state.put(key, rest)
            else:
                state.delete(key)
        if now_bucket > cursor["next_bucket"]:
            state.put(self.cursor_key, {"next_bucket": now_bucket})
        return due

"""World state: keys to canonical JSON values, read through a view, written through an overlay.

The executor never touches storage: it reads through a ``StateReader`` the caller supplies (the
SQLite store, or a dict in tests) and collects writes in an overlay. Each transaction runs in a
child overlay that merges into the block's only when it succeeds, so a rejected transaction
leaves nothing behind. The state digest chains each block's sorted write set onto the previous
digest: two peers that diverge differ from the first divergent block on.
"""

from typing import Any, Iterator, Protocol

from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.suites import Suite

GENESIS_PREVIOUS_DIGEST = bytes(32)
"""The digest the genesis write set is chained onto."""

_DELETED = object()


class StateReader(Protocol):
    """Read access to committed state."""

    def get(self, key: str) -> Any | None:
        """The decoded value at ``key``, or None when absent."""
        ...


class MemoryState:
    """A dict-backed state: the in-memory twin of the SQLite store, for tests and replay."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def get(self, key: str) -> Any | None:
        """The value at ``key``, or None."""
        return self.values.get(key)

    def apply_writes(self, writes: dict[str, Any | None]) -> None:
        """Apply a write set (None deletes)."""
        for key, value in writes.items():
            if value is None:
                self.values.pop(key, None)
            else:
                self.values[key] = value

    def iterate_state_prefix(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """(key, value) under ``prefix`` in key order, like the store's."""
        return iter(sorted((key, value) for key, value in self.values.items() if key.startswith(prefix)))


class StateOverlay:
    """Buffered writes over a reader; ``child`` nests one for a single transaction.

    Reads of the base are remembered (the base does not change while an overlay lives), so a
    block that checks the same signer a thousand times reads its record once. Values are shared,
    never mutated: contracts build new objects to write.
    """

    def __init__(self, base: StateReader) -> None:
        self.base = base
        self.writes: dict[str, Any] = {}
        self._reads: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        """Read through the buffered writes to the base."""
        if key in self.writes:
            value = self.writes[key]
            return None if value is _DELETED else value
        if key not in self._reads:
            self._reads[key] = self.base.get(key)
        return self._reads[key]

    def put(self, key: str, value: Any) -> None:
        """Buffer a write; the value must have a canonical JSON form."""
        self.writes[key] = value

    def delete(self, key: str) -> None:
        """Buffer a deletion."""
        self.writes[key] = _DELETED

    def child(self) -> "StateOverlay":
        """A nested overlay whose writes reach this one only through ``merge_into``."""
        return StateOverlay(self)

    def merge_into(self, parent: "StateOverlay") -> None:
        """Move this overlay's writes into ``parent``."""
        parent.writes.update(self.writes)

    def get_write_set(self) -> dict[str, Any | None]:
        """The writes sorted by key, deletions as None."""
        return {
            key: (None if value is _DELETED else value) for key, value in sorted(self.writes.items())
        }


def compute_state_digest(suite: Suite, previous_digest: bytes, writes: dict[str, Any | None]) -> bytes:
    """H(previous digest || canonical [[key, value], ...] sorted by key)."""
    pairs = [[key, writes[key]] for key in sorted(writes)]
    return suite.compute_hash(previous_digest + encode_canonical(pairs))


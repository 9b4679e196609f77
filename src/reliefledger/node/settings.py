"""Node settings: data with a name, a default and help, loaded once at the node's edge.

They live in ``DIR/node.json``; anything missing takes its default. Units are in the names.
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ordering.protocol import BatchLimits


@dataclass(frozen=True)
class NodeSettings:
    """How one peer runs."""

    host: str = "127.0.0.1"
    """Address the HTTP API listens on."""
    port: int = 8000
    """Port the HTTP API listens on."""
    orderer: str = "solo"
    """Ordering service: ``solo`` (in-process), or the NATS JetStream cluster's servers
    ``nats://host:port,nats://host:port,...``."""
    cutter: str = "standby"
    """With a NATS orderer and the orderer key in ``keys/``: ``active`` (cuts blocks), ``standby``
    (takes over when the head stalls) or ``off``."""
    block_transactions_max: int = 1024
    """Most transactions the orderer puts in one block."""
    block_bytes_max: int = 4 * 1024 * 1024
    """Most envelope bytes in one block."""
    block_wait_ms_max: int = 20
    """Longest a transaction waits for its block to be cut."""
    pending_transactions_max: int = 100_000
    """Most accepted, uncommitted transactions; beyond it submissions get 503."""
    request_bytes_max: int = 128 * 1024
    """Largest HTTP request body."""
    long_poll_seconds_max: int = 60
    """Longest ``?wait=`` a client may ask for."""
    sqlite_synchronous: str = "FULL"
    """SQLite synchronous mode: FULL survives power loss; NORMAL only process crashes."""
    verify_workers: int = 0
    """Processes that verify signatures of batched submissions (0: verify inline)."""
    ordering_timeout_s: int = 20
    """With a NATS orderer: how long a submission waits for the cluster before failing with 503."""
    organisation: str = ""
    """The organisation that runs this node and owns its vault (empty: the first founder)."""

    def get_batch_limits(self) -> BatchLimits:
        """The orderer's batching limits."""
        return BatchLimits(self.block_transactions_max, self.block_bytes_max, self.block_wait_ms_max)


SETTING_NAMES = tuple(field.name for field in fields(NodeSettings))


def read_settings(path: Path) -> NodeSettings:
    """Read ``node.json``; unknown names and wrong types are errors, not silently ignored."""
    if not path.exists():
        return NodeSettings()
    try:
        value = json.loads(path.read_text())
    except ValueError as error:
        raise LedgerInputError(f"{path}: not JSON ({error})", code="invalid_settings") from None
    if type(value) is not dict:
        raise LedgerInputError(f"{path}: settings must be a JSON object", code="invalid_settings")
    unknown = sorted(set(value) - set(SETTING_NAMES))
    if unknown:
        raise LedgerInputError(f"{path}: unknown settings {', '.join(unknown)}", code="invalid_settings")
    defaults = NodeSettings()
    for name, item in value.items():
        if type(item) is not type(getattr(defaults, name)):
            raise LedgerInputError(f"{path}: {name} must be a {type(getattr(defaults, name)).__name__}", code="invalid_settings")
    return NodeSettings(**value)


def write_settings(path: Path, settings: NodeSettings) -> None:
    """Write ``node.json``."""
    path.write_text(json.dumps(asdict(settings), indent=2) + "\n")

"""Peer attestations: after every block each peer signs (height, block hash, state digest) and
publishes it; every peer checks the others' against its own store and shows who agrees up to
which height. Two different attestations of one height are kept as a proof of divergence and
raise the alarm.

An attestation counts only when its signer is an active member key of an active organisation in
this peer's committed state: a revoked organisation's peer can still read, but its attestations
are refused. The signed bytes carry a domain tag, so an attestation can never pass for a
transaction or an answer batch.
"""

import heapq
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.encoding import decode_json, encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite
from reliefledger.node.keys import KeyFile

logger = logging.getLogger(__name__)

DOMAIN = "reliefledger.attestation.v1"
HEX = re.compile(r"^[0-9a-f]{64,256}$")
FIELDS = ("block_hash", "chain", "height", "organisation", "signer", "state_digest", "type")


def build_attestation(key: KeyFile, organisation: str, chain_id: str, height: int, block_hash: bytes, state_digest: bytes) -> bytes:
    """A signed attestation, as the bytes a peer publishes."""
    body = {"block_hash": block_hash.hex(), "chain": chain_id, "height": height, "organisation": organisation, "signer": key.public_key,
            "state_digest": state_digest.hex(), "type": DOMAIN}
    return encode_canonical({"body": body, "signature": key.suite.sign(key.seed, encode_canonical(body)).hex()})


@dataclass
class PeerView:
    """What one organisation's peer attested, as this peer sees it."""

    height: int = 0
    """The highest height it attested."""
    agrees_up_to: int = 0
    """The highest height at which its attestation matches this peer's own block and digest."""
    diverged_at: int | None = None


@dataclass
class AttestationBook:
    """The attestations this peer has seen, checked against its own store."""

    suite: Suite
    chain_id: str
    read_state: Callable[[str], Any]
    """Committed state (to check that a signer is an active member)."""
    read_own: Callable[[int], tuple[bytes, bytes] | None]
    """This peer's (block hash, state digest) at a height, or None above its tip."""
    peers: dict[str, PeerView] = field(default_factory=dict)
    by_height: dict[int, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    """Signed attestations by height and (block hash, state digest): the first of each kind."""
    divergences: list[dict[str, Any]] = field(default_factory=list)
    """Proofs: two signed attestations of one height that differ."""
    waiting: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    """A heap of (height, arrival, attestation) above this peer's tip, checked when it gets there."""
    arrivals: int = 0
    refused: int = 0
    on_divergence: Callable[[dict[str, Any]], None] = lambda proof: None
    """Called once with each new proof of divergence (the node stores it on disk)."""

    def add(self, data: bytes) -> str:
        """Check and record one published attestation; answer what became of it."""
        try:
            message = decode_json(data)
            body, signature = message["body"], bytes.fromhex(message["signature"])
            if set(body) != set(FIELDS) or body["type"] != DOMAIN or body["chain"] != self.chain_id or type(body["height"]) is not int or body["height"] < 1:
                raise ValueError("not an attestation of this chain")
            if not all(type(body[name]) is str and HEX.match(body[name]) for name in ("block_hash", "state_digest", "signer")) or type(body["organisation"]) is not str:
                raise ValueError("hashes, digest and signer are lowercase hex")
            signer_key = bytes.fromhex(body["signer"])
        except (LedgerInputError, KeyError, TypeError, ValueError) as error:
            self.refused += 1
            return f"refused: {error}"
        member = self.read_state(get_member_key(body["signer"]))
        if member is None or member["organisation"] != body["organisation"] or not is_signer_active(_Reader(self.read_state), member):
            self.refused += 1
            return "refused: the signer is not an active member of that organisation"
        if not self.suite.is_valid_signature(signer_key, encode_canonical(body), signature):
            self.refused += 1
            return "refused: bad signature"
        signed = {"body": body, "signature": message["signature"]}
        kinds = self.by_height.setdefault(body["height"], {})
        kinds.setdefault((body["block_hash"], body["state_digest"]), signed)
        if len(kinds) > 1:
            first, second = list(kinds.values())[:2]
            proof = {"height": body["height"], "first": first, "second": second}
            if proof not in self.divergences:
                # Kept on disk before it is shown: whoever sees the proof can find it stored.
                self.on_divergence(proof)
                self.divergences.append(proof)
                logger.critical("ALARM: two different attestations of height %d: %s and %s", body["height"], first["body"]["organisation"],
                                second["body"]["organisation"])
        view = self.peers.setdefault(body["organisation"], PeerView())
        view.height = max(view.height, body["height"])
        return self._compare(signed)

    def recheck(self) -> None:
        """Compare the attestations this peer's tip has now reached (call after each commit): only
        the lowest waiting heights are looked at, so a long catch-up stays cheap."""
        while self.waiting and self.read_own(self.waiting[0][0]) is not None:
            _, _, signed = heapq.heappop(self.waiting)
            self._compare(signed)

    def _compare(self, signed: dict[str, Any]) -> str:
        body = signed["body"]
        own = self.read_own(body["height"])
        if own is None:
            self.arrivals += 1
            heapq.heappush(self.waiting, (body["height"], self.arrivals, signed))
            return "waiting"
        view = self.peers[body["organisation"]]
        if (own[0].hex(), own[1].hex()) == (body["block_hash"], body["state_digest"]):
            if view.diverged_at is None or body["height"] < view.diverged_at:
                view.agrees_up_to = max(view.agrees_up_to, body["height"])
            return "agrees"
        if view.diverged_at is None or body["height"] < view.diverged_at:
            view.diverged_at = body["height"]
        logger.critical("ALARM: %s attests height %d differently from this peer", body["organisation"], body["height"])
        return "differs"

    def get_highest_agreeing_height(self) -> int:
        """The highest height that at least two organisations' peers, neither diverged from this
        one, have attested: one peer alone (buggy, or fed by another cluster) cannot make the
        cutters wait for blocks that never existed."""
        heights = sorted((view.height for view in self.peers.values() if view.diverged_at is None), reverse=True)
        return heights[1] if len(heights) > 1 else 0

    def to_json(self) -> dict[str, Any]:
        """The agreement view: per organisation, its last attested height, how far it agrees with
        this peer, where it diverged; the proofs of divergence; how many attestations were refused."""
        return {"peers": {name: {"height": view.height, "agrees_up_to": view.agrees_up_to, "diverged_at": view.diverged_at}
                          for name, view in sorted(self.peers.items())},
                "divergences": self.divergences, "refused": self.refused}


class _Reader:
    """``is_signer_active`` reads state through ``.get``."""

    def __init__(self, read: Callable[[str], Any]) -> None:
        self.get = read

"""Shared builders for the ledger tests: deterministic keys, a genesis, signed bodies, blocks.

Keys come from seeds ``bytes([i]) * 32``: seeds 1, 2, 3... are the founding organisations' first
admins, ``ORDERER_SEED`` the orderer, anything else (10 and up by convention) extra members.
``Network`` keeps the committed state, digest, height, time and claimed ids of one chain so a test
can execute block after block the way a peer would.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.contracts.membership import (
    FOUNDING_KEY,
    get_member_key,
    get_organisation_key,
    get_proposal_key,
)
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.execute import BlockOutcome, execute_block
from reliefledger.ledger.genesis import Genesis, parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.state import MemoryState
from reliefledger.ledger.suites import Suite, get_suite
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction

SUITE_NAMES = ("ed25519-sha256", "sm2-sm3")
CHAIN_ID = "relief-test"
GENESIS_TIME_MS = 1_700_000_000_000
BLOCK_INTERVAL_MS = 2_000
ORDERER_SEED = bytes([200]) * 32
VALIDITY_MS = 3_600_000
"""How long past the block time the builder's transactions stay valid by default."""

VECTORS_DIRECTORY = Path(__file__).resolve().parent.parent / "vectors"

FOUNDER_IDS = ("civil-affairs", "hrss", "medical-security", "housing", "public-security")
FOUNDER_NAMES = ("民政局", "人力资源和社会保障局", "医疗保障局", "住房和城乡建设局", "公安局")


def load_vectors(name: str) -> dict[str, Any]:
    """A vector file copied into tests/vectors (never read from outside the repository)."""
    return json.loads((VECTORS_DIRECTORY / name).read_text(encoding="utf-8"))


def seed_for(index: int) -> bytes:
    """The deterministic 32-byte seed number ``index``."""
    return bytes([index]) * 32


@dataclass(frozen=True)
class Key:
    """A member key: its seed and its public key under a suite."""

    seed: bytes
    public: bytes

    @property
    def hex(self) -> str:
        """The public key as lowercase hex, the form used in bodies and state keys."""
        return self.public.hex()


def make_key(suite: Suite, index: int) -> Key:
    """The key derived from seed ``index`` under ``suite``."""
    seed = seed_for(index)
    return Key(seed, suite.compute_public_key(seed))


def build_organisation_spec(
    suite: Suite,
    organisation_id: str,
    admin_index: int,
    *,
    name: str = "测试机构",
    kind: str = "government_department",
    region: str = "330100",
) -> dict[str, Any]:
    """An organisation description as genesis and governance proposals carry it."""
    return {
        "admin_key": make_key(suite, admin_index).hex,
        "id": organisation_id,
        "kind": kind,
        "name": name,
        "region": region,
    }


def build_genesis_document(suite_name: str, founder_count: int = 3) -> dict[str, Any]:
    """A genesis with ``founder_count`` founding organisations, admins on seeds 1..n."""
    suite = get_suite(suite_name)
    return {
        "chain_id": CHAIN_ID,
        "orderers": [suite.compute_public_key(ORDERER_SEED).hex()],
        "organisations": [
            build_organisation_spec(suite, FOUNDER_IDS[index], index + 1, name=FOUNDER_NAMES[index])
            for index in range(founder_count)
        ],
        "suite": suite_name,
        "time_ms": GENESIS_TIME_MS,
    }


@dataclass
class Network:
    """One chain as a single peer sees it: committed state and everything needed to extend it."""

    genesis: Genesis
    state: MemoryState
    digest: bytes
    height: int = 0
    time_ms: int = GENESIS_TIME_MS
    committed_ids: set[bytes] = field(default_factory=set)
    digests: list[bytes] = field(default_factory=list)
    nonce_counter: int = 0

    @classmethod
    def create(cls, suite_name: str, founder_count: int = 3) -> "Network":
        """A fresh chain at height 0 with its genesis state committed."""
        genesis = parse_genesis(build_genesis_document(suite_name, founder_count))
        writes, digest = compute_genesis_state(genesis)
        return cls(genesis, MemoryState(writes), digest, digests=[digest])

    @property
    def suite(self) -> Suite:
        return self.genesis.suite

    def key(self, index: int) -> Key:
        """The key of seed ``index`` under this chain's suite (founder admins are 1, 2, 3...)."""
        return make_key(self.suite, index)

    def founder(self, position: int) -> str:
        """Id of founding organisation number ``position`` (1-based, as its admin's seed)."""
        return FOUNDER_IDS[position - 1]

    def next_time_ms(self) -> int:
        """Time of the next block under the default spacing."""
        return self.time_ms + BLOCK_INTERVAL_MS

    def body(
        self,
        signer: int | Key,
        action: str,
        args: dict[str, Any],
        *,
        contract: str = "membership",
        nonce: str | None = None,
        valid_until: int | None = None,
        chain: str | None = None,
    ) -> TransactionBody:
        """A body signed by ``signer``, valid for an hour past the next block by default."""
        key = signer if isinstance(signer, Key) else self.key(signer)
        if nonce is None:
            self.nonce_counter += 1
            nonce = f"n{self.nonce_counter}"
        return TransactionBody(
            chain=CHAIN_ID if chain is None else chain,
            contract=contract,
            action=action,
            args=args,
            signer=key.hex,
            nonce=nonce,
            valid_until=self.next_time_ms() + VALIDITY_MS if valid_until is None else valid_until,
        )

    def sign(self, signer: int | Key, action: str, args: dict[str, Any], **options: Any) -> Envelope:
        """Build and sign a body with the signer's own key."""
        key = signer if isinstance(signer, Key) else self.key(signer)
        return sign_transaction(self.suite, key.seed, self.body(key, action, args, **options))

    # Membership actions, for readability.
    def admit(self, signer: int, member: int, roles: Sequence[str] = ("clerk",), **options: Any) -> Envelope:
        return self.sign(signer, "admit_member", {"public_key": self.key(member).hex, "roles": list(roles)}, **options)

    def revoke(self, signer: int, member: int, **options: Any) -> Envelope:
        return self.sign(signer, "revoke_member", {"public_key": self.key(member).hex}, **options)

    def propose_admit(
        self,
        signer: int,
        proposal_id: str,
        organisation_id: str,
        admin_index: int,
        *,
        founding: bool = False,
        lifetime_ms: int | None = None,
        **options: Any,
    ) -> Envelope:
        args: dict[str, Any] = {
            "change": {
                "founding": founding,
                "kind": "admit_organisation",
                "organisation": build_organisation_spec(self.suite, organisation_id, admin_index),
            },
            "proposal_id": proposal_id,
        }
        if lifetime_ms is not None:
            args["lifetime_ms"] = lifetime_ms
        return self.sign(signer, "propose", args, **options)

    def propose_remove(self, signer: int, proposal_id: str, organisation_id: str, **options: Any) -> Envelope:
        args = {"change": {"kind": "remove_organisation", "organisation_id": organisation_id}, "proposal_id": proposal_id}
        return self.sign(signer, "propose", args, **options)

    def vote(self, signer: int, proposal_id: str, **options: Any) -> Envelope:
        return self.sign(signer, "vote", {"proposal_id": proposal_id}, **options)

    def environment(self, time_ms: int | None = None) -> BlockEnvironment:
        """The environment of the next block."""
        return BlockEnvironment(
            chain_id=CHAIN_ID,
            suite=self.suite,
            height=self.height + 1,
            time_ms=self.next_time_ms() if time_ms is None else time_ms,
        )

    def preview(
        self,
        transactions: Sequence[Envelope],
        *,
        time_ms: int | None = None,
        check_signature: Callable[[Envelope], bool] | None = None,
        is_committed_id: Callable[[bytes], bool] | None = None,
    ) -> BlockOutcome:
        """Execute the next block without committing it."""
        options: dict[str, Any] = {}
        if check_signature is not None:
            options["check_signature"] = check_signature
        return execute_block(
            self.environment(time_ms),
            transactions,
            self.state,
            self.digest,
            is_committed_id=self.committed_ids.__contains__ if is_committed_id is None else is_committed_id,
            **options,
        )

    def execute(self, transactions: Sequence[Envelope], **options: Any) -> BlockOutcome:
        """Execute and commit the next block; return its outcome."""
        time_ms = options.get("time_ms")
        outcome = self.preview(transactions, **options)
        self.state.apply_writes(outcome.writes)
        self.digest = outcome.state_digest
        self.digests.append(outcome.state_digest)
        self.height += 1
        self.time_ms = self.next_time_ms() if time_ms is None else time_ms
        for result in outcome.results:
            if result.code.claims_id:
                self.committed_ids.add(result.id)
        return outcome

    def run(self, *transactions: Envelope, **options: Any) -> list[ResultCode]:
        """Execute and commit one block; return its result codes."""
        return codes(self.execute(transactions, **options))

    def run_one(self, transaction: Envelope, **options: Any) -> ResultCode:
        """Execute and commit a block of one transaction; return its code."""
        (code,) = self.run(transaction, **options)
        return code

    # Reads.
    def member(self, index: int) -> dict[str, Any] | None:
        return self.state.get(get_member_key(self.key(index).hex))

    def organisation(self, organisation_id: str) -> dict[str, Any] | None:
        return self.state.get(get_organisation_key(organisation_id))

    def proposal(self, proposal_id: str) -> dict[str, Any] | None:
        return self.state.get(get_proposal_key(proposal_id))

    def founding(self) -> list[str]:
        return self.state.get(FOUNDING_KEY)["organisations"]


def codes(outcome: BlockOutcome) -> list[ResultCode]:
    """The result codes of a block, in order."""
    return [result.code for result in outcome.results]


def other_suite_name(suite_name: str) -> str:
    """The one suite that is not ``suite_name``."""
    (other,) = [name for name in SUITE_NAMES if name != suite_name]
    return other


__all__ = [
    "CHAIN_ID",
    "GENESIS_TIME_MS",
    "Key",
    "Network",
    "SUITE_NAMES",
    "build_genesis_document",
    "build_organisation_spec",
    "codes",
    "load_vectors",
    "make_key",
    "other_suite_name",
    "seed_for",
]

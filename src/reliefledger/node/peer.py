"""The peer: accepts envelopes at its edge, orders them, executes and commits blocks.

Flow of a transaction: ``submit`` parses it and checks it cheaply (size, form, chain, suite,
known active signer, validity window, signature); it is written to the durable mempool before
the client hears 202, then handed to the orderer. The commit loop takes each ordered block,
checks that it extends the last committed block, executes it and commits block, results, state
and the settling of its mempool rows in one SQLite transaction. After a crash the mempool is
ordered again, so every accepted transaction ends committed or rejected, and the id index makes
sure none executes twice.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from reliefledger.ledger import limits, merkle
from reliefledger.ledger.blocks import Block, compute_block_hash
from reliefledger.ledger.chain import find_block_fault
from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.errors import EnvelopeError, InvariantViolation, LedgerInputError, SignatureError
from reliefledger.ledger.execute import TransactionResult, execute_block, explain_transaction
from reliefledger.ledger.state import StateOverlay
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import Envelope, is_signature_valid, parse_envelope
from reliefledger.node.verification import SignatureVerifier
from reliefledger.ordering.protocol import ChainPosition, Orderer
from reliefledger.store.block_store import BlockStore, Tip

logger = logging.getLogger(__name__)


class NodeBusy(LedgerInputError):
    """Too many transactions are waiting; the client should retry later (HTTP 503)."""

    code = "busy"


class NodeHalted(LedgerInputError):
    """The node stopped committing because it saw a block that does not extend its chain."""

    code = "halted"


@dataclass
class PendingTransaction:
    """An accepted transaction not yet settled by a committed block."""

    envelope: Envelope
    sequence: int
    """Its mempool row."""


@dataclass(frozen=True)
class Submission:
    """What the node answers to a submission."""

    id: bytes
    accepted: bool
    """True when this call accepted it (HTTP 202); False when the id was already known (200)."""
    status: dict[str, Any]


class Node:
    """One peer over a store and an orderer."""

    def __init__(
        self,
        *,
        store: BlockStore,
        orderer: Orderer,
        clock_ms: Callable[[], int],
        verifier: SignatureVerifier | None = None,
        pending_transactions_max: int = 100_000,
    ) -> None:
        self.store = store
        self.orderer = orderer
        self.clock_ms = clock_ms
        self.verifier = verifier or SignatureVerifier()
        self.pending_transactions_max = pending_transactions_max
        self.genesis = store.get_genesis()
        self.suite = self.genesis.suite
        self.tip: Tip = store.get_tip()
        self.halted: str | None = None
        self.pending: dict[bytes, PendingTransaction] = {}
        self._verified_signatures: dict[bytes, bytes] = {}
        self._edge_reads: dict[str, Any] = {}
        """State read by edge checks since the last commit (cleared by each commit)."""
        self._commit_signal = asyncio.Event()
        self.commit_listeners: list[Callable[[Block], None]] = []
        """Called after each committed block (the benchmark measures latency with one)."""
        self._tasks: list[asyncio.Task] = []
        self.attestations: Any = None
        """The peers' attestations (``node/attestations.py``) when ordering runs on a cluster."""

    async def start(self) -> None:
        """Resume ordering after the tip, order again what the mempool holds, start committing."""
        await self.orderer.start(ChainPosition(self.tip.height, self.tip.hash, self.tip.time_ms))
        self._tasks.append(asyncio.create_task(self._run_commit_loop(), name="commit-loop"))
        await self._recover_mempool()

    async def stop(self) -> None:
        """Stop committing and ordering (the store stays open for the caller to close)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # already recorded in self.halted and logged by the commit loop
                pass
        self._tasks.clear()
        await self.orderer.close()

    async def submit(self, data: bytes) -> Submission:
        """Accept one encoded envelope, or raise ``LedgerInputError`` saying why not."""
        envelope = parse_envelope(data)
        known = self._get_known_submission(envelope)
        if known is not None:
            return known
        self._check_edge(envelope)
        if not self.verifier.verify_one(envelope):
            raise SignatureError("the signature does not verify against body.signer")
        return (await self._accept([envelope]))[0]

    async def submit_envelopes(self, envelopes: Sequence[Envelope]) -> list[Submission | LedgerInputError]:
        """Accept a batch of parsed envelopes, verifying their signatures in the worker pool."""
        answers: list[Submission | LedgerInputError | None] = [None] * len(envelopes)
        candidates = []
        for position, envelope in enumerate(envelopes):
            try:
                answers[position] = self._get_known_submission(envelope)
                if answers[position] is None:
                    self._check_edge(envelope)
                    candidates.append(position)
            except LedgerInputError as error:
                answers[position] = error
        validity = await self.verifier.verify_many([envelopes[position] for position in candidates])
        accepted = []
        for position, valid in zip(candidates, validity):
            if valid:
                accepted.append(position)
            else:
                answers[position] = SignatureError("the signature does not verify against body.signer")
        for position, submission in zip(accepted, await self._accept([envelopes[position] for position in accepted])):
            answers[position] = submission
        return answers

    def get_transaction_status(self, transaction_id: bytes, *, with_proofs: bool = True) -> dict[str, Any] | None:
        """Status of an id: committed or rejected (with proofs unless not wanted), pending, or None when unknown."""
        location = self.store.get_transaction_location(transaction_id)
        if location is None:
            if transaction_id in self.pending:
                return {"id": transaction_id.hex(), "status": "pending"}
            return None
        if not with_proofs:
            return {"code": int(location.code), "height": location.height, "id": transaction_id.hex(), "index": location.position,
                    "result": location.code.label, "status": "committed" if location.code.is_committed else "rejected"}
        block = self.store.get_block(location.height)
        results = block.results
        hash_function = self.suite.compute_hash
        leaf_hashes = [merkle.compute_leaf_hash(hash_function, bytes.fromhex(entry[0])) for entry in results]
        result_leaves = [merkle.compute_leaf_hash(hash_function, _encode_result(entry)) for entry in results]
        code = location.code
        return {
            "id": transaction_id.hex(),
            "status": "committed" if code.is_committed else "rejected",
            "height": location.height,
            "index": location.position,
            "code": int(code),
            "result": code.label,
            "block_hash": block.hash.hex(),
            "transaction_root": block.header.transaction_root.hex(),
            "result_root": block.result_root.hex(),
            "proof": merkle.compute_inclusion_proof(hash_function, leaf_hashes, location.position).to_json(),
            "result_proof": merkle.compute_inclusion_proof(hash_function, result_leaves, location.position).to_json(),
        }

    async def wait_for_final_status(self, transaction_id: bytes, timeout_s: float, *, with_proofs: bool = True) -> dict[str, Any] | None:
        """Long-poll: the status once it is final, or as it is when ``timeout_s`` runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            # Cheap checks first: the full status builds two Merkle proofs, once, when final.
            is_pending = transaction_id in self.pending and self.store.get_transaction_location(transaction_id) is None
            remaining = deadline - loop.time()
            if not is_pending or remaining <= 0 or self.halted:
                return self.get_transaction_status(transaction_id, with_proofs=with_proofs)
            try:
                await asyncio.wait_for(self._commit_signal.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def preview(self, envelope: Envelope) -> tuple[ResultCode, str]:
        """What the transaction would get if it were the next block's only one, and why.

        Lets a service refuse a doomed step at once with its reason; ordering can still change
        the outcome (another transaction may come first), so the final status is the block's.
        """
        now_ms = max(self.clock_ms(), self.tip.time_ms)
        environment = BlockEnvironment(self.genesis.chain_id, self.suite, self.tip.height + 1, now_ms)
        overlay = StateOverlay(self.store)
        return explain_transaction(environment, envelope, overlay, set(), self.store.is_committed_id, lambda _: True)

    def get_status(self) -> dict[str, Any]:
        """Chain id, height, last block hash, state digest, pending count, halt reason."""
        return {
            "chain_id": self.genesis.chain_id,
            "suite": self.suite.name,
            "height": self.tip.height,
            "last_block_hash": self.tip.hash.hex(),
            "state_digest": self.tip.state_digest.hex(),
            "time_ms": self.tip.time_ms,
            "pending": len(self.pending),
            "halted": self.halted,
            **({} if self.attestations is None else {"agreement": self.attestations.to_json()["peers"],
                                                    "divergences": len(self.attestations.divergences)}),
        }

    def commit_block(self, block: Block) -> None:
        """Check, execute and commit one ordered block; a block that does not extend the tip halts."""
        fault = find_block_fault(
            self.genesis, block, previous_hash=self.tip.hash, previous_time_ms=self.tip.time_ms, height=self.tip.height + 1
        )
        if fault is not None:
            self.halted = f"block {block.header.height} refused: {fault}"
            logger.error("halting commits: %s", self.halted)
            raise InvariantViolation(self.halted)
        environment = BlockEnvironment(self.genesis.chain_id, self.suite, block.header.height, block.header.time_ms)
        outcome = execute_block(
            environment,
            block.transactions,
            self.store,
            self.tip.state_digest,
            is_committed_id=self.store.is_committed_id,
            check_signature=self._check_signature,
        )
        settled = []
        for envelope in block.transactions:
            pending = self.pending.get(envelope.id)
            if pending is not None:
                settled.append(pending.sequence)
        block_hash = compute_block_hash(self.suite, block.header)
        self.store.commit_block(block, block_hash, outcome, settled)
        for envelope in block.transactions:
            self.pending.pop(envelope.id, None)
        self.tip = Tip(block.header.height, block_hash, block.header.time_ms, outcome.state_digest)
        self._edge_reads.clear()
        signal, self._commit_signal = self._commit_signal, asyncio.Event()
        signal.set()
        for listener in self.commit_listeners:
            listener(block)

    def is_already_committed(self, block: Block) -> bool:
        """True for a block this peer committed already (a redelivery); a different block at a
        committed height is a fork of the ordering service: halt and raise the alarm."""
        if block.header.height > self.tip.height:
            return False
        stored = self.store.get_block(block.header.height)
        if stored is not None and stored.hash == compute_block_hash(self.suite, block.header):
            return True
        self.halted = f"conflicting block at height {block.header.height}: the ordering service offered a block other than the one committed here"
        logger.critical("ALARM, halting commits: %s", self.halted)
        raise InvariantViolation(self.halted)

    async def _run_commit_loop(self) -> None:
        while True:
            block = await self.orderer.next_block()
            try:
                if self.is_already_committed(block):
                    continue
                self.commit_block(block)
            except Exception as error:
                # Nothing of the block was committed (one SQLite transaction); stop loudly rather
                # than accept transactions that would never commit.
                if self.halted is None:
                    self.halted = f"committing block {block.header.height} failed: {error!r}"
                    logger.exception("halting commits: %s", self.halted)
                self._commit_signal.set()
                raise

    async def _accept(self, envelopes: list[Envelope]) -> list[Submission]:
        if self.halted:
            raise NodeHalted(f"this node halted: {self.halted}")
        fresh = list({envelope.id: envelope for envelope in envelopes if envelope.id not in self.pending}.values())
        if len(self.pending) + len(fresh) > self.pending_transactions_max:
            raise NodeBusy(f"{len(self.pending)} transactions are waiting; retry shortly")
        sequences = self.store.append_mempool(fresh)
        for envelope, sequence in zip(fresh, sequences):
            self.pending[envelope.id] = PendingTransaction(envelope, sequence)
            self._verified_signatures[envelope.id] = envelope.signature
        try:
            await self.orderer.submit(fresh)
        except LedgerInputError:
            # The ordering cluster is unavailable: forget them here so that resubmitting the same
            # transactions later publishes them again (any that did reach the cluster is ordered
            # once and settles like a transaction from another peer).
            for envelope in fresh:
                self.pending.pop(envelope.id, None)
                self._verified_signatures.pop(envelope.id, None)
            self.store.delete_mempool(sequences)
            raise
        return [Submission(envelope.id, True, {"id": envelope.id.hex(), "status": "pending"}) for envelope in envelopes]

    async def _recover_mempool(self) -> None:
        settled, recovered = [], []
        for sequence, data in self.store.list_mempool():
            envelope = parse_envelope(data)
            if self.store.is_committed_id(envelope.id) or envelope.id in self.pending:
                settled.append(sequence)
                continue
            self.pending[envelope.id] = PendingTransaction(envelope, sequence)
            recovered.append(envelope)
        self.store.delete_mempool(settled)
        if recovered:
            logger.info("ordering %d transactions recovered from the mempool", len(recovered))
        await self.orderer.submit(recovered)

    def _get_known_submission(self, envelope: Envelope) -> Submission | None:
        status = self.get_transaction_status(envelope.id)
        return None if status is None else Submission(envelope.id, False, status)

    def _check_edge(self, envelope: Envelope) -> None:
        body = envelope.body
        if body.chain != self.genesis.chain_id:
            raise EnvelopeError(f"body.chain {body.chain!r} is not this chain ({self.genesis.chain_id})", code="wrong_chain")
        if envelope.suite != self.suite.name:
            raise EnvelopeError(f"suite {envelope.suite} is not this chain's ({self.suite.name})", code="wrong_suite")
        now_ms = max(self.clock_ms(), self.tip.time_ms)
        if body.valid_until < now_ms:
            raise EnvelopeError("valid_until has passed", code="expired")
        if body.valid_until > now_ms + limits.VALIDITY_MS_MAX:
            raise EnvelopeError(f"valid_until lies more than {limits.VALIDITY_MS_MAX} ms ahead", code="validity_too_long")
        member = self.get(get_member_key(body.signer))
        if member is None:
            raise EnvelopeError("body.signer is not a member key of this chain", code="unknown_signer")
        if not is_signer_active(self, member):
            raise EnvelopeError("body.signer has been revoked", code="revoked_signer")

    def get(self, key: str) -> Any | None:
        """Committed state, remembered until the next commit (the edge's ``StateReader``)."""
        if key not in self._edge_reads:
            self._edge_reads[key] = self.store.get(key)
        return self._edge_reads[key]

    def _check_signature(self, envelope: Envelope) -> bool:
        if self._verified_signatures.pop(envelope.id, None) == envelope.signature:
            return True
        return is_signature_valid(envelope)


def _encode_result(entry: list) -> bytes:
    return TransactionResult(bytes.fromhex(entry[0]), ResultCode(entry[1])).encode()

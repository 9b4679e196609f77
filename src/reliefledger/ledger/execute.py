"""The executor: applies an ordered block to state and returns results and the new state digest.

``execute_block`` is a pure function of (environment, transactions, state reader, previous
digest, which ids are already committed). It runs each transaction through the checks common to
all contracts (``process_envelope_checks``), then the contract's action in a child overlay that
is kept only when the action succeeds.
"""

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from reliefledger.ledger import limits, merkle
from reliefledger.ledger.contracts import BLOCK_START_HOOKS, CONTRACTS, TransactionContext
from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.encoding import encode_checked
from reliefledger.ledger.environment import BlockEnvironment
from reliefledger.ledger.results import Rejection, ResultCode
from reliefledger.ledger.state import StateOverlay, StateReader, compute_state_digest
from reliefledger.ledger.transactions import Envelope, is_signature_valid

SignatureCheck = Callable[[Envelope], bool]
IdLookup = Callable[[bytes], bool]


@dataclass(frozen=True)
class TransactionResult:
    """The final status of one ordered transaction."""

    id: bytes
    code: ResultCode

    def encode(self) -> bytes:
        """Canonical JSON ``{"code": n, "id": hex}``: the leaf of the result tree."""
        return encode_checked({"code": int(self.code), "id": self.id.hex()})


@dataclass(frozen=True)
class BlockOutcome:
    """What executing a block produced."""

    results: tuple[TransactionResult, ...]
    writes: dict[str, Any]
    """The block's write set, sorted by key; None marks a deletion."""
    result_root: bytes
    state_digest: bytes


def execute_block(
    environment: BlockEnvironment,
    transactions: Sequence[Envelope],
    state: StateReader,
    previous_digest: bytes,
    *,
    is_committed_id: IdLookup,
    check_signature: SignatureCheck = is_signature_valid,
) -> BlockOutcome:
    """Execute ``transactions`` in order over ``state``.

    ``is_committed_id`` answers whether an id was claimed by an earlier block; ``check_signature``
    lets a node reuse verifications it already did at its edge (it must agree with
    ``is_signature_valid``).
    """
    block_state = StateOverlay(state)
    for hook in BLOCK_START_HOOKS:
        hook(environment.time_ms, block_state)
    claimed_ids: set[bytes] = set()
    results = []
    for envelope in transactions:
        code = process_transaction(environment, envelope, block_state, claimed_ids, is_committed_id, check_signature)
        if code.claims_id:
            claimed_ids.add(envelope.id)
        results.append(TransactionResult(envelope.id, code))
    writes = block_state.get_write_set()
    result_root = merkle.compute_root(environment.suite.compute_hash, [result.encode() for result in results])
    state_digest = compute_state_digest(environment.suite, previous_digest, writes)
    return BlockOutcome(tuple(results), writes, result_root, state_digest)


def process_transaction(
    environment: BlockEnvironment,
    envelope: Envelope,
    block_state: StateOverlay,
    claimed_ids: set[bytes],
    is_committed_id: IdLookup,
    check_signature: SignatureCheck,
) -> ResultCode:
    """Run one transaction; its writes reach ``block_state`` only when it succeeds."""
    return explain_transaction(environment, envelope, block_state, claimed_ids, is_committed_id, check_signature)[0]


def explain_transaction(
    environment: BlockEnvironment,
    envelope: Envelope,
    block_state: StateOverlay,
    claimed_ids: set[bytes],
    is_committed_id: IdLookup,
    check_signature: SignatureCheck,
) -> tuple[ResultCode, str]:
    """``process_transaction`` with the reason: the rejection's message is for people, not blocks.

    A node previews a transaction this way before ordering it, to answer a client with the reason
    at once; only the code is recorded in blocks.
    """
    code = process_envelope_checks(environment, envelope, claimed_ids, is_committed_id, check_signature)
    if code is not ResultCode.OK:
        return code, code.label
    member = block_state.get(get_member_key(envelope.body.signer))
    if member is None:
        return ResultCode.UNKNOWN_SIGNER, "the signer is not a member"
    if not is_signer_active(block_state, member):
        return ResultCode.REVOKED_SIGNER, "the signer or its organisation was revoked"
    actions = CONTRACTS.get(envelope.body.contract)
    if actions is None:
        return ResultCode.UNKNOWN_CONTRACT, f"no contract {envelope.body.contract!r}"
    action = actions.get(envelope.body.action)
    if action is None:
        return ResultCode.UNKNOWN_ACTION, f"{envelope.body.contract} has no action {envelope.body.action!r}"
    transaction_state = block_state.child()
    try:
        action(TransactionContext(environment, envelope, member, transaction_state), envelope.body.args)
    except Rejection as rejection:
        return rejection.code, str(rejection)
    transaction_state.merge_into(block_state)
    return ResultCode.OK, "ok"


def process_envelope_checks(
    environment: BlockEnvironment,
    envelope: Envelope,
    claimed_ids: set[bytes],
    is_committed_id: IdLookup,
    check_signature: SignatureCheck,
) -> ResultCode:
    """The checks every transaction passes before its contract runs, in precedence order."""
    body = envelope.body
    if body.chain != environment.chain_id:
        return ResultCode.WRONG_CHAIN
    if envelope.suite != environment.suite.name:
        return ResultCode.WRONG_SUITE
    if not check_signature(envelope):
        return ResultCode.BAD_SIGNATURE
    if envelope.id in claimed_ids or is_committed_id(envelope.id):
        return ResultCode.DUPLICATE
    if body.valid_until < environment.time_ms:
        return ResultCode.EXPIRED
    if body.valid_until > environment.time_ms + limits.VALIDITY_MS_MAX:
        return ResultCode.VALIDITY_TOO_LONG
    return ResultCode.OK

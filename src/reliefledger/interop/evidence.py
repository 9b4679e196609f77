"""Every DCI or G2P Connect message in or out, recorded on the ledger (``interop.record_messages``)
by its digest, with who sent it to whom, the action, its ids, when and what became of it.

The digest is the ledger suite's hash (SHA-256 or SM3) of the canonical JSON of the whole body as
sent or received, signature included (a multipart form's file as base64 text): either party can later show the message and anyone can
check it against the ledger. Ids a partner chose are recorded as sent when they are printable
ASCII of at most 128 characters, else as ``h:`` and the first 32 hex digits of their digest (a
fuzzer's ids can be anything). A message is recorded before its answer counts as given: the
acknowledgement of an inbound request leaves only after its evidence is committed.
"""

import asyncio
import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from reliefledger.ledger.contracts.interop import MESSAGES_PER_TRANSACTION_MAX
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.staff import StaffMember

PARTY = re.compile(r"[\x21-\x7e]{1,128}")


def _encode(body: Any) -> bytes:
    """The canonical JSON of a body; a multipart form's file (bytes) enters as base64 text."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=lambda value: {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else str(value)).encode()


def to_party(value: Any) -> str:
    """An id as the ledger records it (see the module's docstring)."""
    if isinstance(value, str) and PARTY.fullmatch(value):
        return value
    return "h:" + hashlib.sha256(repr(value).encode()).hexdigest()[:32]


def to_outcome(value: str) -> str:
    """An outcome in the ledger's form: lowercase, at most 64 characters."""
    cleaned = re.sub(r"[^a-z0-9_.-]", "-", value.lower())[:64]
    return cleaned if cleaned and cleaned[0].isalpha() else f"x{cleaned}"[:64]


@dataclass
class EvidenceLog:
    """Records messages with the key of the service's data officer.

    Records are committed in groups: while one transaction is on its way, the records of every
    exchange that arrives meanwhile wait together and go in the next one (up to the contract's
    ``MESSAGES_PER_TRANSACTION_MAX``), so concurrent partners share commits instead of queueing
    for one each. A group the ledger refuses is tried again one exchange at a time, so one bad
    record fails only its own exchange."""

    casework: Casework
    actor: StaffMember
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One transaction at a time: two copies of the same message arriving together are recorded once."""
    waiting: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = field(default_factory=list)

    def describe(self, body: Any, *, direction: str, sender: Any, receiver: Any, action: Any, message_id: Any, transaction_id: Any,
                 outcome: str) -> dict[str, Any]:
        """One message's record (not yet on the ledger)."""
        return {"digest": self.casework.node.suite.compute_hash(_encode(body)).hex(), "direction": direction, "sender": to_party(sender),
                "receiver": to_party(receiver), "action": to_party(action), "message_id": to_party(message_id),
                "transaction_id": to_party(transaction_id), "time_ms": self.casework.node.clock_ms(), "outcome": to_outcome(outcome)}

    async def record(self, *messages: dict[str, Any]) -> None:
        """Put records on the ledger and wait until they are committed (``CaseworkError`` when the
        ledger cannot take them). A message recorded before (the same bytes sent twice) is not
        recorded again."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((list(messages), done))
        async with self.lock:
            if not done.done():
                group, self.waiting = _take_group(self.waiting)
                await self._commit(group)
        await done

    async def _commit(self, group: list[tuple[list[dict[str, Any]], asyncio.Future[None]]]) -> None:
        """One transaction for the group; on a refusal, one per exchange; each waiter told its outcome."""
        try:
            await self._submit([message for messages, _ in group for message in messages])
        except CaseworkError as error:
            if len(group) == 1:
                _settle(group[0][1], error)
                return
            for messages, done in group:
                try:
                    await self._submit(messages)
                except CaseworkError as single:
                    _settle(done, single)
                else:
                    _settle(done, None)
            return
        for _, done in group:
            _settle(done, None)

    async def _submit(self, messages: list[dict[str, Any]]) -> None:
        fresh = list({message["digest"]: message for message in messages}.values())
        fresh = [message for message in fresh if self.casework.node.store.get(f"interop/message/{message['digest']}") is None]
        if fresh:
            await self.casework.submit(self.actor, "interop", "record_messages", {"messages": fresh})


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    """Tell a waiter its outcome (unless it stopped waiting: its exchange was cancelled)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def _take_group(waiting: list[tuple[list[dict[str, Any]], Any]]) -> tuple[list[tuple[list[dict[str, Any]], Any]], list[tuple[list[dict[str, Any]], Any]]]:
    """The waiters whose records fit one transaction (at least the first), and the rest."""
    group, count = [], 0
    for index, (messages, done) in enumerate(waiting):
        if group and count + len(messages) > MESSAGES_PER_TRANSACTION_MAX:
            return group, waiting[index:]
        group.append((messages, done))
        count += len(messages)
    return group, []

"""A data-owning agency's service: answers means-test query batches and records them on the ledger.

The service reads the ledger's state (to check approvals, cases and households before it reads
its own data), answers from its own source, signs, and submits one ``catalog.record_answers``
transaction per request and chunk before it replies, so a means test that names its answers is
ordered after them. Where the ledger is depends on how the agency runs:

- ``EmbeddedLedger``: in the node's own process (the embedded default, tests, the demo);
- ``NodeLedger``: in a process of its own (``reliefledger agency``), reading the committed state
  from the node's store file read-only (SQLite WAL lets readers and the node's writer work at
  once) and submitting its records to the node's HTTP API. With the multi-node network each
  agency reads its own peer's store the same way.
"""

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from reliefledger.ledger.contracts.catalog import ANSWERS_PER_TRANSACTION_MAX, get_request_key, get_resource_key
from reliefledger.ledger.encoding import encode_checked
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.limits import TRANSACTION_BYTES_MAX
from reliefledger.ledger.state import StateReader
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.agency_answers import AgencyQuery, AnswerBatch, QueryBatch, answer_queries
from reliefledger.node.agency_sources import AgencySource
from reliefledger.node.keys import KeyFile
from reliefledger.node.peer import Node

RECORD_BYTES_MAX = TRANSACTION_BYTES_MAX // 2
"""Answer records per ``record_answers`` transaction are cut well below the transaction size limit."""
VALIDITY_MS = 10 * 60 * 1000


class LedgerUnavailable(LedgerInputError):
    """The agency's records could not be handed to the ledger; its answers would be unusable."""

    code = "ledger_unavailable"
    status = 503


class LedgerAccess(Protocol):
    """What an agency service needs of the ledger."""

    chain_id: str
    state: StateReader

    def now_ms(self) -> int:
        """The time the agency answers at (approvals expire by it)."""
        ...

    async def submit(self, envelope: Envelope) -> None:
        """Hand a signed transaction to the orderer, or raise ``LedgerUnavailable``."""
        ...


class TipCachedState:
    """The node's committed state read through a cache that lives until the next commit.

    Embedded, every agency checks the same cases and households against the same committed state:
    what one agency read, the next reads from memory, and a commit (a new tip) empties the cache.
    Values are shared, never mutated.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self._tip: Any = None
        self._values: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        """The committed value at ``key`` as of the node's current tip."""
        if self._tip is not self.node.tip:
            self._tip, self._values = self.node.tip, {}
        if key not in self._values:
            self._values[key] = self.node.store.get(key)
        return self._values[key]


class EmbeddedLedger:
    """The node in this process."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain_id = node.genesis.chain_id
        self.state = TipCachedState(node)

    def now_ms(self) -> int:
        """The node's clock, never before its tip."""
        return max(self.node.clock_ms(), self.node.tip.time_ms)

    async def submit(self, envelope: Envelope) -> None:
        """Submit to the node directly (no parse of what was just signed)."""
        (accepted,) = await self.node.submit_envelopes([envelope])
        if isinstance(accepted, LedgerInputError):
            raise LedgerUnavailable(f"the node refused the answer record: {accepted}")


class NodeLedger:
    """A node reached over HTTP, its committed state read from its store file."""

    def __init__(self, state: StateReader, chain_id: str, node_url: str, client: httpx.AsyncClient) -> None:
        self.state = state
        self.chain_id = chain_id
        self.node_url = node_url.rstrip("/")
        self.client = client

    def now_ms(self) -> int:
        """This machine's clock."""
        return time.time_ns() // 1_000_000

    async def submit(self, envelope: Envelope) -> None:
        """POST the transaction to the node; 200 and 202 both mean it is (or was) ordered."""
        try:
            response = await self.client.post(f"{self.node_url}/v1/transactions", content=envelope.encoded,
                                               headers={"content-type": "application/json"})
        except httpx.HTTPError as error:
            raise LedgerUnavailable(f"the node at {self.node_url} cannot be reached: {error}") from None
        if response.status_code not in (200, 202):
            raise LedgerUnavailable(f"the node refused the answer record: HTTP {response.status_code} {response.text[:300]}")


@dataclass
class AgencyService:
    """An agency's side: answers from its source and records the answers' digests on the ledger."""

    agency: str
    key: KeyFile
    source: AgencySource
    ledger: LedgerAccess
    delay_s: float = 0.0
    """Simulated slowness (tests and the demo use it to show a late agency)."""
    _answered: dict[str, tuple[dict[str, Any], str, str, dict[str, Any]]] = field(default_factory=dict)
    """Answers given (document, digest, record id, the query as asked) by query id: a retry of the
    same query gets the same answer; the same id with other terms is refused."""

    async def ask(self, batch: QueryBatch) -> AnswerBatch:
        """Answer a batch; every answer and refusal is on its way to the ledger before this returns."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        fresh = answer_queries(self.ledger.state, self.source, batch, agency=self.agency, key=self.key, now_ms=self.ledger.now_ms())
        answers = AnswerBatch(self.agency, batch.batch_id, {}, {}, {}, "", "", {})
        to_record = []
        for query in batch.queries:
            query_id = query.query_id
            cached = self._answered.get(query_id)
            if cached is not None and (query_id not in fresh.documents or cached[3] != {**query.to_json(), "requester": batch.requester}):
                # The id was answered for another query, or this one is outside the terms now: never hand the old answer over.
                answers.refusals[query_id] = fresh.refusals.get(query_id, "the query id was used before for another query")
            elif cached is not None:  # a retry of the same query, still within the terms: the answer already given and recorded
                answers.documents[query_id], answers.digests[query_id], answers.records[query_id] = cached[:3]
            elif query_id in fresh.documents:
                answers.documents[query_id], answers.digests[query_id] = fresh.documents[query_id], fresh.digests[query_id]
                to_record.append((query, {"outcome": "answered", "digest": fresh.digests[query_id]}))
            else:
                answers.refusals[query_id] = fresh.refusals[query_id]
                to_record.append((query, {"outcome": "refused", "reason": fresh.refusals[query_id][:400]}))
        answers.records.update(await self._record(batch.batch_id, to_record))
        asked = {query.query_id: {**query.to_json(), "requester": batch.requester} for query in batch.queries}
        self._answered.update((query_id, (answers.documents[query_id], answers.digests[query_id], answers.records[query_id], asked[query_id]))
                              for query_id in answers.documents if query_id in answers.records and query_id not in self._answered)
        return answers.sign(self.key)

    async def _record(self, batch_id: str, outcomes: list[tuple[AgencyQuery, dict[str, Any]]]) -> dict[str, str]:
        """Order the outcomes in as few ``record_answers`` transactions as the size limits allow, one
        request each; answer the record id of each recorded query. Outcomes of queries that rely on
        no request of this agency cannot be recorded by it: they stay in the answer to the requester.
        Not previewed: a record that fails leaves its answers unusable, because the ledger refuses a
        means test naming an answer that is not recorded."""
        by_request: dict[tuple[str, tuple[str, ...]], list[tuple[AgencyQuery, dict[str, Any]]]] = {}
        own = {request_id: self._is_own_request(request_id) for request_id in {query.request_id for query, _ in outcomes}}
        for query, outcome in outcomes:
            if own[query.request_id]:
                by_request.setdefault((query.request_id, tuple(sorted(question.field for question in query.questions))), []).append((query, outcome))
        records: dict[str, str] = {}
        for (request_id, fields), items in by_request.items():
            chunk: dict[str, Any] = {}
            size = 0
            for query, outcome in items:
                discovery = {"household": query.household} if query.household is not None else {}
                entry = {"case_id": query.case_id, "persons": sorted(query.persons), **discovery, **outcome}
                entry_size = len(encode_checked(entry)) + len(query.query_id) + 4
                if chunk and (len(chunk) == ANSWERS_PER_TRANSACTION_MAX or size + entry_size > RECORD_BYTES_MAX):
                    await self._order(f"{batch_id}.{len(set(records.values()))}", request_id, fields, chunk, records)
                    chunk, size = {}, 0
                chunk[query.query_id] = entry
                size += entry_size
            if chunk:
                await self._order(f"{batch_id}.{len(set(records.values()))}", request_id, fields, chunk, records)
        return records

    async def _order(self, record_id: str, request_id: str, fields: tuple[str, ...], chunk: dict[str, Any], records: dict[str, str]) -> None:
        args = {"answers": chunk, "fields": list(fields), "record_id": record_id, "request_id": request_id}
        body = TransactionBody(self.ledger.chain_id, "catalog", "record_answers", args, self.key.public_key, secrets.token_hex(8),
                               self.ledger.now_ms() + VALIDITY_MS)
        await self.ledger.submit(sign_transaction(self.key.suite, self.key.seed, body))
        records.update(dict.fromkeys(chunk, record_id))

    def _is_own_request(self, request_id: str) -> bool:
        request = self.ledger.state.get(get_request_key(request_id))
        resource = self.ledger.state.get(get_resource_key(request["resource"])) if request else None
        return resource is not None and resource["owner"] == self.agency

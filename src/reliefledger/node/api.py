"""The node's HTTP API (FastAPI; OpenAPI at /docs).

Every error is answered as ``{"code": "...", "message": "..."}`` with a 4xx status (503 when the
node is busy or halted), never a traceback. Request bodies are bounded before they are read.
"""

import re
from typing import Any

import orjson

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from reliefledger import __version__
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.transactions import parse_envelope_value
from reliefledger.node.peer import Node
from reliefledger.node.receipts import build_receipt
from reliefledger.node.reports import get_public_view

TRANSACTION_ID_PATTERN = re.compile(r"^[0-9a-f]{64}$")
BATCH_TRANSACTIONS_MAX = 4096
BATCH_BYTES_FACTOR = 64
"""A batch may be this many times larger than one request."""
STATUS_BY_CODE = {"too_large": 413, "busy": 503, "halted": 503, "not_found": 404, "ordering_unavailable": 503}


class ErrorAnswer(BaseModel):
    """Every error the API answers."""

    code: str = Field(description="Stable machine-readable error code")
    message: str = Field(description="What was wrong, for a person")


class StatusAnswer(BaseModel):
    """The node's view of the chain."""

    chain_id: str
    suite: str
    height: int
    last_block_hash: str
    state_digest: str
    time_ms: int
    pending: int
    halted: str | None
    agreement: dict[str, Any] | None = Field(None, description="With a cluster: per organisation, its last attested height, how far it agrees, where it diverged")
    divergences: int | None = Field(None, description="With a cluster: proofs of divergence held (each raised the alarm)")


class ProofAnswer(BaseModel):
    """An RFC 9162 inclusion proof."""

    leaf_index: int
    tree_size: int
    audit_path: list[str]


class TransactionAnswer(BaseModel):
    """The status of a transaction; proofs once it is final."""

    id: str
    status: str = Field(description="pending, committed or rejected")
    height: int | None = None
    index: int | None = None
    code: int | None = Field(None, description="Result code (docs/protocol.md)")
    result: str | None = Field(None, description="Result code name")
    block_hash: str | None = None
    transaction_root: str | None = None
    result_root: str | None = None
    proof: ProofAnswer | None = Field(None, description="The transaction id's inclusion in transaction_root")
    result_proof: ProofAnswer | None = Field(None, description="The result entry's inclusion in result_root")


ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["body", "signature", "suite"],
    "properties": {
        "body": {
            "type": "object",
            "required": ["action", "args", "chain", "contract", "nonce", "signer", "valid_until"],
            "properties": {
                "action": {"type": "string"},
                "args": {"type": "object"},
                "chain": {"type": "string"},
                "contract": {"type": "string"},
                "nonce": {"type": "string"},
                "signer": {"type": "string", "description": "public key, lowercase hex"},
                "valid_until": {"type": "integer", "description": "block time in ms"},
            },
        },
        "signature": {"type": "string", "description": "lowercase hex"},
        "suite": {"type": "string", "enum": ["ed25519-sha256", "sm2-sm3"]},
    },
}


def create_app(node: Node, *, request_bytes_max: int = 128 * 1024, long_poll_seconds_max: int = 60, casework: APIRouter | None = None) -> FastAPI:
    """Build the API over a started (or soon started) node, with the desk's endpoints when given."""
    app = FastAPI(
        title="ReliefLedger node",
        version=__version__,
        description="Submit signed transactions, follow their status and proofs, read blocks. See docs/protocol.md.",
    )
    install_error_handlers(app)
    if casework is not None:
        app.include_router(casework)
    errors = {400: {"model": ErrorAnswer}, 404: {"model": ErrorAnswer}, 413: {"model": ErrorAnswer}, 503: {"model": ErrorAnswer}}

    @app.get("/v1/status", response_model=StatusAnswer, tags=["chain"])
    async def get_status() -> dict[str, Any]:
        """Chain id, height, last block hash and state digest."""
        return node.get_status()

    @app.get("/v1/genesis", tags=["chain"])
    async def get_genesis() -> dict[str, Any]:
        """The genesis document and its hash (the previous_hash of block 1)."""
        return {"hash": node.genesis.compute_hash().hex(), "document": node.genesis.document}

    @app.post(
        "/v1/transactions",
        status_code=202,
        response_model=TransactionAnswer,
        responses={200: {"model": TransactionAnswer, "description": "already known: its current status"}, **errors},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE_SCHEMA}}}},
        tags=["transactions"],
    )
    async def post_transaction(request: Request) -> Any:
        """Submit a signed envelope: 202 with its id when accepted, 200 with its status when known."""
        body = await read_bounded_body(request, request_bytes_max)
        submission = await node.submit(body)
        return JSONResponse(submission.status, status_code=202 if submission.accepted else 200)

    @app.get("/v1/transactions/{transaction_id}", response_model=TransactionAnswer, responses=errors, tags=["transactions"])
    async def get_transaction(
        transaction_id: str,
        wait: float = Query(0, ge=0, description="Seconds to wait for a final status (long poll)"),
    ) -> Any:
        """Status, result code and inclusion proofs of a transaction."""
        if not TRANSACTION_ID_PATTERN.fullmatch(transaction_id):
            raise LedgerInputError("a transaction id is 64 lowercase hex digits", code="invalid_id")
        identifier = bytes.fromhex(transaction_id)
        if wait > 0:
            status = await node.wait_for_final_status(identifier, min(wait, long_poll_seconds_max))
        else:
            status = node.get_transaction_status(identifier)
        if status is None:
            raise LedgerInputError(f"no transaction {transaction_id} is known here", code="not_found")
        return status

    @app.get("/v1/receipts/{transaction_id}", responses=errors, tags=["transactions"])
    async def get_receipt(transaction_id: str) -> Any:
        """A receipt for a transaction in a block: checkable offline with ``reliefledger verify-receipt``."""
        if not TRANSACTION_ID_PATTERN.fullmatch(transaction_id):
            raise LedgerInputError("a transaction id is 64 lowercase hex digits", code="invalid_id")
        receipt = build_receipt(node, bytes.fromhex(transaction_id))
        if receipt is None:
            raise LedgerInputError(f"transaction {transaction_id} is not in a block here (unknown, or still pending)", code="not_found")
        return receipt

    @app.post("/v1/transactions/batch", responses=errors, tags=["transactions"],
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "array", "items": ENVELOPE_SCHEMA,
                                                                                                         "maxItems": BATCH_TRANSACTIONS_MAX}}}}})
    async def post_transactions(request: Request) -> Any:
        """Submit up to 4,096 signed envelopes at once (a JSON array): one answer each, in order —
        ``{"id", "status", "accepted"}`` (accepted: new here, 202 alone) or ``{"code", "message"}``
        for one refused at the edge. Signatures are verified in the worker processes; accepted ones
        are written to the mempool in one transaction and ordered together."""
        body = await read_bounded_body(request, request_bytes_max * BATCH_BYTES_FACTOR)
        try:
            values = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise LedgerInputError(f"the batch is not JSON: {error}", code="invalid_envelope") from None
        if type(values) is not list or not 1 <= len(values) <= BATCH_TRANSACTIONS_MAX:
            raise LedgerInputError(f"a batch is a JSON array of 1 to {BATCH_TRANSACTIONS_MAX} envelopes", code="invalid_envelope")
        answers: list[Any] = [None] * len(values)
        envelopes, positions = [], []
        for position, value in enumerate(values):
            try:
                envelopes.append(parse_envelope_value(value))
                positions.append(position)
            except LedgerInputError as error:
                answers[position] = {"code": error.code, "message": error.message}
        for position, answer in zip(positions, await node.submit_envelopes(envelopes)):
            answers[position] = ({"code": answer.code, "message": answer.message} if isinstance(answer, LedgerInputError)
                                 else {**answer.status, "accepted": answer.accepted})
        return answers

    @app.get("/v1/attestations", responses=errors, tags=["chain"])
    async def get_attestations() -> Any:
        """Which peers agree with this one up to which height, the proofs of divergence (two signed
        attestations of one height that differ) and how many attestations were refused."""
        if node.attestations is None:
            raise LedgerInputError("this node orders with the solo orderer: there are no other peers to attest", code="not_found")
        return node.attestations.to_json()

    @app.get("/v1/public/reports/{report_id}", responses=errors, tags=["reports"])
    async def follow_report(report_id: str) -> Any:
        """Follow a problem report by its id, without an account: where it is held, its deadline and
        history; no description, caller or case. The filing transaction's receipt proves the filing."""
        view = get_public_view(node.store, report_id) if IDENTIFIER_PATTERN.fullmatch(report_id) else None
        if view is None:
            raise LedgerInputError(f"no report {report_id}", code="not_found")
        return view

    @app.get("/v1/blocks/{height}", responses=errors, tags=["chain"])
    async def get_block(height: int) -> Any:
        """A block's header with the orderer's signature, its transaction ids and results."""
        block = node.store.get_block(height) if 1 <= height <= node.tip.height else None
        if block is None:
            raise LedgerInputError(f"no block at height {height} (heights run from 1 to {node.tip.height}; the genesis is at /v1/genesis)", code="not_found")
        results = block.results
        return {
            "height": block.height,
            "hash": block.hash.hex(),
            "header": block.header.to_json(),
            "orderer_signature": block.orderer_signature.hex(),
            "transaction_ids": [entry[0] for entry in results],
            "results": [{"id": entry[0], "code": entry[1]} for entry in results],
            "result_root": block.result_root.hex(),
            "state_digest": block.state_digest.hex(),
        }

    return app


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """Read a request body, refusing it (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise LedgerInputError(f"request body of {declared} bytes exceeds {limit}", code="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LedgerInputError(f"request body exceeds {limit} bytes", code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure as ``{"code", "message"}``."""

    @app.exception_handler(LedgerInputError)
    async def handle_input_error(request: Request, error: LedgerInputError) -> JSONResponse:
        status = getattr(error, "status", None) or STATUS_BY_CODE.get(error.code, 400)
        return JSONResponse({"code": error.code, "message": error.message}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def handle_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
        return JSONResponse({"code": "invalid_request", "message": details}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def handle_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse({"code": code, "message": str(error.detail)}, status_code=error.status_code)

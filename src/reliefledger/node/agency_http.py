"""Agency services over HTTP: the endpoint an agency serves and the client a desk asks it with.

``POST /v1/agencies/{agency}/queries`` takes a signed query batch (``QueryBatch.to_json``) and
answers the agency's signed answer batch (``AnswerBatch.to_json``). A batch that is malformed is
400; one whose signature is not an active caseworker's or approver's of the requesting
organisation is 403 (refused whole); an unknown agency is 404; a source or ledger that cannot be
reached is 503. Every error is ``{"code", "message"}`` like the node's API.
"""

from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reliefledger import __version__
from reliefledger.ledger.encoding import decode_json
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.agency_answers import AnswerBatch, QueryBatch, QueryRefused
from reliefledger.node.agency_service import AgencyService
from reliefledger.node.api import install_error_handlers, read_bounded_body

BATCH_BYTES_MAX = 16 * 1024 * 1024
"""A batch of 10,000 queries about households of a few members is a few megabytes."""


class AgencyUnavailable(LedgerInputError):
    """An agency that answered with an error (other than refusing the batch)."""

    code = "agency_unavailable"


class MalformedBatch(LedgerInputError):
    """A request body that is not a query batch."""

    code = "malformed_batch"


def create_agency_app(services: dict[str, AgencyService]) -> FastAPI:
    """The HTTP service of the agencies in ``services`` (one process may serve several)."""
    app = FastAPI(title="ReliefLedger agency data service", version=__version__,
                  description="Answers means-test query batches from the agency's own data. See docs/data-sharing.md.")
    install_error_handlers(app)

    @app.get("/v1/agencies", tags=["agency"])
    async def list_agencies() -> dict[str, Any]:
        """The agencies served here and the public keys they sign answers with."""
        return {"agencies": {agency: {"public_key": service.key.public_key} for agency, service in sorted(services.items())}}

    @app.post("/v1/agencies/{agency}/queries", tags=["agency"])
    async def answer(agency: str, request: Request) -> Any:
        """Answer a signed batch of queries; 403 when its signature is not a qualified requester's."""
        service = services.get(agency)
        if service is None:
            return JSONResponse({"code": "not_found", "message": f"agency {agency!r} is not served here"}, status_code=404)
        try:
            batch = QueryBatch.from_json(decode_json(await read_bounded_body(request, BATCH_BYTES_MAX)))
        except QueryRefused as error:
            raise MalformedBatch(error.message) from None
        try:
            return (await service.ask(batch)).to_json()
        except QueryRefused as refusal:
            return JSONResponse({"code": refusal.code, "message": refusal.message}, status_code=403)

    return app


class HttpAgencyClient:
    """A desk's way to an agency served over HTTP (``AgencyClient``)."""

    def __init__(self, base_url: str, agency: str, client: httpx.AsyncClient) -> None:
        self.url = f"{base_url.rstrip('/')}/v1/agencies/{agency}/queries"
        self.client = client

    async def ask(self, batch: QueryBatch) -> AnswerBatch:
        """POST the batch; the agency's answers, ``QueryRefused`` on 403, ``AgencyUnavailable`` otherwise."""
        try:
            response = await self.client.post(self.url, json=batch.to_json())
        except httpx.HTTPError as error:
            raise AgencyUnavailable(f"{self.url} cannot be reached: {type(error).__name__} {error}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 403:
            raise QueryRefused(str(body.get("message", "refused")))
        if response.status_code != 200:
            raise AgencyUnavailable(f"{self.url} answered HTTP {response.status_code}: {body.get('message', response.text[:200])}")
        try:
            return AnswerBatch.from_json(body)
        except ValueError as error:
            raise AgencyUnavailable(f"{self.url} answered something that is not an answer batch: {error}") from None

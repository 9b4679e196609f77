"""Putting the interoperability service on a node's HTTP app: the token endpoint, our JWKS, the
registries, their notifiers, the civil-registration client, and what they share.

``open_interop`` does nothing for a node without ``interop.toml``. Otherwise it adds
``POST /oauth2/client/token`` (authz_core: form fields ``grant_type=client_credentials``,
``client_id``, ``client_secret``, optional ``scope``), ``GET /.well-known/jwks.json`` (jwks_core:
our signing key) and the registries under their base paths, and runs the notifier while the app
serves.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reliefledger.interop.beneficiary_registry import BeneficiaryRegistry
from reliefledger.interop.civil_registration import RESUBSCRIBE_AFTER_S, CivilRegistration
from reliefledger.interop.disburse import Disburse
from reliefledger.interop.envelope import http_error
from reliefledger.interop.evidence import EvidenceLog, to_party
from reliefledger.interop.exchange import ExchangeContext
from reliefledger.interop.exchange_store import ExchangeStore
from reliefledger.interop.external_enrolments import ExternalEnrolments
from reliefledger.interop.mapper import Mapper
from reliefledger.interop.partners import RETRY_DELAYS_S, Partners
from reliefledger.interop.registry_search import LedgerReader
from reliefledger.interop.settings import InteropSettingsError, read_interop_settings
from reliefledger.interop.signatures import to_jwk
from reliefledger.interop.social_registry import NOTIFY_EVERY_S, SocialRegistry
from reliefledger.interop.tokens import TokenError, check_bearer, is_client_secret, issue_token
from reliefledger.interop.vital_events import VitalEventLog
from reliefledger.node.casework import Casework
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.staff import StaffDirectory, StaffMember

STORE_FILE = "interop.sqlite"


@dataclass(frozen=True)
class Registries:
    """The registries a node serves, and the civil registry it follows (when named)."""

    social: SocialRegistry
    beneficiary: BeneficiaryRegistry
    civil: CivilRegistration | None = None
    mapper: Mapper | None = None
    """G2P Connect: the account mapper and disbursement, at ``/g2p``."""
    disburse: Disburse | None = None


@contextlib.asynccontextmanager
async def open_interop(root: Path, casework: Casework, recorder: StaffMember, app: FastAPI, *, notify_every_s: float = NOTIFY_EVERY_S,
                       http: httpx.AsyncClient | None = None, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
                       registrar: StaffMember | None = None, subscribe_every_s: float = RESUBSCRIBE_AFTER_S,
                       disburser: StaffMember | None = None) -> AsyncIterator[Registries | None]:
    """Serve the standards on ``app`` while the block runs; answer the registries (None when the
    node has no ``interop.toml``). ``recorder`` signs the evidence (a data officer); ``registrar``
    applies the civil registry's births and deaths (needed when ``interop.toml`` names one);
    ``disburser`` the G2P disbursements' transfers (a finance officer; None: none is paid)."""
    settings = read_interop_settings(root)
    if settings is None:
        yield None
        return
    if settings.civil_registration is not None and registrar is None:  # refused before anything is opened
        raise InteropSettingsError("interop.toml names a civil registry but no registrar (a caseworker) is given to apply its events")
    node = casework.node
    own_http = http is None
    client = http or httpx.AsyncClient()
    store = ExchangeStore(Path(root) / STORE_FILE)
    clock_ms: Callable[[], int] = node.clock_ms
    partners = Partners(settings, client, clock_s=lambda: clock_ms() // 1000, retry_delays_s=retry_delays_s)
    context = ExchangeContext(settings, partners, store, EvidenceLog(casework, recorder), clock_ms)
    reader = LedgerReader(node.store, node.suite, casework.network_key)
    civil = None
    vital_events = VitalEventLog(store)
    if settings.civil_registration is not None:
        civil = CivilRegistration(context, casework, registrar, settings.civil_registration, vital_events, retry_after_s=subscribe_every_s)
    mapper, disburse = Mapper(context, reader), Disburse(context, reader, casework=casework, disburser=disburser)
    external = ExternalEnrolments(store)
    registries = Registries(SocialRegistry(context, reader, lambda: node.tip.height),
                            BeneficiaryRegistry(context, reader, lambda: node.tip.height, external=external), civil, mapper, disburse)
    mount_authorisation(app, context)
    for service in (registries.social, registries.beneficiary, mapper, disburse):
        service.mount(app)
    loop = asyncio.get_running_loop()
    workers = [loop.create_task(registry.run_notifier(notify_every_s)) for registry in (registries.social, registries.beneficiary)]
    if civil is not None:
        civil.mount(app)
        workers.append(loop.create_task(civil.run()))
    try:
        yield registries
    finally:
        for task in (*workers, *context.tasks):
            task.cancel()
        await asyncio.gather(*workers, *context.tasks, return_exceptions=True)
        store.close()
        if own_http:
            await client.aclose()


def mount_authorisation(app: FastAPI, context: ExchangeContext) -> None:
    """The token endpoint (authz_core) and our public keys (jwks_core)."""
    hashing = asyncio.Semaphore(2)

    @app.post("/oauth2/client/token", tags=["DCI authorisation"], summary="OAuth2 client credentials: a bearer token for an onboarded partner")
    async def issue(request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return http_error(400, "err.request.bad", "the token request is a form (application/x-www-form-urlencoded)")
        try:
            form = await request.form()
        except Exception as error:  # python-multipart raises several types for a broken form
            return http_error(400, "err.request.bad", f"the form cannot be read: {error}")
        fields = {name: form.get(name) for name in ("grant_type", "client_id", "client_secret", "scope")}
        if fields["grant_type"] != "client_credentials" or not isinstance(fields["client_id"], str) or not isinstance(fields["client_secret"], str):
            return http_error(400, "err.request.bad", "grant_type=client_credentials, client_id and client_secret are required")
        async with hashing:  # scrypt off the event loop, a few at a time: password guessing cannot stall the node
            right = await asyncio.to_thread(is_client_secret, context.settings, fields["client_id"], fields["client_secret"])
        if not right:
            return http_error(401, "err.request.unauthorized", "unknown client or wrong secret")
        try:
            token, lifetime = issue_token(context.settings, fields["client_id"], fields["client_secret"],
                                          fields["scope"] if isinstance(fields["scope"], str) else None, context.now_s(), checked=True)
        except TokenError as error:
            return http_error(error.status, "err.request.unauthorized" if error.status == 401 else "err.request.bad", str(error))
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": str(lifetime)})

    @app.get("/dci/evidence", tags=["DCI authorisation"], summary="The ledger's records of this partner's exchanges (with receipts)")
    async def evidence(request: Request, transaction_id: str | None = None) -> Any:
        try:
            client = check_bearer(context.settings, request.headers.get("authorization"), None, context.now_s()).client
        except TokenError as error:
            return http_error(error.status, "err.request.unauthorized", str(error))
        records = [record for _, record in context.evidence.casework.node.store.iterate_state_prefix("interop/message/")
                   if client.sender_id in (record["sender"], record["receiver"]) and (transaction_id is None or to_party(transaction_id) == record["transaction_id"])]
        return sorted(({**record, "receipt": f"/v1/receipts/{record['transaction']}"} for record in records), key=lambda record: (record["height"], record["digest"]))

    @app.get("/.well-known/jwks.json", tags=["DCI authorisation"], summary="This node's public keys for message signatures and tokens")
    async def jwks() -> Any:
        key = context.settings.key
        return {"keys": [to_jwk(key.kid, key.public_key)]}


def serve_standards(root: Path) -> Callable[[FastAPI, Any, Casework], contextlib.AbstractAsyncContextManager[Any]]:
    """What ``reliefledger node`` enters while it serves: the standards' endpoints when the chain
    folder has ``interop.toml``, the evidence signed by the staff member it names (``recorder``)."""
    @contextlib.asynccontextmanager
    async def opened(app: FastAPI, node: Any, casework: Casework) -> AsyncIterator[None]:
        settings = read_interop_settings(root)
        if settings is None:
            yield
            return
        staff = StaffDirectory(ChainDirectory(root))
        registrar = None
        if settings.civil_registration is not None:
            if not staff.get_key_path(settings.civil_registration.registrar).exists():
                raise InteropSettingsError(f"interop.toml names {settings.civil_registration.registrar!r} as the registrar, but no such staff member has a key here")
            registrar = staff.get(settings.civil_registration.registrar)
        disburser = staff.get(settings.disburser) if staff.get_key_path(settings.disburser).exists() else None
        async with open_interop(root, casework, staff.get(settings.recorder), app, registrar=registrar, disburser=disburser):
            yield
    return opened

"""The dashboard's pages, mounted on a node's API: overview, ledger explorer, case queue and case
pages, directory chain, household and merchant views, and the reports view of every level, in
Chinese or English. Charts are drawn in the browser by Apache ECharts from the package's own copy
(``/static/vendor``); the block list refreshes itself with htmx. On a demo node (``DemoCity``) a
visitor may sign in as a member and take steps (``web/actions.py``); elsewhere pages are read-only."""

import asyncio
import datetime
import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.node.peer import Node
from reliefledger.node.reports import VIEW_LEVELS, get_overview
from reliefledger.web.actions import add_demo_actions
from reliefledger.web.figures import (get_agency_response_times, get_assisted_by_programme, get_beneficiary, get_block_detail, get_case_detail, get_case_queue,
                                      get_deadlines_met, get_directory, get_latest_blocks, get_merchant, get_paid_fen, get_reports_by_category,
                                      list_demo_households, list_merchants, list_model_tasks, list_models, list_wallets)
from reliefledger.web.i18n import COOKIE, get_language, translate
from reliefledger.web.sign_in import MEMBER_COOKIE, DemoCity

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
CHINA = datetime.timezone(datetime.timedelta(hours=8))
PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


def format_time(time_ms: int) -> str:
    """A block time as Beijing time."""
    return datetime.datetime.fromtimestamp(time_ms / 1000, CHINA).strftime("%Y-%m-%d %H:%M:%S")


TEMPLATES.env.filters["beijing"] = format_time


def read_analytics(folder: Path) -> dict[str, Any] | None:
    """Every named question's answer from the analytics store, with the height exported (None
    before the first export). DuckDB runs in a worker thread, off the node's event loop."""
    from reliefledger.analytics.export import AnalyticsError, read_manifest
    from reliefledger.analytics.queries import QUERIES, open_analytics, run_query

    import duckdb

    if not (folder / "manifest.json").exists():
        return None
    try:
        connection = open_analytics(folder, threads=1)
    except AnalyticsError as error:
        return {"height": None, "tables": {}, "error": str(error)}
    try:
        tables = {name: run_query(connection, name) for name in QUERIES}
    except duckdb.Error as error:  # a damaged or foreign store: say so, never a 500
        return {"height": None, "tables": {}, "error": f"{type(error).__name__}: {error}"}
    finally:
        connection.close()
    return {"height": read_manifest(folder)["height"], "tables": tables}


def mount_dashboard(app: FastAPI, node: Node, city: DemoCity | None = None) -> None:
    """Add the dashboard's pages and static files to a node's app; with ``city``, the demo's
    sign-in and the steps its members may take from the pages."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(create_dashboard_router(node, city))


def create_dashboard_router(node: Node, city: DemoCity | None = None) -> APIRouter:
    """The pages; every one reads committed state only (the demo's steps go through the desk)."""
    router = APIRouter(include_in_schema=False)

    def render(request: Request, template: str, lang: str | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        language = get_language(lang, request.cookies.get(COOKIE))
        member = city.read_member(request.cookies.get(MEMBER_COOKIE)) if city is not None else None
        response = TEMPLATES.TemplateResponse(request, template, {"t": translate(language), "language": language, "status": node.get_status(),
                                                                  "member": member, "demo": city is not None, **context}, status_code=status_code)
        if lang == language:
            response.set_cookie(COOKIE, language, max_age=365 * 86_400, samesite="lax")
        return response

    def now_ms() -> int:
        return max(time.time_ns() // 1_000_000, node.tip.time_ms)

    @router.get("/", response_class=HTMLResponse)
    async def overview(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "overview.html", lang, page="overview")

    @router.get("/dashboard/data/overview")
    async def overview_data() -> JSONResponse:
        return JSONResponse({"assisted": get_assisted_by_programme(node.store), "paid_fen": get_paid_fen(node.store),
                             "reports": get_reports_by_category(node.store, now_ms()), "deadlines": get_deadlines_met(node.store, now_ms()),
                             "agencies": get_agency_response_times(node.store), "height": node.tip.height})

    @router.get("/ledger", response_class=HTMLResponse)
    async def ledger(request: Request, lang: str | None = None) -> HTMLResponse:
        agreement = node.attestations.to_json() if node.attestations is not None else None
        return render(request, "ledger.html", lang, page="ledger", blocks=get_latest_blocks(node.store, node.tip.height), agreement=agreement)

    @router.get("/ledger/blocks", response_class=HTMLResponse)
    async def latest_blocks(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "blocks.html", lang, blocks=get_latest_blocks(node.store, node.tip.height))

    @router.get("/ledger/blocks/{height}", response_class=HTMLResponse)
    async def block(request: Request, height: int, lang: str | None = None) -> HTMLResponse:
        detail = get_block_detail(node.store, height) if 1 <= height <= node.tip.height else None
        response = render(request, "block.html", lang, page="ledger", block=detail)
        if detail is None:
            response.status_code = 404
        return response

    @router.get("/directory", response_class=HTMLResponse)
    async def directory(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "directory.html", lang, page="directory", directory=get_directory(node.store, now_ms()))

    @router.get("/cases", response_class=HTMLResponse)
    async def cases(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "cases.html", lang, page="cases", queue=get_case_queue(node.store, now_ms()))

    def render_case(request: Request, case_id: str, lang: str | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        detail = get_case_detail(node.store, case_id, now_ms()) if IDENTIFIER_PATTERN.fullmatch(case_id) else None
        member = city.read_member(request.cookies.get(MEMBER_COOKIE)) if city is not None else None
        can_decide = detail is not None and city is not None and city.has_role(member, "approver") and detail["case"]["status"] in ("opinion_given", "in_notice")
        return render(request, "case.html", lang, page="cases", status_code=status_code if detail is not None or "error" in context else 404, detail=detail, now_ms=now_ms(),
                      can_decide=can_decide, **context)

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case(request: Request, case_id: str, lang: str | None = None) -> HTMLResponse:
        return render_case(request, case_id, lang)

    def render_merchant(request: Request, merchant: str, lang: str | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        view = get_merchant(node.store, merchant, now_ms()) if IDENTIFIER_PATTERN.fullmatch(merchant) else None
        member = city.read_member(request.cookies.get(MEMBER_COOKIE)) if city is not None else None
        till = view is not None and member is not None and member.kind == "merchant" and member.identifier == merchant
        return render(request, "merchant.html", lang, page="beneficiary", status_code=status_code if view is not None or "error" in context else 404, view=view, till=till,
                      wallets=list_wallets(node.store) if till else [], **context)

    @router.get("/beneficiary", response_class=HTMLResponse)
    async def beneficiaries(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "pick.html", lang, page="beneficiary", households=list_demo_households(node.store), merchants=list_merchants(node.store))

    @router.get("/beneficiary/{household}", response_class=HTMLResponse)
    async def beneficiary(request: Request, household: str, lang: str | None = None) -> HTMLResponse:
        view = get_beneficiary(node.store, household) if PSEUDONYM.fullmatch(household) else None
        response = render(request, "beneficiary.html", lang, page="beneficiary", view=view)
        if view is None:
            response.status_code = 404
        return response

    @router.get("/merchant/{merchant}", response_class=HTMLResponse)
    async def merchant(request: Request, merchant: str, lang: str | None = None) -> HTMLResponse:
        return render_merchant(request, merchant, lang)

    @router.get("/reports-view", response_class=HTMLResponse)
    async def reports_view(request: Request, lang: str | None = None, level: str = Query("county", pattern="^(national|province|city|county)$")) -> HTMLResponse:
        return render(request, "reports.html", lang, page="reports", level=level, levels=VIEW_LEVELS, rows=get_overview(node.store, level, now_ms()))

    @router.get("/analytics", response_class=HTMLResponse)
    async def analytics(request: Request, lang: str | None = None) -> HTMLResponse:
        folder = node.store.path.parent / "analytics"
        answers = await asyncio.to_thread(read_analytics, folder)
        return render(request, "analytics.html", lang, page="analytics", answers=answers, folder=str(folder), models=list_models(node.store),
                      tasks=list_model_tasks(node.store))

    add_demo_actions(router, node, city, render, render_case, render_merchant)
    return router

"""The dashboard's pages, mounted on a node's API: overview, ledger explorer and the reports view
of every level, in Chinese or English. Charts are drawn in the browser by Apache ECharts from the
package's own copy (``/static/vendor``); the block list refreshes itself with htmx."""

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
from reliefledger.web.figures import (get_assisted_by_programme, get_beneficiary, get_block_detail, get_case_queue, get_directory, get_latest_blocks,
                                      get_merchant, get_paid_fen, get_reports_by_category, list_demo_households, list_merchants)
from reliefledger.web.i18n import COOKIE, get_language, translate

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
CHINA = datetime.timezone(datetime.timedelta(hours=8))
PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


def format_time(time_ms: int) -> str:
    """A block time as Beijing time."""
    return datetime.datetime.fromtimestamp(time_ms / 1000, CHINA).strftime("%Y-%m-%d %H:%M:%S")


TEMPLATES.env.filters["beijing"] = format_time


def mount_dashboard(app: FastAPI, node: Node) -> None:
    """Add the dashboard's pages and static files to a node's app."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(create_dashboard_router(node))


def create_dashboard_router(node: Node) -> APIRouter:
    """The pages; every one reads committed state only."""
    router = APIRouter(include_in_schema=False)

    def render(request: Request, template: str, lang: str | None, **context: Any) -> HTMLResponse:
        language = get_language(lang, request.cookies.get(COOKIE))
        response = TEMPLATES.TemplateResponse(request, template, {"t": translate(language), "language": language, "status": node.get_status(), **context})
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
                             "reports": get_reports_by_category(node.store, now_ms()), "height": node.tip.height})

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

    @router.get("/beneficiary", response_class=HTMLResponse)
    async def beneficiaries(request: Request, lang: str | None = None) -> HTMLResponse:
        return render(request, "pick.html", lang, page="beneficiary", households=list_demo_households(node.store), merchants=list_merchants(node.store))

    @router.get("/beneficiary/{household}", response_class=HTMLResponse)
    async def beneficiary(request: Request, household: str, lang: str | None = None) -> HTMLResponse:
        view = get_beneficiary(node.store, household) if PSEUDONYM.match(household) else None
        response = render(request, "beneficiary.html", lang, page="beneficiary", view=view)
        if view is None:
            response.status_code = 404
        return response

    @router.get("/merchant/{merchant}", response_class=HTMLResponse)
    async def merchant(request: Request, merchant: str, lang: str | None = None) -> HTMLResponse:
        view = get_merchant(node.store, merchant, now_ms()) if IDENTIFIER_PATTERN.match(merchant) else None
        response = render(request, "merchant.html", lang, page="beneficiary", view=view)
        if view is None:
            response.status_code = 404
        return response

    @router.get("/reports-view", response_class=HTMLResponse)
    async def reports_view(request: Request, lang: str | None = None, level: str = Query("county", pattern="^(national|province|city|county)$")) -> HTMLResponse:
        return render(request, "reports.html", lang, page="reports", level=level, levels=VIEW_LEVELS, rows=get_overview(node.store, level, now_ms()))

    return router

"""The steps a signed-in demo member takes from the pages: the county's approver decides a case,
the finance officer pays a month, a merchant takes a payment from a wallet.

Each is the same desk call a real office makes (``Casework``, the disbursement run, a retail
payment signed by the holder's phone and submitted by the merchant's bank), so the ledger's
checks apply unchanged: a step the ledger would refuse comes back on the page with its code and
reason, and an HTTP 4xx status. On a node without a ``DemoCity`` these routes answer 404.
"""

import re
import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from reliefledger.ledger.contracts.retail import sign_wallet_payment
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.node.casework import CaseworkError
from reliefledger.node.disbursement import get_next_month
from reliefledger.node.peer import Node
from reliefledger.web.figures import list_merchants, list_payment_runs
from reliefledger.web.sign_in import MEMBER_COOKIE, DemoCity, Member

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PAYMENT_YUAN_MAX = Decimal("1000000")
PROGRAMME, REGION = "dibao", "110000"
"""The demo pays its city's dibao, region-wide."""


class ActionError(Exception):
    """A step refused before or by the ledger: a code, a message and the HTTP status to answer."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the last value of each)."""
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ActionError("invalid_form", "the form is not UTF-8") from None
    return {name: values[-1] for name, values in fields.items()}


def parse_yuan(text: str) -> int:
    """An amount in yuan (at most two decimals) as fen."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ActionError("invalid_amount", f"{text!r} is not an amount in yuan") from None
    if not amount.is_finite() or amount <= 0 or amount > PAYMENT_YUAN_MAX or amount != amount.quantize(Decimal("0.01")):
        raise ActionError("invalid_amount", "an amount is more than 0 and at most 1,000,000 yuan, to the fen")
    return int(amount * 100)


def suggest_run_month(node: Node) -> str:
    """The month after the latest run of the programme (the first month of the pack when none)."""
    runs = list_payment_runs(node.store, PROGRAMME, REGION)
    if runs:
        return get_next_month(runs[0]["month"])
    return time.strftime("%Y-%m", time.gmtime(node.tip.time_ms / 1000 + 8 * 3600))


def add_demo_actions(router: APIRouter, node: Node, city: DemoCity | None, render: Callable[..., HTMLResponse], render_case: Callable[..., HTMLResponse],
                     render_merchant: Callable[..., HTMLResponse]) -> None:
    """Sign-in, sign-out, the payments page and the three steps, on ``router``."""

    def signed_in(request: Request) -> Member | None:
        return city.read_member(request.cookies.get(MEMBER_COOKIE)) if city is not None else None

    def refusal(error: Exception) -> dict[str, Any]:
        if isinstance(error, ActionError):
            return {"code": error.code, "message": error.message, "status": error.status}
        if isinstance(error, CaseworkError):  # a busy or halted node, or a step not ordered in time, is the node's 503
            return {"code": error.code, "message": str(error), "status": error.status if 400 <= error.status < 500 else 503 if error.status >= 500 else 409}
        return {"code": getattr(error, "code", "refused"), "message": str(error), "status": 409}

    @router.get("/signin", response_class=HTMLResponse)
    async def sign_in_page(request: Request, lang: str | None = None) -> HTMLResponse:
        if city is None:
            return render(request, "signin.html", lang, page="signin", staff=[], households=[], merchants=[])
        return render(request, "signin.html", lang, page="signin", staff=city.describe_staff(), households=list(city.households), merchants=list_merchants(node.store))

    @router.post("/signin")
    async def sign_in(request: Request) -> Response:
        if city is None:
            return render(request, "signin.html", None, page="signin", status_code=404, staff=[], households=[], merchants=[],
                          error={"code": "no_demo", "message": "this node has no demo members to sign in as"})
        try:
            member = city.read_member((await read_form(request)).get("member"))
        except ActionError:
            member = None
        if member is None:
            return render(request, "signin.html", None, page="signin", status_code=400, staff=city.describe_staff(), households=list(city.households),
                          merchants=list_merchants(node.store),
                          error={"code": "unknown_member", "message": "pick one of the demo's members"})
        home = {"household": f"/beneficiary/{member.identifier}", "merchant": f"/merchant/{member.identifier}"}.get(member.kind)
        if home is None:
            home = "/payments" if city.has_role(member, "finance_officer") else "/cases"
        response = RedirectResponse(home, status_code=303)
        response.set_cookie(MEMBER_COOKIE, member.to_cookie(), max_age=8 * 3600, samesite="lax", httponly=True)
        return response

    @router.post("/signout")
    async def sign_out() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(MEMBER_COOKIE)
        return response

    @router.post("/cases/{case_id}/decide", response_class=HTMLResponse)
    async def decide(request: Request, case_id: str) -> HTMLResponse:
        try:
            staff = city.get_staff(signed_in(request)) if city is not None else None
            if city is None or staff is None:
                raise ActionError("not_signed_in", "sign in as the county's approver to decide a case", 401)
            form = await read_form(request)
            outcome = form.get("outcome")
            if outcome not in ("approve", "refuse"):
                raise ActionError("invalid_outcome", "the outcome is approve or refuse")
            case = node.store.get(f"assistance/case/{case_id}") if IDENTIFIER_PATTERN.fullmatch(case_id) else None
            if case is None:
                raise ActionError("case_not_found", f"no case {case_id}", 404)
            amount = (case["assessment"] or {}).get("monthly_benefit_fen", 0) if outcome == "approve" else 0
            reasons = [] if outcome == "approve" else ["income_above_standard"]
            answer = await city.casework.decide(staff, case_id, outcome=outcome, reasons=reasons, monthly_benefit_fen=amount)
            return render_case(request, case_id, None, message={"code": "decided", "transaction": answer.get("transaction")})
        except (ActionError, LedgerInputError) as error:
            failure = refusal(error)
            return render_case(request, case_id, None, status_code=failure["status"], error=failure)

    async def render_payments(request: Request, lang: str | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        can_pay = city is not None and city.has_role(signed_in(request), "finance_officer")
        return render(request, "payments.html", lang, page="payments", status_code=status_code, runs=list_payment_runs(node.store, PROGRAMME, REGION),
                      month=suggest_run_month(node), can_pay=can_pay, programme=PROGRAMME, region=REGION, **context)

    @router.get("/payments", response_class=HTMLResponse)
    async def payments(request: Request, lang: str | None = None) -> HTMLResponse:
        return await render_payments(request, lang)

    @router.post("/payments/run", response_class=HTMLResponse)
    async def run_payments(request: Request) -> HTMLResponse:
        try:
            if city is None or not city.has_role(signed_in(request), "finance_officer"):
                raise ActionError("not_signed_in", "sign in as the finance officer to pay a month", 401)
            month = (await read_form(request)).get("month", "")
            if not MONTH.fullmatch(month):
                raise ActionError("invalid_month", "the month is YYYY-MM")
            figures = await city.run_payments(month)
            return await render_payments(request, None, message={"code": "paid", "month": month, **figures})
        except (ActionError, LedgerInputError) as error:
            failure = refusal(error)
            return await render_payments(request, None, status_code=failure["status"], error=failure)

    @router.post("/merchant/{merchant}/accept", response_class=HTMLResponse)
    async def accept_payment(request: Request, merchant: str) -> HTMLResponse:
        try:
            member = signed_in(request)
            if city is None or member is None or member.kind != "merchant" or member.identifier != merchant:
                raise ActionError("not_signed_in", "sign in as this merchant to take a payment", 401)
            form = await read_form(request)
            wallet = form.get("wallet", "")
            device = city.wallet_devices.get(wallet)
            if device is None:
                raise ActionError("unknown_wallet", "the customer's code names no wallet of this city")
            payment = {"wallet_account_id": wallet, "merchant_account_id": merchant, "amount": parse_yuan(form.get("amount", "")),
                       "request_id": f"till-{secrets.token_hex(4)}", "counter": time.time_ns() // 1000}
            # The customer's phone signs the merchant's request; the merchant's bank submits it.
            signature = sign_wallet_payment(node.suite, device.seed, node.genesis.chain_id, payment)
            answer = await city.casework.submit(city.staff.get(city.merchant_bank), "money", "pay_merchant", {**payment, "holder_signature": signature})
            return render_merchant(request, merchant, None, message={"code": "paid", "amount": payment["amount"], "transaction": answer.get("id")})
        except (ActionError, LedgerInputError) as error:
            failure = refusal(error)
            return render_merchant(request, merchant, None, status_code=failure["status"], error=failure)

"""HTTP endpoints for disaster relief (staff, ``Authorization: Bearer <token>``): declare an event,
pay first, register recipients afterwards, approve and pay stages, close; and the event's
reconciliation view. Who the recipient is goes to the vault; the ledger keeps its commitment.
A step the ledger refuses answers 403, 404 or 409 with the ledger's code (``docs/reports.md``).
"""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.casework_api import IDENTIFIER, PSEUDONYM, REGION, make_staff_authenticator
from reliefledger.node.staff import StaffDirectory, StaffMember


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    event_id: str = Field(pattern=IDENTIFIER)
    region: str = Field(pattern=REGION)
    hazard: str = Field(pattern=IDENTIFIER, description="flood, earthquake, fire...")
    starts_ms: int = Field(ge=0)
    ends_ms: int = Field(gt=0)
    ceiling_fen: int = Field(gt=0, description="The most a recipient account is paid first over the event")


class PayFirstIn(Strict):
    payment_id: str = Field(pattern=IDENTIFIER)
    reserve_account_id: str = Field(pattern=IDENTIFIER)
    recipient_account_id: str = Field(pattern=IDENTIFIER)
    amount_fen: int = Field(gt=0)
    recipient: dict[str, Any] = Field(min_length=1, description="Who was paid (name, where found); kept in the vault")


class RegisterIn(Strict):
    household: str = Field(pattern=PSEUDONYM)


class ApprovalIn(Strict):
    approval_id: str = Field(pattern=IDENTIFIER)
    household: str = Field(pattern=PSEUDONYM)
    recipient_account_id: str = Field(pattern=IDENTIFIER)
    budget_account_id: str = Field(pattern=IDENTIFIER)
    stages: list[int] = Field(min_length=1, max_length=12)


class StageIn(Strict):
    stage: int = Field(ge=1, le=12)


class CloseIn(Strict):
    cancelled_approvals: list[str] = Field(default_factory=list, description="Every approval with stages still unpaid")


def get_event_view(state: Any, event_id: str) -> dict[str, Any] | None:
    """An event with its payments made first and its approvals: what closing reconciles."""
    event = state.get(f"relief/event/{event_id}")
    if event is None:
        return None
    payments = [payment for _, payment in state.iterate_state_prefix(f"relief/payment/{event_id}/")]
    approvals = [approval for _, approval in state.iterate_state_prefix(f"relief/approval/{event_id}/")]
    return {"event": event, "payments_first": payments, "approvals": approvals}


def create_relief_router(casework: Casework, staff: StaffDirectory) -> APIRouter:
    """The relief endpoints, mounted under the desk's ``/v1``."""
    router = APIRouter(tags=["relief"])
    authenticate = make_staff_authenticator(staff)

    async def act(actor: StaffMember, event_id: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        transaction = await casework.submit(actor, "relief", action, {"event_id": event_id, **args})
        return {**get_event_view(casework.node.store, event_id), "transaction": transaction["id"]}

    @router.post("/relief/events")
    async def declare(body: EventIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Emergency management declares a disaster event."""
        return await act(actor, body.event_id, "declare_event", body.model_dump(exclude={"event_id"}))

    @router.post("/relief/events/{event_id}/payments")
    async def pay_first(event_id: str, body: PayFirstIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A township pays a recipient at once from its reserve fund."""
        subject = casework.node.suite.compute_hash(f"reliefledger.relief/{event_id}/{body.payment_id}".encode()).hex()
        commitment = casework.vault.put(subject=subject, kind="relief_recipient", owner=casework.organisation, record=body.recipient).commitment
        return await act(actor, event_id, "pay_first", {**body.model_dump(exclude={"recipient"}), "recipient_commitment": commitment})

    @router.post("/relief/events/{event_id}/payments/{payment_id}/register")
    async def register(event_id: str, payment_id: str, body: RegisterIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Register afterwards the household a payment went to."""
        return await act(actor, event_id, "register_recipient", {"payment_id": payment_id, "household": body.household})

    @router.post("/relief/events/{event_id}/approvals")
    async def approve(event_id: str, body: ApprovalIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A county approver approves staged payments for one household."""
        return await act(actor, event_id, "approve_stages", body.model_dump())

    @router.post("/relief/events/{event_id}/approvals/{approval_id}/stages")
    async def pay_stage(event_id: str, approval_id: str, body: StageIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Finance pays the next stage."""
        return await act(actor, event_id, "pay_stage", {"approval_id": approval_id, "stage": body.stage})

    @router.post("/relief/events/{event_id}/close")
    async def close(event_id: str, body: CloseIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Close the event, cancelling the stages not paid; its figures become final."""
        return await act(actor, event_id, "close_event", {"cancelled_approvals": body.cancelled_approvals})

    @router.get("/relief/events/{event_id}")
    async def show(event_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The event, its payments made first and its approvals."""
        view = get_event_view(casework.node.store, event_id)
        if view is None:
            raise CaseworkError(f"no event {event_id}", code="event_not_found", status=404)
        return view

    return router

"""HTTP endpoints of the reports desk (staff, ``Authorization: Bearer <token>``).

Filing answers the report's id, the filing transaction and where to follow it; the steps answer
the report as the ledger holds it. A step the ledger refuses is 403 (not this desk's report or
level), 404 (no such report) or 409 (the report's state does not allow it), with the ledger's
code. Lists and overviews cover only regions within the member's own.
"""

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from reliefledger.ledger.contracts.reports import CATEGORIES, URGENCIES
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.casework_api import IDENTIFIER, REGION, make_staff_authenticator
from reliefledger.node.reports import ReportDesk, get_overview, get_report, list_open_reports
from reliefledger.node.staff import StaffDirectory, StaffMember


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportIn(Strict):
    region: str = Field(pattern=REGION, description="Where the problem is (a township, county or higher)")
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    urgency: Literal[URGENCIES] = "normal"  # type: ignore[valid-type]
    description: dict[str, Any] = Field(min_length=1, description="What was reported; kept in the vault")
    channel: Literal["member", "hotline", "analytics"] = "member"
    subject_organisation: str | None = Field(None, pattern=IDENTIFIER, description="For misconduct: the department accused")
    caller: dict[str, Any] | None = Field(None, description="A hotline caller's contact, if they give one; kept in the vault. Omit to stay anonymous")
    model_id: str | None = Field(None, pattern=IDENTIFIER, description="For an alert (channel analytics): the model in service that raised it")
    alert_id: str | None = Field(None, pattern=IDENTIFIER, description="For an alert: its stable id, used as the report id, so an alert is filed once")


class OutcomeIn(Strict):
    outcome: str = Field(pattern=IDENTIFIER)
    note: dict[str, Any] = Field(default_factory=dict, description="What was done; kept in the vault")


class ReferIn(Strict):
    organisation: str = Field(pattern=IDENTIFIER)
    reason: str = Field(pattern=IDENTIFIER)


class OutreachIn(Strict):
    outcome: Literal["application_opened", "referred", "not_needed"]
    visit: dict[str, Any] = Field(min_length=1, description="The visit report; kept in the vault")
    case_id: str | None = Field(None, pattern=IDENTIFIER)


def create_reports_router(casework: Casework, staff: StaffDirectory) -> APIRouter:
    """The reports desk's endpoints, mounted under the desk's ``/v1``."""
    router = APIRouter(tags=["reports"])
    authenticate = make_staff_authenticator(staff)
    desk = ReportDesk(casework)

    def now_ms() -> int:
        return max(casework.node.clock_ms(), casework.node.tip.time_ms)

    @router.post("/reports")
    async def file_report(body: ReportIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """File a report (a hotline operator files for a caller with ``channel: hotline``)."""
        return await desk.file(actor, region=body.region, category=body.category, urgency=body.urgency, description=body.description,
                               channel=body.channel, subject_organisation=body.subject_organisation, caller=body.caller, model_id=body.model_id,
                               alert_id=body.alert_id)

    @router.post("/reports/{report_id}/acknowledge")
    async def acknowledge(report_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The holding desk has the report."""
        return await desk.step(actor, "acknowledge", report_id)

    @router.post("/reports/{report_id}/start")
    async def start(report_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Work on the report has started."""
        return await desk.step(actor, "start", report_id)

    @router.post("/reports/{report_id}/resolve")
    async def resolve(report_id: str, body: OutcomeIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Close the report with its outcome."""
        return await desk.step(actor, "resolve", report_id, outcome=body.outcome, outcome_commitment=desk.store_note(report_id, "report_outcome", body.note))

    @router.post("/reports/{report_id}/refer")
    async def refer(report_id: str, body: ReferIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Hand the report to another department."""
        return await desk.step(actor, "refer", report_id, organisation=body.organisation, reason=body.reason)

    @router.post("/reports/{report_id}/outreach")
    async def record_outreach(report_id: str, body: OutreachIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The township's visit to a person reported in difficulty, and its outcome."""
        extra = {} if body.case_id is None else {"case_id": body.case_id}
        return await desk.step(actor, "record_outreach", report_id, outcome=body.outcome, visit_commitment=desk.store_note(report_id, "outreach_visit", body.visit),
                               **extra)

    @router.get("/reports")
    async def list_reports(region: str | None = Query(None, pattern=REGION), actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """The open reports held within a region (the member's own by default), oldest first."""
        region = region or casework.get_member(actor)["region"]
        casework.require_region(actor, region)
        return list_open_reports(casework.node.store, region, now_ms())

    @router.get("/reports/overview")
    async def overview(level: Literal["national", "province", "city", "county"] = "county", region: str | None = Query(None, pattern=REGION),
                       actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Per region of a level within the member's region: reports by category, open by age,
        escalations, mean hours to acknowledge and to resolve."""
        region = region or casework.get_member(actor)["region"]
        casework.require_region(actor, region)
        return get_overview(casework.node.store, level, now_ms(), region)

    @router.get("/reports/{report_id}")
    async def show(report_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The report as the ledger holds it (commitments, no personal data)."""
        report = get_report(casework.node.store, report_id)
        if report is None:
            raise CaseworkError(f"no report {report_id}", code="report_not_found", status=404)
        return report

    return router

"""HTTP endpoints of the civil-affairs desk: one per workflow step, and the queries.

Every call names its staff member with ``Authorization: Bearer <token>`` (401 without one). A step
the member's role or region does not allow is 403; a step the case's state does not allow is 409
with the ledger's result code; bad input is 400. Personal data is accepted here and goes to the
vault; answers about cases carry pseudonyms and commitments only, and reading a person's records
needs a purpose and is logged on the ledger.
"""

from typing import Any, Callable, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.catalog_queries import get_resource, list_permissions, list_requests, list_resources
from reliefledger.node.means_test import AgencyClient, AgencyPlan, run_means_test, run_means_tests
from reliefledger.node.staff import StaffDirectory, StaffMember

PSEUDONYM = r"^[0-9a-f]{64}$"
IDENTIFIER = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
REGION = r"^[0-9]{6}(?:[0-9]{3})?$"
REASON = r"^[a-z][a-z0-9_]{0,63}$"


class Strict(BaseModel):
    """Unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class MemberIn(Strict):
    id_number: str = Field(description="18-character resident ID; hashed under the network key, kept in the vault")
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field("member", pattern=REASON)
    birth_date: str | None = None
    disability: str | None = None


class HouseholdIn(Strict):
    household_number: str = Field(min_length=1, max_length=64)
    region: str = Field(pattern=REGION)
    address: str = Field(min_length=1, max_length=400)
    members: list[MemberIn] = Field(min_length=1, max_length=32)


class ApplicationIn(Strict):
    application_id: str = Field(pattern=IDENTIFIER)
    household: str = Field(pattern=PSEUDONYM)
    programmes: list[str] = Field(min_length=1, max_length=8)
    channel: Literal["in_person", "proxy", "online"]
    application: dict[str, Any] = Field(default_factory=dict, description="The form as filled in; kept in the vault")
    related_to_staff: bool = False
    entrustment: dict[str, Any] | None = Field(None, description="Required for proxy applications; kept in the vault")


class DocumentIn(Strict):
    document: dict[str, Any] = Field(description="The signed record (authorisation, objection, letter); kept in the vault")


class VisitIn(Strict):
    report: dict[str, Any]
    staff: list[str] = Field(min_length=2, max_length=8, description="Staff labels of this node, or member public keys")
    by_county: bool = False


class MeansTestIn(Strict):
    facts: dict[str, Any] = Field(description="Household facts (members, monthly_income_fen by category, assets); kept in the vault")


class OpinionIn(Strict):
    recommendation: Literal["approve", "refuse"]
    reasons: list[str] = Field(default_factory=list, max_length=16)


class DecisionIn(Strict):
    outcome: Literal["approve", "refuse"]
    reasons: list[str] = Field(default_factory=list, max_length=16)
    monthly_benefit_fen: int = Field(ge=0)


class BenefitChangeIn(Strict):
    change: Literal["increase", "decrease", "stop", "keep"]
    monthly_benefit_fen: int = Field(ge=0)
    reasons: list[str] = Field(min_length=1, max_length=16)


class BirthIn(Strict):
    member: MemberIn


class MoveIn(Strict):
    region: str = Field(pattern=REGION)


class SplitIn(Strict):
    new_household_number: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1, max_length=400)
    persons: list[str] = Field(min_length=1, max_length=32)
    head: str = Field(pattern=PSEUDONYM)


class MergeIn(Strict):
    into: str = Field(pattern=PSEUDONYM)


class HeadIn(Strict):
    person: str = Field(pattern=PSEUDONYM)


class ReviewIn(Strict):
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    hold_payments: bool = False


class ExitIn(Strict):
    reasons: list[str] = Field(min_length=1, max_length=16)


class FraudIn(Strict):
    amount_fen: int = Field(gt=0)
    fine_fen: int = Field(gt=0)
    evidence: dict[str, Any]


class FastPathIn(Strict):
    case_id: str = Field(pattern=IDENTIFIER)
    household: str = Field(pattern=PSEUDONYM)
    programme: str = Field(pattern=IDENTIFIER)
    amount_fen: int = Field(gt=0)
    reasons: list[str] = Field(min_length=1, max_length=16)


class MeansTestRunIn(Strict):
    attempt: int = Field(1, ge=1, le=1000, description="A new attempt asks the agencies again with new query ids")
    timeout_s: float = Field(5.0, gt=0, le=120, description="How long to wait for each agency")


class MeansTestsRunIn(MeansTestRunIn):
    case_ids: list[str] = Field(min_length=1, max_length=10_000)


def make_staff_authenticator(staff: StaffDirectory) -> Callable[..., StaffMember]:
    """A FastAPI dependency naming the staff member of ``Authorization: Bearer <token>`` (401 otherwise)."""
    def authenticate(authorization: str | None = Header(None, description="Bearer <token>")) -> StaffMember:
        if not authorization or not authorization.startswith("Bearer "):
            raise CaseworkError("send Authorization: Bearer <token>", code="unauthenticated", status=401)
        member = staff.authenticate(authorization.removeprefix("Bearer ").strip())
        if member is None:
            raise CaseworkError("unknown token", code="unauthenticated", status=401)
        return member

    return authenticate


def create_casework_router(casework: Casework, staff: StaffDirectory, means_test_plan: list[tuple[AgencyPlan, AgencyClient]] | None = None) -> APIRouter:
    """The desk's endpoints over a casework service and its staff directory; the cross-agency means
    test runs with ``means_test_plan`` (from ``means-test.toml``) when the node has one."""
    router = APIRouter(prefix="/v1", tags=["casework"])
    authenticate = make_staff_authenticator(staff)

    def resolve_staff(labels: list[str]) -> list[str]:
        keys = []
        for label in labels:
            keys.append(label if len(label) >= 64 else staff.get(label).key.public_key)
        return keys

    @router.post("/households")
    async def register_household(body: HouseholdIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Register a household; names, ID numbers and the address go to the vault."""
        casework.require_region(actor, body.region)
        members = [member.model_dump(exclude_none=True) for member in body.members]
        return await casework.register_household(actor, household_number=body.household_number, region=body.region, members=members, address=body.address)

    @router.post("/households/{household}/births")
    async def record_birth(household: str, body: BirthIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A child joins the household."""
        return await casework.record_birth(actor, household, body.member.model_dump(exclude_none=True))

    @router.post("/persons/{person}/death")
    async def record_death(person: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A death: the person leaves their household."""
        return await casework.change_household(actor, "record_death", {"person": person})

    @router.post("/households/{household}/head")
    async def set_head(household: str, body: HeadIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Name the head of household."""
        return await casework.change_household(actor, "set_head", {"household": household, "person": body.person})

    @router.post("/households/{household}/move")
    async def record_move(household: str, body: MoveIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The household moves to another region."""
        return await casework.change_household(actor, "record_move", {"household": household, "region": body.region})

    @router.post("/households/{household}/split")
    async def split_household(household: str, body: SplitIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Some members form a new household."""
        return await casework.split_household(actor, household, new_household_number=body.new_household_number, address=body.address,
                                              persons=body.persons, head=body.head)

    @router.post("/households/{household}/merge")
    async def merge_households(household: str, body: MergeIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Every member joins another household."""
        return await casework.change_household(actor, "merge_households", {"household": household, "into": body.into})

    @router.post("/applications")
    async def apply(body: ApplicationIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """One intake for one or more programmes."""
        return await casework.apply(actor, application_id=body.application_id, household=body.household, programmes=body.programmes,
                                    channel=body.channel, application=body.application, related_to_staff=body.related_to_staff,
                                    entrustment=body.entrustment)

    @router.post("/cases/{case_id}/authorisation")
    async def record_authorisation(case_id: str, body: DocumentIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The applicant's signed authorisation for the means test."""
        casework.require_case_in_region(actor, case_id)
        return await casework.record_authorisation(actor, case_id, body.document)

    @router.post("/cases/{case_id}/visits")
    async def record_visit(case_id: str, body: VisitIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A household visit by two or more staff."""
        casework.require_case_in_region(actor, case_id)
        return await casework.record_visit(actor, case_id, report=body.report, staff=resolve_staff(body.staff), by_county=body.by_county)

    @router.post("/cases/{case_id}/means-test")
    async def record_means_test(case_id: str, body: MeansTestIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Evaluate the household's facts against the pack and record the outcome."""
        casework.require_case_in_region(actor, case_id)
        return await casework.record_means_test(actor, case_id, body.facts)

    def require_plan() -> list[tuple[AgencyPlan, AgencyClient]]:
        if not means_test_plan:
            raise CaseworkError("this node has no means-test plan: write means-test.toml in its directory (docs/data-sharing.md)",
                                code="no_means_test_plan", status=409)
        return means_test_plan

    @router.post("/cases/{case_id}/means-test/run")
    async def run_case_means_test(case_id: str, body: MeansTestRunIn | None = None, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Ask every agency of the plan about the case's household; record the means test when all answered.

        The answer shows each agency's status (answered with the digest and ledger record, refused
        with the reason, late with the deadline); a partial run is never recorded."""
        body = body or MeansTestRunIn()
        return _public(await run_means_test(casework, actor, case_id, require_plan(), attempt=body.attempt, timeout_s=body.timeout_s))

    @router.post("/means-tests")
    async def run_many_means_tests(body: MeansTestsRunIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The means test of many cases in one run (a review cycle): one query batch per agency."""
        outcomes = await run_means_tests(casework, actor, body.case_ids, require_plan(), attempt=body.attempt, timeout_s=body.timeout_s)
        return {"outcomes": [_public(outcome) for outcome in outcomes], "complete": sum(1 for outcome in outcomes if outcome.get("complete") and "error" not in outcome)}

    @router.get("/catalog/resources")
    async def get_catalogue(owner: str | None = Query(None, description="Only this department's"), status: Literal["active", "retired"] | None = None,
                            actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """What each department shares: its catalogued resources, with their history."""
        return list_resources(casework.node.store, owner=owner, status=status)

    @router.get("/catalog/resources/{resource_id}")
    async def get_catalogue_resource(resource_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """One resource with every published version of its description."""
        resource = get_resource(casework.node.store, resource_id)
        if resource is None:
            raise CaseworkError(f"no resource {resource_id!r} is catalogued", code="resource_not_found", status=404)
        return resource

    @router.get("/catalog/requests")
    async def get_sharing_requests(requester: str | None = None, owner: str | None = None,
                                   status: Literal["pending", "approved", "refused", "revoked"] | None = None,
                                   actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Sharing requests (pending ones with ``status=pending``), each with its full history."""
        return list_requests(casework.node.store, requester=requester, owner=owner, status=status)

    @router.get("/catalog/permissions")
    async def get_permissions(requester: str | None = None, actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Who may read what right now: approvals in force."""
        return list_permissions(casework.node.store, max(casework.node.clock_ms(), casework.node.tip.time_ms), requester=requester)

    @router.post("/cases/{case_id}/opinion")
    async def give_opinion(case_id: str, body: OpinionIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The township's opinion."""
        casework.require_case_in_region(actor, case_id)
        return await casework.give_opinion(actor, case_id, recommendation=body.recommendation, reasons=body.reasons)

    @router.post("/cases/{case_id}/notice")
    async def start_notice(case_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Start the public notice."""
        casework.require_case_in_region(actor, case_id)
        return await casework.start_notice(actor, case_id)

    @router.post("/cases/{case_id}/objections")
    async def object(case_id: str, body: DocumentIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """An objection received during the notice."""
        casework.require_case_in_region(actor, case_id)
        return await casework.object(actor, case_id, body.document)

    @router.post("/cases/{case_id}/decision")
    async def decide(case_id: str, body: DecisionIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The county's decision."""
        casework.require_case_in_region(actor, case_id)
        return await casework.decide(actor, case_id, outcome=body.outcome, reasons=body.reasons, monthly_benefit_fen=body.monthly_benefit_fen)

    @router.post("/cases/{case_id}/refusal-notice")
    async def issue_refusal_notice(case_id: str, body: DocumentIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The refusal letter with its reasons."""
        casework.require_case_in_region(actor, case_id)
        return await casework.issue_refusal_notice(actor, case_id, body.document)

    @router.post("/cases/{case_id}/benefit-changes")
    async def change_benefit(case_id: str, body: BenefitChangeIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Increase, decrease, stop or keep the amount after a review."""
        casework.require_case_in_region(actor, case_id)
        return await casework.change_benefit(actor, case_id, change=body.change, monthly_benefit_fen=body.monthly_benefit_fen, reasons=body.reasons)

    @router.post("/cases/{case_id}/review")
    async def open_review(case_id: str, body: ReviewIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """The household changed: the review is due now (and, with ``hold_payments``, nothing is
        paid until it is concluded)."""
        casework.require_case_in_region(actor, case_id)
        return await casework.open_review(actor, case_id, reason=body.reason, hold_payments=body.hold_payments)

    @router.post("/cases/{case_id}/exit")
    async def exit_case(case_id: str, body: ExitIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """An enrolled household leaves the programme."""
        casework.require_case_in_region(actor, case_id)
        return await casework.exit_case(actor, case_id, reasons=body.reasons)

    @router.post("/cases/{case_id}/fraud")
    async def record_fraud(case_id: str, body: FraudIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Fraud found: stop, recover the amount, fine one to three times it."""
        casework.require_case_in_region(actor, case_id)
        return await casework.record_fraud(actor, case_id, amount_fen=body.amount_fen, fine_fen=body.fine_fen, evidence=body.evidence)

    @router.post("/fast-path-payments")
    async def pay_first(body: FastPathIn, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Temporary assistance paid first, registered afterwards."""
        return await casework.pay_first(actor, case_id=body.case_id, household=body.household, programme=body.programme,
                                        amount_fen=body.amount_fen, reasons=body.reasons)

    @router.get("/cases/{case_id}")
    async def get_case(case_id: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A case (pseudonyms and commitments only)."""
        return casework.require_case_in_region(actor, case_id)

    @router.get("/cases")
    async def list_cases(region: str | None = Query(None, pattern=REGION), status: str | None = Query(None, pattern=REASON),
                         overdue: bool = False, actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Cases within a region, by state; ``overdue=true`` for those past a statutory deadline."""
        return casework.list_cases(actor, region=region, status=status, overdue_only=overdue)

    @router.get("/households/{household}/history")
    async def get_household_history(household: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """A household's assistance history across programmes."""
        return casework.get_household_history(actor, household)

    @router.get("/persons/{person}/records")
    async def read_person(person: str, purpose: str = Query(..., pattern=REASON), case_id: str | None = Query(None, pattern=IDENTIFIER),
                          actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """A person's vault records; the read is logged on the ledger with its purpose."""
        return await casework.read_person(actor, person, purpose=purpose, case_id=case_id)

    @router.delete("/persons/{person}/records")
    async def erase_person(person: str, actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Erase a person's personal data (crypto-shredding); the erasure is logged on the ledger."""
        return await casework.erase_person(actor, person)

    @router.get("/statistics")
    async def get_statistics(region: str | None = Query(None, pattern=REGION), actor: StaffMember = Depends(authenticate)) -> dict[str, Any]:
        """Case counts by programme and state for each region below yours: aggregates, no households."""
        return casework.get_statistics(actor, region)

    @router.get("/persons/{person}/accesses")
    async def list_accesses(person: str, actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Every logged read of a person's data."""
        return casework.list_accesses(actor, person)

    @router.get("/persons/{person}/data-checks")
    async def list_data_checks(person: str, actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """Which agency answered what kind of question about the person, when, for which case."""
        return casework.list_data_checks(actor, person)

    @router.get("/agencies/{agency}/answers")
    async def list_agency_answers(agency: str, actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """What a department was asked and answered, with the ledger proof of each record."""
        return casework.list_agency_answers(actor, agency)

    @router.get("/notices")
    async def list_public_notices(region: str = Query(..., pattern=REGION), actor: StaffMember = Depends(authenticate)) -> list[dict[str, Any]]:
        """The public notice board of a village or community (permitted fields only, while it runs)."""
        return await casework.list_public_notices(actor, region)

    return router


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    """A means-test outcome without the household's figures (they went to the vault)."""
    return {name: value for name, value in outcome.items() if name != "facts"}

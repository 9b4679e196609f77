"""The assistance case workflow: from application to enrolment, review and exit, one step a transaction.

One intake opens a case per programme. A dibao case then goes::

    applied -> (authorisation, visits) investigating -> assessed -> opinion_given
            -> in_notice -> enrolled -> (reviews: increase / decrease) -> stopped | exited
                       \\-> refused (with reasons, then a refusal letter)

An objection during the public notice sends the case back to ``investigating``. Emergency
programmes (temporary assistance) skip the notice, and may pay a small amount first
(``pay_first``) and be regularised afterwards. The contract refuses any enrolment without the
intake, authorisation, a visit by two staff, a means-test record, the township's opinion and,
where needed, the ended notice and the county's own visit (applicants related to staff).

Personal data never enters a case: households are pseudonyms, records (authorisation, visit
reports, objections, letters) are vault commitments, and a means test is recorded as the pack
version, a digest of the facts and the outcome the pack's rules give for them.

Deadlines are computed in working days from block time with the pack's calendar and kept in the
case; ``get_overdue_steps`` says which have passed unmet.
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, APPROVER, CASEWORKER, require_role_in_region
from reliefledger.ledger.contracts.catalog import get_answer_fault
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.contracts.policy_packs import get_current_pack, get_pack
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN, get_active_household
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.policy import PolicyPack, Programme, get_programme, get_standard
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.results import Rejection, ResultCode
from reliefledger.ledger.working_days import add_working_days, compute_civil_from_days, get_local_day

CHANNELS = ("in_person", "proxy", "online")
OUTCOMES = ("approve", "refuse")
CHANGES = ("increase", "decrease", "stop", "keep")
"""What a review concludes: ``keep`` when it assessed the amount already paid."""
REASON_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MONTH_MS = 30 * 86_400_000
"""A review interval month, for scheduling: reviews are due by elapsed time, not calendar months."""
OPEN_STATES = ("applied", "investigating", "assessed", "opinion_given", "in_notice", "paid_first")
"""States in which a case still awaits a decision."""
CLOSED_STATES = ("refused", "stopped", "exited", "completed")
"""States after which a household may apply again for the programme."""
DAY_MS = 86_400_000
ANSWERS_PER_MEANS_TEST_MAX = 64
"""Agency answers one means test may name (one per agency and resource asked)."""
RESPONSE_MS_MAX = 86_400_000
"""A means test may say how long each agency took to answer (the requester's own measurement, for
the overview's response times); a day bounds it."""


def get_case_key(case_id: str) -> str:
    """State key of a case."""
    return f"assistance/case/{case_id}"


def get_open_case_key(household: str, programme: str) -> str:
    """State key of the one case a household may have open or enrolled in a programme."""
    return f"assistance/household/{household}/{programme}"


def get_overdue_steps(case: dict[str, Any], now_ms: int) -> list[str]:
    """The deadlines of ``case`` that have passed with their step still undone, sorted."""
    done = {
        "investigation_start": bool(case["visits"]),
        "county_decision": case["decision"] is not None,
        "whole_process": case["decision"] is not None,
        "refusal_notice": case["refusal_notice_commitment"] is not None,
        "review": case["status"] != "enrolled",
    }
    return sorted(name for name, deadline in case["deadlines"].items() if deadline is not None and now_ms > deadline and not done.get(name, True))


def process_apply(context: TransactionContext, args: dict[str, Any]) -> None:
    """One intake at the township opens a case for each programme applied for."""
    require_fields(args, {"application_id", "household", "programmes", "channel", "application_commitment", "related_to_staff"}, {"entrustment_commitment"})
    application_id = require_string(args, "application_id", IDENTIFIER_PATTERN)
    household = get_active_household(context.state, require_string(args, "household", DIGEST_PATTERN))
    require_role_in_region(context, (CASEWORKER,), household["region"])
    channel = require_choice(args, "channel", CHANNELS)
    if channel == "proxy" and "entrustment_commitment" not in args:
        raise Rejection(ResultCode.MISSING_RECORD, "an application by proxy needs the entrustment record")
    entrustment = require_string(args, "entrustment_commitment", DIGEST_PATTERN) if "entrustment_commitment" in args else None
    if type(args["related_to_staff"]) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "related_to_staff must be true or false")
    pack = get_current_pack(context.state)
    programmes = _require_programmes(pack, args["programmes"])
    for programme in programmes:
        case_id = f"{application_id}.{programme.id}"
        if context.state.get(get_case_key(case_id)) is not None:
            raise Rejection(ResultCode.CASE_EXISTS, f"case {case_id} exists")
        open_case = context.state.get(get_open_case_key(household["id"], programme.id))
        if open_case is not None:
            raise Rejection(ResultCode.CASE_EXISTS, f"the household already has case {open_case['case_id']} in {programme.id}")
        context.state.put(get_case_key(case_id), _build_case(context, pack, programme, case_id, application_id, household, channel, entrustment, args))
        context.state.put(get_open_case_key(household["id"], programme.id), {"case_id": case_id})


def process_record_authorisation(context: TransactionContext, args: dict[str, Any]) -> None:
    """The applicant's signed authorisation for the means test (no data is queried without it)."""
    require_fields(args, {"case_id", "authorisation_commitment"})
    case = _require_case(context, args, (CASEWORKER,), ("applied", "investigating", "paid_first"))
    _put_case(context, case, authorisation_commitment=require_string(args, "authorisation_commitment", DIGEST_PATTERN))


def process_record_visit(context: TransactionContext, args: dict[str, Any]) -> None:
    """A household visit by at least two staff; ``by_county`` marks the county's own visit."""
    require_fields(args, {"case_id", "visit_commitment", "staff", "by_county"})
    case = _require_case(context, args, (CASEWORKER, APPROVER), ("applied", "investigating", "assessed", "opinion_given", "in_notice", "paid_first", "enrolled"))
    by_county = args["by_county"]
    if type(by_county) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "by_county must be true or false")
    if by_county and APPROVER not in context.signer["roles"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "a county visit is recorded by a county approver")
    staff = _require_staff(context, args["staff"], case["region"])
    visit = {"by_county": by_county, "commitment": require_string(args, "visit_commitment", DIGEST_PATTERN), "staff": staff, "time_ms": context.environment.time_ms}
    status = "investigating" if case["status"] == "applied" else case["status"]
    _put_case(context, case, visits=[*case["visits"], visit], status=status)


def process_record_means_test(context: TransactionContext, args: dict[str, Any]) -> None:
    """The outcome of the means test under a pack: the facts stay off the ledger, their digest on it.

    The contract checks what it can without the facts: the pack and programme exist, the standard
    is the one in force for the case's region today, the household size is the registry's, and the
    amount is consistent with the programme's benefit method. Anyone holding the facts recomputes
    the rest with ``evaluate_eligibility``. On an enrolled case it is a periodic review.
    """
    require_fields(args, {"case_id", "pack_version", "facts_digest", "eligible", "category", "reasons", "household_size", "standard_fen", "monthly_benefit_fen", "source"},
                   {"income_unstable", "answers"})
    case = _require_case(context, args, (CASEWORKER, APPROVER), ("investigating", "assessed", "paid_first", "enrolled"))
    if case["authorisation_commitment"] is None:
        raise Rejection(ResultCode.MISSING_RECORD, "no authorisation for the means test is recorded")
    pack = get_pack(context.state, args["pack_version"])
    programme = _require_programme(pack, case["programme"])
    assessment = _require_assessment(context, pack, programme, case, args)
    if case["status"] == "enrolled":
        _put_case(context, case, review_assessment=assessment)
    else:
        _put_case(context, case, assessment=assessment, status="assessed" if case["status"] != "paid_first" else "paid_first")


def process_give_opinion(context: TransactionContext, args: dict[str, Any]) -> None:
    """The township's opinion after investigation and means test."""
    require_fields(args, {"case_id", "recommendation", "reasons"})
    case = _require_case(context, args, (CASEWORKER,), ("investigating", "assessed", "paid_first"))
    programme = get_programme(get_pack(context.state, case["pack_version"]), case["programme"])
    if programme.means_test is None:
        _require_visit_and_authorisation(case)
    else:
        _require_investigation(case)
    recommendation = require_choice(args, "recommendation", OUTCOMES)
    status = "paid_first" if case["status"] == "paid_first" else "opinion_given"
    _put_case(context, case, opinion={"reasons": _require_reasons(args, allow_empty=recommendation == "approve"), "recommendation": recommendation, "time_ms": context.environment.time_ms}, status=status)


def process_start_notice(context: TransactionContext, args: dict[str, Any]) -> None:
    """Start the public notice (name, household size and amount only) at the village or community."""
    require_fields(args, {"case_id"})
    case = _require_case(context, args, (CASEWORKER,), ("opinion_given",))
    if case["opinion"]["recommendation"] != "approve":
        raise Rejection(ResultCode.WRONG_CASE_STATE, "only a recommended approval goes to public notice")
    pack = get_pack(context.state, case["pack_version"])
    programme = get_programme(pack, case["programme"])
    start = context.environment.time_ms
    end = start + pack.public_notice.days * DAY_MS
    deadlines = {**case["deadlines"], "county_decision": add_working_days(pack.calendar, end, programme.deadlines.county_decision)}
    _put_case(context, case, notice={"end_ms": end, "start_ms": start}, status="in_notice", deadlines=deadlines)


def process_object(context: TransactionContext, args: dict[str, Any]) -> None:
    """An objection during the notice reopens the investigation."""
    require_fields(args, {"case_id", "objection_commitment"})
    case = _require_case(context, args, (CASEWORKER,), ("in_notice",))
    if context.environment.time_ms >= case["notice"]["end_ms"]:
        raise Rejection(ResultCode.NOTICE_ENDED, "the public notice has ended")
    objection = {"commitment": require_string(args, "objection_commitment", DIGEST_PATTERN), "time_ms": context.environment.time_ms}
    _put_case(context, case, objections=[*case["objections"], objection], assessment=None, opinion=None, notice=None, status="investigating")


def process_decide(context: TransactionContext, args: dict[str, Any]) -> None:
    """The county's decision: approve (enrol with the assessed amount) or refuse with reasons."""
    require_fields(args, {"case_id", "outcome", "reasons", "monthly_benefit_fen"})
    case = _require_case(context, args, (APPROVER,), ("opinion_given", "in_notice", "paid_first"))
    pack = get_pack(context.state, case["pack_version"])
    programme = get_programme(pack, case["programme"])
    outcome = require_choice(args, "outcome", OUTCOMES)
    reasons = _require_reasons(args, allow_empty=outcome == "approve")
    amount = require_integer(args, "monthly_benefit_fen", 0, limits.INTEGER_ABSOLUTE_MAX)
    now = context.environment.time_ms
    if case["status"] == "in_notice" and now < case["notice"]["end_ms"]:
        raise Rejection(ResultCode.NOTICE_NOT_ENDED, "the public notice has not ended")
    decision = {"by": context.envelope.body.signer, "monthly_benefit_fen": amount, "outcome": outcome, "reasons": reasons, "time_ms": now}
    if outcome == "refuse":
        deadlines = {**case["deadlines"], "refusal_notice": add_working_days(pack.calendar, now, programme.deadlines.refusal_notice)}
        _put_case(context, case, decision=decision, status="refused", deadlines=deadlines)
        return
    _require_ready_for_approval(case, programme, amount)
    if programme.tier != "basic":
        _put_case(context, case, decision=decision, status="completed")
        _close_open_case(context, case)
        return
    enrolment = {"from_month": _get_next_month(pack, now), "monthly_benefit_fen": amount,
                 "next_review_ms": now + _get_review_months(programme, case["assessment"]) * MONTH_MS}
    deadlines = {**case["deadlines"], "review": enrolment["next_review_ms"]}
    _put_case(context, case, decision=decision, enrolment=enrolment, status="enrolled", deadlines=deadlines)


def process_issue_refusal_notice(context: TransactionContext, args: dict[str, Any]) -> None:
    """The refusal letter with its reasons was issued; the household may apply again."""
    require_fields(args, {"case_id", "letter_commitment"})
    case = _require_case(context, args, (CASEWORKER, APPROVER), ("refused",))
    if case["refusal_notice_commitment"] is not None:
        raise Rejection(ResultCode.WRONG_CASE_STATE, "the refusal letter was already issued")
    _put_case(context, case, refusal_notice_commitment=require_string(args, "letter_commitment", DIGEST_PATTERN))
    _close_open_case(context, case)


def process_change_benefit(context: TransactionContext, args: dict[str, Any]) -> None:
    """After a periodic review: increase, decrease or stop, to the amount the review assessed."""
    require_fields(args, {"case_id", "change", "monthly_benefit_fen", "reasons"})
    case = _require_case(context, args, (APPROVER,), ("enrolled",))
    review = case["review_assessment"]
    if review is None:
        raise Rejection(ResultCode.MISSING_RECORD, "no review means test is recorded since the last decision")
    change = require_choice(args, "change", CHANGES)
    amount = require_integer(args, "monthly_benefit_fen", 0, limits.INTEGER_ABSOLUTE_MAX)
    reasons = _require_reasons(args, allow_empty=False)
    if amount != review["monthly_benefit_fen"]:
        raise Rejection(ResultCode.AMOUNT_MISMATCH, f"the review assessed {review['monthly_benefit_fen']} fen a month")
    current = case["enrolment"]["monthly_benefit_fen"]
    expected = "stop" if not review["eligible"] else "increase" if amount > current else "decrease" if amount < current else "keep"
    if change != expected:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"the review calls for {expected}, not {change}")
    now = context.environment.time_ms
    history = [*case["changes"], {"change": change, "monthly_benefit_fen": amount, "reasons": reasons, "time_ms": now}]
    if change == "stop":
        _put_case(context, case, changes=history, review_assessment=None, status="stopped", **_close_review(case))
        _close_open_case(context, case)
        return
    pack = get_pack(context.state, review["pack_version"])
    programme = get_programme(pack, case["programme"])
    enrolment = {**case["enrolment"], "monthly_benefit_fen": amount, "next_review_ms": now + _get_review_months(programme, review) * MONTH_MS}
    _put_case(context, case, changes=history, enrolment=enrolment, review_assessment=None, deadlines={**case["deadlines"], "review": enrolment["next_review_ms"]},
              **_close_review(case))


def process_open_review(context: TransactionContext, args: dict[str, Any]) -> None:
    """The household changed (a death or a birth registered): its review is due now, and with
    ``hold_payments`` nothing more is paid until the review is concluded (``change_benefit``,
    ``exit_case``). Opened again before that, the reasons add up and a hold stays."""
    require_fields(args, {"case_id", "reason", "hold_payments"})
    case = _require_case(context, args, (CASEWORKER, APPROVER), ("enrolled",))
    reason = require_string(args, "reason", REASON_PATTERN)
    hold = args["hold_payments"]
    if type(hold) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "hold_payments is true or false")
    now = context.environment.time_ms
    previous = case.get("open_review") or {"hold_payments": False, "opened_ms": now, "reasons": []}
    if len(previous["reasons"]) >= REVIEW_REASONS_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"a review is opened for at most {REVIEW_REASONS_MAX} reasons")
    review = {"hold_payments": previous["hold_payments"] or hold, "opened_ms": previous["opened_ms"],
              "reasons": [*previous["reasons"], {"reason": reason, "time_ms": now, "transaction": context.envelope.id.hex()}]}
    # An assessment recorded before the change cannot conclude the review it calls for: a new means test must.
    _put_case(context, case, open_review=review, review_assessment=None, deadlines={**case["deadlines"], "review": min(now, case["deadlines"]["review"] or now)})


REVIEW_REASONS_MAX = 16
"""Reasons one open review gathers (a household's deaths and births before it is concluded)."""


def is_payment_held(case: dict[str, Any]) -> bool:
    """True while a review opened with a hold is not concluded: the case is not paid."""
    return bool((case.get("open_review") or {}).get("hold_payments"))


def _close_review(case: dict[str, Any]) -> dict[str, Any]:
    """The change that concludes an open review (none on a case that never had one: its stored
    form, and so every state digest, stays as it was)."""
    return {"open_review": None} if "open_review" in case else {}


def process_exit_case(context: TransactionContext, args: dict[str, Any]) -> None:
    """An enrolled household leaves the programme (moved away, no longer needs it...)."""
    require_fields(args, {"case_id", "reasons"})
    case = _require_case(context, args, (APPROVER,), ("enrolled",))
    _put_case(context, case, exit={"reasons": _require_reasons(args, allow_empty=False), "time_ms": context.environment.time_ms}, status="exited",
              **_close_review(case))
    _close_open_case(context, case)


def process_record_fraud(context: TransactionContext, args: dict[str, Any]) -> None:
    """Benefits obtained by fraud: stop, recover the amount and fine one to three times it."""
    require_fields(args, {"case_id", "amount_fen", "fine_fen", "evidence_commitment"})
    case = _require_case(context, args, (APPROVER,), ("enrolled", "stopped", "exited"))
    amount = require_integer(args, "amount_fen", 1, limits.INTEGER_ABSOLUTE_MAX)
    fine = require_integer(args, "fine_fen", 0, 3 * amount)
    if fine < amount:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "the fine is one to three times the amount")
    recovery = {"amount_fen": amount, "evidence_commitment": require_string(args, "evidence_commitment", DIGEST_PATTERN), "fine_fen": fine, "time_ms": context.environment.time_ms}
    _put_case(context, case, recoveries=[*case["recoveries"], recovery], status="stopped" if case["status"] == "enrolled" else case["status"],
              **_close_review(case))
    _close_open_case(context, case)


def process_pay_first(context: TransactionContext, args: dict[str, Any]) -> None:
    """Temporary assistance fast path: pay a small amount now, within the township ceiling."""
    require_fields(args, {"case_id", "household", "programme", "amount_fen", "reasons"})
    case_id = require_string(args, "case_id", IDENTIFIER_PATTERN)
    household = get_active_household(context.state, require_string(args, "household", DIGEST_PATTERN))
    require_role_in_region(context, (CASEWORKER,), household["region"])
    pack = get_current_pack(context.state)
    programme = _require_programme(pack, require_string(args, "programme", IDENTIFIER_PATTERN))
    if programme.fast_path is None:
        raise Rejection(ResultCode.WRONG_CASE_STATE, f"{programme.id} has no fast path")
    amount = require_integer(args, "amount_fen", 1, limits.INTEGER_ABSOLUTE_MAX)
    if amount > programme.fast_path.township_ceiling_fen:
        raise Rejection(ResultCode.ABOVE_FAST_PATH_CEILING, f"the township ceiling is {programme.fast_path.township_ceiling_fen} fen")
    if context.state.get(get_case_key(case_id)) is not None:
        raise Rejection(ResultCode.CASE_EXISTS)
    case = _build_case(context, pack, programme, case_id, case_id, household, "in_person", None, {"related_to_staff": False})
    case["status"] = "paid_first"
    case["payments_first"] = [{"amount_fen": amount, "reasons": _require_reasons(args, allow_empty=False), "time_ms": context.environment.time_ms}]
    context.state.put(get_case_key(case_id), case)


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "apply": process_apply,
    "record_authorisation": process_record_authorisation,
    "record_visit": process_record_visit,
    "record_means_test": process_record_means_test,
    "give_opinion": process_give_opinion,
    "start_notice": process_start_notice,
    "object": process_object,
    "decide": process_decide,
    "issue_refusal_notice": process_issue_refusal_notice,
    "change_benefit": process_change_benefit,
    "exit_case": process_exit_case,
    "open_review": process_open_review,
    "record_fraud": process_record_fraud,
    "pay_first": process_pay_first,
}
"""The contract's actions by name."""


def _build_case(context: TransactionContext, pack: PolicyPack, programme: Programme, case_id: str, application_id: str,
                household: dict[str, Any], channel: str, entrustment: str | None, args: dict[str, Any]) -> dict[str, Any]:
    now = context.environment.time_ms
    return {
        "application": application_id,
        "application_commitment": args.get("application_commitment"),
        "assessment": None,
        "authorisation_commitment": None,
        "changes": [],
        "channel": channel,
        "deadlines": {
            "county_decision": None,
            "investigation_start": add_working_days(pack.calendar, now, programme.deadlines.investigation_start),
            "refusal_notice": None,
            "review": None,
            "whole_process": add_working_days(pack.calendar, now, programme.deadlines.whole_process),
        },
        "decision": None,
        "enrolment": None,
        "entrustment_commitment": entrustment,
        "household": household["id"],
        "id": case_id,
        "notice": None,
        "objections": [],
        "opened_height": context.environment.height,
        "opened_ms": now,
        "opinion": None,
        "pack_version": pack.version,
        "programme": programme.id,
        "recoveries": [],
        "refusal_notice_commitment": None,
        "region": household["region"],
        "related_to_staff": args["related_to_staff"],
        "review_assessment": None,
        "status": "applied",
        "steps": [_get_step(context)],
        "updated_height": context.environment.height,
        "visits": [],
    }


def _get_step(context: TransactionContext) -> dict[str, Any]:
    """One entry of a case's step log: which action, in which transaction, at which height and time.
    The log lets anyone (the case page, an auditor) fetch every step's receipt with its proofs
    without scanning blocks: the transaction id is the key to ``/v1/receipts/{id}``."""
    return {"action": context.envelope.body.action, "height": context.environment.height, "signer": context.envelope.body.signer,
            "time_ms": context.environment.time_ms, "transaction": context.envelope.id.hex()}


def _require_case(context: TransactionContext, args: dict[str, Any], roles: tuple[str, ...], states: tuple[str, ...]) -> dict[str, Any]:
    case_id = require_string(args, "case_id", IDENTIFIER_PATTERN)
    case = context.state.get(get_case_key(case_id))
    if case is None:
        raise Rejection(ResultCode.CASE_NOT_FOUND)
    require_role_in_region(context, roles, case["region"])
    if case["status"] not in states:
        raise Rejection(ResultCode.WRONG_CASE_STATE, f"the case is {case['status']}")
    return case


def _put_case(context: TransactionContext, case: dict[str, Any], **changes: Any) -> None:
    steps = [*case.get("steps", []), _get_step(context)]  # a case written before the step log starts its log here
    context.state.put(get_case_key(case["id"]), {**case, **changes, "steps": steps, "updated_height": context.environment.height})


def _close_open_case(context: TransactionContext, case: dict[str, Any]) -> None:
    context.state.delete(get_open_case_key(case["household"], case["programme"]))


def _require_programmes(pack: PolicyPack, value: Any) -> list[Programme]:
    if type(value) is not list or not 1 <= len(value) <= limits.PROGRAMMES_PER_APPLICATION_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"programmes must list 1 to {limits.PROGRAMMES_PER_APPLICATION_MAX}")
    if len(set(map(str, value))) != len(value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a programme is listed twice")
    return [_require_programme(pack, item) for item in value]


def _require_programme(pack: PolicyPack, programme: Any) -> Programme:
    try:
        return get_programme(pack, programme)
    except LedgerInputError as error:
        raise Rejection(ResultCode.UNKNOWN_PROGRAMME, str(error)) from None


def _require_staff(context: TransactionContext, value: Any, region: str) -> list[str]:
    if type(value) is not list or len(value) < 2 or len(set(map(str, value))) != len(value) or len(value) > 8:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a visit is made by two to eight distinct staff")
    for key in value:
        member = context.state.get(get_member_key(key)) if type(key) is str else None
        if member is None or not is_signer_active(context.state, member) or not {CASEWORKER, APPROVER, ADMIN} & set(member["roles"]):
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "every visitor must be an active staff member")
        if not (is_within(region, member["region"]) or is_within(member["region"], region)):
            raise Rejection(ResultCode.NOT_AUTHORISED, "a visitor works outside the case's region")
    return sorted(value)


def _require_assessment(context: TransactionContext, pack: PolicyPack, programme: Programme, case: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    eligible = args["eligible"]
    if type(eligible) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "eligible must be true or false")
    size = require_integer(args, "household_size", 1, limits.HOUSEHOLD_MEMBERS_MAX)
    household = get_active_household(context.state, case["household"])
    if size != len(household["members"]):
        raise Rejection(ResultCode.AMOUNT_MISMATCH, f"the registry lists {len(household['members'])} members")
    try:
        standard = get_standard(pack, programme.id, case["region"], context.environment.time_ms)
    except LedgerInputError as error:
        raise Rejection(ResultCode.NO_STANDARD, str(error)) from None
    if require_integer(args, "standard_fen", 0, limits.INTEGER_ABSOLUTE_MAX) != standard:
        raise Rejection(ResultCode.AMOUNT_MISMATCH, f"the standard in force is {standard} fen")
    amount = require_integer(args, "monthly_benefit_fen", 0, limits.INTEGER_ABSOLUTE_MAX)
    method = programme.means_test.benefit_method if programme.means_test else "gap"
    consistent = (0 < amount <= standard * size if method == "gap" else amount == standard * size) if eligible else amount == 0
    if not consistent:
        raise Rejection(ResultCode.AMOUNT_MISMATCH, f"{amount} fen does not follow the {method} method for {size} members at {standard} fen")
    source = require_choice(args, "source", ("caseworker", "data_sharing"))
    answers = _require_answers(context, case, args.get("answers", []))
    if source == "data_sharing" and not answers:
        raise Rejection(ResultCode.MISSING_RECORD, "a means test from data sharing names the agency answers it used")
    income_unstable = args.get("income_unstable", False)
    if type(income_unstable) is not bool:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "income_unstable must be true or false")
    return {
        "answers": answers,
        "income_unstable": income_unstable,
        "category": require_string(args, "category", REASON_PATTERN),
        "eligible": eligible,
        "facts_digest": require_string(args, "facts_digest", DIGEST_PATTERN),
        "household_size": size,
        "monthly_benefit_fen": amount,
        "pack_version": pack.version,
        "reasons": _require_reasons(args, allow_empty=True),
        "source": source,
        "standard_fen": standard,
        "time_ms": context.environment.time_ms,
    }


def _require_answers(context: TransactionContext, case: dict[str, Any], value: Any) -> list[dict[str, str]]:
    """The agency answers a means test used, each checked against its record on the ledger."""
    if type(value) is not list or len(value) > ANSWERS_PER_MEANS_TEST_MAX or any(
            type(item) is not dict or not {"record_id", "query_id", "digest"} <= set(item) <= {"record_id", "query_id", "digest", "response_ms"} for item in value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"answers lists up to {ANSWERS_PER_MEANS_TEST_MAX} {{record_id, query_id, digest, response_ms?}} objects")
    answers = sorted(({"digest": require_string(item, "digest", DIGEST_PATTERN), "query_id": require_string(item, "query_id", IDENTIFIER_PATTERN),
                       "record_id": require_string(item, "record_id", IDENTIFIER_PATTERN),
                       "response_ms": require_integer(item, "response_ms", 0, RESPONSE_MS_MAX) if "response_ms" in item else None}
                      for item in value), key=lambda item: item["query_id"])
    if len({item["query_id"] for item in answers}) != len(answers):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "an answer is named twice")
    for item in answers:
        fault = get_answer_fault(context.state, item["record_id"], item["query_id"], item["digest"], case["id"], context.signer["organisation"])
        if fault is not None:
            raise Rejection(ResultCode.ANSWER_NOT_RECORDED, fault)
    return answers


def _require_visit_and_authorisation(case: dict[str, Any]) -> None:
    if case["authorisation_commitment"] is None:
        raise Rejection(ResultCode.MISSING_RECORD, "no authorisation is recorded")
    if not case["visits"]:
        raise Rejection(ResultCode.MISSING_RECORD, "no household visit is recorded")


def _require_investigation(case: dict[str, Any]) -> None:
    _require_visit_and_authorisation(case)
    if case["assessment"] is None:
        raise Rejection(ResultCode.MISSING_RECORD, "no means test is recorded")


def _require_ready_for_approval(case: dict[str, Any], programme: Programme, amount: int) -> None:
    """No household is enrolled without intake, investigation and the records the programme needs.

    Basic programmes (dibao, tekun) also need the ended public notice; cases paid first on the
    fast path are regularised without the township's opinion.
    """
    if programme.means_test is None:
        _require_visit_and_authorisation(case)
    else:
        _require_investigation(case)
    if case["status"] != "paid_first":
        if case["opinion"] is None or case["opinion"]["recommendation"] != "approve":
            raise Rejection(ResultCode.MISSING_RECORD, "the township has not recommended approval")
        if case["status"] == "opinion_given" and programme.tier == "basic":
            raise Rejection(ResultCode.MISSING_RECORD, "the public notice has not been held")
    if case["related_to_staff"] and not any(visit["by_county"] for visit in case["visits"]):
        raise Rejection(ResultCode.MANDATORY_VISIT_MISSING, "an applicant related to staff needs the county's own visit")
    if programme.means_test is None:
        return
    if not case["assessment"]["eligible"]:
        raise Rejection(ResultCode.NOT_ELIGIBLE, "the means test found the household not eligible")
    if amount != case["assessment"]["monthly_benefit_fen"]:
        raise Rejection(ResultCode.AMOUNT_MISMATCH, f"the means test assessed {case['assessment']['monthly_benefit_fen']} fen a month")


def _require_reasons(args: dict[str, Any], *, allow_empty: bool) -> list[str]:
    reasons = args.get("reasons")
    if type(reasons) is not list or len(reasons) > limits.REASONS_PER_DECISION_MAX or any(type(item) is not str or not REASON_PATTERN.fullmatch(item) for item in reasons):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"reasons must be a list of up to {limits.REASONS_PER_DECISION_MAX} reason codes")
    if not reasons and not allow_empty:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a refusal, change or exit states its reasons")
    return list(reasons)


def _get_review_months(programme: Programme, assessment: dict[str, Any]) -> int:
    """Yearly for stable households, every six months where income is unstable and the household can work."""
    months = programme.review_months_unstable if assessment.get("income_unstable") else programme.review_months_stable
    return months or 12


def _get_next_month(pack: PolicyPack, time_ms: int) -> str:
    """Benefits start the month after approval (in the pack's local time)."""
    year, month, _ = compute_civil_from_days(get_local_day(pack.calendar, time_ms))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}"

"""Problem reports: filed by any member, or by the 12349 hotline for a caller who may stay
anonymous; routed to the department that can act; escalated up the levels by deadline, so none
can be buried.

A report names a region (where the problem is), a category, an urgency and the commitment of its
description (kept in the filing agency's vault). Routing rules published on the ledger
(``publish_rules``) name the department for each category; a report is held first by that
department at county level (the county above a township). A report about **misconduct** names the
department accused and is never routed to it: it goes to the rules' oversight department instead.

States: ``filed`` > ``acknowledged`` > ``in_progress`` > ``resolved`` (with an outcome); a holder
may also **refer** a report to another department, which then holds it as ``filed``. Each stage
has a deadline in working days by urgency (acknowledge, then resolve). A report whose deadline
passes escalates, at the first block whose time reaches it, to the next level (county > city >
province > national) with a new deadline from the missed one; at the national level a missed
deadline is recorded once. The check reads a schedule (``schedule.py``), so its cost follows the
reports falling due, never the reports closed.

A report of a person in difficulty is also an **outreach task** for the township: a visit within
a deadline, its outcome (``application_opened`` with the case it opened, ``referred``,
``not_needed``). Big-data alerts arrive the same way, filed on the ``analytics`` channel.

State keys::

    reports/rules                          {routes, oversight, deadlines, visit_days, published_height}
    reports/report/<id>                    the report and its history
    reports/open/<holder prefix>/<id>      the open reports by the region holding them (see get_region_prefix)
    reports/stats/<region>/<category>      counters for the place reported, at county level and above
    reports/due/<hour>, reports/due-cursor the deadline schedule
"""

from typing import Any, Callable

from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_string
from reliefledger.ledger.contracts.assistance import get_case_key
from reliefledger.ledger.contracts.authorisation import ADMIN, CASEWORKER, POLICY_ADMIN, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.models import ANALYST, require_model_in_service
from reliefledger.ledger.contracts.membership import get_organisation_key
from reliefledger.ledger.contracts.policy_packs import get_current_pack
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN
from reliefledger.ledger.contracts.schedule import DeadlineSchedule
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN, REGION_PATTERN
from reliefledger.ledger.regions import get_level, get_parent, is_region_code, is_within
from reliefledger.ledger.results import Rejection, ResultCode
from reliefledger.ledger.working_days import DEADLINE_WORKING_DAYS_MAX, add_working_days

CATEGORIES = ("person_in_difficulty", "service_failure", "fund_problem", "misconduct")
URGENCIES = ("normal", "urgent", "critical")
CHANNELS = ("member", "hotline", "analytics")
STAGES = ("acknowledge", "resolve")
OPEN_STATES = ("filed", "acknowledged", "in_progress")
OUTREACH_OUTCOMES = ("application_opened", "referred", "not_needed")
HOTLINE_OPERATOR = "hotline_operator"
"""Staff of the 12349 hotline desk, who file reports for callers."""
REPORT_HANDLER = "report_handler"
"""Staff of a department who acknowledge, work on, refer and resolve the reports it holds."""
HANDLERS = (REPORT_HANDLER, ADMIN)
REFERRALS_MAX = 8
RULES_KEY = "reports/rules"
DUE = DeadlineSchedule("reports/due")
STAT_FIELDS = ("filed", "open", "acknowledged", "resolved", "escalations", "missed_at_top", "acknowledge_ms_total", "resolve_ms_total")


def get_report_key(report_id: str) -> str:
    """State key of a report."""
    return f"reports/report/{report_id}"


def get_region_prefix(region: str) -> str:
    """The digits every region within ``region`` starts with (``000000`` gives the empty prefix):
    a prefix scan of ``reports/open/<prefix>`` finds the open reports held anywhere within it."""
    if region == "000000":
        return ""
    if region[2:6] == "0000":
        return region[:2]
    if region[4:6] == "00":
        return region[:4]
    return region


def get_open_key(holder_region: str, report_id: str) -> str:
    """State key of a report in the index of open reports."""
    return f"reports/open/{get_region_prefix(holder_region)}/{report_id}"


def get_stats_key(region: str, category: str) -> str:
    """State key of the counters of one region (county level or above) and category."""
    return f"reports/stats/{region}/{category}"


def get_first_holder_region(region: str) -> str:
    """Reports go to the county above a township; a report about a county or a higher level stays there."""
    return get_parent(region) if get_level(region) == "township" else region  # type: ignore[return-value]


def process_publish_rules(context: TransactionContext, args: dict[str, Any]) -> None:
    """A policy admin publishes the routing rules and deadlines (a new version replaces the old
    for reports filed or moved afterwards)."""
    require_fields(args, {"routes", "oversight", "deadlines", "visit_days"})
    require_role_in_region(context, (POLICY_ADMIN,), context.signer["region"])
    routes, deadlines, visit_days = args["routes"], args["deadlines"], args["visit_days"]
    if type(routes) is not dict or set(routes) != set(CATEGORIES):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"routes name a department for each of {', '.join(CATEGORIES)}")
    for organisation in [*routes.values(), args["oversight"]]:
        _require_organisation(context.state, organisation)
    if args["oversight"] == routes["misconduct"]:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "the oversight department must differ from the one misconduct reports go to")
    if type(deadlines) is not dict or set(deadlines) != set(STAGES):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"deadlines are given for {', '.join(STAGES)}")
    for table in [*deadlines.values(), visit_days]:
        _require_days_by_urgency(table)
    previous = context.state.get(RULES_KEY)
    context.state.put(RULES_KEY, {"deadlines": deadlines, "oversight": args["oversight"], "routes": routes, "visit_days": visit_days,
                                  "published_height": context.environment.height, "version": 1 if previous is None else previous["version"] + 1})


def process_file(context: TransactionContext, args: dict[str, Any]) -> None:
    """File a report; it is routed, its first deadline starts, and for a person in difficulty the
    township's outreach task opens."""
    require_fields(args, {"report_id", "region", "category", "urgency", "description_commitment"}, {"channel", "subject_organisation", "caller_commitment", "model_id"})
    rules = _require_rules(context.state)
    report_id = require_string(args, "report_id", IDENTIFIER_PATTERN)
    if context.state.get(get_report_key(report_id)) is not None:
        raise Rejection(ResultCode.REPORT_EXISTS, f"report {report_id} exists")
    region = require_string(args, "region", REGION_PATTERN)
    if not is_region_code(region):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{region} is not a GB/T 2260 region code")
    category = require_choice(args, "category", CATEGORIES)
    urgency = require_choice(args, "urgency", URGENCIES)
    channel = args.get("channel", "member")
    if channel not in CHANNELS:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"channel is one of {', '.join(CHANNELS)}")
    if channel == "hotline":
        require_role_in_region(context, (HOTLINE_OPERATOR,), region)
    elif channel == "analytics":
        require_role_in_region(context, (ANALYST,), region)
        require_model_in_service(context.state, args.get("model_id"))  # which version raised the alert
    if "model_id" in args and channel != "analytics":
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "only an alert (channel analytics) names a model")
    subject = _require_subject(context.state, args, category)
    now = context.environment.time_ms
    calendar = get_current_pack(context.state).calendar
    holder = {"organisation": _route(rules, category, subject), "region": get_first_holder_region(region)}
    report = {
        "acknowledged_ms": None, "category": category, "channel": channel, "deadline": None, "escalations": 0, "filed_ms": now,
        "caller_commitment": require_string(args, "caller_commitment", DIGEST_PATTERN) if "caller_commitment" in args else None,
        "description_commitment": require_string(args, "description_commitment", DIGEST_PATTERN), "filed_by": context.signer["organisation"],
        "history": [{"event": "filed", "holder": holder, "time_ms": now}], "holder": holder, "id": report_id, "model_id": args.get("model_id"), "outcome": None,
        "outreach": None,
        "referrals": 0, "region": region, "resolved_ms": None, "status": "filed", "subject_organisation": subject,
        "transaction": context.envelope.id.hex(), "urgency": urgency,
    }
    if category == "person_in_difficulty":
        report["outreach"] = {"case_id": None, "outcome": None, "visit_commitment": None, "visit_due_ms": add_working_days(calendar, now, rules["visit_days"][urgency]),
                              "visited_ms": None}
    _set_deadline(context.state, report, "acknowledge", now, calendar, rules)
    _count(context.state, report, filed=1, open=1)
    _save(context.state, report, None)


def process_acknowledge(context: TransactionContext, args: dict[str, Any]) -> None:
    """The holding department has the report; the resolve deadline starts."""
    report = _require_holder(context, args, ("filed",))
    now = context.environment.time_ms
    report["status"], report["acknowledged_ms"] = "acknowledged", now
    report["history"].append({"event": "acknowledged", "holder": report["holder"], "time_ms": now})
    _set_deadline(context.state, report, "resolve", now, get_current_pack(context.state).calendar, _require_rules(context.state))
    _count(context.state, report, acknowledged=1, acknowledge_ms_total=now - report["filed_ms"])
    _save(context.state, report, report["holder"]["region"])


def process_start(context: TransactionContext, args: dict[str, Any]) -> None:
    """Work on the report has started (its resolve deadline runs on)."""
    report = _require_holder(context, args, ("acknowledged",))
    report["status"] = "in_progress"
    report["history"].append({"event": "in_progress", "holder": report["holder"], "time_ms": context.environment.time_ms})
    _save(context.state, report, report["holder"]["region"])


def process_resolve(context: TransactionContext, args: dict[str, Any]) -> None:
    """Close the report with its outcome; it never escalates again."""
    report = _require_holder(context, args, ("acknowledged", "in_progress"), {"outcome", "outcome_commitment"})
    outcome = require_string(args, "outcome", IDENTIFIER_PATTERN)
    if report["outreach"] is not None and report["outreach"]["outcome"] is None:
        raise Rejection(ResultCode.WRONG_REPORT_STATE, "the township's outreach visit is not recorded yet")
    now = context.environment.time_ms
    held_region = report["holder"]["region"]
    _set_deadline(context.state, report, None, now, None, None)
    report.update(status="resolved", resolved_ms=now, outcome={"code": outcome, "commitment": require_string(args, "outcome_commitment", DIGEST_PATTERN)})
    report["history"].append({"event": "resolved", "holder": report["holder"], "outcome": outcome, "time_ms": now})
    _count(context.state, report, resolved=1, open=-1, resolve_ms_total=now - report["filed_ms"])
    _save(context.state, report, held_region)


def process_refer(context: TransactionContext, args: dict[str, Any]) -> None:
    """Hand the report to another department at the same level; it starts again as filed there."""
    report = _require_holder(context, args, OPEN_STATES, {"organisation", "reason"})
    organisation = require_string(args, "organisation", IDENTIFIER_PATTERN)
    _require_organisation(context.state, organisation)
    reason = require_string(args, "reason", IDENTIFIER_PATTERN)
    if organisation == report["holder"]["organisation"] or organisation == report["subject_organisation"]:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a report is referred to another department, never to the one it accuses")
    if report["referrals"] >= REFERRALS_MAX:
        raise Rejection(ResultCode.WRONG_REPORT_STATE, f"a report is referred at most {REFERRALS_MAX} times")
    now = context.environment.time_ms
    report["holder"] = {"organisation": organisation, "region": report["holder"]["region"]}
    report.update(status="filed", referrals=report["referrals"] + 1)
    report["history"].append({"event": "referred", "holder": report["holder"], "reason": reason, "time_ms": now})
    _set_deadline(context.state, report, "acknowledge", now, get_current_pack(context.state).calendar, _require_rules(context.state))
    _save(context.state, report, report["holder"]["region"])


def process_record_outreach(context: TransactionContext, args: dict[str, Any]) -> None:
    """The township's visit to a person reported in difficulty, and what came of it."""
    require_fields(args, {"report_id", "outcome", "visit_commitment"}, {"case_id"})
    report = _require_report(context.state, args)
    if report["outreach"] is None or report["status"] not in OPEN_STATES or report["outreach"]["outcome"] is not None:
        raise Rejection(ResultCode.WRONG_REPORT_STATE, "the report has no open outreach task")
    require_role_in_region(context, (CASEWORKER,), report["region"])
    outcome = require_choice(args, "outcome", OUTREACH_OUTCOMES)
    case_id = None
    if outcome == "application_opened":
        case = context.state.get(get_case_key(require_string(args, "case_id", IDENTIFIER_PATTERN)))
        if case is None or not is_within(case["region"], get_first_holder_region(report["region"])):
            raise Rejection(ResultCode.CASE_NOT_FOUND, "no case of that id in the report's county")
        case_id = case["id"]
    elif "case_id" in args:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "only an opened application names a case")
    now = context.environment.time_ms
    report["outreach"] = {**report["outreach"], "case_id": case_id, "outcome": outcome, "visit_commitment": require_string(args, "visit_commitment", DIGEST_PATTERN),
                          "visited_ms": now}
    report["history"].append({"event": "outreach", "outcome": outcome, "time_ms": now})
    _save(context.state, report, report["holder"]["region"])


def process_block_start(time_ms: int, state: Any) -> None:
    """Escalate every open report whose deadline the block's time has reached, each exactly once
    per missed deadline; a report escalated past several deadlines during a long gap between
    blocks climbs once per deadline, each at the time it fell due."""
    due = DUE.take_due(state, time_ms)
    while due:
        calendar, rules = get_current_pack(state).calendar, state.get(RULES_KEY)
        for report_id in due:
            report = state.get(get_report_key(report_id))
            if report is not None and report["status"] in OPEN_STATES and report["deadline"] is not None and report["deadline"]["due_ms"] <= time_ms:
                _escalate(state, report, time_ms, calendar, rules)
        due = DUE.take_due(state, time_ms)


def _escalate(state: Any, report: dict[str, Any], time_ms: int, calendar: Any, rules: dict[str, Any]) -> None:
    deadline, held_region = report["deadline"], report["holder"]["region"]
    parent = get_parent(held_region)
    if parent is None:
        report["history"].append({"event": "missed_at_top", "stage": deadline["stage"], "due_ms": deadline["due_ms"], "time_ms": time_ms})
        report["deadline"] = None
        _count(state, report, missed_at_top=1)
        _save(state, report, held_region)
        return
    report["holder"] = {"organisation": report["holder"]["organisation"], "region": parent}
    report["escalations"] += 1
    report["history"].append({"event": "escalated", "from": held_region, "to": parent, "stage": deadline["stage"], "due_ms": deadline["due_ms"], "time_ms": time_ms})
    report["deadline"] = None  # its schedule entry was taken; the next deadline counts from the missed one
    _set_deadline(state, report, deadline["stage"], deadline["due_ms"], calendar, rules)
    _count(state, report, escalations=1)
    _save(state, report, held_region)


def _set_deadline(state: Any, report: dict[str, Any], stage: str | None, start_ms: int, calendar: Any, rules: dict[str, Any] | None) -> None:
    """Replace the report's deadline (and its schedule entry) by ``stage``'s, or by none."""
    if report["deadline"] is not None:
        DUE.remove(state, report["id"], report["deadline"]["due_ms"])
        report["deadline"] = None
    if stage is None or rules is None:
        return
    due_ms = add_working_days(calendar, start_ms, rules["deadlines"][stage][report["urgency"]])
    report["deadline"] = {"due_ms": due_ms, "stage": stage}
    DUE.add(state, report["id"], due_ms)


def _save(state: Any, report: dict[str, Any], previous_holder_region: str | None) -> None:
    """Write the report and keep the open index in step with where it is held."""
    state.put(get_report_key(report["id"]), report)
    if previous_holder_region is not None:
        state.delete(get_open_key(previous_holder_region, report["id"]))
    if report["status"] in OPEN_STATES:
        deadline = report["deadline"] or {"due_ms": None, "stage": None}
        state.put(get_open_key(report["holder"]["region"], report["id"]), {
            "category": report["category"], "due_ms": deadline["due_ms"], "filed_ms": report["filed_ms"], "holder": report["holder"],
            "region": report["region"], "stage": deadline["stage"], "status": report["status"], "urgency": report["urgency"]})


def _count(state: Any, report: dict[str, Any], **changes: int) -> None:
    """Add to the counters of the place reported, at every level from its county up."""
    for region in _get_counted_regions(report["region"]):
        key = get_stats_key(region, report["category"])
        counters = state.get(key) or dict.fromkeys(STAT_FIELDS, 0)
        state.put(key, {**counters, **{name: counters[name] + value for name, value in changes.items()}})


def _get_counted_regions(region: str) -> list[str]:
    regions = [get_first_holder_region(region)]
    while (parent := get_parent(regions[-1])) is not None:
        regions.append(parent)
    return regions


def _route(rules: dict[str, Any], category: str, subject: str | None) -> str:
    department = rules["routes"][category]
    return rules["oversight"] if subject is not None and department == subject else department


def _require_subject(state: Any, args: dict[str, Any], category: str) -> str | None:
    if category != "misconduct":
        if "subject_organisation" in args:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "only a misconduct report names the department it accuses")
        return None
    subject = require_string(args, "subject_organisation", IDENTIFIER_PATTERN)
    _require_organisation(state, subject)
    return subject


def _require_rules(state: Any) -> dict[str, Any]:
    rules = state.get(RULES_KEY)
    if rules is None:
        raise Rejection(ResultCode.NO_REPORT_ROUTE, "no routing rules are published yet")
    return rules


def _require_organisation(state: Any, organisation: Any) -> None:
    if type(organisation) is not str or not IDENTIFIER_PATTERN.fullmatch(organisation) or state.get(get_organisation_key(organisation)) is None:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{organisation!r} is not a member organisation")


def _require_days_by_urgency(table: Any) -> None:
    if type(table) is not dict or set(table) != set(URGENCIES) or any(type(days) is not int or not 1 <= days <= DEADLINE_WORKING_DAYS_MAX for days in table.values()):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"deadlines give 1 to {DEADLINE_WORKING_DAYS_MAX} working days for each of {', '.join(URGENCIES)}")


def _require_report(state: Any, args: dict[str, Any]) -> dict[str, Any]:
    report = state.get(get_report_key(require_string(args, "report_id", IDENTIFIER_PATTERN)))
    if report is None:
        raise Rejection(ResultCode.REPORT_NOT_FOUND, f"no report {args['report_id']}")
    return report


def _require_holder(context: TransactionContext, args: dict[str, Any], states: tuple[str, ...], extra: set[str] = frozenset()) -> dict[str, Any]:
    """The report, when the signer is a handler of the department holding it, at its level, and
    the report is in one of ``states``."""
    require_fields(args, {"report_id", *extra})
    report = _require_report(context.state, args)
    if context.signer["organisation"] != report["holder"]["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"the report is held by {report['holder']['organisation']}")
    require_role_in_region(context, HANDLERS, report["holder"]["region"])
    if context.signer["region"] != report["holder"]["region"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"the report is held at {report['holder']['region']}; a desk acts only at its own level")
    if report["status"] not in states:
        raise Rejection(ResultCode.WRONG_REPORT_STATE, f"the report is {report['status']}")
    return report


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "acknowledge": process_acknowledge,
    "file": process_file,
    "publish_rules": process_publish_rules,
    "record_outreach": process_record_outreach,
    "refer": process_refer,
    "resolve": process_resolve,
    "start": process_start,
}
"""The contract's actions by name."""

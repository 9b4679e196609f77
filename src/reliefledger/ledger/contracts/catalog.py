"""The directory chain (目录链): data catalogues, sharing requests and their approvals.

Departments publish what data they hold — resources with typed fields, the duty and legal basis
that produce them, how often they change and whether they are shared unconditionally, on
request, or not at all — at a level (city, district, street). Another department asks to read
named fields for a stated purpose and legal basis; the owner approves (possibly fewer fields,
with conditions and an expiry) or refuses with a reason, and may revoke later. The data itself
never comes here; ``get_approval_fault`` is what a data service asks before answering a query.

State keys::

    catalog/resource/<resource id>   {id, owner, name, fields, legal_basis, ..., version, status, history}
    catalog/resource-version/<resource id>/<version, 6 digits>   the description as published in that version
    catalog/request/<request id>     {id, resource, requester, purpose, scope, fields, status, ..., history}
    catalog/answers/<record id>      {record_id, request_id, agency, requester, fields, answers: {query id: {case_id, [household,] persons, outcome, digest|reason}}, ...}
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, APPROVER, CASEWORKER, DATA_OFFICER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN, REGION_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

FIELD_TYPES = ("string", "integer", "amount_fen", "boolean", "date", "count")
"""Types a catalogued field may have; ``amount_fen`` and ``count`` may be answered as brackets."""
SHARING_CLASSES = ("unconditional", "conditional", "not_shared")
LEVELS = ("city", "district", "street")
UPDATE_FREQUENCIES = ("realtime", "daily", "weekly", "monthly", "quarterly", "yearly")
FIELD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TEXT_CHARACTERS_MAX = 400
FIELDS_MAX = 64
CONDITIONS_MAX = 16
ANSWERS_PER_TRANSACTION_MAX = 1024
"""Answers in one ``record_answers`` transaction (the transaction size limit also applies)."""
CURATORS = (DATA_OFFICER, ADMIN)
"""Who keeps a department's catalogue and answers its sharing requests."""
REQUESTERS = (DATA_OFFICER, ADMIN, CASEWORKER, APPROVER)
SCOPES = ("means_test", "discovery")
"""What a sharing request's queries are about: a means test (a case with the applicant's
authorisation, figures allowed) or active discovery (households of the requester's region that
did not apply, answered only in brackets or against thresholds, never usable in a means test)."""


def get_request_scope(request: dict[str, Any]) -> str:
    """A request's scope (requests made before scopes existed are means-test requests)."""
    return request.get("scope", "means_test")


def get_resource_key(resource_id: str) -> str:
    """State key of a catalogued resource."""
    return f"catalog/resource/{resource_id}"


def get_request_key(request_id: str) -> str:
    """State key of a sharing request."""
    return f"catalog/request/{request_id}"


def get_resource_version_key(resource_id: str, version: int) -> str:
    """State key of one published version of a resource's description (kept when it changes)."""
    return f"catalog/resource-version/{resource_id}/{version:06d}"


def _put_resource(context: TransactionContext, resource: dict[str, Any], action: str) -> None:
    """Write a resource with its history event; each version's description is kept under its own key."""
    event = _event(context, action, status=resource["status"], version=resource["version"])
    context.state.put(get_resource_key(resource["id"]), {**resource, "history": [*resource["history"], event]})
    if action != "retire_resource":
        context.state.put(get_resource_version_key(resource["id"], resource["version"]),
                          {name: value for name, value in resource.items() if name != "history"})


def _put_request(context: TransactionContext, action: str, request: dict[str, Any]) -> None:
    """Write a request with its history event (who did what, when, in which transaction)."""
    event = _event(context, action, status=request["status"])
    context.state.put(get_request_key(request["id"]), {**request, "history": [*request["history"], event]})


def _event(context: TransactionContext, action: str, **details: Any) -> dict[str, Any]:
    return {"action": action, "by": context.envelope.body.signer, "height": context.environment.height, "organisation": context.signer["organisation"],
            "time_ms": context.environment.time_ms, "transaction": context.envelope.id.hex(), **details}


def get_approval_fault(state: Any, request_id: str, requester: str, fields: list[str], now_ms: int) -> str | None:
    """Why ``requester`` may not read ``fields`` under ``request_id`` now, or None when it may.

    The check a data service makes before it answers a query: the request must be approved, not
    revoked or expired, made by this organisation, and cover every field asked for.
    """
    request = state.get(get_request_key(request_id))
    if request is None:
        return "no such sharing request"
    if request["requester"] != requester:
        return "the request was made by another organisation"
    if request["status"] != "approved":
        return f"the request is {request['status']}"
    if request["expires_ms"] is not None and now_ms >= request["expires_ms"]:
        return "the approval has expired"
    resource = state.get(get_resource_key(request["resource"]))
    if resource is None or resource["status"] != "active":
        return "the resource is no longer shared"
    outside = sorted(set(fields) - set(request["approved_fields"]))
    if outside:
        return f"fields beyond the approval: {', '.join(outside)}"
    return None


def process_register_resource(context: TransactionContext, args: dict[str, Any]) -> None:
    """A department catalogues a data resource it holds (version 1)."""
    require_fields(args, RESOURCE_FIELDS | {"resource_id"})
    resource_id = require_string(args, "resource_id", IDENTIFIER_PATTERN)
    if context.state.get(get_resource_key(resource_id)) is not None:
        raise Rejection(ResultCode.RESOURCE_EXISTS)
    description = _require_description(context, args)
    resource = {**description, "history": [], "id": resource_id, "owner": context.signer["organisation"], "registered_height": context.environment.height,
                "status": "active", "updated_height": context.environment.height, "version": 1}
    _put_resource(context, resource, "register_resource")


def process_update_resource(context: TransactionContext, args: dict[str, Any]) -> None:
    """The owner publishes a new version of a resource's description."""
    require_fields(args, RESOURCE_FIELDS | {"resource_id"})
    resource = _require_own_resource(context, args)
    description = _require_description(context, args)
    _put_resource(context, {**resource, **description, "updated_height": context.environment.height, "version": resource["version"] + 1}, "update_resource")


def process_retire_resource(context: TransactionContext, args: dict[str, Any]) -> None:
    """The owner stops sharing a resource; approvals under it stop working."""
    require_fields(args, {"resource_id"})
    resource = _require_own_resource(context, args)
    require_role_in_region(context, CURATORS, resource["region"])
    _put_resource(context, {**resource, "status": "retired", "updated_height": context.environment.height}, "retire_resource")


def process_request_sharing(context: TransactionContext, args: dict[str, Any]) -> None:
    """Ask to read named fields of a resource for a purpose, under a legal basis.

    Unconditionally shared resources are approved at once; conditional ones wait for the owner;
    resources that are not shared refuse.
    """
    require_fields(args, {"request_id", "resource_id", "purpose", "fields", "legal_basis"}, {"scope"})
    require_role_in_region(context, REQUESTERS, context.signer["region"])
    scope = require_choice(args, "scope", SCOPES) if "scope" in args else "means_test"
    request_id = require_string(args, "request_id", IDENTIFIER_PATTERN)
    resource = context.state.get(get_resource_key(require_string(args, "resource_id", IDENTIFIER_PATTERN)))
    if resource is None or resource["status"] != "active":
        raise Rejection(ResultCode.RESOURCE_NOT_FOUND)
    if context.state.get(get_request_key(request_id)) is not None:
        raise Rejection(ResultCode.REQUEST_EXISTS)
    if resource["sharing_class"] == "not_shared":
        raise Rejection(ResultCode.SHARING_NOT_ALLOWED, "the owner does not share this resource")
    if resource["owner"] == context.signer["organisation"]:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "an organisation reads its own data without a request")
    fields = _require_field_names(args.get("fields"), resource)
    unconditional = resource["sharing_class"] == "unconditional"
    _put_request(context, "request_sharing", {
        "approved_fields": fields if unconditional else [], "conditions": [], "decided_by": None, "history": [],
        "decided_height": context.environment.height if unconditional else None, "expires_ms": None, "fields": fields,
        "id": request_id, "legal_basis": _require_text(args, "legal_basis"), "purpose": _require_text(args, "purpose"),
        "reason": None, "requested_by": context.envelope.body.signer, "requested_height": context.environment.height,
        "requester": context.signer["organisation"], "resource": resource["id"], "resource_version": resource["version"], "scope": scope,
        "status": "approved" if unconditional else "pending",
    })


def process_decide_request(context: TransactionContext, args: dict[str, Any]) -> None:
    """The owner approves (all or fewer fields, with conditions and an expiry) or refuses with a reason."""
    require_fields(args, {"request_id", "outcome"}, {"approved_fields", "conditions", "expires_ms", "reason"})
    request, resource = _require_request_of_own_resource(context, args)
    if request["status"] != "pending":
        raise Rejection(ResultCode.REQUEST_NOT_PENDING, f"the request is {request['status']}")
    outcome = args["outcome"]
    decided = {"decided_by": context.envelope.body.signer, "decided_height": context.environment.height}
    if outcome == "refuse":
        if "reason" not in args:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "a refusal states its reason")
        _put_request(context, "decide_request", {**request, **decided, "reason": _require_text(args, "reason"), "status": "refused"})
        return
    if outcome != "approve":
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "outcome must be approve or refuse")
    approved = _require_field_names(args["approved_fields"], resource) if "approved_fields" in args else request["fields"]
    if not set(approved) <= set(request["fields"]):
        raise Rejection(ResultCode.FIELDS_NOT_IN_RESOURCE, "an approval cannot add fields the request did not ask for")
    expires_ms = require_integer(args, "expires_ms", context.environment.time_ms + 1, limits.INTEGER_ABSOLUTE_MAX) if "expires_ms" in args else None
    conditions = args.get("conditions", [])
    if type(conditions) is not list or len(conditions) > CONDITIONS_MAX or any(type(item) is not str or not 0 < len(item) <= TEXT_CHARACTERS_MAX for item in conditions):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"conditions are up to {CONDITIONS_MAX} texts")
    _put_request(context, "decide_request", {**request, **decided, "approved_fields": approved, "conditions": conditions,
                                             "expires_ms": expires_ms, "status": "approved"})


def process_revoke_request(context: TransactionContext, args: dict[str, Any]) -> None:
    """The owner revokes an approval, or the requester withdraws its request, with a reason."""
    require_fields(args, {"request_id", "reason"})
    request = context.state.get(get_request_key(require_string(args, "request_id", IDENTIFIER_PATTERN)))
    if request is None:
        raise Rejection(ResultCode.REQUEST_NOT_FOUND)
    resource = context.state.get(get_resource_key(request["resource"]))
    if context.signer["organisation"] not in (resource["owner"], request["requester"]):
        raise Rejection(ResultCode.NOT_AUTHORISED, "only the owner or the requester revokes")
    require_role_in_region(context, CURATORS, context.signer["region"])
    if request["status"] not in ("pending", "approved"):
        raise Rejection(ResultCode.REQUEST_NOT_PENDING, f"the request is {request['status']}")
    _put_request(context, "revoke_request", {**request, "reason": _require_text(args, "reason"), "revoked_height": context.environment.height, "status": "revoked"})


def get_answer_record_key(record_id: str) -> str:
    """State key of one recorded batch of answers (and refusals)."""
    return f"catalog/answers/{record_id}"


def process_record_answers(context: TransactionContext, args: dict[str, Any]) -> None:
    """The answering agency records what it answered or refused in one batch of queries: per query
    the case, the persons asked about and the digest of the answer (which goes off the ledger), or
    the reason for refusing — who was asked what about whom, when, for which case. One record and
    one signature per batch, not per query: a review cycle of thousands of households writes a few
    records, and every answer is still looked up by ``(record, query id)``."""
    require_fields(args, {"record_id", "request_id", "fields", "answers"})
    record_id = require_string(args, "record_id", IDENTIFIER_PATTERN)
    request, resource = _require_request_of_own_resource(context, args)
    if context.state.get(get_answer_record_key(record_id)) is not None:
        raise Rejection(ResultCode.ANSWER_EXISTS, f"answer record {record_id} exists")
    fields = _require_field_names(args["fields"], resource)
    entries = args["answers"]
    if type(entries) is not dict or not 1 <= len(entries) <= ANSWERS_PER_TRANSACTION_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"answers maps 1 to {ANSWERS_PER_TRANSACTION_MAX} query ids to their outcomes")
    answers = {}
    for query_id in sorted(entries):
        if not IDENTIFIER_PATTERN.fullmatch(query_id) or type(entries[query_id]) is not dict:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "answers maps query ids to {case_id, persons, outcome, digest or reason}")
        answers[query_id] = _require_answer_entry(entries[query_id])
    context.state.put(get_answer_record_key(record_id), {
        "agency": resource["owner"], "answers": answers, "fields": fields, "height": context.environment.height, "record_id": record_id,
        "request_id": request["id"], "requester": request["requester"], "resource": resource["id"], "time_ms": context.environment.time_ms,
        "transaction": context.envelope.id.hex(),
    })


def _require_answer_entry(entry: dict[str, Any]) -> dict[str, Any]:
    require_fields(entry, {"case_id", "persons", "outcome"}, {"digest", "household", "reason"})
    outcome = require_choice(entry, "outcome", ("answered", "refused"))
    persons = entry["persons"]
    if type(persons) is not list or not 1 <= len(persons) <= limits.HOUSEHOLD_MEMBERS_MAX or any(type(item) is not str or not DIGEST_PATTERN.fullmatch(item) for item in persons):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "persons must list the pseudonyms asked about")
    return {"case_id": require_string(entry, "case_id", IDENTIFIER_PATTERN),
            "digest": require_string(entry, "digest", DIGEST_PATTERN) if outcome == "answered" else None,
            "outcome": outcome, "persons": sorted(persons), "reason": _require_text(entry, "reason") if outcome == "refused" else None,
            **({"household": require_string(entry, "household", DIGEST_PATTERN)} if "household" in entry else {})}


def get_answer_fault(state: Any, record_id: str, query_id: str, digest: str, case_id: str, requester: str) -> str | None:
    """Why an answer cannot support a means test (None when it can): it must be on the ledger, as
    answered, for this case and requester, with this digest. What the assistance contract asks of
    every answer a means test names, so an answer its agency never committed to is never used."""
    record = state.get(get_answer_record_key(record_id))
    entry = record["answers"].get(query_id) if record is not None else None
    if entry is None:
        return f"no answer to query {query_id} is recorded in {record_id}"
    if entry["outcome"] != "answered":
        return f"query {query_id} was refused"
    request = state.get(get_request_key(record["request_id"]))
    if request is None or get_request_scope(request) != "means_test":
        return f"query {query_id} was asked for active discovery, not for a means test"
    if entry["case_id"] != case_id or record["requester"] != requester:
        return f"query {query_id} was asked for another case or requester"
    if entry["digest"] != digest:
        return f"the answer to query {query_id} has another digest on the ledger"
    return None


def list_answers(records: Any) -> list[dict[str, Any]]:
    """One flat entry per query from answer records (``(key, record)`` pairs): what transparency shows."""
    flat = []
    for _, record in records:
        shared = {name: record[name] for name in ("agency", "fields", "height", "record_id", "request_id", "requester", "resource", "time_ms", "transaction")}
        flat.extend({**shared, **entry, "query_id": query_id} for query_id, entry in record["answers"].items())
    return flat


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "record_answers": process_record_answers,
    "register_resource": process_register_resource,
    "update_resource": process_update_resource,
    "retire_resource": process_retire_resource,
    "request_sharing": process_request_sharing,
    "decide_request": process_decide_request,
    "revoke_request": process_revoke_request,
}
"""The contract's actions by name."""

RESOURCE_FIELDS = {"name", "fields", "legal_basis", "update_frequency", "sharing_class", "level", "region"}


def _require_description(context: TransactionContext, args: dict[str, Any]) -> dict[str, Any]:
    region = require_string(args, "region", REGION_PATTERN)
    require_role_in_region(context, CURATORS, region)
    return {
        "fields": _require_field_definitions(args["fields"]),
        "legal_basis": _require_text(args, "legal_basis"),
        "level": require_choice(args, "level", LEVELS),
        "name": _require_text(args, "name"),
        "region": region,
        "sharing_class": require_choice(args, "sharing_class", SHARING_CLASSES),
        "update_frequency": require_choice(args, "update_frequency", UPDATE_FREQUENCIES),
    }


def _require_field_definitions(value: Any) -> list[dict[str, Any]]:
    if type(value) is not list or not 1 <= len(value) <= FIELDS_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"fields must list 1 to {FIELDS_MAX} definitions")
    definitions = []
    for item in value:
        if type(item) is not dict:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "a field is an object {name, type, predicate_allowed}")
        require_fields(item, {"name", "type", "predicate_allowed"})
        if type(item["predicate_allowed"]) is not bool:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "predicate_allowed must be true or false")
        definitions.append({"name": require_string(item, "name", FIELD_NAME_PATTERN), "predicate_allowed": item["predicate_allowed"],
                            "type": require_choice(item, "type", FIELD_TYPES)})
    if len({definition["name"] for definition in definitions}) != len(definitions):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a field is defined twice")
    return definitions


def _require_field_names(value: Any, resource: dict[str, Any]) -> list[str]:
    if type(value) is not list or not value or any(type(item) is not str for item in value) or len(set(value)) != len(value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "fields must be a non-empty list of distinct names")
    known = {definition["name"] for definition in resource["fields"]}
    unknown = sorted(set(value) - known)
    if unknown:
        raise Rejection(ResultCode.FIELDS_NOT_IN_RESOURCE, f"the resource has no fields {', '.join(unknown)}")
    return sorted(value)


def _require_own_resource(context: TransactionContext, args: dict[str, Any]) -> dict[str, Any]:
    resource = context.state.get(get_resource_key(require_string(args, "resource_id", IDENTIFIER_PATTERN)))
    if resource is None:
        raise Rejection(ResultCode.RESOURCE_NOT_FOUND)
    if resource["owner"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "only the owning department changes its catalogue")
    return resource


def _require_request_of_own_resource(context: TransactionContext, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    request = context.state.get(get_request_key(require_string(args, "request_id", IDENTIFIER_PATTERN)))
    if request is None:
        raise Rejection(ResultCode.REQUEST_NOT_FOUND)
    resource = context.state.get(get_resource_key(request["resource"]))
    if resource["owner"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "only the owning department decides on its data")
    require_role_in_region(context, CURATORS, resource["region"])
    return request, resource


def _require_text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if type(value) is not str or not 0 < len(value) <= TEXT_CHARACTERS_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{name} must be 1 to {TEXT_CHARACTERS_MAX} characters")
    return value


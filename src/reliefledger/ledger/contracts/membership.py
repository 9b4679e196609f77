"""Membership: organisations, their member keys and roles, and governance of the founding set.

State keys::

    membership/organisation/<id>   {id, name, kind, region, founding, status, admitted_height}
    membership/member/<key hex>    {organisation, region, roles, status, admitted_height, revoked_height}
    membership/founding            {organisations: [sorted ids]}
    membership/proposal/<id>       {id, change, proposer, votes, status, deadline_ms, closed_height}

An organisation's admins admit and revoke its own members. Every member acts within a region
(GB/T 2260): its organisation's, or one within it named at admission — a township caseworker of a
district bureau is bound to that township. Admitting or removing an organisation
is a governance proposal that takes effect when a strict majority of the founding organisations
has voted for it, never by editing a configuration file.
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_fields, require_integer, require_string
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import Genesis, IDENTIFIER_PATTERN, REGION_PATTERN, OrganisationSpec, parse_organisation_spec
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.results import Rejection, ResultCode

ADMIN_ROLE = "admin"
"""The role that may admit and revoke members and take part in governance."""

ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HEX_KEY_PATTERN = re.compile(r"^(?:[0-9a-f]{2}){16,128}$")
FOUNDING_KEY = "membership/founding"


def get_member_key(public_key: str) -> str:
    """State key of a member record."""
    return f"membership/member/{public_key}"


def get_organisation_key(organisation_id: str) -> str:
    """State key of an organisation record."""
    return f"membership/organisation/{organisation_id}"


def get_proposal_key(proposal_id: str) -> str:
    """State key of a governance proposal."""
    return f"membership/proposal/{proposal_id}"


def compute_genesis_writes(genesis: Genesis) -> dict[str, Any]:
    """The state genesis founds: its organisations, their admins and the founding set."""
    writes: dict[str, Any] = {}
    for spec in genesis.organisations:
        writes.update(_compute_organisation_writes(spec, founding=True, height=0))
    writes[FOUNDING_KEY] = {"organisations": sorted(spec.id for spec in genesis.organisations)}
    return dict(sorted(writes.items()))


def is_signer_active(state: Any, member: dict[str, Any] | None) -> bool:
    """True when the member and its organisation are both active."""
    if member is None or member["status"] != "active":
        return False
    organisation = state.get(get_organisation_key(member["organisation"]))
    return organisation is not None and organisation["status"] == "active"


def process_admit_member(context: TransactionContext, args: dict[str, Any]) -> None:
    """An admin admits a new key to its own organisation with roles, bound to a region within it."""
    require_fields(args, {"public_key", "roles"}, {"region"})
    _require_admin(context)
    public_key = _require_public_key(context, args)
    roles = _require_roles(args)
    organisation = context.state.get(get_organisation_key(context.signer["organisation"]))
    region = require_string(args, "region", REGION_PATTERN) if "region" in args else organisation["region"]
    if not is_within(region, organisation["region"]):
        raise Rejection(ResultCode.NOT_AUTHORISED, f"region {region} is outside the organisation's {organisation['region']}")
    if context.state.get(get_member_key(public_key)) is not None:
        raise Rejection(ResultCode.MEMBER_EXISTS, "that key is already a member")
    context.state.put(get_member_key(public_key), _build_member(organisation["id"], region, roles, context.environment.height))


def process_revoke_member(context: TransactionContext, args: dict[str, Any]) -> None:
    """An admin revokes a key of its own organisation; its later signatures are rejected."""
    require_fields(args, {"public_key"})
    _require_admin(context)
    public_key = require_string(args, "public_key", HEX_KEY_PATTERN)
    member = context.state.get(get_member_key(public_key))
    if member is None:
        raise Rejection(ResultCode.MEMBER_NOT_FOUND)
    if member["organisation"] != context.signer["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "a member of another organisation")
    if member["status"] != "active":
        raise Rejection(ResultCode.MEMBER_ALREADY_REVOKED)
    context.state.put(
        get_member_key(public_key),
        {**member, "status": "revoked", "revoked_height": context.environment.height},
    )


def process_propose(context: TransactionContext, args: dict[str, Any]) -> None:
    """A founding organisation proposes a change to the set of organisations, and votes for it."""
    require_fields(args, {"proposal_id", "change"}, {"lifetime_ms"})
    voter = _require_founding_admin(context)
    proposal_id = require_string(args, "proposal_id", IDENTIFIER_PATTERN)
    lifetime_ms = require_integer(args, "lifetime_ms", 1, limits.PROPOSAL_LIFETIME_MS_MAX) if "lifetime_ms" in args else limits.PROPOSAL_LIFETIME_MS_DEFAULT
    change = _require_change(context, args.get("change"))
    if context.state.get(get_proposal_key(proposal_id)) is not None:
        raise Rejection(ResultCode.PROPOSAL_EXISTS)
    proposal = {
        "change": change,
        "closed_height": None,
        "deadline_ms": context.environment.time_ms + lifetime_ms,
        "id": proposal_id,
        "proposer": voter,
        "status": "open",
        "votes": [voter],
    }
    _store_and_maybe_apply(context, proposal)


def process_vote(context: TransactionContext, args: dict[str, Any]) -> None:
    """A founding organisation votes for an open proposal; a strict majority applies it."""
    require_fields(args, {"proposal_id"})
    voter = _require_founding_admin(context)
    proposal_id = require_string(args, "proposal_id", IDENTIFIER_PATTERN)
    proposal = context.state.get(get_proposal_key(proposal_id))
    if proposal is None:
        raise Rejection(ResultCode.PROPOSAL_NOT_FOUND)
    if proposal["status"] != "open":
        raise Rejection(ResultCode.PROPOSAL_CLOSED, f"proposal is {proposal['status']}")
    if context.environment.time_ms > proposal["deadline_ms"]:
        raise Rejection(ResultCode.PROPOSAL_CLOSED, "proposal deadline has passed")
    if voter in proposal["votes"]:
        raise Rejection(ResultCode.ALREADY_VOTED)
    _store_and_maybe_apply(context, {**proposal, "votes": sorted([*proposal["votes"], voter])})


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "admit_member": process_admit_member,
    "revoke_member": process_revoke_member,
    "propose": process_propose,
    "vote": process_vote,
}
"""The contract's actions by name."""


def _store_and_maybe_apply(context: TransactionContext, proposal: dict[str, Any]) -> None:
    founding = context.state.get(FOUNDING_KEY)["organisations"]
    votes_counted = [voter for voter in proposal["votes"] if voter in founding]
    if 2 * len(votes_counted) > len(founding):
        _apply_change(context, proposal["change"], founding)
        proposal = {**proposal, "status": "applied", "closed_height": context.environment.height}
    context.state.put(get_proposal_key(proposal["id"]), proposal)


def _apply_change(context: TransactionContext, change: dict[str, Any], founding: list[str]) -> None:
    height = context.environment.height
    if change["kind"] == "admit_organisation":
        spec = parse_organisation_spec(change["organisation"], context.environment.suite)
        if context.state.get(get_organisation_key(spec.id)) is not None:
            raise Rejection(ResultCode.ORGANISATION_EXISTS)
        if context.state.get(get_member_key(spec.admin_key)) is not None:
            raise Rejection(ResultCode.MEMBER_EXISTS, "the admin key is already a member")
        for key, value in _compute_organisation_writes(spec, founding=change["founding"], height=height).items():
            context.state.put(key, value)
        if change["founding"]:
            context.state.put(FOUNDING_KEY, {"organisations": sorted([*founding, spec.id])})
        return
    organisation_id = change["organisation_id"]
    organisation = context.state.get(get_organisation_key(organisation_id))
    if organisation is None or organisation["status"] != "active":
        raise Rejection(ResultCode.ORGANISATION_NOT_FOUND)
    if organisation_id in founding:
        if len(founding) == 1:
            raise Rejection(ResultCode.FOUNDING_SET_WOULD_BE_EMPTY)
        context.state.put(FOUNDING_KEY, {"organisations": [item for item in founding if item != organisation_id]})
    context.state.put(
        get_organisation_key(organisation_id),
        {**organisation, "founding": False, "status": "removed", "removed_height": height},
    )


def _require_change(context: TransactionContext, change: Any) -> dict[str, Any]:
    if type(change) is not dict or change.get("kind") not in ("admit_organisation", "remove_organisation"):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "change.kind must be admit_organisation or remove_organisation")
    if change["kind"] == "admit_organisation":
        require_fields(change, {"kind", "organisation", "founding"})
        if type(change["founding"]) is not bool:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "change.founding must be true or false")
        try:
            parse_organisation_spec(change["organisation"], context.environment.suite)
        except LedgerInputError as error:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, str(error)) from None
        return change
    require_fields(change, {"kind", "organisation_id"})
    require_string(change, "organisation_id", IDENTIFIER_PATTERN)
    return change


def _require_admin(context: TransactionContext) -> None:
    if ADMIN_ROLE not in context.signer["roles"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "the signer is not an admin of its organisation")


def _require_founding_admin(context: TransactionContext) -> str:
    _require_admin(context)
    organisation_id = context.signer["organisation"]
    if organisation_id not in context.state.get(FOUNDING_KEY)["organisations"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, "only founding organisations take part in governance")
    return organisation_id


def _require_public_key(context: TransactionContext, args: dict[str, Any]) -> str:
    public_key = require_string(args, "public_key", HEX_KEY_PATTERN)
    if not context.environment.suite.is_valid_public_key(bytes.fromhex(public_key)):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"not a {context.environment.suite.name} public key")
    return public_key


def _require_roles(args: dict[str, Any]) -> list[str]:
    roles = args["roles"]
    if type(roles) is not list or not 1 <= len(roles) <= limits.ROLES_PER_MEMBER_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"roles must be a list of 1 to {limits.ROLES_PER_MEMBER_MAX}")
    if any(type(role) is not str or not ROLE_PATTERN.fullmatch(role) for role in roles):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a role must be lowercase letters, digits and _")
    return sorted(set(roles))


def _build_member(organisation_id: str, region: str, roles: list[str], height: int) -> dict[str, Any]:
    return {
        "admitted_height": height,
        "organisation": organisation_id,
        "region": region,
        "revoked_height": None,
        "roles": roles,
        "status": "active",
    }


def _compute_organisation_writes(spec: OrganisationSpec, *, founding: bool, height: int) -> dict[str, Any]:
    return {
        get_organisation_key(spec.id): {
            "admitted_height": height,
            "founding": founding,
            "id": spec.id,
            "kind": spec.kind,
            "name": spec.name,
            "region": spec.region,
            "status": "active",
        },
        get_member_key(spec.admin_key): _build_member(spec.id, spec.region, [ADMIN_ROLE], height),
    }

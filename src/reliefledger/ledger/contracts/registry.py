"""Registry: persons and households by pseudonym, and the changes to them.

No name, ID number or address reaches the ledger. A person is known by a keyed hash of their ID
number under the network key (``ledger/pseudonyms.py``), a household by a keyed hash of its
household number; the personal record itself stays in the registering agency's vault, and the
ledger holds only its commitment.

State keys::

    registry/household/<pseudonym>  {id, region, head, members, status, record_commitment, ...}
    registry/person/<pseudonym>     {id, household, status, record_commitment, ...}

Each change (birth, death, move, split, merge, new head) is one transaction by a caseworker or
admin whose region contains the household's.
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_fields, require_string
from reliefledger.ledger.contracts.authorisation import ADMIN, CASEWORKER, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.genesis import REGION_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

DIGEST_PATTERN = re.compile(r"^[0-9a-f]{64}$")
"""Pseudonyms and commitments: 32-byte suite hashes in lowercase hex."""
REGISTRARS = (CASEWORKER, ADMIN)


def get_household_key(household: str) -> str:
    """State key of a household."""
    return f"registry/household/{household}"


def get_person_key(person: str) -> str:
    """State key of a person."""
    return f"registry/person/{person}"


def get_active_household(state: Any, household: str) -> dict[str, Any]:
    """The household record, or a rejection when it is unknown or no longer active."""
    record = state.get(get_household_key(household))
    if record is None:
        raise Rejection(ResultCode.HOUSEHOLD_NOT_FOUND)
    if record["status"] != "active":
        raise Rejection(ResultCode.HOUSEHOLD_INACTIVE, f"household is {record['status']}")
    return record


def process_register_household(context: TransactionContext, args: dict[str, Any]) -> None:
    """Register a household with its members and head."""
    require_fields(args, {"household", "region", "head", "members", "record_commitment"})
    household = require_string(args, "household", DIGEST_PATTERN)
    region = require_string(args, "region", REGION_PATTERN)
    require_role_in_region(context, REGISTRARS, region)
    members = _require_members(args["members"])
    head = require_string(args, "head", DIGEST_PATTERN)
    if head not in {member["person"] for member in members}:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "the head must be one of the members")
    if context.state.get(get_household_key(household)) is not None:
        raise Rejection(ResultCode.HOUSEHOLD_EXISTS)
    height = context.environment.height
    for member in members:
        _put_new_person(context, member["person"], household, member["record_commitment"])
    context.state.put(get_household_key(household), {
        "created_height": height,
        "head": head,
        "id": household,
        "members": sorted(member["person"] for member in members),
        "record_commitment": require_string(args, "record_commitment", DIGEST_PATTERN),
        "region": region,
        "status": "active",
        "updated_height": height,
    })


def process_record_birth(context: TransactionContext, args: dict[str, Any]) -> None:
    """A child joins a household."""
    require_fields(args, {"household", "person", "record_commitment"})
    record = _require_household_in_region(context, args)
    person = require_string(args, "person", DIGEST_PATTERN)
    _require_size(len(record["members"]) + 1)
    _put_new_person(context, person, record["id"], require_string(args, "record_commitment", DIGEST_PATTERN))
    _put_household(context, record, members=sorted([*record["members"], person]))


def process_record_death(context: TransactionContext, args: dict[str, Any]) -> None:
    """A person died: they leave their household's members (payments to them must stop)."""
    require_fields(args, {"person"})
    person_record = _require_living_person(context, require_string(args, "person", DIGEST_PATTERN))
    household = get_active_household(context.state, person_record["household"])
    require_role_in_region(context, REGISTRARS, household["region"])
    context.state.put(get_person_key(person_record["id"]), {**person_record, "death_height": context.environment.height, "status": "deceased"})
    members = [member for member in household["members"] if member != person_record["id"]]
    head = None if household["head"] == person_record["id"] else household["head"]
    _put_household(context, household, members=members, head=head, status="active" if members else "dissolved")


def process_set_head(context: TransactionContext, args: dict[str, Any]) -> None:
    """Name a member as head of household."""
    require_fields(args, {"household", "person"})
    record = _require_household_in_region(context, args)
    person = require_string(args, "person", DIGEST_PATTERN)
    if person not in record["members"]:
        raise Rejection(ResultCode.PERSON_NOT_FOUND, "not a member of this household")
    _put_household(context, record, head=person)


def process_record_move(context: TransactionContext, args: dict[str, Any]) -> None:
    """A household moves to another region; recorded by a registrar of the region it leaves."""
    require_fields(args, {"household", "region"})
    record = _require_household_in_region(context, args)
    _put_household(context, record, region=require_string(args, "region", REGION_PATTERN))


def process_split_household(context: TransactionContext, args: dict[str, Any]) -> None:
    """Some members leave to form a new household in the same region."""
    require_fields(args, {"household", "new_household", "persons", "head", "record_commitment"})
    record = _require_household_in_region(context, args)
    new_household = require_string(args, "new_household", DIGEST_PATTERN)
    persons = _require_person_list(args["persons"])
    head = require_string(args, "head", DIGEST_PATTERN)
    if not set(persons) <= set(record["members"]) or head not in persons:
        raise Rejection(ResultCode.PERSON_NOT_FOUND, "the persons (and head) must be members of the household")
    if len(persons) == len(record["members"]):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a split must leave someone behind")
    if context.state.get(get_household_key(new_household)) is not None:
        raise Rejection(ResultCode.HOUSEHOLD_EXISTS)
    height = context.environment.height
    for person in persons:
        context.state.put(get_person_key(person), {**context.state.get(get_person_key(person)), "household": new_household})
    remaining = [member for member in record["members"] if member not in persons]
    _put_household(context, record, members=remaining, head=record["head"] if record["head"] in remaining else None)
    context.state.put(get_household_key(new_household), {
        "created_height": height, "head": head, "id": new_household, "members": sorted(persons),
        "record_commitment": require_string(args, "record_commitment", DIGEST_PATTERN),
        "region": record["region"], "split_from": record["id"], "status": "active", "updated_height": height,
    })


def process_merge_households(context: TransactionContext, args: dict[str, Any]) -> None:
    """Every member of ``household`` joins ``into``; ``household`` ends as merged."""
    require_fields(args, {"household", "into"})
    record = _require_household_in_region(context, args)
    target = get_active_household(context.state, require_string(args, "into", DIGEST_PATTERN))
    require_role_in_region(context, REGISTRARS, target["region"])
    if target["id"] == record["id"]:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a household cannot merge into itself")
    _require_size(len(record["members"]) + len(target["members"]))
    for person in record["members"]:
        context.state.put(get_person_key(person), {**context.state.get(get_person_key(person)), "household": target["id"]})
    _put_household(context, target, members=sorted([*target["members"], *record["members"]]))
    _put_household(context, record, members=[], head=None, status="merged", merged_into=target["id"])


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "register_household": process_register_household,
    "record_birth": process_record_birth,
    "record_death": process_record_death,
    "set_head": process_set_head,
    "record_move": process_record_move,
    "split_household": process_split_household,
    "merge_households": process_merge_households,
}
"""The contract's actions by name."""


def _require_household_in_region(context: TransactionContext, args: dict[str, Any]) -> dict[str, Any]:
    record = get_active_household(context.state, require_string(args, "household", DIGEST_PATTERN))
    require_role_in_region(context, REGISTRARS, record["region"])
    return record


def _require_living_person(context: TransactionContext, person: str) -> dict[str, Any]:
    record = context.state.get(get_person_key(person))
    if record is None:
        raise Rejection(ResultCode.PERSON_NOT_FOUND)
    if record["status"] != "alive":
        raise Rejection(ResultCode.PERSON_DECEASED)
    return record


def _put_new_person(context: TransactionContext, person: str, household: str, record_commitment: str) -> None:
    existing = context.state.get(get_person_key(person))
    if existing is not None:
        raise Rejection(ResultCode.PERSON_IN_ANOTHER_HOUSEHOLD if existing["status"] == "alive" else ResultCode.PERSON_DECEASED)
    context.state.put(get_person_key(person), {
        "household": household, "id": person, "record_commitment": record_commitment,
        "registered_height": context.environment.height, "status": "alive",
    })


def _put_household(context: TransactionContext, record: dict[str, Any], **changes: Any) -> None:
    context.state.put(get_household_key(record["id"]), {**record, **changes, "updated_height": context.environment.height})


def _require_members(value: Any) -> list[dict[str, str]]:
    if type(value) is not list or not value:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "members must be a non-empty list")
    _require_size(len(value))
    members = []
    for item in value:
        if type(item) is not dict:
            raise Rejection(ResultCode.INVALID_ARGUMENTS, "each member is an object {person, record_commitment}")
        require_fields(item, {"person", "record_commitment"})
        members.append({"person": require_string(item, "person", DIGEST_PATTERN), "record_commitment": require_string(item, "record_commitment", DIGEST_PATTERN)})
    if len({member["person"] for member in members}) != len(members):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a person is listed twice")
    return members


def _require_person_list(value: Any) -> list[str]:
    if type(value) is not list or not value or any(type(item) is not str or not DIGEST_PATTERN.fullmatch(item) for item in value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "persons must be a non-empty list of pseudonyms")
    if len(set(value)) != len(value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "a person is listed twice")
    return sorted(value)


def _require_size(size: int) -> None:
    if size > limits.HOUSEHOLD_MEMBERS_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"a household has at most {limits.HOUSEHOLD_MEMBERS_MAX} members")

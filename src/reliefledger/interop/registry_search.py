"""Answering a DCI registry search from the ledger: who is registered, in which household, enrolled
in what — pseudonymous facts only, and only the fields the asking system is allowed.

The three query types of the specification:

``idtype-value``
    ``{"type": T, "value": V}``: ``NationalID`` (also ``UIN``, ``ID``: an 18-character resident
    identity number, turned into the person's pseudonym here at the edge and never kept),
    ``HouseholdNumber`` (户号, likewise), ``person_id`` or ``household_id`` (pseudonyms).
``expression``
    ``{"type": …, "value": {"expression": {"collection": "Group"|"Member", "query": Q}}}`` where Q
    is ``{"$and"|"$or": [Q, …]}`` or ``{attribute: {operator: value}}`` with operators ``$eq $ne
    $gt $gte $lt $lte $in``.
``predicate``
    A list of ``{seq_num, expression1: {attribute_name, operator, attribute_value}, condition,
    expression2}`` (operators ``eq gt lt ge le in``), combined in ``seq_num`` order.

Attributes: ``region`` (a region matches every region within it), ``programme`` (a case of it,
in any status), ``enrolled`` (a beneficiary of any programme: enrolled in a monthly one or
awarded a one-off one, as the IBR counts it), ``members_count``, ``status``, ``alive``
(members). A Group record is a household: ``household_id, region, status, members_count,
head_id, programmes`` (each ``programme, case_id, status, monthly_benefit_fen`` — the monthly
benefit, or a one-off award's amount —, ``from_month``); a
Member record is a person: ``person_id, household_id, region, alive, death_recorded``.
"""

import operator
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from reliefledger.ledger.contracts.registry import get_household_key, get_person_key
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.pseudonyms import compute_household_pseudonym, compute_person_pseudonym
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.suites import Suite

PAGE_SIZE_MAX = 1000
NATIONAL_ID_TYPES = ("NationalID", "UIN", "ID", "national_id")
ATTRIBUTE_FIELDS = {"region": "region", "programme": "programmes", "enrolled": "programmes", "members_count": "members_count", "status": "status",
                    "alive": "alive"}
"""Each attribute a query may test, and the record field it reveals: a partner may filter or sort
only on what it may receive."""
ATTRIBUTES = tuple(ATTRIBUTE_FIELDS)
SORT_FIELDS = ("household_id", "person_id", "region", "members_count", "status")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
    "in": lambda value, options: isinstance(options, list) and value in options,
}


class SearchRefused(Exception):
    """A search criterion that cannot be answered; ``code`` is the specification's reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SearchResult:
    """One page of records and the pagination block of the response."""

    records: list[dict[str, Any]]
    pagination: dict[str, int]


class LedgerReader:
    """What a search reads: committed state, and the suite and network key that make pseudonyms."""

    def __init__(self, store: Any, suite: Suite, network_key: bytes) -> None:
        self.store, self.suite, self.network_key = store, suite, network_key

    def get_household(self, household: str) -> dict[str, Any] | None:
        return self.store.get(get_household_key(household))

    def get_person(self, person: str) -> dict[str, Any] | None:
        return self.store.get(get_person_key(person))

    def iterate_households(self) -> Iterable[dict[str, Any]]:
        return (record for _, record in self.store.iterate_state_prefix("registry/household/"))

    def list_cases(self) -> dict[str, list[dict[str, Any]]]:
        cases: dict[str, list[dict[str, Any]]] = {}
        for _, case in self.store.iterate_state_prefix("assistance/case/"):
            cases.setdefault(case["household"], []).append(case)
        return cases


def search_registry(reader: LedgerReader, criteria: dict[str, Any], fields: tuple[str, ...],
                    cases: dict[str, list[dict[str, Any]]] | None = None) -> SearchResult:
    """One search criterion's page of records, with only ``fields`` (``cases``: the cases by
    household, when the caller read them once for many criteria)."""
    entity = criteria.get("response_entity") or "Group"
    page_size, page_number = _read_pagination(criteria.get("pagination"))
    query_type, query = criteria.get("query_type"), criteria.get("query")
    cases = reader.list_cases() if cases is None else cases
    if query_type == "idtype-value":
        households = _find_by_identifier(reader, query)
        if isinstance(query, dict) and query.get("type") in (*NATIONAL_ID_TYPES, "person_id") and entity == "Member":
            matches = [_member_record(reader, person, households[0]) for person in _persons_of_identifier(reader, query) if households]
        else:
            matches = [_group_record(household, cases) for household in households] if entity == "Group" else \
                [_member_record(reader, person, household) for household in households for person in household["members"]]
    elif query_type in ("expression", "predicate"):
        allowed = frozenset(attribute for attribute, field in ATTRIBUTE_FIELDS.items() if field in fields)
        test = _compile_expression(query, allowed) if query_type == "expression" else _compile_predicate(query, allowed)
        if entity == "Group":
            matches = [record for record in (_group_record(household, cases) for household in reader.iterate_households()) if test(_attributes(record))]
        else:
            matches = [record for household in reader.iterate_households() for record in (_member_record(reader, person, household) for person in household["members"])
                       if test(_attributes(record))]
    else:
        raise SearchRefused("rjct.search_criteria.invalid", f"query_type {query_type!r} is not one of idtype-value, expression, predicate")
    matches = _sort(matches, criteria.get("sort"), fields)
    page = matches[(page_number - 1) * page_size: page_number * page_size]
    return SearchResult([{name: value for name, value in record.items() if name in fields} for record in page],
                        {"page_size": page_size, "page_number": page_number, "total_count": len(matches)})


def _read_pagination(value: Any) -> tuple[int, int]:
    if value is None:
        return 100, 1
    if not isinstance(value, dict):
        raise SearchRefused("rjct.pagination.invalid", "pagination is an object")
    size, number = value.get("page_size"), value.get("page_number", 1)
    if not _is_whole(size) or not 1 <= size <= PAGE_SIZE_MAX or not _is_whole(number) or not 1 <= number <= 1_000_000:
        raise SearchRefused("rjct.pagination.invalid", f"page_size is a whole number from 1 to {PAGE_SIZE_MAX} and page_number one from 1")
    return int(size), int(number)


def _is_whole(value: Any) -> bool:
    return type(value) in (int, float) and value == value and abs(value) < 2 ** 53 and int(value) == value


def _find_by_identifier(reader: LedgerReader, query: Any) -> list[dict[str, Any]]:
    if not isinstance(query, dict) or type(query.get("type")) is not str or type(query.get("value")) not in (str, int):
        raise SearchRefused("rjct.search_criteria.invalid", "an idtype-value query is {type, value}")
    kind, value = query["type"], str(query["value"])
    if kind in (*NATIONAL_ID_TYPES, "person_id"):
        persons = _persons_of_identifier(reader, query)
        household = reader.get_household(reader.get_person(persons[0])["household"]) if persons else None
        return [household] if household else []
    if kind == "HouseholdNumber":
        try:
            value = compute_household_pseudonym(reader.suite, reader.network_key, value)
        except LedgerInputError as error:
            raise SearchRefused("rjct.search_criteria.invalid", str(error)) from None
    elif kind != "household_id":
        raise SearchRefused("rjct.search_criteria.invalid", f"identifier type {kind!r} is not NationalID, UIN, ID, HouseholdNumber, person_id or household_id")
    household = reader.get_household(value)
    return [household] if household else []


def _persons_of_identifier(reader: LedgerReader, query: dict[str, Any]) -> list[str]:
    value = str(query["value"])
    try:
        person = compute_person_pseudonym(reader.suite, reader.network_key, value.upper()) if query["type"] in NATIONAL_ID_TYPES else value
    except LedgerInputError as error:
        raise SearchRefused("rjct.search_criteria.invalid", str(error)) from None
    return [person] if reader.get_person(person) is not None else []


def is_beneficiary(case: dict[str, Any]) -> bool:
    """Whether a case makes its household a beneficiary: enrolled in a monthly programme, or
    awarded a one-off one (a special programme's approved case is ``completed``)."""
    return case["status"] == "enrolled" or (case["status"] == "completed" and (case.get("decision") or {}).get("outcome") == "approve")


def _get_benefit(case: dict[str, Any]) -> int | None:
    if case.get("enrolment"):
        return case["enrolment"]["monthly_benefit_fen"]
    decision = case.get("decision") or {}
    return decision.get("monthly_benefit_fen") if decision.get("outcome") == "approve" else None


def _group_record(household: dict[str, Any], cases: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    programmes = [{"programme": case["programme"], "case_id": case["id"], "status": case["status"], "monthly_benefit_fen": _get_benefit(case),
                   "from_month": (case["enrolment"] or {}).get("from_month"), "beneficiary": is_beneficiary(case)}
                  for case in sorted(cases.get(household["id"], []), key=lambda case: case["id"])]
    return {"household_id": household["id"], "region": household["region"], "status": household["status"], "members_count": len(household["members"]),
            "head_id": household["head"], "programmes": programmes}


def _member_record(reader: LedgerReader, person: str, household: dict[str, Any]) -> dict[str, Any]:
    record = reader.get_person(person) or {}
    return {"person_id": person, "household_id": household["id"], "region": household["region"], "alive": record.get("status") != "deceased",
            "death_recorded": record.get("death_height") is not None}


def _attributes(record: dict[str, Any]) -> dict[str, Any]:
    programmes = record.get("programmes", [])
    return {"region": record["region"], "programme": [entry["programme"] for entry in programmes], "enrolled": any(entry["beneficiary"] for entry in programmes),
            "members_count": record.get("members_count"), "status": record.get("status"), "alive": record.get("alive")}


def _test(attribute: Any, operator_name: str, value: Any, allowed: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    if attribute not in ATTRIBUTES:
        raise SearchRefused("rjct.filter.invalid", f"attribute {attribute!r} is not one of {', '.join(ATTRIBUTES)}")
    if attribute not in allowed:
        raise SearchRefused("rjct.filter.invalid", f"attribute {attribute!r} reveals {ATTRIBUTE_FIELDS[attribute]}, which this partner does not receive")
    if operator_name not in OPERATORS:
        raise SearchRefused("rjct.filter.invalid", f"operator {operator_name!r} is not one of {', '.join(OPERATORS)}")
    compare = OPERATORS[operator_name]

    def test(attributes: dict[str, Any]) -> bool:
        actual = attributes[attribute]
        try:
            if attribute == "region" and operator_name == "eq":
                return isinstance(value, str) and isinstance(actual, str) and is_within(actual, value)
            if attribute == "programme":
                return any(compare(item, value) for item in actual)
            return actual is not None and bool(compare(actual, value))
        except (TypeError, ValueError):
            return False
    return test


def _compile_expression(query: Any, allowed: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    try:
        expression = query["value"]["expression"]
        return _compile_node(expression["query"], 0, allowed)
    except (KeyError, TypeError):
        raise SearchRefused("rjct.search_criteria.invalid", "an expression query is {type, value: {expression: {collection, query}}}") from None


def _compile_node(node: Any, depth: int, allowed: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    if depth > 8 or not isinstance(node, dict) or len(node) != 1:
        raise SearchRefused("rjct.filter.invalid", "each expression node is one {$and|$or: [...]} or {attribute: {$operator: value}}, at most 8 deep")
    ((key, value),) = node.items()
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise SearchRefused("rjct.filter.invalid", f"{key} takes a non-empty list")
        parts = [_compile_node(item, depth + 1, allowed) for item in value]
        return (lambda attributes: all(part(attributes) for part in parts)) if key == "$and" else (lambda attributes: any(part(attributes) for part in parts))
    if not isinstance(value, dict) or len(value) != 1:
        raise SearchRefused("rjct.filter.invalid", f"{key} takes one {{$operator: value}}")
    ((operator_name, operand),) = value.items()
    return _test(key, str(operator_name).removeprefix("$").replace("gte", "ge").replace("lte", "le"), operand, allowed)


def _compile_predicate(query: Any, allowed: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    if not isinstance(query, list) or not query or not all(isinstance(item, dict) and isinstance(item.get("expression1"), dict) for item in query):
        raise SearchRefused("rjct.search_criteria.invalid", "a predicate query is a list of {seq_num, expression1, condition, expression2}")
    steps = []
    for item in sorted(query, key=lambda entry: entry.get("seq_num") if isinstance(entry.get("seq_num"), (int, float)) else 0):
        first = _compile_leaf(item["expression1"], allowed)
        condition = item.get("condition")
        if condition is None:
            steps.append(first)
            continue
        if condition not in ("and", "or", "not") or (condition != "not" and not isinstance(item.get("expression2"), dict)):
            raise SearchRefused("rjct.filter.invalid", "condition is and, or (with expression2) or not")
        if condition == "not":
            steps.append(lambda attributes, first=first: not first(attributes))
        else:
            second = _compile_leaf(item["expression2"], allowed)
            steps.append((lambda attributes, first=first, second=second: first(attributes) and second(attributes)) if condition == "and"
                         else (lambda attributes, first=first, second=second: first(attributes) or second(attributes)))
    return lambda attributes: all(step(attributes) for step in steps)


def _compile_leaf(expression: dict[str, Any], allowed: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    return _test(expression.get("attribute_name"), expression.get("operator"), expression.get("attribute_value"), allowed)


def _sort(records: list[dict[str, Any]], sort: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if sort is None:
        return records
    if not isinstance(sort, list) or not all(isinstance(item, dict) for item in sort):
        raise SearchRefused("rjct.sort.invalid", "sort is a list of {attribute_name, sort_order}")
    for item in reversed(sort):
        name, order = item.get("attribute_name"), item.get("sort_order", "asc")
        if name not in SORT_FIELDS or name not in fields or order not in ("asc", "desc"):
            raise SearchRefused("rjct.sort.invalid", "sort by household_id, person_id, region, members_count or status — fields this partner receives — asc or desc")
        records = sorted(records, key=lambda record: (record.get(name) is None, record.get(name) if record.get(name) is not None else 0), reverse=order == "desc")
    return records


def resolve_identifier_filter(reader: LedgerReader, query: Any) -> dict[str, str]:
    """An idtype-value filter as the household pseudonym it names (``SearchRefused`` when it names
    nobody registered): what a subscription keeps, never the ID number it was given."""
    households = _find_by_identifier(reader, query)
    if not households:
        raise SearchRefused("rjct.filter.invalid", "the identifier names no registered person or household")
    return {"type": "household_id", "value": households[0]["id"]}


def compile_filter(reader: LedgerReader, filter_type: Any, query: Any, fields: tuple[str, ...]) -> Callable[[dict[str, Any]], bool]:
    """A subscription's filter as a test of a Group record (``SearchRefused`` when it is not one
    this registry can apply, or tests a field the partner does not receive)."""
    if filter_type == "idtype-value":
        households = {household["id"] for household in _find_by_identifier(reader, query)}
        return lambda record: record.get("household_id") in households
    allowed = frozenset(attribute for attribute, field in ATTRIBUTE_FIELDS.items() if field in fields)
    if filter_type in (None, "expression"):
        test = _compile_expression(query, allowed)
    elif filter_type == "predicate":
        test = _compile_predicate(query, allowed)
    else:
        raise SearchRefused("rjct.filter.invalid", f"filter_type {filter_type!r} is not idtype-value, expression or predicate")
    return lambda record: test(_attributes(record))


def build_group_record(household: dict[str, Any], cases: dict[str, list[dict[str, Any]]], fields: tuple[str, ...]) -> dict[str, Any]:
    """A household's Group record with only ``fields``."""
    return {name: value for name, value in _group_record(household, cases).items() if name in fields}

"""An agency's answer to a means-test query: only approved fields, for an authorised case, signed.

The data-owning agency answers from its own source (``agency_sources.py``). Before reading
anything it checks, against the ledger: the sharing request is approved for the requester, not
expired or revoked, and covers every field asked for; the case exists and records the
applicant's authorisation; every person asked about belongs to the case's household. It then
answers each question as the raw figure or, where the catalogue allows, as a predicate ("below
the threshold: yes") or a bracket — minimisation — and signs the answer with its own key. The
answer travels off the ledger to the requester; its digest is what goes on the ledger.
"""

from dataclasses import dataclass
from typing import Any

from reliefledger.ledger.contracts.assistance import get_case_key
from reliefledger.ledger.contracts.catalog import get_approval_fault, get_request_key, get_resource_key
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.state import StateReader
from reliefledger.node.agency_sources import AgencySource
from reliefledger.node.keys import KeyFile

FORMS = ("value", "below", "bracket")
"""How a question may be answered: the figure, whether it is below a threshold, or its bracket."""
SUMMED_TYPES = ("amount_fen", "count", "integer")
"""Field types whose rows are added up per person; others are listed."""


class QueryRefused(LedgerInputError):
    """A query the agency does not answer, with the reason."""

    code = "query_refused"


@dataclass(frozen=True)
class Question:
    """One field asked about."""

    field: str
    form: str = "value"
    threshold: int | None = None
    """For ``below``: the answer is ``total < threshold``."""
    edges: tuple[int, ...] = ()
    """For ``bracket``: the answer is how many edges are ``<= total`` (0 to len(edges))."""


@dataclass(frozen=True)
class AgencyQuery:
    """What a requester asks one agency about one case."""

    query_id: str
    request_id: str
    """The approved sharing request the query relies on."""
    case_id: str
    requester: str
    """The requesting organisation."""
    persons: tuple[str, ...]
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class SignedAnswer:
    """An agency's answer, signed; ``digest`` goes on the ledger, the answer to the requester."""

    document: dict[str, Any]
    signer: str
    signature: str
    digest: str


def answer_query(state: StateReader, source: AgencySource, query: AgencyQuery, *, agency: str, key: KeyFile, now_ms: int) -> SignedAnswer:
    """Check the query against the ledger, answer it from ``source`` and sign the answer."""
    resource = _require_terms(state, query, agency, now_ms)
    definitions = {definition["name"]: definition for definition in resource["fields"]}
    answers = {}
    for person in sorted(query.persons):
        rows = source.get_rows(person)
        answers[person] = {question.field: _answer(question, definitions[question.field], rows) for question in query.questions}
    document = {
        "agency": agency, "answered_ms": now_ms, "answers": answers, "case_id": query.case_id, "query_id": query.query_id,
        "request_id": query.request_id, "resource": resource["id"], "resource_version": resource["version"],
    }
    encoded = encode_canonical(document)
    return SignedAnswer(document, key.public_key, key.suite.sign(key.seed, encoded).hex(), key.suite.compute_hash(encoded).hex())


def is_answer_authentic(answer: SignedAnswer, suite: Any) -> bool:
    """True when the answer's signature verifies and its digest matches its document."""
    encoded = encode_canonical(answer.document)
    return suite.compute_hash(encoded).hex() == answer.digest and suite.is_valid_signature(
        bytes.fromhex(answer.signer), encoded, bytes.fromhex(answer.signature))


def _require_terms(state: StateReader, query: AgencyQuery, agency: str, now_ms: int) -> dict[str, Any]:
    request = state.get(get_request_key(query.request_id))
    resource = state.get(get_resource_key(request["resource"])) if request else None
    if resource is None or resource["owner"] != agency:
        raise QueryRefused("the query does not rely on a sharing request for this agency's data")
    fault = get_approval_fault(state, query.request_id, query.requester, [question.field for question in query.questions], now_ms)
    if fault is not None:
        raise QueryRefused(f"outside the approved terms: {fault}")
    case = state.get(get_case_key(query.case_id))
    if case is None or case["authorisation_commitment"] is None:
        raise QueryRefused("the case records no authorisation for the means test")
    household = state.get(get_household_key(case["household"]))
    if not query.persons or not set(query.persons) <= set(household["members"]):
        raise QueryRefused("a person asked about is not a member of the case's household")
    definitions = {definition["name"]: definition for definition in resource["fields"]}
    if len({question.field for question in query.questions}) != len(query.questions):
        raise QueryRefused("a field is asked about twice")
    for question in query.questions:
        if question.form not in FORMS:
            raise QueryRefused(f"unknown answer form {question.form!r}")
        if question.form != "value" and not definitions[question.field]["predicate_allowed"]:
            raise QueryRefused(f"the catalogue allows no predicate on {question.field}")
        if question.form != "value" and definitions[question.field]["type"] not in SUMMED_TYPES:
            raise QueryRefused(f"{question.field} is not a figure")
        if question.form == "below" and type(question.threshold) is not int:
            raise QueryRefused("a 'below' question needs an integer threshold")
        if question.form == "bracket" and (not question.edges or list(question.edges) != sorted(set(question.edges))):
            raise QueryRefused("a bracket question needs increasing edges")
    return resource


def _answer(question: Question, definition: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    if definition["type"] not in SUMMED_TYPES:
        return sorted(str(row[question.field]) for row in rows if row.get(question.field) is not None)
    total = sum(int(row.get(question.field) or 0) for row in rows)
    if question.form == "below":
        return total < question.threshold
    if question.form == "bracket":
        return sum(1 for edge in question.edges if edge <= total)
    return total

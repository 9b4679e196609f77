"""An agency's answers to means-test queries: only approved fields, for an authorised case, signed.

The requesting desk sends each data-owning agency a batch of queries (one per case), signed by
the staff member who runs the means test. The agency checks the batch's signature against the
ledger's membership first — a batch with a forged signature is refused whole — and then, per
query, against the ledger: the sharing request is approved for the requester, not expired or
revoked, and covers every field asked for; the case exists, lies in the signer's region and
records the applicant's authorisation; every person asked about belongs to the case's household.
A query outside those terms is refused with its reason (and the refusal goes on the ledger).

A request whose scope is ``discovery`` (active discovery: households that never applied, so no
case and no authorisation) is answered under other terms: the query names a registered household
in the signer's region instead of a case, every person asked about belongs to it, every question
is a coarse bracket (at most 12 edges, each a quarter above the last: never a figure, never a
chosen threshold), and a household is asked about once per batch. Its answers are recorded like
any other, and the ledger refuses them as evidence for a means test.

It answers each question from its own source (``agency_sources.py``) as the raw figure or, where
the catalogue allows, as a predicate ("below the threshold: yes") or a bracket — minimisation.
Each answered query becomes one document with its own digest (so a case's means test names only
its own answers), and the agency signs the batch's digests once: one signature and one
verification per agency and batch, not per household, is what lets a review cycle of thousands
of households be checked in seconds. The documents travel off the ledger to the requester; the
digests go on the ledger (``catalog.record_answers``).
"""

from dataclasses import dataclass, replace
from typing import Any

from reliefledger.ledger.contracts.assistance import get_case_key
from reliefledger.ledger.contracts.authorisation import APPROVER, CASEWORKER
from reliefledger.ledger.contracts.catalog import get_approval_fault, get_request_key, get_request_scope, get_resource_key
from reliefledger.ledger.contracts.membership import get_member_key, is_signer_active
from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.encoding import encode_checked
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.state import StateOverlay, StateReader
from reliefledger.ledger.suites import Suite
from reliefledger.node.agency_sources import AgencySource
from reliefledger.node.keys import KeyFile

FORMS = ("value", "below", "bracket")
"""How a question may be answered: the figure, whether it is below a threshold, or its bracket."""
SUMMED_TYPES = ("amount_fen", "count", "integer")
"""Field types whose rows are added up per person; others are listed."""
QUERY_BATCH_TYPE = "reliefledger.query_batch.v1"
ANSWER_BATCH_TYPE = "reliefledger.answer_batch.v1"
"""Domain tags inside what is signed, so a signature on a batch is never valid for anything else."""
QUERIES_PER_BATCH_MAX = 10_000


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
    household: str | None = None
    """Set exactly for active discovery: the household asked about (``case_id`` then names the
    discovery run, since there is no case)."""

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form (what is signed and sent)."""
        questions = [{"edges": list(question.edges), "field": question.field, "form": question.form, "threshold": question.threshold}
                     for question in self.questions]
        discovery = {"household": self.household} if self.household is not None else {}
        return {"case_id": self.case_id, "persons": list(self.persons), "query_id": self.query_id, "questions": questions,
                "request_id": self.request_id, "requester": self.requester, **discovery}

    @classmethod
    def from_json(cls, value: Any) -> "AgencyQuery":
        """Parse a query received from the network, or raise ``QueryRefused``."""
        try:
            questions = tuple(Question(item["field"], item["form"], item["threshold"], tuple(item["edges"])) for item in value["questions"])
            household = value.get("household")
            texts = [value[name] for name in ("query_id", "request_id", "case_id", "requester")] + list(value["persons"])
            if household is not None and type(household) is not str:
                raise TypeError("household is a string")
            if not all(type(text) is str for text in texts) or not all(type(question.field) is str and type(question.form) is str for question in questions):
                raise TypeError("ids, persons, fields and forms are strings")
            if not all(type(edge) is int for question in questions for edge in question.edges) or any(
                    question.threshold is not None and type(question.threshold) is not int for question in questions):
                raise TypeError("thresholds and edges are integers")
            return cls(value["query_id"], value["request_id"], value["case_id"], value["requester"], tuple(value["persons"]), questions, household)
        except (KeyError, TypeError, ValueError) as error:
            raise QueryRefused(f"a query is malformed: {error}") from None


@dataclass(frozen=True)
class QueryBatch:
    """Queries to one agency, signed by the staff member running the means test."""

    batch_id: str
    requester: str
    queries: tuple[AgencyQuery, ...]
    signer: str
    signature: str

    def get_signed_bytes(self) -> bytes:
        """What the signature covers (sorted-key JSON; ``from_json`` admits only strings and integers)."""
        return encode_checked({"batch_id": self.batch_id, "queries": [query.to_json() for query in self.queries],
                                 "requester": self.requester, "type": QUERY_BATCH_TYPE})

    def to_json(self) -> dict[str, Any]:
        """The JSON form sent to the agency."""
        return {"batch_id": self.batch_id, "queries": [query.to_json() for query in self.queries], "requester": self.requester,
                "signature": self.signature, "signer": self.signer}

    @classmethod
    def from_json(cls, value: Any) -> "QueryBatch":
        """Parse a batch received from the network, or raise ``QueryRefused``."""
        if type(value) is not dict or set(value) != {"batch_id", "queries", "requester", "signature", "signer"}:
            raise QueryRefused("a query batch has exactly batch_id, queries, requester, signature and signer")
        if type(value["queries"]) is not list or not 1 <= len(value["queries"]) <= QUERIES_PER_BATCH_MAX:
            raise QueryRefused(f"a query batch has 1 to {QUERIES_PER_BATCH_MAX} queries")
        if not all(type(value[name]) is str for name in ("batch_id", "requester", "signature", "signer")):
            raise QueryRefused("batch_id, requester, signature and signer are strings")
        queries = tuple(AgencyQuery.from_json(item) for item in value["queries"])
        return cls(value["batch_id"], value["requester"], queries, value["signer"], value["signature"])


@dataclass(frozen=True)
class AnswerBatch:
    """An agency's answers to a batch: a document per answered query, a reason per refused one,
    the ledger record that holds each one's digest, and the agency's one signature over them all."""

    agency: str
    batch_id: str
    documents: dict[str, dict[str, Any]]
    digests: dict[str, str]
    refusals: dict[str, str]
    signer: str
    signature: str
    records: dict[str, str]
    """Query id to the id of the ``catalog.record_answers`` record that holds its outcome."""

    def get_signed_bytes(self) -> bytes:
        """What the signature covers (the digests stand for the documents)."""
        return encode_checked({"agency": self.agency, "batch_id": self.batch_id, "digests": self.digests, "records": self.records,
                                 "refusals": self.refusals, "type": ANSWER_BATCH_TYPE})

    def to_json(self) -> dict[str, Any]:
        """The JSON form sent back to the requester."""
        return {"agency": self.agency, "batch_id": self.batch_id, "digests": self.digests, "documents": self.documents,
                "records": self.records, "refusals": self.refusals, "signature": self.signature, "signer": self.signer}

    def sign(self, key: KeyFile) -> "AnswerBatch":
        """The same answers signed with ``key``."""
        unsigned = replace(self, signer=key.public_key, signature="")
        return replace(unsigned, signature=key.suite.sign(key.seed, unsigned.get_signed_bytes()).hex())

    @classmethod
    def from_json(cls, value: Any) -> "AnswerBatch":
        """Parse an answer batch received from an agency (``ValueError`` when malformed)."""
        names = {"agency", "batch_id", "digests", "documents", "records", "refusals", "signature", "signer"}
        if type(value) is not dict or set(value) != names or not all(type(value[name]) is dict for name in ("digests", "documents", "records", "refusals")):
            raise ValueError("an answer batch has exactly agency, batch_id, digests, documents, records, refusals, signature and signer")
        if not all(type(value[name]) is str for name in ("agency", "batch_id", "signature", "signer")):
            raise ValueError("agency, batch_id, signature and signer are strings")
        if not all(type(item) is str for name in ("digests", "records", "refusals") for item in value[name].values()) or not all(
                type(document) is dict for document in value["documents"].values()):
            raise ValueError("digests, records and refusals map query ids to strings, documents to objects")
        return cls(**{name: value[name] for name in names})


def sign_query_batch(key: KeyFile, batch_id: str, requester: str, queries: list[AgencyQuery]) -> QueryBatch:
    """The requester's signed batch of queries to one agency."""
    unsigned = QueryBatch(batch_id, requester, tuple(queries), key.public_key, "")
    return replace(unsigned, signature=key.suite.sign(key.seed, unsigned.get_signed_bytes()).hex())


def answer_queries(state: StateReader, source: AgencySource, batch: QueryBatch, *, agency: str, key: KeyFile, now_ms: int) -> AnswerBatch:
    """Check a batch against the ledger, answer every query within the terms from ``source`` (refuse
    the others, with their reasons) and sign the answers; a forged batch raises ``QueryRefused``."""
    state = StateOverlay(state)  # a read cache for the batch: the request and resource are read once, not per query
    signer = _require_signed_batch(state, batch, key.suite)
    refusals: dict[str, str] = {}
    accepted: dict[str, tuple[AgencyQuery, dict[str, Any]]] = {}
    checked: dict[tuple[Any, ...], tuple[dict[str, Any], str] | str] = {}
    households_asked: set[tuple[str, str]] = set()
    for query in batch.queries:
        try:
            if query.query_id in accepted or query.query_id in refusals:
                raise QueryRefused("the query id is used twice in the batch")
            if query.requester != batch.requester:
                raise QueryRefused("the query names another requester than its batch")
            if query.household is not None:
                if (query.request_id, query.household) in households_asked:
                    raise QueryRefused("a household is asked about once per batch")
                households_asked.add((query.request_id, query.household))
            accepted[query.query_id] = (query, _require_terms(state, query, agency, now_ms, signer, checked))
        except QueryRefused as refusal:
            refusals.setdefault(query.query_id, str(refusal))
    rows = source.get_rows_many(sorted({person for query, _ in accepted.values() for person in query.persons}))
    documents = {query_id: _answer_document(query, resource, rows, agency, now_ms) for query_id, (query, resource) in accepted.items()}
    digests = {query_id: compute_document_digest(key.suite, document) for query_id, document in documents.items()}
    return AnswerBatch(agency, batch.batch_id, documents, digests, refusals, "", "", {}).sign(key)


def answer_query(state: StateReader, source: AgencySource, query: AgencyQuery, *, agency: str, now_ms: int) -> dict[str, Any]:
    """One query's answer document (unsigned), or ``QueryRefused``: the per-query core of ``answer_queries``."""
    resource = _require_terms(state, query, agency, now_ms, None)
    return _answer_document(query, resource, source.get_rows_many(list(query.persons)), agency, now_ms)


def is_answer_batch_authentic(batch: AnswerBatch, suite: Suite) -> bool:
    """True when the signature verifies and every document hashes to its signed digest."""
    if set(batch.documents) != set(batch.digests) or set(batch.digests) & set(batch.refusals):
        return False
    if any(compute_document_digest(suite, document) != batch.digests[query_id] for query_id, document in batch.documents.items()):
        return False
    return _is_signed_by(suite, batch.signer, batch.get_signed_bytes(), batch.signature)


def compute_document_digest(suite: Suite, document: dict[str, Any]) -> str:
    """The digest of an answer document: the suite's hash of its sorted-key JSON. Documents hold
    only strings, integers, booleans, lists and objects by construction (``_answer``), so the
    full canonical check is not repeated for each of a batch's thousands of documents."""
    return suite.compute_hash(encode_checked(document)).hex()


def _is_signed_by(suite: Suite, signer: str, message: bytes, signature: str) -> bool:
    try:
        return suite.is_valid_signature(bytes.fromhex(signer), message, bytes.fromhex(signature))
    except (ValueError, LedgerInputError):
        return False


def _require_signed_batch(state: StateReader, batch: QueryBatch, suite: Suite) -> dict[str, Any]:
    valid = _is_signed_by(suite, batch.signer, batch.get_signed_bytes(), batch.signature)
    member = state.get(get_member_key(batch.signer)) if valid else None
    if member is None or not is_signer_active(state, member) or member["organisation"] != batch.requester:
        raise QueryRefused("the batch is not signed by an active key of the requesting organisation")
    if not {CASEWORKER, APPROVER} & set(member["roles"]):
        raise QueryRefused("the batch's signer is not a caseworker or approver")
    return member


def _answer_document(query: AgencyQuery, resource: dict[str, Any], rows: dict[str, list[dict[str, Any]]], agency: str, now_ms: int) -> dict[str, Any]:
    definitions = {definition["name"]: definition for definition in resource["fields"]}
    answers = {person: {question.field: _answer(question, definitions[question.field], rows.get(person, [])) for question in query.questions}
               for person in sorted(query.persons)}
    discovery = {"household": query.household} if query.household is not None else {}
    return {"agency": agency, "answered_ms": now_ms, "answers": answers, "case_id": query.case_id, "query_id": query.query_id,
            "request_id": query.request_id, "resource": resource["id"], "resource_version": resource["version"], **discovery}


def _require_terms(state: StateReader, query: AgencyQuery, agency: str, now_ms: int, signer: dict[str, Any] | None,
                   checked: dict[tuple[Any, ...], tuple[dict[str, Any], str] | str] | None = None) -> dict[str, Any]:
    """The resource a query may be answered from, or ``QueryRefused`` with the reason. ``checked``
    remembers, within one batch, the outcome of the checks that depend only on the request and the
    questions (the same for every query of a batch), so only the case checks repeat per query."""
    terms = (query.request_id, query.requester, query.questions)
    outcome = checked.get(terms) if checked is not None else None
    if outcome is None:
        try:
            outcome = _require_request_terms(state, query, agency, now_ms)
        except QueryRefused as refusal:
            outcome = str(refusal)
        if checked is not None:
            checked[terms] = outcome
    if isinstance(outcome, str):
        raise QueryRefused(outcome)
    resource, scope = outcome
    if scope == "discovery":
        household = state.get(get_household_key(query.household)) if query.household is not None else None
        if household is None:
            raise QueryRefused("a discovery query names a registered household")
        if signer is not None and not is_within(household["region"], signer["region"]):
            raise QueryRefused("the household lies outside the region of the batch's signer")
    else:
        if query.household is not None:
            raise QueryRefused("a means-test query names a case, not a household")
        case = state.get(get_case_key(query.case_id))
        if case is None or case["authorisation_commitment"] is None:
            raise QueryRefused("the case records no authorisation for the means test")
        if signer is not None and not is_within(case["region"], signer["region"]):
            raise QueryRefused("the case lies outside the region of the batch's signer")
        household = state.get(get_household_key(case["household"]))
    if not query.persons or not set(query.persons) <= set(household["members"]):
        raise QueryRefused("a person asked about is not a member of the household")
    return resource


def _require_request_terms(state: StateReader, query: AgencyQuery, agency: str, now_ms: int) -> tuple[dict[str, Any], str]:
    """The resource and the request's scope, when the request's terms allow the questions."""
    request = state.get(get_request_key(query.request_id))
    resource = state.get(get_resource_key(request["resource"])) if request else None
    if resource is None or resource["owner"] != agency:
        raise QueryRefused("the query does not rely on a sharing request for this agency's data")
    fault = get_approval_fault(state, query.request_id, query.requester, [question.field for question in query.questions], now_ms)
    if fault is not None:
        raise QueryRefused(f"outside the approved terms: {fault}")
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
    scope = get_request_scope(request)
    if scope == "discovery":
        _require_coarse_brackets(query.questions)
    return resource, scope


DISCOVERY_EDGES_MAX = 12
DISCOVERY_EDGE_RATIO_MIN = 1.25
"""Discovery's brackets must stay coarse: at most 12 edges, each at least a quarter above the one
before, so no choice of edges narrows a figure to less than a fifth of its value."""


def _require_coarse_brackets(questions: tuple[Question, ...]) -> None:
    for question in questions:
        if question.form != "bracket":
            raise QueryRefused("a discovery request is answered in brackets only, never with figures or against chosen thresholds")
        edges = question.edges
        if len(edges) > DISCOVERY_EDGES_MAX or edges[0] < 1 or any(later < earlier * DISCOVERY_EDGE_RATIO_MIN for earlier, later in zip(edges, edges[1:])):
            raise QueryRefused(f"discovery brackets are coarse: at most {DISCOVERY_EDGES_MAX} positive edges, each at least "
                               f"{DISCOVERY_EDGE_RATIO_MIN:g} times the one before")


def _answer(question: Question, definition: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    if definition["type"] not in SUMMED_TYPES:
        return sorted(str(row[question.field]) for row in rows if row.get(question.field) is not None)
    total = sum(int(row.get(question.field) or 0) for row in rows)
    if question.form == "below":
        return total < question.threshold
    if question.form == "bracket":
        return sum(1 for edge in question.edges if edge <= total)
    return total

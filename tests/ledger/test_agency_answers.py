"""Agency answers to means-test queries: sources (memory, CSV, SQLite), the ledger checks, minimisation, signatures."""

import csv
import sqlite3
from dataclasses import replace

import pytest

from helpers import Network
from reliefledger.ledger.contracts.catalog import get_answer_fault, get_answer_record_key
from reliefledger.ledger.pseudonyms import compute_person_pseudonym
from reliefledger.ledger.results import ResultCode
from reliefledger.node.agency_answers import (AgencyQuery, AnswerBatch, QueryBatch, Question, QueryRefused, answer_queries, answer_query, is_answer_batch_authentic,
                                              sign_query_batch)
from reliefledger.node.agency_sources import CsvSource, MemorySource, PostgresSource, SourceError, SqliteSource
from reliefledger.node.keys import KeyFile
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

OK = ResultCode.OK
NETWORK_KEY = bytes(range(32))
ALICE, BOB, STRANGER = "11010519491231002X", "110105201001010010", "110105197505051239"
ROWS = [
    {"id_number": ALICE, "monthly_wages_fen": 300_000, "employer": "某物业公司"},
    {"id_number": ALICE, "monthly_wages_fen": 50_000, "employer": "某超市"},
    {"id_number": STRANGER, "monthly_wages_fen": 900_000, "employer": "某银行"},
]
TAX_OFFICER, CIVIL_OFFICER, CASEWORKER, POLICY = 20, 21, 22, 23


def person(id_number: str, network: Network) -> str:
    return compute_person_pseudonym(network.suite, NETWORK_KEY, id_number)


@pytest.fixture
def network() -> Network:
    """hrss (2) plays the tax bureau and catalogues wages; civil affairs (1) asks; a case with authorisation exists."""
    network = Network.create("ed25519-sha256")
    sign = network.sign
    assert network.run(
        sign(2, "admit_member", {"public_key": network.key(TAX_OFFICER).hex, "roles": ["data_officer"]}),
        sign(1, "admit_member", {"public_key": network.key(CIVIL_OFFICER).hex, "roles": ["data_officer"]}),
        sign(1, "admit_member", {"public_key": network.key(CASEWORKER).hex, "roles": ["caseworker"], "region": "330102001"}),
        sign(1, "admit_member", {"public_key": network.key(POLICY).hex, "roles": ["policy_admin"]}),
    ) == [OK] * 4
    fields = [{"name": "monthly_wages_fen", "type": "amount_fen", "predicate_allowed": True}, {"name": "employer", "type": "string", "predicate_allowed": False}]
    expires = network.time_ms + 30 * 86_400_000
    assert network.run(
        sign(TAX_OFFICER, "register_resource", {"resource_id": "tax.wages", "name": "工资", "fields": fields, "legal_basis": "办法第十一条", "update_frequency": "monthly",
                                                "sharing_class": "conditional", "level": "city", "region": "330100"}, contract="catalog"),
        sign(CIVIL_OFFICER, "request_sharing", {"request_id": "r1", "resource_id": "tax.wages", "purpose": "核对", "fields": ["employer", "monthly_wages_fen"],
                                                "legal_basis": "办法第十一条"}, contract="catalog"),
        sign(TAX_OFFICER, "decide_request", {"request_id": "r1", "outcome": "approve", "expires_ms": expires}, contract="catalog"),
        sign(POLICY, "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]}, contract="policy"),
        sign(CASEWORKER, "register_household", {"household": "a" * 64, "region": "330102001", "head": person(ALICE, network),
                                                "members": [{"person": person(ALICE, network), "record_commitment": "b" * 64}, {"person": person(BOB, network), "record_commitment": "b" * 64}],
                                                "record_commitment": "b" * 64}, contract="registry"),
        sign(CASEWORKER, "apply", {"application_id": "a1", "household": "a" * 64, "programmes": ["dibao"], "channel": "in_person",
                                   "application_commitment": "c" * 64, "related_to_staff": False}, contract="assistance"),
    ) == [OK] * 6
    return network


def authorise(network: Network) -> None:
    assert network.run_one(network.sign(CASEWORKER, "record_authorisation", {"case_id": "a1.dibao", "authorisation_commitment": "d" * 64}, contract="assistance")) is OK


def tax_key(network: Network) -> KeyFile:
    key = network.key(TAX_OFFICER)
    return KeyFile(network.suite, key.seed, key.hex, "tax")


def query(network: Network, *questions: Question, persons=(ALICE, BOB), **changes) -> AgencyQuery:
    base = AgencyQuery("q1", "r1", "a1.dibao", "civil-affairs", tuple(person(item, network) for item in persons), questions or (Question("monthly_wages_fen"),))
    return replace(base, **changes)


def ask(network: Network, source, agency_query: AgencyQuery, now_ms: int | None = None):
    return answer_query(network.state, source, agency_query, agency="hrss", now_ms=now_ms or network.time_ms)


def collect_refusals(network: Network, source, refusals: dict[str, AgencyQuery]) -> dict[str, str]:
    """Each query's reason for being refused (each must be refused)."""
    reasons = {}
    for name, refused in refusals.items():
        with pytest.raises(QueryRefused) as caught:
            ask(network, source, refused)
        reasons[name] = str(caught.value)
    return reasons


def test_answers_sum_per_person_and_minimise(network: Network, tmp_path) -> None:
    authorise(network)
    csv_path = tmp_path / "wages.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id_number", "monthly_wages_fen", "employer"])
        writer.writeheader()
        writer.writerows(ROWS)
    database = tmp_path / "tax.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE wages (id_number TEXT, monthly_wages_fen INTEGER, employer TEXT)")
        connection.executemany("INSERT INTO wages VALUES (:id_number, :monthly_wages_fen, :employer)", ROWS)
    sources = [MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY),
               CsvSource(csv_path, suite=network.suite, network_key=NETWORK_KEY, integer_columns=("monthly_wages_fen",)),
               SqliteSource(database, table="wages", suite=network.suite, network_key=NETWORK_KEY)]
    questions = (Question("monthly_wages_fen"), Question("employer"))
    answers = [ask(network, source, query(network, *questions))["answers"] for source in sources]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][person(ALICE, network)] == {"monthly_wages_fen": 350_000, "employer": ["某物业公司", "某超市"]}
    assert answers[0][person(BOB, network)] == {"monthly_wages_fen": 0, "employer": []}
    bracket = ask(network, sources[0], query(network, Question("monthly_wages_fen", "bracket", edges=(100_000, 200_000, 400_000))))["answers"]
    assert bracket[person(ALICE, network)]["monthly_wages_fen"] == 2  # 200,000 <= 350,000 < 400,000
    below = ask(network, sources[0], query(network, Question("monthly_wages_fen", "below", threshold=279_000)))["answers"]
    assert below == {person(ALICE, network): {"monthly_wages_fen": False}, person(BOB, network): {"monthly_wages_fen": True}}


def caseworker_key(network: Network, number: int = CASEWORKER) -> KeyFile:
    key = network.key(number)
    return KeyFile(network.suite, key.seed, key.hex, "civil-affairs")


def test_a_batch_is_answered_per_query_and_signed_once(network: Network) -> None:
    authorise(network)
    source = MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY)
    batch = sign_query_batch(caseworker_key(network), "b1", "civil-affairs", [query(network), query(network, query_id="q2", persons=(ALICE, STRANGER))])
    assert QueryBatch.from_json(batch.to_json()) == batch  # what travels over HTTP parses back to what was signed
    answers = answer_queries(network.state, source, batch, agency="hrss", key=tax_key(network), now_ms=network.time_ms)
    assert set(answers.documents) == {"q1"} and "not a member" in answers.refusals["q2"]
    assert answers.documents["q1"]["answers"][person(ALICE, network)] == {"monthly_wages_fen": 350_000}
    assert is_answer_batch_authentic(answers, network.suite) and AnswerBatch.from_json(answers.to_json()) == answers
    tampered = {"figure": replace(answers, documents={"q1": {**answers.documents["q1"], "answers": {}}}),
                "refusal": replace(answers, refusals={}), "signer": replace(answers, signer=network.key(CIVIL_OFFICER).hex),
                "digest": replace(answers, digests={"q1": "0" * 64})}
    assert {name: is_answer_batch_authentic(batch, network.suite) for name, batch in tampered.items()} == dict.fromkeys(tampered, False)


def test_forged_or_unqualified_batches_are_refused_whole(network: Network) -> None:
    authorise(network)
    source = MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY)
    good = sign_query_batch(caseworker_key(network), "b1", "civil-affairs", [query(network)])
    forged = {
        "another key": replace(good, signer=network.key(CIVIL_OFFICER).hex),
        "changed after signing": replace(good, queries=(query(network, persons=(STRANGER,)),)),
        "not hex": replace(good, signature="zz"),
        "wrong organisation": sign_query_batch(KeyFile(network.suite, network.key(TAX_OFFICER).seed, network.key(TAX_OFFICER).hex, "x"), "b1", "civil-affairs", [query(network)]),
    }
    for name, batch in forged.items():
        with pytest.raises(QueryRefused, match="not signed by an active key"):
            answer_queries(network.state, source, batch, agency="hrss", key=tax_key(network), now_ms=network.time_ms)
    officer = sign_query_batch(caseworker_key(network, CIVIL_OFFICER), "b1", "civil-affairs", [query(network)])
    with pytest.raises(QueryRefused, match="not a caseworker"):
        answer_queries(network.state, source, officer, agency="hrss", key=tax_key(network), now_ms=network.time_ms)
    for malformed in [{}, {**good.to_json(), "queries": []}, {**good.to_json(), "queries": [{"query_id": 1}]}, {**good.to_json(), "signer": 5}]:
        with pytest.raises(QueryRefused):
            QueryBatch.from_json(malformed)


def test_queries_outside_the_terms_are_refused(network: Network) -> None:
    source = MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY)
    with pytest.raises(QueryRefused, match="no authorisation"):
        ask(network, source, query(network))
    authorise(network)
    refusals = {
        "stranger": query(network, persons=(ALICE, STRANGER)),
        "predicate on text": query(network, Question("employer", "below", threshold=1)),
        "unknown request": query(network, request_id="r9"),
        "other requester": query(network, requester="medical-security"),
        "bad bracket": query(network, Question("monthly_wages_fen", "bracket", edges=(5, 1))),
        "twice": query(network, Question("monthly_wages_fen", "below", threshold=1), Question("monthly_wages_fen")),
    }
    reasons = collect_refusals(network, source, refusals)
    assert "not a member" in reasons["stranger"] and "no predicate" in reasons["predicate on text"]
    assert "another organisation" in reasons["other requester"] and "increasing edges" in reasons["bad bracket"]
    assert "twice" in reasons["twice"] and "sharing request" in reasons["unknown request"]
    expires = network.state.get("catalog/request/r1")["expires_ms"]
    with pytest.raises(QueryRefused, match="expired"):
        ask(network, source, query(network), now_ms=expires)
    assert network.run_one(network.sign(TAX_OFFICER, "revoke_request", {"request_id": "r1", "reason": "x"}, contract="catalog")) is OK
    with pytest.raises(QueryRefused, match="revoked"):
        ask(network, source, query(network))


def test_sources_refuse_unreadable_input(tmp_path) -> None:
    from reliefledger.ledger.suites import get_suite

    suite = get_suite("ed25519-sha256")
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,amount\nx,1\n", encoding="utf-8")
    bad_number = tmp_path / "bad.csv"
    bad_number.write_text(f"id_number,monthly_wages_fen\n{ALICE},lots\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no id_number"):
        CsvSource(no_id, suite=suite, network_key=NETWORK_KEY)
    with pytest.raises(SourceError, match="not an integer"):
        CsvSource(bad_number, suite=suite, network_key=NETWORK_KEY, integer_columns=("monthly_wages_fen",))
    with pytest.raises(SourceError):
        SqliteSource(tmp_path / "missing.sqlite", table="wages", suite=suite, network_key=NETWORK_KEY)


def test_postgres_source_answers_like_the_others(network: Network) -> None:
    """Against a real PostgreSQL server started here from Debian's package."""
    from tests.postgres_server import start_postgres

    server, reason = start_postgres()
    if server is None:
        pytest.skip(f"PostgreSQL adapter not tested: {reason}")
    try:
        import psycopg

        with psycopg.connect(server.conninfo, autocommit=True) as connection:
            connection.execute("CREATE TABLE wages (id_number text, monthly_wages_fen bigint, employer text)")
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO wages VALUES (%(id_number)s, %(monthly_wages_fen)s, %(employer)s)", ROWS)
        source = PostgresSource(server.conninfo, table="wages", suite=network.suite, network_key=NETWORK_KEY)
        authorise(network)
        questions = (Question("monthly_wages_fen"), Question("employer"))
        from_postgres = ask(network, source, query(network, *questions))["answers"]
        from_memory = ask(network, MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY), query(network, *questions))["answers"]
        assert from_postgres == from_memory
        assert from_postgres[person(ALICE, network)]["monthly_wages_fen"] == 350_000
        with pytest.raises(SourceError):
            PostgresSource(server.conninfo, table="no_such_table", suite=network.suite, network_key=NETWORK_KEY)
        source.close()
    finally:
        server.stop()


def test_answer_records_in_one_transaction_are_all_or_none(network: Network) -> None:
    authorise(network)
    entry = lambda **outcome: {"case_id": "a1.dibao", "persons": [person(ALICE, network)], **outcome}  # noqa: E731
    record = lambda record_id, answers, signer=TAX_OFFICER, **changes: network.sign(signer, "record_answers", {  # noqa: E731
        "record_id": record_id, "request_id": "r1", "fields": ["monthly_wages_fen"], "answers": answers, **changes}, contract="catalog")
    assert network.run(
        record("b1.0", {"q1": entry(outcome="answered", digest="a" * 64), "q2": entry(outcome="refused", reason="too many persons")}),
        record("b1.0", {"q3": entry(outcome="answered", digest="b" * 64)}),  # the record exists: none of it
        record("b2.0", {}),
        record("b3.0", {"q4": entry(outcome="answered")}),  # an answer without its digest
        record("b4.0", {"q5": entry(outcome="answered", digest="c" * 64), "q6": entry(outcome="answered", digest="d" * 64, persons=["not a pseudonym"])}),
        record("b5.0", {"q7": entry(outcome="answered", digest="c" * 64)}, fields=["tax_secret"]),
        record("b6.0", {"q8": entry(outcome="answered", digest="c" * 64)}, signer=CIVIL_OFFICER),  # only the owner of the data records answers about it
    ) == [OK, ResultCode.ANSWER_EXISTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS, ResultCode.INVALID_ARGUMENTS,
          ResultCode.FIELDS_NOT_IN_RESOURCE, ResultCode.NOT_AUTHORISED]
    stored = network.state.get(get_answer_record_key("b1.0"))
    assert stored["answers"]["q1"]["digest"] == "a" * 64 and stored["answers"]["q2"]["reason"] == "too many persons" and stored["requester"] == "civil-affairs"
    assert all(network.state.get(get_answer_record_key(f"b{number}.0")) is None for number in range(2, 7))
    assert get_answer_fault(network.state, "b1.0", "q1", "a" * 64, "a1.dibao", "civil-affairs") is None
    assert "another digest" in get_answer_fault(network.state, "b1.0", "q1", "b" * 64, "a1.dibao", "civil-affairs")
    assert "refused" in get_answer_fault(network.state, "b1.0", "q2", "a" * 64, "a1.dibao", "civil-affairs")
    assert "another case" in get_answer_fault(network.state, "b1.0", "q1", "a" * 64, "a2.dibao", "civil-affairs")
    assert "no answer" in get_answer_fault(network.state, "b9.0", "q1", "a" * 64, "a1.dibao", "civil-affairs")


def request_for_discovery(network: Network, request_id: str = "d1", **changes) -> ResultCode:
    args = {"request_id": request_id, "resource_id": "tax.wages", "purpose": "主动发现", "fields": ["monthly_wages_fen"], "legal_basis": "办法第十一条",
            "scope": "discovery", **changes}
    outcome = network.run_one(network.sign(CIVIL_OFFICER, "request_sharing", args, contract="catalog"))
    if outcome is OK:
        assert network.run_one(network.sign(TAX_OFFICER, "decide_request", {"request_id": request_id, "outcome": "approve"}, contract="catalog")) is OK
    return outcome


def discovery_query(network: Network, *questions: Question, **changes) -> AgencyQuery:
    bracket = Question("monthly_wages_fen", "bracket", edges=(100_000, 300_000))
    return query(network, *(questions or (bracket,)), **{"request_id": "d1", "case_id": "discovery-run1", "household": "a" * 64, **changes})


def test_a_discovery_request_is_answered_about_a_household_in_brackets_only(network: Network) -> None:
    """Active discovery has no case and no authorisation: the request's scope says so, the query
    names a household of the signer's region, and only brackets or thresholds come back."""
    assert request_for_discovery(network, scope="everything") is ResultCode.INVALID_ARGUMENTS
    assert request_for_discovery(network) is OK and network.state.get("catalog/request/d1")["scope"] == "discovery"
    assert network.state.get("catalog/request/r1")["scope"] == "means_test"  # a request that names no scope is a means test's
    source = MemorySource(ROWS, suite=network.suite, network_key=NETWORK_KEY)
    document = ask(network, source, discovery_query(network))  # no case, no authorisation: discovery needs neither
    assert document["household"] == "a" * 64 and document["answers"] == {person(ALICE, network): {"monthly_wages_fen": 2}, person(BOB, network): {"monthly_wages_fen": 0}}
    refusals = {
        "a figure": discovery_query(network, Question("monthly_wages_fen")),
        "a chosen threshold": discovery_query(network, Question("monthly_wages_fen", "below", threshold=117_000)),
        "fine brackets": discovery_query(network, Question("monthly_wages_fen", "bracket", edges=tuple(range(100, 3_000_001, 100)))),
        "close edges": discovery_query(network, Question("monthly_wages_fen", "bracket", edges=(100_000, 110_000))),
        "no household": discovery_query(network, household=None),
        "unknown household": discovery_query(network, household="e" * 64),
        "not a member": discovery_query(network, persons=(ALICE, STRANGER)),
        "a household on a means-test request": query(network, household="a" * 64),
    }
    reasons = collect_refusals(network, source, refusals)
    assert "never with figures" in reasons["a figure"] and "never with figures" in reasons["a chosen threshold"]
    assert "coarse" in reasons["fine brackets"] and "coarse" in reasons["close edges"]
    assert "registered household" in reasons["no household"] and "registered household" in reasons["unknown household"]
    assert "not a member" in reasons["not a member"] and "names a case, not a household" in reasons["a household on a means-test request"]
    # The signer's region bounds discovery as it bounds a means test: a caseworker of another township is refused.
    assert network.run_one(network.sign(1, "admit_member", {"public_key": network.key(24).hex, "roles": ["caseworker"], "region": "330102002"})) is OK
    elsewhere = sign_query_batch(KeyFile(network.suite, network.key(24).seed, network.key(24).hex, "civil-affairs"), "b1", "civil-affairs", [discovery_query(network)])
    answered = answer_queries(network.state, source, elsewhere, agency="hrss", key=tax_key(network), now_ms=network.time_ms)
    assert "outside the region" in answered.refusals["q1"] and not answered.documents
    # One question per household and batch: two queries with shifted edges cannot be combined into a finer answer.
    caseworker = KeyFile(network.suite, network.key(CASEWORKER).seed, network.key(CASEWORKER).hex, "civil-affairs")
    shifted = Question("monthly_wages_fen", "bracket", edges=(110_000, 330_000))
    twice = sign_query_batch(caseworker, "b2", "civil-affairs", [discovery_query(network), discovery_query(network, shifted, query_id="q2")])
    answered = answer_queries(network.state, source, twice, agency="hrss", key=tax_key(network), now_ms=network.time_ms)
    assert list(answered.documents) == ["q1"] and "once per batch" in answered.refusals["q2"]


def test_discovery_answers_are_recorded_with_the_household_and_never_support_a_means_test(network: Network) -> None:
    authorise(network)
    assert request_for_discovery(network) is OK
    entry = {"case_id": "a1.dibao", "persons": [person(ALICE, network)], "household": "a" * 64, "outcome": "answered", "digest": "a" * 64}
    record = lambda record_id, answers: network.sign(TAX_OFFICER, "record_answers", {  # noqa: E731
        "record_id": record_id, "request_id": "d1", "fields": ["monthly_wages_fen"], "answers": answers}, contract="catalog")
    assert network.run(record("x1", {"q1": entry}), record("x2", {"q1": {**entry, "household": "not a pseudonym"}})) == [OK, ResultCode.INVALID_ARGUMENTS]
    assert network.state.get(get_answer_record_key("x1"))["answers"]["q1"]["household"] == "a" * 64
    # Even named with the case's id, an answer given for discovery is no evidence for that case's means test.
    assert "active discovery" in get_answer_fault(network.state, "x1", "q1", "a" * 64, "a1.dibao", "civil-affairs")

"""The membership contract: members, roles, and governance of the set of organisations."""

import pytest

from helpers import (
    SUITE_NAMES,
    Network,
    build_genesis_document,
    build_organisation_spec,
    codes,
    make_key,
    other_suite_name,
)
from reliefledger.ledger import limits
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import parse_genesis
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.suites import get_suite

OK = ResultCode.OK
A, B, C = 1, 2, 3
"""Seeds of the founding admins of civil-affairs, hrss and medical-security."""


@pytest.fixture(params=SUITE_NAMES)
def network(request) -> Network:
    return Network.create(request.param)


def other_suite_key_hex(network: Network, index: int = 1) -> str:
    return make_key(get_suite(other_suite_name(network.suite.name)), index).hex


# Genesis --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_parse_genesis_with_three_founders(suite_name):
    genesis = parse_genesis(build_genesis_document(suite_name))
    assert genesis.suite.name == suite_name
    assert [spec.id for spec in genesis.organisations] == ["civil-affairs", "hrss", "medical-security"]
    assert genesis.organisations[0].admin_key == make_key(genesis.suite, 1).hex


@pytest.mark.parametrize(
    "change",
    [
        lambda document: document.update(suite="rsa"),
        lambda document: document.update(organisations=[]),
        lambda document: document.update(orderers=[]),
        lambda document: document["organisations"].append(dict(document["organisations"][0])),
        lambda document: document["organisations"][1].update(admin_key=document["organisations"][0]["admin_key"]),
        lambda document: document["organisations"][0].update(admin_key=document["organisations"][0]["admin_key"].upper()),
        lambda document: document["organisations"][0].update(region="33010"),
        lambda document: document["organisations"][0].update(kind="ministry"),
        lambda document: document.update(chain_id="Relief Test"),
        lambda document: document.update(time_ms=1.5),
    ],
    ids=["suite", "no-organisations", "no-orderers", "duplicate-id", "shared-admin", "uppercase-key",
         "region", "kind", "chain-id", "float-time"],
)
def test_parse_genesis_rejects_bad_documents(change):
    document = build_genesis_document("ed25519-sha256")
    change(document)
    with pytest.raises(LedgerInputError):
        parse_genesis(document)


def test_genesis_rejects_key_of_other_suite():
    document = build_genesis_document("sm2-sm3")
    document["organisations"][0]["admin_key"] = make_key(get_suite("ed25519-sha256"), 1).hex
    with pytest.raises(LedgerInputError):
        parse_genesis(document)


# Members --------------------------------------------------------------------------------------


def test_admin_admits_member_of_own_organisation(network):
    assert network.run_one(network.admit(B, 10, roles=["reviewer", "clerk", "reviewer"])) is OK
    assert network.member(10) == {
        "admitted_height": 1,
        "organisation": "hrss",
        "region": "330100",
        "revoked_height": None,
        "roles": ["clerk", "reviewer"],
        "status": "active",
    }


def test_admitted_admin_can_admit_and_revoke(network):
    assert network.run_one(network.admit(A, 10, roles=["admin"])) is OK
    assert network.run_one(network.admit(10, 11)) is OK
    assert network.member(11)["organisation"] == "civil-affairs"
    assert network.run_one(network.revoke(10, 11)) is OK


def test_revoke_member(network):
    network.run(network.admit(A, 10))
    assert network.run_one(network.revoke(A, 10)) is OK
    member = network.member(10)
    assert member["status"] == "revoked" and member["revoked_height"] == 2
    assert member["roles"] == ["clerk"] and member["admitted_height"] == 1


def test_non_admin_cannot_admit_or_revoke(network):
    network.run(network.admit(A, 10, roles=["clerk", "reviewer"]), network.admit(A, 11))
    assert network.run_one(network.admit(10, 12)) is ResultCode.NOT_AUTHORISED
    assert network.run_one(network.revoke(10, 11)) is ResultCode.NOT_AUTHORISED
    assert network.member(12) is None and network.member(11)["status"] == "active"


def test_cannot_revoke_member_of_another_organisation(network):
    network.run(network.admit(B, 10))
    assert network.run_one(network.revoke(A, 10)) is ResultCode.NOT_AUTHORISED
    assert network.run_one(network.revoke(A, B)) is ResultCode.NOT_AUTHORISED
    assert network.member(10)["status"] == "active" and network.member(B)["status"] == "active"


def test_member_exists(network):
    assert network.run_one(network.admit(A, B)) is ResultCode.MEMBER_EXISTS  # another org's admin
    assert network.run_one(network.admit(A, A)) is ResultCode.MEMBER_EXISTS
    network.run(network.admit(A, 10))
    assert network.run_one(network.admit(A, 10, roles=["admin"])) is ResultCode.MEMBER_EXISTS
    assert network.member(10)["roles"] == ["clerk"]
    network.run(network.revoke(A, 10))
    assert network.run_one(network.admit(A, 10)) is ResultCode.MEMBER_EXISTS  # revoked keys stay taken


def test_member_not_found(network):
    assert network.run_one(network.revoke(A, 60)) is ResultCode.MEMBER_NOT_FOUND


def test_member_already_revoked(network):
    network.run(network.admit(A, 10))
    assert network.run(network.revoke(A, 10), network.revoke(A, 10, nonce="again")) == [
        OK,
        ResultCode.MEMBER_ALREADY_REVOKED,
    ]
    assert network.member(10)["revoked_height"] == 2


def test_not_authorised_beats_member_exists_and_not_found(network):
    network.run(network.admit(A, 10))
    assert network.run_one(network.admit(10, B)) is ResultCode.NOT_AUTHORISED
    assert network.run_one(network.revoke(10, 60)) is ResultCode.NOT_AUTHORISED


# Invalid arguments ------------------------------------------------------------------------------


def invalid_argument_cases(network: Network) -> list[tuple[str, dict]]:
    key = network.key(10).hex
    organisation = build_organisation_spec(network.suite, "bank-a", 20, kind="bank")
    admit = lambda **change: {"change": {"kind": "admit_organisation", "founding": False, "organisation": organisation, **change}, "proposal_id": "p1"}  # noqa: E731
    return [
        ("admit_member", {}),
        ("admit_member", {"public_key": key}),
        ("admit_member", {"roles": ["clerk"]}),
        ("admit_member", {"public_key": key, "roles": ["clerk"], "note": "x"}),
        ("admit_member", {"public_key": key, "roles": []}),
        ("admit_member", {"public_key": key, "roles": "clerk"}),
        ("admit_member", {"public_key": key, "roles": [1]}),
        ("admit_member", {"public_key": key, "roles": ["Clerk"]}),
        ("admit_member", {"public_key": key, "roles": ["1clerk"]}),
        ("admit_member", {"public_key": key, "roles": [f"role{i}" for i in range(limits.ROLES_PER_MEMBER_MAX + 1)]}),
        ("admit_member", {"public_key": key.upper(), "roles": ["clerk"]}),
        ("admit_member", {"public_key": 12, "roles": ["clerk"]}),
        ("admit_member", {"public_key": "zz" * 32, "roles": ["clerk"]}),
        ("admit_member", {"public_key": other_suite_key_hex(network), "roles": ["clerk"]}),
        ("revoke_member", {}),
        ("revoke_member", {"public_key": key, "reason": "x"}),
        ("revoke_member", {"public_key": "xyz"}),
        ("propose", {"proposal_id": "p1"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}}),
        ("propose", {"change": "remove hrss", "proposal_id": "p1"}),
        ("propose", {"change": {"kind": "merge_organisations"}, "proposal_id": "p1"}),
        ("propose", {"change": {"kind": "remove_organisation"}, "proposal_id": "p1"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "HRSS"}, "proposal_id": "p1"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss", "x": 1}, "proposal_id": "p1"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": "P1"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": ""}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": "p1", "lifetime_ms": 0}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": "p1", "lifetime_ms": limits.PROPOSAL_LIFETIME_MS_MAX + 1}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": "p1", "lifetime_ms": "1000"}),
        ("propose", {"change": {"kind": "remove_organisation", "organisation_id": "hrss"}, "proposal_id": "p1", "quorum": 1}),
        ("propose", admit(founding="yes")),
        ("propose", {"change": {"kind": "admit_organisation", "organisation": organisation}, "proposal_id": "p1"}),
        ("propose", admit(organisation={**organisation, "region": "3301"})),
        ("propose", admit(organisation={**organisation, "kind": "ministry"})),
        ("propose", admit(organisation={**organisation, "id": "Bank A"})),
        ("propose", admit(organisation={**organisation, "name": ""})),
        ("propose", admit(organisation={**organisation, "admin_key": other_suite_key_hex(network, 20)})),
        ("propose", admit(organisation={**organisation, "extra": 1})),
        ("propose", admit(organisation="bank-a")),
        ("vote", {}),
        ("vote", {"proposal_id": 5}),
        ("vote", {"proposal_id": "p1", "support": True}),
    ]


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_invalid_arguments(suite_name):
    network = Network.create(suite_name)
    cases = invalid_argument_cases(network)
    envelopes = [network.sign(A, action, args) for action, args in cases]
    outcome = network.preview(envelopes)
    wrong = [(case, code) for case, code in zip(cases, codes(outcome)) if code is not ResultCode.INVALID_ARGUMENTS]
    assert wrong == []
    assert outcome.writes == {}


def test_valid_counterparts_of_invalid_argument_cases_pass(network):
    # Guards the table above: the same shapes with valid values are accepted.
    organisation = build_organisation_spec(network.suite, "bank-a", 20, kind="bank")
    envelopes = [
        network.sign(A, "admit_member", {"public_key": network.key(10).hex, "roles": [f"role{i}" for i in range(limits.ROLES_PER_MEMBER_MAX)]}),
        network.sign(A, "propose", {"change": {"kind": "admit_organisation", "founding": False, "organisation": organisation}, "proposal_id": "p1", "lifetime_ms": limits.PROPOSAL_LIFETIME_MS_MAX}),
        network.sign(B, "vote", {"proposal_id": "p1"}),
    ]
    assert network.run(*envelopes) == [OK, OK, OK]


# Governance -------------------------------------------------------------------------------------


def test_proposal_needs_strict_majority_of_three(network):
    assert network.run_one(network.propose_admit(A, "p1", "bank-a", 20)) is OK
    proposal = network.proposal("p1")
    assert proposal["status"] == "open" and proposal["votes"] == ["civil-affairs"]
    assert proposal["proposer"] == "civil-affairs" and proposal["closed_height"] is None
    assert network.organisation("bank-a") is None and network.member(20) is None

    assert network.run_one(network.vote(B, "p1")) is OK
    proposal = network.proposal("p1")
    assert proposal["status"] == "applied" and proposal["closed_height"] == 2
    assert proposal["votes"] == ["civil-affairs", "hrss"]
    assert network.organisation("bank-a")["status"] == "active"
    assert network.organisation("bank-a")["founding"] is False
    assert network.organisation("bank-a")["admitted_height"] == 2
    assert network.member(20) == {
        "admitted_height": 2,
        "organisation": "bank-a",
        "region": "330100",
        "revoked_height": None,
        "roles": ["admin"],
        "status": "active",
    }
    assert network.founding() == ["civil-affairs", "hrss", "medical-security"]


def test_admitted_organisation_admits_its_members_but_does_not_govern(network):
    network.run(network.propose_admit(A, "p1", "bank-a", 20), network.vote(C, "p1"))
    assert network.run_one(network.admit(20, 21, roles=["teller"])) is OK
    assert network.member(21)["organisation"] == "bank-a"
    network.run(network.propose_admit(A, "p2", "charity-b", 30))
    assert network.run_one(network.vote(20, "p2")) is ResultCode.NOT_AUTHORISED
    assert network.run_one(network.propose_remove(20, "p3", "hrss")) is ResultCode.NOT_AUTHORISED
    assert network.proposal("p2")["votes"] == ["civil-affairs"] and network.proposal("p3") is None


def test_non_admin_of_founding_organisation_cannot_govern(network):
    network.run(network.admit(A, 10, roles=["clerk"]), network.propose_admit(B, "p1", "bank-a", 20))
    assert network.run_one(network.vote(10, "p1")) is ResultCode.NOT_AUTHORISED
    assert network.run_one(network.propose_remove(10, "p2", "hrss")) is ResultCode.NOT_AUTHORISED


def test_founding_admission_raises_the_majority(network):
    assert network.run(network.propose_admit(A, "p1", "housing", 4, founding=True), network.vote(B, "p1")) == [OK, OK]
    assert network.founding() == ["civil-affairs", "housing", "hrss", "medical-security"]
    assert network.organisation("housing")["founding"] is True

    # Four founders: two votes are not a strict majority any more, three are.
    assert network.run(network.propose_admit(A, "p2", "bank-a", 20), network.vote(B, "p2")) == [OK, OK]
    assert network.proposal("p2")["status"] == "open" and network.organisation("bank-a") is None
    assert network.run_one(network.vote(4, "p2")) is OK  # the new founder takes part
    assert network.proposal("p2")["status"] == "applied"
    assert network.organisation("bank-a")["status"] == "active"


def test_five_founders_need_three_votes():
    network = Network.create("ed25519-sha256", founder_count=5)
    network.run(network.propose_remove(A, "p1", "public-security"), network.vote(B, "p1"))
    assert network.proposal("p1")["status"] == "open"
    assert network.run_one(network.vote(5, "p1")) is OK  # the target itself may vote
    assert network.proposal("p1")["status"] == "applied"
    assert network.founding() == ["civil-affairs", "housing", "hrss", "medical-security"]


def test_remove_organisation_revokes_its_signers(network):
    network.run(network.admit(C, 10, roles=["admin"]), network.admit(C, 11))
    assert network.run(network.propose_remove(A, "p1", "medical-security"), network.vote(B, "p1")) == [OK, OK]
    organisation = network.organisation("medical-security")
    assert organisation["status"] == "removed" and organisation["founding"] is False
    assert organisation["removed_height"] == 2
    assert network.founding() == ["civil-affairs", "hrss"]
    # Member records themselves are untouched, but no key of the organisation may sign.
    assert network.member(10)["status"] == "active"
    assert network.run_one(network.admit(C, 12)) is ResultCode.REVOKED_SIGNER
    assert network.run_one(network.admit(10, 12)) is ResultCode.REVOKED_SIGNER
    assert network.run_one(network.sign(11, "x", {}, contract="nothing")) is ResultCode.REVOKED_SIGNER


def test_votes_of_removed_founders_stop_counting(network):
    assert network.run_one(network.propose_admit(C, "p1", "bank-a", 20)) is OK
    network.run(network.propose_remove(A, "p2", "medical-security"), network.vote(B, "p2"))
    assert network.founding() == ["civil-affairs", "hrss"]
    # p1 holds C's vote, but C is no longer founding: A's vote alone is 1 of 2.
    assert network.run_one(network.vote(A, "p1")) is OK
    assert network.proposal("p1")["status"] == "open" and network.organisation("bank-a") is None
    assert network.run_one(network.vote(B, "p1")) is OK
    assert network.proposal("p1")["status"] == "applied"


def test_removing_a_non_founding_organisation_keeps_the_founding_set(network):
    network.run(network.propose_admit(A, "p1", "bank-a", 20), network.vote(B, "p1"))
    network.run(network.propose_remove(A, "p2", "bank-a"), network.vote(C, "p2"))
    assert network.organisation("bank-a")["status"] == "removed"
    assert network.founding() == ["civil-affairs", "hrss", "medical-security"]
    assert network.run_one(network.admit(20, 21)) is ResultCode.REVOKED_SIGNER


def test_proposal_exists(network):
    network.run(network.propose_admit(A, "p1", "bank-a", 20))
    assert network.run_one(network.propose_remove(B, "p1", "hrss")) is ResultCode.PROPOSAL_EXISTS
    assert network.proposal("p1")["change"]["kind"] == "admit_organisation"
    network.run(network.vote(B, "p1"))
    assert network.run_one(network.propose_admit(C, "p1", "bank-b", 21)) is ResultCode.PROPOSAL_EXISTS


def test_proposal_not_found(network):
    assert network.run_one(network.vote(A, "p404")) is ResultCode.PROPOSAL_NOT_FOUND


def test_proposal_closed_when_applied(network):
    network.run(network.propose_admit(A, "p1", "bank-a", 20), network.vote(B, "p1"))
    assert network.run_one(network.vote(C, "p1")) is ResultCode.PROPOSAL_CLOSED
    assert network.proposal("p1")["votes"] == ["civil-affairs", "hrss"]


def test_proposal_closed_past_deadline_and_open_at_it(network):
    time_ms = network.next_time_ms()
    network.run(network.propose_admit(A, "p1", "bank-a", 20, lifetime_ms=10_000))
    assert network.proposal("p1")["deadline_ms"] == time_ms + 10_000
    late = network.vote(B, "p1")
    assert codes(network.preview([late], time_ms=time_ms + 10_001)) == [ResultCode.PROPOSAL_CLOSED]
    assert codes(network.preview([late], time_ms=time_ms + 10_000)) == [OK]


def test_default_proposal_lifetime(network):
    time_ms = network.next_time_ms()
    network.run(network.propose_remove(A, "p1", "hrss"))
    assert network.proposal("p1")["deadline_ms"] == time_ms + limits.PROPOSAL_LIFETIME_MS_DEFAULT


def test_already_voted(network):
    network.run(network.propose_admit(A, "p1", "bank-a", 20))
    assert network.run_one(network.vote(A, "p1")) is ResultCode.ALREADY_VOTED
    five = Network.create(network.suite.name, founder_count=5)
    five.run(five.propose_admit(A, "p1", "bank-a", 20), five.vote(B, "p1"))
    assert five.run_one(five.vote(B, "p1")) is ResultCode.ALREADY_VOTED
    assert five.proposal("p1")["votes"] == ["civil-affairs", "hrss"]


def test_organisation_exists_when_the_change_is_applied(network):
    assert network.run_one(network.propose_admit(A, "p1", "hrss", 20)) is OK  # not applied yet
    before = network.organisation("hrss")
    assert network.run_one(network.vote(B, "p1")) is ResultCode.ORGANISATION_EXISTS
    assert network.organisation("hrss") == before
    assert network.proposal("p1")["status"] == "open" and network.proposal("p1")["votes"] == ["civil-affairs"]
    assert network.member(20) is None


def test_organisation_exists_for_removed_organisation_id(network):
    network.run(network.propose_remove(A, "p1", "medical-security"), network.vote(B, "p1"))
    assert network.run(network.propose_admit(A, "p2", "medical-security", 20), network.vote(B, "p2")) == [
        OK,
        ResultCode.ORGANISATION_EXISTS,
    ]
    assert network.organisation("medical-security")["status"] == "removed"
    assert network.proposal("p2")["status"] == "open"


def test_admin_key_already_a_member_when_applied(network):
    network.run(network.admit(A, 10))
    assert network.run_one(network.propose_admit(A, "p1", "bank-a", 10)) is OK
    assert network.run_one(network.vote(B, "p1")) is ResultCode.MEMBER_EXISTS
    assert network.organisation("bank-a") is None


def test_organisation_not_found(network):
    network.run(network.propose_remove(A, "p1", "no-such-org"))
    assert network.run_one(network.vote(B, "p1")) is ResultCode.ORGANISATION_NOT_FOUND
    network.run(network.propose_remove(A, "p2", "hrss"), network.vote(C, "p2"))
    network.run(network.propose_remove(A, "p3", "hrss"))
    assert network.run_one(network.vote(C, "p3")) is ResultCode.ORGANISATION_NOT_FOUND


@pytest.mark.parametrize("suite_name", SUITE_NAMES)
def test_founding_set_would_be_empty_with_one_founder(suite_name):
    network = Network.create(suite_name, founder_count=1)
    previous = network.digest
    outcome = network.execute([network.propose_remove(A, "p1", "civil-affairs")])
    assert codes(outcome) == [ResultCode.FOUNDING_SET_WOULD_BE_EMPTY]
    assert outcome.writes == {} and network.proposal("p1") is None
    assert outcome.state_digest == network.suite.compute_hash(previous + b"[]")
    # With one founder a single vote is a majority: proposals apply at once.
    assert network.run_one(network.propose_admit(A, "p2", "bank-a", 20)) is OK
    assert network.proposal("p2")["status"] == "applied"


def test_founding_set_would_be_empty_after_shrinking(network):
    network.run(network.propose_remove(A, "p1", "medical-security"), network.vote(B, "p1"))
    network.run(network.propose_remove(A, "p2", "hrss"), network.vote(B, "p2"))
    assert network.founding() == ["civil-affairs"]
    assert network.run_one(network.propose_remove(A, "p3", "civil-affairs")) is ResultCode.FOUNDING_SET_WOULD_BE_EMPTY
    assert network.organisation("civil-affairs")["status"] == "active"
    assert network.run_one(network.admit(A, 10)) is OK


def test_organisation_exists_at_once_with_one_founder():
    network = Network.create("sm2-sm3", founder_count=1)
    assert network.run_one(network.propose_admit(A, "p1", "civil-affairs", 20)) is ResultCode.ORGANISATION_EXISTS
    assert network.proposal("p1") is None

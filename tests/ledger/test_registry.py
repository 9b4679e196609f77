"""The registry contract: households and persons by pseudonym, changes as transactions, by region."""

import hashlib

import pytest

from reliefledger.ledger.contracts.registry import get_household_key, get_person_key
from reliefledger.ledger.results import ResultCode
from helpers import Network

OK = ResultCode.OK
TOWNSHIP = "330102001"
OTHER_TOWNSHIP = "330105002"


def pseudonym(label: str) -> str:
    """A stand-in pseudonym (tests need distinct 32-byte hex values, not real keyed hashes)."""
    return hashlib.sha256(label.encode()).hexdigest()


COMMITMENT = pseudonym("commitment")


@pytest.fixture
def network() -> Network:
    """Founder 1 (region 330100) admits caseworker 10 in TOWNSHIP and caseworker 11 in OTHER_TOWNSHIP."""
    network = Network.create("ed25519-sha256")
    assert network.run(
        network.sign(1, "admit_member", {"public_key": network.key(10).hex, "roles": ["caseworker"], "region": TOWNSHIP}),
        network.sign(1, "admit_member", {"public_key": network.key(11).hex, "roles": ["caseworker"], "region": OTHER_TOWNSHIP}),
        network.sign(1, "admit_member", {"public_key": network.key(12).hex, "roles": ["auditor"], "region": TOWNSHIP}),
    ) == [OK, OK, OK]
    return network


def register(network: Network, signer: int, household: str, members: list[str], region: str = TOWNSHIP, **options):
    args = {
        "household": pseudonym(household),
        "region": region,
        "head": pseudonym(members[0]),
        "members": [{"person": pseudonym(member), "record_commitment": COMMITMENT} for member in members],
        "record_commitment": COMMITMENT,
    }
    return network.sign(signer, "register_household", args, contract="registry", **options)


def act(network: Network, signer: int, action: str, **args):
    values = {name: pseudonym(value) if name in ("household", "person", "into", "new_household", "head") else value for name, value in args.items()}
    return network.sign(signer, action, values, contract="registry")


def test_admission_binds_a_region_within_the_organisation(network: Network) -> None:
    assert network.member(10)["region"] == TOWNSHIP
    assert network.member(1)["region"] == "330100"
    outside = network.sign(1, "admit_member", {"public_key": network.key(13).hex, "roles": ["caseworker"], "region": "110105"})
    malformed = network.sign(1, "admit_member", {"public_key": network.key(14).hex, "roles": ["caseworker"], "region": "33"})
    assert network.run(outside, malformed) == [ResultCode.NOT_AUTHORISED, ResultCode.INVALID_ARGUMENTS]


def test_register_and_read_back(network: Network) -> None:
    assert network.run_one(register(network, 10, "h1", ["alice", "bob"])) is OK
    household = network.state.get(get_household_key(pseudonym("h1")))
    assert household["members"] == sorted([pseudonym("alice"), pseudonym("bob")])
    assert household["head"] == pseudonym("alice") and household["region"] == TOWNSHIP
    assert network.state.get(get_person_key(pseudonym("bob")))["household"] == pseudonym("h1")


def test_only_registrars_of_the_region_register(network: Network) -> None:
    assert network.run(
        register(network, 11, "h1", ["alice"]),  # caseworker of another township
        register(network, 12, "h2", ["bob"]),  # an auditor of this township
        register(network, 1, "h3", ["carol"]),  # the county-level admin: its region contains the township
    ) == [ResultCode.NOT_AUTHORISED, ResultCode.NOT_AUTHORISED, OK]


def test_a_person_belongs_to_one_household(network: Network) -> None:
    assert network.run(register(network, 10, "h1", ["alice"]), register(network, 10, "h2", ["alice", "dan"])) == [OK, ResultCode.PERSON_IN_ANOTHER_HOUSEHOLD]
    assert network.run_one(register(network, 10, "h1", ["erin"])) is ResultCode.HOUSEHOLD_EXISTS
    assert network.state.get(get_person_key(pseudonym("dan"))) is None


def test_bad_registration_arguments(network: Network) -> None:
    no_members = network.sign(10, "register_household", {"household": pseudonym("h"), "region": TOWNSHIP, "head": pseudonym("a"), "members": [], "record_commitment": COMMITMENT}, contract="registry")
    head_outside = network.sign(10, "register_household", {"household": pseudonym("h"), "region": TOWNSHIP, "head": pseudonym("z"), "members": [{"person": pseudonym("a"), "record_commitment": COMMITMENT}], "record_commitment": COMMITMENT}, contract="registry")
    plain_id = network.sign(10, "register_household", {"household": "110101199003077777", "region": TOWNSHIP, "head": pseudonym("a"), "members": [{"person": pseudonym("a"), "record_commitment": COMMITMENT}], "record_commitment": COMMITMENT}, contract="registry")
    assert network.run(no_members, head_outside, plain_id) == [ResultCode.INVALID_ARGUMENTS] * 3


def test_birth_death_and_head(network: Network) -> None:
    network.run_one(register(network, 10, "h1", ["alice", "bob"]))
    assert network.run_one(act(network, 10, "record_birth", household="h1", person="baby", record_commitment=COMMITMENT)) is OK
    assert network.run_one(act(network, 10, "record_death", person="alice")) is OK
    household = network.state.get(get_household_key(pseudonym("h1")))
    assert pseudonym("alice") not in household["members"] and household["head"] is None
    assert network.state.get(get_person_key(pseudonym("alice")))["status"] == "deceased"
    assert network.run(
        act(network, 10, "record_death", person="alice"),
        act(network, 10, "set_head", household="h1", person="alice"),
        act(network, 10, "set_head", household="h1", person="bob"),
        act(network, 10, "record_birth", household="h1", person="alice", record_commitment=COMMITMENT),
    ) == [ResultCode.PERSON_DECEASED, ResultCode.PERSON_NOT_FOUND, OK, ResultCode.PERSON_DECEASED]


def test_move_split_merge(network: Network) -> None:
    network.run(register(network, 10, "h1", ["alice", "bob", "carol"]), register(network, 10, "h2", ["dan"]))
    assert network.run_one(act(network, 10, "split_household", household="h1", new_household="h3", persons=[pseudonym("carol")], head="carol", record_commitment=COMMITMENT)) is OK
    assert network.state.get(get_person_key(pseudonym("carol")))["household"] == pseudonym("h3")
    assert network.run_one(act(network, 10, "merge_households", household="h2", into="h1")) is OK
    assert network.state.get(get_household_key(pseudonym("h2")))["status"] == "merged"
    assert pseudonym("dan") in network.state.get(get_household_key(pseudonym("h1")))["members"]
    assert network.run_one(act(network, 10, "record_move", household="h1", region=OTHER_TOWNSHIP)) is OK
    # Now the household lies in the other township: its caseworker acts, ours no longer does.
    assert network.run(
        act(network, 10, "set_head", household="h1", person="bob"),
        act(network, 11, "set_head", household="h1", person="bob"),
        act(network, 11, "record_birth", household="h2", person="erin", record_commitment=COMMITMENT),
    ) == [ResultCode.NOT_AUTHORISED, OK, ResultCode.HOUSEHOLD_INACTIVE]

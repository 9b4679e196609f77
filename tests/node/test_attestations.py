"""The attestation book on its own: signatures and membership checked, malformed messages refused
without harm, attestations above the tip compared once the tip gets there, divergence proven, and
one peer alone unable to make the cutters wait."""

from reliefledger.ledger.contracts.membership import get_member_key, get_organisation_key
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.suites import get_suite
from reliefledger.node.attestations import AttestationBook, build_attestation
from reliefledger.node.keys import generate_key

SUITE = get_suite("ed25519-sha256")


def make_book(tip: dict, blocks: dict[int, tuple[bytes, bytes]], keys: dict) -> AttestationBook:
    state = {get_organisation_key(name): {"status": "active"} for name in keys}
    state.update({get_member_key(key.public_key): {"organisation": name, "status": "active"} for name, key in keys.items()})
    return AttestationBook(SUITE, "chain", state.get, lambda height: blocks.get(height) if height <= tip["height"] else None)


def test_the_book_checks_compares_waits_and_proves_divergence() -> None:
    keys = {name: generate_key(SUITE, name) for name in ("a", "b", "c")}
    stranger = generate_key(SUITE, "x")
    blocks = {height: (bytes([height]) * 32, bytes([height + 100]) * 32) for height in range(1, 6)}
    tip = {"height": 3}
    book = make_book(tip, blocks, keys)
    agree = lambda name, height: build_attestation(keys[name], name, "chain", height, *blocks[height])  # noqa: E731
    assert book.add(agree("a", 2)) == "agrees" and book.add(agree("b", 3)) == "agrees"
    assert book.add(agree("a", 5)) == "waiting"
    assert book.add(build_attestation(stranger, "a", "chain", 2, *blocks[2])).startswith("refused")  # not a member key
    assert book.add(b"not json").startswith("refused")
    tampered = encode_canonical({"body": {"block_hash": ["x"], "chain": "chain", "height": 2, "organisation": "a", "signer": keys["a"].public_key,
                                          "state_digest": "00" * 32, "type": "reliefledger.attestation.v1"}, "signature": "00"})
    assert book.add(tampered).startswith("refused")  # a list where a hash belongs: refused, not a crash
    assert book.refused == 3
    assert book.get_highest_agreeing_height() == 3  # the second highest: "a" alone claims 5
    tip["height"] = 5
    book.recheck()
    assert book.peers["a"].agrees_up_to == 5 and book.waiting == []
    proofs = []
    book.on_divergence = proofs.append
    assert book.add(agree("b", 4)) == "agrees"
    assert book.add(build_attestation(keys["c"], "c", "chain", 4, bytes(32), bytes(32))) == "differs"  # two signed, different: a proof
    assert book.peers["c"].diverged_at == 4 and len(proofs) == 1 and proofs[0]["height"] == 4
    assert book.to_json()["peers"]["c"]["diverged_at"] == 4

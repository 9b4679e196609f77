"""Genesis: the document that founds a chain.

It fixes the chain id, the crypto suite, the founding organisations (each with its first admin
key) and the orderer keys. Its hash is the ``previous_hash`` of block 1, and its write set is the
first state, so every peer starts from the same digest.
"""

import re
from dataclasses import dataclass
from typing import Any

from reliefledger.ledger import limits
from reliefledger.ledger.encoding import check_canonical_value, encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite, get_suite

ORGANISATION_KINDS = (
    "government_department",
    "enterprise",
    "public_institution",
    "mass_organisation",
    "social_organisation",
    "bank",
    "central_bank",
    "merchant",
    "individual",
)
"""The kinds of participant the policy names."""

IDENTIFIER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
REGION_PATTERN = re.compile(r"^[0-9]{6}(?:[0-9]{3})?$")
"""A GB/T 2260 six-digit code, optionally extended by a three-digit township code."""

CHAIN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class OrganisationSpec:
    """An organisation as genesis or a governance proposal describes it."""

    id: str
    name: str
    kind: str
    region: str
    admin_key: str
    """Public key (hex) of the organisation's first administrator."""

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "admin_key": self.admin_key,
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "region": self.region,
        }


@dataclass(frozen=True)
class Genesis:
    """A parsed, checked genesis document."""

    chain_id: str
    suite: Suite
    time_ms: int
    """Creation time; block 1's time must not be earlier."""
    organisations: tuple[OrganisationSpec, ...]
    """The founding organisations."""
    orderers: tuple[str, ...]
    """Public keys (hex) allowed to sign block headers."""
    document: dict[str, Any]
    """The document as read, for hashing."""

    def compute_hash(self) -> bytes:
        """The genesis hash: suite hash of the canonical document."""
        return self.suite.compute_hash(encode_canonical(self.document))


def parse_genesis(document: Any) -> Genesis:
    """Check a genesis document and return it parsed; ``LedgerInputError`` names what is wrong."""
    if type(document) is not dict:
        raise LedgerInputError("genesis must be a JSON object")
    check_canonical_value(document)
    fields = ("chain_id", "orderers", "organisations", "suite", "time_ms")
    missing = [name for name in fields if name not in document]
    if missing:
        raise LedgerInputError(f"genesis is missing {', '.join(missing)}")
    chain_id = document["chain_id"]
    if type(chain_id) is not str or not CHAIN_ID_PATTERN.fullmatch(chain_id):
        raise LedgerInputError("genesis chain_id must be lowercase letters, digits, '.', '_', '-'")
    suite = get_suite(document["suite"])
    if type(document["time_ms"]) is not int or document["time_ms"] < 0:
        raise LedgerInputError("genesis time_ms must be a non-negative integer")
    organisations = tuple(
        parse_organisation_spec(item, suite) for item in _require_list(document, "organisations")
    )
    if not organisations:
        raise LedgerInputError("genesis needs at least one founding organisation")
    if len({organisation.id for organisation in organisations}) != len(organisations):
        raise LedgerInputError("genesis names an organisation id twice")
    if len({organisation.admin_key for organisation in organisations}) != len(organisations):
        raise LedgerInputError("genesis gives two organisations the same admin key")
    orderers = tuple(_require_key(key, suite, "genesis orderer") for key in _require_list(document, "orderers"))
    if not orderers:
        raise LedgerInputError("genesis needs at least one orderer key")
    return Genesis(chain_id, suite, document["time_ms"], organisations, orderers, document)


def parse_organisation_spec(value: Any, suite: Suite) -> OrganisationSpec:
    """Check one organisation description."""
    if type(value) is not dict:
        raise LedgerInputError("an organisation must be a JSON object")
    expected = {"admin_key", "id", "kind", "name", "region"}
    if set(value) != expected:
        raise LedgerInputError(f"an organisation needs exactly the fields {', '.join(sorted(expected))}")
    if type(value["id"]) is not str or not IDENTIFIER_PATTERN.fullmatch(value["id"]):
        raise LedgerInputError(f"organisation id {value['id']!r} must be lowercase letters, digits, '.', '_', '-'")
    if type(value["name"]) is not str or not value["name"] or len(value["name"]) > 200:
        raise LedgerInputError(f"organisation {value['id']} needs a name of 1 to 200 characters")
    if value["kind"] not in ORGANISATION_KINDS:
        raise LedgerInputError(f"organisation kind {value['kind']!r} is not one of {', '.join(ORGANISATION_KINDS)}")
    if type(value["region"]) is not str or not REGION_PATTERN.fullmatch(value["region"]):
        raise LedgerInputError(f"organisation region {value['region']!r} is not a GB/T 2260 code")
    admin_key = _require_key(value["admin_key"], suite, f"organisation {value['id']} admin_key")
    return OrganisationSpec(value["id"], value["name"], value["kind"], value["region"], admin_key)


def _require_list(document: dict, name: str) -> list:
    value = document[name]
    if type(value) is not list or len(value) > limits.ORGANISATIONS_MAX:
        raise LedgerInputError(f"genesis {name} must be a list of at most {limits.ORGANISATIONS_MAX}")
    return value


def _require_key(value: Any, suite: Suite, where: str) -> str:
    try:
        key = bytes.fromhex(value) if type(value) is str else b""
    except ValueError:
        key = b""
    if not suite.is_valid_public_key(key) or value != key.hex():
        raise LedgerInputError(f"{where} is not a lowercase-hex {suite.name} public key")
    return value

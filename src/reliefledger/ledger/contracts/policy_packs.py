"""Policy packs on the ledger: published once, by version, so every peer applies the same rules.

A pack (``ledger/policy.py``) is data: programmes, standards, deadlines, limits. Publishing it
puts its canonical JSON and digest in state; every later step that applies rules names the pack
version it used, so anyone holding the same facts can recompute the outcome.

State keys::

    policy/pack/<version>   {version, digest, document, published_height}
    policy/current          {version}
"""

from typing import Any, Callable

from reliefledger.ledger.contracts.arguments import require_fields
from reliefledger.ledger.contracts.authorisation import POLICY_ADMIN, require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import PolicyPack, compute_pack_digest, parse_policy_pack
from reliefledger.ledger.results import Rejection, ResultCode

CURRENT_KEY = "policy/current"
_PARSED_PACKS: dict[str, PolicyPack] = {}
"""Parsed packs by digest: parsing is a pure function of the document, so remembering it is safe."""


def get_pack_key(version: str) -> str:
    """State key of a published pack."""
    return f"policy/pack/{version}"


def get_pack(state: Any, version: str) -> PolicyPack:
    """The published pack ``version``, parsed; rejects an unknown version."""
    record = state.get(get_pack_key(version)) if type(version) is str else None
    if record is None:
        raise Rejection(ResultCode.POLICY_PACK_NOT_FOUND, f"no policy pack {version!r} is published")
    pack = _PARSED_PACKS.get(record["digest"])
    if pack is None:
        pack = _PARSED_PACKS[record["digest"]] = parse_policy_pack(record["document"])
    return pack


def get_current_pack(state: Any) -> PolicyPack:
    """The pack most recently published."""
    current = state.get(CURRENT_KEY)
    if current is None:
        raise Rejection(ResultCode.POLICY_PACK_NOT_FOUND, "no policy pack is published yet")
    return get_pack(state, current["version"])


def process_publish_pack(context: TransactionContext, args: dict[str, Any]) -> None:
    """A policy admin publishes a new pack version, which becomes current for the whole network.

    A network serves one policy jurisdiction (a province's or a city's chain); the pack's own
    standards say which regions they cover.
    """
    require_fields(args, {"document"})
    require_role_in_region(context, (POLICY_ADMIN,), context.signer["region"])
    try:
        pack = parse_policy_pack(args["document"])
    except LedgerInputError as error:
        raise Rejection(ResultCode.INVALID_POLICY_PACK, str(error)) from None
    if context.state.get(get_pack_key(pack.version)) is not None:
        raise Rejection(ResultCode.POLICY_PACK_EXISTS, f"pack {pack.version} is already published")
    digest = compute_pack_digest(context.environment.suite, args["document"]).hex()
    context.state.put(get_pack_key(pack.version), {
        "digest": digest, "document": args["document"], "published_height": context.environment.height, "version": pack.version,
    })
    context.state.put(CURRENT_KEY, {"version": pack.version})


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "publish_pack": process_publish_pack,
}
"""The contract's actions by name."""

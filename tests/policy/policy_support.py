"""Shared builders for the policy tests: the shipped pack, local China times, household facts.

Times are built with the standard library's ``datetime`` (allowed in tests, forbidden in
``ledger``), so the ledger's integer date arithmetic is checked against an independent reference.
"""

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from reliefledger.ledger.policy import HouseholdFacts, PolicyPack, parse_policy_pack
from reliefledger.policy_files import get_default_policy_path, read_policy_pack

CHINA_TIME = timezone(timedelta(hours=8))

DEFAULT_DOCUMENT, DEFAULT_PACK = read_policy_pack(get_default_policy_path())
"""The shipped mainland pack, read once; never modify (use ``copy_default_document``)."""

BEIJING = "110000"
HAIDIAN = "110108"
CHAOYANG = "110105"
WANSHOULU = "110108001"
"""A street office of Haidian (illustrative township code)."""


def copy_default_document() -> dict[str, Any]:
    """A deep copy of the shipped pack document, safe to modify."""
    return copy.deepcopy(DEFAULT_DOCUMENT)


def build_pack(document: dict[str, Any]) -> PolicyPack:
    """Parse a modified pack document."""
    return parse_policy_pack(document)


def china_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Block time (UTC ms) of a China-time wall clock reading."""
    moment = datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TIME)
    return int(moment.timestamp()) * 1000


def make_facts(members: int = 3, *, deposits_fen: int = 0, vehicles: int = 0, properties: int = 0,
               business_registrations: int = 0, **income_fen: int) -> HouseholdFacts:
    """Household facts with the given income categories (fen per month) and modest assets."""
    return HouseholdFacts(
        members=members,
        monthly_income_fen=income_fen,
        deposits_fen=deposits_fen,
        vehicles=vehicles,
        properties_beyond_residence=properties,
        business_registrations=business_registrations,
    )

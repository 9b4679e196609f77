"""The discovery model's signals, defined once for the synthetic truth and for a deployment.

Active discovery looks at households that never applied, so nobody authorised a means test: the
agencies share for it only what an approved *discovery* sharing request allows, and never a figure
— each amount comes back as a bracket (``agency_answers``'s ``bracket`` form), and the signals are
computed from the brackets' lower edges. Household composition (ages, disability) comes from
civil affairs' own registry, every record read logged on the ledger with the purpose
``active_discovery``. ``compute_signals`` turns those per-person facts into the model's inputs;
``read_true_facts`` gives the same per-person facts from a synthetic household's truth, bracketed
exactly as the agencies bracket them, so the model is trained on precisely what a deployment sees
(``tests/analytics/test_discovery_signals.py`` checks the two paths agree household by household).
"""

import bisect
import datetime
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from reliefledger.sim.agency_records import TRUE_FIGURES
from reliefledger.sim.records import Household

MONTHLY_EDGES_FEN = (30_000, 60_000, 90_000, 120_000, 150_000, 200_000, 300_000, 500_000, 800_000, 1_500_000)
"""Brackets of a monthly amount: 300 to 15,000 yuan, finest around the dibao standard."""
MEDICAL_EDGES_FEN = (100_000, 500_000, 1_000_000, 3_000_000, 10_000_000)
"""Brackets of a year's medical bills: 1,000 to 100,000 yuan."""
ARREARS_EDGES_FEN = (1, 10_000, 50_000, 100_000)
"""Brackets of unpaid utility bills: any, 100, 500, 1,000 yuan."""
FUND_EDGES_FEN = (1, 1_000_000, 5_000_000, 20_000_000)
"""Brackets of a provident fund balance: any, 10,000, 50,000, 200,000 yuan."""
PRESENT_EDGES = (1,)
"""A count asked only as present or not."""

DISCOVERY_QUESTIONS: dict[str, dict[str, tuple[int, ...]]] = {
    "tax": {"wages_fen": MONTHLY_EDGES_FEN, "business_income_fen": MONTHLY_EDGES_FEN, "wages_last_year_fen": MONTHLY_EDGES_FEN},
    "human-resources": {"pension_fen": MONTHLY_EDGES_FEN, "unemployment_registrations": PRESENT_EDGES},
    "medical-security": {"medical_expenses_fen": MEDICAL_EDGES_FEN},
    "utilities": {"arrears_fen": ARREARS_EDGES_FEN},
    "housing-fund": {"provident_fund_fen": FUND_EDGES_FEN},
}
"""What active discovery asks each agency: per field, the bracket edges of its answer."""

SIGNALS: tuple[str, ...] = ("income_per_member", "income_drop", "unemployed_adults", "medical_bills", "disabled_members", "elderly_living_alone",
                            "utility_arrears", "elderly_members", "children", "members", "provident_fund")
"""The model's inputs, in order. Amounts enter as log(1 + yuan) of the brackets' lower edges."""
ELDERLY_AGE, ADULT_AGE = 65, 18
_ALL_QUESTIONS = tuple((name, edges) for questions in DISCOVERY_QUESTIONS.values() for name, edges in questions.items())


@dataclass(frozen=True)
class PersonFacts:
    """What discovery knows of one person: age and disability from the registry, and each agency
    field as its bracket's lower edge (fen or count; a field absent counts as 0)."""

    age: int
    disabled: bool
    floors: Mapping[str, int] = field(default_factory=dict)


def get_bracket(total: int, edges: Sequence[int]) -> int:
    """The bracket an agency answers for ``total``: how many edges are at most it."""
    return bisect.bisect_right(edges, total)


def get_floor(bracket: int, edges: Sequence[int]) -> int:
    """The lower edge of a bracket (0 for the first)."""
    return 0 if bracket == 0 else edges[bracket - 1]


def get_age(birth_date: datetime.date, as_of: datetime.date) -> int:
    """Completed years on ``as_of``."""
    return as_of.year - birth_date.year - ((as_of.month, as_of.day) < (birth_date.month, birth_date.day))


def compute_signals(persons: Sequence[PersonFacts]) -> list[float]:
    """A household's signals, in ``SIGNALS`` order, from its members' facts."""
    def total(name: str) -> int:
        return sum(person.floors.get(name, 0) for person in persons)

    def as_log(fen: int) -> float:
        return math.log1p(fen / 100)

    members = len(persons)
    income_fen = total("wages_fen") + total("business_income_fen") + total("pension_fen")
    drop_fen = sum(max(0, person.floors.get("wages_last_year_fen", 0) - person.floors.get("wages_fen", 0)) for person in persons)
    elderly = sum(1 for person in persons if person.age >= ELDERLY_AGE)
    return [
        as_log(income_fen // members), as_log(drop_fen), float(total("unemployment_registrations")), as_log(total("medical_expenses_fen")),
        float(sum(1 for person in persons if person.disabled)), float(members == 1 and elderly == 1), as_log(total("arrears_fen")),
        float(elderly), float(sum(1 for person in persons if person.age < ADULT_AGE)), float(members), as_log(total("provident_fund_fen")),
    ]


def read_true_facts(household: Household, as_of: datetime.date | None = None) -> list[PersonFacts]:
    """The members' facts from the synthetic truth, bracketed as the agencies answer them; ages on
    ``as_of`` (the population's own reference ages when None)."""
    facts = []
    for member in household.members:
        floors = {name: get_floor(get_bracket(TRUE_FIGURES[name](member.finances), edges), edges) for name, edges in _ALL_QUESTIONS}
        age = member.age if as_of is None else get_age(member.birth_date, as_of)
        facts.append(PersonFacts(age, bool(member.disability), floors))
    return facts

"""The records of a synthetic population: persons, their true finances, households, the population.

These are the ground truth a simulation checks against. Agencies never see them whole: each sees
only the rows ``agency_records`` derives from them, and the desk hears only what a household
declares. Every amount is an integer in fen (1/100 yuan); monthly unless its name says otherwise.
"""

import datetime
from dataclasses import dataclass, field
from typing import Iterator

INCOME_CATEGORIES = (
    "wages", "business", "property", "pensions", "family_support", "disability_allowance", "social_assistance",
)
"""Income category ids, exactly as in the shipped policy pack (``data/policy/cn-mainland-2026.toml``)."""

DECLARED_CATEGORIES = ("family_support", "disability_allowance", "social_assistance")
"""Income no agency table holds: the household declares it at the desk."""

ECONOMIC_PROFILES = ("low", "near", "above", "assets")
"""What a household was drawn to be: below the dibao line, near it, clearly above it, or low-income
with an asset that disqualifies it (a car, a second property, a business, or too much in the bank)."""

INJECTED_CASES = ("hidden_assets", "enrolled_twice", "deceased")
"""Known cases planted for later fraud checks (``injected_cases``)."""


@dataclass(frozen=True)
class Finances:
    """A person's true income, assets and auxiliary signals, split as the agencies record them."""

    wages_fen_by_employer: tuple[int, ...] = ()
    """Monthly wages from each employer (one tax row each); every entry is positive."""
    business_income_fen: int = 0
    """Monthly net business income (one tax row when positive)."""
    pension_fen: int = 0
    """Monthly pension (one social-insurance row when positive)."""
    family_support_fen: int = 0
    """Monthly support paid by relatives; counted, but only declared at the desk."""
    disability_allowance_fen: int = 0
    """Monthly disability living and care allowances; not counted, declared at the desk."""
    social_assistance_fen: int = 0
    """Monthly social assistance already received; not counted, declared at the desk."""
    deposits_fen_by_bank: tuple[int, ...] = ()
    """Balance at each bank (one bank row each); every entry is positive."""
    interest_fen_by_bank: tuple[int, ...] = ()
    """Monthly interest at each bank, aligned with ``deposits_fen_by_bank``; may be 0."""
    vehicles: int = 0
    """Vehicles registered to the person (one public-security row each)."""
    properties_beyond_residence: int = 0
    """Properties owned besides the residence (one natural-resources row each)."""
    business_registrations: int = 0
    """Businesses registered to the person (one market-regulation row each)."""
    medical_expenses_fen: int = 0
    """Medical expenses of the last year (auxiliary: a sign of rigid expenditure, not a means-test figure)."""
    provident_fund_fen: int = 0
    """Housing provident fund balance (auxiliary: a sign of formal employment)."""
    utility_arrears_fen: int = 0
    """Unpaid utility bills (auxiliary: a sign of hardship)."""
    wages_last_year_fen: int = 0
    """Monthly wages a year ago (auxiliary: a fall from it is an income drop)."""
    unemployment_registrations: int = 0
    """1 when the person is registered as unemployed with human resources (auxiliary)."""

    @property
    def wages_fen(self) -> int:
        """Monthly wages from all employers."""
        return sum(self.wages_fen_by_employer)

    @property
    def deposits_fen(self) -> int:
        """Deposits at all banks."""
        return sum(self.deposits_fen_by_bank)

    @property
    def property_income_fen(self) -> int:
        """Monthly interest at all banks: the only property income simulated."""
        return sum(self.interest_fen_by_bank)

    def get_monthly_income_fen(self) -> dict[str, int]:
        """Monthly income of every category in ``INCOME_CATEGORIES``, zeros included."""
        return {
            "wages": self.wages_fen,
            "business": self.business_income_fen,
            "property": self.property_income_fen,
            "pensions": self.pension_fen,
            "family_support": self.family_support_fen,
            "disability_allowance": self.disability_allowance_fen,
            "social_assistance": self.social_assistance_fen,
        }


@dataclass(frozen=True)
class Person:
    """One member of a household, with the truth about them."""

    id_number: str
    """18-character resident ID (GB 11643): county code, birth date, sequence of the gender's parity, check character."""
    name: str
    """Chinese name matching the gender."""
    relation: str
    """Relation to the head of household: 户主, 配偶, 子女, 孙子女 or 父母."""
    birth_date: datetime.date
    """The date in the ID number."""
    age: int
    """Whole years at the population's reference date."""
    gender: str
    """``male`` or ``female``; the ID number's 17th digit is odd for male."""
    disabled: bool
    """Holds a disability certificate."""
    employed: bool
    """Works (for wages, or in the person's own business)."""
    finances: Finances = field(default_factory=Finances)
    """True income, assets and auxiliary signals."""
    disability: str = ""
    """Kind and grade of disability, as the import file's ``disability`` column has it; empty when not disabled."""
    death_date: datetime.date | None = None
    """Set only for an injected ``deceased`` case: the person died but is still listed in the household."""
    duplicate_of: str | None = None
    """Set only for an injected ``enrolled_twice`` case: the number of a household in another township
    that also claims this person. The second enrolment itself is not materialised here (ID numbers
    stay unique in the population); a later simulation step creates it."""


@dataclass(frozen=True)
class Household:
    """A household: its number, where it lives, its members (the head first) and what it was drawn to be."""

    number: str
    """Household number (户号), ``HB-000001`` style, unique in the population."""
    township: str
    """Nine-digit township code; the members' ID numbers start with its county code ``township[:6]``."""
    address: str
    """Street address in the township."""
    members: tuple[Person, ...]
    """1 to 5 persons, the head (户主) first."""
    economic_profile: str
    """One of ``ECONOMIC_PROFILES``: what the household was drawn to be before any injected case."""
    injected_case: str | None = None
    """One of ``INJECTED_CASES`` when a known case was planted in this household."""

    @property
    def declared_income(self) -> dict[str, int]:
        """Monthly income of the ``DECLARED_CATEGORIES``, summed over members: what only the desk hears."""
        return {category: sum(member.finances.get_monthly_income_fen()[category] for member in self.members)
                for category in DECLARED_CATEGORIES}


@dataclass(frozen=True)
class Population:
    """Every household generated from one seed, as of one reference date."""

    seed: int
    """The seed that reproduces this population."""
    reference_date: datetime.date
    """The date ages are counted to (time is given, never read from a clock)."""
    households: tuple[Household, ...]
    """Households in number order."""

    def iterate_persons(self) -> Iterator[tuple[Household, Person]]:
        """Every person with their household, in household then member order."""
        for household in self.households:
            for member in household.members:
                yield household, member

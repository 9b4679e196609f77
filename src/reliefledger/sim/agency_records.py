"""The records each data-owning agency would hold about a population, and the facts a means test should find.

An agency knows a person only through its own rows: one per employer at the tax bureau, one per
account at the banks, one per vehicle at public security. A person's true figure is the sum of
their rows, and a person the agency knows nothing about has no row; an agency holds a row about a
person exactly when it has a non-zero figure about them. Income a household only declares at the
desk (``records.DECLARED_CATEGORIES``) is in no table.

``expected_facts`` computes from the truth, not from the tables, what a means test that sums every
agency's answers should find, so that comparing the two tests the tables and the means test alike.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from reliefledger.sim.records import INCOME_CATEGORIES, Finances, Household, Population

FIELD_TYPES = ("amount_fen", "count")
"""Types of an agency field, as the data catalogue names them."""

FEED_KINDS = ("income", "deposits", "vehicles", "properties_beyond_residence", "business_registrations")
"""What a field counts towards in a means test's facts (``node.means_test.FEED_KINDS``)."""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A table or field name safe to write into SQL unquoted (and a valid catalogue field name)."""

Row = Mapping[str, int]
"""One agency row: field name to figure (the ID number is the key it is filed under)."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of an agency resource, and what it feeds in a means test."""

    name: str
    """Column name."""
    type: str
    """``amount_fen`` or ``count``."""
    feed: str | None
    """One of ``FEED_KINDS``, or None for an auxiliary signal that the means test does not count."""
    income_category: str | None = None
    """The policy pack's income category, set exactly when ``feed`` is ``income``."""

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"field name {self.name!r} is not a lower-case SQL identifier")
        if self.type not in FIELD_TYPES or (self.feed is not None and self.feed not in FEED_KINDS):
            raise ValueError(f"field {self.name}: unknown type {self.type!r} or feed {self.feed!r}")
        if (self.feed == "income") != (self.income_category is not None) or (
                self.income_category is not None and self.income_category not in INCOME_CATEGORIES):
            raise ValueError(f"field {self.name}: an income category is named exactly when the field feeds income")


@dataclass(frozen=True)
class AgencyResource:
    """The one resource an agency shares in the simulation: its catalogue id, table and fields."""

    agency: str
    """The agency's organisation id."""
    resource_id: str
    """Catalogue id of the resource, ``agency.noun``."""
    table: str
    """Table (and CSV file) name, safe to write into SQL."""
    fields: tuple[FieldSpec, ...]
    """Columns besides ``id_number``."""

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.table):
            raise ValueError(f"table name {self.table!r} is not a lower-case SQL identifier")

    @property
    def field_names(self) -> tuple[str, ...]:
        """Column names besides ``id_number``, in order."""
        return tuple(spec.name for spec in self.fields)


@dataclass(frozen=True)
class AgencyTable:
    """The rows one agency holds, filed by ID number."""

    resource: AgencyResource
    """What the rows are."""
    rows_by_id_number: Mapping[str, tuple[Row, ...]] = field(default_factory=dict)
    """Each known person's rows; a person the agency does not know is absent."""

    def get_rows(self, id_number: str) -> tuple[Row, ...]:
        """The person's rows (none when the agency does not know them)."""
        return self.rows_by_id_number.get(id_number, ())

    def list_rows(self) -> list[dict[str, Any]]:
        """Every row with its ``id_number`` first, as a file or database table holds them."""
        return [{"id_number": id_number, **row} for id_number, rows in self.rows_by_id_number.items() for row in rows]


def _amount(name: str, feed: str | None = None, income_category: str | None = None) -> FieldSpec:
    return FieldSpec(name, "amount_fen", feed, income_category)


def _count(name: str, feed: str) -> FieldSpec:
    return FieldSpec(name, "count", feed)


AGENCY_RESOURCES: dict[str, AgencyResource] = {resource.agency: resource for resource in (
    AgencyResource("tax", "tax.income", "tax_income",
                   (_amount("wages_fen", "income", "wages"), _amount("business_income_fen", "income", "business"), _amount("wages_last_year_fen"))),
    AgencyResource("human-resources", "human-resources.pension", "social_insurance_pension",
                   (_amount("pension_fen", "income", "pensions"), FieldSpec("unemployment_registrations", "count", None))),
    AgencyResource("natural-resources", "natural-resources.property", "real_estate_registration",
                   (_count("properties", "properties_beyond_residence"),)),
    AgencyResource("public-security", "public-security.vehicle", "vehicle_registration", (_count("vehicles", "vehicles"),)),
    AgencyResource("market-regulation", "market-regulation.business", "business_registration",
                   (_count("business_registrations", "business_registrations"),)),
    AgencyResource("housing-fund", "housing-fund.provident-fund", "housing_provident_fund", (_amount("provident_fund_fen"),)),
    AgencyResource("operator-bank", "operator-bank.deposits", "bank_deposits",
                   (_amount("deposits_fen", "deposits"), _amount("interest_fen", "income", "property"))),
    AgencyResource("medical-security", "medical-security.expenses", "medical_expenses", (_amount("medical_expenses_fen"),)),
    AgencyResource("utilities", "utilities.arrears", "utility_arrears", (_amount("arrears_fen"),)),
)}
"""The nine data-owning agencies' resources, by agency. Monthly amounts, except ``medical_expenses_fen``
(last year) and the balances ``deposits_fen`` and ``provident_fund_fen``."""

TRUE_FIGURES: dict[str, Callable[[Finances], int]] = {
    "wages_fen": lambda finances: finances.wages_fen,
    "business_income_fen": lambda finances: finances.business_income_fen,
    "pension_fen": lambda finances: finances.pension_fen,
    "properties": lambda finances: finances.properties_beyond_residence,
    "vehicles": lambda finances: finances.vehicles,
    "business_registrations": lambda finances: finances.business_registrations,
    "provident_fund_fen": lambda finances: finances.provident_fund_fen,
    "deposits_fen": lambda finances: finances.deposits_fen,
    "interest_fen": lambda finances: finances.property_income_fen,
    "medical_expenses_fen": lambda finances: finances.medical_expenses_fen,
    "arrears_fen": lambda finances: finances.utility_arrears_fen,
    "wages_last_year_fen": lambda finances: finances.wages_last_year_fen,
    "unemployment_registrations": lambda finances: finances.unemployment_registrations,
}
"""A person's true figure of each agency field: what the sum of their rows must equal."""


def _single(name: str, value: int) -> list[dict[str, int]]:
    return [{name: value}] if value else []


ROW_BUILDERS: dict[str, Callable[[Finances], list[dict[str, int]]]] = {
    "tax": lambda finances: [{"wages_fen": wages, "business_income_fen": 0, "wages_last_year_fen": 0} for wages in finances.wages_fen_by_employer]
    + ([{"wages_fen": 0, "business_income_fen": finances.business_income_fen, "wages_last_year_fen": 0}] if finances.business_income_fen else [])
    + ([{"wages_fen": 0, "business_income_fen": 0, "wages_last_year_fen": finances.wages_last_year_fen}] if finances.wages_last_year_fen else []),
    "human-resources": lambda finances: ([{"pension_fen": finances.pension_fen, "unemployment_registrations": 0}] if finances.pension_fen else [])
    + ([{"pension_fen": 0, "unemployment_registrations": 1}] if finances.unemployment_registrations else []),
    "natural-resources": lambda finances: [{"properties": 1}] * finances.properties_beyond_residence,
    "public-security": lambda finances: [{"vehicles": 1}] * finances.vehicles,
    "market-regulation": lambda finances: [{"business_registrations": 1}] * finances.business_registrations,
    "housing-fund": lambda finances: _single("provident_fund_fen", finances.provident_fund_fen),
    "operator-bank": lambda finances: [{"deposits_fen": deposits, "interest_fen": interest} for deposits, interest
                                       in zip(finances.deposits_fen_by_bank, finances.interest_fen_by_bank, strict=True)],
    "medical-security": lambda finances: _single("medical_expenses_fen", finances.medical_expenses_fen),
    "utilities": lambda finances: _single("arrears_fen", finances.utility_arrears_fen),
}
"""How each agency files a person's finances: one row per employer, account, vehicle, property, business."""


def build_agency_tables(population: Population) -> dict[str, AgencyTable]:
    """Every agency's rows about the population, by agency (the keys of ``AGENCY_RESOURCES``)."""
    tables = {}
    for agency, resource in AGENCY_RESOURCES.items():
        build = ROW_BUILDERS[agency]
        rows_by_id_number = {}
        for _, person in population.iterate_persons():
            rows = build(person.finances)
            if rows:
                rows_by_id_number[person.id_number] = tuple(rows)
        tables[agency] = AgencyTable(resource, rows_by_id_number)
    return tables


def expected_facts(household: Household, resources: Mapping[str, AgencyResource] = AGENCY_RESOURCES) -> dict[str, Any]:
    """The facts a means test asking ``resources`` about every member should compute, from the truth.

    Fed figures are summed over members; an income category appears when at least one member is
    known to an agency with a field feeding it (even if the total is 0). Declared income is not here.
    """
    facts: dict[str, Any] = {"business_registrations": 0, "deposits_fen": 0, "members": len(household.members),
                             "monthly_income_fen": {}, "properties_beyond_residence": 0, "vehicles": 0}
    income: dict[str, int] = {}
    for resource in resources.values():
        unknown = [spec.name for spec in resource.fields if spec.name not in TRUE_FIGURES]
        if unknown:
            raise ValueError(f"{resource.resource_id}: no true figure for {', '.join(unknown)}")
        figures = [{spec.name: TRUE_FIGURES[spec.name](member.finances) for spec in resource.fields} for member in household.members]
        known = [entry for entry in figures if any(entry.values())]
        for spec in resource.fields:
            total = sum(entry[spec.name] for entry in known)
            if spec.feed == "income" and spec.income_category is not None and known:
                income[spec.income_category] = income.get(spec.income_category, 0) + total
            elif spec.feed is not None and spec.feed != "income":
                facts["deposits_fen" if spec.feed == "deposits" else spec.feed] += total
    facts["monthly_income_fen"] = dict(sorted(income.items()))
    return facts

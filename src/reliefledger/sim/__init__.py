"""Simulation: a seeded synthetic population, the records each agency would hold about it, and the truth.

Everything is deterministic for a seed, so a scenario that fails can be replayed from the seed it
prints. The simulation sits above the node: it may drive the node, never the other way round.
"""

from reliefledger.sim.agency_records import (
    AGENCY_RESOURCES,
    AgencyResource,
    AgencyTable,
    FieldSpec,
    build_agency_tables,
    expected_facts,
)
from reliefledger.sim.population import DEFAULT_TOWNSHIPS, REFERENCE_DATE, generate_population
from reliefledger.sim.records import INCOME_CATEGORIES, INJECTED_CASES, Finances, Household, Person, Population
from reliefledger.sim.writers import IMPORT_COLUMNS, write_csv, write_import_csv, write_sqlite

__all__ = [
    "AGENCY_RESOURCES",
    "AgencyResource",
    "AgencyTable",
    "DEFAULT_TOWNSHIPS",
    "FieldSpec",
    "Finances",
    "Household",
    "IMPORT_COLUMNS",
    "INCOME_CATEGORIES",
    "INJECTED_CASES",
    "Person",
    "Population",
    "REFERENCE_DATE",
    "build_agency_tables",
    "expected_facts",
    "generate_population",
    "write_csv",
    "write_import_csv",
    "write_sqlite",
]

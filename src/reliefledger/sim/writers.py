"""Writing a simulated population out: agency tables as SQLite or CSV, households as an import file.

The files are what the node's adapters and importer read (``node.agency_sources`` and
``node.household_import``), so a simulation can drive the real code paths end to end.
"""

import csv
import sqlite3
from pathlib import Path
from typing import Mapping

from reliefledger.sim.agency_records import AgencyTable
from reliefledger.sim.records import Population

IDENTIFIER_COLUMN = "id_number"
"""The column every agency table is keyed by (``node.agency_sources.IDENTIFIER_COLUMN``)."""

IMPORT_COLUMNS = ("household_number", "region", "address", "id_number", "name", "relation", "birth_date", "disability")
"""Columns of the household import file: the importer's required columns, then its optional ones (``docs/import.md``)."""


def write_sqlite(tables: Mapping[str, AgencyTable], path: Path) -> None:
    """One SQLite table per resource (``id_number TEXT`` and INTEGER fields, indexed by ID number), in one transaction.

    ``path`` must not exist yet: an agency database is written whole or not at all.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        for table in tables.values():
            _write_sqlite_table(connection, table)
        connection.execute("COMMIT")
    except BaseException:
        connection.close()
        path.unlink(missing_ok=True)
        raise
    connection.close()


def _write_sqlite_table(connection: sqlite3.Connection, table: AgencyTable) -> None:
    """Table and field names come from ``AgencyResource``, which admits only SQL-safe names."""
    name, fields = table.resource.table, table.resource.field_names
    columns = ", ".join([f"{IDENTIFIER_COLUMN} TEXT NOT NULL", *(f"{field} INTEGER NOT NULL" for field in fields)])
    connection.execute(f"CREATE TABLE {name} ({columns})")
    connection.execute(f"CREATE INDEX {name}_{IDENTIFIER_COLUMN} ON {name} ({IDENTIFIER_COLUMN})")
    placeholders = ", ".join("?" * (1 + len(fields)))
    connection.executemany(f"INSERT INTO {name} VALUES ({placeholders})",
                           ((id_number, *(row[field] for field in fields))
                            for id_number, rows in table.rows_by_id_number.items() for row in rows))


def write_csv(tables: Mapping[str, AgencyTable], folder: Path) -> dict[str, Path]:
    """One UTF-8 CSV file per resource, ``<table>.csv`` with header ``id_number,<fields>``; answers each agency's file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for agency, table in tables.items():
        path = folder / f"{table.resource.table}.csv"
        fields = table.resource.field_names
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow((IDENTIFIER_COLUMN, *fields))
            writer.writerows((id_number, *(row[field] for field in fields))
                             for id_number, rows in table.rows_by_id_number.items() for row in rows)
        paths[agency] = path
    return paths


def write_import_csv(population: Population, path: Path) -> None:
    """The household import file: one row per person, the head first, in ``IMPORT_COLUMNS``.

    Written with a byte-order mark, as Excel writes "CSV UTF-8", so that a person who opens it in
    Excel sees the Chinese text; the importer reads it with or without one.
    """
    with open(Path(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_COLUMNS)
        for household, person in population.iterate_persons():
            writer.writerow((household.number, household.township, household.address, person.id_number, person.name,
                             person.relation, person.birth_date.isoformat(), person.disability))

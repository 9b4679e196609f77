"""Agency data sources: where a data-owning agency's node reads the figures it is asked about.

Each agency keeps its own data in its own system; the node answers means-test queries from it
through an adapter. Queries name persons by pseudonym (the keyed hash under the network key that
every agency of the network holds), so an adapter indexes its rows by the pseudonym of their ID
number once, when it opens, and never needs an ID number in a query.

Adapters: ``CsvSource`` (an export file), ``SqliteSource`` (a table in an SQLite file),
``PostgresSource`` (a table in the agency's PostgreSQL database, what agencies really run) and
``MemorySource`` (the in-memory twin for tests).
"""

import csv
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.pseudonyms import compute_person_pseudonym, is_valid_resident_id
from reliefledger.ledger.suites import Suite

IDENTIFIER_COLUMN = "id_number"
"""The column every source keys its rows by."""
FETCH_CHUNK = 500
"""ID numbers per database query (SQLite allows 32,766 parameters; smaller keeps statements cheap)."""


class SourceError(LedgerInputError):
    """A source that cannot be opened or read."""

    code = "source_unavailable"
    status = 503


class AgencySource(Protocol):
    """Rows of one agency resource, by person."""

    def get_rows(self, person: str) -> list[dict[str, Any]]:
        """Every row about the person with this pseudonym (empty when the agency has none)."""
        ...

    def get_rows_many(self, persons: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows of many persons at once (one round trip for a database): a batch's answers."""
        ...


class IndexedSource:
    """Rows held in memory, indexed by pseudonym when the source opens."""

    _rows: dict[str, list[dict[str, Any]]]

    def get_rows(self, person: str) -> list[dict[str, Any]]:
        """The person's rows."""
        return list(self._rows.get(person, ()))

    def get_rows_many(self, persons: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows of each person who has any."""
        return {person: list(self._rows[person]) for person in persons if person in self._rows}


class MemorySource(IndexedSource):
    """Rows given in memory, keyed by ID number: the twin of the real adapters."""

    def __init__(self, rows: list[dict[str, Any]], *, suite: Suite, network_key: bytes) -> None:
        self._rows = index_rows(rows, suite=suite, network_key=network_key)


class CsvSource(IndexedSource):
    """An agency's export file (UTF-8 CSV with a header and an ``id_number`` column)."""

    def __init__(self, path: Path, *, suite: Suite, network_key: bytes, integer_columns: tuple[str, ...] = ()) -> None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames is None or IDENTIFIER_COLUMN not in reader.fieldnames:
                    raise SourceError(f"{path}: the header has no {IDENTIFIER_COLUMN} column")
                rows = [_convert_integers(row, integer_columns, f"{path} row {number}") for number, row in enumerate(reader, start=2)]
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise SourceError(f"{path} cannot be read: {error}") from None
        self._rows = index_rows(rows, suite=suite, network_key=network_key)


class DatabaseSource:
    """A table queried by ID number on demand; subclasses say how to fetch one person's rows."""

    _identifiers: dict[str, str]
    """Pseudonym to ID number, built once when the source opens (``index_identifiers``)."""

    def get_rows(self, person: str) -> list[dict[str, Any]]:
        """The person's rows, read now (the table may change between queries)."""
        identifier = self._identifiers.get(person)
        return [] if identifier is None else self._fetch([identifier])

    def get_rows_many(self, persons: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows of each person who has any, fetched in a few queries (``FETCH_CHUNK`` ID numbers each)."""
        persons_by_identifier = {self._identifiers[person]: person for person in persons if person in self._identifiers}
        identifiers = sorted(persons_by_identifier)
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(identifiers), FETCH_CHUNK):
            for row in self._fetch(identifiers[start:start + FETCH_CHUNK]):
                found.setdefault(persons_by_identifier[row[IDENTIFIER_COLUMN]], []).append(row)
        return found

    def _fetch(self, identifiers: list[str]) -> list[dict[str, Any]]:
        """Every row whose ID number is one of ``identifiers``."""
        raise NotImplementedError


class SqliteSource(DatabaseSource):
    """A table in an agency's SQLite database, read-only; rows are fetched by ID number on demand."""

    def __init__(self, path: Path, *, table: str, suite: Suite, network_key: bytes) -> None:
        if not table.isidentifier():
            raise SourceError(f"table name {table!r} is not an identifier")
        try:
            self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._connection.row_factory = sqlite3.Row
            identifiers = [row[0] for row in self._connection.execute(f"SELECT DISTINCT {IDENTIFIER_COLUMN} FROM {table}")]
        except sqlite3.Error as error:
            raise SourceError(f"{path}: cannot read table {table}: {error}") from None
        self._table = table
        self._identifiers = index_identifiers(identifiers, suite=suite, network_key=network_key)

    def _fetch(self, identifiers: list[str]) -> list[dict[str, Any]]:
        try:
            query = f"SELECT * FROM {self._table} WHERE {IDENTIFIER_COLUMN} IN ({', '.join('?' * len(identifiers))})"
            return [dict(row) for row in self._connection.execute(query, identifiers)]
        except sqlite3.Error as error:
            raise SourceError(f"the {self._table} table cannot be read: {error}") from None

    def close(self) -> None:
        """Close the database."""
        self._connection.close()


class PostgresSource(DatabaseSource):
    """A table in an agency's PostgreSQL database, read by ID number on demand (psycopg 3)."""

    def __init__(self, conninfo: str, *, table: str, suite: Suite, network_key: bytes) -> None:
        import psycopg
        from psycopg import sql
        from psycopg.rows import dict_row

        self._query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s)").format(sql.Identifier(table), sql.Identifier(IDENTIFIER_COLUMN))
        try:
            self._connection = psycopg.connect(conninfo, row_factory=dict_row, autocommit=True)
            listing = sql.SQL("SELECT DISTINCT {} FROM {}").format(sql.Identifier(IDENTIFIER_COLUMN), sql.Identifier(table))
            identifiers = [row[IDENTIFIER_COLUMN] for row in self._connection.execute(listing)]
        except psycopg.Error as error:
            raise SourceError(f"PostgreSQL table {table} cannot be read: {error}".strip()) from None
        self._error = psycopg.Error
        self._table = table
        self._identifiers = index_identifiers(identifiers, suite=suite, network_key=network_key)

    def _fetch(self, identifiers: list[str]) -> list[dict[str, Any]]:
        try:
            return [dict(row) for row in self._connection.execute(self._query, (identifiers,))]
        except self._error as error:
            raise SourceError(f"the {self._table} table cannot be read: {error}") from None

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def index_identifiers(identifiers: list[Any], *, suite: Suite, network_key: bytes) -> dict[str, str]:
    """Pseudonym to ID number, for the valid ID numbers among ``identifiers``: what lets a database
    source be asked by pseudonym and still query its table by ID number."""
    return {compute_person_pseudonym(suite, network_key, identifier): identifier
            for identifier in identifiers if isinstance(identifier, str) and is_valid_resident_id(identifier)}


def index_rows(rows: list[dict[str, Any]], *, suite: Suite, network_key: bytes) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by the pseudonym of their ID number; rows without a valid ID are not indexable."""
    index: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        identifier = row.get(IDENTIFIER_COLUMN)
        if isinstance(identifier, str) and is_valid_resident_id(identifier):
            index.setdefault(compute_person_pseudonym(suite, network_key, identifier), []).append(row)
    return index


def _convert_integers(row: dict[str, Any], columns: tuple[str, ...], where: str) -> dict[str, Any]:
    converted = dict(row)
    for column in columns:
        text = (row.get(column) or "").strip()
        if not text.lstrip("-").isdigit():
            raise SourceError(f"{where}: {column} is not an integer")
        converted[column] = int(text)
    return converted

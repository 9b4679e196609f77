"""The two configuration files of the cross-agency means test, kept in the chain directory.

``agencies.toml`` — the agencies a process answers for (``reliefledger agency DIR``), each with
its source. Paths are relative to the file::

    [[agencies]]
    id = "tax"                 # the organisation; its key is keys/<id>.key
    source = "sqlite"          # csv | sqlite | postgres
    path = "agencies.sqlite"   # csv and sqlite
    table = "tax_income"       # sqlite and postgres
    conninfo = "host=... dbname=..."   # postgres
    integer_columns = ["wages_fen"]    # csv: columns read as integers

``means-test.toml`` — what the desk asks (``POST /v1/cases/{id}/means-test``): per agency, the
approved sharing request it relies on, where the agency answers, and where each field feeds::

    [[agencies]]
    id = "tax"
    request_id = "req.tax"
    url = "http://127.0.0.1:8100"      # the agency's service (reliefledger agency)
    feeds = { wages_fen = "income:wages", business_income_fen = "income:business" }

A feed is ``income:<category of the policy pack>``, ``deposits``, ``vehicles``,
``properties_beyond_residence``, ``business_registrations`` or ``signal`` (asked and recorded, but
counted towards nothing: medical expenses, utility arrears).
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite
from reliefledger.node.agency_sources import AgencySource, CsvSource, PostgresSource, SqliteSource
from reliefledger.node.means_test import FEED_KINDS, AgencyPlan, Feed

AGENCIES_FILE = "agencies.toml"
MEANS_TEST_FILE = "means-test.toml"


class ConfigurationError(LedgerInputError):
    """A configuration file that cannot be used, with the place and the reason."""

    code = "invalid_configuration"


@dataclass(frozen=True)
class PlannedAgency:
    """One agency of the desk's means-test plan and where it answers."""

    plan: AgencyPlan
    url: str


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file, or ``ConfigurationError`` naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"{path} cannot be read: {error}") from None


def open_agency_sources(path: Path, *, suite: Suite, network_key: bytes) -> dict[str, AgencySource]:
    """The sources of every agency in an ``agencies.toml``."""
    entries = _require_entries(read_toml(path), path)
    sources: dict[str, AgencySource] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path} agencies[{number}]"
        agency = _require_text(entry, "id", where)
        kind = entry.get("source")
        if kind in ("csv", "sqlite"):
            file = path.parent / _require_text(entry, "path", where)
            if kind == "csv":
                columns = entry.get("integer_columns", [])
                if type(columns) is not list or not all(type(column) is str for column in columns):
                    raise ConfigurationError(f"{where}: integer_columns lists column names")
                sources[agency] = CsvSource(file, suite=suite, network_key=network_key, integer_columns=tuple(columns))
            else:
                sources[agency] = SqliteSource(file, table=_require_text(entry, "table", where), suite=suite, network_key=network_key)
        elif kind == "postgres":
            sources[agency] = PostgresSource(_require_text(entry, "conninfo", where), table=_require_text(entry, "table", where), suite=suite,
                                             network_key=network_key)
        else:
            raise ConfigurationError(f"{where}: source is csv, sqlite or postgres, not {kind!r}")
    return sources


def read_means_test_plan(path: Path) -> list[PlannedAgency]:
    """The desk's plan from a ``means-test.toml``."""
    planned = []
    for number, entry in enumerate(_require_entries(read_toml(path), path), start=1):
        where = f"{path} agencies[{number}]"
        feeds = entry.get("feeds")
        if type(feeds) is not dict or not feeds:
            raise ConfigurationError(f"{where}: feeds maps each field asked to where it counts")
        plan = AgencyPlan(_require_text(entry, "id", where), _require_text(entry, "request_id", where),
                          {name: parse_feed(value, f"{where} feeds.{name}") for name, value in feeds.items()})
        planned.append(PlannedAgency(plan, _require_text(entry, "url", where)))
    if len({item.plan.agency for item in planned}) != len(planned):
        raise ConfigurationError(f"{path}: an agency is listed twice")
    return planned


def parse_feed(value: Any, where: str) -> Feed:
    """``income:<category>`` or an asset kind."""
    if type(value) is str and value.startswith("income:") and len(value) > len("income:"):
        return Feed("income", value.removeprefix("income:"))
    if value in FEED_KINDS and value != "income":
        return Feed(value)
    raise ConfigurationError(f"{where}: {value!r} is not income:<category>, deposits, vehicles, properties_beyond_residence, business_registrations or signal")


def _require_entries(document: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    entries = document.get("agencies")
    if type(entries) is not list or not entries or not all(type(entry) is dict for entry in entries):
        raise ConfigurationError(f"{path}: list the agencies as [[agencies]] tables")
    return entries


def _require_text(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if type(value) is not str or not value:
        raise ConfigurationError(f"{where}: {name} is required (text)")
    return value

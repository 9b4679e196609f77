"""``reliefledger analytics``: export the ledger's projections to Parquet, ask the named questions
with DuckDB, compact a table. Read-only on the chain: the node may be running. The heavy libraries
(pyarrow, DuckDB) are imported by the commands that use them, so other commands start fast."""

import csv
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.directory import ChainDirectory

analytics_app = typer.Typer(help="The analytics store: Parquet projections of the ledger queried with DuckDB.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
ANALYTICS_FOLDER = "analytics"
"""Where the store goes by default: ``DIR/analytics``."""


def fail(message: str) -> None:
    """An error for a person, and a non-zero exit (never a traceback)."""
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def get_folder(directory: Path, out: Optional[Path]) -> Path:
    return out if out is not None else directory / ANALYTICS_FOLDER


@analytics_app.command("export")
def export_command(directory: Path = typer.Argument(..., help="Chain folder (read-only: the node may be running)"),
                   out: Optional[Path] = typer.Option(None, help="Analytics folder (default: DIR/analytics)")) -> None:
    """Export what changed on the ledger since the last export (the first export takes everything)."""
    from reliefledger.analytics.export import AnalyticsError, export_projections

    chain = ChainDirectory(directory)
    try:
        chain.read_genesis()
        report = export_projections(chain.store_path, get_folder(directory, out),
                                    progress=lambda table, rows: errors.print(f"  {table}: {rows} rows"))
    except (AnalyticsError, LedgerInputError, OSError) as error:
        fail(str(error))
    if report.from_height == report.to_height:
        console.print(f"nothing new: exported up to height {report.to_height}")
        return
    console.print(f"[green]exported[/] heights {report.from_height + 1}–{report.to_height}: "
                  + ", ".join(f"{table} {rows}" for table, rows in report.rows.items()))


@analytics_app.command("query")
def query_command(directory: Path = typer.Argument(..., help="Chain folder"),
                  name: str = typer.Argument(..., help="coverage, flows, timeliness, agencies or escalations"),
                  out: Optional[Path] = typer.Option(None, help="Analytics folder (default: DIR/analytics)"),
                  file_format: str = typer.Option("table", "--format", help="table, json or csv (to standard output)")) -> None:
    """Ask one of the named questions of the exported store."""
    from reliefledger.analytics.export import AnalyticsError
    from reliefledger.analytics.queries import open_analytics, run_query

    if file_format not in ("table", "json", "csv"):
        fail("--format is table, json or csv")
    try:
        connection = open_analytics(get_folder(directory, out))
        try:
            columns, rows = run_query(connection, name)
        finally:
            connection.close()
    except AnalyticsError as error:
        fail(str(error))
    if file_format == "json":
        sys.stdout.write(json.dumps([dict(zip(columns, row)) for row in rows], ensure_ascii=False, default=str) + "\n")
    elif file_format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*["" if value is None else str(value) for value in row])
        console.print(table)


@analytics_app.command("compact")
def compact_command(directory: Path = typer.Argument(..., help="Chain folder"), table: str = typer.Argument(..., help="The table to compact, e.g. transfers"),
                    out: Optional[Path] = typer.Option(None, help="Analytics folder (default: DIR/analytics)")) -> None:
    """Fold a table's parts into one (the newest row of every record): faster queries."""
    from reliefledger.analytics.export import AnalyticsError, compact

    try:
        kept = compact(get_folder(directory, out), table)
    except (AnalyticsError, OSError) as error:
        fail(str(error))
    console.print(f"[green]compacted[/] {table}: {kept} rows in one part")

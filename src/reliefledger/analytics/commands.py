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
    import duckdb

    try:
        connection = open_analytics(get_folder(directory, out))
        try:
            columns, rows = run_query(connection, name)
        finally:
            connection.close()
    except AnalyticsError as error:
        fail(str(error))
    except duckdb.Error as error:
        fail(f"the analytics store cannot be read ({error}); delete the folder and export again")
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

    import duckdb

    try:
        kept = compact(get_folder(directory, out), table)
    except (AnalyticsError, OSError, duckdb.Error) as error:
        fail(str(error))
    console.print(f"[green]compacted[/] {table}: {kept} rows in one part")


def _read_alerts(directory: Path, out: Optional[Path]) -> list:
    from reliefledger.analytics.checks import run_checks
    from reliefledger.analytics.export import AnalyticsError
    from reliefledger.analytics.queries import open_analytics

    import duckdb

    try:
        connection = open_analytics(get_folder(directory, out))
    except AnalyticsError as error:
        fail(str(error))
    try:
        return run_checks(connection)
    except duckdb.Error as error:
        fail(f"the analytics store cannot be read ({error}); delete the folder and export again")
    finally:
        connection.close()


@analytics_app.command("alerts")
def alerts_command(directory: Path = typer.Argument(..., help="Chain folder"),
                   out: Optional[Path] = typer.Option(None, help="Analytics folder (default: DIR/analytics)"),
                   file_format: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Run every anomaly check over the exported store and print the alerts with their evidence."""
    if file_format not in ("table", "json"):
        fail("--format is table or json")
    alerts = _read_alerts(directory, out)
    if file_format == "json":
        sys.stdout.write(json.dumps([alert.to_json() for alert in alerts], ensure_ascii=False) + "\n")
        return
    table = Table("alert", "check", "subject", "region", "weight", "evidence")
    for alert in alerts:
        table.add_row(alert.alert_id, alert.check, alert.subject, alert.region, str(alert.weight), ", ".join(alert.evidence[:3]) + (" …" if len(alert.evidence) > 3 else ""))
    console.print(table)
    console.print(f"{len(alerts)} alerts; none decides anything: `analytics file-alerts` opens a task for a person per alert")


@analytics_app.command("file-alerts")
def file_alerts_command(directory: Path = typer.Argument(..., help="Chain folder"),
                        model_id: str = typer.Option(..., help="The rule set in service on the ledger that raised the alerts"),
                        token: str = typer.Option(..., "--token", envvar="RELIEFLEDGER_TOKEN", help="An analyst's API token (or set RELIEFLEDGER_TOKEN)"),
                        node_url: Optional[str] = typer.Option(None, "--node", help="Node address (default: http://127.0.0.1:8000)"),
                        region: str = typer.Option("110000", help="Region for an alert whose subject has none"),
                        out: Optional[Path] = typer.Option(None, help="Analytics folder (default: DIR/analytics)")) -> None:
    """File each alert once as a report in a person's queue (through the desk API, channel analytics)."""
    import httpx

    from reliefledger.analytics.alerts import ALERT_CATEGORY

    alerts = _read_alerts(directory, out)
    counts = {"filed": 0, "already_filed": 0, "refused": 0}
    try:
        with httpx.Client(base_url=node_url or "http://127.0.0.1:8000", timeout=60, headers={"authorization": f"Bearer {token}"}) as client:
            for alert in alerts:
                response = client.post("/v1/reports", json={"region": alert.region or region, "category": ALERT_CATEGORY, "urgency": "normal",
                                                            "description": {"alert": alert.to_json(), "model_id": model_id}, "channel": "analytics",
                                                            "model_id": model_id, "alert_id": alert.alert_id})
                try:
                    answer = response.json()
                except ValueError:
                    answer = {"code": "not_json", "message": response.text[:200]}
                if response.status_code < 300:
                    counts["filed"] += 1
                elif answer.get("code") == "report_exists":
                    counts["already_filed"] += 1
                else:
                    counts["refused"] += 1
                    errors.print(f"{alert.alert_id}: {answer.get('code')}: {answer.get('message')} (HTTP {response.status_code})")
    except httpx.HTTPError as error:
        fail(f"cannot reach the node: {error}")
    console.print(f"alerts filed {counts['filed']}, already filed {counts['already_filed']}, refused {counts['refused']}")
    if counts["refused"]:
        raise typer.Exit(1)


@analytics_app.command("discovery-evaluate")
def discovery_evaluate_command(train_seed: int = typer.Option(101, help="Seed of the synthetic population the model is trained on"),
                               test_seed: int = typer.Option(202, help="Seed of the held-out population it is evaluated on"),
                               households: int = typer.Option(20_000, help="Households in each population"),
                               as_json: bool = typer.Option(False, "--json", help="Print only the JSON figures")) -> None:
    """Train the discovery model on one synthetic population and evaluate it on another (ground truth)."""
    from reliefledger.analytics.discovery import build_matrix, evaluate, is_in_hardship, train
    from reliefledger.policy_files import get_default_policy_path, read_policy_pack
    from reliefledger.sim.population import HOUSEHOLDS_MAX, generate_population

    if not 100 <= households <= HOUSEHOLDS_MAX or train_seed == test_seed:
        fail(f"--households is 100 to {HOUSEHOLDS_MAX:,} and the two seeds differ")
    import numpy

    _, pack = read_policy_pack(get_default_policy_path())
    time_ms = 1_769_904_000_000
    data = []
    for seed in (train_seed, test_seed):
        with console.status(f"population {seed}: {households} households, signals and truth"):
            population = generate_population(seed=seed, households=households)
            data.append((population.households, build_matrix(population.households),
                         numpy.array([is_in_hardship(household, pack, time_ms) for household in population.households])))
    (_, matrix, labels), (held_out, test_matrix, truth) = data
    model = train(matrix, labels)
    figures = {"train_seed": train_seed, "test_seed": test_seed, "training_digest": model.training_digest, "parameters_digest": model.parameters_digest,
               **evaluate(model, test_matrix, truth, [household.township[:6] for household in held_out])}
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
    else:
        console.print_json(data=figures)

"""``reliefledger sim``: write a synthetic population of any size up to a million households to
files — the household import file, every agency's records and the ground truth of its injected
cases — without a ledger: what the analytics and the import are tried on at scale."""

import json
import time
from pathlib import Path

import typer
from rich.console import Console

sim_app = typer.Typer(help="Synthetic populations: households, the agencies' records, the ground truth.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@sim_app.command("population")
def population_command(out: Path = typer.Argument(..., help="A new folder for the files"),
                       households: int = typer.Option(10_000, help="Households (1 to 1,000,000)"),
                       seed: int = typer.Option(2026, help="The seed: the same seed gives the same population")) -> None:
    """Generate a population and write households.csv, agencies.sqlite and ground-truth.json."""
    from reliefledger.sim.agency_records import build_agency_tables
    from reliefledger.sim.population import HOUSEHOLDS_MAX, generate_population
    from reliefledger.sim.writers import write_import_csv, write_sqlite

    if not 1 <= households <= HOUSEHOLDS_MAX:
        errors.print(f"[bold red]error:[/] --households is 1 to {HOUSEHOLDS_MAX:,}")
        raise typer.Exit(1)
    if out.exists() and any(out.iterdir()):
        errors.print(f"[bold red]error:[/] {out} is not empty: the files are written whole into a new folder")
        raise typer.Exit(1)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with console.status(f"generating {households:,} households (seed {seed})"):
        population = generate_population(seed=seed, households=households)
    console.print(f"generated {households:,} households, {sum(len(household.members) for household in population.households):,} persons "
                  f"in {time.perf_counter() - started:.1f} s")
    with console.status("writing households.csv (the import file)"):
        write_import_csv(population, out / "households.csv")
    with console.status("writing agencies.sqlite (every agency's records)"):
        write_sqlite(build_agency_tables(population), out / "agencies.sqlite")
    truth = [{"household_number": household.number, "case": household.injected_case} for household in population.households if household.injected_case]
    (out / "ground-truth.json").write_text(json.dumps({"seed": seed, "households": households, "injected": truth}, indent=1) + "\n", encoding="utf-8")
    console.print(f"[green]wrote[/] {out}/households.csv, agencies.sqlite and ground-truth.json ({len(truth)} injected cases) "
                  f"in {time.perf_counter() - started:.1f} s")

"""``reliefledger sim population``: a population written to files, the same for the same seed;
bad input refused with a message."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def run_cli(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reliefledger.cli", *map(str, arguments)], capture_output=True, text=True, timeout=120)


def test_a_population_is_written_to_files_and_the_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    first = run_cli("sim", "population", tmp_path / "a", "--households", 300, "--seed", 5)
    second = run_cli("sim", "population", tmp_path / "b", "--households", 300, "--seed", 5)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    for name in ("households.csv", "ground-truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = (tmp_path / "a" / "households.csv").read_text(encoding="utf-8-sig").splitlines()
    from reliefledger.sim.writers import IMPORT_COLUMNS

    assert rows[0].split(",") == list(IMPORT_COLUMNS)
    assert len({row.split(",")[0] for row in rows[1:]}) == 300  # every household, its members on their own rows
    truth = json.loads((tmp_path / "a" / "ground-truth.json").read_text())
    assert truth["households"] == 300 and {entry["case"] for entry in truth["injected"]} <= {"hidden_assets", "enrolled_twice", "deceased"}
    with sqlite3.connect(tmp_path / "a" / "agencies.sqlite") as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert len(tables) >= 9  # every agency's records


def test_bad_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    for arguments, message in (((tmp_path / "zero", "--households", 0), "--households is 1 to"),
                               ((tmp_path / "many", "--households", 2_000_000), "--households is 1 to"),
                               ((tmp_path / "full",), "is not empty")):
        result = run_cli("sim", "population", *arguments)
        assert result.returncode == 1 and message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "full" / "x").read_text() == "keep me"

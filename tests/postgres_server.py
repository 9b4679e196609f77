"""A throwaway PostgreSQL server for tests, from Debian's package, on a Unix socket in a temp folder.

Started as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root).
``start_postgres`` returns None, with the reason, where no server binaries are installed.
"""

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PostgresServer:
    """A running server: connect with ``conninfo``; ``stop`` ends it."""

    data_directory: Path
    binaries: Path
    prefix: list[str]

    @property
    def conninfo(self) -> str:
        return f"host={self.data_directory} port=5499 user=postgres dbname=postgres"

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.binaries / "pg_ctl"), "-D", str(self.data_directory), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.data_directory.parent, ignore_errors=True)


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian layout)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def start_postgres() -> tuple[PostgresServer | None, str]:
    """Start a server in a new temporary folder (the postgres user must reach it, so not under
    pytest's root-only folder); (None, reason) where that cannot be done here."""
    binaries = find_binaries()
    if binaries is None:
        return None, "no PostgreSQL server is installed (Debian package 'postgresql')"
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return None, "running as root without runuser to switch to the postgres user"
        prefix = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="reliefledger-postgres-"))
    data_directory = base / "pgdata"
    data_directory.mkdir()
    if prefix:
        shutil.chown(base, "postgres")
        shutil.chown(data_directory, "postgres")
    initialised = subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data_directory), "-U", "postgres", "--auth=trust"],
                                 capture_output=True, text=True, timeout=120)
    if initialised.returncode != 0:
        return None, f"initdb failed: {initialised.stderr.strip()[:300]}"
    options = f"-c listen_addresses='' -k {data_directory} -p 5499"
    started = subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data_directory), "-o", options, "-w", "-l", str(data_directory / "log"), "start"],
                             capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        return None, f"the server did not start: {started.stderr.strip()[:300]}"
    return PostgresServer(data_directory, binaries, prefix), ""

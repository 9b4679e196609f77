"""docs/interop.md's curl session, run as written against a demo city served by `reliefledger demo`:
the documentation's examples work against the demo."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interop_support import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def read_session() -> str:
    """The shell block that follows the ``curl-session`` marker."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- curl-session -->\s*```sh\n(.*?)```", text, re.S)
    assert match, "docs/interop.md has no curl session"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_session_works_against_the_demo(tmp_path: Path) -> None:
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "reliefledger.cli", "demo", "--households", "30", "--dir", str(tmp_path / "city"), "--port", str(port),
                             "--serve-seconds", "300"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "400"})
    try:
        started = time.monotonic()
        printed = []
        while not any("DCI social registry" in line for line in printed):
            line = demo.stdout.readline()
            assert line or demo.poll() is None, "".join(printed)
            printed.append(line)
            assert time.monotonic() - started < 180, "".join(printed)
        environment = {**os.environ, "DIR": str(tmp_path / "city"), "NODE": f"http://127.0.0.1:{port}", "RL": f"{sys.executable} -m reliefledger.cli"}
        session = subprocess.run(["bash", "-euo", "pipefail", "-c", read_session()], capture_output=True, text=True, env=environment, timeout=120)
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    output = session.stdout
    assert session.returncode == 0, session.stdout + session.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    jwks, sync_search, ack, inbox, status, unauthorised, altered = lines
    assert '"kty":"OKP"' in jwks and '"status":"succ"' in sync_search and '"reg_records":[{' in sync_search
    assert '"ack_status":"ACK"' in ack and "/registry/on-search" in inbox and '"txnstatus_response"' in status and '"status":"succ"' in status
    assert unauthorised == "401" and '"err.signature.invalid"' in altered

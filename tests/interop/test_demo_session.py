"""docs/interop.md's curl session, run as written against a demo city served by `reliefledger demo`:
the documentation's examples work against the demo."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from interop_support import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def read_session(marker: str = "curl-session") -> str:
    """The shell block that follows the ``<!-- marker -->`` comment."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.*?)```", text, re.S)
    assert match, f"docs/interop.md has no {marker}"
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
        birth = subprocess.run(["bash", "-euo", "pipefail", "-c", read_session("crvs-session")], capture_output=True, text=True, env=environment, timeout=60)
        g2p = subprocess.run(["bash", "-euo", "pipefail", "-c", read_session("g2p-session")], capture_output=True, text=True, env=environment, timeout=90)
        # The cases whose reviews the registered death and birth opened show them on the dashboard's case pages.
        pages = [httpx.get(f"http://127.0.0.1:{port}/cases/a{index}.dibao", timeout=10).text for index in range(30)]
        held = [page for page in pages if 'id="open-review"' in page]
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    output = session.stdout
    assert session.returncode == 0, session.stdout + session.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    jwks, sync_search, ack, inbox, status, enrolled, unauthorised, altered = lines
    assert '"kty":"OKP"' in jwks and '"status":"succ"' in sync_search and '"reg_records":[{' in sync_search
    assert '"ack_status":"ACK"' in ack and "/registry/on-search" in inbox and '"txnstatus_response"' in status and '"status":"succ"' in status
    assert '"enrolled_status":"' in enrolled and '"status":"succ"' in enrolled
    assert unauthorised == "401" and '"err.signature.invalid"' in altered
    # The civil registry beside the city: the demo's own death, then the documented birth, both acknowledged by the node after it applied them.
    assert any("death_recorded.reviews_held_1" in line for line in printed), "".join(printed)
    # Two reviews opened: the death's, holding payments; the documented birth's, without a hold.
    assert sorted(("暂停发放" in page, "死亡登记" in page, "出生登记" in page) for page in held) == [(False, False, True), (True, True, False)]
    assert birth.returncode == 0 and '"notified":["ack"]' in birth.stdout.replace(" ", ""), birth.stdout + birth.stderr
    # G2P Connect: the person resolved to their household's wallet, linked to it, paid from the dibao budget once, the replay answered as before.
    assert g2p.returncode == 0, g2p.stdout + g2p.stderr
    resolved, linked, paid, replayed = [json.loads(line) for line in g2p.stdout.splitlines() if line.strip()]
    (resolution,) = resolved["message"]["resolve_response"]
    assert resolution["status_reason_code"] == "succ.fa.active" and resolution["fa"].startswith("account:w"), resolved
    assert resolution["account_provider_info"]["subcode"] == "beneficiary_wallet"
    assert linked["message"]["link_response"][0]["status"] == "succ" and linked["message"]["link_response"][0]["fa"] == resolution["fa"], linked
    (payment,) = paid["message"]["disbursements_status"]
    assert payment["status"] == "succ" and payment["instruction"].startswith(f"paid into {resolution['fa']}: transfer g2p."), paid
    transfer_id, ledger_transaction = re.fullmatch(r"paid into \S+: transfer (\S+), ledger transaction ([0-9a-f]{64})", payment["instruction"]).groups()
    (again,) = replayed["message"]["disbursements_status"]
    assert again["status"] == "succ" and again["instruction"] == payment["instruction"], replayed  # the transaction answered as kept
    assert paid["header"]["message_id"] != replayed["header"]["message_id"]
    # The same chain folder under `reliefledger node`: the standards are served by a plain node too.
    node_port = free_port()
    node = subprocess.Popen([sys.executable, "-m", "reliefledger.cli", "node", str(tmp_path / "city"), "--port", str(node_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{node_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and node.poll() is None, node.stdout.read() if node.poll() is not None else "the node did not start"
            time.sleep(0.3)
        secret = (tmp_path / "city" / "interop-demo" / "client-secret").read_text()
        token = httpx.post(f"{url}/oauth2/client/token", data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": secret}).json()
        signed = subprocess.run([sys.executable, "-m", "reliefledger.cli", "interop", "sign", str(tmp_path / "city" / "interop-demo" / "partner-key.json")],
                                input=(tmp_path / "city" / "interop-demo" / "search.json").read_text(), capture_output=True, text=True, check=True).stdout
        answer = httpx.post(f"{url}/dci/social/registry/sync/search", content=signed, headers={"Authorization": f"Bearer {token['access_token']}",
                                                                                            "content-type": "application/json"})
        assert answer.status_code == 200 and answer.json()["header"]["status"] == "succ", answer.text
        evidence = httpx.get(f"{url}/dci/evidence", params={"transaction_id": "demo-search-1"}, headers={"Authorization": f"Bearer {token['access_token']}"}).json()
        assert len(evidence) >= 6 and all(record["receipt"].startswith("/v1/receipts/") for record in evidence)  # the demo's session and this search, in and out
        receipt = httpx.get(url + evidence[-1]["receipt"])
        assert receipt.status_code == 200 and receipt.json()["status"]["id"] == evidence[-1]["transaction"], receipt.text
        # The money moved once: the G2P payment's transaction is committed, ten yuan from the budget into the wallet.
        receipt = httpx.get(f"{url}/v1/receipts/{ledger_transaction}").json()
        assert receipt["status"]["status"] == "committed" and receipt["status"]["result"] == "ok", receipt
        assert receipt["transaction"]["body"]["args"]["transfers"] == [{"transfer_id": transfer_id, "code": 101, "debit_account_id": "dibao-dc",
                                                                        "credit_account_id": resolution["fa"].split(":")[1].split("@")[0], "amount": 1000}]
    finally:
        node.terminate()
        node.wait(timeout=30)


def test_the_g2p_sections_curl_lines_are_the_demo_sessions() -> None:
    """The curl lines docs/interop.md's G2P section shows are run by the G2P session above."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## G2P Connect: mapper and disburse")
    section = text[start:text.index("\n## ", start + 1)]
    block = re.search(r"\*\*With curl\*\*.*?```sh\n(.*?)```", section, re.S)
    assert block, "the G2P section has no curl block"
    session = read_session("g2p-session").splitlines()
    shown = [line for line in block.group(1).splitlines() if line.strip()]
    assert shown and all(line in session for line in shown), [line for line in shown if line not in session]

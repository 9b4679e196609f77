"""`reliefledger interop`: onboarding, a partner's key, signing — and their refusals."""

import json
import subprocess
import sys
from pathlib import Path

from reliefledger.interop.settings import read_interop_settings
from reliefledger.interop.signatures import read_jwks, verify_envelope


def run_cli(*arguments: object, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reliefledger.cli", *map(str, arguments)], capture_output=True, text=True, input=stdin, timeout=60)


def test_onboarding_a_partner_and_signing_as_it(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    chain.mkdir()
    (chain / "genesis.json").write_text("{}")  # add-client needs only to know the folder is a chain's
    key_file = tmp_path / "partner-key.json"
    made = run_cli("interop", "keygen", key_file, "--sender-id", "spmis.example")
    assert made.returncode == 0, made.stderr
    jwks = json.loads(made.stdout)
    (tmp_path / "jwks.json").write_text(made.stdout)
    added = run_cli("interop", "add-client", chain, "--client-id", "spmis", "--sender-id", "spmis.example", "--callback-uri", "http://127.0.0.1:9/dci",
                    "--jwks-file", tmp_path / "jwks.json", "--scopes", "registry.search,registry.enrolled")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.split("(shown once): ")[1].strip()
    settings = read_interop_settings(chain)
    client = settings.clients["spmis"]
    assert client.is_secret(secret) and not client.is_secret(secret + "x") and secret not in (chain / "interop.toml").read_text()
    assert client.scopes == ("registry.search", "registry.enrolled") and client.callback_uri == "http://127.0.0.1:9/dci"
    envelope = {"header": {"action": "search", "sender_id": "x", "total_count": 1}, "message": {"transaction_id": "t"}}
    signed = run_cli("interop", "sign", key_file, stdin=json.dumps(envelope))
    assert signed.returncode == 0, signed.stderr
    body = json.loads(signed.stdout)
    assert body["header"]["sender_id"] == "spmis.example" and body["header"]["message_id"]
    verify_envelope(body, "spmis.example", read_jwks(jwks), int(body["signature"].split('created="')[1].split('"')[0]))
    # Refusals: a message and exit 1, never a traceback.
    refusals = {
        "again": run_cli("interop", "add-client", chain, "--client-id", "spmis", "--sender-id", "s", "--callback-uri", "http://x", "--jwks-uri", "http://x/j"),
        "scope": run_cli("interop", "add-client", chain, "--client-id", "other", "--sender-id", "s", "--callback-uri", "http://x", "--jwks-uri", "http://x/j",
                         "--scopes", "registry.everything"),
        "no keys": run_cli("interop", "add-client", chain, "--client-id", "third", "--sender-id", "s", "--callback-uri", "http://x"),
        "not a chain": run_cli("interop", "add-client", tmp_path, "--client-id", "c", "--sender-id", "s", "--callback-uri", "http://x", "--jwks-uri", "http://x/j"),
        "key exists": run_cli("interop", "keygen", key_file, "--sender-id", "s"),
        "bad envelope": run_cli("interop", "sign", key_file, stdin="{not json"),
        "no key file": run_cli("interop", "sign", tmp_path / "missing.json", stdin=json.dumps(envelope)),
    }
    for name, outcome in refusals.items():
        assert outcome.returncode == 1 and "error:" in outcome.stderr and "Traceback" not in outcome.stderr, (name, outcome.stderr)
    assert "exists" in refusals["again"].stderr and "registry.everything" in refusals["scope"].stderr and "jwks" in refusals["no keys"].stderr
    assert list(read_interop_settings(chain).clients) == ["spmis"]  # nothing half-written by the refusals


def test_naming_a_civil_registry_from_the_command_line(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    chain.mkdir()
    (chain / "genesis.json").write_text("{}")
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    added = run_cli("interop", "add-client", chain, "--client-id", "crvs", "--sender-id", "crvs.example", "--callback-uri", "https://crvs.example",
                    "--jwks-file", tmp_path / "jwks.json", "--scopes", "crvs.notify", "--fields", "", "--callback-token", "issued-by-the-registry")
    assert added.returncode == 0, added.stderr
    refused = run_cli("interop", "civil-registry", chain, "--client-id", "nobody", "--registrar", "registrar", "--public-uri", "https://node.example/dci/crvs")
    named = run_cli("interop", "civil-registry", chain, "--client-id", "crvs", "--registrar", "registrar", "--public-uri", "https://node.example/dci/crvs")
    again = run_cli("interop", "civil-registry", chain, "--client-id", "crvs", "--registrar", "registrar", "--public-uri", "https://node.example/dci/crvs")
    assert refused.returncode == 1 and "crvs.notify" in refused.stderr and "Traceback" not in refused.stderr
    assert named.returncode == 0, named.stderr
    assert again.returncode == 1 and "already" in again.stderr
    settings = read_interop_settings(chain)
    assert settings.clients["crvs"].callback_token == "issued-by-the-registry" and settings.clients["crvs"].fields == ()
    assert settings.civil_registration.public_uri == "https://node.example/dci/crvs" and settings.civil_registration.registrar == "registrar"


def test_a_node_whose_interop_settings_name_a_missing_registrar_says_so(tmp_path: Path) -> None:
    from reliefledger.interop.settings import write_civil_registration, write_client
    chain = tmp_path / "chain"
    assert run_cli("init", chain, "--orgs", "civil-affairs").returncode == 0
    write_client(chain, client_id="crvs", sender_id="crvs.example", callback_uri="http://127.0.0.1:9", scopes=["crvs.notify"], fields=[], jwks={"keys": []})
    write_civil_registration(chain, client_id="crvs", registrar="nobody", public_uri="http://127.0.0.1:9/dci/crvs")
    started = run_cli("node", chain, "--port", "1")
    assert started.returncode == 1 and "registrar" in started.stderr and "Traceback" not in started.stderr, started.stderr

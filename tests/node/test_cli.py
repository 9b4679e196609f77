"""The command line, run in-process with typer's CliRunner: init, verify, tx, node, bench."""

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from node_support import find_free_port, flatten, make_chain
from reliefledger.cli import app
from reliefledger.ledger.transactions import is_signature_valid, parse_envelope
from reliefledger.node.directory import DEFAULT_ORGANISATIONS, ChainDirectory
from reliefledger.node.runtime import read_clock_ms

runner = CliRunner(env={"COLUMNS": "200"})


def invoke(*arguments):
    return runner.invoke(app, [str(argument) for argument in arguments])


def assert_clean_failure(result, *fragments: str) -> None:
    """Non-zero exit through typer.Exit with a message, never an escaped exception."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"escaped {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    text = flatten(result.output)
    assert "error:" in text, text
    for fragment in fragments:
        assert fragment in text, text


# --- init -----------------------------------------------------------------------------------------


def test_init_default(tmp_path):
    root = tmp_path / "chain"
    result = invoke("init", root)
    assert result.exit_code == 0, result.output
    directory = ChainDirectory(root)
    genesis = directory.read_genesis()
    assert genesis.suite.name == "ed25519-sha256"
    assert [organisation.id for organisation in genesis.organisations] == list(DEFAULT_ORGANISATIONS)
    assert directory.store_path.exists()
    for organisation in genesis.organisations:
        key_path = directory.get_organisation_key_path(organisation.id)
        assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
        assert directory.read_organisation_key(organisation.id).public_key == organisation.admin_key
    assert stat.S_IMODE(os.stat(directory.orderer_key_path).st_mode) == 0o600
    assert directory.read_orderer_key().public_key in genesis.orderers
    assert "created" in result.output and genesis.chain_id in result.output
    assert invoke("verify", root).exit_code == 0


def test_init_with_suite_orgs_and_port(tmp_path):
    root = tmp_path / "chain"
    result = invoke("init", root, "--suite", "sm2-sm3", "--orgs", "a,b,c", "--port", 8123, "--chain-id", "city-1")
    assert result.exit_code == 0, result.output
    directory = ChainDirectory(root)
    genesis = directory.read_genesis()
    assert genesis.suite.name == "sm2-sm3"
    assert genesis.chain_id == "city-1"
    assert [organisation.id for organisation in genesis.organisations] == ["a", "b", "c"]
    for organisation in genesis.organisations:
        key = directory.read_organisation_key(organisation.id)
        assert key.suite.name == "sm2-sm3" and key.public_key == organisation.admin_key
    assert directory.read_settings().port == 8123
    verified = invoke("verify", root)
    assert verified.exit_code == 0, verified.output
    assert "sound" in verified.output


def test_init_twice_refuses_and_keeps_the_first_chain(tmp_path):
    root = tmp_path / "chain"
    assert invoke("init", root).exit_code == 0
    genesis_text = (root / "genesis.json").read_text()
    key_text = (root / "keys" / "civil-affairs.json").read_text()
    result = invoke("init", root, "--orgs", "x,y")
    assert_clean_failure(result, "already holds a chain")
    assert (root / "genesis.json").read_text() == genesis_text
    assert (root / "keys" / "civil-affairs.json").read_text() == key_text


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--orgs", "Civil Affairs"], "organisation id"),
        (["--orgs", "-lead"], "organisation id"),
        (["--orgs", "a,a"], "distinct"),
        (["--orgs", ","], "organisations"),
        (["--suite", "rsa-md5"], "unknown crypto suite"),
        (["--region", "11"], "region"),
        (["--chain-id", "Not A Chain"], "chain_id"),
    ],
    ids=["org-with-space", "org-leading-dash", "org-twice", "no-orgs", "bad-suite", "bad-region", "bad-chain-id"],
)
def test_init_with_bad_options_fails_cleanly_and_writes_nothing(tmp_path, options, fragment):
    root = tmp_path / "chain"
    result = invoke("init", root, *options)
    assert_clean_failure(result, fragment)
    assert not (root / "genesis.json").exists()
    assert not (root / "keys").exists()


def test_init_on_an_existing_file_fails_cleanly(tmp_path):
    target = tmp_path / "afile"
    target.write_text("not a folder")
    assert_clean_failure(invoke("init", target))


# --- verify ---------------------------------------------------------------------------------------


def test_verify_on_a_folder_that_is_not_a_chain(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_failure(invoke("verify", empty), "no store")
    assert_clean_failure(invoke("verify", tmp_path / "missing"), "no store")
    assert not (tmp_path / "missing").exists()


def test_verify_on_an_empty_sqlite_file(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "ledger.sqlite").write_bytes(b"")
    assert_clean_failure(invoke("verify", folder))


def test_verify_on_a_file_that_is_not_a_database(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "ledger.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    assert_clean_failure(invoke("verify", folder))


def test_verify_json_report_of_a_fresh_chain(chain):
    result = invoke("verify", chain.root, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sound"] is True
    assert report["tip_height"] == 0 and report["bad_height"] is None and report["reason"] == ""


# --- node -----------------------------------------------------------------------------------------


def test_node_on_a_folder_that_is_not_a_chain(tmp_path):
    assert_clean_failure(invoke("node", tmp_path, "--port", find_free_port()), "not a chain directory")


def test_node_with_broken_settings_fails_cleanly(chain):
    chain.settings_path.write_text('{"port": "eighty"}')
    assert_clean_failure(invoke("node", chain.root, "--port", find_free_port()), "port")


# --- tx -------------------------------------------------------------------------------------------


def test_tx_print_emits_a_signed_envelope(chain):
    member = "ab" * 32
    before = read_clock_ms()
    result = invoke(
        "tx", "membership", "admit_member", "--args", json.dumps({"public_key": member, "roles": ["caseworker"]}),
        "--dir", chain.root, "--org", "tax", "--nonce", "n-1", "--valid-for", 600, "--print",
    )
    assert result.exit_code == 0, result.output
    envelope = parse_envelope(result.stdout.strip().encode())
    assert is_signature_valid(envelope)
    body = envelope.body
    assert body.chain == chain.read_genesis().chain_id
    assert (body.contract, body.action, body.nonce) == ("membership", "admit_member", "n-1")
    assert body.args == {"public_key": member, "roles": ["caseworker"]}
    assert body.signer == chain.read_organisation_key("tax").public_key
    assert before + 600_000 <= body.valid_until <= read_clock_ms() + 600_000
    assert envelope.suite == "ed25519-sha256"


def test_tx_print_with_key_file_and_chain(tmp_path):
    chain = make_chain(tmp_path / "chain", suite="sm2-sm3")
    result = invoke("tx", "membership", "vote", "--args", '{"proposal_id": "p1"}', "--key",
                    chain.get_organisation_key_path("civil-affairs"), "--chain", "elsewhere", "--print")
    assert result.exit_code == 0, result.output
    envelope = parse_envelope(result.stdout.strip().encode())
    assert is_signature_valid(envelope)
    assert envelope.suite == "sm2-sm3" and envelope.body.chain == "elsewhere"


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        (["--args", "{not json"], "--args is not JSON"),
        (["--args", "[1, 2]"], "JSON object"),
        (["--args", '{"amount": 1.5}'], "floats"),
        (["--org", "nobody"], "no key file"),
    ],
    ids=["args-not-json", "args-not-object", "args-float", "unknown-org"],
)
def test_tx_with_bad_input_fails_cleanly(chain, arguments, fragment):
    options = {"--org": "tax"}
    for position in range(0, len(arguments), 2):
        options[arguments[position]] = arguments[position + 1]
    flat = [item for pair in options.items() for item in pair]
    result = invoke("tx", "membership", "admit_member", "--dir", chain.root, "--print", *flat)
    assert_clean_failure(result, fragment)


def test_tx_without_a_key_or_chain_fails_cleanly(chain):
    assert_clean_failure(invoke("tx", "membership", "vote", "--print"), "signing key")
    key = chain.get_organisation_key_path("tax")
    assert_clean_failure(invoke("tx", "membership", "vote", "--key", key, "--print"), "chain")


def test_tx_to_a_node_that_is_not_there_fails_cleanly(chain):
    port = find_free_port()
    result = invoke("tx", "membership", "vote", "--args", '{"proposal_id": "p"}', "--dir", chain.root, "--org", "tax",
                    "--node", f"http://127.0.0.1:{port}", "--wait", 0)
    assert_clean_failure(result, "cannot reach the node")


# --- bench ----------------------------------------------------------------------------------------


def test_bench_json_then_verify(tmp_path):
    root = tmp_path / "bench"
    result = invoke("bench", "--json", "--count", 3000, "--dir", root)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("tx_per_s", "verify_limit_per_s", "ratio", "p50_ms", "p99_ms"):
        assert isinstance(figures[name], (int, float)) and figures[name] > 0, (name, figures)
    assert figures["p99_ms"] >= figures["p50_ms"]
    assert figures["transactions"] == 3000
    assert figures["blocks"] >= 1
    assert figures["dir"] == str(root)
    verified = invoke("verify", root, "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["sound"] is True
    assert report["transactions_checked"] == 3000
    assert report["tip_height"] == figures["blocks"]


def test_bench_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "something").write_text("x")
    assert_clean_failure(invoke("bench", "--json", "--count", 10, "--dir", tmp_path), "not empty")


def test_bench_refuses_an_unknown_suite(tmp_path):
    assert_clean_failure(invoke("bench", "--count", 10, "--suite", "rsa", "--dir", tmp_path / "b"), "unknown suite")

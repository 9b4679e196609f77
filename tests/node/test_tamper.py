"""Tamper evidence: any changed byte of a stored block, result or state row fails ``verify``.

Every test edits a private copy of the shared sample chain (five blocks: admissions, business
rejections, a revocation, a governance proposal and vote) with sqlite3 directly, then runs
``reliefledger verify`` in-process. Block 2 is the target of block edits: it holds five
transactions with five different result codes and is followed by three more blocks.
"""

import json
import random
import sqlite3
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from node_support import flatten
from reliefledger.cli import app
from reliefledger.store.audit import audit_store
from reliefledger.store.block_store import BlockStore

TARGET = 2
"""The block the block-level edits change."""

runner = CliRunner(env={"COLUMNS": "200"})


def verify(root: Path, *options: str):
    return runner.invoke(app, ["verify", str(root), *options])


def edit_database(root: Path, change: Callable[[sqlite3.Connection], None]) -> None:
    connection = sqlite3.connect(root / "ledger.sqlite", isolation_level=None)
    try:
        connection.execute("BEGIN")
        change(connection)
        connection.execute("COMMIT")
    finally:
        connection.close()


def read_blob(connection: sqlite3.Connection, column: str, height: int = TARGET) -> bytes:
    return bytes(connection.execute(f"SELECT {column} FROM blocks WHERE height=?", (height,)).fetchone()[0])


def write_blob(connection: sqlite3.Connection, column: str, value: bytes, height: int = TARGET) -> None:
    connection.execute(f"UPDATE blocks SET {column}=? WHERE height=?", (value, height))


def other_hex_digit(character: str) -> str:
    return "1" if character == "0" else "0"


def change_hex_digit_after(text: str, marker: str, offset: int = 10) -> str:
    """Change one hex digit ``offset`` characters into the value that follows ``marker``."""
    position = text.index(marker) + len(marker) + offset
    assert text[position] in "0123456789abcdef", text[position - 5:position + 5]
    return text[:position] + other_hex_digit(text[position]) + text[position + 1:]


def blob_edit(column: str, transform: Callable[[str], str], height: int = TARGET):
    def change(connection: sqlite3.Connection) -> None:
        original = read_blob(connection, column, height).decode()
        changed = transform(original)
        assert changed != original
        write_blob(connection, column, changed.encode(), height)

    return change


def flip_bit(column: str, position: int = 0, height: int = TARGET):
    def change(connection: sqlite3.Connection) -> None:
        value = bytearray(read_blob(connection, column, height))
        value[position] ^= 0x01
        write_blob(connection, column, bytes(value), height)

    return change


def first_member_row(connection: sqlite3.Connection, height_at_least: int = 1) -> tuple[str, str]:
    key, value = connection.execute(
        "SELECT key, value FROM state WHERE key LIKE 'membership/member/%' AND height>=? ORDER BY key LIMIT 1",
        (height_at_least,),
    ).fetchone()
    return key, bytes(value).decode()


def state_value_edit(transform: Callable[[str], str]):
    def change(connection: sqlite3.Connection) -> None:
        key, value = first_member_row(connection)
        changed = transform(value)
        assert changed != value
        connection.execute("UPDATE state SET value=? WHERE key=?", (changed.encode(), key))

    return change


def valid_json_change(value: str) -> str:
    """One character of the status string changed: same length, still valid JSON."""
    position = value.index('"status":"') + len('"status":"')
    changed = value[:position] + ("x" if value[position] != "x" else "y") + value[position + 1:]
    json.loads(changed)
    return changed


def invalid_json_change(value: str) -> str:
    changed = value[:-1]
    with pytest.raises(ValueError):
        json.loads(changed)
    return changed


def change_first_code(results: str) -> str:
    entries = json.loads(results)
    entries[0][1] = 103 if entries[0][1] != 103 else 104
    return json.dumps(entries, separators=(",", ":"))


def drop_last_envelope(transactions: str) -> str:
    envelopes = json.loads(transactions)
    return json.dumps(envelopes[:-1], separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def change_nonce(transactions: str) -> str:
    envelopes = json.loads(transactions)
    envelopes[0]["body"]["nonce"] += "x"
    return json.dumps(envelopes, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def delete_block(height_of: Callable[[sqlite3.Connection], int]):
    def change(connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM blocks WHERE height=?", (height_of(connection),))

    return change


def tip_height(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT MAX(height) FROM blocks").fetchone()[0]


def delete_state_row(connection: sqlite3.Connection) -> None:
    key, _ = first_member_row(connection)
    connection.execute("DELETE FROM state WHERE key=?", (key,))


def insert_state_row(connection: sqlite3.Connection) -> None:
    connection.execute(
        "INSERT INTO state VALUES (?, ?, ?)",
        ("membership/member/" + "ab" * 32, b'{"organisation":"tax","roles":["admin"],"status":"active"}', 3),
    )


def change_state_height(connection: sqlite3.Connection) -> None:
    key, _ = first_member_row(connection)
    connection.execute("UPDATE state SET height=height+1 WHERE key=?", (key,))


def change_index_code(connection: sqlite3.Connection) -> None:
    connection.execute("UPDATE transaction_index SET code=12 WHERE height=? AND position=0", (TARGET,))
    assert connection.execute("SELECT changes()").fetchone()[0] == 1


def delete_index_row(connection: sqlite3.Connection) -> None:
    connection.execute("DELETE FROM transaction_index WHERE height=? AND position=1", (TARGET,))
    assert connection.execute("SELECT changes()").fetchone()[0] == 1


def insert_index_row(connection: sqlite3.Connection) -> None:
    connection.execute("INSERT INTO transaction_index VALUES (?, ?, ?, ?)", (bytes(32), TARGET, 9, 0))


BLOCK_EDITS = {
    "header-transaction-root-digit": blob_edit("header", lambda text: change_hex_digit_after(text, '"transaction_root":"')),
    "header-previous-hash-digit": blob_edit("header", lambda text: change_hex_digit_after(text, '"previous_hash":"')),
    "header-time": blob_edit("header", lambda text: text.replace('"time_ms":1', '"time_ms":2', 1)),
    "header-height": blob_edit("header", lambda text: text.replace(f'"height":{TARGET}', f'"height":{TARGET + 10}', 1)),
    "header-not-canonical": blob_edit("header", lambda text: text.replace(",", ", ", 1)),
    "transactions-signature-digit": blob_edit("transactions", lambda text: change_hex_digit_after(text, '"signature":"', 20)),
    "transactions-nonce": blob_edit("transactions", change_nonce),
    "transactions-dropped": blob_edit("transactions", drop_last_envelope),
    "transactions-unparseable": blob_edit("transactions", lambda text: "x" + text[1:]),
    "results-code": blob_edit("results", change_first_code),
    "results-id-digit": blob_edit("results", lambda text: change_hex_digit_after(text, '[["', 5)),
    "result-root": flip_bit("result_root", 7),
    "state-digest": flip_bit("state_digest", 31),
    "orderer-signature": flip_bit("orderer_signature", 20),
    "block-hash": flip_bit("hash", 0),
    "middle-block-deleted": delete_block(lambda connection: TARGET),
}

GENESIS_EDITS = {
    "genesis-state-digest": flip_bit("state_digest", 3, height=0),
    "genesis-document": blob_edit("header", lambda text: text.replace('"time_ms":1', '"time_ms":2', 1), height=0),
}

FINAL_STATE_EDITS = {
    "state-value-valid-json": state_value_edit(valid_json_change),
    "state-value-invalid-json": state_value_edit(invalid_json_change),
    "state-row-height": change_state_height,
    "state-row-deleted": delete_state_row,
    "state-row-inserted": insert_state_row,
    "index-code": change_index_code,
    "index-row-deleted": delete_index_row,
    "index-row-inserted": insert_index_row,
    "tip-block-deleted": delete_block(tip_height),
}


def test_untampered_copy_is_sound(sample_chain):
    result = verify(sample_chain.root)
    assert result.exit_code == 0, result.output
    assert "sound" in result.output and "NOT SOUND" not in result.output
    report = json.loads(verify(sample_chain.root, "--json").stdout)
    assert report["sound"] and report["tip_height"] >= 5 and report["blocks_checked"] == report["tip_height"]


def check_named(root: Path, where: int | None) -> dict:
    """verify exits 1, names the place (block N or final state) and gives a reason."""
    human = verify(root)
    assert human.exit_code == 1, human.output
    assert isinstance(human.exception, SystemExit), repr(human.exception)
    text = flatten(human.output)
    expected = f"NOT SOUND at block {where}:" if where is not None else "NOT SOUND at final state:"
    assert expected in text, text
    assert len(text.split(expected, 1)[1].strip()) > 5, "no reason given"
    machine = verify(root, "--json")
    assert machine.exit_code == 1
    report = json.loads(machine.stdout)
    assert report["sound"] is False and report["bad_height"] == where and report["reason"]
    return report


@pytest.mark.parametrize("name", sorted(BLOCK_EDITS))
def test_block_edit_is_found_and_the_block_named(sample_chain, name):
    edit_database(sample_chain.root, BLOCK_EDITS[name])
    report = check_named(sample_chain.root, TARGET)
    if name.startswith("transactions-signature"):
        assert "signature" in report["reason"]
    if name == "middle-block-deleted":
        assert "missing" in report["reason"]


@pytest.mark.parametrize("name", sorted(GENESIS_EDITS))
def test_genesis_edit_is_found(sample_chain, name):
    edit_database(sample_chain.root, GENESIS_EDITS[name])
    check_named(sample_chain.root, 0)


@pytest.mark.parametrize("name", sorted(FINAL_STATE_EDITS))
def test_state_and_index_edits_are_found(sample_chain, name):
    edit_database(sample_chain.root, FINAL_STATE_EDITS[name])
    check_named(sample_chain.root, None)


@pytest.mark.parametrize("column", ["header", "results", "transactions"])
@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "x" + text[1:],
        lambda text: text[: len(text) // 2],
        lambda text: text.replace('"', "'"),
        lambda text: "{}",
        lambda text: "[]" if not text.startswith("[") else "{}",
        lambda text: "",
    ],
    ids=["first-byte", "truncated", "quotes", "empty-object", "wrong-container", "empty"],
)
def test_unparseable_header_results_or_transactions_name_the_block(sample_chain, column, damage):
    """A blob that no longer parses (or parses to the wrong shape) is a named block fault."""
    edit_database(sample_chain.root, blob_edit(column, damage))
    check_named(sample_chain.root, TARGET)


@pytest.mark.parametrize(
    "column",
    [
        "header",
        "results",
    ],
)
def test_damaged_tip_block_is_named(sample_chain, column):
    def damage(connection: sqlite3.Connection) -> None:
        height = tip_height(connection)
        blob_edit(column, lambda text: "x" + text[1:], height=height)(connection)
        TIP[0] = height

    TIP = [None]
    edit_database(sample_chain.root, damage)
    check_named(sample_chain.root, TIP[0])


def test_every_changed_byte_is_found(sample_chain):
    """Sweep: change single bytes (bit 0 flipped) all over the stored block 2, every stored
    state row and every index row; the audit must find each one. An exception out of the audit
    counts as found here, because ``verify`` turns it into exit 1 (naming is tested above)."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    connection = sqlite3.connect(sample_chain.store_path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    reader = BlockStore(sample_chain.store_path, read_only=True)
    missed = []

    def is_found() -> bool:
        try:
            return not audit_store(reader).sound
        except Exception:
            return True

    try:
        assert not is_found(), "the copy must start sound"
        for column, sample in (("header", None), ("results", None), ("transactions", 250), ("orderer_signature", None),
                               ("result_root", None), ("state_digest", None), ("hash", None)):
            original = read_blob(connection, column)
            positions = range(len(original)) if sample is None else rng.sample(range(len(original)), min(sample, len(original)))
            for position in positions:
                changed = bytearray(original)
                changed[position] ^= 0x01
                write_blob(connection, column, bytes(changed))
                if not is_found():
                    missed.append((column, position))
                write_blob(connection, column, original)
        for key, value in list(connection.execute("SELECT key, value FROM state")):
            value = bytes(value)
            position = rng.randrange(len(value))
            changed = bytearray(value)
            changed[position] ^= 0x01
            connection.execute("UPDATE state SET value=? WHERE key=?", (bytes(changed), key))
            if not is_found():
                missed.append(("state", key, position))
            connection.execute("UPDATE state SET value=? WHERE key=?", (value, key))
        for (identifier,) in list(connection.execute("SELECT id FROM transaction_index")):
            changed = bytearray(identifier)
            changed[rng.randrange(len(changed))] ^= 0x01
            connection.execute("UPDATE transaction_index SET id=? WHERE id=?", (bytes(changed), identifier))
            if not is_found():
                missed.append(("index", bytes(identifier).hex()))
            connection.execute("UPDATE transaction_index SET id=? WHERE id=?", (identifier, bytes(changed)))
        assert not is_found(), "the sweep must restore every byte"
    finally:
        reader.close()
        connection.close()
    assert missed == [], f"seed {seed}: undetected changes {missed[:10]}"

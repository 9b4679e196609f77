"""The personal-data vault, on both suites: encryption, commitments, tampering, crypto-shredding."""

import logging
import sqlite3
import stat

import pytest

from vault_support import (
    ADDRESS,
    ID_NUMBER,
    NAME,
    OTHER_MASTER_KEY,
    OTHER_SUBJECT,
    PERSON_RECORD,
    SECRETS,
    START_MS,
    SUBJECT,
    FakeClock,
    create_vault,
    edit_database,
    flip_byte,
    is_in_clear,
    open_vault,
    read_blob,
    read_secrets_of,
    read_vault_bytes,
)
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import get_suite
from reliefledger.store.vault import Vault, VaultError


def put_person(vault: Vault, record: dict = PERSON_RECORD, *, subject: str = SUBJECT, kind: str = "identity"):
    return vault.put(subject=subject, kind=kind, record=record, owner="civil-affairs")


def reopen(vault: Vault) -> Vault:
    vault.close()
    return open_vault(vault.path)


# Round trip and commitment -----------------------------------------------------------------------


def test_a_record_round_trips_with_chinese_text(vault, suite_name):
    receipt = put_person(vault)
    assert receipt.suite == suite_name
    assert len(receipt.record_id) == 32 and len(receipt.commitment) == 64
    record = vault.get(receipt.record_id)
    assert record.record == PERSON_RECORD
    assert (record.record_id, record.subject, record.kind, record.owner) == (receipt.record_id, SUBJECT, "identity", "civil-affairs")
    assert record.commitment == receipt.commitment
    assert record.created_ms == START_MS + 1


def test_a_record_survives_closing_and_reopening(vault, suite_name):
    receipt = put_person(vault)
    reopened = reopen(vault)
    assert reopened.suite.name == suite_name
    assert reopened.get(receipt.record_id).record == PERSON_RECORD
    reopened.close()


def test_the_commitment_is_the_documented_salted_hash(vault):
    receipt = put_person(vault)
    _, data_key, _, plaintext = read_secrets_of(vault, receipt.record_id)
    assert len(data_key) == vault.cipher.key_bytes
    assert set(plaintext) == {"record", "salt"} and plaintext["record"] == PERSON_RECORD
    salt = bytes.fromhex(plaintext["salt"])
    assert len(salt) == 32
    expected = vault.suite.compute_hash(b"reliefledger/vault/v1\x00" + salt + encode_canonical(PERSON_RECORD))
    assert receipt.commitment == expected.hex()


def test_the_commitment_verifies_and_others_do_not(vault):
    receipt = put_person(vault)
    other = put_person(vault, {"name": "王五"})
    assert vault.verify_commitment(receipt.record_id, receipt.commitment)
    assert vault.verify_commitment(receipt.record_id, receipt.commitment.upper())
    assert not vault.verify_commitment(receipt.record_id, other.commitment)
    assert not vault.verify_commitment(receipt.record_id, "00" * 32)
    assert not vault.verify_commitment(receipt.record_id, "not hex")


def test_the_same_record_twice_gets_two_ids_commitments_and_ciphertexts(vault):
    first, second = put_person(vault), put_person(vault)
    assert first.record_id != second.record_id and first.commitment != second.commitment
    ciphertexts = [
        read_blob(vault.path, "SELECT ciphertext FROM ciphertexts WHERE record_id=?", (bytes.fromhex(receipt.record_id),))
        for receipt in (first, second)
    ]
    assert ciphertexts[0] != ciphertexts[1]


def test_the_vault_uses_the_suites_cipher(vault, suite_name):
    assert vault.cipher.name == {"ed25519-sha256": "AES-256-GCM", "sm2-sm3": "SM4-GCM"}[suite_name]
    assert vault.cipher.key_bytes == {"ed25519-sha256": 32, "sm2-sm3": 16}[suite_name]


def test_records_are_listed_by_subject_oldest_first(vault):
    first = put_person(vault, kind="identity")
    second = put_person(vault, {"income_fen_per_month": 120000}, kind="income")
    put_person(vault, subject=OTHER_SUBJECT)
    entries = vault.list_records(SUBJECT)
    assert [entry.record_id for entry in entries] == [first.record_id, second.record_id]
    assert [(entry.kind, entry.owner, entry.destroyed) for entry in entries] == [
        ("identity", "civil-affairs", False), ("income", "civil-affairs", False)
    ]
    assert [entry.commitment for entry in entries] == [first.commitment, second.commitment]
    assert vault.list_records("ef" * 32) == []


# Personal data never in the clear ----------------------------------------------------------------


def test_personal_data_never_appears_in_the_vault_files(vault):
    receipts = [put_person(vault) for _ in range(3)]
    for receipt in receipts:
        vault.get(receipt.record_id)
    assert read_vault_bytes(vault.path)
    for secret in SECRETS:
        assert not is_in_clear(vault.path, secret), secret
    vault.close()
    for secret in SECRETS:
        assert not is_in_clear(vault.path, secret), secret


def test_the_scan_would_find_plaintext_if_it_were_there(vault):
    """The scan itself works: text stored in a readable column is found."""
    edit_database(vault.path, "INSERT INTO meta VALUES ('probe', ?)", (NAME.encode(),))
    edit_database(vault.path, "INSERT INTO meta VALUES ('probe16', ?)", (ADDRESS,))
    assert is_in_clear(vault.path, NAME) and is_in_clear(vault.path, ADDRESS)


def test_the_repr_of_a_record_hides_the_personal_data(vault):
    receipt = put_person(vault)
    record = vault.get(receipt.record_id)
    for text in (repr(record), str(record), repr([record]), f"{record}"):
        assert receipt.record_id in text and "record=<hidden>" in text
        for secret in SECRETS:
            assert secret not in text


def test_nothing_is_logged(vault, caplog):
    caplog.set_level(logging.DEBUG)
    receipt = put_person(vault)
    vault.get(receipt.record_id)
    vault.destroy(receipt.record_id)
    assert caplog.records == []


def test_errors_never_repeat_the_personal_data(vault):
    with pytest.raises(VaultError) as raised:
        put_person(vault, {**PERSON_RECORD, "income_ratio": 0.5})
    assert raised.value.code == "invalid_record"
    for secret in SECRETS:
        assert secret not in raised.value.message


def test_a_subject_must_be_a_pseudonym_never_an_identity_number(vault):
    for subject in (ID_NUMBER, NAME, "AB" * 32, "ab" * 31, "ab" * 33, "", None):
        with pytest.raises(VaultError) as raised:
            put_person(vault, subject=subject)
        assert raised.value.code == "invalid_subject"
        assert ID_NUMBER not in raised.value.message
    with pytest.raises(VaultError):
        vault.list_records(ID_NUMBER)


def test_the_vault_file_is_readable_by_its_owner_only(vault):
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600


# Malformed input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {"income": 1.5},
        {"nested": [{"deep": 0.0}]},
        {1: "non-string key"},
        {"set": {1, 2}},
        {"too_big": 2**63},
        ["not", "an", "object"],
        "text",
        None,
    ],
)
def test_records_without_a_canonical_json_object_form_are_refused(vault, record):
    with pytest.raises(VaultError) as raised:
        vault.put(subject=SUBJECT, kind="identity", record=record, owner="civil-affairs")
    assert raised.value.code == "invalid_record"
    assert isinstance(raised.value, LedgerInputError)
    assert vault.list_records(SUBJECT) == []


@pytest.mark.parametrize("field, value", [("kind", "Identity"), ("kind", ""), ("owner", "民政局"), ("owner", "a" * 65), ("owner", "civil-affairs\n")])
def test_kinds_and_owners_are_identifiers(vault, field, value):
    arguments = {"subject": SUBJECT, "kind": "identity", "record": {}, "owner": "civil-affairs", field: value}
    with pytest.raises(VaultError) as raised:
        vault.put(**arguments)
    assert raised.value.code == f"invalid_{field}"


@pytest.mark.parametrize("record_id", ["", "00" * 15, "00" * 17, "AB" * 16, "zz" * 16, None, b"\x00" * 16])
def test_malformed_record_ids_are_refused(vault, record_id):
    for call in (vault.get, vault.destroy, vault.get_entry):
        with pytest.raises(VaultError) as raised:
            call(record_id)
        assert raised.value.code == "invalid_record_id"


def test_an_unknown_record_is_not_found(vault):
    for call in (vault.get, vault.destroy, vault.get_entry, lambda record_id: vault.verify_commitment(record_id, "00")):
        with pytest.raises(VaultError) as raised:
            call("00" * 16)
        assert raised.value.code == "record_not_found"


# Tampering on disk -------------------------------------------------------------------------------


def flip_column(vault: Vault, table: str, column: str, record_id: str, position: int) -> Vault:
    """Reopen the vault after flipping one byte of a stored blob."""
    vault.close()
    identifier = bytes.fromhex(record_id)
    value = read_blob(vault.path, f"SELECT {column} FROM {table} WHERE record_id=?", (identifier,))
    edit_database(vault.path, f"UPDATE {table} SET {column}=? WHERE record_id=?", (flip_byte(value, position), identifier))
    return open_vault(vault.path)


@pytest.mark.parametrize("position", [0, 12, -1, 40])
def test_a_flipped_byte_in_the_ciphertext_fails_clearly(vault, position):
    receipt = put_person(vault)
    tampered = flip_column(vault, "ciphertexts", "ciphertext", receipt.record_id, position)
    with pytest.raises(VaultError) as raised:
        tampered.get(receipt.record_id)
    assert raised.value.code == "record_corrupt" and "ciphertext" in raised.value.message
    tampered.close()


@pytest.mark.parametrize("position", [0, 12, -1])
def test_a_flipped_byte_in_the_wrapped_key_fails_clearly(vault, position):
    receipt = put_person(vault)
    tampered = flip_column(vault, "data_keys", "wrapped_key", receipt.record_id, position)
    with pytest.raises(VaultError) as raised:
        tampered.get(receipt.record_id)
    assert raised.value.code == "record_corrupt" and "data key" in raised.value.message
    tampered.close()


def test_a_flipped_byte_in_the_commitment_fails_clearly(vault):
    receipt = put_person(vault)
    tampered = flip_column(vault, "records", "commitment", receipt.record_id, 0)
    with pytest.raises(VaultError) as raised:
        tampered.get(receipt.record_id)
    assert raised.value.code == "record_corrupt" and "commitment" in raised.value.message
    tampered.close()


def test_a_ciphertext_moved_to_another_record_fails(vault):
    victim, target = put_person(vault), put_person(vault, {"name": "王五"}, subject=OTHER_SUBJECT)
    vault.close()
    victim_id, target_id = bytes.fromhex(victim.record_id), bytes.fromhex(target.record_id)
    edit_database(
        vault.path,
        "UPDATE ciphertexts SET ciphertext=(SELECT ciphertext FROM ciphertexts WHERE record_id=?) WHERE record_id=?",
        (victim_id, target_id),
    )
    moved = open_vault(vault.path)
    with pytest.raises(VaultError) as raised:
        moved.get(target.record_id)
    assert raised.value.code == "record_corrupt"
    assert moved.get(victim.record_id).record == PERSON_RECORD
    moved.close()


def test_a_ciphertext_moved_with_its_wrapped_key_fails(vault):
    victim, target = put_person(vault), put_person(vault, {"name": "王五"}, subject=OTHER_SUBJECT)
    vault.close()
    victim_id, target_id = bytes.fromhex(victim.record_id), bytes.fromhex(target.record_id)
    for table, column in (("ciphertexts", "ciphertext"), ("data_keys", "wrapped_key")):
        edit_database(
            vault.path,
            f"UPDATE {table} SET {column}=(SELECT {column} FROM {table} WHERE record_id=?) WHERE record_id=?",
            (victim_id, target_id),
        )
    moved = open_vault(vault.path)
    with pytest.raises(VaultError) as raised:
        moved.get(target.record_id)
    assert raised.value.code == "record_corrupt"
    moved.close()


@pytest.mark.parametrize("column, value", [("subject", OTHER_SUBJECT), ("kind", "health"), ("owner", "tax")])
def test_relabelling_a_row_fails(vault, column, value):
    receipt = put_person(vault)
    vault.close()
    edit_database(vault.path, f"UPDATE records SET {column}=? WHERE record_id=?", (value, bytes.fromhex(receipt.record_id)))
    relabelled = open_vault(vault.path)
    with pytest.raises(VaultError) as raised:
        relabelled.get(receipt.record_id)
    assert raised.value.code == "record_corrupt"
    relabelled.close()


@pytest.mark.parametrize("table", ["ciphertexts", "data_keys"])
def test_a_missing_part_fails_clearly(vault, table):
    receipt = put_person(vault)
    vault.close()
    edit_database(vault.path, f"DELETE FROM {table} WHERE record_id=?", (bytes.fromhex(receipt.record_id),))
    damaged = open_vault(vault.path)
    with pytest.raises(VaultError) as raised:
        damaged.get(receipt.record_id)
    assert raised.value.code == "record_corrupt"
    damaged.close()


# Opening -----------------------------------------------------------------------------------------


def test_a_wrong_master_key_fails_to_open(vault):
    put_person(vault)
    vault.close()
    with pytest.raises(VaultError) as raised:
        open_vault(vault.path, master_key=OTHER_MASTER_KEY)
    assert raised.value.code == "wrong_master_key"


@pytest.mark.parametrize("master_key", [b"", bytes(31), bytes(33), "0" * 32, bytearray(32)])
def test_a_master_key_must_be_32_bytes(vault_path, suite_name, master_key):
    with pytest.raises(VaultError) as raised:
        create_vault(vault_path, suite_name, master_key=master_key)
    assert raised.value.code == "invalid_master_key"
    assert not vault_path.exists()


def test_creating_over_an_existing_file_is_refused(vault):
    with pytest.raises(VaultError) as raised:
        create_vault(vault.path, "sm2-sm3")
    assert raised.value.code == "vault_exists"


def test_opening_a_missing_vault_fails(tmp_path):
    with pytest.raises(VaultError) as raised:
        open_vault(tmp_path / "missing.sqlite")
    assert raised.value.code == "vault_not_found"


def test_opening_something_else_fails(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    other = tmp_path / "other.sqlite"
    edit_database(other, "CREATE TABLE something (x)")
    for path in (garbage, other):
        with pytest.raises(VaultError) as raised:
            open_vault(path)
        assert raised.value.code == "not_a_vault"


def test_an_unknown_suite_is_refused(vault_path):
    with pytest.raises(LedgerInputError) as raised:
        Vault.create(vault_path, suite_name="rsa-md5", master_key=bytes(32), clock_ms=FakeClock())
    assert raised.value.code == "unknown_suite"


def test_time_comes_from_the_injected_clock(vault_path, suite_name):
    clock = FakeClock(now_ms=42_000)
    with Vault.create(vault_path, suite_name=suite_name, master_key=bytes(32), clock_ms=clock) as vault:
        receipt = put_person(vault)
        tombstone = vault.destroy(receipt.record_id)
    assert clock.readings == [42_001, 42_002]
    assert tombstone.destroyed_ms == 42_002


# Destruction -------------------------------------------------------------------------------------


def test_a_destroyed_record_cannot_be_read_and_keeps_its_commitment(vault):
    receipt = put_person(vault)
    kept = put_person(vault, {"name": "王五"})
    tombstone = vault.destroy(receipt.record_id)
    assert (tombstone.record_id, tombstone.commitment) == (receipt.record_id, receipt.commitment)
    for call in (vault.get, lambda record_id: vault.verify_commitment(record_id, receipt.commitment)):
        with pytest.raises(VaultError) as raised:
            call(receipt.record_id)
        assert raised.value.code == "record_destroyed"
    entry = vault.get_entry(receipt.record_id)
    assert entry.destroyed and entry.destroyed_ms == tombstone.destroyed_ms
    assert entry.commitment == receipt.commitment
    listed = {item.record_id: item for item in vault.list_records(SUBJECT)}
    assert listed[receipt.record_id].destroyed and listed[receipt.record_id].commitment == receipt.commitment
    assert not listed[kept.record_id].destroyed
    assert vault.get(kept.record_id).record == {"name": "王五"}
    reopened = reopen(vault)
    with pytest.raises(VaultError) as raised:
        reopened.get(receipt.record_id)
    assert raised.value.code == "record_destroyed"
    reopened.close()


def test_destroying_twice_answers_the_first_tombstone(vault):
    receipt = put_person(vault)
    first = vault.destroy(receipt.record_id)
    assert vault.destroy(receipt.record_id) == first


def test_destroy_deletes_the_key_and_ciphertext_rows(vault):
    receipt = put_person(vault)
    vault.destroy(receipt.record_id)
    identifier = bytes.fromhex(receipt.record_id)
    for table in ("data_keys", "ciphertexts"):
        count = vault.connection.execute(f"SELECT COUNT(*) FROM {table} WHERE record_id=?", (identifier,)).fetchone()
        assert count == (0,)


def assert_secrets_gone(vault: Vault, secrets: list[bytes]) -> None:
    data = read_vault_bytes(vault.path)
    wal = vault.path.with_name(vault.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    for secret in secrets:
        assert secret not in data


@pytest.mark.parametrize("compact_separately", [False, True])
def test_after_destroy_no_copy_of_the_data_key_is_left_in_the_files(vault, compact_separately):
    fillers = [put_person(vault, {"filler": "x" * 3000, "n": index}) for index in range(40)]
    receipt = put_person(vault)
    more = [put_person(vault, {"filler": "y" * 3000, "n": index}) for index in range(40)]
    wrapped_key, data_key, ciphertext, _ = read_secrets_of(vault, receipt.record_id)
    secrets = [wrapped_key, data_key, ciphertext[:64], ciphertext[-64:]]
    data = read_vault_bytes(vault.path)
    assert wrapped_key in data and ciphertext[:64] in data, "the scan must see the secrets before destroy"
    if compact_separately:
        vault.destroy(receipt.record_id, compact=False)
        vault.compact()
    else:
        vault.destroy(receipt.record_id)
    assert_secrets_gone(vault, secrets)
    for other in fillers[:2] + more[-2:]:
        assert vault.get(other.record_id).record["n"] in (0, 1, 38, 39)
    vault.close()
    assert_secrets_gone(vault, secrets)


def test_destroy_without_compaction_still_overwrites_the_deleted_rows(vault):
    """secure_delete is on: even before VACUUM, the main file holds no copy once checkpointed."""
    receipt = put_person(vault)
    wrapped_key, data_key, _, _ = read_secrets_of(vault, receipt.record_id)
    vault.destroy(receipt.record_id, compact=False)
    vault.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert_secrets_gone(vault, [wrapped_key, data_key])


def test_compaction_reports_a_reader_that_keeps_the_wal(vault):
    receipt = put_person(vault)
    vault.close()
    vault = open_vault(vault.path, busy_timeout_ms=50)
    reader = sqlite3.connect(vault.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM records").fetchone()
        with pytest.raises(VaultError) as raised:
            vault.destroy(receipt.record_id)
        assert raised.value.code == "compaction_incomplete"
    finally:
        reader.close()
    assert vault.get_entry(receipt.record_id).destroyed
    vault.destroy(receipt.record_id)
    assert vault.connection.execute("SELECT COUNT(*) FROM data_keys").fetchone() == (0,)
    vault.close()


def test_destroying_every_record_of_a_person_leaves_only_tombstones(vault):
    receipts = [put_person(vault, kind=kind) for kind in ("identity", "income", "health", "disability")]
    for receipt in receipts:
        vault.destroy(receipt.record_id, compact=False)
    vault.compact()
    entries = vault.list_records(SUBJECT)
    assert [entry.destroyed for entry in entries] == [True] * 4
    assert {entry.commitment for entry in entries} == {receipt.commitment for receipt in receipts}
    assert vault.connection.execute("SELECT COUNT(*) FROM data_keys").fetchone() == (0,)
    assert vault.connection.execute("SELECT COUNT(*) FROM ciphertexts").fetchone() == (0,)


def test_suites_are_recorded_per_vault(tmp_path):
    for name in ("ed25519-sha256", "sm2-sm3"):
        path = tmp_path / f"{name}.sqlite"
        create_vault(path, name).close()
        with open_vault(path) as vault:
            assert vault.suite is get_suite(name)

"""Secret key files: the vault master key and the network key, mode 0600, never overwritten."""

import os
import stat

import pytest

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.store.vault_keys import (
    NETWORK_KEY_PATH,
    VAULT_KEY_PATH,
    generate_master_key,
    generate_network_key,
    read_secret_key,
    write_secret_key,
)


def test_generated_keys_are_32_random_bytes():
    keys = [generate_master_key() for _ in range(3)] + [generate_network_key() for _ in range(3)]
    assert all(type(key) is bytes and len(key) == 32 for key in keys)
    assert len(set(keys)) == len(keys)


def test_the_chain_directory_layout():
    assert VAULT_KEY_PATH.as_posix() == "keys/vault.key"
    assert NETWORK_KEY_PATH.as_posix() == "keys/network.key"


def test_a_key_round_trips_through_a_file_readable_by_its_owner_only(tmp_path):
    key = generate_master_key()
    path = tmp_path / VAULT_KEY_PATH
    write_secret_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key.hex() + "\n"
    assert read_secret_key(path) == key


def test_a_key_file_is_never_replaced(tmp_path):
    path = tmp_path / "vault.key"
    first = generate_master_key()
    write_secret_key(path, first)
    with pytest.raises(LedgerInputError) as raised:
        write_secret_key(path, generate_master_key())
    assert raised.value.code == "key_exists"
    assert read_secret_key(path) == first


@pytest.mark.parametrize("data", [b"", bytes(31), "00" * 32, None])
def test_a_short_or_mistyped_key_is_not_written(tmp_path, data):
    with pytest.raises(LedgerInputError) as raised:
        write_secret_key(tmp_path / "k.key", data)
    assert raised.value.code == "invalid_key"
    assert not (tmp_path / "k.key").exists()


def test_a_missing_key_file_is_reported(tmp_path):
    with pytest.raises(LedgerInputError) as raised:
        read_secret_key(tmp_path / "missing.key")
    assert raised.value.code == "key_not_found"


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "network.key"
    write_secret_key(path, generate_network_key())
    os.chmod(path, 0o644)
    with pytest.raises(LedgerInputError) as raised:
        read_secret_key(path)
    assert raised.value.code == "key_file_exposed"


@pytest.mark.parametrize("text", ["not hex\n", "00" * 31 + "\n", "", "\u00e9" * 64])
def test_a_malformed_key_file_is_refused(tmp_path, text):
    path = tmp_path / "bad.key"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(LedgerInputError) as raised:
        read_secret_key(path)
    assert raised.value.code == "invalid_key_file"

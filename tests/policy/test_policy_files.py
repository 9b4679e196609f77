"""Policy files: packs and region tables read at the edge, with errors that name the file."""

import json

import pytest

from policy_support import DEFAULT_DOCUMENT, DEFAULT_PACK
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import compute_pack_digest
from reliefledger.ledger.suites import get_suite
from reliefledger.policy_files import (
    get_default_policy_path,
    get_default_region_table_path,
    read_policy_pack,
    read_region_table,
)

SUITE = get_suite("ed25519-sha256")


def test_default_files_ship_with_the_package():
    assert get_default_policy_path().name == "cn-mainland-2026.toml"
    assert get_default_policy_path().is_file()
    assert get_default_region_table_path().name == "110000-beijing.json"
    assert get_default_region_table_path().is_file()


def test_json_and_toml_forms_of_a_pack_have_the_same_digest(tmp_path):
    path = tmp_path / "pack.json"
    path.write_bytes(encode_canonical(DEFAULT_DOCUMENT))
    document, pack = read_policy_pack(path)
    assert pack == DEFAULT_PACK
    assert compute_pack_digest(SUITE, document) == compute_pack_digest(SUITE, DEFAULT_DOCUMENT)
    document, pack = read_policy_pack(str(path))
    assert pack.version == "cn-mainland-2026.1"


def write_toml(tmp_path, old: str, new: str):
    text = get_default_policy_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "pack.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("county_decision = 15", "county_decision = 15.0", r"programmes\[1\]\.deadlines\.county_decision: floats are not allowed"),
        ('effective_from = "2024-09-01"', "effective_from = 2024-09-01", r"standards\[1\]\.effective_from: a date has no JSON form"),
        ("deduction_percent = 20", "deduction_percent = 101", r"income_categories\[0\]\.deduction_percent"),
        ('version = "cn-mainland-2026.1"', "", "version: is required"),
        ("days = 7", "days = 7\ndays = 8", "malformed TOML"),
    ],
)
def test_toml_errors_name_the_file_and_the_path(tmp_path, old, new, message):
    path = write_toml(tmp_path, old, new)
    with pytest.raises(LedgerInputError, match=message) as caught:
        read_policy_pack(path)
    assert str(caught.value).startswith(str(path))
    assert caught.value.code == "invalid_policy_pack"


def test_file_level_errors(tmp_path):
    cases = {
        tmp_path / "missing.toml": "cannot read the file",
        tmp_path / "pack.yaml": "expected a .toml or .json file",
        tmp_path / "broken.json": "malformed JSON",
        tmp_path / "latin1.toml": "not valid UTF-8",
        tmp_path / "list.json": r"\(pack\): must be an object",
    }
    (tmp_path / "pack.yaml").write_text("version: 1")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "latin1.toml").write_bytes('name = "caf\xe9"'.encode("latin-1"))
    (tmp_path / "list.json").write_text("[]")
    for path, message in cases.items():
        with pytest.raises(LedgerInputError, match=message) as caught:
            read_policy_pack(path)
        assert caught.value.code == "invalid_policy_pack"
        assert str(path) in str(caught.value)


def test_a_directory_is_not_a_pack(tmp_path):
    directory = tmp_path / "pack.toml"
    directory.mkdir()
    with pytest.raises(LedgerInputError, match="cannot read the file") as caught:
        read_policy_pack(directory)
    assert caught.value.code == "invalid_policy_pack"


def test_region_table_file_errors(tmp_path):
    document = json.loads(get_default_region_table_path().read_text(encoding="utf-8"))
    document["regions"] = [region for region in document["regions"] if region["code"] != "110100"]
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LedgerInputError, match=r"parent: 110100 is not in the table") as caught:
        read_region_table(path)
    assert caught.value.code == "invalid_region_table"
    assert str(caught.value).startswith(str(path))
    with pytest.raises(LedgerInputError, match="cannot read the file") as caught:
        read_region_table(tmp_path / "absent.json")
    assert caught.value.code == "invalid_region_table"


def test_region_table_from_a_path_equals_the_default(tmp_path):
    path = tmp_path / "beijing.json"
    path.write_bytes(get_default_region_table_path().read_bytes())
    assert read_region_table(path) == read_region_table()

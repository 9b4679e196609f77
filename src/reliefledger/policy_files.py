"""Policy files: reading policy packs and region tables from disk, at the node's edge.

The ledger receives rules, not files: this module turns a file (TOML or JSON) into the document
and its parsed form, and every failure (missing file, bad syntax, a float, an invalid field) into
a ``LedgerInputError`` whose message names the file. The shipped defaults live in the package's
``data`` folder and are found through ``importlib.resources``, so they work from a wheel too.
"""

import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from reliefledger.ledger.encoding import decode_json
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import PolicyPack, parse_policy_pack
from reliefledger.ledger.regions import RegionTable, parse_region_table

DEFAULT_POLICY_FILE = "data/policy/cn-mainland-2026.toml"
"""The mainland China default pack, relative to the package."""

DEFAULT_REGION_TABLE_FILE = "data/regions/110000-beijing.json"
"""The shipped Beijing region table, relative to the package."""

POLICY_FILE_BYTES_MAX = 16 * 1024 * 1024
"""Largest policy pack or region table file read."""

PolicyPath = str | Path | Traversable
"""A file system path, or a resource inside the installed package."""


def get_default_policy_path() -> Traversable:
    """The shipped mainland China default pack (``cn-mainland-2026.toml``)."""
    return files("reliefledger").joinpath(DEFAULT_POLICY_FILE)


def get_default_region_table_path() -> Traversable:
    """The shipped Beijing region table (``110000-beijing.json``)."""
    return files("reliefledger").joinpath(DEFAULT_REGION_TABLE_FILE)


def read_policy_pack(path: PolicyPath) -> tuple[dict[str, Any], PolicyPack]:
    """Read and check a policy pack file (``.toml`` or ``.json``): (document, parsed pack).

    The document is what ``compute_pack_digest`` hashes. Errors are ``LedgerInputError`` with
    code ``invalid_policy_pack`` and a message that starts with the file's name.
    """
    document = _read_document(path, "invalid_policy_pack")
    try:
        return document, parse_policy_pack(document)
    except LedgerInputError as error:
        raise LedgerInputError(f"{path}: {error}", code="invalid_policy_pack") from None


def read_region_table(path: PolicyPath | None = None) -> RegionTable:
    """Read and check a region table file (JSON); the shipped Beijing table when ``path`` is None.

    Errors are ``LedgerInputError`` with code ``invalid_region_table`` naming the file.
    """
    source = get_default_region_table_path() if path is None else path
    document = _read_document(source, "invalid_region_table")
    try:
        return parse_region_table(document)
    except LedgerInputError as error:
        raise LedgerInputError(f"{source}: {error}", code="invalid_region_table") from None


def _read_document(path: PolicyPath, code: str) -> Any:
    """The document in ``path``, parsed by its suffix; every failure names the file."""
    resource = Path(path) if isinstance(path, str) else path
    suffix = resource.name.rsplit(".", 1)[-1].lower() if "." in resource.name else ""
    if suffix not in ("toml", "json"):
        raise LedgerInputError(f"{path}: expected a .toml or .json file", code=code)
    try:
        with resource.open("rb") as stream:
            data = stream.read(POLICY_FILE_BYTES_MAX + 1)
    except OSError as error:
        raise LedgerInputError(f"{path}: cannot read the file ({error.strerror or error})", code=code) from None
    if len(data) > POLICY_FILE_BYTES_MAX:
        raise LedgerInputError(f"{path}: larger than {POLICY_FILE_BYTES_MAX} bytes", code=code)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerInputError(f"{path}: not valid UTF-8 text", code=code) from None
    if suffix == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise LedgerInputError(f"{path}: malformed TOML: {error}", code=code) from None
    try:
        return decode_json(text)
    except LedgerInputError as error:
        raise LedgerInputError(f"{path}: {error}", code=code) from None

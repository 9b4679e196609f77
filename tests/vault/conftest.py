"""Fixtures of the vault tests: a fresh vault on each crypto suite."""

from pathlib import Path

import pytest

from vault_support import SUITE_NAMES, create_vault
from reliefledger.store.vault import Vault


@pytest.fixture(params=SUITE_NAMES)
def suite_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault.sqlite"


@pytest.fixture
def vault(vault_path: Path, suite_name: str):
    opened: Vault = create_vault(vault_path, suite_name)
    yield opened
    opened.close()

"""Fixtures of the node tests: fresh chain folders and one shared, closed sample chain."""

import shutil
from pathlib import Path

import pytest

from node_support import build_sample_chain, make_chain
from reliefledger.node.directory import ChainDirectory


@pytest.fixture
def chain(tmp_path: Path) -> ChainDirectory:
    """A fresh ed25519-sha256 chain of three organisations, blocks cut after 5 ms."""
    return make_chain(tmp_path / "chain")


@pytest.fixture(scope="session")
def sample_chain_master(tmp_path_factory: pytest.TempPathFactory) -> ChainDirectory:
    """A closed chain of several blocks, built once; never modify it (use ``sample_chain``)."""
    return build_sample_chain(tmp_path_factory.mktemp("sample") / "chain")


@pytest.fixture
def sample_chain(sample_chain_master: ChainDirectory, tmp_path: Path) -> ChainDirectory:
    """A private copy of the sample chain to edit."""
    copy = tmp_path / "copy"
    shutil.copytree(sample_chain_master.root, copy)
    return ChainDirectory(copy)

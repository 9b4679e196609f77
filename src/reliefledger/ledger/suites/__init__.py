"""Crypto suites: named bundles of a hash, a keyed hash and a signature scheme.

Every key, hash and signature on the ledger is recorded with the name of its suite, so that a
network can run on the international algorithms (``ed25519-sha256``) or the national ones
(``sm2-sm3``). Adding a suite is one module that provides a ``Suite`` and one line in ``SUITES``.
"""

from reliefledger.ledger.errors import UnknownSuiteError
from reliefledger.ledger.suites.base import Suite
from reliefledger.ledger.suites.ed25519_sha256 import ED25519_SHA256
from reliefledger.ledger.suites.sm2_sm3 import SM2_SM3

SUITES: dict[str, Suite] = {suite.name: suite for suite in (ED25519_SHA256, SM2_SM3)}
"""Every suite this build knows, by name."""

DEFAULT_SUITE_NAME = ED25519_SHA256.name


def get_suite(name: str) -> Suite:
    """Return the suite called ``name`` or raise ``UnknownSuiteError``."""
    try:
        return SUITES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SUITES))
        raise UnknownSuiteError(f"unknown crypto suite {name!r}; known: {known}") from None


__all__ = ["SUITES", "DEFAULT_SUITE_NAME", "Suite", "get_suite"]

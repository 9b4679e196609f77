"""ReliefLedger: a permissioned multi-agency ledger for social assistance.

The package is layered (see docs/architecture.md): ``ledger`` is the pure, deterministic core;
``store`` and ``ordering`` build on it; ``node`` ties them together; ``cli`` sits on top.
"""

__version__ = "0.1.0"

"""The shipped routing rules for problem reports (``data/reports/routing.toml``) as
``reports.publish_rules`` arguments; the ledger checks them when they are published."""

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from reliefledger.ledger.errors import LedgerInputError


def get_default_report_rules_path() -> Path:
    """The shipped rules."""
    return Path(str(resources.files("reliefledger") / "data" / "reports" / "routing.toml"))


def read_report_rules(path: Path | None = None) -> dict[str, Any]:
    """``{routes, oversight, deadlines, visit_days}`` from ``path`` or the shipped file."""
    path = path or get_default_report_rules_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LedgerInputError(f"{path} cannot be read: {error}", code="invalid_report_rules") from None
    return {name: document.get(name) for name in ("routes", "oversight", "deadlines", "visit_days")}

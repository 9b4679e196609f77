"""The shipped wallet-class table (``data/money/wallet-classes.toml``) as ``publish_wallet_classes`` arguments.

TOML has no null, so a limit that does not exist is written ``"none"``.
"""

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from reliefledger.ledger.contracts.wallets import LIMIT_FIELDS
from reliefledger.ledger.errors import LedgerInputError


def get_default_wallet_classes_path() -> Path:
    """The shipped table."""
    return Path(str(resources.files("reliefledger") / "data" / "money" / "wallet-classes.toml"))


def read_wallet_classes(path: Path | None = None) -> dict[str, Any]:
    """``{"version", "classes"}`` ready to publish, from ``path`` or the shipped table."""
    path = path or get_default_wallet_classes_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LedgerInputError(f"{path} cannot be read: {error}", code="invalid_wallet_classes") from None
    classes = []
    for entry in document.get("classes", []):
        classes.append({**{name: value for name, value in entry.items() if name not in LIMIT_FIELDS},
                        **{name: None if entry.get(name) == "none" else entry.get(name) for name in LIMIT_FIELDS}})
    return {"version": document.get("version"), "classes": classes}

"""Checks of action arguments that raise ``Rejection(INVALID_ARGUMENTS)`` with a reason."""

import re
from typing import Any

from reliefledger.ledger.results import Rejection, ResultCode


def require_fields(args: dict[str, Any], required: set[str], optional: set[str] = frozenset()) -> None:
    """Reject missing or unknown argument names."""
    missing = sorted(required - set(args))
    if missing:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"missing {', '.join(missing)}")
    unknown = sorted(set(args) - required - optional)
    if unknown:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"unknown {', '.join(unknown)}")


def require_string(args: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    """A string argument matching ``pattern``."""
    value = args.get(name)
    if type(value) is not str or not pattern.fullmatch(value):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{name} does not have the required form")
    return value


def require_integer(args: dict[str, Any], name: str, minimum: int, maximum: int) -> int:
    """An integer argument within bounds."""
    value = args.get(name)
    if type(value) is not int or not minimum <= value <= maximum:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{name} must be an integer in [{minimum}, {maximum}]")
    return value


def require_choice(args: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """An argument that must be one of ``choices``."""
    value = args.get(name)
    if value not in choices:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"{name} must be one of {', '.join(choices)}")
    return value

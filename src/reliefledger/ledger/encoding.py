"""Canonical JSON: the one byte form of every hashed or signed value.

Rules: UTF-8, object keys sorted by code point, no insignificant whitespace, integers only (floats
are rejected because their text form is not unique across languages), integers within signed
64 bits, strings bounded, nesting bounded. ``orjson`` with ``OPT_SORT_KEYS`` produces exactly this
form for values that pass ``check_canonical_value``.
"""

from typing import Any

import orjson

from reliefledger.ledger import limits
from reliefledger.ledger.errors import EncodingError

JsonValue = Any
"""A value made of dict (str keys), list, str, int, bool and None."""


def check_canonical_value(value: JsonValue, *, depth: int = 0) -> None:
    """Raise ``EncodingError`` unless ``value`` has a canonical JSON form.

    Walks containers with an explicit stack and checks the common leaves (short ASCII strings,
    integers, booleans, null) in place without pushing them: every transaction, answer and batch
    passes through here, so its speed bounds how fast the node can sign and verify.
    """
    if type(value) is not dict and type(value) is not list:
        if depth > limits.ARGS_DEPTH_MAX:
            raise EncodingError(f"nesting deeper than {limits.ARGS_DEPTH_MAX} levels")
        _check_leaf(value)
        return
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if level > limits.ARGS_DEPTH_MAX:
            raise EncodingError(f"nesting deeper than {limits.ARGS_DEPTH_MAX} levels")
        if type(item) is dict:
            for key in item:
                if type(key) is not str:
                    raise EncodingError("an object key is not a string")
            children: Any = item.values()
        else:
            children = item
        child_level = level + 1
        if child_level > limits.ARGS_DEPTH_MAX and children:
            raise EncodingError(f"nesting deeper than {limits.ARGS_DEPTH_MAX} levels")
        for child in children:
            kind = type(child)
            if kind is str:
                if not child.isascii() or len(child) > limits.STRING_BYTES_MAX:
                    _check_leaf(child)
            elif kind is int:
                if not -limits.INTEGER_ABSOLUTE_MAX <= child <= limits.INTEGER_ABSOLUTE_MAX:
                    raise EncodingError("an integer is outside the signed 64-bit range")
            elif kind is dict or kind is list:
                pending.append((child, child_level))
            elif kind is not bool and child is not None:
                _check_leaf(child)


def _check_leaf(value: JsonValue) -> None:
    """Check one value that is not a container."""
    kind = type(value)
    if kind is str:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise EncodingError("a string is not valid Unicode (a lone surrogate)") from None
        if size > limits.STRING_BYTES_MAX:
            raise EncodingError(f"a string is longer than {limits.STRING_BYTES_MAX} bytes")
    elif kind is int:
        if not -limits.INTEGER_ABSOLUTE_MAX <= value <= limits.INTEGER_ABSOLUTE_MAX:
            raise EncodingError("an integer is outside the signed 64-bit range")
    elif kind is float:
        raise EncodingError("floats are not allowed: use integers (amounts in fen)")
    elif kind is not bool and value is not None:
        raise EncodingError(f"a value of type {kind.__name__} has no JSON form")


def encode_canonical(value: JsonValue) -> bytes:
    """Encode a checked value as canonical JSON bytes."""
    check_canonical_value(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def encode_checked(value: JsonValue) -> bytes:
    """Canonical JSON of a value whose parts were already checked (the hot path skips a re-walk)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def decode_json(data: bytes | str) -> JsonValue:
    """Parse JSON text, turning any parse failure into ``EncodingError``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise EncodingError(f"malformed JSON: {error}") from None


def decode_canonical(data: bytes) -> JsonValue:
    """Parse JSON and require that it is in canonical form (re-encodes to the same bytes)."""
    value = decode_json(data)
    if encode_canonical(value) != data:
        raise EncodingError("not in canonical form (sorted keys, no whitespace)")
    return value
